// What a `bibop` command is: a name, a one-line summary for `bibop help`, its options and
// positional arguments (declared, so that parsing, validation, suggestions and help come
// from one table), and a `run` that gets the parsed values. main.ts lists the commands.

/** A mistake in how the command was typed: printed as one line, exit code 2, no stack. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command it concerns, once known: the line reads `bibop stress: …`. */
  command: string | undefined;
}

/** An integer or a decimal number within [min, max]. */
export interface NumberOption {
  kind: 'int' | 'number';
  min: number;
  max: number;
  /** Absent: the value is undefined unless given, and `defaultText` tells help what happens. */
  default?: number | (() => number);
  defaultText?: string;
  /** What the value is, in help: `--heap MB`. */
  value: string;
  /** Unit named in errors: "from 2 to 4095 MiB". */
  unit?: string;
  help: string;
}

export interface StringOption {
  kind: 'string';
  default?: string;
  value: string;
  help: string;
}

export interface BooleanOption {
  kind: 'boolean';
  help: string;
}

export type OptionSpec = NumberOption | StringOption | BooleanOption;
export type OptionTable = Record<string, OptionSpec>;

/** The parsed value of each option of a table: numbers, strings (undefined if absent), booleans. */
export type OptionValues<T extends OptionTable> = {
  [K in keyof T]: T[K] extends BooleanOption ? boolean
    : T[K] extends StringOption ? string | undefined
    : T[K] extends { default: number | (() => number) } ? number
    : number | undefined;
};

export interface ArgumentSpec {
  name: string;
  optional?: boolean;
}

export interface Command<T extends OptionTable = OptionTable> {
  name: string;
  /** One line for `bibop help`. */
  summary: string;
  /** Free text under the usage line in `bibop <name> --help`. */
  description?: string;
  args?: readonly ArgumentSpec[];
  options: T;
  /** Runs the command; returns the exit code (0 ok, 1 the run found a problem). */
  run(options: OptionValues<T>, args: string[]): Promise<number>;
}

/** Declares a command, keeping the option table's value types for `run`. */
export function defineCommand<T extends OptionTable>(command: Command<T>): Command {
  return command as unknown as Command;
}
