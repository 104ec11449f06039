/**
 * A pool's metrics (`pool.stats()`): counts, run-time and wait-time summaries, utilization. Always on,
 * so they must cost next to nothing per task: no allocation, no per-task clock read of their own.
 *
 * - Times go into a fixed histogram (`TimeHistogram`: 448 counters, log-linear buckets about 3 % wide,
 *   exact below 32 µs), so `min`, `max` and `mean` are exact and `median`/`p99` are within a bucket,
 *   in constant memory however many tasks run (piscina keeps an HDR histogram, poolifier a moving
 *   window; a reservoir would forget early tasks, this forgets nothing).
 * - Run time is what the worker measured. Results that come back in one message (quick tasks, sent in
 *   batches) each count at the message's average, which keeps the cost per message, not per task.
 * - Wait time runs from submission until the task starts running in a worker, as the executor can tell
 *   (a task sent ahead waits until the one before it has finished: scheduler.ts). The executor reads
 *   the clock a few times per round of messages, not per task.
 */

/**
 * A summary of times in milliseconds: all 0 before the first task.
 * @example `const { median, p99 } = pool.stats().waitTime;`
 */
export interface TimeSummary {
  readonly min: number;
  readonly mean: number;
  /** Within about 3 % (one histogram bucket). */
  readonly median: number;
  /** 99th percentile, within about 3 %. */
  readonly p99: number;
  readonly max: number;
}

/**
 * What `pool.stats()` returns: a snapshot, taken when called. Names as poolifier's and tinypool's
 * (`queued`, `running`, `completed`, `failed`) and piscina's (`runTime`, `waitTime`, `utilization`).
 * @example
 * ```ts
 * const { workers, queued, runTime, utilization } = pool.stats();
 * console.log(`${workers.busy}/${workers.total} busy, ${queued} queued, p99 ${runTime.p99} ms, ${Math.round(utilization * 100)} %`);
 * ```
 */
export interface PoolStats {
  readonly workers: {
    /** Workers alive now (starting ones included). */
    readonly total: number;
    /** Workers holding at least one task. */
    readonly busy: number;
    /** Workers holding none. */
    readonly idle: number;
  };
  /**
   * Tasks waiting for a worker (what `maxQueue` bounds): queued beyond those the workers can start at
   * once, `processes × concurrentTasksPerWorker` less what is running.
   */
  readonly queued: number;
  /** Tasks handed to a worker and not yet finished (a worker holds a few queued behind the one it runs). */
  readonly running: number;
  /** Tasks finished successfully. A `map` chunk is one task. */
  readonly completed: number;
  /** Tasks settled with an error: thrown by the function (for a chunk: by any item), a lost worker, a timeout, an abort, `terminate()`. */
  readonly failed: number;
  /** How long tasks ran, in ms, as measured in the worker. */
  readonly runTime: TimeSummary;
  /**
   * How long tasks waited before they started running in a worker, in ms (a task sent ahead to a busy
   * worker waits there too). The distributed pool's: until its job was queued in Redis.
   */
  readonly waitTime: TimeSummary;
  /**
   * Share of the pool's capacity spent running tasks since it started: run time / (elapsed × processes ×
   * concurrentTasksPerWorker), in [0, 1]: with several tasks at once per worker, the share of task
   * places in use.
   */
  readonly utilization: number;
}

// Buckets: 0–31 µs one per microsecond; above, 16 per power of two up to 2^31 µs (about 36 minutes).
const EXACT = 32;
const SUB_BITS = 4;
const SUB = 1 << SUB_BITS;
const BUCKETS = EXACT + (31 - 5) * SUB;

function bucketOf(us: number): number {
  if (us < EXACT) return us;
  if (us >= 0x7fffffff) return BUCKETS - 1;
  const e = 31 - Math.clz32(us);
  return EXACT + (e - 5) * SUB + ((us >>> (e - SUB_BITS)) - SUB);
}

/** The middle of bucket `i`, in µs. */
function middleOf(i: number): number {
  if (i < EXACT) return i;
  const e = 5 + Math.floor((i - EXACT) / SUB);
  const m = SUB + ((i - EXACT) % SUB);
  const width = 2 ** (e - SUB_BITS);
  return m * width + width / 2;
}

const EMPTY: TimeSummary = { min: 0, mean: 0, median: 0, p99: 0, max: 0 };

/** Times in ms, summarized in constant memory (see the module header). */
export class TimeHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #n = 0;
  #sum = 0;
  #min = Infinity;
  #max = 0;

  /** Records `count` times of `ms` each. */
  add(ms: number, count = 1): void {
    const value = ms > 0 ? ms : 0;
    this.#counts[bucketOf(Math.round(value * 1000))]! += count;
    this.#n += count;
    this.#sum += value * count;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
  }

  get count(): number {
    return this.#n;
  }

  summary(): TimeSummary {
    if (this.#n === 0) return EMPTY;
    return {
      min: this.#min,
      mean: this.#sum / this.#n,
      median: this.#quantile(0.5),
      p99: this.#quantile(0.99),
      max: this.#max,
    };
  }

  #quantile(q: number): number {
    const rank = Math.max(1, Math.ceil(q * this.#n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      // The last bucket is open-ended: what it holds is known only by the maximum.
      if (seen >= rank) return i === BUCKETS - 1 ? this.#max : Math.min(this.#max, Math.max(this.#min, middleOf(i) / 1000));
    }
    return this.#max;
  }
}

/** The running totals an executor keeps for `stats()`. */
export class Meter {
  readonly runTime = new TimeHistogram();
  readonly waitTime = new TimeHistogram();
  completed = 0;
  failed = 0;
  readonly #startedAt = performance.now();
  #busyMs = 0;

  /** A worker ran `count` tasks in `busyMs` in all. */
  ran(busyMs: number, count: number): void {
    if (count <= 0) return;
    this.#busyMs += busyMs;
    this.runTime.add(busyMs / count, count);
  }

  /** Run time over capacity since the start, for `places` tasks at once (workers × tasks each runs at once). */
  utilization(places: number): number {
    const elapsed = performance.now() - this.#startedAt;
    if (elapsed <= 0 || places <= 0) return 0;
    // Run times are measured in the worker and elapsed time here: a little over 1 is rounding, not work.
    return Math.min(1, this.#busyMs / (elapsed * places));
  }
}
