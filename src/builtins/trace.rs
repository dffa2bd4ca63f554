//! TRACE and UNTRACE: a traced function reports each call and its values
//! on *TRACE-OUTPUT*, indented by call depth, in SBCL's format:
//!
//! ```text
//!   0: (FACT 2)
//!     1: (FACT 1)
//!     1: FACT returned 1
//!   0: FACT returned 2
//! ```
//!
//! Tracing replaces the function cell with a wrapper and remembers the
//! original; the depth is a special variable, so each process has its own.

use super::macros::{cl, l, quote, sys};
use crate::ctx::{Ctx, R};
use crate::eval::apply;
use crate::gc::Gc;
use crate::symbol::Symbol;
use crate::value::{list_from, Value};
use crate::world::{intern_exported, w};
use std::cell::RefCell;

/// A traced function: its name, the original definition, and the wrapper
/// now in its function cell.
struct Traced {
    name: Gc<Symbol>,
    original: Value,
    wrapper: Value,
}

thread_local! {
    static TRACED: RefCell<Vec<Traced>> = const { RefCell::new(Vec::new()) };
}

fn depth_symbol() -> Gc<Symbol> {
    let s = intern_exported("*TRACE-DEPTH*", &w().sys);
    s.set_flag(crate::symbol::SPECIAL);
    s
}

/// Names currently traced, in the order they were traced.
fn traced_names() -> Value {
    let names: Vec<Value> = TRACED.with(|t| {
        t.borrow()
            .iter()
            .map(|e| Value::Symbol(e.name.clone()))
            .collect()
    });
    list_from(names)
}

/// Put back the original definition of `name` (unless the user has
/// redefined it since, in which case the new definition stays).
fn untrace_one(name: &Gc<Symbol>) {
    let entry = TRACED.with(|t| {
        let mut t = t.borrow_mut();
        let i = t.iter().position(|e| Gc::ptr_eq(&e.name, name))?;
        Some(t.remove(i))
    });
    if let Some(e) = entry {
        if e.name.function().eq(&e.wrapper) {
            e.name.set_function(e.original);
        }
    }
}

/// After `name` got a new definition: a traced name stays traced, now
/// wrapping the new definition (as in SBCL).
pub fn redefined(ctx: &mut Ctx, name: &Gc<Symbol>) -> R<()> {
    let traced = TRACED.with(|t| t.borrow().iter().any(|e| Gc::ptr_eq(&e.name, name)));
    if traced {
        trace_one(ctx, &Value::Symbol(name.clone()))?;
    }
    Ok(())
}

fn trace_one(ctx: &mut Ctx, name: &Value) -> R<bool> {
    let shown = crate::printer::prin1_string(name);
    let Value::Symbol(sym) = name else {
        let msg = format!("{shown} is not a function name; not tracing it.");
        return crate::conditions::simple_warning(ctx, msg).map(|_| false);
    };
    untrace_one(sym);
    let special = sym.has(crate::symbol::SPECIAL_OPERATOR);
    if !sym.is_fbound() || sym.is_macro() || special {
        let msg = format!("{shown} is not a defined function; not tracing it.");
        return crate::conditions::simple_warning(ctx, msg).map(|_| false);
    }
    let original = sym.function();
    // (lambda (&rest args) (%traced-call 'name 'original args))
    let args = sys("ARGS");
    let lambda = l(vec![
        cl("LAMBDA"),
        l(vec![cl("&REST"), args.clone()]),
        l(vec![
            sys("%TRACED-CALL"),
            quote(name.clone()),
            quote(original.clone()),
            args,
        ]),
    ]);
    let wrapper = crate::eval::eval(ctx, &l(vec![cl("FUNCTION"), lambda]))?;
    sym.set_function(wrapper.clone());
    TRACED.with(|t| {
        t.borrow_mut().push(Traced {
            name: sym.clone(),
            original,
            wrapper,
        })
    });
    Ok(true)
}

fn trace_line(ctx: &mut Ctx, depth: i64, text: &str) -> R<()> {
    let out = crate::stream::output_designator(ctx, &w().s.trace_output.value())?;
    let indent = " ".repeat(2 * (depth as usize + 1));
    crate::stream::write_str(ctx, &out, &format!("{indent}{depth}: {text}\n"))
}

crate::defbuiltins! {
    /// Trace the named functions: each call and its values are reported on
    /// *TRACE-OUTPUT*. Without names, the list of traced functions.
    macro TRACE "TRACE" "(&rest names)" (_ctx, a) {
        Ok(l(vec![sys("%TRACE"), quote(a[0].rest())]))
    }
    /// Stop tracing the named functions (all of them without names).
    macro UNTRACE "UNTRACE" "(&rest names)" (_ctx, a) {
        Ok(l(vec![sys("%UNTRACE"), quote(a[0].rest())]))
    }
    /// Trace each function in NAMES; the names now traced.
    fn PERCENT_TRACE "NETLISP-SYSTEM:%TRACE" "(names)" (ctx, a) {
        if a[0].is_nil() {
            return Ok(traced_names());
        }
        let mut done = Vec::new();
        for name in a[0].iter() {
            if trace_one(ctx, &name)? {
                done.push(name);
            }
        }
        Ok(list_from(done))
    }
    /// Untrace each function in NAMES (every traced one if NAMES is NIL).
    fn PERCENT_UNTRACE "NETLISP-SYSTEM:%UNTRACE" "(names)" (_ctx, a) {
        let names: Vec<Value> = if a[0].is_nil() { traced_names().list_to_vec() } else { a[0].list_to_vec() };
        for name in &names {
            if let Value::Symbol(s) = name {
                untrace_one(s);
            }
        }
        Ok(Value::t())
    }
    /// Call ORIGINAL on ARGS, reporting the call and its values.
    fn TRACED_CALL "NETLISP-SYSTEM:%TRACED-CALL" "(name original args)" [mv] (ctx, a) {
        let depth_sym = depth_symbol();
        let depth = match depth_sym.value() { Value::Fixnum(n) => n, _ => 0 };
        let call = Value::cons(a[0].clone(), a[2].clone());
        trace_line(ctx, depth, &crate::printer::prin1_string(&call))?;
        let mark = ctx.dyn_binds.len();
        ctx.bind_special(&depth_sym, Value::int(depth + 1));
        let r = apply(ctx, &a[1], &a[2].list_to_vec());
        ctx.unbind_to(mark);
        let name = crate::printer::prin1_string(&a[0]);
        let v = match r {
            Ok(v) => v,
            Err(e) => {
                trace_line(ctx, depth, &format!("{name} exited non-locally"))?;
                return Err(e);
            }
        };
        let vals = ctx.take_values(v);
        let shown: Vec<String> = vals.iter().map(crate::printer::prin1_string).collect();
        trace_line(ctx, depth, format!("{name} returned {}", shown.join(" ")).trim_end())?;
        Ok(ctx.set_values(vals))
    }
}
