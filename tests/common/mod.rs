//! Helpers shared by the network test crates: running the netlisp
//! binary within a time limit, long-running children killed on drop, and
//! checks that a peer program is installed.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const LINE_WAIT: Duration = Duration::from_secs(20);

pub fn netlisp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netlisp"))
}

pub fn project_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Whether `program` can be run here; a test that needs a missing peer
/// fails with the name of the package `.ci/run` installs it from.
pub fn require(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is not installed: run .ci/run, which installs the test peers"
    );
}

/// What a finished, bounded run printed.
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

/// Run `cmd` to completion within `limit`, feeding `input` on stdin.
pub fn run_bounded(mut cmd: Command, input: &[u8], limit: Duration) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} still running after {limit:?}; stdout:\n{}\nstderr:\n{}",
                out.join().unwrap(),
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = feeder.join();
    Output {
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        code: status.code(),
    }
}

pub fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Run `text` as a script (its `NETLISP:*ARGS*` are `args`).
pub fn run_lisp(text: &str, args: &[&str], limit: Duration) -> Output {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SCRIPTS: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("netlisp-net-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("s{}.lisp", SCRIPTS.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, text).unwrap();
    let mut cmd = netlisp();
    cmd.arg(&path).args(args);
    run_bounded(cmd, b"", limit)
}

/// A long-running child (a netlisp server or a peer), killed on drop.
pub struct Daemon {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub name: String,
}

impl Daemon {
    pub fn spawn(mut cmd: Command, name: &str) -> Daemon {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon {
            child,
            lines,
            name: name.to_string(),
        }
    }

    /// A netlisp example started on port 0; returns it and the port it
    /// announced ("... listening on port N").
    pub fn example(file: &str) -> (Daemon, u16) {
        Daemon::example_with(file, &[])
    }

    /// [`Daemon::example`] with more arguments after the port.
    pub fn example_with(file: &str, args: &[&str]) -> (Daemon, u16) {
        let mut cmd = netlisp();
        cmd.arg(project_file(&format!("examples/{file}")))
            .arg("0")
            .args(args);
        let mut d = Daemon::spawn(cmd, file);
        let line = d.next_line();
        let port = line
            .rsplit(' ')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{file}: no port in {line:?}"));
        (d, port)
    }

    pub fn next_line(&mut self) -> String {
        match self.lines.recv_timeout(LINE_WAIT) {
            Ok(line) => line,
            Err(_) => {
                let status = self.child.try_wait().unwrap();
                panic!(
                    "{}: no output line in {LINE_WAIT:?} (status {status:?})",
                    self.name
                )
            }
        }
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now (bound and released at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Compare a script's output with its `.expected` file, showing the
/// first line that differs.
pub fn assert_script_output(script: &str, expected: &str, limit: Duration) {
    assert_script_output_with(script, expected, limit, &[]);
}

/// [`assert_script_output`] with environment variables set for the script.
pub fn assert_script_output_with(
    script: &str,
    expected: &str,
    limit: Duration,
    env: &[(&str, &std::ffi::OsStr)],
) {
    let mut cmd = netlisp();
    cmd.arg(project_file(script));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run_bounded(cmd, b"", limit);
    let want = std::fs::read_to_string(project_file(expected)).unwrap();
    if out.stdout != want {
        let first = want
            .lines()
            .zip(out.stdout.lines())
            .find(|(e, a)| e != a)
            .map(|(e, a)| format!("expected: {e}\n  actual: {a}"))
            .unwrap_or_else(|| "(one output is a prefix of the other)".into());
        panic!(
            "{script} differs from {expected}\n{first}\nstdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
    }
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}
