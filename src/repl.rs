//! The front ends: script runner, `-e` evaluator, and the interactive REPL
//! with history, multi-line input, completion and a restart-offering
//! debugger. Also the generator of `docs/reference.md`.

use crate::conditions;
use crate::ctx::{Ctx, Exit, R};
use crate::reader::{ReadError, Reader, Span};
use crate::value::Value;
use crate::world::w;
use crate::Interpreter;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Editor, Helper};
use std::cell::RefCell;
use std::rc::Rc;

fn exit_code(ctx: &mut Ctx, r: R<Value>) -> i32 {
    crate::stream::flush_standard(ctx);
    match r {
        Ok(_) => 0,
        Err(e) if e == Exit::QUIT => ctx.quit_code,
        Err(_) => 1,
    }
}

/// Run `netlisp -e` forms.
pub fn run_forms(lisp: &mut Interpreter, forms: &[String]) -> i32 {
    let ctx = lisp.ctx();
    let mut r = Ok(Value::Nil);
    for f in forms {
        r = crate::load::load_source(ctx, f, "<command line>", false);
        if r.is_err() {
            break;
        }
    }
    let r = r.and_then(|v| crate::mp::finish_main(ctx).map(|_| v));
    exit_code(ctx, r)
}

/// Run a script file like `sbcl --script`.
pub fn run_script(lisp: &mut Interpreter, path: &str) -> i32 {
    let ctx = lisp.ctx();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("netlisp: can't read {}: {}", path, e);
            return 1;
        }
    };
    let r = crate::load::load_file_text(ctx, &text, path, false)
        .and_then(|v| crate::mp::finish_main(ctx).map(|_| v));
    exit_code(ctx, r)
}

// ---------------------------------------------------------------------
// The REPL

struct LispHelper {
    names: Rc<RefCell<Vec<String>>>,
}

fn input_complete(text: &str) -> bool {
    let mut ctx = Ctx::new();
    let mut rd = Reader::new(&mut ctx, 0, false);
    let mut span = Span::new(text);
    // Reading interns symbols; suppress nothing else. Syntax errors count
    // as complete so they are reported.
    loop {
        match rd.read(span) {
            Ok((_, None)) => return true,
            Ok((rest, Some(_))) => span = rest,
            Err(ReadError::Incomplete(..)) => return false,
            Err(_) => return true,
        }
    }
}

impl Validator for LispHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        if input_complete(ctx.input()) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Completer for LispHelper {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = line[..pos]
            .rfind(|c: char| c.is_whitespace() || "()'`,\"".contains(c))
            .map(|i| i + 1)
            .unwrap_or(0);
        let word = line[start..pos].to_uppercase();
        if word.is_empty() {
            return Ok((pos, vec![]));
        }
        let lower = line[start..pos].chars().any(|c| c.is_lowercase());
        let names = self.names.borrow();
        let mut out: Vec<Pair> = names
            .iter()
            .filter(|n| n.starts_with(&word))
            .take(200)
            .map(|n| {
                let shown = if lower { n.to_lowercase() } else { n.clone() };
                Pair {
                    display: shown.clone(),
                    replacement: shown,
                }
            })
            .collect();
        out.sort_by(|a, b| a.display.cmp(&b.display));
        Ok((start, out))
    }
}

impl Hinter for LispHelper {
    type Hint = String;
}

impl Highlighter for LispHelper {}

impl Helper for LispHelper {}

/// Names for completion: symbols accessible in CL-USER and external
/// symbols of every package (qualified).
fn completion_names() -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    let user = &w().cl_user;
    for (s, _) in user.present_symbols() {
        v.push(s.name().to_string());
    }
    for u in user.uses() {
        for s in u.external_symbols() {
            v.push(s.name().to_string());
        }
    }
    for p in w().all_packages() {
        let pn = p.name();
        if &*pn == "KEYWORD" {
            continue;
        }
        for s in p.external_symbols() {
            v.push(format!("{}:{}", pn, s.name()));
        }
    }
    v.sort();
    v.dedup();
    v
}

fn history_path() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("NETLISP_HISTORY") {
        return Some(p.into());
    }
    std::env::var("HOME")
        .ok()
        .map(|h| std::path::Path::new(&h).join(".netlisp_history"))
}

type Ed = Rc<RefCell<Editor<LispHelper, DefaultHistory>>>;

