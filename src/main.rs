//! The `netlisp` command: run a script, evaluate forms, or start the REPL.

use netlisp::{repl, Interpreter, Value};
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: netlisp [OPTIONS] [FILE [ARGS...]]

  netlisp FILE [ARGS...]   run a Lisp script (like sbcl --script); ARGS are in
                           NETLISP:*ARGS* (a list of strings)
  netlisp -e FORM ...      evaluate FORM (repeatable), then exit
  netlisp                  start the interactive REPL

options:
  -e, --eval FORM          evaluate FORM
  -h, --help               show this help
  -V, --version            show the version
      --reference          print the builtin reference (Markdown)
";

/// Stack for the thread that runs Lisp code: deep recursion is caught by
/// the interpreter's own checks well before this is used up.
const MAIN_STACK: usize = 256 << 20;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let worker = std::thread::Builder::new()
        .name("netlisp".into())
        .stack_size(MAIN_STACK)
        .spawn(move || {
            netlisp::set_thread_stack_size(MAIN_STACK);
            run(args)
        })
        .expect("spawn interpreter thread");
    match worker.join() {
        Ok(code) => ExitCode::from(code as u8),
        Err(_) => {
            eprintln!("netlisp: internal error (this is a bug)");
            ExitCode::from(70)
        }
    }
}

fn run(args: Vec<String>) -> i32 {
    let mut evals: Vec<String> = Vec::new();
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "-h" | "--help" => return emit(USAGE),
            "-V" | "--version" => return emit(&format!("netlisp {}\n", env!("CARGO_PKG_VERSION"))),
            "--reference" => {
                let _lisp = Interpreter::new();
                return emit(&repl::reference_markdown());
            }
            "-e" | "--eval" => {
                let Some(f) = args.get(i + 1) else {
                    eprintln!("netlisp: {} needs a form\n{}", args[i], USAGE);
                    return 2;
                };
                evals.push(f.clone());
                i += 2;
            }
            "--" => {
                i += 1;
                break;
            }
            s if s.starts_with('-') && s.len() > 1 => {
                eprintln!("netlisp: unknown option {}\n{}", s, USAGE);
                return 2;
            }
            _ => break,
        }
    }
    let mut lisp = Interpreter::new();
    if !evals.is_empty() {
        let rest: Vec<Value> = args[i..]
            .iter()
            .map(|a| netlisp::array::Array::string(a))
            .collect();
        lisp.set_var("NETLISP:*ARGS*", netlisp::value::list_from(rest));
        let code = repl::run_forms(&mut lisp, &evals);
        if code != 0 || i >= args.len() {
            return code;
        }
    }
    if i < args.len() {
        let script = args[i].clone();
        let rest: Vec<Value> = args[i + 1..]
            .iter()
            .map(|a| netlisp::array::Array::string(a))
            .collect();
        lisp.set_var("NETLISP:*ARGS*", netlisp::value::list_from(rest));
        lisp.set_var("NETLISP:*SCRIPT*", netlisp::array::Array::string(&script));
        return repl::run_script(&mut lisp, &script);
    }
    repl::run_repl(&mut lisp)
}

/// Write to stdout; a closed pipe (`netlisp --reference | head`) is not an error.
fn emit(text: &str) -> i32 {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    0
}
