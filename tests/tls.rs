//! TLS as users meet it: netlisp's COMM SSL interface against OpenSSL
//! (s_server, s_client), curl and Python's ssl module on loopback, with a
//! throw-away PKI that tests/tls/make-pki.sh makes with openssl (a CA,
//! good, expired, wrong-name and self-signed server certificates, a
//! client certificate). Every wait is bounded.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The test PKI, made once per run.
fn pki() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        require("openssl");
        let dir = std::env::temp_dir().join(format!("netlisp-tls-pki-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut cmd = Command::new("sh");
        cmd.arg(project_file("tests/tls/make-pki.sh")).arg(&dir);
        let out = run_bounded(cmd, b"", Duration::from_secs(60));
        assert_eq!(out.code, Some(0), "make-pki.sh: {}", out.stderr);
        dir
    })
}

fn pki_file(name: &str) -> String {
    pki().join(name).to_string_lossy().into_owned()
}

/// `openssl s_server` reversing lines, on a fresh port, ready to accept.
fn s_server(extra: &[&str]) -> (Daemon, u16) {
    let port = free_port();
    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "-cert",
            &pki_file("server.pem"),
            "-key",
            &pki_file("server.key"),
        ])
        .arg("-rev")
        .args(extra);
    let mut d = Daemon::spawn(cmd, "openssl s_server");
    while d.next_line() != "ACCEPT" {}
    (d, port)
}

/// A netlisp example server given the test PKI's server certificate.
fn example_server(file: &str) -> (Daemon, u16) {
    Daemon::example_with(file, &[&pki_file("server.pem"), &pki_file("server.key")])
}

fn echo_client(port: u16, cafile: &str, words: &[&str]) -> Output {
    let mut cmd = netlisp();
    cmd.arg(project_file("examples/tls-echo-client.lisp"))
        .args(["localhost", &port.to_string(), cafile])
        .args(words);
    run_bounded(cmd, b"", Duration::from_secs(30))
}

#[test]
fn tls_script_matches_the_manual() {
    assert_script_output_with(
        "tests/net/tls.lisp",
        "tests/net/tls.expected",
        Duration::from_secs(120),
        &[("NETLISP_PKI", pki().as_os_str())],
    );
}

