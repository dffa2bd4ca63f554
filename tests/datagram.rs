//! UDP and Unix-domain sockets as users meet them: the udp-unix.lisp
//! script, and the examples talking to real peers (python3, socat, dig)
//! on loopback and on socket files in a temporary directory. Every wait
//! is bounded.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::UdpSocket;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A fresh directory for socket files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "netlisp-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn join(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A UDP port nothing uses right now.
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Run a program to completion within `limit` and return its stdout.
fn output_of(cmd: Command, input: &[u8], limit: Duration) -> String {
    let out = run_bounded(cmd, input, limit);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    out.stdout
}

/// Wait until `path` exists (a peer has bound its socket file).
fn wait_for_file(path: &str) {
    let start = Instant::now();
    while !Path::new(path).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{path} never appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A netlisp example given ARGS; returns it once it printed its first
/// line, with that line.
fn example_with(file: &str, args: &[&str]) -> (Daemon, String) {
    let mut cmd = netlisp();
    cmd.arg(project_file(&format!("examples/{file}")))
        .args(args);
    let mut d = Daemon::spawn(cmd, file);
    let line = d.next_line();
    (d, line)
}

/// One datagram out, one back, within two seconds.
fn udp_round_trip(sock: &UdpSocket, port: u16, payload: &[u8]) -> Vec<u8> {
    sock.send_to(payload, ("127.0.0.1", port)).unwrap();
    let mut buf = vec![0u8; 70_000];
    let (n, _) = sock
        .recv_from(&mut buf)
        .expect("an echo within the timeout");
    buf.truncate(n);
    buf
}

#[test]
fn udp_unix_script_matches_expected() {
    assert_script_output(
        "tests/net/udp-unix.lisp",
        "tests/net/udp-unix.expected",
        Duration::from_secs(60),
    );
}

#[test]
fn udp_echo_server_answers_a_rust_client_and_socat() {
    require("socat");
    let (mut server, port) = Daemon::example("udp-echo-server.lisp");
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    for size in [1usize, 64, 1500, 9000, 65_507] {
        let payload: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(
            udp_round_trip(&client, port, &payload),
            payload,
            "{size} bytes"
        );
    }
    let mut socat = Command::new("socat");
    socat.args(["-T2", "-", &format!("UDP4:127.0.0.1:{port}")]);
    assert_eq!(
        output_of(socat, b"from socat\n", Duration::from_secs(20)),
        "from socat\n"
    );
    assert!(server.alive());
}

#[test]
fn udp_echo_server_answers_python_clients() {
    require("python3");
    let (_server, port) = Daemon::example("udp-echo-server.lisp");
    let script = format!(
        r#"
import socket
ok = 0
for i in range(200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    msg = ("datagram %d " % i).encode() * (i % 7 + 1)
    s.sendto(msg, ("127.0.0.1", {port}))
    data, addr = s.recvfrom(65536)
    assert data == msg, (data, msg)
    assert addr == ("127.0.0.1", {port})
    ok += 1
    s.close()
print(ok)
"#
    );
    let mut py = Command::new("python3");
    py.args(["-c", &script]);
    assert_eq!(output_of(py, b"", Duration::from_secs(30)), "200\n");
}

#[test]
fn udp_echo_client_talks_to_socat_over_ipv4_and_ipv6() {
    require("socat");
    for (host, listen) in [("127.0.0.1", "UDP4-RECVFROM"), ("::1", "UDP6-RECVFROM")] {
        let port = free_udp_port();
        let bind = if host == "::1" { "[::1]" } else { host };
        let mut cmd = Command::new("socat");
        cmd.args([&format!("{listen}:{port},bind={bind},fork"), "PIPE"]);
        let _peer = Daemon::spawn(cmd, "socat");
        let mut client = netlisp();
        client
            .arg(project_file("examples/udp-echo-client.lisp"))
            .args([host, &port.to_string(), "first", "second"]);
        assert_eq!(
            output_of(client, b"", Duration::from_secs(30)),
            "first\nsecond\n",
            "over {host}"
        );
    }
}

#[test]
fn dns_example_answers_dig_and_the_query_example() {
    require("dig");
    let (mut server, port) = Daemon::example("dns-server.lisp");
    let p = port.to_string();
    let dig = |name: &str, extra: &str| {
        let mut cmd = Command::new("dig");
        cmd.args(["@127.0.0.1", "-p", &p, name, extra, "+tries=3", "+time=2"]);
        output_of(cmd, b"", Duration::from_secs(30))
    };
    assert_eq!(dig("www.example.test", "+short"), "192.0.2.10\n");
    assert_eq!(dig("MAIL.example.test", "+short"), "192.0.2.25\n");
    assert!(dig("nope.example.test", "+noall").is_empty());
    assert!(dig("nope.example.test", "+comments").contains("status: NXDOMAIN"));
    let mut query = netlisp();
    query
        .arg(project_file("examples/dns-query.lisp"))
        .args(["127.0.0.1", &p, "www.example.test"]);
    assert_eq!(
        output_of(query, b"", Duration::from_secs(30)),
        "www.example.test has address 192.0.2.10\n"
    );
    // Garbage and truncated packets are ignored; the server still answers.
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    for junk in [
        &b""[..],
        b"\x00",
        b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3f",
    ] {
        s.send_to(junk, ("127.0.0.1", port)).unwrap();
    }
    assert_eq!(dig("localhost.test", "+short"), "127.0.0.1\n");
    assert!(server.alive());
}

#[test]
fn udp_server_reports_bad_datagrams_and_keeps_serving() {
    require("python3");
    let text = r#"(require "comm+")
(comm+:start-udp-server
  :function (lambda (data) (if (= (length data) 1) (error "one byte is not allowed") data))
  :address "127.0.0.1" :service 0 :max-buffer-size 100
  :announce (lambda (s c) (declare (ignore c))
              (format t "port ~D~%" (nth-value 1 (comm:get-socket-address s)))
              (force-output)))
"#;
    let dir = TempDir::new("udp-bad");
    let path = dir.join("server.lisp");
    std::fs::write(&path, text).unwrap();
    let mut cmd = netlisp();
    cmd.arg(&path).stderr(Stdio::piped());
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port: u16 = line.trim().rsplit(' ').next().unwrap().parse().unwrap();
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.send_to(&[0u8; 1000], ("127.0.0.1", port)).unwrap(); // truncated
    s.send_to(b"x", ("127.0.0.1", port)).unwrap(); // the function signals
    assert_eq!(udp_round_trip(&s, port, b"fine"), b"fine");
    let _ = child.kill();
    let _ = child.wait();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        err.contains("a datagram of 1000 bytes did not fit the 100-byte buffer")
            && err.contains("dropped"),
        "{err}"
    );
    assert!(err.contains("one byte is not allowed"), "{err}");
}

#[test]
fn unix_echo_server_answers_socat_and_a_rust_client() {
    require("socat");
    let dir = TempDir::new("unix-echo");
    let path = dir.join("echo.sock");
    let (mut server, line) = example_with("unix-echo-server.lisp", &[&path]);
    assert_eq!(line, format!("unix echo server listening on {path}"));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "socket file mode {mode:o}");
    let mut socat = Command::new("socat");
    socat.args(["-t2", "-", &format!("UNIX-CONNECT:{path}")]);
    assert_eq!(
        output_of(socat, b"over socat\n", Duration::from_secs(20)),
        "over socat\n"
    );
    let mut s = UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    for i in 0..100 {
        writeln!(s, "line {i}").unwrap();
        let mut reply = String::new();
        r.read_line(&mut reply).unwrap();
        assert_eq!(reply, format!("line {i}\n"));
    }
    assert!(server.alive());
    // A killed server leaves its socket file behind; the next run
    // replaces it (:REMOVE-STALE) and serves again.
    drop(server);
    assert!(Path::new(&path).exists());
    let (_again, line) = example_with("unix-echo-server.lisp", &[&path]);
    assert_eq!(line, format!("unix echo server listening on {path}"));
    let mut client = netlisp();
    client
        .arg(project_file("examples/unix-echo-client.lisp"))
        .args([&path, "after", "restart"]);
    assert_eq!(
        output_of(client, b"", Duration::from_secs(20)),
        "after\nrestart\n"
    );
}

