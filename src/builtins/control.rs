//! Control: special operators (documented here, compiled by the
//! compiler), function calling, multiple values, evaluation, equality and
//! the runtime side of DEFUN / DEFMACRO.

use super::{function, opt, opt_nil, symbol};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::eval::apply;
use crate::function::FnKind;
use crate::gc::Gc;
use crate::symbol as sy;
use crate::value::Value;
use crate::world::{symbol_of, w};

fn special(_ctx: &mut Ctx, _a: &[Value]) -> R {
    unreachable!("special operators are compiled")
}

/// Whether a symbol names a function in a locked package.
fn check_redefinition(ctx: &mut Ctx, s: &Gc<sy::Symbol>, what: &str) -> R<()> {
    if let Some(p) = s.package() {
        if p.locked.get() && s.is_fbound() {
            return Err(cond::package_error(
                ctx,
                Value::Package(p.clone()),
                format!(
                    "Lock on package {} violated when defining {} as a {}.",
                    p.name(),
                    s.name(),
                    what
                ),
            ));
        }
    }
    if s.has(sy::SPECIAL_OPERATOR) {
        return Err(cond::program_error(
            ctx,
            format!(
                "{} names a special operator and cannot be redefined",
                s.name()
            ),
        ));
    }
    Ok(())
}

/// Set the function named `name` (a symbol or (setf symbol)).
pub fn set_fdefinition(ctx: &mut Ctx, name: &Value, f: Value) -> R<()> {
    match name {
        Value::Cons(_) if name.first().eq(&Value::Symbol(w().s.setf.clone())) => {
            let s = symbol(ctx, &name.second())?;
            s.extra_mut().setf_function = f;
            Ok(())
        }
        _ => {
            let s = symbol(ctx, name)?;
            check_redefinition(ctx, &s, "function")?;
            s.clear_flag(sy::LOCKED);
            s.set_function(f);
            super::trace::redefined(ctx, &s)
        }
    }
}

/// The function named `name`, if defined.
pub fn fdefinition_of(name: &Value) -> Option<Value> {
    match name {
        Value::Cons(_) if name.first().eq(&Value::Symbol(w().s.setf.clone())) => {
            let s = symbol_of(&name.second())?;
            match s.extra_field(|e| e.setf_function.clone()) {
                Value::Nil => None,
                f => Some(f),
            }
        }
        _ => {
            let s = symbol_of(name)?;
            match s.function() {
                Value::Unbound => None,
                f => Some(f),
            }
        }
    }
}

