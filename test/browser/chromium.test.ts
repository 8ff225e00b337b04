// The Chromium finder that browser suites share (./chromium.ts): its order of preference, its
// error for a CHROMIUM_PATH that names nothing, and the packaged Chromium's unpacking, which
// must be safe when two runs race.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SYSTEM_CHROMIUM, findChromium, unpackPackagedChromium } from './chromium.js';

const scratch = mkdtempSync(join(tmpdir(), 'bibop-gc-chromium-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('findChromium', () => {
  test('CHROMIUM_PATH wins when it names a file', async () => {
    const found = await findChromium({ CHROMIUM_PATH: process.execPath });
    expect(found).toEqual({ executablePath: process.execPath, source: 'CHROMIUM_PATH' });
  });

  test('a CHROMIUM_PATH that names no file is an error, not a silent fallback', async () => {
    const missing = join(scratch, 'no-such-chromium');
    await expect(findChromium({ CHROMIUM_PATH: missing })).rejects.toThrow(`CHROMIUM_PATH=${missing} names no file`);
  });

  test('without CHROMIUM_PATH: the system Chromium if present, else the packaged one', async () => {
    const found = await findChromium({});
    if (existsSync(SYSTEM_CHROMIUM)) {
      expect(found).toEqual({ executablePath: SYSTEM_CHROMIUM, source: 'system' });
    } else {
      expect(found.source).toBe('@sparticuz/chromium');
      expect(found.executablePath).toMatch(/bibop-gc-chromium-[\d.]+\/chromium$/);
      expect(statSync(found.executablePath).mode & 0o100, 'the unpacked binary is executable').not.toBe(0);
    }
  }, 120_000);
});

describe('unpackPackagedChromium', () => {
  test('two racing unpacks both get one complete binary and leave no staging folder', async () => {
    const [a, b] = await Promise.all([unpackPackagedChromium(scratch), unpackPackagedChromium(scratch)]);
    expect(a).toBe(b);
    expect(statSync(a).size, 'the binary is whole (well over 100 MB)').toBeGreaterThan(100 << 20);
    expect(readdirSync(scratch).filter((f) => f.includes('unpacking')), 'staging folders are removed').toEqual([]);
    // A later call finds it at once.
    expect(await unpackPackagedChromium(scratch)).toBe(a);
  }, 180_000);
});
