// Node: workers are worker_threads; a spawned worker's end is seen by the supervisor
// (supervisor.ts) through a MessagePort that closes with the worker's thread, and by the
// spawner's `exit` handler.

import { MessageChannel, Worker, threadId, type MessagePort } from 'node:worker_threads';
import { setPlatform, type HeapInit, type SpawnRequest } from './platform.js';
import { supervisorLine, useSupervisorLine, watch } from './supervisor.js';

// Keeps each attached worker's port alive: a collected port would close, and the
// supervisor would declare a live worker dead.
const keptPorts: MessagePort[] = [];

setPlatform({
  name: 'node',
  threadId: () => threadId,
  spawn(r: SpawnRequest): Worker {
    const { port1, port2 } = new MessageChannel();
    watch({ buffer: r.buffer, slot: r.slot, gen: r.gen, port: port1 }, r.headerWords);
    const supervisor = supervisorLine();
    const init: HeapInit = { buffer: r.buffer, slot: r.slot, gen: r.gen, port: port2, supervisor };
    const options = r.options as { workerData?: Record<string, unknown>; transferList?: readonly unknown[] };
    const worker = new Worker(r.url, {
      ...options,
      workerData: { ...(options.workerData ?? {}), heap: init },
      transferList: [...((options.transferList ?? []) as MessagePort[]), port2, supervisor],
    });
    worker.once('exit', r.declareDead);
    return worker;
  },
  adopt(init: HeapInit): void {
    const line = init.supervisor as MessagePort | undefined;
    if (line !== undefined) useSupervisorLine(line);
    const port = init.port as MessagePort | undefined;
    if (port === undefined) return;
    keptPorts.push(port);
    port.unref();
  },
});