crate::defbuiltins! {
    /// Return OBJECT without evaluating it.
    special QUOTE "QUOTE" "(object)" (ctx, a) { special(ctx, a) }
    /// Return the function named NAME, or the closure of a lambda expression.
    special FUNCTION "FUNCTION" "(name)" (ctx, a) { special(ctx, a) }
    /// Evaluate TEST, then THEN if it is true, else ELSE.
    special IF "IF" "(test then &optional else)" (ctx, a) { special(ctx, a) }
    /// Evaluate FORMS in order, returning the values of the last.
    special PROGN "PROGN" "(&rest forms)" (ctx, a) { special(ctx, a) }
    /// Bind variables in parallel, then evaluate BODY.
    special LET "LET" "((&rest bindings) &body body)" (ctx, a) { special(ctx, a) }
    /// Bind variables sequentially, then evaluate BODY.
    special LET_STAR "LET*" "((&rest bindings) &body body)" (ctx, a) { special(ctx, a) }
    /// Assign values to variables, left to right.
    special SETQ "SETQ" "(&rest pairs)" (ctx, a) { special(ctx, a) }
    /// Define local functions that cannot see each other.
    special FLET "FLET" "((&rest definitions) &body body)" (ctx, a) { special(ctx, a) }
    /// Define local functions that can call each other and themselves.
    special LABELS "LABELS" "((&rest definitions) &body body)" (ctx, a) { special(ctx, a) }
    /// Define local macros.
    special MACROLET "MACROLET" "((&rest definitions) &body body)" (ctx, a) { special(ctx, a) }
    /// Define local symbol macros.
    special SYMBOL_MACROLET "SYMBOL-MACROLET" "((&rest bindings) &body body)" (ctx, a) { special(ctx, a) }
    /// Establish a block named NAME that RETURN-FROM can exit.
    special BLOCK "BLOCK" "(name &body body)" (ctx, a) { special(ctx, a) }
    /// Exit the block NAME with the values of VALUE.
    special RETURN_FROM "RETURN-FROM" "(name &optional value)" (ctx, a) { special(ctx, a) }
    /// Execute statements; symbols and integers are tags GO can jump to.
    special TAGBODY "TAGBODY" "(&rest statements)" (ctx, a) { special(ctx, a) }
    /// Transfer control to TAG in an enclosing TAGBODY.
    special GO "GO" "(tag)" (ctx, a) { special(ctx, a) }
    /// Evaluate BODY with a catch tag that THROW can exit to.
    special CATCH "CATCH" "(tag &body body)" (ctx, a) { special(ctx, a) }
    /// Exit to the innermost CATCH with an EQ tag.
    special THROW "THROW" "(tag result)" (ctx, a) { special(ctx, a) }
    /// Evaluate PROTECTED; always evaluate CLEANUP afterwards.
    special UNWIND_PROTECT "UNWIND-PROTECT" "(protected &body cleanup)" (ctx, a) { special(ctx, a) }
    /// Call FUNCTION with all the values of all FORMS as arguments.
    special MULTIPLE_VALUE_CALL "MULTIPLE-VALUE-CALL" "(function &rest forms)" (ctx, a) { special(ctx, a) }
    /// Evaluate FIRST and FORMS, returning the values of FIRST.
    special MULTIPLE_VALUE_PROG1 "MULTIPLE-VALUE-PROG1" "(first &body forms)" (ctx, a) { special(ctx, a) }
    /// Return the values of FORM (declared to be of TYPE).
    special THE "THE" "(type form)" (ctx, a) { special(ctx, a) }
    /// Evaluate BODY with local declarations.
    special LOCALLY "LOCALLY" "(&body body)" (ctx, a) { special(ctx, a) }
    /// Evaluate BODY in the given situations (:compile-toplevel :load-toplevel :execute).
    special EVAL_WHEN "EVAL-WHEN" "((&rest situations) &body body)" (ctx, a) { special(ctx, a) }
    /// Evaluate FORM once, when the code is loaded.
    special LOAD_TIME_VALUE "LOAD-TIME-VALUE" "(form &optional read-only-p)" (ctx, a) { special(ctx, a) }
    /// Bind the special variables SYMBOLS to VALUES dynamically around BODY.
    special PROGV "PROGV" "(symbols values &body body)" (ctx, a) { special(ctx, a) }

    /// Call FUNCTION with ARGS.
    fn FUNCALL "FUNCALL" "(function &rest args)" [mv] (ctx, a) {
        let f = function(ctx, &a[0])?;
        apply(ctx, &f, &a[1..])
    }

    /// Call FUNCTION with the ARGS, the last of which is a list of further arguments.
    fn APPLY "APPLY" "(function arg &rest args)" [mv] (ctx, a) {
        let f = function(ctx, &a[0])?;
        let mut args: Vec<Value> = a[1..a.len() - 1].to_vec();
        let last = &a[a.len() - 1];
        args.extend(super::list_items(ctx, last)?);
        apply(ctx, &f, &args)
    }

    /// Return OBJECTS as multiple values.
    fn VALUES "VALUES" "(&rest objects)" [mv] (ctx, a) {
        Ok(ctx.set_values(a.to_vec()))
    }

    /// Return the elements of LIST as multiple values.
    fn VALUES_LIST "VALUES-LIST" "(list)" [mv] (ctx, a) {
        let items = super::list_items(ctx, &a[0])?;
        Ok(ctx.set_values(items))
    }

    /// Evaluate FORM in the null lexical environment.
    fn EVAL "EVAL" "(form)" [mv] (ctx, a) {
        crate::eval::eval(ctx, &a[0])
    }

    /// Return OBJECT.
    fn IDENTITY "IDENTITY" "(object)" (ctx, a) { Ok(a[0].clone()) }

    /// Return a function that always returns VALUE.
    fn CONSTANTLY "CONSTANTLY" "(value)" (ctx, a) {
        Ok(crate::eval::make_native_closure("CONSTANTLY", vec![a[0].clone()], |_ctx, env, _args| Ok(env[0].clone())))
    }

    /// Return a function computing the negation of FUNCTION.
    fn COMPLEMENT "COMPLEMENT" "(function)" (ctx, a) {
        let f = function(ctx, &a[0])?;
        Ok(crate::eval::make_native_closure_arity("COMPLEMENT", (0, None), vec![f], |ctx, env, args| {
            Ok(Value::bool(apply(ctx, &env[0], args)?.is_nil()))
        }))
    }

    /// Whether OBJECT is a function.
    fn FUNCTIONP "FUNCTIONP" "(object)" (ctx, a) { Ok(Value::bool(matches!(a[0], Value::Function(_)))) }

    /// Whether OBJECT is a compiled function (every netlisp function is analysed once, so T).
    fn COMPILED_FUNCTION_P "COMPILED-FUNCTION-P" "(object)" (ctx, a) { Ok(Value::bool(matches!(a[0], Value::Function(_)))) }

    /// Return the lambda expression of FUNCTION (NIL when unknown), whether it is a closure, and its name.
    fn FUNCTION_LAMBDA_EXPRESSION "FUNCTION-LAMBDA-EXPRESSION" "(function)" [mv] (ctx, a) {
        let (expr, closure, name) = match &a[0] {
            Value::Function(f) => match &f.kind {
                FnKind::Closure { code, .. } => (code.lambda_expression(), true, f.name()),
                _ => (Value::Nil, true, f.name()),
            },
            other => return Err(cond::type_error(ctx, other.clone(), "FUNCTION")),
        };
        Ok(ctx.set_values(vec![expr, Value::bool(closure), name]))
    }

    /// EQ: the same object.
    fn EQ "EQ" "(x y)" (ctx, a) { Ok(Value::bool(a[0].eq(&a[1]))) }
    /// EQL: EQ, or numbers and characters of the same type and value.
    fn EQL "EQL" "(x y)" (ctx, a) { Ok(Value::bool(a[0].eql(&a[1]))) }
    /// EQUAL: structurally equal conses, strings and bit vectors.
    fn EQUAL "EQUAL" "(x y)" (ctx, a) { Ok(Value::bool(a[0].equal(&a[1]))) }
    /// EQUALP: like EQUAL, ignoring case and numeric type, descending into arrays and structures.
    fn EQUALP "EQUALP" "(x y)" (ctx, a) { Ok(Value::bool(a[0].equalp(&a[1]))) }
    /// T if OBJECT is NIL.
    fn NOT "NOT" "(object)" (ctx, a) { Ok(Value::bool(a[0].is_nil())) }
    /// T if OBJECT is NIL.
    fn NULL "NULL" "(object)" (ctx, a) { Ok(Value::bool(a[0].is_nil())) }

    /// Expand FORM once if it is a macro form; second value: whether it was expanded.
    fn MACROEXPAND_1 "MACROEXPAND-1" "(form &optional env)" [mv] (ctx, a) {
        let (v, expanded) = macroexpand_1(ctx, &a[0], &opt_nil(a, 1))?;
        Ok(ctx.values2(v, Value::bool(expanded)))
    }

    /// Expand FORM until it is not a macro form; second value: whether it was expanded.
    fn MACROEXPAND "MACROEXPAND" "(form &optional env)" [mv] (ctx, a) {
        let env = opt_nil(a, 1);
        let mut form = a[0].clone();
        let mut any = false;
        loop {
            let (v, e) = macroexpand_1(ctx, &form, &env)?;
            if !e {
                break;
            }
            any = true;
            form = v;
        }
        Ok(ctx.values2(form, Value::bool(any)))
    }

    /// The expander function of the macro SYMBOL, or NIL.
    fn MACRO_FUNCTION "MACRO-FUNCTION" "(symbol &optional env)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        if let Some(f) = local_macro(&opt_nil(a, 1), &s) {
            return Ok(f);
        }
        Ok(if s.is_macro() { s.function() } else { Value::Nil })
    }

    /// Whether SYMBOL names a special operator.
    fn SPECIAL_OPERATOR_P "SPECIAL-OPERATOR-P" "(symbol)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        Ok(Value::bool(s.has(sy::SPECIAL_OPERATOR)))
    }

    /// Whether NAME (a symbol or (setf symbol)) has a global function, macro or special-operator definition.
    fn FBOUNDP "FBOUNDP" "(name)" (ctx, a) {
        // Like SBCL, the function itself stands for true when there is one.
        Ok(match &a[0] {
            Value::Cons(_) => fdefinition_of(&a[0]).unwrap_or(Value::Nil),
            other => {
                let s = symbol(ctx, other)?;
                match s.function() {
                    Value::Function(f) if !s.is_macro() => Value::Function(f),
                    _ => Value::bool(s.is_fbound()),
                }
            }
        })
    }

    /// Remove the global function definition of NAME.
    fn FMAKUNBOUND "FMAKUNBOUND" "(name)" (ctx, a) {
        match &a[0] {
            Value::Cons(_) => {
                let s = symbol(ctx, &a[0].second())?;
                s.extra_mut().setf_function = Value::Nil;
            }
            other => {
                let s = symbol(ctx, other)?;
                check_redefinition(ctx, &s, "function")?;
                s.clear_function();
            }
        }
        Ok(a[0].clone())
    }

    /// The global function named NAME.
    fn FDEFINITION "FDEFINITION" "(name)" (ctx, a) {
        match fdefinition_of(&a[0]) {
            Some(f) => Ok(f),
            None => Err(cond::undefined_function(ctx, a[0].clone())),
        }
    }

    /// Set the global function named NAME (the setf function of FDEFINITION).
    fn SETF_FDEFINITION "NETLISP-SYSTEM:%SET-FDEFINITION" "(function name)" (ctx, a) {
        set_fdefinition(ctx, &a[1], a[0].clone())?;
        Ok(a[0].clone())
    }

    /// Compile NAME's definition (or DEFINITION); netlisp code is already compiled, so this returns the function.
    fn COMPILE "COMPILE" "(name &optional definition)" [mv] (ctx, a) {
        let f = match opt(a, 1) {
            Some(d) => {
                let d = if d.is_cons() { crate::eval::eval(ctx, d)? } else { d.clone() };
                if a[0].truthy() {
                    set_fdefinition(ctx, &a[0], d.clone())?;
                }
                d
            }
            None => fdefinition_of(&a[0]).unwrap_or(Value::Nil),
        };
        let r = if a[0].truthy() { a[0].clone() } else { f };
        Ok(ctx.set_values(vec![r, Value::Nil, Value::Nil]))
    }

    /// Define NAME as FUNCTION (the expansion of DEFUN).
    fn PERCENT_DEFUN "NETLISP-SYSTEM:%DEFUN" "(name function)" (ctx, a) {
        set_fdefinition(ctx, &a[0], a[1].clone())?;
        Ok(a[0].clone())
    }

    /// Define NAME as a macro with EXPANDER (the expansion of DEFMACRO).
    fn PERCENT_DEFMACRO "NETLISP-SYSTEM:%DEFMACRO" "(name expander)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        check_redefinition(ctx, &s, "macro")?;
        s.clear_flag(sy::LOCKED);
        s.set_macro(a[1].clone());
        Ok(a[0].clone())
    }

    /// Accept a global declaration (SPECIAL proclamations take effect).
    fn PROCLAIM "PROCLAIM" "(declaration)" (ctx, a) {
        proclaim(ctx, &a[0])?;
        Ok(Value::Nil)
    }
}

