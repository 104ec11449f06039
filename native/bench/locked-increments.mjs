#!/usr/bin/env node
// Locked increments across 2 OS processes (memfd segment, the addon's futex) against the same across 2
// worker_threads (an ordinary SharedArrayBuffer, Atomics.wait/notify) and 2 worker_threads on the addon's
// futex. The lock is the three-state futex mutex (Drepper) around a plain `words[1]++`; HOLD > 0 adds a
// busy loop of HOLD iterations inside and outside the lock, so the lock sleeps and wakes often.
//
//   node native/bench/locked-increments.mjs [runs=5] [increments=1000000] [hold=0]
// Prints each mode's rate (increments per second, both agents together) per run and the median.
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
const [runs = 5, increments = 1_000_000, hold = 0] = process.argv.slice(isChild ? 3 : 2).map(Number);
const AGENTS = 2;
// Word layout: 0 mutex, 1 counter, 2 ready, 3 go, 4 done.

// The agent's code, for a child process or a worker: `wait`/`wake` are the futex pair it uses.
function agent(words, wait, wake, increments, hold) {
  let sink = 0;
  const spin = () => {
    for (let i = 0; i < hold; i++) sink += i;
  };
  Atomics.add(words, 2, 1);
  wake(words, 2);
  while (Atomics.load(words, 3) === 0) wait(words, 3, 0);
  for (let n = 0; n < increments; n++) {
    let seen = Atomics.compareExchange(words, 0, 0, 1);
    if (seen !== 0) {
      if (seen !== 2) seen = Atomics.exchange(words, 0, 2);
      while (seen !== 0) {
        wait(words, 0, 2);
        seen = Atomics.exchange(words, 0, 2);
      }
    }
    words[1]++;
    spin();
    if (Atomics.sub(words, 0, 1) !== 1) {
      Atomics.store(words, 0, 0);
      wake(words, 0, 1);
    }
    spin();
  }
  Atomics.add(words, 4, 1);
  wake(words, 4);
  return sink;
}

if (isChild) {
  const words = new Int32Array(native.mapSegment(4));
  agent(words, native.futexWait, native.futexWake, increments, hold);
  process.exit(0);
}

const workerSource = (futex) => `
  const { workerData } = require('node:worker_threads');
  const native = ${futex ? `require(${JSON.stringify(addonPath)})` : 'undefined'};
  const wait = ${futex ? 'native.futexWait' : '(w, i, v) => Atomics.wait(w, i, v)'};
  const wake = ${futex ? 'native.futexWake' : '(w, i, n) => Atomics.notify(w, i, n)'};
  (${agent.toString()})(new Int32Array(workerData), wait, wake, ${increments}, ${hold});`;

async function once(mode) {
  let buffer, fd;
  if (mode === 'processes') ({ fd, buffer } = native.createSegment(64, 'bench'));
  else buffer = new SharedArrayBuffer(64);
  const words = new Int32Array(buffer);
  const agents = [];
  for (let i = 0; i < AGENTS; i++) {
    if (mode === 'processes') {
      agents.push(fork(fileURLToPath(import.meta.url), ['child', String(runs), String(increments), String(hold)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc', fd] }));
    } else {
      agents.push(new Worker(workerSource(mode === 'threads-futex'), { eval: true, workerData: buffer }));
    }
  }
  if (fd !== undefined) native.closeFd(fd);
  // The parent waits with the addon's futex for processes and with Atomics for threads: each mode's own.
  const wait = mode === 'threads-atomics' ? (w, i, v) => Atomics.wait(w, i, v, 1000) : (w, i, v) => native.futexWait(w, i, v, 1000);
  const wake = mode === 'threads-atomics' ? (w, i) => Atomics.notify(w, i) : (w, i) => native.futexWake(w, i);
  for (let r = Atomics.load(words, 2); r < AGENTS; r = Atomics.load(words, 2)) wait(words, 2, r);
  const started = process.hrtime.bigint();
  Atomics.store(words, 3, 1);
  wake(words, 3);
  for (let d = Atomics.load(words, 4); d < AGENTS; d = Atomics.load(words, 4)) wait(words, 4, d);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await Promise.all(agents.map((a) => (a instanceof Worker ? a.terminate() : new Promise((resolve) => (a.exitCode !== null ? resolve() : a.once('exit', resolve))))));
  if (words[1] !== AGENTS * increments) throw new Error(`${mode}: counted ${words[1]}, not ${AGENTS * increments}`);
  return (AGENTS * increments) / seconds;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (rate) => `${(rate / 1e6).toFixed(2)} M/s`;
console.log(`${AGENTS} agents × ${increments} locked increments, hold ${hold}, ${runs} runs; load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const modes = ['processes', 'threads-atomics', 'threads-futex'];
const rates = Object.fromEntries(modes.map((m) => [m, []]));
for (let run = 0; run < runs; run++) for (const mode of modes) rates[mode].push(await once(mode));
for (const mode of modes) {
  const sorted = [...rates[mode]].sort((a, b) => a - b);
  console.log(`${mode.padEnd(16)} median ${fmt(median(rates[mode]))} [${fmt(sorted[0])}–${fmt(sorted.at(-1))}] exact`);
}
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
