"""W8: records {id, text} hashed with sha256 into {id, digest, length}; serial on the main process
first (after a short warm-up), then Pool(2).map (default chunksize) or imap_unordered (chunksize).
Figure: parallel ms; extra: serial ms and speedup."""
import multiprocessing as mp

from harness import warm_up, check, now_ms, run_case
from tasks import digest_record

WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ')


def make_records(items, text_bytes):
    """The same records as bench/cases/w8-records.mjs."""
    records = []
    seed = 1
    for i in range(items):
        words = []
        length = 0
        while length < text_bytes:
            seed = (seed * 48271) % 2147483647
            word = WORDS[seed % len(WORDS)] + ' '
            words.append(word)
            length += len(word)
        records.append({'id': i, 'text': ''.join(words)})
    return records


def python(params):
    items, workers, mode = params['items'], params['workers'], params['mode']
    records = make_records(items, params['textBytes'])
    [digest_record(r) for r in records[:200]]
    start = now_ms()
    expected = [digest_record(r) for r in records]
    serial_ms = now_ms() - start
    with mp.Pool(workers) as pool:
        warm_up(pool, workers)
        start = now_ms()
        if mode == 'map':
            results = pool.map(digest_record, records)
        else:
            results = list(pool.imap_unordered(digest_record, records, params['chunksize']))
        parallel_ms = now_ms() - start
    if mode != 'map':
        results.sort(key=lambda r: r['id'])
    check(results == expected, 'results differ from the serial run')
    return parallel_ms, {'serialMs': serial_ms, 'speedup': serial_ms / parallel_ms}


if __name__ == '__main__':
    run_case({'python': python})
