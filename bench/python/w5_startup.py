"""W5: Pool(2) of a given start method created -> first result -> closed and joined. Figure: ms."""
import multiprocessing as mp

from harness import check, now_ms, run_case
from tasks import cube


def startup(method):
    def measure(params):
        context = mp.get_context(method)
        start = now_ms()
        pool = context.Pool(params['workers'])
        first = pool.apply(cube, (3,))
        pool.close()
        pool.join()
        elapsed = now_ms() - start
        check(first == 27, f'first result {first}, expected 27')
        return elapsed, None
    return measure


if __name__ == '__main__':
    run_case({'python-fork': startup('fork'), 'python-spawn': startup('spawn')})
