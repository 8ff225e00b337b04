// The heap-inspection commands, for the dispatcher in main.ts.
import type { Command } from './command.js';
import { diffCommand } from './diff.js';
import { exportCommand } from './export.js';
import { mapCommand } from './map.js';
import { serveCommand } from './serve.js';

export const INSPECT_COMMANDS: readonly Command[] = [mapCommand, diffCommand, exportCommand, serveCommand];
