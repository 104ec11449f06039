// Micro-benchmark of the dispatch policy alone (no threads): what queueing, dispatching and answering a
// task costs on the parent's side, as in W1b (200,000 tiny `apply` tasks, 2 workers, tasks timed quick
// so the in-flight depth is large). Three variants, their rounds interleaved in one process (run to run,
// a whole process is often 2× faster or slower on a shared machine; rounds within one are steady):
// - `default`: every task of the default priority (the Fifo path of pending.ts);
// - `priorities`: every other task has priority 1 (the heap path);
// - `default + stats`: plus what the scheduler does per task for `pool.stats()` (wait times grouped by
//   turn, run times per message, counts).
// Prints the median and the minimum CPU time per task (CPU time: time slices taken by other processes
// are not this code's cost). Run: node --import tsx bench/micro/dispatch.ts
import { Dispatcher, freshSlot, type Slot } from '../../src/pool/dispatch.js';
import type { ScheduledTask } from '../../src/pool/executor.js';
import { TaskMode } from '../../src/pool/protocol.js';
import { Meter } from '../../src/pool/stats.js';
import type { WireFunction } from '../../src/transport/wire-function.js';

const N = 200_000;
const ROUNDS = 25;

const fn: WireFunction = { by: 'module', module: 'file:///tasks.js', name: 'cube', source: null } as WireFunction;
const noop = (): void => {};

function round(priorities: boolean, meter: Meter | undefined): number {
  const slots: Slot[] = [freshSlot(), freshSlot()];
  let roundStamp = 0;
  const dispatcher = new Dispatcher<Slot>(null, (slot, batch) => {
    dispatcher.sent(slot, batch);
    if (meter !== undefined) {
      // As Scheduler.#recordWaits: tasks of one turn share their stamp.
      for (let i = 0; i < batch.length; ) {
        const queuedAt = batch[i]!.queuedAt;
        let j = i + 1;
        while (j < batch.length && batch[j]!.queuedAt === queuedAt) j++;
        meter.waitTime.add(roundStamp - queuedAt, j - i);
        i = j;
      }
    }
  });
  dispatcher.recordBusy(1, 1000);
  const started = process.cpuUsage();
  // As the scheduler: one clock read per turn of submissions.
  const stamp = performance.now();
  for (let i = 0; i < N; i++) {
    const task: ScheduledTask = { fn, mode: TaskMode.Apply, data: [i], live: false, priority: priorities ? i & 1 : undefined, onResult: noop, onError: noop };
    dispatcher.enqueue(task, stamp);
  }
  let done = 0;
  while (done < N) {
    if (meter !== undefined && dispatcher.pending > 0) roundStamp = performance.now();
    dispatcher.dispatch(slots);
    for (const slot of slots) {
      const count = slot.inflight.size;
      for (let k = 0; k < count; k++) {
        dispatcher.completed(slot, slot.inflight.peek()!.id);
        if (meter !== undefined) meter.completed += 1;
      }
      meter?.ran(count * 0.001, count);
      done += count;
    }
  }
  const used = process.cpuUsage(started);
  return ((used.user + used.system) * 1e3) / N;
}

const variants = [
  { name: 'default', run: () => round(false, undefined), times: [] as number[] },
  { name: 'priorities', run: () => round(true, undefined), times: [] as number[] },
  { name: 'default + stats', run: () => round(false, new Meter()), times: [] as number[] },
];
for (let r = 0; r < ROUNDS; r++) for (const variant of variants) variant.times.push(variant.run());
for (const { name, times } of variants) {
  times.sort((a, b) => a - b);
  console.log(`${name.padEnd(16)} median ${times[ROUNDS >> 1]!.toFixed(1)} ns/task, min ${times[0]!.toFixed(1)}`);
}