/// Apply a proclamation: SPECIAL marks variables special; others are
/// accepted and ignored.
pub fn proclaim(ctx: &mut Ctx, decl: &Value) -> R<()> {
    if let Value::Symbol(h) = decl.first() {
        if Gc::ptr_eq(&h, &w().s.special) {
            for v in decl.rest().iter() {
                let s = symbol(ctx, &v)?;
                s.set_flag(sy::SPECIAL);
            }
        }
    }
    Ok(())
}

fn local_macro(env: &Value, s: &Gc<sy::Symbol>) -> Option<Value> {
    let me = crate::foreign::get::<crate::compiler::MacroEnv>(env)?;
    for e in me.entries.iter().rev() {
        match e {
            crate::compiler::Scope::Macro(n, f) if Gc::ptr_eq(n, s) => return Some(f.clone()),
            crate::compiler::Scope::Fun(n, _) if n.eq(&Value::Symbol(s.clone())) => return None,
            _ => {}
        }
    }
    None
}

fn local_symbol_macro(env: &Value, s: &Gc<sy::Symbol>) -> Option<Option<Value>> {
    let me = crate::foreign::get::<crate::compiler::MacroEnv>(env)?;
    for e in me.entries.iter().rev() {
        match e {
            crate::compiler::Scope::SymMacro(n, x) if Gc::ptr_eq(n, s) => {
                return Some(Some(x.clone()))
            }
            crate::compiler::Scope::Var(n, _) | crate::compiler::Scope::Special(n)
                if Gc::ptr_eq(n, s) =>
            {
                return Some(None)
            }
            _ => {}
        }
    }
    None
}

/// One step of macro expansion in environment `env`.
pub fn macroexpand_1(ctx: &mut Ctx, form: &Value, env: &Value) -> R<(Value, bool)> {
    match form {
        Value::Symbol(s) => {
            match local_symbol_macro(env, s) {
                Some(Some(x)) => return Ok((x, true)),
                Some(None) => return Ok((form.clone(), false)),
                None => {}
            }
            if s.has(sy::SYMBOL_MACRO) {
                return Ok((s.extra_field(|e| e.symbol_macro.clone()), true));
            }
            Ok((form.clone(), false))
        }
        Value::Cons(_) => {
            let Some(s) = symbol_of(&form.first()) else {
                return Ok((form.clone(), false));
            };
            if let Some(f) = local_macro(env, &s) {
                return Ok((
                    crate::compiler::expand_with(ctx, &f, form, env.clone())?,
                    true,
                ));
            }
            if s.is_macro() {
                let f = s.function();
                return Ok((
                    crate::compiler::expand_with(ctx, &f, form, env.clone())?,
                    true,
                ));
            }
            Ok((form.clone(), false))
        }
        _ => Ok((form.clone(), false)),
    }
}