fn package_prompt() -> String {
    let p = crate::reader::current_package();
    let name = p
        .nicknames()
        .into_iter()
        .min_by_key(|n| n.len())
        .unwrap_or_else(|| p.name());
    let name = if p.name().as_ref() == "COMMON-LISP-USER" {
        "CL-USER".into()
    } else {
        name.to_string()
    };
    format!("{}> ", name)
}

fn print_values(ctx: &mut Ctx, vals: &[Value]) -> R<()> {
    let out = crate::stream::stdout(ctx)?;
    crate::stream::fresh_line(ctx, &out)?;
    for v in vals {
        let text = crate::printer::to_string_ctx(ctx, v, crate::printer::Opts::prin1());
        crate::stream::write_str(ctx, &out, &text)?;
        crate::stream::write_str(ctx, &out, "\n")?;
    }
    crate::stream::force_output(ctx, &out)
}

fn rotate_history(form: &Value, vals: &[Value]) {
    let s = &w().s;
    let shift = |a: &crate::gc::Gc<crate::symbol::Symbol>,
                 b: &crate::gc::Gc<crate::symbol::Symbol>| a.set_value(b.value());
    shift(&s.star3, &s.star2);
    shift(&s.star2, &s.star);
    s.star
        .set_value(vals.first().cloned().unwrap_or(Value::Nil));
    shift(&s.plus3, &s.plus2);
    shift(&s.plus2, &s.plus);
    s.plus.set_value(form.clone());
    shift(&s.slash3, &s.slash2);
    shift(&s.slash2, &s.slash);
    s.slash.set_value(crate::value::list_from(vals.to_vec()));
}

/// Read and evaluate every form in `text`, printing the values.
fn eval_and_print(ctx: &mut Ctx, text: &str) -> R<()> {
    let file = w().file_id("<repl>");
    let mut span = Span::new(text);
    loop {
        let (rest, form, map) = {
            let mut rd = Reader::new(ctx, file, true);
            match rd.read(span) {
                Ok((rest, v)) => (rest, v, rd.srcmap.take().map(Rc::new)),
                Err(e) => return Err(crate::reader::error_to_exit(ctx, e, Value::Nil)),
            }
        };
        span = rest;
        let Some(form) = form else { return Ok(()) };
        if matches!(form, Value::Unbound) {
            continue;
        }
        w().s.minus.set_value(form.clone());
        let v = crate::load::eval_toplevel(ctx, &form, &map)?;
        let vals = ctx.take_values(v);
        rotate_history(&form, &vals);
        print_values(ctx, &vals)?;
    }
}

fn read_input(ed: &Ed, prompt: &str) -> Option<String> {
    loop {
        let r = ed.borrow_mut().readline(prompt);
        match r {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = ed.borrow_mut().add_history_entry(line.as_str());
                }
                return Some(line);
            }
            Err(ReadlineError::Interrupted) => {
                println!("^C");
                continue;
            }
            Err(_) => return None,
        }
    }
}

/// The REPL's debugger: report, list restarts, and read commands until a
/// restart is chosen.
fn debugger(ed: Ed) -> crate::ctx::Debugger {
    Rc::new(move |ctx: &mut Ctx, cond: &Value| {
        crate::stream::flush_standard(ctx);
        let ty = match cond {
            Value::Instance(i) => i.class().name_string(),
            _ => "CONDITION".into(),
        };
        let report = conditions::report_string(ctx, cond).unwrap_or_default();
        let loc = conditions::error_location(ctx)
            .map(|l| format!(" at {}", l))
            .unwrap_or_default();
        ctx.debug_level += 1;
        let level = ctx.debug_level;
        eprintln!(
            "\ndebugger invoked on a {}{}:\n  {}",
            ty,
            loc,
            report.replace('\n', "\n  ")
        );
        let restarts: Vec<_> = ctx.restarts.iter().rev().cloned().collect();
        eprintln!("\nrestarts (choose by number, or type a form to evaluate):");
        for (i, r) in restarts.iter().enumerate() {
            let name = crate::printer::prin1_string(&r.name);
            let rep = conditions::restart_report(ctx, r);
            eprintln!("  {}: [{}] {}", i, name, rep);
        }
        let result = loop {
            let prompt = format!("{}] ", level);
            let Some(line) = read_input(&ed, &prompt) else {
                // End of input: leave this level through ABORT.
                break restarts
                    .iter()
                    .find(|r| crate::printer::princ_string(&r.name) == "ABORT")
                    .map(|r| conditions::invoke(ctx, r, vec![]));
            };
            let t = line.trim();
            if t.is_empty() {
                continue;
            }
            let choice = t.parse::<usize>().ok().or_else(|| {
                let up = t.trim_start_matches(':').to_uppercase();
                restarts.iter().position(|r| {
                    crate::printer::princ_string(&r.name).starts_with(&up)
                        && !up.is_empty()
                        && t.starts_with(':')
                })
            });
            if let Some(n) = choice {
                if let Some(r) = restarts.get(n) {
                    let args = if r.interactive.truthy() {
                        match crate::eval::apply(ctx, &r.interactive, &[]) {
                            Ok(v) => v.list_to_vec(),
                            Err(e) => break Some(Err(e)),
                        }
                    } else {
                        vec![]
                    };
                    break Some(conditions::invoke(ctx, r, args));
                }
                eprintln!("no restart {}", n);
                continue;
            }
            if let Err(e) = eval_and_print(ctx, &line) {
                break Some(Err(e));
            }
        };
        ctx.debug_level -= 1;
        match result {
            Some(Err(e)) => e,
            Some(Ok(_)) | None => Exit::QUIT,
        }
    })
}

