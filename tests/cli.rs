//! The command line and the REPL as a user meets them: exit codes, error
//! reports with file:line:column, script arguments, and a REPL session that
//! survives errors. (Output that must match SBCL is checked by the Lisp
//! suite; these messages are netlisp's own.)

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn netlisp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netlisp"))
}

fn script(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netlisp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run_script(name: &str, text: &str, args: &[&str]) -> Output {
    let path = script(name, text);
    netlisp().arg(&path).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repl(input: &str) -> Output {
    let mut child = netlisp()
        .env(
            "NETLISP_HISTORY",
            std::env::temp_dir().join("netlisp-cli-history"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn eval_option_prints_and_exits_zero() {
    let o = netlisp().args(["-e", "(print (+ 1 2))"]).output().unwrap();
    assert_eq!(stdout(&o), "\n3 ");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn several_eval_options_run_in_order() {
    let o = netlisp()
        .args(["-e", "(defvar *x* 20)", "--eval", "(princ (+ *x* 1))"])
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "21");
}

#[test]
fn help_and_version() {
    let o = netlisp().arg("--help").output().unwrap();
    assert!(stdout(&o).contains("netlisp FILE"), "{}", stdout(&o));
    assert_eq!(o.status.code(), Some(0));
    let o = netlisp().arg("--version").output().unwrap();
    assert!(stdout(&o).starts_with("netlisp "), "{}", stdout(&o));
}

#[test]
fn script_sees_its_arguments_and_name() {
    let o = run_script(
        "args.lisp",
        "(format t \"~s ~a\" netlisp:*args* (pathname-name netlisp:*script*))",
        &["one", "two"],
    );
    assert_eq!(stdout(&o), "(\"one\" \"two\") args");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn shebang_line_is_ignored() {
    let o = run_script(
        "shebang.lisp",
        "#!/usr/bin/env netlisp\n(princ \"ran\")\n",
        &[],
    );
    assert_eq!(stdout(&o), "ran");
}

#[test]
fn exit_and_quit_set_the_status() {
    let o = run_script("exit.lisp", "(princ 1) (exit :code 3) (princ 2)", &[]);
    assert_eq!(stdout(&o), "1");
    assert_eq!(o.status.code(), Some(3));
    let o = run_script("quit.lisp", "(quit 4)", &[]);
    assert_eq!(o.status.code(), Some(4));
}

#[test]
fn unbound_variable_reports_file_line_and_column() {
    let o = run_script(
        "unbound.lisp",
        "(print 1)\n\n  (print no-such-variable)\n",
        &[],
    );
    let err = stderr(&o);
    assert!(err.contains("unbound.lisp:3:3"), "{err}");
    assert!(
        err.contains("The variable NO-SUCH-VARIABLE is unbound."),
        "{err}"
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "\n1 ");
}

#[test]
fn syntax_errors_report_where_the_form_starts() {
    let o = run_script("unbalanced.lisp", "(print 1)\n(print (+ 1 2)\n", &[]);
    let err = stderr(&o);
    assert!(err.contains("unbalanced.lisp:2:1"), "{err}");
    assert_eq!(o.status.code(), Some(1));
    let o = run_script("string.lisp", "(print \"never closed)\n", &[]);
    let err = stderr(&o);
    assert!(err.contains("string.lisp:1:8"), "{err}");
    assert!(err.contains("unterminated string"), "{err}");
    let o = run_script("extra.lisp", "(print 1))\n", &[]);
    assert!(stderr(&o).contains("extra.lisp:1:10"), "{}", stderr(&o));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn runaway_recursion_is_a_condition_not_a_crash() {
    let o = run_script(
        "deep.lisp",
        "(defun down (n) (+ 1 (down n)))\n(down 0)\n",
        &[],
    );
    let err = stderr(&o);
    assert!(err.contains("Control stack exhausted"), "{err}");
    assert!(err.contains("deep.lisp:2:1"), "{err}");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn stack_exhaustion_can_be_handled() {
    let o = run_script(
        "deep-handled.lisp",
        "(defun down (n) (+ 1 (down n)))\n(princ (handler-case (down 0) (storage-condition () :caught)))\n(princ (+ 1 1))",
        &[],
    );
    assert_eq!(stdout(&o), "CAUGHT2");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn errors_in_functions_show_a_backtrace_with_locations() {
    let o = run_script(
        "bt.lisp",
        "(defun inner (x)\n  (car x))\n(defun outer () (inner 5))\n(outer)\n",
        &[],
    );
    let err = stderr(&o);
    assert!(err.contains("bt.lisp:4:1"), "{err}");
    assert!(err.contains("INNER"), "{err}");
    assert!(err.contains("OUTER"), "{err}");
}

#[test]
fn missing_script_is_an_error() {
    let o = netlisp()
        .arg("/nonexistent/netlisp-test.lisp")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/netlisp-test.lisp"));
}

#[test]
fn repl_survives_errors_and_keeps_history_variables() {
    let o = repl("(+ 1 2)\n(car 1)\n(list 1\n 2)\n(+ 3 4)\n(list * ** ***)\nno-such-var\n(princ \"alive\")\n");
    let out = stdout(&o);
    let err = stderr(&o);
    assert!(out.contains("3\n"), "{out}");
    assert!(out.contains("(1 2)\n"), "{out}");
    assert!(out.contains("(7 (1 2) 3)\n"), "{out}");
    assert!(out.contains("alive"), "{out}");
    assert!(
        err.contains("The value\n    1\n  is not of type\n    LIST")
            || err.contains("is not of type"),
        "{err}"
    );
    assert!(err.contains("NO-SUCH-VAR"), "{err}");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn repl_survives_syntax_errors_and_runaway_recursion() {
    let o = repl("(print 1))\n(defun f () (f))\n(f)\n(princ :still-here)\n");
    let out = stdout(&o);
    assert!(
        out.contains("STILL-HERE"),
        "out: {out}\nerr: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("Control stack exhausted"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn reference_document_is_current() {
    let o = netlisp().arg("--reference").output().unwrap();
    let generated = stdout(&o);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reference.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        generated == committed,
        "docs/reference.md is out of date: run `cargo run --release -- --reference > docs/reference.md`"
    );
}

#[test]
fn sizes_from_input_are_checked_before_allocating() {
    // Lengths and widths written in the text are errors past netlisp's
    // limits instead of multi-terabyte allocations (SBCL would exhaust
    // its heap instead, so this is netlisp's own behaviour).
    let text = r##"
(dolist (src '("#99999999999(1)" "#9999999999999*1" "#100000000A()" "#3(1 2 3 4)"))
  (handler-case (print (read-from-string src))
    (reader-error (c) (format t "~&~A: ~A~%" src c))))
(dolist (ctl '("~1000000000000D" "~v,2F"))
  (handler-case (format nil ctl 10000000000 1.5)
    (error (c) (format t "~&~A: ~A~%" ctl c))))
(print (read-from-string "#3(1)"))
"##;
    let out = run_script("limits", text, &[]);
    assert_eq!(
        stdout(&out),
        "#99999999999(1): vector length 99999999999 is larger than the reader fills out (16777216) (at <unknown>:1:1)\n\
         #9999999999999*1: vector length 9999999999999 is larger than the reader fills out (16777216) (at <unknown>:1:1)\n\
         #100000000A(): array rank 100000000 is not below 65529 (at <unknown>:1:1)\n\
         #3(1 2 3 4): vector longer than specified length (at <unknown>:1:1)\n\
         ~1000000000000D: error in FORMAT: the parameter 1000000000000 is too large (at most 10000000)\n\
         ~v,2F: error in FORMAT: the parameter 10000000000 is too large (at most 10000000)\n\
         \n#(1 1 1) ",
        "{}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn circular_lists_and_non_generic_functions_are_errors_not_hangs() {
    // Where SBCL hangs (NCONC onto a circular list is undefined) or
    // signals its own class, netlisp signals a TYPE-ERROR and goes on.
    let text = r##"
(let ((x (list 1 2)))
  (setf (cddr x) x)
  (handler-case (nconc x (list 3))
    (type-error (c) (format t "~&nconc: ~S~%" (type-error-expected-type c)))))
(dolist (f (list (lambda () (find-method #'car '() (list (find-class 't))))
                 (lambda () (remove-method #'car 42))))
  (handler-case (funcall f)
    (type-error (c) (format t "~&~S~%" (type-error-expected-type c)))))
(let ((x (list 1 2))) (print (eq (nconc x x) (cddr x))))
"##;
    let out = run_script("circular", text, &[]);
    assert_eq!(
        stdout(&out),
        "nconc: LIST\nGENERIC-FUNCTION\nGENERIC-FUNCTION\n\nT ",
        "{}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn impossible_allocations_signal_storage_conditions() {
    // Sizes no machine can hold are a STORAGE-CONDITION (SBCL's class for
    // an exhausted heap), handled like any condition, not an abort.
    let text = r##"
(dolist (f (list (lambda () (make-array most-positive-fixnum))
                 (lambda () (make-array '(100000 100000 100000) :element-type 'character))
                 (lambda () (make-string 10000000000000))
                 (lambda () (make-list 10000000000000))
                 (lambda () (make-sequence 'vector 10000000000000))
                 (lambda () (adjust-array (make-array 1 :adjustable t) 10000000000000))))
  (handler-case (funcall f)
    (storage-condition (c) (format t "~&~A~%" (subseq (princ-to-string c) 0 25)))))
(print (length (make-array 1000 :initial-element 0)))
"##;
    let out = run_script("alloc", text, &[]);
    assert_eq!(
        stdout(&out),
        "cannot allocate an array \ncannot allocate an array \ncannot allocate a string \ncannot allocate a list of\ncannot allocate a sequenc\ncannot allocate an array \n\n1000 ",
        "{}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_displaced_array_whose_target_shrank_is_an_error_not_a_crash() {
    // The standard leaves this undefined; SBCL signals a TYPE-ERROR from
    // AREF. netlisp names the cause, and functions that read the whole
    // array see the elements still there and the default for the rest.
    let o = run_script(
        "shrunk.lisp",
        "(defvar *b* (make-array 10 :adjustable t :initial-element 1))\n\
         (defvar *a* (make-array 5 :displaced-to *b* :displaced-index-offset 2))\n\
         (adjust-array *b* 4)\n\
         (princ (handler-case (aref *a* 0) (error (e) (format nil \"[~a]\" e))))\n\
         (terpri)\n\
         (princ (handler-case (setf (aref *a* 1) 9) (error () :refused)))\n\
         (terpri)\n\
         (prin1 (list (length *a*) (coerce *a* 'list) (reduce #'+ *a*)))\n",
        &[],
    );
    assert_eq!(
        stdout(&o),
        "[the displaced array of 5 elements no longer fits in the array it is displaced to (that was adjusted to fewer elements)]\n\
         REFUSED\n(5 (1 1 0 0 0) 2)"
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn printing_deeply_nested_data_is_a_storage_condition_not_a_crash() {
    // A million nested lists or vectors overflowed the printer's Rust
    // stack and aborted the process (PRINT of data a peer sent could kill
    // a server). Now each printing path stops at the stack limit with the
    // condition runaway recursion gets. (The pretty printer manages 100,000
    // levels, slowly: its buffer work grows with the square of the depth.)
    let o = run_script(
        "deep-print.lisp",
        "(setq *print-pretty* nil)\n\
         (defvar *l* nil)\n\
         (dotimes (i 1000000) (setq *l* (list *l*)))\n\
         (defvar *v* nil)\n\
         (dotimes (i 1000000) (setq *v* (vector *v*)))\n\
         (defvar *p* nil)\n\
         (dotimes (i 100000) (setq *p* (list *p*)))\n\
         (defmacro try (form) `(handler-case (progn ,form :printed) (storage-condition () :too-deep)))\n\
         (print (list (try (prin1-to-string *l*))\n\
                      (try (let ((*print-pretty* t)) (prin1-to-string *p*)))\n\
                      (try (format nil \"~a\" *l*))\n\
                      (try (format nil \"~s\" *v*))\n\
                      (try (with-output-to-string (s) (print *v* s)))\n\
                      (try (write-to-string *l* :circle t))\n\
                      (try (prin1-to-string (list 1 2)))))\n\
         (print (length (prin1-to-string (let ((x nil)) (dotimes (i 1000 x) (setq x (list x)))))))\n",
        &[],
    );
    assert_eq!(
        stdout(&o),
        "\n(:TOO-DEEP :PRINTED :TOO-DEEP :TOO-DEEP :TOO-DEEP :TOO-DEEP :PRINTED) \n2003 "
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
