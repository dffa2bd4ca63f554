//! Condition system functions: ERROR, SIGNAL, WARN, CERROR, restarts,
//! condition accessors, and the runtime helpers of CASE, ASSERT and
//! CHECK-TYPE.

use super::{function, opt, opt_nil};
use crate::array::Array;
use crate::clos;
use crate::conditions as cond;
use crate::ctx::{Ctx, Restart, RestartAction, R};
use crate::eval::apply;
use crate::value::{list_from, Value};
use crate::world::{keyword, w};

/// Turn ERROR-style arguments (datum &rest arguments) into a condition.
pub fn coerce_condition(ctx: &mut Ctx, datum: &Value, args: &[Value], default: &str) -> R {
    match datum {
        v if cond::is_condition(v) => Ok(v.clone()),
        v if v.is_string() || matches!(v, Value::Function(_)) => Ok(cond::make(
            default,
            &[
                ("FORMAT-CONTROL", v.clone()),
                ("FORMAT-ARGUMENTS", list_from(args.iter().cloned())),
            ],
        )),
        Value::Symbol(_) | Value::Class(_) => {
            let class = match datum {
                Value::Class(c) => Some(c.clone()),
                _ => clos::find_class(datum),
            };
            let Some(class) = class.filter(|c| c.kind == clos::ClassKind::Condition) else {
                return Err(cond::type_error(
                    ctx,
                    datum.clone(),
                    "(OR CONDITION SYMBOL STRING FUNCTION)",
                ));
            };
            clos::make_instance_basic(ctx, &class, args)
        }
        other => Err(cond::type_error(
            ctx,
            other.clone(),
            "(OR CONDITION SYMBOL STRING FUNCTION)",
        )),
    }
}

fn restart_arg(ctx: &mut Ctx, v: &Value) -> R<Restart> {
    let found = match v {
        Value::Symbol(_) | Value::Nil => ctx.restarts.iter().rev().find(|r| r.name.eq(v)).cloned(),
        other => cond::find_active(ctx, other),
    };
    match found {
        Some(r) => Ok(r),
        None => Err(cond::control_error(
            ctx,
            format!("No restart {} is active.", crate::printer::prin1_string(v)),
        )),
    }
}

fn applicable(ctx: &mut Ctx, r: &Restart, c: &Value) -> R<bool> {
    if c.truthy() && !r.conditions.is_empty() && !r.conditions.iter().any(|x| x.eq(c)) {
        return Ok(false);
    }
    if r.test.truthy() {
        return Ok(apply(ctx, &r.test, std::slice::from_ref(c))?.truthy());
    }
    Ok(true)
}

fn invoke_named(ctx: &mut Ctx, name: &str, c: &Value, args: Vec<Value>, must: bool) -> R {
    let sym = Value::Symbol(crate::world::cl_sym(name));
    let rs: Vec<Restart> = ctx
        .restarts
        .iter()
        .rev()
        .filter(|r| r.name.eq(&sym))
        .cloned()
        .collect();
    for r in rs {
        if applicable(ctx, &r, c)? {
            return cond::invoke(ctx, &r, args);
        }
    }
    if must {
        return Err(cond::control_error(
            ctx,
            format!("No restart {} is active.", name),
        ));
    }
    Ok(Value::Nil)
}

