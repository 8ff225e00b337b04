// Help text, generated from the command table and each command's declared options.

import type { Command, OptionSpec } from './command.js';

function usageLine(c: Command): string {
  const args = (c.args ?? []).map((a) => (a.optional === true ? `[${a.name}]` : a.name));
  return ['bibop', c.name, ...args, Object.keys(c.options).length > 0 ? '[options]' : ''].filter((s) => s !== '').join(' ');
}

function defaultOf(spec: OptionSpec): string {
  if (spec.kind === 'boolean') return '';
  if (spec.kind !== 'string' && spec.defaultText !== undefined) return ` (default: ${spec.defaultText})`;
  const d = spec.kind === 'string' ? spec.default : typeof spec.default === 'function' ? spec.default() : spec.default;
  return d === undefined ? '' : ` (default: ${d})`;
}

/** `bibop help`: every command with its summary. */
export function programHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => usageLine(c).length));
  return [
    'bibop — tools for the bibop-gc shared heap',
    '',
    'usage:',
    ...commands.map((c) => `  ${usageLine(c).padEnd(width)}   ${c.summary}`),
    `  ${'bibop help [COMMAND]'.padEnd(width)}   this text, or a command's options`,
    '',
    "Run 'bibop COMMAND --help' for a command's options.",
  ].join('\n');
}

/** `bibop COMMAND --help`: usage, description and options. */
export function commandHelp(c: Command): string {
  const flags = Object.entries(c.options).map(([name, spec]) => [`--${name}${spec.kind === 'boolean' ? '' : ` ${spec.value}`}`, spec] as const);
  const width = Math.max(0, ...flags.map(([f]) => f.length));
  return [
    `usage: ${usageLine(c)}`,
    '',
    c.description ?? c.summary,
    ...(flags.length > 0 ? ['', 'options:', ...flags.map(([f, spec]) => `  ${f.padEnd(width)}   ${spec.help}${defaultOf(spec)}`)] : []),
    '',
    'Values may be given as --name value or --name=value.',
  ].join('\n');
}
