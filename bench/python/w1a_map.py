"""W1a: Pool(2).map(cube, range(items)) with the default chunksize. Figure: items/s."""
import multiprocessing as mp

from harness import warm_up, check, now_ms, run_case
from tasks import cube


def check_cubes_in_order(results, items):
    check(len(results) == items, f'expected {items} results, got {len(results)}')
    for i, value in enumerate(results):
        check(value == i * i * i, f'result {i} is {value}, expected {i * i * i}')


def python(params):
    items, workers = params['items'], params['workers']
    xs = list(range(items))
    with mp.Pool(workers) as pool:
        warm_up(pool, workers)
        start = now_ms()
        results = pool.map(cube, xs)
        elapsed = now_ms() - start
    check_cubes_in_order(results, items)
    return items / (elapsed / 1000), None


if __name__ == '__main__':
    run_case({'python': python})
