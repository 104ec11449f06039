/**
 * What the bench measures: every workload of DESIGN.md (W1–W6) and of issue 11 (W5-fresh, W5-tsx,
 * W7, W8; issue 13: W9; issue 14: the `-process` variants; issue 15: W10), the rows it
 * compares, and its sizes for a full run and for --smoke. Adding a row or a
 * workload is a change to this file only.
 *
 * A row's role says how it enters the comparison: 'ours' is this library;
 * 'peer' rows are what our figure is divided by (the best of them is 1×).
 */

/** @type {RowSpec} */
const OURS = { impl: 'multiprocessing', label: 'multiprocessing', role: 'ours', runtime: 'node' };
/** @type {RowSpec[]} */
const PEERS = ['piscina', 'tinypool', 'workerpool', 'poolifier'].map((impl) => ({ impl, label: impl, role: 'peer', runtime: 'node' }));
/** Hand-written worker_threads code: the floor a workload has on this machine without any pool. */
const THREADS = /** @type {RowSpec} */ ({ impl: 'worker-threads', label: 'hand-written worker_threads', role: 'peer', runtime: 'node' });
/** @returns {RowSpec} */
const python = (/** @type {string} */ label, impl = 'python') => ({ impl, label, role: 'peer', runtime: 'python' });

/**
 * @typedef {{ impl: string, label: string, role: 'ours' | 'peer', runtime: 'node' | 'python' }} RowSpec
 * @typedef {{
 *   id: string, title: string, task: string,
 *   unit: string, better: 'higher' | 'lower',
 *   script: string, pythonScript?: string,
 *   rows: RowSpec[], runs: number,
 *   full: Record<string, unknown>, smoke: Record<string, unknown>,
 *   extraColumn?: { key: string, label: string, suffix: string },
 *   targets?: Target[],
 * }} Workload
 * A goal from the issues, checked on the same run: our speed relative to row
 * `against` (an impl, or 'best peer') of workload `workload` (default: this one) is at least `atLeast`;
 * or, with `extra`, our median of that extra figure (e.g. 'speedup') is at least `atLeast`.
 * @typedef {{ against: string, workload?: string, atLeast: number } | { extra: string, atLeast: number }} Target
 */

