#!/usr/bin/env python3
"""Network benchmarks: netlisp against CPython on loopback, one table.

    benches/net.py [--quick]

Rows (each a median of --reps runs, interleaved netlisp / peer):
  bulk     256 MiB through one connection, sender and receiver in the same
           process, 64 KiB writes and reads (MB/s; netlisp: benches/net-bulk.lisp)
  echo     64-byte round trips against examples/echo-server.lisp and a
           socketserver.ThreadingTCPServer, the same python client for both
           (4 client processes, one connection each)
  http     wrk -c16 against examples/http-server.lisp (a process per
           connection, HTTP/1.0, close after each) and http.server's
           ThreadingHTTPServer (requests/s)
  udp      64-byte UDP echo round trips, one python client, against
           examples/udp-echo-server.lisp and a recvfrom/sendto loop
  async    64-byte round trips over 100 concurrent connections (4 python
           client processes of 25 connections each) against
           examples/async-echo-server.lisp (one wait-state collection) and
           an asyncio echo server
  unix     256 MiB through a Unix-domain stream socket, as bulk
  tls      bulk over TLS 1.3 (netlisp: a self-signed context; python: the
           ssl module with an openssl-made certificate)
  https    wrk -c16 against examples/https-server.lisp and the same
           ThreadingHTTPServer wrapped in ssl (a TLS handshake per request)
  idle     10,000 idle connections to the netlisp echo server: its RSS and
           the latency of one more client's connect + round trip
  churn    sequential connect / round trip / close, 100,000 times (20,000
           with --quick): echo-server RSS after 1,000 and at the end
  dialect  the echo and bulk rows with both ends in usocket
           (examples/usocket-echo-server.lisp, net-bulk.lisp usocket)
           against the COMM figures: the layer must cost under 10%

Targets (issue 8): bulk and echo at least CPython's, http at least 5x,
(issue 12): udp and unix at least CPython's, async at least 1.5x,
idle RSS under 300 MiB and a new client under 10 ms, churn drift at most
10 MiB. Ratios are netlisp / CPython for rates (above 1: netlisp is faster).
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NETLISP = os.path.join(ROOT, "target", "release", "netlisp")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

PY_BULK = r"""
import os, socket, sys, threading, time
mib = int(sys.argv[1])
unix = len(sys.argv) > 2 and sys.argv[2] == "unix"
tls = len(sys.argv) > 3 and sys.argv[2] == "tls"
if tls:
    import ssl
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); sctx.load_cert_chain(sys.argv[3], sys.argv[4])
    cctx = ssl.create_default_context(cafile=sys.argv[3])
if unix:
    path = "/tmp/py-bulk-%d.sock" % os.getpid()
    srv = socket.socket(socket.AF_UNIX); srv.bind(path)
else:
    srv = socket.socket(); srv.bind(("127.0.0.1", 0))
srv.listen(1)
got = [0]
def sink():
    c, _ = srv.accept()
    if tls: c = sctx.wrap_socket(c, server_side=True)
    buf = bytearray(65536)
    while got[0] < mib << 20:
        n = c.recv_into(buf)
        if not n: break
        got[0] += n
    c.close()
t = threading.Thread(target=sink); t.start()
start = time.time()
if unix:
    s = socket.socket(socket.AF_UNIX); s.connect(path)
else:
    s = socket.create_connection(srv.getsockname())
    if tls: s = cctx.wrap_socket(s, server_hostname="localhost")
data = bytes(65536)
for i in range(mib * 16): s.sendall(data)
t.join(); s.close()
if unix: os.unlink(path)
assert got[0] == mib << 20
print("%.1f" % (mib / (time.time() - start)))
"""

PY_ECHO_SERVER = r"""
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line); self.wfile.flush()
socketserver.ThreadingTCPServer.allow_reuse_address = True
srv = socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.daemon_threads = True
srv.serve_forever()
"""

PY_UDP_SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, addr = s.recvfrom(65536)
    s.sendto(data, addr)
"""

UDP_CLIENT = r"""
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
msg = b"x" * 64
for i in range(20):                      # the server may still be starting
    try:
        s.sendto(msg, ("127.0.0.1", port)); s.recvfrom(100); break
    except OSError:
        time.sleep(0.1)
start = time.time()
lost = 0
for i in range(n):
    s.sendto(msg, ("127.0.0.1", port))
    try:
        assert s.recvfrom(100)[0] == msg
    except socket.timeout:
        lost += 1
print("%.0f" % (n / (time.time() - start)))
"""

PY_ASYNC_SERVER = r"""
import asyncio, sys
async def echo(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()
async def main():
    srv = await asyncio.start_server(echo, "127.0.0.1", int(sys.argv[1]))
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
"""

