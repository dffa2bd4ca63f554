//! LispWorks asynchronous I/O as users meet it: the async-io.lisp script,
//! and the async echo example serving many concurrent clients (python3
//! and the TCP echo client) from one wait-state collection. Every wait
//! is bounded.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn async_io_script_matches_expected() {
    assert_script_output(
        "tests/net/async-io.lisp",
        "tests/net/async-io.expected",
        Duration::from_secs(60),
    );
}

#[test]
fn async_echo_server_serves_a_thousand_concurrent_python_clients() {
    require("python3");
    let (mut server, port) = Daemon::example("async-echo-server.lisp");
    let script = format!(
        r#"
import socket
conns = []
for i in range(1000):
    s = socket.create_connection(("127.0.0.1", {port}), timeout=20)
    conns.append(s)
for i, s in enumerate(conns):
    s.sendall(b"message %d\n" % i)
ok = 0
for i, s in enumerate(conns):
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(100)
        if not chunk:
            break
        data += chunk
    ok += data == b"message %d\n" % i
# A half-close gets everything echoed, then the server closes.
big = conns[0]
big.sendall(b"x" * 200000)
big.shutdown(socket.SHUT_WR)
got = 0
while True:
    chunk = big.recv(65536)
    if not chunk:
        break
    got += len(chunk)
for s in conns:
    s.close()
print(ok, got)
"#
    );
    let mut py = Command::new("python3");
    py.args(["-c", &script]);
    let out = run_bounded(py, b"", Duration::from_secs(120));
    assert_eq!(out.stdout, "1000 200000\n", "{}", out.stderr);
    let mut client = netlisp();
    client.arg(project_file("examples/echo-client.lisp")).args([
        "127.0.0.1",
        &port.to_string(),
        "still",
        "serving",
    ]);
    let out = run_bounded(client, b"", Duration::from_secs(20));
    assert_eq!(out.stdout, "still\nserving\n", "{}", out.stderr);
    assert!(server.alive());
}
