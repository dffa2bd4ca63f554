//! The network core and the COMM API as users meet them: the scripts in
//! `tests/net/` and the programs in `examples/` run through the netlisp
//! binary and talk to real peers on loopback (python3, curl, socat, ncat),
//! and hostile clients (resets, half-closes, stalls, garbage, huge lines,
//! thousands of connections) must leave a server answering. Every wait is
//! bounded; a child still running at its deadline is killed and the test
//! fails with what it printed.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Connect to `port` on 127.0.0.1, retrying while a just-started peer
/// comes up.
fn connect(port: u16) -> TcpStream {
    let start = Instant::now();
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => {
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
                return s;
            }
            Err(e) if start.elapsed() > Duration::from_secs(10) => {
                panic!("connect to {port}: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// One line sent, one line back.
fn echo_round_trip(stream: &mut BufReader<TcpStream>, line: &str) -> String {
    stream.get_mut().write_all(line.as_bytes()).unwrap();
    stream.get_mut().write_all(b"\n").unwrap();
    let mut reply = String::new();
    stream.read_line(&mut reply).unwrap();
    reply
}

fn assert_echo_still_answers(port: u16) {
    let mut s = BufReader::new(connect(port));
    assert_eq!(echo_round_trip(&mut s, "still there?"), "still there?\n");
}

// ---------------------------------------------------------------------
// The COMM API script

#[test]
fn comm_api_script_matches_the_manual() {
    assert_script_output(
        "tests/net/comm-api.lisp",
        "tests/net/comm-api.expected",
        Duration::from_secs(60),
    );
}

#[test]
fn tour_talks_to_its_own_server_and_ends() {
    let mut cmd = netlisp();
    cmd.arg(project_file("examples/tour.lisp"));
    let out = run_bounded(cmd, b"", Duration::from_secs(30));
    assert!(
        out.stdout.contains("server replied: HELLO OVER TCP\n")
            && out.stdout.contains(
                "refused: Failed to connect to 127.0.0.1:1: Connection refused (errno 111)\n"
            )
            && out.stdout.ends_with("Done. netlisp\n"),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(out.code, Some(0));
}

#[test]
fn bulk_octets_arrive_intact_in_both_directions() {
    // An echo peer in this test: every byte written comes back.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((conn, _)) = listener.accept() {
            let mut reader = conn.try_clone().unwrap();
            let mut writer = conn;
            let _ = std::io::copy(&mut reader, &mut writer);
        }
    });
    let script = r#"(require "comm")
(let* ((n (* 3 1024 1024))
       (out (make-array n :element-type '(unsigned-byte 8)))
       (back (make-array (+ n 7) :element-type '(unsigned-byte 8) :initial-element 0))
       (s (comm:open-tcp-stream "127.0.0.1" (parse-integer (first netlisp:*args*))
                                :errorp t :element-type '(unsigned-byte 8) :read-timeout 20)))
  (dotimes (i n) (setf (aref out i) (mod (* i 7) 251)))
  (mp:process-run-function "sender" '()
    (lambda ()
      ;; Pieces of every size through both write paths.
      (loop with i = 0 for size in '(1 100 70000 16384 5 1000000 3) while (< i n)
            do (write-sequence out s :start i :end (min n (+ i size))) (incf i size)
            finally (write-sequence out s :start (min i n)))
      (force-output s)))
  (let ((got (loop with i = 7 while (< i (+ n 7))
                   for k = (read-sequence back s :start i :end (min (+ n 7) (+ i 50000)))
                   do (setf i k) finally (return (- i 7)))))
    (format t "~D ~A ~A~%" got (every #'zerop (subseq back 0 7)) (equalp (subseq back 7) out))))
"#;
    let out = run_lisp(script, &[&port.to_string()], Duration::from_secs(60));
    assert_eq!(out.stdout, "3145728 T T\n", "{}", out.stderr);
}

// ---------------------------------------------------------------------
// The examples against real peers

#[test]
fn echo_server_serves_concurrent_python_clients() {
    require("python3");
    let (mut server, port) = Daemon::example("echo-server.lisp");
    let client = r#"
import socket, sys, threading
port = int(sys.argv[1])
errors = []
def client(i):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        f = s.makefile("rwb")
        for j in range(50):
            line = ("client %d line %d " % (i, j)).encode() + bytes(range(128, 256)) + b"\n"
            f.write(line); f.flush()
            if f.readline() != line:
                errors.append((i, j))
        s.close()
    except Exception as e:
        errors.append((i, repr(e)))
ts = [threading.Thread(target=client, args=(i,)) for i in range(40)]
for t in ts: t.start()
for t in ts: t.join()
print("errors:", errors[:5])
"#;
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(client).arg(port.to_string());
    let out = run_bounded(cmd, b"", Duration::from_secs(60));
    assert_eq!(out.stdout, "errors: []\n", "{}", out.stderr);
    assert!(server.alive());
}

#[test]
fn http_server_answers_curl() {
    require("curl");
    let (_server, port) = Daemon::example("http-server.lisp");
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10", &format!("{base}/hi")]);
    let out = run_bounded(cmd, b"", Duration::from_secs(20));
    assert_eq!(out.stdout, "Hello from netlisp: /hi\n", "{}", out.stderr);
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "--max-time",
        "10",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{base}/missing"),
    ]);
    assert_eq!(run_bounded(cmd, b"", Duration::from_secs(20)).stdout, "404");
    // Many sequential requests on fresh connections.
    let urls: Vec<String> = (0..100).map(|i| format!("{base}/n{i}")).collect();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "30"]).args(&urls);
    let out = run_bounded(cmd, b"", Duration::from_secs(60));
    let expected: String = (0..100)
        .map(|i| format!("Hello from netlisp: /n{i}\n"))
        .collect();
    assert_eq!(out.stdout, expected, "{}", out.stderr);
}

#[test]
fn http_client_fetches_from_python_http_server() {
    require("python3");
    let dir = std::env::temp_dir().join(format!("netlisp-net-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("page.txt"), "first line\nsecond line\n").unwrap();
    let port = free_port();
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "http.server", "--bind", "127.0.0.1"])
        .arg(port.to_string())
        .current_dir(&dir)
        .stderr(Stdio::null());
    let _peer = Daemon::spawn(cmd, "python3 http.server");
    drop(connect(port)); // wait until it listens
    let mut cmd = netlisp();
    cmd.arg(project_file("examples/http-client.lisp")).args([
        "127.0.0.1",
        &port.to_string(),
        "/page.txt",
    ]);
    let out = run_bounded(cmd, b"", Duration::from_secs(30));
    assert_eq!(
        out.stdout, "HTTP/1.0 200 OK\nfirst line\nsecond line\n",
        "{}",
        out.stderr
    );
}

#[test]
fn echo_client_talks_to_socat() {
    require("socat");
    let port = free_port();
    let mut cmd = Command::new("socat");
    cmd.arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"))
        .arg("PIPE");
    let _peer = Daemon::spawn(cmd, "socat");
    drop(connect(port));
    let mut cmd = netlisp();
    cmd.arg(project_file("examples/echo-client.lisp")).args([
        "127.0.0.1",
        &port.to_string(),
        "hello",
        "wörld",
        "three",
    ]);
    let out = run_bounded(cmd, b"", Duration::from_secs(30));
    assert_eq!(out.stdout, "hello\nwörld\nthree\n", "{}", out.stderr);
}

#[test]
fn socat_client_talks_to_echo_server() {
    require("socat");
    let (_server, port) = Daemon::example("echo-server.lisp");
    let mut cmd = Command::new("socat");
    cmd.args(["-t", "5", "-", &format!("TCP:127.0.0.1:{port}")]);
    let input: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    let out = run_bounded(cmd, input.as_bytes(), Duration::from_secs(30));
    assert_eq!(out.stdout, input, "{}", out.stderr);
}

#[test]
fn chat_server_relays_between_ncat_clients() {
    require("ncat");
    let (_server, port) = Daemon::example("chat-server.lisp");
    let mut cmd = Command::new("ncat");
    cmd.args(["127.0.0.1", &port.to_string()]);
    let mut alice = Daemon::spawn(cmd, "ncat alice");
    // Bob joins only once the server has alice, so the order is fixed.
    let mut bob_stream = BufReader::new(connect(port));
    std::thread::sleep(Duration::from_millis(200));
    let stdin = alice.child.stdin.as_mut().unwrap();
    stdin.write_all(b"hello from alice\n").unwrap();
    stdin.flush().unwrap();
    let mut got = String::new();
    bob_stream.read_line(&mut got).unwrap();
    assert!(
        got.starts_with("127.0.0.1:") && got.ends_with(": hello from alice\n"),
        "{got:?}"
    );
    bob_stream.get_mut().write_all(b"hi alice\n").unwrap();
    let line = alice.next_line();
    assert!(line.ends_with(": hi alice"), "{line:?}");
}

#[test]
fn port_scanner_finds_exactly_the_open_ports() {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let pa = a.local_addr().unwrap().port();
    // Scan a window of 20 ports around the open one; any other port in it
    // that happens to be open is reported too, so compute the truth.
    let first = pa.saturating_sub(10).max(1025);
    let last = first + 19;
    let open_now = || -> String {
        let open: Vec<String> = (first..=last)
            .filter(|&p| p == pa || TcpStream::connect(("127.0.0.1", p)).is_ok())
            .map(|p| p.to_string())
            .collect();
        format!("20 ports scanned, open: {}\n", open.join(" "))
    };
    let before = open_now();
    let mut cmd = netlisp();
    cmd.arg(project_file("examples/port-scanner.lisp")).args([
        "127.0.0.1",
        &first.to_string(),
        &last.to_string(),
    ]);
    let out = run_bounded(cmd, b"", Duration::from_secs(30));
    // Parallel tests may open or close a port of the window meanwhile.
    assert!(
        out.stdout == before || out.stdout == open_now(),
        "scanner: {:?}, truth: {before:?}; {}",
        out.stdout,
        out.stderr
    );
    drop(a);
}

// ---------------------------------------------------------------------
// Errors from real peers and from the OS

#[test]
fn reset_by_peer_is_connection_reset_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 6];
        let mut r = &s;
        r.read_exact(&mut buf).unwrap();
        // SO_LINGER 0: close sends RST instead of FIN.
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
    });
    let out = run_lisp(
        r#"(require "comm")
(let ((s (comm:open-tcp-stream "127.0.0.1" (parse-integer (first netlisp:*args*)) :errorp t :read-timeout 10)))
  (write-line "hello" s) (force-output s)
  (print (handler-case (read-line s nil :eof)
           (comm:connection-reset-error (c)
             (list (type-of c) (comm:socket-error-code c) (typep c 'comm:socket-io-error)
                   (comm:socket-error-operation c))))))"#,
        &[&port.to_string()],
        Duration::from_secs(30),
    );
    peer.join().unwrap();
    assert_eq!(
        out.stdout, "\n(COMM:CONNECTION-RESET-ERROR 104 T :READ) ",
        "{}",
        out.stderr
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn writing_to_a_closed_peer_is_an_error_not_a_signal() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        // Reset only once the client's connect has returned.
        std::thread::sleep(Duration::from_millis(100));
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
    });
    let out = run_lisp(
        r#"(require "comm")
(let ((s (comm:open-tcp-stream "127.0.0.1" (parse-integer (first netlisp:*args*)) :errorp t)))
  (sleep 0.3)
  (print (handler-case (loop repeat 1000 do (write-line "data" s) (force-output s) finally (return :no-error))
           (comm:socket-io-error (c) (typep c '(or comm:connection-reset-error comm:broken-pipe-error))))))"#,
        &[&port.to_string()],
        Duration::from_secs(30),
    );
    peer.join().unwrap();
    assert_eq!(out.stdout, "\nT ", "{}", out.stderr);
    assert_eq!(out.code, Some(0));
}

/// Binding a port below 1024 without CAP_NET_BIND_SERVICE. CI runs as
/// root, so the capability is dropped with setpriv; where the sysctl lets
/// everyone bind low ports, a private network namespace restores 1024.
#[test]
fn low_port_without_privilege_is_permission_denied() {
    require("setpriv");
    let script = r#"(require "comm")
(print (multiple-value-bind (p c) (comm:start-up-server :function 'identity :service 1023 :address "127.0.0.1" :error nil)
         (list p (type-of c) (comm:socket-error-code c) (typep c 'comm:socket-create-error))))
(print (handler-case (comm:start-up-server :function 'identity :service 1023 :address "127.0.0.1" :error t)
         (comm:permission-denied-error (c) (princ-to-string c))))"#;
    let binary = env!("CARGO_BIN_EXE_netlisp");
    let start: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024);
    let drop_caps = format!(
        "exec setpriv --bounding-set=-net_bind_service --inh-caps=-net_bind_service {binary} -e '{}'",
        script.replace('\'', r"'\''")
    );
    let mut cmd;
    if start >= 1024 {
        cmd = Command::new("sh");
        cmd.arg("-c").arg(&drop_caps);
    } else {
        require("unshare");
        cmd = Command::new("unshare");
        cmd.args(["-n", "sh", "-c"]).arg(format!(
            "ip link set lo up && echo 1024 > /proc/sys/net/ipv4/ip_unprivileged_port_start && {drop_caps}"
        ));
    }
    let out = run_bounded(cmd, b"", Duration::from_secs(30));
    assert_eq!(
        out.stdout,
        "\n(NIL COMM:PERMISSION-DENIED-ERROR 13 T) \n\"Failed to bind to 127.0.0.1:1023: Permission denied (errno 13)\" ",
        "{}",
        out.stderr
    );
}

#[test]
fn refused_connection_in_a_script_reports_the_address() {
    let port = free_port();
    let out = run_lisp(
        r#"(require "comm") (comm:open-tcp-stream "127.0.0.1" (parse-integer (first netlisp:*args*)) :errorp t)"#,
        &[&port.to_string()],
        Duration::from_secs(20),
    );
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains(&format!(
            "Failed to connect to 127.0.0.1:{port}: Connection refused (errno 111)"
        )),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------
// Hostile clients: the server keeps answering

#[test]
fn echo_server_survives_hostile_clients() {
    let (mut server, port) = Daemon::example("echo-server.lisp");
    // Resets mid-line.
    for _ in 0..50 {
        let s = connect(port);
        (&s).write_all(b"half a li").unwrap();
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    }
    // Half-closes: the line still comes back, then EOF.
    for i in 0..20 {
        let mut s = connect(port);
        s.write_all(format!("bye {i}\n").as_bytes()).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut all = String::new();
        s.read_to_string(&mut all).unwrap();
        assert_eq!(all, format!("bye {i}\n"));
    }
    // Stalled clients that never send anything stay connected meanwhile.
    let stalled: Vec<TcpStream> = (0..100).map(|_| connect(port)).collect();
    // Garbage octets, including NUL and invalid UTF-8, come back unchanged.
    let mut s = connect(port);
    let garbage: Vec<u8> = (0..=255u8).filter(|&b| b != b'\n').collect();
    s.write_all(&garbage).unwrap();
    s.write_all(b"\n").unwrap();
    let mut back = vec![0u8; garbage.len() + 1];
    s.read_exact(&mut back).unwrap();
    assert_eq!(&back[..garbage.len()], &garbage[..]);
    // A 10 MB line.
    let big: Vec<u8> = (0..10_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut s = connect(port);
    let writer = {
        let mut w = s.try_clone().unwrap();
        let big = big.clone();
        std::thread::spawn(move || {
            w.write_all(&big).unwrap();
            w.write_all(b"\n").unwrap();
        })
    };
    let mut back = vec![0u8; big.len() + 1];
    s.read_exact(&mut back).unwrap();
    writer.join().unwrap();
    assert!(back[..big.len()] == big[..] && back[big.len()] == b'\n');
    assert_echo_still_answers(port);
    drop(stalled);
    assert!(server.alive());
}

#[test]
fn echo_server_survives_thousands_of_connections() {
    let (mut server, port) = Daemon::example("echo-server.lisp");
    // Opened and dropped at once, in bursts.
    for _ in 0..20 {
        let burst: Vec<TcpStream> = (0..100).map(|_| connect(port)).collect();
        drop(burst);
    }
    // Held open together, each answered, within the descriptor limit.
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    let held = (limit.rlim_cur as usize / 2).saturating_sub(64).min(1000);
    let mut clients: Vec<BufReader<TcpStream>> =
        (0..held).map(|_| BufReader::new(connect(port))).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        assert_eq!(echo_round_trip(c, &format!("c{i}")), format!("c{i}\n"));
    }
    drop(clients);
    assert_echo_still_answers(port);
    assert!(server.alive());
}

// ---------------------------------------------------------------------
// Seeing what is open

#[test]
fn repl_lists_sockets_and_describe_shows_a_stream() {
    let input = r#"(require "comm")
(defvar *p* nil)
(comm:start-up-server :function 'identity :service 0 :address "127.0.0.1" :wait t :announce (lambda (s c) (declare (ignore c)) (when s (setf *p* (nth-value 1 (comm:get-socket-address s))))))
(defvar *c* (comm:open-tcp-stream "127.0.0.1" *p* :read-timeout 2.5))
(loop repeat 500 until (find :handle (netlisp:sockets) :key (lambda (p) (getf p :kind))) do (sleep 0.01))
(describe *c*)
:sockets
(print (mapcar (lambda (p) (list (getf p :kind) (getf p :state) (eql (getf p :peer-port) *p*))) (netlisp:sockets)))
"#;
    let mut cmd = netlisp();
    cmd.env(
        "NETLISP_HISTORY",
        std::env::temp_dir().join("netlisp-net-history"),
    );
    let out = run_bounded(cmd, input.as_bytes(), Duration::from_secs(30));
    for needle in [
        "[socket stream, open]",
        "Peer address: 127.0.0.1:",
        "State: open",
        "Timeouts: read 2.5 s, write none",
        "Created by process: \"main\"",
        "Protocol: tcp",
        "listener  tcp          127.0.0.1:",
        "listening",
        "connections accepted",
        "((:LISTENER :LISTENING NIL) (:STREAM :OPEN T) (:HANDLE :OPEN NIL))",
    ] {
        assert!(
            out.stdout.contains(needle),
            "{needle:?} not in:\n{}",
            out.stdout
        );
    }
}