/// Run the interactive REPL.
pub fn run_repl(lisp: &mut Interpreter) -> i32 {
    let helper = LispHelper {
        names: Rc::new(RefCell::new(completion_names())),
    };
    let names = helper.names.clone();
    let config = rustyline::Config::builder().auto_add_history(false).build();
    let mut editor: Editor<LispHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("netlisp: can't start the line editor: {}", e);
            return 1;
        }
    };
    editor.set_helper(Some(helper));
    let hist = history_path();
    if let Some(h) = &hist {
        let _ = editor.load_history(h);
    }
    let ed: Ed = Rc::new(RefCell::new(editor));
    println!(
        "netlisp {} — a Common Lisp with a network toolkit. (quit) or Ctrl-D to leave.",
        env!("CARGO_PKG_VERSION")
    );
    let ctx = lisp.ctx();
    ctx.interactive = true;
    ctx.debugger = Some(debugger(ed.clone()));
    let code = loop {
        let Some(text) = read_input(&ed, &package_prompt()) else {
            break 0;
        };
        let r = conditions::with_restarts(ctx, &[("ABORT", "Return to the top level.")], |ctx| {
            eval_and_print(ctx, &text).map(|_| Value::Nil)
        });
        match r {
            Ok(_) => {}
            Err(e) if e == Exit::QUIT => break ctx.quit_code,
            Err(_) => {}
        }
        *names.borrow_mut() = completion_names();
    };
    if let Some(h) = &hist {
        let _ = ed.borrow_mut().save_history(h);
    }
    crate::stream::flush_standard(ctx);
    code
}

/// The builtin reference in Markdown (docs/reference.md).
pub fn reference_markdown() -> String {
    let mut all = crate::builtins::all();
    all.retain(|b| {
        let (p, n) = b.split_name();
        p != "NETLISP-SYSTEM" && !n.starts_with('%')
    });
    all.sort_by(|a, b| {
        let (pa, na) = a.split_name();
        let (pb, nb) = b.split_name();
        (pa, na).cmp(&(pb, nb))
    });
    let mut out = String::from(
        "# netlisp builtin reference\n\nGenerated from the builtin registry by `netlisp --reference`; do not edit.\n\n",
    );
    let mut current = "";
    for b in all {
        let (p, n) = b.split_name();
        if p != current {
            out.push_str(&format!("## Package {}\n\n", p));
            current = p;
        }
        let kind = match b.kind {
            crate::function::Kind::Function => "function",
            crate::function::Kind::Macro => "macro",
            crate::function::Kind::SpecialForm => "special operator",
        };
        let ll = b.lambda_list.trim_start_matches('(').trim_end_matches(')');
        let sig = if ll.is_empty() {
            format!("({})", n.to_lowercase())
        } else {
            format!("({} {})", n.to_lowercase(), ll)
        };
        out.push_str(&format!(
            "### `{}`\n\n*{}* `{}`\n\n{}\n\n",
            n,
            kind,
            sig,
            b.docstring()
        ));
    }
    out
}
