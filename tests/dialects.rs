//! The other socket dialects (usocket, PORT, sb-bsd-sockets) on the one
//! network core: usocket's own RT suite in a hermetic namespace, the
//! Cookbook's examples as published, SBCL-checked scripts, every dialect
//! talking to every other, and real peers (curl, python3).

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

/// usocket's test suite, unchanged from Debian's cl-usocket, run with
/// Debian's cl-rt by tests/usocket/run-suite.sh in a network namespace
/// it builds (common-lisp.net served inside it, 1.2.3.4 silently
/// unreachable, an unprivileged user). CI runs as root; elsewhere the
/// namespace cannot be made and the test says so.
#[test]
fn usocket_rt_suite_passes() {
    require("ip");
    require("setpriv");
    require("python3");
    let uid = Command::new("id").arg("-u").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "the usocket suite needs root to build its network namespace"
    );
    let mut cmd = Command::new(project_file("tests/usocket/run-suite.sh"));
    cmd.arg(env!("CARGO_BIN_EXE_netlisp"));
    let out = run_bounded(cmd, b"", Duration::from_secs(400));
    assert!(
        out.stdout.contains("No tests failed.") && out.stdout.contains(" 0 failed, 0 unexpected."),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn usocket_script_matches_real_usocket_on_sbcl() {
    assert_script_output(
        "tests/net/usocket.lisp",
        "tests/net/usocket.expected",
        Duration::from_secs(60),
    );
}

#[test]
fn sb_bsd_sockets_script_matches_sbcl() {
    assert_script_output(
        "tests/net/sb-bsd-sockets.lisp",
        "tests/net/sb-bsd-sockets.expected",
        Duration::from_secs(60),
    );
}

#[test]
fn every_dialect_talks_to_every_other() {
    assert_script_output(
        "tests/net/dialects.lisp",
        "tests/net/dialects.expected",
        Duration::from_secs(60),
    );
}

/// A netlisp process that loads a Cookbook file, then runs `call`.
fn cookbook(file: &str, prelude: &str, call: &str) -> Command {
    let mut cmd = netlisp();
    cmd.arg("-e").arg(format!(
        "(progn {prelude} (load {:?}) {call} (finish-output) (quit))",
        project_file(&format!("tests/cookbook/{file}"))
            .display()
            .to_string()
    ));
    cmd
}

/// The old chapter's HTTP/0.9 server and client, pasted from the page,
/// serve and fetch a file; curl fetches it too.
#[test]
fn cookbook_port_http_server_and_client() {
    require("curl");
    let root = std::env::temp_dir().join(format!("netlisp-www-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("hosts"), "127.0.0.1 localhost\n::1 localhost\n").unwrap();
    let port = free_port();
    let mut server = Daemon::spawn(
        cookbook(
            "port-http09.lisp",
            "(require \"port\")",
            &format!(
                "(port::http-0.9-server {port} {:?})",
                format!("{}/", root.display())
            ),
        ),
        "http-0.9-server",
    );
    assert_eq!(
        server.next_line(),
        format!("> Started server on port {port}")
    );
    let out = run_bounded(
        cookbook(
            "port-http09.lisp",
            "(require \"port\")",
            &format!("(port::http-get \"localhost\" {port} \"/hosts\")"),
        ),
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(
        out.stdout,
        format!(
            "> Sending request to localhost:{port}...\n> Received response:\n127.0.0.1 localhost\r\n::1 localhost\r\n"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(server.next_line(), "> Received request from host 127.0.0.1");
    assert!(server.next_line().starts_with("> Serving file "));
    let mut curl = Command::new("curl");
    curl.args(["-s", "--http0.9", "--max-time", "10"])
        .arg(format!("http://127.0.0.1:{port}/hosts"));
    let got = run_bounded(curl, b"", Duration::from_secs(20));
    assert_eq!(
        got.stdout, "127.0.0.1 localhost\r\n::1 localhost\r\n",
        "{}",
        got.stderr
    );
    // A missing file: the page's 401 with a bare LF.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /nope HTTP/0.9\n\n").unwrap();
    let mut reply = String::new();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "HTTP/0.9 401 Not found.\n");
    assert!(server.alive());
    let _ = std::fs::remove_dir_all(&root);
}

/// The current chapter's TCP server and client (usocket), as published.
#[test]
fn cookbook_usocket_tcp_server_and_client() {
    let port = free_port();
    let mut server = Daemon::spawn(
        cookbook("usocket-tcp.lisp", "", &format!("(create-server {port})")),
        "create-server",
    );
    wait_for_listener_then_skip(port);
    let out = run_bounded(
        cookbook("usocket-tcp.lisp", "", &format!("(create-client {port})")),
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(out.stdout, "Input is: Hello World\n", "{}", out.stderr);
    assert_eq!(server.next_line(), "Closing sockets");
}

/// The probe connection of wait_for_listener would be the one
/// create-server accepts, so poll with the kernel's view instead.
fn wait_for_listener_then_skip(port: u16) {
    for _ in 0..100 {
        let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        let needle = format!(":{port:04X} 00000000:0000 0A");
        if tcp.contains(&needle) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on {port}");
}

/// The chapter's TCP server answers python3 too.
#[test]
fn cookbook_usocket_tcp_server_answers_python() {
    require("python3");
    let port = free_port();
    let mut server = Daemon::spawn(
        cookbook("usocket-tcp.lisp", "", &format!("(create-server {port})")),
        "create-server",
    );
    wait_for_listener_then_skip(port);
    let mut py = Command::new("python3");
    py.arg("-c").arg(format!(
        "import socket; s = socket.create_connection(('127.0.0.1', {port}), 10); print(s.makefile().readline(), end='')"
    ));
    let out = run_bounded(py, b"", Duration::from_secs(20));
    assert_eq!(out.stdout, "Hello World\n", "{}", out.stderr);
    assert_eq!(server.next_line(), "Closing sockets");
}

/// The chapter's UDP server and client, as published: the server prints
/// what it got and sends it back reversed.
#[test]
fn cookbook_usocket_udp_server_and_client() {
    let port = {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let buffer = "(make-array 8 :element-type '(unsigned-byte 8))";
    let mut server = Daemon::spawn(
        cookbook(
            "usocket-udp.lisp",
            "",
            &format!("(create-server {port} {buffer})"),
        ),
        "udp create-server",
    );
    // The server is bound once its socket shows up in /proc/net/udp.
    for _ in 0..100 {
        let udp = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
        if udp.contains(&format!("0100007F:{port:04X}")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = run_bounded(
        cookbook(
            "usocket-udp.lisp",
            "",
            &format!("(create-client {port} {buffer})"),
        ),
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(
        out.stdout, "Sending data\nReceiving data\n#(8 7 6 5 4 3 2 1)\n",
        "{}",
        out.stderr
    );
    assert_eq!(server.next_line(), "#(1 2 3 4 5 6 7 8)");
}

/// A usocket SOCKET-SERVER echo (multi-threaded) serves python3 clients
/// at once.
#[test]
fn usocket_socket_server_serves_concurrent_python_clients() {
    require("python3");
    let script = r#"(require :usocket)
(multiple-value-bind (thread socket)
    (usocket:socket-server "127.0.0.1" 0 #'usocket::echo-tcp-handler nil :in-new-thread t :multi-threading t)
  (declare (ignore thread))
  (format t "listening on port ~D~%" (usocket:get-local-port socket))
  (finish-output)
  (mp:process-wait "forever" (constantly nil)))"#;
    let dir = std::env::temp_dir().join(format!("netlisp-dialects-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.lisp");
    std::fs::write(&path, script).unwrap();
    let mut cmd = netlisp();
    cmd.arg(&path);
    let mut d = Daemon::spawn(cmd, "usocket echo");
    let line = d.next_line();
    let port: u16 = line.rsplit(' ').next().unwrap().parse().unwrap();
    // Two clients connected at once, answered in turn.
    let mut clients = [0, 1].map(|_| {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        BufReader::new(s)
    });
    for (i, text) in [(0, "first\n"), (1, "second\n"), (0, "third\n")] {
        let s = &mut clients[i];
        s.get_mut().write_all(text.as_bytes()).unwrap();
        let mut reply = String::new();
        s.read_line(&mut reply).unwrap();
        assert_eq!(reply, text);
    }
    let mut py = Command::new("python3");
    py.arg("-c").arg(format!(
        "import socket; s = socket.create_connection(('127.0.0.1', {port}), 10); s.sendall(b'py\\n'); print(s.makefile().readline(), end='')"
    ));
    assert_eq!(run_bounded(py, b"", Duration::from_secs(20)).stdout, "py\n");
}

/// (asdf:load-system :usocket) and (ql:quickload "usocket") load the
/// bundled layer; an unknown system names the bundled ones.
#[test]
fn asdf_and_quicklisp_load_bundled_systems() {
    let out = run_lisp(
        r#"(print (asdf:load-system :usocket))
(print (ql:quickload "usocket"))
(print (find-package "USOCKET"))
(print (handler-case (asdf:load-system :hunchentoot) (error (e) (princ-to-string e))))"#,
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(
        out.stdout,
        "\nT \n(\"usocket\") \n#<PACKAGE \"USOCKET\"> \n\"netlisp bundles no system named \\\"hunchentoot\\\" (bundled: bordeaux-threads, asdf, usocket, port, sb-bsd-sockets).\" ",
        "{}",
        out.stderr
    );
}

/// Unix-domain stream sockets in usocket (a pathname host) and
/// sb-bsd-sockets (LOCAL-SOCKET), their files removed on close; PORT's
/// WITH-TIMEOUT and MAKE-PROCESS.
#[test]
fn unix_sockets_in_usocket_and_sb_bsd_sockets_and_port_processes() {
    let dir = std::env::temp_dir().join(format!("netlisp-ux-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = run_lisp(
        r#"(require :usocket) (require :sb-bsd-sockets) (require "port")
(destructuring-bind (dir) netlisp:*args*
  (let* ((path (concatenate 'string dir "/u.sock"))
         (l (usocket:socket-listen (pathname path) nil))
         (c (usocket:socket-connect (pathname path) nil))
         (s (usocket:socket-accept l)))
    (write-line "over unix" (usocket:socket-stream c))
    (force-output (usocket:socket-stream c))
    (print (read-line (usocket:socket-stream s)))
    (mapc #'usocket:socket-close (list s c l))
    (print (probe-file path)))
  (let* ((path (concatenate 'string dir "/b.sock"))
         (l (make-instance 'sb-bsd-sockets:local-socket :type :stream)))
    (sb-bsd-sockets:socket-bind l path)
    (sb-bsd-sockets:socket-listen l 5)
    (print (equal (sb-bsd-sockets:socket-name l) path))
    (let ((c (make-instance 'sb-bsd-sockets:local-socket :type :stream)))
      (sb-bsd-sockets:socket-connect c path)
      (let ((s (sb-bsd-sockets:socket-accept l))
            (o (sb-bsd-sockets:socket-make-stream c :input t :output t)))
        (write-line "bsd unix" o) (force-output o)
        (print (read-line (sb-bsd-sockets:socket-make-stream s :input t :output t)))
        (mapc #'sb-bsd-sockets:socket-close (list s c l))))
    (print (probe-file path))))
(print (port:with-timeout (0.2 :timed-out) (sleep 5) :finished))
(print (port:with-timeout (2 :timed-out) :quick))
(let* ((box (mp:make-mailbox))
       (p (port:make-process "adder" (lambda (a b) (mp:mailbox-send box (+ a b))) 1 2)))
  (print (list (port:processp p) (mp:mailbox-read box))))"#,
        &[dir.to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert_eq!(
        out.stdout, "\n\"over unix\" \nNIL \nT \n\"bsd unix\" \nNIL \n:TIMED-OUT \n:QUICK \n(T 3) ",
        "{}",
        out.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}
