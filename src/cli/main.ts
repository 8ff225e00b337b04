// The `bibop` command: a table of commands and a dispatcher. Each command lives in its own
// module (src/cli/<name>.ts) and declares its options; parsing, validation, "did you mean"
// and help come from those declarations (args.ts, help.ts).
//
// Exit codes: 0 ok; 1 the command ran and found a problem, or an internal failure (printed
// with its stack); 2 a usage error (one line on stderr, nothing else).

import { parseCommandArgs } from './args.js';
import { UsageError, type Command } from './command.js';
import { commandHelp, programHelp } from './help.js';
import { closest } from './suggest.js';
import { stressCommand } from './stress.js';
import { mapCommand } from './map.js';
import { diffCommand } from './diff.js';
import { exportCommand } from './export.js';
import { serveCommand } from './serve.js';

// The command table. To add a command: write src/cli/<name>.ts exporting
// `defineCommand({ name, summary, args, options, run })`, import it, and list it here.
const COMMANDS: readonly Command[] = [
  stressCommand,
  mapCommand,
  diffCommand,
  exportCommand,
  serveCommand,
];

const HELP_WORDS = new Set(['help', '--help', '-h']);

function find(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (command !== undefined) return command;
  const guess = closest(name, [...COMMANDS.map((c) => c.name), 'help']);
  const hint = guess !== undefined ? ` (did you mean '${guess}'?)` : `; commands: ${COMMANDS.map((c) => c.name).join(', ')}, help`;
  throw new UsageError(`unknown command '${name}'${hint}`);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    throw new UsageError(`missing command; commands: ${COMMANDS.map((c) => c.name).join(', ')}, help ('bibop help' explains them)`);
  }
  if (HELP_WORDS.has(name)) {
    if (rest.length > 1) throw new UsageError(`help takes at most one command, got '${rest.join(' ')}'`);
    console.log(rest[0] === undefined ? programHelp(COMMANDS) : commandHelp(find(rest[0])));
    return 0;
  }
  const command = find(name);
  try {
    const parsed = parseCommandArgs(command, rest);
    if (parsed.help) {
      console.log(commandHelp(command));
      return 0;
    }
    return await command.run(parsed.options as never, parsed.args);
  } catch (e) {
    if (e instanceof UsageError) e.command = command.name;
    throw e;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // A worker a failed run could not stop must not keep the process from reporting its result.
  setTimeout(() => process.exit(code), 5_000).unref();
}, (e: unknown) => {
  if (e instanceof UsageError) {
    process.stderr.write(`bibop${e.command !== undefined ? ` ${e.command}` : ''}: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(2);
  }
  process.stderr.write(`bibop: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
