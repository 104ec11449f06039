"""W4: one producer Process puts count {i, s} items on an mp.Queue; the main process
gets them all and checks each arrives once, in order. Figure: messages/s."""
import multiprocessing as mp

from harness import check, now_ms, run_case
from tasks import produce_into_queue


def python(params):
    count = params['count']
    queue = mp.Queue()
    barrier = mp.Barrier(2)
    producer = mp.Process(target=produce_into_queue, args=(queue, barrier, count))
    producer.start()
    barrier.wait()
    start = now_ms()
    for expected in range(count):
        item = queue.get(timeout=30)
        check(item == {'i': expected, 's': 'item-' + str(expected)}, f'item {expected} arrived as {item!r}')
    elapsed = now_ms() - start
    producer.join()
    check(producer.exitcode == 0, f'the producer exited with code {producer.exitcode}')
    check(queue.empty(), 'items left over after the last expected one')
    return count / (elapsed / 1000), None


if __name__ == '__main__':
    run_case({'python': python})