ASYNC_CLIENT = r"""
import selectors, socket, sys, time
from multiprocessing import Pool
port, rounds = int(sys.argv[1]), int(sys.argv[2])
def run(_):
    sel = selectors.DefaultSelector()
    msg = b"x" * 64
    conns = []
    for i in range(25):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        conns.append(s)
        sel.register(s, selectors.EVENT_READ, [0, 0])
    for s in conns:
        s.send(msg)
    done = 0
    while done < len(conns):
        for key, _ in sel.select(10):
            st = key.data
            st[1] += len(key.fileobj.recv(4096))
            if st[1] >= 64:
                st[1] -= 64
                st[0] += 1
                if st[0] == rounds:
                    done += 1
                else:
                    key.fileobj.send(msg)
    for s in conns:
        s.close()
with Pool(4) as p:
    start = time.time(); p.map(run, range(4)); print("%.0f" % (100 * rounds / (time.time() - start)))
"""

PY_HTTP_SERVER = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("Hello from python: %s\n" % self.path).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
if len(sys.argv) > 2:
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
"""

ECHO_CLIENT = r"""
import socket, sys, time
from multiprocessing import Pool
port, n = int(sys.argv[1]), int(sys.argv[2])
def run(_):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    line = b"x" * 63 + b"\n"
    for i in range(n):
        s.sendall(line)
        assert f.readline() == line
    s.close()
with Pool(4) as p:
    start = time.time(); p.map(run, range(4)); print("%.0f" % (4 * n / (time.time() - start)))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, limit=10.0):
    end = time.time() + limit
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server on port %d did not come up" % port)


class Server:
    def __init__(self, cmd, port):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.port = port
        wait_port(port)

    def rss_mib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return float("nan")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def netlisp_echo(port):
    return Server([NETLISP, os.path.join(ROOT, "examples", "echo-server.lisp"), str(port)], port)


def netlisp_http(port):
    return Server([NETLISP, os.path.join(ROOT, "examples", "http-server.lisp"), str(port)], port)


def run_out(cmd, limit=300):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=limit, check=True).stdout


def bulk(impl, mib):
    if impl == "netlisp":
        return float(run_out([NETLISP, os.path.join(HERE, "net-bulk.lisp"), str(mib)]))
    return float(run_out([PYTHON, "-c", PY_BULK, str(mib)]))


def echo(impl, n):
    port = free_port()
    server = netlisp_echo(port) if impl == "netlisp" else Server([PYTHON, "-c", PY_ECHO_SERVER, str(port)], port)
    with server:
        return float(run_out([PYTHON, "-c", ECHO_CLIENT, str(port), str(n)]))


def unix_bulk(impl, mib):
    if impl == "netlisp":
        return float(run_out([NETLISP, os.path.join(HERE, "net-bulk.lisp"), str(mib), "unix"]))
    return float(run_out([PYTHON, "-c", PY_BULK, str(mib), "unix"]))


def udp(impl, n):
    port = free_port()
    if impl == "netlisp":
        cmd = [NETLISP, os.path.join(ROOT, "examples", "udp-echo-server.lisp"), str(port)]
    else:
        cmd = [PYTHON, "-c", PY_UDP_SERVER, str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return float(run_out([PYTHON, "-c", UDP_CLIENT, str(port), str(n)]))
    finally:
        proc.kill()
        proc.wait()


def async_echo(impl, rounds):
    port = free_port()
    if impl == "netlisp":
        cmd = [NETLISP, os.path.join(ROOT, "examples", "async-echo-server.lisp"), str(port)]
    else:
        cmd = [PYTHON, "-c", PY_ASYNC_SERVER, str(port)]
    with Server(cmd, port):
        return float(run_out([PYTHON, "-c", ASYNC_CLIENT, str(port), str(rounds)]))


def certificate():
    """A self-signed certificate and key for localhost, made once with openssl."""
    d = "/tmp/netlisp-bench-tls"
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    if not os.path.exists(key):
        os.makedirs(d, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-addext", "basicConstraints=critical,CA:FALSE"],
                       check=True, capture_output=True)
    return cert, key


def tls_bulk(impl, mib):
    if impl == "netlisp":
        return float(run_out([NETLISP, os.path.join(HERE, "net-bulk.lisp"), str(mib), "tls"]))
    return float(run_out([PYTHON, "-c", PY_BULK, str(mib), "tls", *certificate()]))


def https(impl, secs):
    return http(impl, secs, tls=True)


def http(impl, secs, tls=False):
    port = free_port()
    extra = list(certificate()) if tls else []
    if impl == "netlisp":
        example = "https-server.lisp" if tls else "http-server.lisp"
        server = Server([NETLISP, os.path.join(ROOT, "examples", example), str(port), *extra], port)
    else:
        server = Server([PYTHON, "-c", PY_HTTP_SERVER, str(port), *extra], port)
    scheme = "https" if tls else "http"
    with server:
        out = run_out(["wrk", "-t2", "-c16", "-d%ds" % secs, "%s://127.0.0.1:%d/hi" % (scheme, port)], secs + 60)
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError("no Requests/sec in wrk output:\n" + out)


def round_trip_ms(port):
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"ping\n")
        got = b""
        while not got.endswith(b"\n"):
            chunk = s.recv(100)
            if not chunk:
                raise RuntimeError("echo server closed the connection")
            got += chunk
    return (time.perf_counter() - start) * 1000.0


