//! Processes (issue 4) as a user meets them: the scripts in `tests/mp/`
//! run through the netlisp binary with a deadline, and their output, exit
//! status and peak memory are checked. Timings are printed for the record
//! (`cargo test -- --nocapture`); speed targets live in `benches/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished run left behind.
struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
    max_rss_mib: f64,
    elapsed: Duration,
}

fn netlisp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netlisp"))
}

fn mp_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mp")
        .join(name)
}

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netlisp-mp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Spawn `cmd` with its output going to files, and (while `feed` runs with
/// the child) wait for it for at most `limit`; a child still running then
/// is killed and the test fails. `wait4` gives the peak RSS.
fn run_bounded(mut cmd: Command, tag: &str, limit: Duration, feed: impl FnOnce(&mut Child)) -> Run {
    let out_path = temp_file(&format!("{tag}.stdout"));
    let err_path = temp_file(&format!("{tag}.stderr"));
    cmd.stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    feed(&mut child);
    drop(child.stdin.take());
    let pid = child.id() as libc::pid_t;
    let (status, usage) = loop {
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: plain wait4 on our own child with valid out-pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break (status, usage);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{tag}: still running after {limit:?}; output so far:\n{}\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default(),
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    Run {
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        max_rss_mib: usage.ru_maxrss as f64 / 1024.0,
        elapsed,
    }
}

fn run_script(name: &str, limit: Duration) -> Run {
    let mut cmd = netlisp();
    cmd.arg(mp_script(name)).stdin(Stdio::null());
    run_bounded(cmd, name, limit, |_| {})
}

fn run_text(tag: &str, text: &str, limit: Duration) -> Run {
    let path = temp_file(&format!("{tag}.lisp"));
    std::fs::write(&path, text).unwrap();
    let mut cmd = netlisp();
    cmd.arg(&path).stdin(Stdio::null());
    run_bounded(cmd, tag, limit, |_| {})
}

/// The number after `key` on a line of the run's error output.
fn measured(run: &Run, key: &str) -> f64 {
    run.stderr
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key:?} in stderr:\n{}", run.stderr))
}

#[test]
fn ten_thousand_sleepers_push_under_a_lock() {
    let run = run_script("many-sleepers.lisp", Duration::from_secs(60));
    assert_eq!(
        run.stdout, "10000 results, sum 49995000, distinct 10000\nalive after join: 0\n",
        "{}",
        run.stderr
    );
    assert_eq!(run.code, Some(0));
    eprintln!(
        "10,000 sleepers: {} ms inside, {:?} wall, peak RSS {:.0} MiB",
        measured(&run, "elapsed-ms"),
        run.elapsed,
        run.max_rss_mib
    );
    // Each process costs its touched stack pages and its objects: the
    // whole program must stay in the low hundreds of MiB.
    assert!(
        run.max_rss_mib < 400.0,
        "peak RSS {:.0} MiB",
        run.max_rss_mib
    );
}

#[test]
fn cpu_bound_process_does_not_delay_a_sleeper() {
    let run = run_script("fairness.lisp", Duration::from_secs(30));
    assert_eq!(
        run.stdout, "sleeper finished: T\nspinner kept running: T\n",
        "{}",
        run.stderr
    );
    eprint!("{}", run.stderr);
}

#[test]
fn mailboxes_carry_a_hundred_thousand_messages() {
    let run = run_script("mailbox-stream.lisp", Duration::from_secs(60));
    assert_eq!(
        run.stdout,
        "received 100000 messages, sum 5000050000, in order T\n\
         mailboxes empty: T T\n\
         ping-pong answers: 20000\n",
        "{}",
        run.stderr
    );
    eprint!("{}", run.stderr);
}

#[test]
fn process_kill_ends_blocked_processes_and_runs_cleanups() {
    let run = run_script("kill-blocked.lisp", Duration::from_secs(30));
    assert_eq!(
        run.stdout,
        "process-wait: never
wait-with-timeout: never
mailbox-read: Waiting for a message
sleep: Sleeping
join: Waiting for a process to finish
semaphore: Waiting for a semaphore
condition-variable: Waiting for a condition variable
lock: Waiting for a lock
lock joined: T
process-wait joined: T, alive NIL
wait-with-timeout joined: T, alive NIL
mailbox-read joined: T, alive NIL
sleep joined: T, alive NIL
join joined: T, alive NIL
semaphore joined: T, alive NIL
condition-variable joined: T, alive NIL
cleanups ran: condition-variable, join, lock, mailbox-read, process-wait, semaphore, sleep, wait-with-timeout
terminated joined: T
processes left: main
",
        "{}",
        run.stderr
    );
    assert_eq!(run.code, Some(0));
}

#[test]
fn an_error_in_one_process_leaves_the_others_running() {
    let run = run_script("error-isolation.lisp", Duration::from_secs(30));
    assert_eq!(
        run.stdout,
        "crasher alive: NIL, divider alive: NIL\n\
         ticker finished all its ticks: T\n\
         careful caught datum: 5\n\
         main still here\n"
    );
    assert!(
        run.stderr.contains("Error in process \"crasher\":")
            && run.stderr.contains("crasher gives up after 3 ticks"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Error in process \"divider\":")
            && run.stderr.contains("DIVISION-BY-ZERO"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code, Some(0));
}

#[test]
fn script_waits_for_the_processes_it_started() {
    let run = run_text(
        "lifetime",
        r#"(mp:process-run-function "late" '()
             (lambda () (sleep 0.2) (format t "late worker done~%")))
           (format t "main done~%")"#,
        Duration::from_secs(10),
    );
    assert_eq!(
        run.stdout, "main done\nlate worker done\n",
        "{}",
        run.stderr
    );
    assert_eq!(run.code, Some(0));
    assert!(run.elapsed >= Duration::from_millis(200));
}

#[test]
fn quit_and_exit_end_every_process_at_once() {
    let run = run_text(
        "quit-main",
        r#"(mp:process-run-function "long" '() (lambda () (sleep 100) (print :never)))
           (sleep 0.05)
           (format t "quitting~%")
           (quit 5)"#,
        Duration::from_secs(10),
    );
    assert_eq!(run.stdout, "quitting\n");
    assert_eq!(run.code, Some(5));
    assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);

    let run = run_text(
        "exit-from-process",
        r#"(mp:process-run-function "long" '() (lambda () (sleep 100)))
           (mp:process-run-function "quitter" '()
             (lambda () (sleep 0.05) (format t "bye~%") (exit :code 7)))
           (sleep 100)
           (print :never)"#,
        Duration::from_secs(10),
    );
    assert_eq!(run.stdout, "bye\n");
    assert_eq!(run.code, Some(7));
}