#[test]
fn netlisp_client_talks_to_openssl_s_server_in_both_versions() {
    for (flag, version) in [("-tls1_2", "TLS-V1-2"), ("-tls1_3", "TLS-V1-3")] {
        let (_server, port) = s_server(&[flag]);
        let out = echo_client(port, &pki_file("ca.pem"), &["hello", "world"]);
        assert_eq!(
            out.stdout,
            format!("connected with {version}\nolleh\ndlrow\n"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn netlisp_client_refuses_what_openssl_serves_untrusted() {
    // The system's roots do not hold the test CA: unknown issuer.
    let (_server, port) = s_server(&[]);
    let out = echo_client(port, "-", &["x"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stdout.starts_with(
            "TLS failed (UNKNOWN-ISSUER): Failed to complete the TLS handshake with localhost:"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn netlisp_client_presents_a_certificate_openssl_requires() {
    let (_server, port) = s_server(&["-Verify", "1", "-CAfile", &pki_file("ca.pem")]);
    let script = format!(
        r#"(require "comm")
(defun try (ctx)
  (handler-case
      (with-open-stream (s (comm:open-tcp-stream "localhost" {port} :ssl-ctx ctx :errorp t :read-timeout 10))
        (write-line "abc" s) (force-output s) (read-line s))
    (comm:ssl-condition (c) (list (type-of c) (search "client certificate" (princ-to-string c))))))
(print (try (comm:create-ssl-client-context :openssl-trusted-file "{ca}"
                                              :cert-file "{cert}" :key-file "{key}")))"#,
        ca = pki_file("ca.pem"),
        cert = pki_file("client.pem"),
        key = pki_file("client.key"),
    );
    let out = run_lisp(&script, &[], Duration::from_secs(30));
    assert_eq!(out.stdout, "\n\"cba\" ", "{}", out.stderr);
    // Without one, OpenSSL ends the handshake with an alert.
    let (_server, port) = s_server(&["-Verify", "1", "-CAfile", &pki_file("ca.pem")]);
    let script = format!(
        r#"(require "comm")
(print (handler-case
      (with-open-stream (s (comm:open-tcp-stream "localhost" {port} :errorp t :read-timeout 10
                              :ssl-ctx (comm:create-ssl-client-context :openssl-trusted-file "{ca}")))
        (write-line "abc" s) (force-output s) (read-line s))
    (comm:ssl-condition (c) (type-of c))))"#,
        ca = pki_file("ca.pem"),
    );
    let out = run_lisp(&script, &[], Duration::from_secs(30));
    assert_eq!(out.stdout, "\nCOMM:SSL-FAILURE ", "{}", out.stderr);
}

#[test]
fn curl_fetches_from_the_https_example_in_both_versions() {
    require("curl");
    let (_server, port) = example_server("https-server.lisp");
    for (args, version) in [
        (vec!["--tlsv1.2", "--tls-max", "1.2"], "TLS-V1-2"),
        (vec!["--tlsv1.3"], "TLS-V1-3"),
    ] {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "10", "--cacert", &pki_file("ca.pem")])
            .args(&args)
            .arg(format!("https://localhost:{port}/hi"));
        let out = run_bounded(cmd, b"", Duration::from_secs(20));
        assert_eq!(
            out.stdout,
            format!("Hello from netlisp over {version}: /hi\n"),
            "{}",
            out.stderr
        );
    }
    // curl checks the name too: the certificate names 127.0.0.1 and ::1.
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10", "--cacert", &pki_file("ca.pem")])
        .arg(format!("https://127.0.0.1:{port}/ip"));
    let out = run_bounded(cmd, b"", Duration::from_secs(20));
    assert_eq!(
        out.stdout, "Hello from netlisp over TLS-V1-3: /ip\n",
        "{}",
        out.stderr
    );
    // Without the CA, curl refuses the certificate (exit 60).
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10"])
        .arg(format!("https://localhost:{port}/x"));
    assert_eq!(
        run_bounded(cmd, b"", Duration::from_secs(20)).code,
        Some(60)
    );
    // Many requests on fresh connections.
    let urls: Vec<String> = (0..50)
        .map(|i| format!("https://localhost:{port}/n{i}"))
        .collect();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "60", "--cacert", &pki_file("ca.pem")])
        .args(&urls);
    let out = run_bounded(cmd, b"", Duration::from_secs(90));
    let expected: String = (0..50)
        .map(|i| format!("Hello from netlisp over TLS-V1-3: /n{i}\n"))
        .collect();
    assert_eq!(out.stdout, expected, "{}", out.stderr);
}

#[test]
fn openssl_s_client_and_python_talk_to_the_echo_example() {
    require("python3");
    let (_server, port) = example_server("tls-echo-server.lisp");
    for flag in ["-tls1_2", "-tls1_3"] {
        let mut cmd = Command::new("openssl");
        cmd.args(["s_client", "-connect", &format!("localhost:{port}"), flag])
            .args(["-CAfile", &pki_file("ca.pem"), "-verify_return_error"])
            .args(["-servername", "localhost", "-quiet"]);
        let mut client = Daemon::spawn(cmd, "openssl s_client");
        let stdin = client.child.stdin.as_mut().unwrap();
        stdin.write_all(b"hello\n").unwrap();
        stdin.flush().unwrap();
        assert_eq!(client.next_line(), "You sent: 'hello'", "{flag}");
    }
    let py = format!(
        r#"
import socket, ssl
ctx = ssl.create_default_context(cafile="{ca}")
for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
    ctx.maximum_version = version
    with socket.create_connection(("localhost", {port}), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"one\r\ntwo\n")
            f = s.makefile("rb")
            print(s.version(), f.readline().decode().strip(), f.readline().decode().strip())
"#,
        ca = pki_file("ca.pem")
    );
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(py);
    let out = run_bounded(cmd, b"", Duration::from_secs(30));
    assert_eq!(
        out.stdout,
        "TLSv1.2 You sent: 'one' You sent: 'two'\nTLSv1.3 You sent: 'one' You sent: 'two'\n",
        "{}",
        out.stderr
    );
}

#[test]
fn hostile_clients_leave_the_tls_server_answering() {
    let (mut server, port) = example_server("tls-echo-server.lisp");
    let connect = || {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    };
    // Plain text instead of a ClientHello: the server answers with an
    // alert record (content type 21) and closes.
    let mut plain = connect();
    plain.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut reply = Vec::new();
    let _ = plain.read_to_end(&mut reply);
    assert_eq!(reply.first(), Some(&21), "{reply:?}");
    // A silent client, one that leaves mid-handshake, and random bytes.
    let _silent = connect();
    let mut half = connect();
    half.write_all(&[22, 3, 1, 0, 200, 1, 0]).unwrap();
    drop(half);
    let mut noise = connect();
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let _ = noise.write_all(&bytes);
    drop(noise);
    // The silent client still holds its connection: others are served.
    let out = echo_client(port, &pki_file("ca.pem"), &["still", "there"]);
    assert_eq!(
        out.stdout, "connected with TLS-V1-3\nYou sent: 'still'\nYou sent: 'there'\n",
        "{}",
        out.stderr
    );
    assert!(server.alive());
}

#[test]
fn async_accepting_handle_serves_tls_to_python_and_netlisp() {
    require("python3");
    let (_server, port) = example_server("async-echo-server.lisp");
    let out = echo_client(port, &pki_file("ca.pem"), &["async", "tls"]);
    assert_eq!(
        out.stdout, "connected with TLS-V1-3\nasync\ntls\n",
        "{}",
        out.stderr
    );
    // 20 connections at once, 200 kB each way, in both versions: one
    // collection process drives every handshake and transfer.
    let py = format!(
        r#"
import socket, ssl
ctx = ssl.create_default_context(cafile="{ca}")
for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
    ctx.maximum_version = version
    socks = [ctx.wrap_socket(socket.create_connection(("localhost", {port}), timeout=20),
                             server_hostname="localhost") for _ in range(20)]
    big = b"x" * 200000 + b"\n"
    for s in socks:
        s.sendall(big)
    ok = sum(s.makefile("rb").readline() == big for s in socks)
    print(socks[0].version(), ok)
    for s in socks:
        s.close()
"#,
        ca = pki_file("ca.pem")
    );
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(py);
    let out = run_bounded(cmd, b"", Duration::from_secs(60));
    assert_eq!(out.stdout, "TLSv1.2 20\nTLSv1.3 20\n", "{}", out.stderr);
    // An untrusting client fails; the server goes on.
    let out = echo_client(port, "-", &["x"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let out = echo_client(port, &pki_file("ca.pem"), &["again"]);
    assert_eq!(
        out.stdout, "connected with TLS-V1-3\nagain\n",
        "{}",
        out.stderr
    );
}

/// A connecting async state with :SSL-CTX against `openssl s_server`:
/// what its connect callback saw and the reply to "hello".
fn async_tls_client(port: u16, cafile: &str) -> Output {
    let script = format!(
        r#"(require "comm")
(defvar *coll* (comm:create-and-run-wait-state-collection "tls client"))
(defvar *done* (mp:make-mailbox))
(comm:create-async-io-state-and-connected-tcp-socket
 *coll* "localhost" {port}
 (lambda (state failure)
   (if failure
       (mp:mailbox-send *done* (list :failed (type-of (comm:async-io-state-write-status state))
                                     (comm:ssl-condition-reason (comm:async-io-state-write-status state))))
       (progn
         (comm:async-io-state-write-buffer state (map '(vector (unsigned-byte 8)) #'char-code (format nil "hello~%"))
                                           (lambda (s b n) (declare (ignore s b n))))
         (comm:async-io-state-read-with-checking
          state
          (lambda (state buffer end)
            (let ((nl (position 10 buffer :end end)))
              (when nl
                (mp:mailbox-send *done* (map 'string #'code-char (subseq buffer 0 nl)))
                (comm:close-async-io-state state))))
          :element-type '(unsigned-byte 8)))))
 :ssl-ctx (comm:create-ssl-client-context :openssl-trusted-file "{cafile}")
 :handshake-timeout 10)
(print (mp:mailbox-read *done* "reply" 20))
(quit)"#
    );
    run_lisp(&script, &[], Duration::from_secs(30))
}

#[test]
fn async_connected_state_speaks_tls_to_openssl() {
    for flag in ["-tls1_2", "-tls1_3"] {
        let (_server, port) = s_server(&[flag]);
        let out = async_tls_client(port, &pki_file("ca.pem"));
        assert_eq!(out.stdout, "\n\"olleh\" ", "{flag}: {}", out.stderr);
    }
    // Trusting the wrong CA: the callback gets the failure and its reason.
    let (_server, port) = s_server(&[]);
    let out = async_tls_client(port, &pki_file("selfsigned.pem"));
    assert_eq!(
        out.stdout, "\n(:FAILED COMM:SSL-VERIFICATION-FAILURE :UNKNOWN-ISSUER) ",
        "{}",
        out.stderr
    );
}
