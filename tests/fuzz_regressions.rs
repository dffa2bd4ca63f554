//! Every input the fuzz targets ever failed on (fuzz/regressions/TARGET/)
//! replayed through the same Lisp harness (fuzz/harness.lisp) in the
//! release binary: each must finish, within the fuzzers' time limit,
//! without a panic or abort. The fuzzers themselves run in
//! .ci/fuzz-smoke (nightly).

mod common;

use common::*;
use std::time::Duration;

fn replay(target: &str) {
    let dir = project_file(&format!("fuzz/regressions/{target}"));
    // A target with no failures yet has no directory.
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut replayed = 0;
    for entry in entries {
        replayed += 1;
        let path = entry.unwrap().path();
        let mut cmd = netlisp();
        cmd.arg("-e").arg(format!(
            r#"(progn (load {harness:?})
  (setf (symbol-value (find-symbol "*INPUT*" "FUZZ"))
        (with-open-file (in {input:?} :external-format :latin-1)
          (let ((s (make-string (file-length in)))) (read-sequence s in) s)))
  (funcall (find-symbol "{name}-TARGET" "FUZZ"))
  (princ "done"))"#,
            harness = project_file("fuzz/harness.lisp").display().to_string(),
            input = path.display().to_string(),
            name = target.to_uppercase(),
        ));
        let out = run_bounded(cmd, b"", Duration::from_secs(20));
        assert_eq!(
            (out.stdout.as_str(), out.code),
            ("done", Some(0)),
            "{target} regression {}: {}",
            path.display(),
            out.stderr
        );
    }
    eprintln!("{target}: {replayed} regression inputs replayed");
}

#[test]
fn reader_regressions() {
    replay("reader");
}

#[test]
fn printer_regressions() {
    replay("printer");
}

#[test]
fn format_regressions() {
    replay("format");
}

#[test]
fn eval_regressions() {
    replay("eval");
}
