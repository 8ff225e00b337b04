// What a `bibop` command module exports, and how its errors end: a usage error is one line
// and exit code 2; a file that is not a readable snapshot, one line and exit code 1.

import { HeapError } from '../errors.js';

export interface Command {
  name: string;
  /** One or more lines for `bibop help`, indented as its usage list. */
  usage: string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {}

/** Runs a command body, turning its expected failures into one line on stderr and an exit code. */
export async function runCommand(name: string, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`bibop ${name}: ${e.message}`);
      return 2;
    }
    if (e instanceof HeapError) {
      console.error(`bibop ${name}: ${e.message}`);
      return 1;
    }
    if ((e as NodeJS.ErrnoException)?.code !== undefined && typeof (e as NodeJS.ErrnoException).path === 'string') {
      console.error(`bibop ${name}: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}

/** parseArgs' errors (unknown option, missing value) are usage errors. */
export function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function positiveInt(value: string | undefined, fallback: number, name: string, max = 2 ** 31 - 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be an integer from 1 to ${max}, got '${value}'`);
  return n;
}
