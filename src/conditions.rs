//! The condition system: standard condition classes, SIGNAL and ERROR
//! with handlers that run before unwinding, restarts, and what happens to
//! an error nobody handles.
//!
//! Runtime errors are created by the constructors at the end of this
//! file; each signals at once (handlers run in the dynamic context of the
//! error) and returns the [`Exit`] that transfers control to whoever
//! handled it, or to the debugger's choice.

use crate::clos::{self, Class, ClassKind, SlotDef};
use crate::ctx::{Ctx, Exit, FrameFn, HandlerKind, Restart, RestartAction, R};
use crate::eval::{apply, Mark};
use crate::foreign::{self, ForeignObj};
use crate::gc::Gc;
use crate::printer::prin1_string;
use crate::value::{list_from, Value};
use crate::world::{intern_exported, keyword, symbol_of, w};

struct CondDef {
    name: &'static str,
    pkg_sys: bool,
    supers: &'static [&'static str],
    slots: &'static [(&'static str, &'static str)],
}

const CONDITIONS: &[CondDef] = &[
    CondDef {
        name: "SERIOUS-CONDITION",
        pkg_sys: false,
        supers: &["CONDITION"],
        slots: &[],
    },
    CondDef {
        name: "ERROR",
        pkg_sys: false,
        supers: &["SERIOUS-CONDITION"],
        slots: &[],
    },
    CondDef {
        name: "WARNING",
        pkg_sys: false,
        supers: &["CONDITION"],
        slots: &[],
    },
    CondDef {
        name: "STYLE-WARNING",
        pkg_sys: false,
        supers: &["WARNING"],
        slots: &[],
    },
    CondDef {
        name: "STORAGE-CONDITION",
        pkg_sys: false,
        supers: &["SERIOUS-CONDITION"],
        slots: &[],
    },
    CondDef {
        name: "SIMPLE-CONDITION",
        pkg_sys: false,
        supers: &["CONDITION"],
        slots: &[
            ("FORMAT-CONTROL", "FORMAT-CONTROL"),
            ("FORMAT-ARGUMENTS", "FORMAT-ARGUMENTS"),
        ],
    },
    CondDef {
        name: "SIMPLE-ERROR",
        pkg_sys: false,
        supers: &["SIMPLE-CONDITION", "ERROR"],
        slots: &[],
    },
    CondDef {
        name: "SIMPLE-WARNING",
        pkg_sys: false,
        supers: &["SIMPLE-CONDITION", "WARNING"],
        slots: &[],
    },
    CondDef {
        name: "TYPE-ERROR",
        pkg_sys: false,
        supers: &["ERROR"],
        slots: &[("DATUM", "DATUM"), ("EXPECTED-TYPE", "EXPECTED-TYPE")],
    },
    CondDef {
        name: "SIMPLE-TYPE-ERROR",
        pkg_sys: false,
        supers: &["SIMPLE-CONDITION", "TYPE-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "PROGRAM-ERROR",
        pkg_sys: false,
        supers: &["ERROR"],
        slots: &[],
    },
    CondDef {
        name: "CONTROL-ERROR",
        pkg_sys: false,
        supers: &["ERROR"],
        slots: &[],
    },
    CondDef {
        name: "CELL-ERROR",
        pkg_sys: false,
        supers: &["ERROR"],
        slots: &[("NAME", "NAME")],
    },
    CondDef {
        name: "UNBOUND-VARIABLE",
        pkg_sys: false,
        supers: &["CELL-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "UNDEFINED-FUNCTION",
        pkg_sys: false,
        supers: &["CELL-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "UNBOUND-SLOT",
        pkg_sys: false,
        supers: &["CELL-ERROR"],
        slots: &[("INSTANCE", "INSTANCE")],
    },
    CondDef {
        name: "ARITHMETIC-ERROR",
        pkg_sys: false,
        supers: &["ERROR"],
        slots: &[("OPERATION", "OPERATION"), ("OPERANDS", "OPERANDS")],
    },
    CondDef {
        name: "DIVISION-BY-ZERO",
        pkg_sys: false,
        supers: &["ARITHMETIC-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "FLOATING-POINT-OVERFLOW",
        pkg_sys: false,
        supers: &["ARITHMETIC-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "FLOATING-POINT-UNDERFLOW",
        pkg_sys: false,
        supers: &["ARITHMETIC-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "FLOATING-POINT-INEXACT",
        pkg_sys: false,
        supers: &["ARITHMETIC-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "FLOATING-POINT-INVALID-OPERATION",
        pkg_sys: false,
        supers: &["ARITHMETIC-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "STREAM-ERROR",
        pkg_sys: false,
        supers: &["ERROR"],
        slots: &[("STREAM", "STREAM")],
    },
    CondDef {
        name: "END-OF-FILE",
        pkg_sys: false,
        supers: &["STREAM-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "FILE-ERROR",
        pkg_sys: false,
        supers: &["ERROR"],
        slots: &[("PATHNAME", "PATHNAME")],
    },
    CondDef {
        name: "PACKAGE-ERROR",
        pkg_sys: false,
        supers: &["ERROR"],
        slots: &[("PACKAGE", "PACKAGE")],
    },
    CondDef {
        name: "PARSE-ERROR",
        pkg_sys: false,
        supers: &["ERROR"],
        slots: &[],
    },
    CondDef {
        name: "READER-ERROR",
        pkg_sys: false,
        supers: &["PARSE-ERROR", "STREAM-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "PRINT-NOT-READABLE",
        pkg_sys: false,
        supers: &["ERROR"],
        slots: &[("OBJECT", "OBJECT")],
    },
    // Message-carrying variants the runtime signals.
    CondDef {
        name: "SIMPLE-PROGRAM-ERROR",
        pkg_sys: true,
        supers: &["SIMPLE-CONDITION", "PROGRAM-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "SIMPLE-CONTROL-ERROR",
        pkg_sys: true,
        supers: &["SIMPLE-CONDITION", "CONTROL-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "SIMPLE-STREAM-ERROR",
        pkg_sys: true,
        supers: &["SIMPLE-CONDITION", "STREAM-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "SIMPLE-FILE-ERROR",
        pkg_sys: true,
        supers: &["SIMPLE-CONDITION", "FILE-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "SIMPLE-PACKAGE-ERROR",
        pkg_sys: true,
        supers: &["SIMPLE-CONDITION", "PACKAGE-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "SIMPLE-READER-ERROR",
        pkg_sys: true,
        supers: &["SIMPLE-CONDITION", "READER-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "SIMPLE-PARSE-ERROR",
        pkg_sys: true,
        supers: &["SIMPLE-CONDITION", "PARSE-ERROR"],
        slots: &[],
    },
    CondDef {
        name: "SIMPLE-STORAGE-CONDITION",
        pkg_sys: true,
        supers: &["SIMPLE-CONDITION", "STORAGE-CONDITION"],
        slots: &[],
    },
    // A list that does not match a destructuring lambda list (an ERROR but,
    // as in SBCL, not a PROGRAM-ERROR: the data is wrong, not the call).
    CondDef {
        name: "DESTRUCTURING-ERROR",
        pkg_sys: true,
        supers: &["SIMPLE-CONDITION", "ERROR"],
        slots: &[],
    },
    // A bad FORMAT control string or argument list.
    CondDef {
        name: "FORMAT-ERROR",
        pkg_sys: true,
        supers: &["SIMPLE-CONDITION", "ERROR"],
        slots: &[],
    },
    CondDef {
        name: "TIMEOUT-ERROR",
        pkg_sys: false,
        supers: &["SIMPLE-CONDITION", "ERROR"],
        slots: &[],
    },
];

/// Find a condition class by name (CL first, then the system package).
pub fn condition_class(name: &str) -> Gc<Class> {
    let wd = w();
    for p in [&wd.cl, &wd.sys, &wd.ext] {
        if let Some((s, _)) = p.find(name) {
            if let Some(c) = clos::find_class(&Value::Symbol(s)) {
                return c;
            }
        }
    }
    panic!("no condition class {}", name)
}

/// Define the standard condition classes.
pub fn install() {
    let wd = w();
    for d in CONDITIONS {
        let pkg = if d.name == "TIMEOUT-ERROR" {
            &wd.ext
        } else if d.pkg_sys {
            &wd.sys
        } else {
            &wd.cl
        };
        let sym = intern_exported(d.name, pkg);
        let supers: Vec<Gc<Class>> = d.supers.iter().map(|s| condition_class(s)).collect();
        let slots: Vec<(Value, Value)> = d
            .slots
            .iter()
            .map(|(n, ia)| (Value::Symbol(intern_exported(n, &wd.sys)), keyword(ia)))
            .collect();
        define_class(&sym, supers, &slots);
    }
    // CONDITION itself has no slots but must be finalized.
    let _ = clos::finalize(&clos::cl_class("CONDITION"));
}

/// Define condition class `sym` below `supers`, with slots given as
/// (slot name, initarg keyword).
pub fn define_class(
    sym: &Gc<crate::symbol::Symbol>,
    supers: Vec<Gc<Class>>,
    slots: &[(Value, Value)],
) -> Gc<Class> {
    let class = Gc::new(Class::new(Value::Symbol(sym.clone()), ClassKind::Condition));
    for s in &supers {
        s.direct_subs.borrow_mut().push(class.clone());
    }
    *class.direct_supers.borrow_mut() = supers;
    let slots: Vec<SlotDef> = slots
        .iter()
        .map(|(n, ia)| {
            let mut s = SlotDef::new(n.clone());
            s.initargs.push(ia.clone());
            s
        })
        .collect();
    *class.direct_slots.borrow_mut() = slots;
    clos::finalize(&class).expect("condition hierarchy is consistent");
    clos::set_find_class(sym, Some(class.clone()));
    class
}

/// Make a condition instance of `class` with initargs (keyword, value).
pub fn make_condition(class: &Gc<Class>, initargs: &[(Value, Value)]) -> Value {
    let inst = clos::allocate_instance(class);
    {
        let slots = class.slots.borrow();
        let mut vals = inst.slots.borrow_mut();
        for s in slots.iter() {
            if let clos::SlotAlloc::Instance(i) = s.alloc {
                for (k, v) in initargs {
                    if s.initargs.iter().any(|ia| ia.eq(k)) {
                        vals[i] = v.clone();
                        break;
                    }
                }
            }
        }
    }
    Value::Instance(inst)
}

/// Make a condition of the named class with initargs given by name.
pub fn make(name: &str, initargs: &[(&str, Value)]) -> Value {
    let class = condition_class(name);
    let ia: Vec<(Value, Value)> = initargs
        .iter()
        .map(|(k, v)| (keyword(k), v.clone()))
        .collect();
    make_condition(&class, &ia)
}

/// Read a condition slot by its (system) name; NIL if unbound or missing.
pub fn slot(cond: &Value, name: &str) -> Value {
    match cond {
        Value::Instance(i) => {
            let n = Value::Symbol(intern_exported(name, &w().sys));
            match clos::slot_value_raw(i, &n) {
                Some(Value::Unbound) | None => Value::Nil,
                Some(v) => v,
            }
        }
        _ => Value::Nil,
    }
}

/// Whether `v` is a condition object.
pub fn is_condition(v: &Value) -> bool {
    matches!(v, Value::Instance(i) if i.class().kind == ClassKind::Condition)
}

/// Signal a condition: run the applicable handlers, innermost first. A
/// handler that returns declines; one that transfers control ends the
/// signal with that exit. Returns normally if nobody transfers.
pub fn signal(ctx: &mut Ctx, cond: &Value) -> R<()> {
    // Clusters (one HANDLER-BIND or HANDLER-CASE) innermost first; within a
    // cluster, the clauses in the order they were written.
    let mut end = ctx.handlers.len();
    while end > 0 {
        let start = ctx.handlers[end - 1].cluster.min(end - 1);
        let mut i = start;
        while i < end {
            if i >= ctx.handlers.len() {
                break;
            }
            let h = ctx.handlers[i].clone();
            i += 1;
            if !crate::types::typep(ctx, cond, &h.typespec)? {
                continue;
            }
            match h.kind {
                HandlerKind::Case { target, clause } => {
                    ctx.exit_values = vec![cond.clone()];
                    ctx.exit_tag = clause;
                    return Err(Exit::to(target));
                }
                HandlerKind::Bind(func) => {
                    // While the handler runs, its cluster and everything
                    // established after it are disabled.
                    let hidden = ctx.handlers.split_off(start);
                    let r = apply(ctx, &func, std::slice::from_ref(cond));
                    ctx.handlers.truncate(start);
                    ctx.handlers.extend(hidden);
                    r?;
                }
            }
        }
        end = start;
    }
    Ok(())
}

/// Run `f` under a handler for conditions of `typespec` that unwinds out
/// of it, like HANDLER-CASE: `Ok(Ok(value))` when `f` returns,
/// `Ok(Err(condition))` when such a condition was signalled inside.
pub fn handler_case(
    ctx: &mut Ctx,
    typespec: Value,
    f: impl FnOnce(&mut Ctx) -> R,
) -> R<Result<Value, Value>> {
    let id = w().next_id();
    let mark = crate::eval::Mark::of(ctx);
    ctx.handlers.push(crate::ctx::Handler {
        typespec,
        kind: HandlerKind::Case {
            target: id,
            clause: 0,
        },
        cluster: mark.handlers,
    });
    let r = f(ctx);
    ctx.handlers.truncate(mark.handlers);
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.is_to(id) => {
            mark.restore(ctx);
            let cond = std::mem::take(&mut ctx.exit_values);
            Ok(Err(cond.into_iter().next().unwrap_or(Value::Nil)))
        }
        Err(e) => Err(e),
    }
}

/// Signal `cond` as an error: handlers first, then the debugger. Always
/// ends in a non-local exit.
pub fn error(ctx: &mut Ctx, cond: Value) -> Exit {
    if let Err(e) = signal(ctx, &cond) {
        return e;
    }
    invoke_debugger(ctx, cond)
}

/// Enter the debugger with an unhandled condition.
pub fn invoke_debugger(ctx: &mut Ctx, cond: Value) -> Exit {
    let hook_sym = w().s.debugger_hook.clone();
    let hook = hook_sym.value();
    if matches!(hook, Value::Function(_) | Value::Symbol(_)) && !matches!(hook, Value::Nil) {
        let mark = ctx.dyn_binds.len();
        ctx.bind_special(&hook_sym, Value::Nil);
        let r = apply(ctx, &hook, &[cond.clone(), hook.clone()]);
        ctx.unbind_to(mark);
        if let Err(e) = r {
            return e;
        }
    }
    if let Some(d) = ctx.debugger.clone() {
        return d(ctx, &cond);
    }
    report_unhandled(ctx, &cond);
    ctx.quit_code = 1;
    Exit::QUIT
}

/// The report text of a condition (what PRINC shows).
pub fn report_string(ctx: &mut Ctx, cond: &Value) -> R<String> {
    let Value::Instance(inst) = cond else {
        return Ok(crate::printer::princ_string(cond));
    };
    let class = inst.class();
    // A :report from the most specific class that has one.
    for c in class.cpl.borrow().clone() {
        let report = c.extra.borrow().report.clone();
        match &report {
            Value::Nil => continue,
            v if v.is_string() => return Ok(crate::array::string_of(v).unwrap()),
            f => {
                let out = crate::stream::make_string_output();
                apply(ctx, f, &[cond.clone(), out.clone()])?;
                if let Value::Stream(s) = &out {
                    return Ok(crate::stream::take_string_output(s).unwrap_or_default());
                }
            }
        }
    }
    let is = |n: &str| clos::instance_of(cond, &condition_class(n));
    if is("SIMPLE-CONDITION") {
        let control = slot(cond, "FORMAT-CONTROL");
        let args = slot(cond, "FORMAT-ARGUMENTS");
        return match &control {
            Value::Nil => Ok(format!("{} was signalled.", class.name_string())),
            c => crate::format::format_to_string(ctx, c, &args.list_to_vec()),
        };
    }
    if is("TYPE-ERROR") {
        return Ok(format!(
            "The value\n  {}\nis not of type\n  {}",
            prin1_string(&slot(cond, "DATUM")),
            prin1_string(&slot(cond, "EXPECTED-TYPE"))
        ));
    }
    if is("UNBOUND-VARIABLE") {
        return Ok(format!(
            "The variable {} is unbound.",
            prin1_string(&slot(cond, "NAME"))
        ));
    }
    if is("UNDEFINED-FUNCTION") {
        return Ok(format!(
            "The function {} is undefined.",
            crate::printer::prin1_with_prefix(&slot(cond, "NAME"))
        ));
    }
    if is("UNBOUND-SLOT") {
        return Ok(format!(
            "The slot {} is unbound in the object {}.",
            prin1_string(&slot(cond, "NAME")),
            prin1_string(&slot(cond, "INSTANCE"))
        ));
    }
    if is("ARITHMETIC-ERROR") {
        let op = slot(cond, "OPERATION");
        let operands = slot(cond, "OPERANDS");
        let mut s = format!("arithmetic error {} signalled", class.name_string());
        if op.truthy() {
            s.push_str(&format!(
                "\nOperation was ({} {}).",
                prin1_string(&op),
                operands
                    .iter()
                    .map(|v| prin1_string(&v))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        return Ok(s);
    }
    if is("END-OF-FILE") {
        return Ok(format!(
            "end of file on {}",
            prin1_string(&slot(cond, "STREAM"))
        ));
    }
    if is("FILE-ERROR") {
        return Ok(format!(
            "error on file {}",
            prin1_string(&slot(cond, "PATHNAME"))
        ));
    }
    if is("PRINT-NOT-READABLE") {
        return Ok(format!(
            "{} cannot be printed readably.",
            prin1_string(&slot(cond, "OBJECT"))
        ));
    }
    if is("STORAGE-CONDITION") {
        return Ok("Control stack exhausted (no more space for function call frames).".into());
    }
    Ok(format!("Condition {} was signalled.", class.name_string()))
}

/// Print an unhandled error, where it happened and a short backtrace on
/// the error output (script mode).
pub fn report_unhandled(ctx: &mut Ctx, cond: &Value) {
    let text = describe_unhandled(ctx, cond);
    crate::stream::flush_standard(ctx);
    let err = w().s.error_output.value();
    let ok = match &err {
        Value::Stream(s) => {
            crate::stream::write_str(ctx, s, &text).is_ok()
                && crate::stream::force_output(ctx, s).is_ok()
        }
        _ => false,
    };
    if !ok {
        eprint!("{}", text);
    }
}

/// The text of an unhandled-error report: condition, location, backtrace.
pub fn describe_unhandled(ctx: &mut Ctx, cond: &Value) -> String {
    let class = match cond {
        Value::Instance(i) => i.class().name_string(),
        _ => "CONDITION".into(),
    };
    let report =
        report_string(ctx, cond).unwrap_or_else(|_| "(error while reporting the condition)".into());
    let loc = error_location(ctx);
    let mut s = String::new();
    match loc {
        Some(l) => s.push_str(&format!("Unhandled {} at {}:\n", class, l)),
        None => s.push_str(&format!("Unhandled {}:\n", class)),
    }
    for line in report.lines() {
        s.push_str("  ");
        s.push_str(line);
        s.push('\n');
    }
    let top = ctx.toplevel_loc;
    if top.is_known() && loc.is_some_and(|l| l != top) {
        s.push_str(&format!("while evaluating the form at {}\n", top));
    }
    let bt = backtrace(ctx, 15);
    if !bt.is_empty() {
        s.push_str("Backtrace:\n");
        s.push_str(&bt);
    }
    s
}

/// The innermost known source location of the current evaluation.
pub fn error_location(ctx: &Ctx) -> Option<crate::ctx::Loc> {
    for f in ctx.frames.iter().rev() {
        if f.loc.is_known() {
            return Some(f.loc);
        }
    }
    if ctx.toplevel_loc.is_known() {
        Some(ctx.toplevel_loc)
    } else {
        None
    }
}

/// The active calls, innermost first, at most `max` lines; a run of
/// identical frames (runaway recursion) is shown once with its count.
pub fn backtrace(ctx: &Ctx, max: usize) -> String {
    let lines: Vec<String> = ctx
        .frames
        .iter()
        .rev()
        .map(|f| {
            let name = match &f.func {
                FrameFn::Builtin(b) => b.symbol_name().to_string(),
                // SAFETY: the frame is live, so its caller still holds the function.
                FrameFn::Function(p) => match unsafe { p.as_ref() }.name() {
                    Value::Nil => "(LAMBDA)".to_string(),
                    n => prin1_string(&n),
                },
            };
            if f.loc.is_known() {
                format!("{} at {}", name, f.loc)
            } else {
                name
            }
        })
        .collect();
    let mut s = String::new();
    let (mut i, mut shown) = (0, 0);
    while i < lines.len() {
        if shown >= max {
            s.push_str(&format!("  ... {} more\n", lines.len() - i));
            break;
        }
        let run = lines[i..].iter().take_while(|l| **l == lines[i]).count();
        if run > 2 {
            s.push_str(&format!(
                "  {}-{}: {} ({} times)\n",
                i,
                i + run - 1,
                lines[i],
                run
            ));
        } else {
            for k in 0..run {
                s.push_str(&format!("  {}: {}\n", i + k, lines[i]));
            }
        }
        i += run;
        shown += 1;
    }
    s
}

// ---------------------------------------------------------------------
// Restarts

/// A restart object as seen by Lisp code.
pub struct RestartObj {
    /// The restart's id.
    pub id: u64,
    /// Its name.
    pub name: Value,
}

impl ForeignObj for RestartObj {
    fn type_name(&self) -> &'static str {
        "RESTART"
    }
    fn trace(&self, t: &mut crate::gc::Tracer) {
        self.name.trace(t)
    }
    fn describe(&self) -> String {
        prin1_string(&self.name)
    }
    fn princ_text(&self, ctx: &mut Ctx) -> Option<String> {
        let r = ctx.restarts.iter().find(|r| r.id == self.id).cloned()?;
        Some(restart_report(ctx, &r))
    }
    fn class(&self) -> Option<Gc<Class>> {
        Some(clos::cl_class("RESTART"))
    }
}

/// The Lisp object for an active restart.
pub fn restart_object(r: &Restart) -> Value {
    foreign::make(RestartObj {
        id: r.id,
        name: r.name.clone(),
    })
}

/// The active restart a restart object refers to.
pub fn find_active(ctx: &Ctx, obj: &Value) -> Option<Restart> {
    let id = foreign::get::<RestartObj>(obj)?.id;
    ctx.restarts.iter().find(|r| r.id == id).cloned()
}

/// Invoke a restart with arguments.
pub fn invoke(ctx: &mut Ctx, r: &Restart, args: Vec<Value>) -> R {
    match &r.action {
        RestartAction::Call(f) => apply(ctx, f, &args),
        RestartAction::Unwind { target, clause } => {
            ctx.exit_values = args;
            ctx.exit_tag = *clause;
            Err(Exit::to(*target))
        }
    }
}

/// The report text of a restart.
pub fn restart_report(ctx: &mut Ctx, r: &Restart) -> String {
    match &r.report {
        Value::Nil => match &r.name {
            Value::Nil => "(unnamed restart)".into(),
            n => prin1_string(n),
        },
        v if v.is_string() => crate::array::string_of(v).unwrap(),
        f => {
            let out = crate::stream::make_string_output();
            if apply(ctx, f, std::slice::from_ref(&out)).is_ok() {
                if let Value::Stream(s) = &out {
                    return crate::stream::take_string_output(s).unwrap_or_default();
                }
            }
            prin1_string(&r.name)
        }
    }
}

/// Run `body` with restarts named (CL symbol name, report) established.
/// Returns Ok(Ok(value)) if the body returned, Ok(Err((index, args))) if
/// restart `index` was invoked with `args`.
pub fn with_restarts(
    ctx: &mut Ctx,
    specs: &[(&str, &str)],
    body: impl FnOnce(&mut Ctx) -> R,
) -> R<Result<Value, (usize, Vec<Value>)>> {
    let target = w().next_id();
    let mark = Mark::of(ctx);
    for (i, (name, report)) in specs.iter().enumerate().rev() {
        ctx.restarts.push(Restart {
            id: w().next_id(),
            name: Value::Symbol(intern_exported(name, &w().cl)),
            action: RestartAction::Unwind { target, clause: i },
            report: crate::array::Array::string(report),
            interactive: Value::Nil,
            test: Value::Nil,
            conditions: Vec::new(),
        });
    }
    let r = body(ctx);
    ctx.restarts.truncate(mark.restarts);
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.is_to(target) => {
            mark.restore(ctx);
            let args = std::mem::take(&mut ctx.exit_values);
            Ok(Err((ctx.exit_tag, args)))
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------
// Constructors for runtime errors

/// Double every tilde, so text can serve as a FORMAT control.
pub fn escape_tildes(s: &str) -> String {
    s.replace('~', "~~")
}

fn simple(class: &str, msg: String, extra: &[(&str, Value)]) -> Value {
    let mut ia: Vec<(&str, Value)> = vec![
        (
            "FORMAT-CONTROL",
            crate::array::Array::string(&escape_tildes(&msg)),
        ),
        ("FORMAT-ARGUMENTS", Value::Nil),
    ];
    ia.extend(extra.iter().cloned());
    make(class, &ia)
}

/// A SIMPLE-ERROR with a message.
pub fn simple_error(ctx: &mut Ctx, msg: String) -> Exit {
    let c = simple("SIMPLE-ERROR", msg, &[]);
    error(ctx, c)
}

/// Signal a SIMPLE-WARNING with a message (see [`warn`]).
pub fn simple_warning(ctx: &mut Ctx, msg: String) -> R<()> {
    let c = simple("SIMPLE-WARNING", msg, &[]);
    warn(ctx, c)
}

/// A PROGRAM-ERROR with a message.
pub fn program_error(ctx: &mut Ctx, msg: String) -> Exit {
    let c = simple("SIMPLE-PROGRAM-ERROR", msg, &[]);
    error(ctx, c)
}

/// A SIMPLE-TYPE-ERROR with a message (bad bounding indices and the like).
pub fn simple_type_error(ctx: &mut Ctx, msg: String, datum: Value, expected: &str) -> Exit {
    let ty = crate::reader::read_type_spec(expected);
    let c = simple(
        "SIMPLE-TYPE-ERROR",
        msg,
        &[("DATUM", datum), ("EXPECTED-TYPE", ty)],
    );
    error(ctx, c)
}

/// A FORMAT-ERROR with a message.
pub fn format_error(ctx: &mut Ctx, msg: String) -> Exit {
    let c = simple("FORMAT-ERROR", msg, &[]);
    error(ctx, c)
}

/// A DESTRUCTURING-ERROR with a message.
pub fn destructuring_error(ctx: &mut Ctx, msg: String) -> Exit {
    let c = simple("DESTRUCTURING-ERROR", msg, &[]);
    error(ctx, c)
}

/// A CONTROL-ERROR with a message.
pub fn control_error(ctx: &mut Ctx, msg: String) -> Exit {
    let c = simple("SIMPLE-CONTROL-ERROR", msg, &[]);
    error(ctx, c)
}

/// A PACKAGE-ERROR with a message.
pub fn package_error(ctx: &mut Ctx, package: Value, msg: String) -> Exit {
    let c = simple("SIMPLE-PACKAGE-ERROR", msg, &[("PACKAGE", package)]);
    error(ctx, c)
}

/// A READER-ERROR with a message.
pub fn reader_error(ctx: &mut Ctx, stream: Value, msg: String) -> Exit {
    let c = simple("SIMPLE-READER-ERROR", msg, &[("STREAM", stream)]);
    error(ctx, c)
}

/// A PARSE-ERROR with a message.
pub fn parse_error(ctx: &mut Ctx, msg: String) -> Exit {
    let c = simple("SIMPLE-PARSE-ERROR", msg, &[]);
    error(ctx, c)
}

/// A STREAM-ERROR with a message.
pub fn stream_error(ctx: &mut Ctx, stream: Value, msg: String) -> Exit {
    let c = simple("SIMPLE-STREAM-ERROR", msg, &[("STREAM", stream)]);
    error(ctx, c)
}

/// A FILE-ERROR with a message.
pub fn file_error(ctx: &mut Ctx, path: Value, msg: String) -> Exit {
    let c = simple("SIMPLE-FILE-ERROR", msg, &[("PATHNAME", path)]);
    error(ctx, c)
}

/// END-OF-FILE on a stream.
pub fn end_of_file(ctx: &mut Ctx, stream: Value) -> Exit {
    let c = make("END-OF-FILE", &[("STREAM", stream)]);
    error(ctx, c)
}

/// An I/O error from the operating system.
pub fn io_error(ctx: &mut Ctx, op: &str, what: &str, e: std::io::Error) -> Exit {
    let c = simple(
        "SIMPLE-STREAM-ERROR",
        format!("{} error on {}: {}", op, what, e),
        &[],
    );
    error(ctx, c)
}

/// A timeout on an I/O operation.
pub fn timeout_error(ctx: &mut Ctx, op: &str, what: &str, secs: f64) -> Exit {
    let c = simple(
        "TIMEOUT-ERROR",
        format!("{} on {} timed out after {} seconds", op, what, secs),
        &[],
    );
    error(ctx, c)
}

/// A TYPE-ERROR: `datum` is not of the type written `expected`.
pub fn type_error(ctx: &mut Ctx, datum: Value, expected: &str) -> Exit {
    let ty = crate::reader::read_type_spec(expected);
    type_error_v(ctx, datum, ty)
}

/// A TYPE-ERROR with the expected type as a value.
pub fn type_error_v(ctx: &mut Ctx, datum: Value, expected: Value) -> Exit {
    let c = make(
        "TYPE-ERROR",
        &[("DATUM", datum), ("EXPECTED-TYPE", expected)],
    );
    error(ctx, c)
}

/// An index out of bounds.
pub fn index_error(ctx: &mut Ctx, index: Value, len: usize, what: &Value) -> Exit {
    let c = simple(
        "SIMPLE-TYPE-ERROR",
        format!(
            "Invalid index {} for {}, should be a non-negative integer below {}.",
            prin1_string(&index),
            crate::types::describe_sequence_kind(what),
            len
        ),
        &[
            ("DATUM", index),
            (
                "EXPECTED-TYPE",
                list_from([
                    Value::Symbol(w().s.integer.clone()),
                    Value::Fixnum(0),
                    Value::Fixnum(len as i64 - 1),
                ]),
            ),
        ],
    );
    error(ctx, c)
}

/// Division by zero in an operation.
pub fn division_by_zero(ctx: &mut Ctx, op: &str, operands: &[Value]) -> Exit {
    let opsym = crate::world::intern_value(op, &w().cl);
    let c = make(
        "DIVISION-BY-ZERO",
        &[
            ("OPERATION", opsym),
            ("OPERANDS", list_from(operands.iter().cloned())),
        ],
    );
    error(ctx, c)
}

/// An unbound variable reference.
pub fn unbound_variable(ctx: &mut Ctx, sym: &Gc<crate::symbol::Symbol>) -> Exit {
    let c = make(
        "UNBOUND-VARIABLE",
        &[("NAME", crate::symbol::sym_value(sym))],
    );
    error(ctx, c)
}

/// A call of an undefined function.
pub fn undefined_function(ctx: &mut Ctx, name: Value) -> Exit {
    let c = make("UNDEFINED-FUNCTION", &[("NAME", name)]);
    error(ctx, c)
}

/// Signal UNDEFINED-FUNCTION with CONTINUE (try again) and USE-VALUE
/// restarts; returns the function to call.
pub fn undefined_function_restartable(ctx: &mut Ctx, name: Value) -> R {
    loop {
        let n = name.clone();
        let r = with_restarts(
            ctx,
            &[
                ("CONTINUE", "Retry calling the function."),
                ("USE-VALUE", "Call a specified function instead."),
            ],
            |ctx| Err(undefined_function(ctx, n)),
        )?;
        match r {
            Ok(v) => return Ok(v),
            Err((0, _)) => {
                if let Some(s) = symbol_of(&name) {
                    if let Value::Function(f) = s.function() {
                        if !s.is_macro() {
                            return Ok(Value::Function(f));
                        }
                    }
                }
            }
            Err((_, args)) => return Ok(args.into_iter().next().unwrap_or(Value::Nil)),
        }
    }
}

/// A wrong number of arguments.
pub fn arity_error(ctx: &mut Ctx, f: &Value, n: usize) -> Exit {
    let name = f.as_function_name();
    let who = if name.is_nil() {
        "anonymous function".to_string()
    } else {
        prin1_string(&name)
    };
    program_error(
        ctx,
        format!("invalid number of arguments to {}: {}", who, n),
    )
}

/// The control stack is exhausted (runaway recursion).
pub fn stack_exhausted(ctx: &mut Ctx) -> Exit {
    // Handlers run on what is left of the stack, plus a reserve.
    let saved = ctx.stack_limit;
    ctx.stack_limit = ctx.stack_limit.saturating_sub(crate::ctx::STACK_RESERVE);
    let c = simple(
        "SIMPLE-STORAGE-CONDITION",
        "Control stack exhausted (no more space for function call frames). This is probably due to heavily nested or infinitely recursive function calls.".into(),
        &[],
    );
    let e = error(ctx, c);
    ctx.stack_limit = saved;
    e
}

/// A warning: signalled; printed on *ERROR-OUTPUT* unless muffled.
pub fn warn(ctx: &mut Ctx, cond: Value) -> R<()> {
    let c2 = cond.clone();
    let r = with_restarts(ctx, &[("MUFFLE-WARNING", "Ignore the warning.")], |ctx| {
        signal(ctx, &c2)?;
        Ok(Value::Nil)
    })?;
    if r.is_ok() {
        let text = report_string(ctx, &cond)?;
        let err = crate::stream::output_designator(ctx, &w().s.error_output.value())?;
        crate::stream::fresh_line(ctx, &err)?;
        crate::stream::write_str(ctx, &err, &format!("WARNING: {}\n", text))?;
    }
    Ok(())
}
