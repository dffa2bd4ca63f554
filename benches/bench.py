"""The benchmarks of bench.lisp in Python, for comparison."""
import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def tak(x, y, z):
    if not y < x:
        return z
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y))


def build_and_sum(n):
    l = []
    for i in range(n):
        l.append(i)
    s = 0
    for x in l:
        s += x
    return s


def hash_fill_and_read(n):
    h = {}
    for i in range(n):
        h[i] = i
    s = 0
    for i in range(n):
        s += h[i]
    return s


def format_into_string(n):
    parts = []
    for i in range(n):
        parts.append(f"item{i},")
    return len("".join(parts))


BENCH = {
    "nop": lambda: 0,
    "fib25": lambda: fib(25),
    "fib30": lambda: fib(30),
    "tak": lambda: [tak(18, 12, 6) for _ in range(10)],
    "list": lambda: build_and_sum(1000000),
    "hash": lambda: hash_fill_and_read(1000000),
    "str": lambda: format_into_string(100000),
}

sys.setrecursionlimit(10000)
start = time.perf_counter()
BENCH[sys.argv[1]]()
print("%.3f" % ((time.perf_counter() - start) * 1000))