crate::defbuiltins! {
    /// Signal an error: a condition, a condition type with initargs, or a format control with arguments.
    fn ERROR "ERROR" "(datum &rest arguments)" (ctx, a) {
        let c = coerce_condition(ctx, &a[0], &a[1..], "SIMPLE-ERROR")?;
        Err(cond::error(ctx, c))
    }
    /// Signal an error with a CONTINUE restart that returns NIL.
    fn CERROR "CERROR" "(continue-format-control datum &rest arguments)" (ctx, a) {
        let c = coerce_condition(ctx, &a[1], &a[2..], "SIMPLE-ERROR")?;
        let report = crate::format::format_to_string(ctx, &a[0], &a[2..]).unwrap_or_default();
        let target = w().next_id();
        let mark = crate::eval::Mark::of(ctx);
        ctx.restarts.push(Restart {
            id: w().next_id(),
            name: Value::Symbol(crate::world::cl_sym("CONTINUE")),
            action: RestartAction::Unwind { target, clause: 0 },
            report: Array::string(&report),
            interactive: Value::Nil,
            test: Value::Nil,
            conditions: vec![c.clone()],
        });
        let e = cond::error(ctx, c);
        ctx.restarts.truncate(mark.restarts);
        match e {
            e if e.is_to(target) => { mark.restore(ctx); Ok(Value::Nil) }
            other => Err(other),
        }
    }
    /// Signal a condition; returns NIL if no handler transfers control.
    fn SIGNAL "SIGNAL" "(datum &rest arguments)" (ctx, a) {
        let c = coerce_condition(ctx, &a[0], &a[1..], "SIMPLE-CONDITION")?;
        let bos = w().s.break_on_signals.value();
        if bos.truthy() && crate::types::typep(ctx, &c, &bos)? {
            return Err(cond::invoke_debugger(ctx, c));
        }
        cond::signal(ctx, &c)?;
        Ok(Value::Nil)
    }
    /// Signal a warning; print it on *ERROR-OUTPUT* unless a handler muffles it.
    fn WARN "WARN" "(datum &rest arguments)" (ctx, a) {
        let c = coerce_condition(ctx, &a[0], &a[1..], "SIMPLE-WARNING")?;
        cond::warn(ctx, c)?;
        Ok(Value::Nil)
    }
    /// Make a condition of TYPE with initargs.
    fn MAKE_CONDITION "MAKE-CONDITION" "(type &rest slot-initializations)" (ctx, a) {
        let class = match &a[0] { Value::Class(c) => Some(c.clone()), v => clos::find_class(v) };
        match class {
            Some(c) if c.kind == clos::ClassKind::Condition => clos::make_instance_basic(ctx, &c, &a[1..]),
            _ => Err(cond::type_error(ctx, a[0].clone(), "(SATISFIES CONDITION-CLASS-P)")),
        }
    }
    /// Enter the debugger with CONDITION.
    fn INVOKE_DEBUGGER "INVOKE-DEBUGGER" "(condition)" (ctx, a) { Err(cond::invoke_debugger(ctx, a[0].clone())) }
    /// Enter the debugger with a message (a CONTINUE restart returns NIL).
    fn BREAK "BREAK" "(&optional (format-control \"break\") &rest format-arguments)" (ctx, a) {
        let control = opt(a, 0).cloned().unwrap_or_else(|| Array::string("break"));
        let c = coerce_condition(ctx, &control, &a[1.min(a.len())..], "SIMPLE-CONDITION")?;
        let r = cond::with_restarts(ctx, &[("CONTINUE", "Return from BREAK.")], |ctx| Err(cond::invoke_debugger(ctx, c)))?;
        Ok(match r { Ok(v) => v, Err(_) => Value::Nil })
    }
    /// Invoke the innermost ABORT restart.
    fn ABORT "ABORT" "(&optional condition)" (ctx, a) { invoke_named(ctx, "ABORT", &opt_nil(a, 0), vec![], true) }
    /// Invoke the innermost CONTINUE restart, if any.
    fn CONTINUE "CONTINUE" "(&optional condition)" (ctx, a) { invoke_named(ctx, "CONTINUE", &opt_nil(a, 0), vec![], false) }
    /// Invoke the innermost MUFFLE-WARNING restart.
    fn MUFFLE_WARNING "MUFFLE-WARNING" "(&optional condition)" (ctx, a) { invoke_named(ctx, "MUFFLE-WARNING", &opt_nil(a, 0), vec![], true) }
    /// Invoke the innermost STORE-VALUE restart with VALUE, if any.
    fn STORE_VALUE "STORE-VALUE" "(value &optional condition)" (ctx, a) { invoke_named(ctx, "STORE-VALUE", &opt_nil(a, 1), vec![a[0].clone()], false) }
    /// Invoke the innermost USE-VALUE restart with VALUE, if any.
    fn USE_VALUE "USE-VALUE" "(value &optional condition)" (ctx, a) { invoke_named(ctx, "USE-VALUE", &opt_nil(a, 1), vec![a[0].clone()], false) }
    /// Invoke RESTART (a restart or its name) with ARGUMENTS.
    fn INVOKE_RESTART "INVOKE-RESTART" "(restart &rest arguments)" [mv] (ctx, a) {
        let r = restart_arg(ctx, &a[0])?;
        cond::invoke(ctx, &r, a[1..].to_vec())
    }
    /// Invoke RESTART, asking for its arguments with its interactive function.
    fn INVOKE_RESTART_INTERACTIVELY "INVOKE-RESTART-INTERACTIVELY" "(restart)" [mv] (ctx, a) {
        let r = restart_arg(ctx, &a[0])?;
        let args = if r.interactive.truthy() {
            let l = apply(ctx, &r.interactive, &[])?;
            super::list_items(ctx, &l)?
        } else {
            vec![]
        };
        cond::invoke(ctx, &r, args)
    }
    /// The innermost active restart named IDENTIFIER (applicable to CONDITION), or NIL.
    fn FIND_RESTART "FIND-RESTART" "(identifier &optional condition)" (ctx, a) {
        let c = opt_nil(a, 1);
        let rs: Vec<Restart> = ctx.restarts.iter().rev().cloned().collect();
        for r in rs {
            let hit = match &a[0] {
                Value::Symbol(_) | Value::Nil => r.name.eq(&a[0]),
                other => cond::find_active(ctx, other).is_some_and(|x| x.id == r.id),
            };
            if hit && applicable(ctx, &r, &c)? {
                return Ok(cond::restart_object(&r));
            }
        }
        Ok(Value::Nil)
    }
    /// The active restarts, innermost first.
    fn COMPUTE_RESTARTS "COMPUTE-RESTARTS" "(&optional condition)" (ctx, a) {
        let c = opt_nil(a, 0);
        let rs: Vec<Restart> = ctx.restarts.iter().rev().cloned().collect();
        let mut out = vec![];
        for r in rs {
            if applicable(ctx, &r, &c)? { out.push(cond::restart_object(&r)); }
        }
        Ok(list_from(out))
    }
    /// The name of RESTART.
    fn RESTART_NAME "RESTART-NAME" "(restart)" (ctx, a) {
        match crate::foreign::get::<cond::RestartObj>(&a[0]) {
            Some(r) => Ok(r.name.clone()),
            None => Err(cond::type_error(ctx, a[0].clone(), "RESTART")),
        }
    }
    /// The report text of a restart (PRINC of a restart object).
    fn RESTART_REPORT "NETLISP-SYSTEM:%RESTART-REPORT" "(restart)" (ctx, a) {
        let r = restart_arg(ctx, &a[0])?;
        Ok(Array::string(&cond::restart_report(ctx, &r)))
    }
    /// Run THUNK with restarts made by RESTART-BIND: each spec is (name function report interactive test).
    fn CALL_WITH_RESTARTS "NETLISP-SYSTEM:%CALL-WITH-RESTARTS" "(specs thunk)" [mv] (ctx, a) {
        let mark = ctx.restarts.len();
        let specs = a[0].list_to_vec();
        for s in specs.iter().rev() {
            let f = function(ctx, &s.second())?;
            ctx.restarts.push(Restart {
                id: w().next_id(),
                name: s.first(),
                action: RestartAction::Call(f),
                report: s.third(),
                interactive: s.rest().rest().rest().first(),
                test: s.rest().rest().rest().rest().first(),
                conditions: vec![],
            });
        }
        let r = apply(ctx, &a[1], &[]);
        ctx.restarts.truncate(mark);
        r
    }
    /// The format control of a simple condition.
    fn SIMPLE_CONDITION_FORMAT_CONTROL "SIMPLE-CONDITION-FORMAT-CONTROL" "(condition)" (ctx, a) { Ok(cond::slot(&a[0], "FORMAT-CONTROL")) }
    /// The format arguments of a simple condition.
    fn SIMPLE_CONDITION_FORMAT_ARGUMENTS "SIMPLE-CONDITION-FORMAT-ARGUMENTS" "(condition)" (ctx, a) { Ok(cond::slot(&a[0], "FORMAT-ARGUMENTS")) }
    /// The offending datum of a type error.
    fn TYPE_ERROR_DATUM "TYPE-ERROR-DATUM" "(condition)" (ctx, a) { Ok(cond::slot(&a[0], "DATUM")) }
    /// The expected type of a type error.
    fn TYPE_ERROR_EXPECTED_TYPE "TYPE-ERROR-EXPECTED-TYPE" "(condition)" (ctx, a) { Ok(cond::slot(&a[0], "EXPECTED-TYPE")) }
    /// The name of an unbound variable, undefined function or unbound slot.
    fn CELL_ERROR_NAME "CELL-ERROR-NAME" "(condition)" (ctx, a) { Ok(cond::slot(&a[0], "NAME")) }
    /// The instance of an unbound-slot error.
    fn UNBOUND_SLOT_INSTANCE "UNBOUND-SLOT-INSTANCE" "(condition)" (ctx, a) { Ok(cond::slot(&a[0], "INSTANCE")) }
    /// The operation of an arithmetic error.
    fn ARITHMETIC_ERROR_OPERATION "ARITHMETIC-ERROR-OPERATION" "(condition)" (ctx, a) { Ok(cond::slot(&a[0], "OPERATION")) }
    /// The operands of an arithmetic error.
    fn ARITHMETIC_ERROR_OPERANDS "ARITHMETIC-ERROR-OPERANDS" "(condition)" (ctx, a) { Ok(cond::slot(&a[0], "OPERANDS")) }
    /// The stream of a stream error.
    fn STREAM_ERROR_STREAM "STREAM-ERROR-STREAM" "(condition)" (ctx, a) { Ok(cond::slot(&a[0], "STREAM")) }
    /// The pathname of a file error.
    fn FILE_ERROR_PATHNAME "FILE-ERROR-PATHNAME" "(condition)" (ctx, a) { Ok(cond::slot(&a[0], "PATHNAME")) }
    /// The package of a package error.
    fn PACKAGE_ERROR_PACKAGE "PACKAGE-ERROR-PACKAGE" "(condition)" (ctx, a) { Ok(cond::slot(&a[0], "PACKAGE")) }
    /// The object of a print-not-readable error.
    fn PRINT_NOT_READABLE_OBJECT "PRINT-NOT-READABLE-OBJECT" "(condition)" (ctx, a) { Ok(cond::slot(&a[0], "OBJECT")) }

    /// Signal the error of an ECASE or CCASE with no matching clause.
    fn CASE_FAILURE "NETLISP-SYSTEM:%CASE-FAILURE" "(key keys which)" (ctx, a) {
        let which = crate::printer::princ_string(&a[2]);
        let expected = Value::cons(Value::Symbol(w().s.member.clone()), a[1].clone());
        let msg = format!("{} fell through {} expression.\nWanted one of {}.", crate::printer::prin1_string(&a[0]), which, crate::printer::prin1_string(&a[1]));
        let c = cond::make("SIMPLE-TYPE-ERROR", &[
            ("FORMAT-CONTROL", Array::string(&msg.replace('~', "~~"))),
            ("FORMAT-ARGUMENTS", Value::Nil),
            ("DATUM", a[0].clone()),
            ("EXPECTED-TYPE", expected),
        ]);
        Err(cond::error(ctx, c))
    }
    /// Signal the error of an ETYPECASE or CTYPECASE with no matching clause.
    fn TYPECASE_FAILURE "NETLISP-SYSTEM:%TYPECASE-FAILURE" "(key types which)" (ctx, a) {
        let which = crate::printer::princ_string(&a[2]);
        let expected = Value::cons(Value::Symbol(w().s.or.clone()), a[1].clone());
        let msg = format!("{} fell through {} expression.\nWanted one of {}.", crate::printer::prin1_string(&a[0]), which, crate::printer::prin1_string(&a[1]));
        let c = cond::make("SIMPLE-TYPE-ERROR", &[
            ("FORMAT-CONTROL", Array::string(&msg.replace('~', "~~"))),
            ("FORMAT-ARGUMENTS", Value::Nil),
            ("DATUM", a[0].clone()),
            ("EXPECTED-TYPE", expected),
        ]);
        Err(cond::error(ctx, c))
    }
    /// Signal the error of a failed ASSERT, with a CONTINUE restart that retries.
    fn ASSERT_FAIL "NETLISP-SYSTEM:%ASSERT-FAIL" "(test datum &rest arguments)" (ctx, a) {
        let c = if a[1].is_nil() {
            let msg = format!("The assertion {} failed.", crate::printer::prin1_string(&a[0]));
            cond::make("SIMPLE-ERROR", &[("FORMAT-CONTROL", Array::string(&msg.replace('~', "~~"))), ("FORMAT-ARGUMENTS", Value::Nil)])
        } else {
            coerce_condition(ctx, &a[1], &a[2..], "SIMPLE-ERROR")?
        };
        let r = cond::with_restarts(ctx, &[("CONTINUE", "Retry assertion.")], |ctx| Err(cond::error(ctx, c)))?;
        Ok(match r { Ok(v) => v, Err(_) => Value::Nil })
    }
    /// Signal the error of a failed CHECK-TYPE; a STORE-VALUE restart supplies a new value.
    fn CHECK_TYPE_FAIL "NETLISP-SYSTEM:%CHECK-TYPE-FAIL" "(place value type type-string)" (ctx, a) {
        let what = if a[3].is_string() { crate::array::string_of(&a[3]).unwrap() } else { crate::printer::prin1_string(&a[2]) };
        let msg = format!("The value of {} is {}, which is not {}.", crate::printer::prin1_string(&a[0]), crate::printer::prin1_string(&a[1]),
            if a[3].is_string() { what } else { format!("of type {}", what) });
        let c = cond::make("SIMPLE-TYPE-ERROR", &[
            ("FORMAT-CONTROL", Array::string(&msg.replace('~', "~~"))),
            ("FORMAT-ARGUMENTS", Value::Nil),
            ("DATUM", a[1].clone()),
            ("EXPECTED-TYPE", a[2].clone()),
        ]);
        let r = cond::with_restarts(ctx, &[("STORE-VALUE", "Supply a new value.")], |ctx| Err(cond::error(ctx, c)))?;
        Ok(match r { Ok(v) => v, Err((_, args)) => args.into_iter().next().unwrap_or(Value::Nil) })
    }
    /// The report string of a condition.
    fn CONDITION_REPORT "NETLISP:CONDITION-REPORT" "(condition)" (ctx, a) {
        Ok(Array::string(&cond::report_string(ctx, &a[0])?))
    }
    /// Whether OBJECT is a condition.
    fn CONDITIONP "NETLISP:CONDITIONP" "(object)" (ctx, a) { Ok(Value::bool(cond::is_condition(&a[0]))) }
}

#[allow(dead_code)]
fn _kw(s: &str) -> Value {
    keyword(s)
}
