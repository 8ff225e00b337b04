// Parsing a command's arguments against its declared options, with `node:util` parseArgs
// as the tokenizer. parseArgs alone stops at the first problem with an internal error
// ("argument is ambiguous" for `--workers -3`) and knows no numbers, so it runs in its
// lenient mode and this file judges each token: unknown options get a suggestion, values
// must parse completely as the kind declared, and each problem is one UsageError line.

import { parseArgs } from 'node:util';
import { UsageError, type Command, type NumberOption, type OptionSpec } from './command.js';
import { closest } from './suggest.js';

export type Parsed = { help: true } | { help: false; options: Record<string, unknown>; args: string[] };

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Whether a token that starts with a dash is a negative number rather than an option. */
function isNegativeNumber(token: string): boolean {
  return token.startsWith('-') && DECIMAL.test(token);
}

/** Parses `argv` (the words after the command name) for `command`. Throws UsageError. */
export function parseCommandArgs(command: Command, argv: readonly string[]): Parsed {
  const terminator = argv.indexOf('--');
  const beforeTerminator = terminator < 0 ? argv : argv.slice(0, terminator);
  if (beforeTerminator.includes('--help') || beforeTerminator.includes('-h')) return { help: true };

  const specs = command.options;
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, { type: spec.kind === 'boolean' ? 'boolean' : 'string' }])),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });

  const options: Record<string, unknown> = {};
  const args: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      args.push(token.value);
      continue;
    }
    const spec: OptionSpec | undefined = Object.hasOwn(specs, token.name) ? specs[token.name] : undefined;
    const raw = token.rawName;
    if (spec === undefined) throw unknownOption(command, raw);
    if (Object.hasOwn(options, token.name)) throw new UsageError(`${raw} is given twice`);
    if (spec.kind === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${raw} takes no value, got '${raw}=${token.value}'`);
      options[token.name] = true;
      continue;
    }
    const value = token.value;
    // Without '=', parseArgs takes the next word as the value even if it is the next option.
    if (value === undefined || (!token.inlineValue && value.startsWith('-') && !isNegativeNumber(value))) {
      const next = value === undefined ? '' : ` (found ${value} after it)`;
      throw new UsageError(`${raw} needs a value: ${describe(spec)}${next}`);
    }
    options[token.name] = spec.kind === 'string' ? value : parseNumber(raw, value, spec);
  }

  for (const [name, spec] of Object.entries(specs)) {
    if (Object.hasOwn(options, name)) continue;
    if (spec.kind === 'boolean') options[name] = false;
    else if (spec.kind === 'string') options[name] = spec.default;
    else options[name] = typeof spec.default === 'function' ? spec.default() : spec.default;
  }

  const declared = command.args ?? [];
  if (args.length > declared.length) {
    const extra = args[declared.length]!;
    const hint = extra.startsWith('-') ? ` (an option? '${command.name} --help' lists them)` : '';
    throw new UsageError(`unexpected argument '${extra}'${hint}`);
  }
  const missing = declared.slice(args.length).find((a) => a.optional !== true);
  if (missing !== undefined) throw new UsageError(`missing argument ${missing.name}`);
  return { help: false, options, args };
}

function unknownOption(command: Command, raw: string): UsageError {
  const names = Object.keys(command.options);
  const guess = raw.startsWith('--') ? closest(raw.slice(2), names) : undefined;
  const hint = guess !== undefined
    ? ` (did you mean --${guess}?)`
    : `; 'bibop ${command.name} --help' lists the options`;
  return new UsageError(`unknown option ${raw}${hint}`);
}

function describe(spec: OptionSpec): string {
  if (spec.kind === 'boolean') return 'no value';
  if (spec.kind === 'string') return spec.value;
  const unit = spec.unit === undefined ? '' : ` ${spec.unit}`;
  return `${spec.kind === 'int' ? 'an integer' : 'a number'} from ${spec.min} to ${spec.max}${unit}`;
}

function parseNumber(raw: string, value: string, spec: NumberOption): number {
  const shape = spec.kind === 'int' ? INTEGER : DECIMAL;
  const n = Number(value);
  if (!shape.test(value) || !Number.isFinite(n) || n < spec.min || n > spec.max) {
    throw new UsageError(`${raw} must be ${describe(spec)}, got '${value}'`);
  }
  return n;
}
