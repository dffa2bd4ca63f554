//! Loading code: reading forms from text one at a time, processing each
//! as a toplevel form (PROGN and EVAL-WHEN split into their subforms),
//! and evaluating it before reading the next, so IN-PACKAGE and reader
//! conditionals take effect where they appear.

use crate::compiler::{Compiler, SourceMap};
use crate::ctx::{Ctx, R};
use crate::reader::{Reader, Span};
use crate::value::Value;
use crate::world::w;
use std::rc::Rc;

fn is_op(form: &Value, name: &str) -> bool {
    matches!(form.first(), Value::Symbol(s) if s.name() == name && s.home_is(&w().cl))
}

/// Evaluate a form as a toplevel form.
pub fn eval_toplevel(ctx: &mut Ctx, form: &Value, srcmap: &Option<Rc<SourceMap>>) -> R {
    if let Some(m) = srcmap {
        if let Some(l) = m.get(form) {
            ctx.toplevel_loc = l;
        }
    }
    if form.is_cons() {
        if is_op(form, "PROGN") {
            let mut last = Value::Nil;
            ctx.nvals = 1;
            for f in form.rest().iter() {
                last = eval_toplevel(ctx, &f, srcmap)?;
            }
            return Ok(last);
        }
        if is_op(form, "EVAL-WHEN") {
            let sits = form.second();
            let has = |n: &str| {
                sits.iter()
                    .any(|s| matches!(&s, Value::Symbol(x) if x.name() == n))
            };
            if has("COMPILE-TOPLEVEL")
                || has("LOAD-TOPLEVEL")
                || has("EXECUTE")
                || has("COMPILE")
                || has("LOAD")
                || has("EVAL")
            {
                let mut last = Value::Nil;
                for f in form.rest().rest().iter() {
                    last = eval_toplevel(ctx, &f, srcmap)?;
                }
                return Ok(last);
            }
            return Ok(Value::Nil);
        }
        if let Value::Symbol(s) = form.first() {
            // Toplevel macro forms are expanded and processed as toplevel.
            if s.is_macro() && !s.home_is(&w().cl) || matches!(s.name(), "DEFPACKAGE" | "DECLAIM") {
                let (exp, expanded) =
                    crate::builtins::control::macroexpand_1(ctx, form, &Value::Nil)?;
                if expanded && (is_op(&exp, "PROGN") || is_op(&exp, "EVAL-WHEN")) {
                    return eval_toplevel(ctx, &exp, srcmap);
                }
            }
        }
    }
    let lam = Compiler::new(ctx, srcmap.clone()).compile_toplevel(form)?;
    crate::eval::run_toplevel(ctx, &lam)
}

/// Read and evaluate every form of `text` (from file `name`). Returns
/// the value of the last form. `print` echoes each result.
pub fn load_source(ctx: &mut Ctx, text: &str, name: &str, print: bool) -> R {
    let file = w().file_id(name);
    let skip = crate::reader::shebang_len(text);
    let body = &text[skip..];
    let line_offset = if skip > 0 { 1 } else { 0 };
    let mut span = Span::new(body);
    let mut last = Value::Nil;
    let wd = w();
    let mark = ctx.dyn_binds.len();
    // LOAD binds *PACKAGE* and *READTABLE* around the file.
    ctx.bind_special(&wd.s.package, wd.s.package.value());
    ctx.bind_special(&wd.s.readtable, wd.s.readtable.value());
    let saved_loc = ctx.toplevel_loc;
    let r = (|| loop {
        let (rest, form, map) = {
            let mut rd = Reader::new(ctx, file, true);
            rd.line_offset = line_offset;
            let (rest, v) = match rd.read(span) {
                Ok(x) => x,
                Err(e) => {
                    let map = None::<()>;
                    let _ = map;
                    return Err(crate::reader::error_to_exit(ctx, e, Value::Nil));
                }
            };
            (rest, v, rd.srcmap.take().map(Rc::new))
        };
        span = rest;
        let Some(form) = form else { return Ok(last) };
        if matches!(form, Value::Unbound) {
            continue;
        }
        last = eval_toplevel(ctx, &form, &map)?;
        if print {
            let out = crate::stream::stdout(ctx)?;
            let text = crate::printer::to_string_ctx(ctx, &last, crate::printer::Opts::prin1())?;
            crate::stream::write_str(ctx, &out, &format!("\n{}", text))?;
        }
    })();
    ctx.toplevel_loc = saved_loc;
    ctx.unbind_to(mark);
    r
}

/// LOAD a file.
pub fn load_file(ctx: &mut Ctx, path: &str, verbose: bool, print: bool) -> R<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return Err(crate::conditions::file_error(
                ctx,
                crate::pathname::Pathname::parse(path).into_value(),
                format!("can't read {}: {}", path, e),
            ))
        }
    };
    if verbose {
        let out = crate::stream::stdout(ctx)?;
        crate::stream::write_str(ctx, &out, &format!("; loading {}\n", path))?;
    }
    load_file_text(ctx, &text, path, print).map(|_| ())
}

/// Evaluate `text`, the contents of file `path`, with *LOAD-PATHNAME* and
/// *LOAD-TRUENAME* bound to it (scripts run through here too).
pub fn load_file_text(ctx: &mut Ctx, text: &str, path: &str, print: bool) -> R {
    let wd = w();
    let mark = ctx.dyn_binds.len();
    let pn = crate::pathname::Pathname::parse(path).into_value();
    ctx.bind_special(&wd.s.load_pathname, pn.clone());
    let truename = std::fs::canonicalize(path)
        .map(|p| crate::pathname::Pathname::parse(&p.to_string_lossy()).into_value())
        .unwrap_or(pn);
    ctx.bind_special(&wd.s.load_truename, truename);
    let r = load_source(ctx, text, path, print);
    ctx.unbind_to(mark);
    r
}