/** @type {Workload[]} */
export const WORKLOADS = [
  {
    id: 'W1a', title: 'Tiny tasks: map', unit: 'items/s', better: 'higher',
    task: 'map(cube, 0..199,999), default chunking, 2 workers; peers (no map): the input split with Python\'s default chunksize, one task per chunk',
    script: 'w1a-map.mjs', pythonScript: 'w1a_map.py',
    rows: [OURS, ...PEERS, python('Python Pool.map')], runs: 5,
    full: { workers: 2, items: 200_000 }, smoke: { workers: 2, items: 2_000 },
    targets: [{ against: 'python', atLeast: 2 }],
  },
  {
    id: 'W1b', title: 'Tiny tasks: one task per item', unit: 'tasks/s', better: 'higher',
    task: 'apply(cube, [x]) for 200,000 items, all submitted at once, 2 workers; peers: run/exec/execute per item; Python: apply_async per item',
    script: 'w1b-apply-each.mjs', pythonScript: 'w1b_apply_each.py',
    rows: [OURS, ...PEERS, python('Python apply_async')], runs: 5,
    full: { workers: 2, items: 200_000 }, smoke: { workers: 2, items: 500 },
    targets: [{ against: 'best peer', atLeast: 3 }],
  },
  {
    id: 'W2', title: 'CPU-bound', unit: 'ms', better: 'lower',
    task: '64 × fib(30) on 2 workers; ours and Python: map; peers: one task per call. Speedup = serial time (same process, main thread) / parallel time',
    script: 'w2-cpu-bound.mjs', pythonScript: 'w2_cpu_bound.py',
    rows: [OURS, ...PEERS, python('Python Pool.map')], runs: 5,
    full: { workers: 2, tasks: 64, n: 30 }, smoke: { workers: 2, tasks: 8, n: 20 },
    extraColumn: { key: 'speedup', label: 'speedup', suffix: '×' },
    targets: [{ against: 'best peer', atLeast: 1 }],
  },
  {
    id: 'W3', title: 'Shared counter', unit: 'increments/s', better: 'higher',
    task: '2 workers × 500,000 locked increments of one shared int32; ours: Value(\'i\') + getLock() in 2 Processes',
    script: 'w3-shared-counter.mjs', pythonScript: 'w3_shared_counter.py',
    rows: [OURS, /** @type {RowSpec} */ ({ impl: 'atomics-mutex', label: 'hand-written Atomics mutex', role: 'peer', runtime: 'node' }), python('Python Value + get_lock()')],
    runs: 9, // the hand-written mutex swings widely from run to run
    full: { workers: 2, increments: 500_000 }, smoke: { workers: 2, increments: 10_000 },
    targets: [{ against: 'atomics-mutex', atLeast: 0.8 }, { against: 'python', atLeast: 20 }],
  },
  {
    id: 'W4', title: 'Queue', unit: 'msgs/s', better: 'higher',
    task: 'one producer sends 200,000 { i, s: \'item-\' + i } to the main thread; ours: Queue with blocking get() on the main thread',
    script: 'w4-queue.mjs', pythonScript: 'w4_queue.py',
    rows: [OURS, /** @type {RowSpec} */ ({ impl: 'messageport', label: 'raw MessagePort stream', role: 'peer', runtime: 'node' }), python('Python mp.Queue')],
    runs: 5,
    full: { count: 200_000 }, smoke: { count: 2_000 },
    targets: [{ against: 'messageport', atLeast: 2 }, { against: 'python', atLeast: 7 }],
  },
  {
    id: 'W5', title: 'Start-up', unit: 'ms', better: 'lower',
    task: 'pool of 2 created → first result → closed, in a fresh process',
    script: 'w5-startup.mjs', pythonScript: 'w5_startup.py',
    rows: [OURS, ...PEERS, python('Python Pool (fork)', 'python-fork'), python('Python Pool (spawn)', 'python-spawn')],
    runs: 7,
    full: { workers: 2 }, smoke: { workers: 2 },
    targets: [{ against: 'piscina', atLeast: 1 }],
  },
  ...['node', 'tsx'].map((runner) => ({
    id: runner === 'node' ? 'W5-fresh' : 'W5-tsx', title: runner === 'node' ? 'Start-up, import included' : 'Start-up under tsx',
    unit: 'ms', better: /** @type {const} */ ('lower'),
    task: runner === 'node'
      ? 'a fresh process imports the library, creates a pool of 2, gets cube(3), closes; ms from process start to the first result (whole process: extra column)'
      : 'the same program written in TypeScript, run with node --import tsx; ms from process start to the first result (extra column: from the program\'s first line, once node and tsx have started, which is the part the library controls: compare with W5-fresh\'s same figure in latest.json)',
    script: 'w5-fresh.mjs',
    rows: runner === 'node' ? [OURS, ...PEERS] : [OURS, PEERS[0]],
    runs: 7,
    full: { workers: 2, runner }, smoke: { workers: 2, runner },
    extraColumn: runner === 'node'
      ? { key: 'wholeMs', label: 'whole process', suffix: ' ms' }
      : { key: 'fromProgramMs', label: 'from the program\'s first line', suffix: ' ms' },
    targets: runner === 'node'
      ? [{ against: 'piscina', atLeast: 1 }]
      : [{ against: 'multiprocessing', workload: 'W5-fresh', atLeast: 0.5 }],
  })),
  ...['copied', 'transferred', 'shared'].map((mode) => ({
    id: `W6-${mode}`, title: `Large payloads: ${mode}`, unit: 'ms', better: /** @type {const} */ ('lower'),
    task: {
      copied: '64 × 1 MiB Float64Array, each summed by one task on 2 workers; structured clone (Python: pickled)',
      transferred: '64 × 1 MiB Float64Array, each summed by one task on 2 workers; buffer moved with a transfer list',
      shared: '64 × 1 MiB, zero-copy; ours: shared Array(\'d\'); peers: Float64Array over a SharedArrayBuffer',
    }[mode],
    script: 'w6-large-payloads.mjs', pythonScript: 'w6_large_payloads.py',
    rows: [OURS, ...PEERS, THREADS, ...(mode === 'copied' ? [python('Python (pickled)')] : [])],
    runs: 9, // 10 ms figures on a 2-core machine: more runs for a steadier median
    full: { mode, workers: 2, arrays: 64, length: 131_072 }, smoke: { mode, workers: 2, arrays: 4, length: 1_024 },
    targets: mode === 'shared' ? [{ against: 'multiprocessing', workload: 'W6-copied', atLeast: 5 }] : [],
  })),
  {
    id: 'W7', title: 'Primes: uneven tiny tasks', unit: 'ms', better: 'lower',
    task: 'map(isPrime, 0..4,999,999) on 2 workers, default chunking; peers: the input cut with Python\'s default chunksize, one task per chunk; hand-written: Int32Array chunks out, Uint8Array back, 2 in flight per worker. Speedup = serial time (same process, main thread, plain array) / parallel time',
    script: 'w7-primes.mjs', pythonScript: 'w7_primes.py',
    rows: [OURS, ...PEERS, THREADS, python('Python Pool.map')], runs: 5,
    full: { workers: 2, items: 5_000_000 }, smoke: { workers: 2, items: 20_000 },
    extraColumn: { key: 'speedup', label: 'speedup', suffix: '×' },
    targets: [{ extra: 'speedup', atLeast: 1.85 }, { against: 'best peer', atLeast: 1 }],
  },
  ...['map', 'imapUnordered'].map((mode) => ({
    id: `W8-${mode}`, title: `Records: ${mode}`, unit: 'ms', better: /** @type {const} */ ('lower'),
    task: mode === 'map'
      ? '100,000 records { id, text of ~300 bytes } → { id, sha256 digest, length } (node:crypto), 2 workers; ours and Python: map, default chunking; peers and hand-written: Python\'s default chunksize, one task per chunk. Speedup = serial (same process) / parallel'
      : 'the same records through imapUnordered with chunksize 1,000 (peers and hand-written: chunks of 1,000, results as they finish)',
    script: 'w8-records.mjs', pythonScript: 'w8_records.py',
    rows: [OURS, ...PEERS, THREADS, python(mode === 'map' ? 'Python Pool.map' : 'Python imap_unordered')], runs: 5,
    full: { mode, workers: 2, items: 100_000, textBytes: 300, chunksize: 1_000 },
    smoke: { mode, workers: 2, items: 2_000, textBytes: 300, chunksize: 100 },
    extraColumn: { key: 'speedup', label: 'speedup', suffix: '×' },
    targets: [{ extra: 'speedup', atLeast: 1.3 }, { against: 'best peer', atLeast: 1 }],
  })),
  {
    id: 'W9', title: 'Async I/O tasks, 8 at once per worker', unit: 'ms', better: 'lower',
    task: '1,000 tasks that each await a 10 ms timer, 2 workers, concurrentTasksPerWorker 8 (piscina: the same option); floor 625 ms',
    script: 'w9-async-io.mjs',
    rows: [OURS, PEERS[0]], runs: 5,
    full: { workers: 2, tasks: 1_000 }, smoke: { workers: 2, tasks: 48 },
    targets: [{ against: 'best peer', atLeast: 1 }],
  },
  ...['map', 'apply'].map((mode) => ({
    id: `W10-${mode}`,
    title: mode === 'map' ? 'Past one machine: map through Redis' : 'Past one machine: one apply per item through Redis',
    unit: mode === 'map' ? 'items/s' : 'tasks/s', better: /** @type {const} */ ('higher'),
    task: mode === 'map'
      ? 'map(cube, 0..199,999) with multiprocessing/distributed, default chunking, through a redis-server on loopback to 2 worker processes; baseline: hand-written BullMQ, chunks of 10,000 (v8 + base64), results from QueueEvents'
      : 'apply(cube, [x]) per item, 20,000 at once (processes: 256; workers --concurrency 100), 2 worker processes; baseline: BullMQ tiny jobs, one per item, workers at concurrency 100, done when the queue counts 20,000 completed',
    script: 'w10-distributed.mjs',
    rows: [OURS, /** @type {RowSpec} */ ({ impl: 'bullmq', label: mode === 'map' ? 'hand-written BullMQ chunked map' : 'BullMQ tiny jobs', role: 'peer', runtime: 'node' })],
    runs: 5,
    // deadlineMs: the case stops its redis-server and workers and fails before the orchestrator's kill.
    full: mode === 'map' ? { mode, workers: 2, items: 200_000, chunk: 10_000, deadlineMs: 200_000 } : { mode, workers: 2, items: 20_000, processes: 256, deadlineMs: 200_000 },
    smoke: mode === 'map' ? { mode, workers: 2, items: 2_000, chunk: 500, deadlineMs: 50_000 } : { mode, workers: 2, items: 200, processes: 64, deadlineMs: 50_000 },
    targets: [{ against: 'bullmq', atLeast: 0.8 }],
  })),
  {
    id: 'W10-fib', title: 'Past one machine: CPU-bound through Redis', unit: 'ms', better: 'lower',
    task: '64 × fib(30) by multiprocessing/distributed Pool.map, default chunking, through a redis-server on loopback to 2 worker processes of 1 thread each. Speedup = serial time (same process, main thread, before the cluster starts) / parallel time',
    script: 'w10-distributed.mjs',
    rows: [OURS], runs: 5,
    full: { mode: 'fib', workers: 2, tasks: 64, n: 30, deadlineMs: 200_000 }, smoke: { mode: 'fib', workers: 2, tasks: 8, n: 20, deadlineMs: 50_000 },
    extraColumn: { key: 'speedup', label: 'speedup', suffix: '×' },
  },
  {
    id: 'W10-lost', title: 'Past one machine: a worker killed mid-chunk', unit: 'ms', better: 'lower',
    task: 'kill -9 of the worker process running a chunk, 2 worker processes started with --lost-task-timeout 2000 (smoke: 500): ms from the kill to the chunk\'s result from the other worker (extra column: that time in lost-task timeouts)',
    script: 'w10-distributed.mjs',
    rows: [OURS], runs: 5,
    full: { mode: 'lost', workers: 2, lostTaskTimeout: 2_000, deadlineMs: 100_000 }, smoke: { mode: 'lost', workers: 2, lostTaskTimeout: 500, deadlineMs: 50_000 },
    extraColumn: { key: 'leases', label: 'in lost-task timeouts', suffix: '×' },
  },
  ...processWorkloads(),
];

