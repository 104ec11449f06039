#!/usr/bin/env node
// Round trips between two agents that each wait without blocking their event loop: a parent and a
// forked child on the addon's futexWaitAsync (memfd segment), against a main thread and a worker on
// Atomics.waitAsync (an ordinary SharedArrayBuffer). Word 0 is the turn: the parent sets 1 and wakes,
// the child sets 0 and wakes. Also times futexWaitAsync on a word that already differs (no thread).
//
//   node native/bench/async-ping-pong.mjs [runs=5] [roundTrips=20000]
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const here = dirname(fileURLToPath(import.meta.url));
const addonPath = join(here, '..', 'build', 'Release', 'multiprocessing_native.node');
const native = createRequire(import.meta.url)(addonPath);
const isChild = process.argv[2] === 'child';
const [runs = 5, trips = 20_000] = process.argv.slice(isChild ? 3 : 2).map(Number);

// Plays `me` (0: the parent's side, 1: the child's) for `trips` turns; `waitAsync` resolves when the
// word may have changed.
async function play(words, me, trips, waitAsync, wake) {
  for (let n = 0; n < trips; n++) {
    for (let seen = Atomics.load(words, 0); seen !== me; seen = Atomics.load(words, 0)) await waitAsync(words, 0, seen);
    Atomics.store(words, 0, 1 - me);
    wake(words, 0);
  }
}

if (isChild) {
  await play(new Int32Array(native.mapSegment(4)), 1, trips, native.futexWaitAsync, native.futexWake);
  process.exit(0);
}

const workerSource = `
  const { workerData } = require('node:worker_threads');
  // A pending Atomics.waitAsync does not keep a thread alive: this timer does, until the game ends.
  const alive = setInterval(() => {}, 1 << 30);
  (${play.toString()})(new Int32Array(workerData), 1, ${trips},
    (w, i, v) => Atomics.waitAsync(w, i, v).value, (w, i) => Atomics.notify(w, i)).then(() => clearInterval(alive));`;

async function once(mode) {
  let peer, buffer;
  if (mode === 'processes') {
    const segment = native.createSegment(64, 'bench');
    buffer = segment.buffer;
    peer = fork(fileURLToPath(import.meta.url), ['child', String(runs), String(trips)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc', segment.fd] });
    native.closeFd(segment.fd);
  } else {
    buffer = new SharedArrayBuffer(64);
    peer = new Worker(workerSource, { eval: true, workerData: buffer });
  }
  const exited = new Promise((resolve) => peer.once('exit', resolve));
  const words = new Int32Array(buffer);
  const waitAsync = mode === 'processes' ? native.futexWaitAsync : (w, i, v) => Atomics.waitAsync(w, i, v).value;
  const wake = mode === 'processes' ? native.futexWake : (w, i) => Atomics.notify(w, i);
  // The first turn is the child's start-up: time from the second round trip on.
  await play(words, 0, 1, waitAsync, wake);
  const started = process.hrtime.bigint();
  await play(words, 0, trips - 1, waitAsync, wake);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await exited;
  return (trips - 1) / seconds;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${trips} async round trips, ${runs} runs; load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const modes = ['processes', 'threads-atomics'];
const rates = Object.fromEntries(modes.map((m) => [m, []]));
for (let run = 0; run < runs; run++) for (const mode of modes) rates[mode].push(await once(mode));
for (const mode of modes) {
  const sorted = [...rates[mode]].sort((a, b) => a - b);
  console.log(`${mode.padEnd(16)} median ${(median(rates[mode]) / 1e3).toFixed(1)} k round trips/s [${(sorted[0] / 1e3).toFixed(1)}–${(sorted.at(-1) / 1e3).toFixed(1)} k]`);
}
const words = new Int32Array(native.createSegment(8).buffer);
const differs = [];
for (let run = 0; run < runs; run++) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < 10_000; i++) await native.futexWaitAsync(words, 0, 1);
  differs.push(Number(process.hrtime.bigint() - started) / 10_000 / 1e3);
}
console.log(`futexWaitAsync on a word that differs: median ${median(differs).toFixed(2)} µs per call (with its await)`);
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
