//! The front ends: script runner, `-e` evaluator, and the interactive REPL
//! with history, multi-line input, completion and a restart-offering
//! debugger. Also the generator of `docs/reference.md`.

use crate::conditions;
use crate::ctx::{Ctx, Exit, R};
use crate::reader::{Reader, Span};
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
use std::rc::Rc;
use std::sync::{mpsc, Arc, Mutex};

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
    names: Arc<Mutex<Vec<String>>>,
}

/// Whether `text` holds only complete forms: parentheses balanced outside
/// strings, comments, `|...|` and character names. Runs on the line
/// editor's thread, so it must not touch the Lisp world.
pub fn balanced(text: &str) -> bool {
    let mut depth: i64 = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ';' => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '"' | '|' => {
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return false;
                }
            }
            '\\' => {
                chars.next();
            }
            '#' => match chars.peek() {
                Some('\\') => {
                    chars.next();
                    chars.next();
                }
                Some('|') => {
                    chars.next();
                    let mut nest = 1;
                    let mut prev = ' ';
                    for d in chars.by_ref() {
                        if prev == '|' && d == '#' {
                            nest -= 1;
                            if nest == 0 {
                                break;
                            }
                        } else if prev == '#' && d == '|' {
                            nest += 1;
                        }
                        prev = d;
                    }
                    if nest > 0 {
                        return false;
                    }
                }
                _ => {}
            },
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
    }
    depth <= 0
}

impl Validator for LispHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        if balanced(ctx.input()) {
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
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
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
        let text = crate::printer::to_string_ctx(ctx, v, crate::printer::Opts::prin1())?;
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

/// The line editor, on its own thread, so that processes keep running
/// while the user types: the main process asks for a line and parks until
/// the editor's thread hands it over (waking the scheduler).
struct ReplInput {
    prompts: mpsc::Sender<String>,
    lines: mpsc::Receiver<Option<String>>,
    names: Arc<Mutex<Vec<String>>>,
}

impl ReplInput {
    fn start() -> Result<ReplInput, String> {
        let names = Arc::new(Mutex::new(completion_names()));
        let helper = LispHelper {
            names: names.clone(),
        };
        let config = rustyline::Config::builder().auto_add_history(false).build();
        let mut editor: Editor<LispHelper, DefaultHistory> =
            Editor::with_config(config).map_err(|e| e.to_string())?;
        editor.set_helper(Some(helper));
        let hist = history_path();
        if let Some(h) = &hist {
            let _ = editor.load_history(h);
        }
        let (prompt_tx, prompt_rx) = mpsc::channel::<String>();
        let (line_tx, line_rx) = mpsc::channel::<Option<String>>();
        let notifier = crate::mp::sched().notifier();
        std::thread::Builder::new()
            .name("netlisp-repl-input".into())
            .spawn(move || {
                for prompt in prompt_rx {
                    let line = loop {
                        match editor.readline(&prompt) {
                            Ok(line) => {
                                if !line.trim().is_empty() {
                                    let _ = editor.add_history_entry(line.as_str());
                                    if let Some(h) = &hist {
                                        let _ = editor.save_history(h);
                                    }
                                }
                                break Some(line);
                            }
                            // Ctrl-C at the prompt: a fresh prompt.
                            Err(ReadlineError::Interrupted) => {
                                println!("^C");
                                continue;
                            }
                            Err(_) => break None,
                        }
                    };
                    let done = line.is_none();
                    if line_tx.send(line).is_err() {
                        break;
                    }
                    notifier.notify();
                    if done {
                        break;
                    }
                }
                // The REPL may already wait for another line: let it see
                // the channel close.
                drop(line_tx);
                notifier.notify();
            })
            .map_err(|e| e.to_string())?;
        Ok(ReplInput {
            prompts: prompt_tx,
            lines: line_rx,
            names,
        })
    }

    /// One line from the user (None at end of input). Other processes run
    /// while the main process waits for it.
    fn read_line(&self, ctx: &mut Ctx, prompt: &str) -> R<Option<String>> {
        if self.prompts.send(prompt.to_string()).is_err() {
            return Ok(None);
        }
        let s = crate::mp::sched();
        s.external_begin();
        let r = loop {
            match self.lines.try_recv() {
                Ok(line) => break Ok(line),
                Err(mpsc::TryRecvError::Disconnected) => break Ok(None),
                Err(mpsc::TryRecvError::Empty) => {
                    if let Err(e) = crate::mp::wait_external(ctx, None) {
                        break Err(e);
                    }
                }
            }
        };
        s.external_end();
        r
    }

    /// Lines until the forms are complete (None at end of input).
    fn read_form(&self, ctx: &mut Ctx, prompt: &str) -> R<Option<String>> {
        let Some(mut text) = self.read_line(ctx, prompt)? else {
            return Ok(None);
        };
        while !balanced(&text) {
            match self.read_line(ctx, "")? {
                Some(more) => {
                    text.push('\n');
                    text.push_str(&more);
                }
                None => break,
            }
        }
        Ok(Some(text))
    }

    fn refresh_names(&self) {
        *self.names.lock().unwrap_or_else(|e| e.into_inner()) = completion_names();
    }
}

/// The REPL's debugger: report, list restarts, and read commands until a
/// restart is chosen.
fn debugger(input: Rc<ReplInput>) -> crate::ctx::Debugger {
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
            let line = match input.read_form(ctx, &prompt) {
                Ok(l) => l,
                Err(e) => break Some(Err(e)),
            };
            let Some(line) = line else {
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

/// REPL commands: a line holding only the keyword runs the form. Kept as
/// forms so that each command is also callable from a program.
const TOP_LEVEL_COMMANDS: &[(&str, &str)] = &[
    (":sockets", "(netlisp:list-sockets)"),
    (":processes", "(mp:list-all-processes)"),
];

fn top_level_command(text: &str) -> Option<&'static str> {
    let line = text.trim();
    TOP_LEVEL_COMMANDS
        .iter()
        .find(|(name, _)| line.eq_ignore_ascii_case(name))
        .map(|(_, form)| *form)
}

/// Run the interactive REPL.
pub fn run_repl(lisp: &mut Interpreter) -> i32 {
    let input = match ReplInput::start() {
        Ok(i) => Rc::new(i),
        Err(e) => {
            eprintln!("netlisp: can't start the line editor: {}", e);
            return 1;
        }
    };
    println!(
        "netlisp {} — a Common Lisp with a network toolkit. (quit) or Ctrl-D to leave.",
        env!("CARGO_PKG_VERSION")
    );
    crate::mp::scheduler::catch_sigint();
    let ctx = lisp.ctx();
    ctx.interactive = true;
    ctx.debugger = Some(debugger(input.clone()));
    let code = loop {
        let text =
            conditions::with_restarts(ctx, &[("ABORT", "Return to the top level.")], |ctx| {
                let prompt = package_prompt();
                match input.read_form(ctx, &prompt)? {
                    Some(text) => {
                        eval_and_print(ctx, top_level_command(&text).unwrap_or(&text))?;
                        Ok(Value::t())
                    }
                    None => Ok(Value::Nil),
                }
            });
        match text {
            Ok(Ok(Value::Nil)) => break 0,
            Ok(_) => {}
            Err(e) if e == Exit::QUIT => break ctx.quit_code,
            Err(_) => {}
        }
        input.refresh_names();
    };
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
