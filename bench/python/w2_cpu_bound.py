"""W2: tasks × fib(n); serial on the main process first, then Pool(2).map. Figure: parallel ms."""
import multiprocessing as mp

from harness import warm_up, check, now_ms, run_case
from tasks import fib


def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def python(params):
    tasks, n, workers = params['tasks'], params['n'], params['workers']
    expected = fibonacci(n)
    start = now_ms()
    serial = [fib(n) for _ in range(tasks)]
    serial_ms = now_ms() - start
    check(all(v == expected for v in serial), 'serial result wrong')
    with mp.Pool(workers) as pool:
        warm_up(pool, workers)
        start = now_ms()
        results = pool.map(fib, [n] * tasks)
        parallel_ms = now_ms() - start
    check(len(results) == tasks, f'expected {tasks} results, got {len(results)}')
    for i, value in enumerate(results):
        check(value == expected, f'result {i} is {value}, expected fib({n}) = {expected}')
    return parallel_ms, {'serialMs': serial_ms, 'speedup': serial_ms / parallel_ms}


if __name__ == '__main__':
    run_case({'python': python})
