"""W3: workers × increments under Value('i').get_lock(). Figure: increments/s from the
start barrier to the last worker joined; the final count must be exact."""
import multiprocessing as mp

from harness import check, now_ms, run_case
from tasks import increment_with_value_lock


def python(params):
    workers, increments = params['workers'], params['increments']
    counter = mp.Value('i', 0)
    barrier = mp.Barrier(workers + 1)
    processes = [mp.Process(target=increment_with_value_lock, args=(counter, barrier, increments))
                 for _ in range(workers)]
    for p in processes:
        p.start()
    barrier.wait()
    start = now_ms()
    for p in processes:
        p.join()
    elapsed = now_ms() - start
    for p in processes:
        check(p.exitcode == 0, f'a worker exited with code {p.exitcode}')
    total = workers * increments
    check(counter.value == total, f'final count {counter.value}, expected {total}')
    return total / (elapsed / 1000), None


if __name__ == '__main__':
    run_case({'python': python})
