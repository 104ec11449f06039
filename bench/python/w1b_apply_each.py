"""W1b: one apply_async per item, all submitted at once, then every .get(). Figure: tasks/s."""
import multiprocessing as mp

from harness import warm_up, now_ms, run_case
from tasks import cube
from w1a_map import check_cubes_in_order


def python(params):
    items, workers = params['items'], params['workers']
    with mp.Pool(workers) as pool:
        warm_up(pool, workers)
        start = now_ms()
        pending = [pool.apply_async(cube, (x,)) for x in range(items)]
        results = [p.get(timeout=120) for p in pending]
        elapsed = now_ms() - start
    check_cubes_in_order(results, items)
    return items / (elapsed / 1000), None


if __name__ == '__main__':
    run_case({'python': python})
