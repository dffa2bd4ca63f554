"""The benchmarks of processes.lisp with Python threads, for comparison."""
import sys
import threading
import time


def spawn_and_join(n):
    for i in range(n):
        t = threading.Thread(target=lambda: i)
        t.start()
        t.join()


def ping_pong(n):
    ping, pong = threading.Semaphore(0), threading.Semaphore(0)

    def partner():
        for _ in range(n):
            ping.acquire()
            pong.release()

    t = threading.Thread(target=partner)
    t.start()
    for _ in range(n):
        ping.release()
        pong.acquire()
    t.join()


def concurrent_sleepers(n):
    threads = [threading.Thread(target=time.sleep, args=(0.1,)) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


BENCHES = {"spawn": lambda: spawn_and_join(10000),
           "pingpong": lambda: ping_pong(100000),
           "sleepers": lambda: concurrent_sleepers(10000)}

start = time.perf_counter()
BENCHES[sys.argv[-1]]()
print(f"{(time.perf_counter() - start) * 1000:.3f}")
