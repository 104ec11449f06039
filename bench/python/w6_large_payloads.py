"""W6: arrays × array('d') of length elements, summed in Pool(2), one apply_async each;
each array is pickled to its worker (Python's only way without shared memory code).
Figure: ms from first submit to last sum; filling is not timed."""
import multiprocessing as mp
from array import array

from harness import warm_up, check, now_ms, run_case
from tasks import sum_values


def expected_sum(k, length):
    return float(sum((j % 1000) + k for j in range(length)))


def python(params):
    arrays, length, workers = params['arrays'], params['length'], params['workers']
    base = array('d', (float(j % 1000) for j in range(length)))
    payloads = [array('d', (v + k for v in base)) for k in range(arrays)]
    with mp.Pool(workers) as pool:
        warm_up(pool, workers)
        start = now_ms()
        pending = [pool.apply_async(sum_values, (values,)) for values in payloads]
        sums = [p.get(timeout=120) for p in pending]
        elapsed = now_ms() - start
    for k, total in enumerate(sums):
        check(total == expected_sum(k, length), f'sum {k} is {total}, expected {expected_sum(k, length)}')
    return elapsed, None


if __name__ == '__main__':
    run_case({'python': python})