def idle(count):
    port = free_port()
    with netlisp_echo(port) as server:
        base = server.rss_mib()
        conns = []
        for i in range(count):
            conns.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        # Every connection has its process once a round trip on the last works.
        round_trip_ms(port)
        time.sleep(0.5)
        rss = server.rss_mib()
        latency = statistics.median(round_trip_ms(port) for _ in range(21))
        for c in conns:
            c.close()
        return base, rss, latency


def churn(total):
    port = free_port()
    with netlisp_echo(port) as server:
        for i in range(1000):
            round_trip_ms(port)
        early = server.rss_mib()
        start = time.time()
        for i in range(total - 1000):
            round_trip_ms(port)
        rate = (total - 1000) / (time.time() - start)
        time.sleep(0.5)
        return early, server.rss_mib(), rate


def usocket_bulk(impl, mib):
    mode = ["usocket"] if impl == "usocket" else []
    return float(run_out([NETLISP, os.path.join(HERE, "net-bulk.lisp"), str(mib)] + mode))


def usocket_echo(impl, n):
    port = free_port()
    example = "usocket-echo-server.lisp" if impl == "usocket" else "echo-server.lisp"
    with Server([NETLISP, os.path.join(ROOT, "examples", example), str(port)], port):
        return float(run_out([PYTHON, "-c", ECHO_CLIENT, str(port), str(n)]))


def median_pair(fn, arg, reps, impls=("netlisp", "python3")):
    """Interleaved medians for two implementations (netlisp and python3,
    or two netlisp dialects)."""
    runs = {impl: [] for impl in impls}
    for _ in range(reps):
        for impl in impls:
            runs[impl].append(fn(impl, arg))
    return tuple(statistics.median(runs[impl]) for impl in impls)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, one repetition")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    if not os.path.exists(NETLISP):
        sys.exit("build first: cargo build --release")
    reps = 1 if args.quick else args.reps
    rows = []

    n, p = median_pair(bulk, 64 if args.quick else 256, reps)
    rows.append(("bulk 64 KiB writes, MB/s", n, p, n / p, ">= 1.0"))
    n, p = median_pair(echo, 2000 if args.quick else 10000, reps)
    rows.append(("echo 64-byte round trips/s, 4 clients", n, p, n / p, ">= 1.0"))
    n, p = median_pair(udp, 5000 if args.quick else 30000, reps)
    rows.append(("udp echo 64-byte datagrams/s, 1 client", n, p, n / p, ">= 1.0"))
    n, p = median_pair(async_echo, 200 if args.quick else 1000, reps)
    rows.append(("async echo 64-byte round trips/s, 100 connections", n, p, n / p, ">= 1.5"))
    n, p = median_pair(unix_bulk, 64 if args.quick else 256, reps)
    rows.append(("unix-socket bulk 64 KiB writes, MB/s", n, p, n / p, ">= 1.0"))
    n, p = median_pair(tls_bulk, 64 if args.quick else 256, reps)
    rows.append(("tls 1.3 bulk 64 KiB writes, MB/s", n, p, n / p, ">= 1.0"))
    if shutil.which("wrk"):
        n, p = median_pair(http, 3 if args.quick else 10, reps)
        rows.append(("http wrk -c16 requests/s", n, p, n / p, ">= 5.0"))
        n, p = median_pair(https, 3 if args.quick else 10, reps)
        rows.append(("https wrk -c16 requests/s (handshake each)", n, p, n / p, ">= 1.0"))
    else:
        print("wrk not installed (apt-get install wrk): http row skipped", file=sys.stderr)

    print("| workload | netlisp | python3 | ratio | target |")
    print("|---|---:|---:|---:|---|")
    for name, n, p, r, t in rows:
        print("| %s | %.0f | %.0f | %.2fx | %s |" % (name, n, p, r, t))

    print()
    print("| dialect layer | usocket | COMM | ratio | target |")
    print("|---|---:|---:|---:|---|")
    u, c = median_pair(usocket_echo, 2000 if args.quick else 10000, reps, ("usocket", "comm"))
    print("| echo 64-byte round trips/s, 4 clients | %.0f | %.0f | %.2fx | >= 0.9 |" % (u, c, u / c))
    u, c = median_pair(usocket_bulk, 64 if args.quick else 256, reps, ("usocket", "comm"))
    print("| bulk 64 KiB writes, MB/s | %.0f | %.0f | %.2fx | >= 0.9 |" % (u, c, u / c))

    count = 2000 if args.quick else 10000
    base, rss, latency = idle(count)
    print()
    print("| netlisp echo server | value | target |")
    print("|---|---:|---|")
    print("| RSS at start | %.1f MiB | |" % base)
    print("| RSS with %d idle connections | %.1f MiB | < 300 MiB |" % (count, rss))
    print("| new client connect + round trip, median of 21 | %.2f ms | < 10 ms |" % latency)
    total = 20000 if args.quick else 100000
    early, late, rate = churn(total)
    print("| RSS after 1,000 sequential connections | %.1f MiB | |" % early)
    print("| RSS after %d | %.1f MiB (drift %+.1f) | drift <= 10 MiB |" % (total, late, late - early))
    print("| sequential connections/s (python client) | %.0f | |" % rate)


if __name__ == "__main__":
    main()