#[test]
fn processes_that_can_never_wake_do_not_hang_the_script() {
    let run = run_text(
        "deadlock",
        r#"(mp:process-run-function "stuck" '()
             (lambda () (mp:mailbox-read (mp:make-mailbox))))
           (format t "main done~%")"#,
        Duration::from_secs(10),
    );
    assert_eq!(run.stdout, "main done\n");
    assert!(
        run.stderr
            .contains("1 process is still waiting, and nothing can wake it"),
        "{}",
        run.stderr
    );
}

/// Start the REPL with `first` as input, wait `pause`, then (optionally
/// after a SIGINT) send `rest` and end the input.
fn repl_session(tag: &str, first: &str, pause: Duration, interrupt: bool, rest: &str) -> Run {
    let mut cmd = netlisp();
    cmd.env("NETLISP_HISTORY", temp_file("history"))
        .stdin(Stdio::piped());
    run_bounded(cmd, tag, Duration::from_secs(20), |child| {
        let pid = child.id() as libc::pid_t;
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(first.as_bytes()).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(pause);
        if interrupt {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGINT) };
            std::thread::sleep(Duration::from_millis(100));
        }
        stdin.write_all(rest.as_bytes()).unwrap();
    })
}

#[test]
fn repl_answers_while_a_background_process_ticks() {
    let run = repl_session(
        "repl-ticker",
        "(defvar *ticks* 0)\n\
         (mp:process-run-function \"ticker\" () (lambda () (loop (incf *ticks*) (sleep 0.01))))\n",
        Duration::from_millis(300),
        false,
        // The ticker ran while the REPL waited for this line.
        "(princ (if (> *ticks* 10) :ticking :stalled))\n(quit)\n",
    );
    assert!(
        run.stdout.contains("TICKING"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.code, Some(0));
}

#[test]
fn ctrl_c_interrupts_the_evaluation_not_the_background_processes() {
    let run = repl_session(
        "repl-interrupt",
        "(defvar *ticks* 0)\n\
         (mp:process-run-function \"ticker\" () (lambda () (loop (incf *ticks*) (sleep 0.01))))\n\
         (loop)\n",
        Duration::from_millis(300),
        true,
        "(defvar *before* *ticks*)\n(sleep 0.1)\n\
         (princ (if (> *ticks* *before*) :still-ticking :stopped))\n(quit)\n",
    );
    assert!(run.stderr.contains("Interrupted"), "{}", run.stderr);
    assert!(
        run.stdout.contains("STILL-TICKING"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.code, Some(0));
}

#[test]
fn repl_answers_while_a_process_spins() {
    let run = repl_session(
        "repl-spinner",
        "(defvar *spins* 0)\n\
         (mp:process-run-function \"spinner\" () (lambda () (loop (incf *spins*))))\n",
        Duration::from_millis(200),
        false,
        "(princ (+ 40 2))\n(princ (if (> *spins* 0) :spinning :idle))\n(quit)\n",
    );
    assert!(
        run.stdout.contains("42") && run.stdout.contains("SPINNING"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.code, Some(0));
}

#[test]
fn timers_bindings_interrupts_timeouts_and_bt2() {
    let run = run_script("api.lisp", Duration::from_secs(30));
    let expected = std::fs::read_to_string(mp_script("api.expected")).unwrap();
    assert_eq!(run.stdout, expected, "{}", run.stderr);
    assert_eq!(run.code, Some(0));
}

#[test]
fn reading_standard_input_parks_only_the_reader() {
    let path = temp_file("stdin-reader.lisp");
    std::fs::write(
        &path,
        r#"(defvar *ticks* 0)
           (mp:process-run-function "ticker" '() (lambda () (loop (incf *ticks*) (sleep 0.01))))
           (format t "read ~S~%" (read-line))
           (format t "ticker ran while the script waited: ~A~%" (> *ticks* 10))
           (quit)"#,
    )
    .unwrap();
    let mut cmd = netlisp();
    cmd.arg(&path).stdin(Stdio::piped());
    let run = run_bounded(cmd, "stdin-reader", Duration::from_secs(10), |child| {
        std::thread::sleep(Duration::from_millis(300));
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(b"hello\n").unwrap();
    });
    assert_eq!(
        run.stdout, "read \"hello\"\nticker ran while the script waited: T\n",
        "{}",
        run.stderr
    );
}

#[test]
fn the_processes_example_runs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/processes.lisp");
    let mut cmd = netlisp();
    cmd.arg(&path).stdin(Stdio::null());
    let run = run_bounded(cmd, "example", Duration::from_secs(20), |_| {});
    assert!(
        run.stdout
            .ends_with("\n20 results; sum of squares 2870\nstill running: main\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.starts_with("Error in process \"faulty\":\n"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code, Some(0));
}