/**
 * Issue 14's process column: the same workloads with our `'process'` start method (children are OS
 * processes; shared objects live in memfd segments), beside the peers' process modes and Python, whose
 * `multiprocessing` always uses processes. Shared memory and queues have no process-mode peer: their
 * goals compare with our own thread figures of the same run.
 */
function processWorkloads() {
  /** @type {RowSpec} */
  const ours = { impl: 'multiprocessing', label: "multiprocessing ('process')", role: 'ours', runtime: 'node' };
  /** @type {RowSpec[]} */
  const peers = [
    { impl: 'tinypool-process', label: 'tinypool (child_process)', role: 'peer', runtime: 'node' },
    { impl: 'workerpool-process', label: 'workerpool (process)', role: 'peer', runtime: 'node' },
  ];
  const startMethod = 'process';
  /** @type {Workload[]} */
  const workloads = [
    {
      id: 'W1b-process', title: 'Tiny tasks: one task per item, processes', unit: 'tasks/s', better: 'higher',
      task: 'apply(cube, [x]) for 100,000 items, all submitted at once, 2 child processes; peers: their process modes, run/exec per item; Python: apply_async per item',
      script: 'w1b-apply-each.mjs', pythonScript: 'w1b_apply_each.py',
      rows: [ours, ...peers, python('Python apply_async')], runs: 5,
      full: { workers: 2, items: 100_000, startMethod }, smoke: { workers: 2, items: 500, startMethod },
      // Issue 14: at least 3× the best process-mode peer (Python is reported beside them).
      targets: [{ against: 'tinypool-process', atLeast: 3 }, { against: 'workerpool-process', atLeast: 3 }],
    },
    {
      id: 'W2-process', title: 'CPU-bound, processes', unit: 'ms', better: 'lower',
      task: '64 × fib(30) on 2 child processes; ours and Python: map; peers: their process modes, one task per call',
      script: 'w2-cpu-bound.mjs', pythonScript: 'w2_cpu_bound.py',
      rows: [ours, ...peers, python('Python Pool.map')], runs: 5,
      full: { workers: 2, tasks: 64, n: 30, startMethod }, smoke: { workers: 2, tasks: 8, n: 20, startMethod },
      extraColumn: { key: 'speedup', label: 'speedup', suffix: '×' },
      targets: [{ against: 'best peer', atLeast: 1 }],
    },
    {
      id: 'W3-process', title: 'Shared counter, processes', unit: 'increments/s', better: 'higher',
      task: '2 child processes × 500,000 locked increments of one shared int32 (Value(\'i\') + getLock())',
      script: 'w3-shared-counter.mjs', pythonScript: 'w3_shared_counter.py',
      rows: [ours, python('Python Value + get_lock()')], runs: 9,
      full: { workers: 2, increments: 500_000, startMethod }, smoke: { workers: 2, increments: 10_000, startMethod },
      targets: [{ against: 'multiprocessing', workload: 'W3', atLeast: 0.8 }, { against: 'python', atLeast: 20 }],
    },
    {
      id: 'W4-process', title: 'Queue, processes', unit: 'msgs/s', better: 'higher',
      task: 'a child process sends 200,000 { i, s: \'item-\' + i } to the main thread through a Queue (blocking get())',
      script: 'w4-queue.mjs', pythonScript: 'w4_queue.py',
      rows: [ours, python('Python mp.Queue')], runs: 5,
      full: { count: 200_000, startMethod }, smoke: { count: 2_000, startMethod },
      targets: [{ against: 'multiprocessing', workload: 'W4', atLeast: 0.8 }, { against: 'python', atLeast: 5 }],
    },
    {
      id: 'W5-process', title: 'Start-up, processes', unit: 'ms', better: 'lower',
      task: 'pool of 2 child processes created → first result → closed, in a fresh process',
      script: 'w5-startup.mjs', pythonScript: 'w5_startup.py',
      rows: [ours, ...peers, python('Python Pool (fork)', 'python-fork'), python('Python Pool (spawn)', 'python-spawn')], runs: 7,
      full: { workers: 2, startMethod }, smoke: { workers: 2, startMethod },
      targets: [{ against: 'python-spawn', atLeast: 1 }],
    },
    {
      id: 'W6-process', title: 'Large payloads: shared, processes', unit: 'ms', better: 'lower',
      task: '64 × 1 MiB shared Array(\'d\') summed by one task each on 2 child processes, zero-copy (memfd segments)',
      script: 'w6-large-payloads.mjs',
      rows: [ours], runs: 9,
      full: { mode: 'shared', workers: 2, arrays: 64, length: 131_072, startMethod }, smoke: { mode: 'shared', workers: 2, arrays: 4, length: 1_024, startMethod },
      targets: [{ against: 'multiprocessing', workload: 'W6-copied', atLeast: 5 }],
    },
  ];
  return workloads;
}

/**
 * The workloads and rows selected by --only / --impl (comma lists; a prefix
 * matches, so `--only W6` is all three W6 modes and `--impl python` both W5 Python rows).
 * @param {{ only: string[], impls: string[] }} filters
 * @returns {Workload[]}
 */
export function selectWorkloads({ only, impls }) {
  const matches = (value, wanted) => wanted.length === 0 || wanted.some((w) => value.toLowerCase().startsWith(w.toLowerCase()));
  return WORKLOADS
    .filter((w) => matches(w.id, only))
    .map((w) => ({ ...w, rows: w.rows.filter((row) => matches(row.impl, impls)) }))
    .filter((w) => w.rows.length > 0);
}
