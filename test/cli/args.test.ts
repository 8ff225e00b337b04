// The option parser against declared options, including positional arguments (the shape
// that commands such as `map SNAPSHOT [--html FILE]` declare).

import { describe, expect, test } from 'vitest';
import { parseCommandArgs } from '../../src/cli/args.js';
import { UsageError, defineCommand } from '../../src/cli/command.js';
import { closest, editDistance } from '../../src/cli/suggest.js';

const map = defineCommand({
  name: 'map',
  summary: 'a page map',
  args: [{ name: 'SNAPSHOT' }, { name: 'OUT', optional: true }],
  options: {
    html: { kind: 'string', value: 'FILE', help: 'write an HTML page' },
    width: { kind: 'int', min: 40, max: 400, default: 120, value: 'N', help: 'columns' },
    scale: { kind: 'number', min: -4, max: 4, value: 'X', help: 'zoom' },
    quiet: { kind: 'boolean', help: 'no legend' },
  },
  run: async () => 0,
});

function usage(argv: string[]): string {
  try {
    parseCommandArgs(map, argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`no usage error for ${JSON.stringify(argv)}`);
}

describe('parseCommandArgs', () => {
  test('positionals, defaults, both value forms, negative numbers and --', () => {
    expect(parseCommandArgs(map, ['a.snap', '--html', 'x.html', '--scale=-1.5'])).toEqual({
      help: false, args: ['a.snap'], options: { html: 'x.html', width: 120, scale: -1.5, quiet: false },
    });
    expect(parseCommandArgs(map, ['--scale', '-2', '--quiet', '--', '-odd-name.snap'])).toEqual({
      help: false, args: ['-odd-name.snap'], options: { html: undefined, width: 120, scale: -2, quiet: true },
    });
    expect(parseCommandArgs(map, ['a', 'b', '--help'])).toEqual({ help: true });
  });

  test('each problem is one usage error naming it', () => {
    expect(usage([])).toBe('missing argument SNAPSHOT');
    expect(usage(['a', 'b', 'c'])).toBe("unexpected argument 'c'");
    expect(usage(['a', '--width', '39'])).toBe("--width must be an integer from 40 to 400, got '39'");
    expect(usage(['a', '--width', '1e2'])).toBe("--width must be an integer from 40 to 400, got '1e2'");
    expect(usage(['a', '--scale', ''])).toBe("--scale must be a number from -4 to 4, got ''");
    expect(usage(['a', '--htm', 'x'])).toBe('unknown option --htm (did you mean --html?)');
    expect(usage(['a', '--html'])).toBe('--html needs a value: FILE');
  });
});

describe('suggestions', () => {
  test('edit distance counts a swap of neighbours as one edit', () => {
    expect(editDistance('wrokers', 'workers')).toBe(1);
    expect(editDistance('heap', 'heap')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
  });

  test('the nearest name within a third of the word, or a unique prefix, or nothing', () => {
    const names = ['workers', 'duration', 'heap', 'max-heap', 'seed'];
    expect(closest('wrkers', names)).toBe('workers');
    expect(closest('dur', names)).toBe('duration');
    expect(closest('hep', names)).toBe('heap');
    expect(closest('banana', names)).toBeUndefined();
  });
});
