"""The case protocol of bench/cases/lib/harness.mjs, for Python cases.

A case runs as `python3 bench/python/<workload>.py '<json params>'` and prints
one line: RESULT_MARKER + JSON {status, value, extra} or {status, reason}.
"""
import json
import sys
import time
import traceback

RESULT_MARKER = '@@bench-result '


class CheckFailed(Exception):
    """The case's own check of its answer failed: the row must show FAILED."""


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def now_ms():
    return time.perf_counter() * 1000.0


def warm_up(pool, workers):
    """A few tiny tasks first, so every worker is running before the clock starts
    (start-up is W5's subject), as the Node cases do."""
    from tasks import cube
    pool.map(cube, range(2 * workers), chunksize=1)


def run_case(cases):
    """Runs cases[params['impl']](params), which returns (value, extra) after checking its answer."""
    params = json.loads(sys.argv[1] if len(sys.argv) > 1 else '{}')
    try:
        run = cases.get(params.get('impl'))
        if run is None:
            raise RuntimeError(f"no case for implementation {params.get('impl')!r}")
        value, extra = run(params)
        check(value > 0, f'measured value is not positive: {value}')
        result = {'status': 'ok', 'value': value, 'extra': extra}
    except CheckFailed as error:
        result = {'status': 'failed', 'reason': f'wrong result: {error}'}
    except Exception as error:  # any crash fails the row, with its reason
        traceback.print_exc()
        result = {'status': 'failed', 'reason': f'{type(error).__name__}: {error}'}
    print(RESULT_MARKER + json.dumps(result), flush=True)
