"""W7: map(is_prime, range(items)); serial on the main process first, then Pool(2).map with the
default chunksize. Figure: parallel ms; extra: serial ms and speedup."""
import multiprocessing as mp

from harness import warm_up, check, now_ms, run_case
from tasks import is_prime


def python(params):
    items, workers = params['items'], params['workers']
    start = now_ms()
    expected = [is_prime(n) for n in range(items)]
    serial_ms = now_ms() - start
    with mp.Pool(workers) as pool:
        warm_up(pool, workers)
        start = now_ms()
        results = pool.map(is_prime, range(items))
        parallel_ms = now_ms() - start
    check(results == expected, 'results differ from the serial run')
    return parallel_ms, {'serialMs': serial_ms, 'speedup': serial_ms / parallel_ms}


if __name__ == '__main__':
    run_case({'python': python})
