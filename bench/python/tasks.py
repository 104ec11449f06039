"""The work, as in bench/cases/tasks.mjs. A module of its own so that the
'spawn' start method can import it in children."""


def cube(x):
    return x * x * x


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def sum_values(values):
    return sum(values)


def increment_with_value_lock(counter, barrier, increments):
    """W3: locked increments through the Value's own lock, after the start barrier."""
    lock = counter.get_lock()
    barrier.wait()
    for _ in range(increments):
        with lock:
            counter.value += 1


def produce_into_queue(queue, barrier, count):
    """W4: one producer puts {i, s} items on an mp.Queue, after the start barrier."""
    barrier.wait()
    for i in range(count):
        queue.put({'i': i, 's': 'item-' + str(i)})
