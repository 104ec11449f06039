"""The work, as in bench/cases/tasks.mjs. A module of its own so that the
'spawn' start method can import it in children."""
import hashlib


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


def is_prime(n):
    """W7: trial division, as bench/cases/tasks.mjs isPrime."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    d = 3
    while d * d <= n:
        if n % d == 0:
            return False
        d += 2
    return True


def digest_record(record):
    """W8: hash a record's text, return a small record."""
    return {'id': record['id'], 'digest': hashlib.sha256(record['text'].encode()).hexdigest(), 'length': len(record['text'])}