#[test]
fn unix_client_talks_to_socat_unix_listen() {
    require("socat");
    let dir = TempDir::new("unix-socat");
    let path = dir.join("socat.sock");
    let mut cmd = Command::new("socat");
    cmd.args([&format!("UNIX-LISTEN:{path},fork"), "PIPE"]);
    let _peer = Daemon::spawn(cmd, "socat");
    wait_for_file(&path);
    let mut client = netlisp();
    client
        .arg(project_file("examples/unix-echo-client.lisp"))
        .args([&path, "to socat", "and back"]);
    assert_eq!(
        output_of(client, b"", Duration::from_secs(20)),
        "to socat\nand back\n"
    );
}

#[test]
fn unix_datagrams_talk_to_socat() {
    require("socat");
    let dir = TempDir::new("unix-dgram");
    let path = dir.join("dgram.sock");
    let mut cmd = Command::new("socat");
    cmd.args([&format!("UNIX-RECVFROM:{path},fork"), "PIPE"]);
    let _peer = Daemon::spawn(cmd, "socat");
    wait_for_file(&path);
    let text = format!(
        r#"(require "comm+")
(let ((s (comm+:connect-to-unix-path "{path}" :errorp t :read-timeout 5)))
  (comm+:send-message s (map '(vector (unsigned-byte 8)) #'char-code "datagram over a path"))
  (multiple-value-bind (buf n) (comm+:receive-message s)
    (format t "~A~%" (map 'string #'code-char (subseq buf 0 n))))
  (comm+:close-datagram s))
"#
    );
    let out = run_lisp(&text, &[], Duration::from_secs(20));
    assert_eq!(out.stdout, "datagram over a path\n", "{}", out.stderr);
}

#[test]
fn stale_socket_file_is_replaced_only_when_asked() {
    require("python3");
    let dir = TempDir::new("unix-stale");
    let path = dir.join("stale.sock");
    // A socket file whose owner is gone: bound, then closed unremoved.
    let mut py = Command::new("python3");
    py.args([
        "-c",
        &format!(
            "import socket; s = socket.socket(socket.AF_UNIX); s.bind({path:?}); s.listen(); s.close()"
        ),
    ]);
    output_of(py, b"", Duration::from_secs(20));
    assert!(Path::new(&path).exists());
    let text = format!(
        r#"(require "comm")
(defun try (form) (handler-case (funcall form) (error (c) (type-of c))))
(print (try (lambda () (comm+:open-unix-stream "{path}" :errorp t))))
(print (try (lambda () (comm:start-up-server :path "{path}" :function 'identity :error t))))
(print (try (lambda () (comm:server-terminate (comm:start-up-server :path "{path}" :function 'identity
                                                                     :error t :remove-stale t :wait t)))))
"#
    );
    let out = run_lisp(&text, &[], Duration::from_secs(20));
    assert_eq!(
        out.stdout, "\nCOMM:CONNECTION-REFUSED-ERROR \nCOMM:ADDRESS-IN-USE-ERROR \nT ",
        "{}",
        out.stderr
    );
}
