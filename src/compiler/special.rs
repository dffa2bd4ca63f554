//! Compilation of the special operators, and of the internal special
//! forms that standard macros (HANDLER-CASE, MULTIPLE-VALUE-BIND,
//! DESTRUCTURING-BIND, DEFMACRO, ...) expand into.

use super::node::*;
use super::{lambda_list, parse_body, Compiler, Scope};
use crate::conditions;
use crate::ctx::R;
use crate::gc::Gc;
use crate::printer::prin1_string;
use crate::symbol::{self, Symbol};
use crate::value::Value;
use crate::world::{intern_exported, symbol_of, w};
use hashbrown::HashMap;
use std::cell::RefCell;
use std::rc::Rc;

/// Compiles one special form.
pub type SpecialFn = fn(&mut Compiler, &Value) -> R<Node>;

thread_local! {
    static TABLE: RefCell<HashMap<usize, SpecialFn>> = RefCell::new(HashMap::new());
}

/// The compiler function for a special operator.
pub fn handler(s: &Gc<Symbol>) -> Option<SpecialFn> {
    TABLE.with(|t| t.borrow().get(&s.addr()).copied())
}

/// Install the special operators (flags and compiler table).
pub fn install() {
    let wd = w();
    let cl: &[(&str, SpecialFn)] = &[
        ("QUOTE", comp_quote),
        ("FUNCTION", comp_function),
        ("IF", comp_if),
        ("PROGN", comp_progn),
        ("LET", comp_let),
        ("LET*", comp_let_star),
        ("SETQ", comp_setq),
        ("FLET", comp_flet),
        ("LABELS", comp_labels),
        ("MACROLET", comp_macrolet),
        ("SYMBOL-MACROLET", comp_symbol_macrolet),
        ("BLOCK", comp_block),
        ("RETURN-FROM", comp_return_from),
        ("TAGBODY", comp_tagbody),
        ("GO", comp_go),
        ("CATCH", comp_catch),
        ("THROW", comp_throw),
        ("UNWIND-PROTECT", comp_unwind_protect),
        ("MULTIPLE-VALUE-CALL", comp_mv_call),
        ("MULTIPLE-VALUE-PROG1", comp_mv_prog1),
        ("THE", comp_the),
        ("LOCALLY", comp_locally),
        ("EVAL-WHEN", comp_eval_when),
        ("LOAD-TIME-VALUE", comp_load_time_value),
        ("PROGV", comp_progv),
    ];
    let sys: &[(&str, SpecialFn)] = &[
        ("NAMED-LAMBDA", comp_named_lambda_form),
        ("MACRO-LAMBDA", comp_macro_lambda),
        ("%MV-BIND", comp_mv_bind),
        ("%DESTRUCTURE", comp_destructure),
        ("%HANDLER-BIND", comp_handler_bind),
        ("%HANDLER-CASE", comp_handler_case),
        ("%RESTART-CASE", comp_restart_case),
        ("%SETF-CALL", comp_setf_call),
    ];
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        for (pkg, list) in [(&wd.cl, cl), (&wd.sys, sys)] {
            for (name, f) in list {
                let s = intern_exported(name, pkg);
                s.set_flag(symbol::SPECIAL_OPERATOR);
                t.insert(s.addr(), *f);
            }
        }
    });
}

fn nargs_check(c: &mut Compiler, form: &Value, min: usize, max: Option<usize>) -> R<()> {
    let n = form.rest().list_length().unwrap_or(0);
    let dotted = !form.rest().iter().count() == n || !matches!(last_tail(form), Value::Nil);
    if n < min || max.is_some_and(|m| n > m) || dotted {
        let name = prin1_string(&form.first());
        return Err(c.malformed(&format!("{} form", name), form));
    }
    Ok(())
}

fn last_tail(form: &Value) -> Value {
    let mut it = form.iter();
    for _ in it.by_ref() {}
    it.tail().clone()
}

fn comp_quote(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 1, Some(1))?;
    Ok(Node::Const(form.second()))
}

/// Compile `(function x)` given x.
pub fn comp_function_form(c: &mut Compiler, x: &Value) -> R<Node> {
    let wd = w();
    match x {
        Value::Symbol(s) => {
            if let Some(local) = c.local_function(x) {
                return match local {
                    Scope::Fun(_, id) => Ok(c.ref_var(id)),
                    _ => Err(conditions::program_error(
                        c.ctx,
                        format!("{} names a local macro, not a function", prin1_string(x)),
                    )),
                };
            }
            if s.has(symbol::SPECIAL_OPERATOR) || s.is_macro() {
                return Err(conditions::undefined_function(c.ctx, x.clone()));
            }
            if s.has(symbol::LOCKED) {
                let f = s.function();
                if matches!(f, Value::Function(_)) {
                    return Ok(Node::Const(f));
                }
            }
            Ok(Node::FunctionRef(s.clone(), c.loc()))
        }
        Value::Cons(_) => {
            let head = x.first();
            if head.eq(&Value::Symbol(wd.s.lambda.clone())) {
                let lam = c.comp_lambda(Value::Nil, &x.second(), &x.rest().rest(), None, false)?;
                return Ok(Node::Closure(lam));
            }
            if head.eq(&Value::Symbol(wd.s.setf.clone())) {
                if let Some(Scope::Fun(_, id)) = c.local_function(x) {
                    return Ok(c.ref_var(id));
                }
                if let Some(s) = symbol_of(&x.second()) {
                    return Ok(Node::SetfFunctionRef(s, c.loc()));
                }
            }
            if let Value::Symbol(h) = &head {
                if h.name() == "NAMED-LAMBDA" && h.home_is(&wd.sys) {
                    return comp_named_lambda(c, x);
                }
            }
            Err(c.malformed("function name", x))
        }
        Value::Nil => Err(conditions::undefined_function(c.ctx, Value::Nil)),
        _ => Err(c.malformed("function name", x)),
    }
}

fn comp_function(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 1, Some(1))?;
    comp_function_form(c, &form.second())
}

/// The block name of a function name: the symbol, or the symbol of
/// `(setf sym)`.
pub fn block_name_of(name: &Value) -> Value {
    match name {
        Value::Cons(_) => name.second(),
        _ => name.clone(),
    }
}

fn comp_named_lambda(c: &mut Compiler, x: &Value) -> R<Node> {
    // (named-lambda name lambda-list . body)
    let name = x.second();
    let rest = x.rest().rest();
    let lam = c.comp_lambda(
        name.clone(),
        &rest.first(),
        &rest.rest(),
        Some(block_name_of(&name)),
        false,
    )?;
    Ok(Node::Closure(lam))
}

fn comp_named_lambda_form(c: &mut Compiler, form: &Value) -> R<Node> {
    comp_named_lambda(c, form)
}

fn comp_macro_lambda(c: &mut Compiler, form: &Value) -> R<Node> {
    // (macro-lambda name lambda-list . body)
    let name = form.second();
    let rest = form.rest().rest();
    let lam = c.comp_lambda(
        name.clone(),
        &rest.first(),
        &rest.rest(),
        Some(block_name_of(&name)),
        true,
    )?;
    Ok(Node::Closure(lam))
}

fn comp_if(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 2, Some(3))?;
    let test = c.comp(&form.second())?;
    let then = c.comp(&form.third())?;
    let els = c.comp(&form.rest().rest().rest().first())?;
    Ok(Node::If(Box::new((test, then, els))))
}

fn comp_progn(c: &mut Compiler, form: &Value) -> R<Node> {
    c.comp_body(&form.rest())
}

fn parse_binding(c: &mut Compiler, b: &Value, form: &Value) -> R<(Gc<Symbol>, Value)> {
    match b {
        Value::Symbol(s) => Ok((s.clone(), Value::Nil)),
        Value::Cons(_) => {
            let n = b.list_length().unwrap_or(99);
            match (&b.first(), n) {
                (Value::Symbol(s), 1 | 2) => Ok((s.clone(), b.second())),
                _ => Err(c.malformed("binding", form)),
            }
        }
        _ => Err(c.malformed("binding", form)),
    }
}

fn comp_let_common(c: &mut Compiler, form: &Value, sequential: bool) -> R<Node> {
    let bindings = form.second();
    if !bindings.is_list() {
        return Err(c.malformed("LET bindings", form));
    }
    let (_, decls, body) = parse_body(c.ctx, &form.rest().rest(), false)?;
    let mark = c.scope_mark();
    let mut binds = Vec::new();
    let mut bound = Vec::new();
    let mut pending: Vec<(Gc<Symbol>, Binder)> = Vec::new();
    for b in bindings.iter() {
        let (sym, init) = parse_binding(c, &b, form)?;
        let init = c.comp(&init)?;
        let binder = c.make_binder(&sym, &decls)?;
        if sequential {
            c.enter_binder(&sym, &binder);
        } else {
            pending.push((sym.clone(), binder.clone()));
        }
        bound.push(sym);
        binds.push((binder, init));
    }
    for (s, b) in &pending {
        c.enter_binder(s, b);
    }
    c.enter_free_specials(&decls, &bound);
    let body = c.comp_body(&body)?;
    c.pop_scope_to(mark);
    if binds.is_empty() {
        return Ok(body);
    }
    let has_special = binds
        .iter()
        .any(|(b, _)| matches!(b.kind, BindKind::Special(_)));
    Ok(Node::Let(Box::new(Let {
        binds: binds.into_boxed_slice(),
        sequential,
        has_special,
        body,
    })))
}

fn comp_let(c: &mut Compiler, form: &Value) -> R<Node> {
    comp_let_common(c, form, false)
}

fn comp_let_star(c: &mut Compiler, form: &Value) -> R<Node> {
    comp_let_common(c, form, true)
}

/// Compile an assignment of `val` (already compiled) to symbol `s`.
pub fn assign(c: &mut Compiler, s: &Gc<Symbol>, val: Node, form: &Value) -> R<Node> {
    for i in (0..c.scope().len()).rev() {
        match &c.scope()[i] {
            Scope::Var(n, id) if Gc::ptr_eq(n, s) => {
                let id = *id;
                let _ = c.ref_var(id);
                return Ok(Node::SetLex(id, Box::new(val)));
            }
            Scope::Special(n) if Gc::ptr_eq(n, s) => {
                return Ok(Node::SetSpecial(s.clone(), Box::new(val)));
            }
            _ => {}
        }
    }
    if s.is_constant() {
        return Err(conditions::program_error(
            c.ctx,
            format!(
                "{} is a constant and thus can't be set: {}",
                s.name(),
                prin1_string(form)
            ),
        ));
    }
    Ok(Node::SetSpecial(s.clone(), Box::new(val)))
}

fn is_symbol_macro_here(c: &Compiler, s: &Gc<Symbol>) -> bool {
    for e in c.scope().iter().rev() {
        match e {
            Scope::Var(n, _) | Scope::Special(n) if Gc::ptr_eq(n, s) => return false,
            Scope::SymMacro(n, _) if Gc::ptr_eq(n, s) => return true,
            _ => {}
        }
    }
    s.has(symbol::SYMBOL_MACRO)
}

fn comp_setq(c: &mut Compiler, form: &Value) -> R<Node> {
    let pairs = form.rest().list_to_vec();
    if !pairs.len().is_multiple_of(2) {
        return Err(c.malformed("SETQ form (odd number of arguments)", form));
    }
    let mut nodes = Vec::new();
    for p in pairs.chunks(2) {
        let s = match &p[0] {
            Value::Symbol(s) => s.clone(),
            _ => return Err(c.malformed("SETQ form (not a variable)", form)),
        };
        if is_symbol_macro_here(c, &s) {
            let setf = Value::Symbol(w().s.setf.clone());
            let f = crate::value::list_from([setf, p[0].clone(), p[1].clone()]);
            nodes.push(c.comp(&f)?);
            continue;
        }
        let val = c.comp(&p[1])?;
        nodes.push(assign(c, &s, val, form)?);
    }
    Ok(progn(nodes))
}

/// Standard functions and macros may not be redefined locally: the
/// compiler inlines them, and SBCL's package lock forbids it too.
fn check_local_function_name(c: &mut Compiler, name: &Value, form: &Value) -> R<()> {
    let Some(s) = symbol_of(&block_name_of(name)) else {
        return Err(c.malformed("local function name", form));
    };
    if s.home_is(&w().cl)
        && (s.has(symbol::LOCKED) || s.is_macro() || s.has(symbol::SPECIAL_OPERATOR))
    {
        return Err(conditions::program_error(
            c.ctx,
            format!(
                "Lock on package COMMON-LISP violated when binding {} as a local function",
                s.name()
            ),
        ));
    }
    Ok(())
}

/// One definition `(name lambda-list . body)` of FLET or LABELS (`op`).
fn comp_local_function(c: &mut Compiler, d: &Value, form: &Value, op: &str) -> R<Rc<Lambda>> {
    let name = d.first();
    check_local_function_name(c, &name, form)?;
    let shown = c.display_name(Value::Symbol(intern_exported(op, &w().cl)), name.clone());
    c.comp_lambda(
        shown,
        &d.second(),
        &d.rest().rest(),
        Some(block_name_of(&name)),
        false,
    )
}

fn comp_flet(c: &mut Compiler, form: &Value) -> R<Node> {
    let defs = form.second();
    let mut funs = Vec::new();
    for d in defs.iter() {
        let lam = comp_local_function(c, &d, form, "FLET")?;
        funs.push((d.first(), lam));
    }
    let (_, decls, body) = parse_body(c.ctx, &form.rest().rest(), false)?;
    let mark = c.scope_mark();
    let mut binds = Vec::new();
    for (name, lam) in funs {
        let var = c.new_var();
        c.push_scope(Scope::Fun(name, var));
        binds.push((
            Binder {
                var,
                kind: BindKind::Unresolved,
            },
            Node::Closure(lam),
        ));
    }
    c.enter_free_specials(&decls, &[]);
    let body = c.comp_body(&body)?;
    c.pop_scope_to(mark);
    Ok(Node::Let(Box::new(Let {
        binds: binds.into_boxed_slice(),
        sequential: false,
        has_special: false,
        body,
    })))
}

fn comp_labels(c: &mut Compiler, form: &Value) -> R<Node> {
    let defs = form.second().list_to_vec();
    let mark = c.scope_mark();
    let mut vars = Vec::new();
    for d in &defs {
        let var = c.new_var();
        c.push_scope(Scope::Fun(d.first(), var));
        vars.push(var);
    }
    let mut sets = Vec::new();
    for (d, var) in defs.iter().zip(&vars) {
        let lam = comp_local_function(c, d, form, "LABELS")?;
        let _ = c.ref_var(*var);
        sets.push(Node::SetLex(*var, Box::new(Node::Closure(lam))));
    }
    let (_, decls, body) = parse_body(c.ctx, &form.rest().rest(), false)?;
    c.enter_free_specials(&decls, &[]);
    sets.push(c.comp_body(&body)?);
    c.pop_scope_to(mark);
    let binds = vars
        .into_iter()
        .map(|var| {
            (
                Binder {
                    var,
                    kind: BindKind::Unresolved,
                },
                Node::nil(),
            )
        })
        .collect::<Vec<_>>();
    Ok(Node::Let(Box::new(Let {
        binds: binds.into_boxed_slice(),
        sequential: true,
        has_special: false,
        body: progn(sets),
    })))
}

fn comp_macrolet(c: &mut Compiler, form: &Value) -> R<Node> {
    let defs = form.second().list_to_vec();
    let mut macros = Vec::new();
    for d in &defs {
        let name = match d.first() {
            Value::Symbol(s) => s,
            _ => return Err(c.malformed("MACROLET definition", form)),
        };
        let ml = Value::Symbol(intern_exported("MACRO-LAMBDA", &w().sys));
        let lam_form = Value::cons(ml, d.clone());
        let f = c.eval_in_macro_env(&lam_form)?;
        macros.push((name, f));
    }
    let mark = c.scope_mark();
    for (n, f) in macros {
        c.push_scope(Scope::Macro(n, f));
    }
    let r = comp_locally_body(c, &form.rest().rest());
    c.pop_scope_to(mark);
    r
}

fn comp_symbol_macrolet(c: &mut Compiler, form: &Value) -> R<Node> {
    let defs = form.second().list_to_vec();
    let mark = c.scope_mark();
    for d in &defs {
        match d.first() {
            Value::Symbol(s) => c.push_scope(Scope::SymMacro(s, d.second())),
            _ => return Err(c.malformed("SYMBOL-MACROLET binding", form)),
        }
    }
    let r = comp_locally_body(c, &form.rest().rest());
    c.pop_scope_to(mark);
    r
}

fn comp_locally_body(c: &mut Compiler, body: &Value) -> R<Node> {
    let (_, decls, body) = parse_body(c.ctx, body, false)?;
    let mark = c.scope_mark();
    c.enter_free_specials(&decls, &[]);
    let r = c.comp_body(&body);
    c.pop_scope_to(mark);
    r
}

fn comp_locally(c: &mut Compiler, form: &Value) -> R<Node> {
    comp_locally_body(c, &form.rest())
}

/// Compile a body inside a block named `name`.
pub fn comp_block_body(c: &mut Compiler, name: Value, body: &Value) -> R<Node> {
    let id = w().next_id();
    let var = c.new_lazy_var();
    let level = c.levels.len() as u32 - 1;
    let mark = c.scope_mark();
    c.push_scope(Scope::Block(name, id, var, level));
    let body = c.comp_body(body);
    c.pop_scope_to(mark);
    let body = body?.make_mv();
    // A block nobody returns from costs nothing (every DEFUN has one).
    if !c.vars[var as usize].used {
        return Ok(body);
    }
    let dynamic = if c.vars[var as usize].captured {
        Some(Binder {
            var,
            kind: BindKind::Unresolved,
        })
    } else {
        None
    };
    Ok(Node::Block(Box::new(Block { id, dynamic, body })))
}

fn comp_block(c: &mut Compiler, form: &Value) -> R<Node> {
    let name = form.second();
    if !name.is_symbol() {
        return Err(c.malformed("BLOCK name", form));
    }
    comp_block_body(c, name, &form.rest().rest())
}

fn comp_return_from(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 1, Some(2))?;
    let name = form.second();
    let found = c.scope().iter().rev().find_map(|e| match e {
        Scope::Block(n, id, var, level) if n.eq(&name) => Some((*id, *var, *level)),
        _ => None,
    });
    let Some((id, var, level)) = found else {
        return Err(conditions::program_error(
            c.ctx,
            format!("return for unknown block: {}", prin1_string(&name)),
        ));
    };
    let value = c.comp(&form.third())?.make_mv();
    c.vars[var as usize].used = true;
    let target = if level == c.level() {
        Target::Static(id)
    } else {
        c.ensure_slot(var);
        Target::Dynamic(c.ref_var(var))
    };
    Ok(Node::ReturnFrom(Box::new(ReturnFrom {
        target,
        value,
        name,
    })))
}

fn is_tag(v: &Value) -> bool {
    matches!(
        v,
        Value::Symbol(_) | Value::Nil | Value::Fixnum(_) | Value::Bignum(_)
    )
}

fn comp_tagbody(c: &mut Compiler, form: &Value) -> R<Node> {
    let items = form.rest().list_to_vec();
    let tags: Vec<Value> = items.iter().filter(|v| is_tag(v)).cloned().collect();
    for (i, t) in tags.iter().enumerate() {
        if tags[..i].iter().any(|u| u.eql(t)) {
            return Err(conditions::program_error(
                c.ctx,
                format!(
                    "the tag {} appears more than once in a tagbody",
                    prin1_string(t)
                ),
            ));
        }
    }
    if tags.is_empty() {
        // Nothing can GO here: just the statements, then NIL (DOTIMES and
        // DOLIST wrap every body in such a TAGBODY).
        let mut stmts = items
            .iter()
            .map(|it| c.comp(it))
            .collect::<R<Vec<Node>>>()?;
        stmts.push(Node::Const(Value::Nil));
        return Ok(Node::Progn(stmts.into_boxed_slice()));
    }
    let id = w().next_id();
    let var = c.new_var();
    let level = c.level();
    let mark = c.scope_mark();
    let tags_rc: Rc<[Value]> = tags.clone().into();
    c.push_scope(Scope::Tags(tags_rc, id, var, level));
    let mut stmts = Vec::new();
    let mut labels = vec![0usize; tags.len()];
    let mut r = Ok(());
    for it in &items {
        if is_tag(it) {
            let i = tags.iter().position(|t| t.eql(it)).unwrap();
            labels[i] = stmts.len();
        } else {
            match c.comp(it) {
                Ok(n) => stmts.push(n),
                Err(e) => {
                    r = Err(e);
                    break;
                }
            }
        }
    }
    c.pop_scope_to(mark);
    r?;
    let dynamic = if c.vars[var as usize].captured {
        Some(Binder {
            var,
            kind: BindKind::Unresolved,
        })
    } else {
        None
    };
    Ok(Node::Tagbody(Box::new(Tagbody {
        id,
        dynamic,
        labels: labels.into_boxed_slice(),
        stmts: stmts.into_boxed_slice(),
    })))
}

fn comp_go(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 1, Some(1))?;
    let tag = form.second();
    let found = c.scope().iter().rev().find_map(|e| match e {
        Scope::Tags(tags, id, var, level) => tags
            .iter()
            .position(|t| t.eql(&tag))
            .map(|i| (i, *id, *var, *level)),
        _ => None,
    });
    let Some((label, id, var, level)) = found else {
        return Err(conditions::program_error(
            c.ctx,
            format!("attempt to GO to nonexistent tag: {}", prin1_string(&tag)),
        ));
    };
    let target = if level == c.level() {
        Target::Static(id)
    } else {
        Target::Dynamic(c.ref_var(var))
    };
    Ok(Node::Go(Box::new(Go { target, label, tag })))
}

fn comp_catch(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 1, None)?;
    let tag = c.comp(&form.second())?;
    let body = c.comp_body(&form.rest().rest())?.make_mv();
    Ok(Node::Catch(Box::new((tag, body))))
}

fn comp_throw(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 2, Some(2))?;
    let tag = c.comp(&form.second())?;
    let val = c.comp(&form.third())?.make_mv();
    Ok(Node::Throw(Box::new((tag, val))))
}

fn comp_unwind_protect(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 1, None)?;
    let protected = c.comp(&form.second())?;
    let cleanup = c.comp_body(&form.rest().rest())?;
    Ok(Node::UnwindProtect(Box::new((protected, cleanup))))
}

fn comp_mv_call(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 1, None)?;
    let f = c.comp(&form.second())?;
    let mut args = Vec::new();
    for a in form.rest().rest().iter() {
        args.push(c.comp(&a)?.make_mv());
    }
    Ok(Node::MvCall(Box::new((f, args.into_boxed_slice()))))
}

fn comp_mv_prog1(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 1, None)?;
    let first = c.comp(&form.second())?;
    let rest = c.comp_body(&form.rest().rest())?;
    Ok(Node::MvProg1(Box::new((first, rest))))
}

fn comp_the(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 2, Some(2))?;
    c.comp(&form.third())
}

fn comp_eval_when(c: &mut Compiler, form: &Value) -> R<Node> {
    let situations = form.second();
    let ws = &w().s;
    let execute = situations.iter().any(|s| {
        s.eq(&Value::Symbol(ws.execute.clone())) || s.eq(&Value::Symbol(ws.k_eval.clone()))
    });
    if execute {
        c.comp_body(&form.rest().rest())
    } else {
        Ok(Node::nil())
    }
}

fn comp_load_time_value(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 1, Some(2))?;
    let v = crate::eval::eval(c.ctx, &form.second())?;
    Ok(Node::Const(v))
}

fn comp_progv(c: &mut Compiler, form: &Value) -> R<Node> {
    nargs_check(c, form, 2, None)?;
    let syms = c.comp(&form.second())?;
    let vals = c.comp(&form.third())?;
    let body = c.comp_body(&form.rest().rest().rest())?;
    Ok(Node::Progv(Box::new((syms, vals, body))))
}

fn comp_mv_bind(c: &mut Compiler, form: &Value) -> R<Node> {
    // (%mv-bind (vars) form . body)
    let vars = form.second();
    let values_form = c.comp(&form.third())?.make_mv();
    let (_, decls, body) = parse_body(c.ctx, &form.rest().rest().rest(), false)?;
    let mark = c.scope_mark();
    let mut binders = Vec::new();
    let mut bound = Vec::new();
    for v in vars.iter() {
        let s = match v {
            Value::Symbol(s) => s,
            _ => return Err(c.malformed("MULTIPLE-VALUE-BIND variable list", form)),
        };
        let b = c.make_binder(&s, &decls)?;
        c.enter_binder(&s, &b);
        bound.push(s);
        binders.push(b);
    }
    c.enter_free_specials(&decls, &bound);
    let body = c.comp_body(&body);
    c.pop_scope_to(mark);
    let has_special = binders
        .iter()
        .any(|b| matches!(b.kind, BindKind::Special(_)));
    Ok(Node::MvBind(Box::new(MvBind {
        vars: binders.into_boxed_slice(),
        form: values_form,
        has_special,
        body: body?,
    })))
}

fn comp_destructure(c: &mut Compiler, form: &Value) -> R<Node> {
    // (%destructure what lambda-list form . body)
    let what = form.second();
    let ll = form.third();
    let rest = form.rest().rest().rest();
    let value_form = c.comp(&rest.first())?;
    let (_, decls, body) = parse_body(c.ctx, &rest.rest(), false)?;
    let mark = c.scope_mark();
    let pattern = lambda_list::parse_destructuring(c, &ll, &decls);
    let pattern = match pattern {
        Ok(p) => p,
        Err(e) => {
            c.pop_scope_to(mark);
            return Err(e);
        }
    };
    c.enter_free_specials(&decls, &[]);
    let body = c.comp_body(&body);
    c.pop_scope_to(mark);
    Ok(Node::Destructure(Box::new(Destructure {
        pattern,
        form: value_form,
        body: body?,
        what,
    })))
}

fn comp_handler_bind(c: &mut Compiler, form: &Value) -> R<Node> {
    // (%handler-bind ((type handler-form)...) . body)
    let mut handlers = Vec::new();
    for b in form.second().iter() {
        let f = c.comp(&b.second())?;
        handlers.push((b.first(), f));
    }
    let body = c.comp_body(&form.rest().rest())?;
    Ok(Node::HandlerBind(Box::new(HandlerBind {
        handlers: handlers.into_boxed_slice(),
        body,
    })))
}

fn lambda_form(ll: Value, body: Value) -> Value {
    let lambda = Value::Symbol(w().s.lambda.clone());
    Value::cons(lambda, Value::cons(ll, body))
}

fn comp_handler_case(c: &mut Compiler, form: &Value) -> R<Node> {
    // (%handler-case form (type ([var]) . body)... )
    let body = c.comp(&form.second())?.make_mv();
    let mut clauses = Vec::new();
    let mut no_error = None;
    let no_error_kw = crate::world::keyword("NO-ERROR");
    for cl in form.rest().rest().iter() {
        let spec = cl.first();
        let ll = cl.second();
        let cbody = cl.rest().rest();
        if spec.eq(&no_error_kw) {
            let f = lambda_form(ll, cbody);
            no_error = Some(c.comp(&crate::value::list_from([
                Value::Symbol(w().s.function.clone()),
                f,
            ]))?);
            continue;
        }
        if ll.list_length().unwrap_or(2) > 1 {
            return Err(c.malformed("HANDLER-CASE clause", &cl));
        }
        if ll.is_nil() {
            // Ignore the condition.
            let g = Value::Symbol(Gc::new(Symbol::new("C".into())));
            let ignore = crate::value::list_from([
                Value::Symbol(w().s.declare.clone()),
                crate::value::list_from([Value::Symbol(w().s.ignore.clone()), g.clone()]),
            ]);
            let body = Value::cons(ignore, cbody);
            let f = lambda_form(crate::value::list_from([g]), body);
            clauses.push(CaseClause {
                spec,
                func: function_node(c, f)?,
                report: None,
                interactive: None,
                test: None,
            });
            continue;
        };
        let f = lambda_form(ll, cbody);
        clauses.push(CaseClause {
            spec,
            func: function_node(c, f)?,
            report: None,
            interactive: None,
            test: None,
        });
    }
    Ok(Node::HandlerCase(Box::new(CaseForm {
        body,
        clauses: clauses.into_boxed_slice(),
        no_error,
    })))
}

fn function_node(c: &mut Compiler, lambda: Value) -> R<Node> {
    comp_function_form(c, &lambda)
}

fn comp_restart_case(c: &mut Compiler, form: &Value) -> R<Node> {
    // (%restart-case form (name ll [:report r] [:interactive i] [:test t] . body)...)
    let body = c.comp(&form.second())?.make_mv();
    let mut clauses = Vec::new();
    let kw_report = crate::world::keyword("REPORT");
    let kw_interactive = crate::world::keyword("INTERACTIVE");
    let kw_test = crate::world::keyword("TEST");
    for cl in form.rest().rest().iter() {
        let name = cl.first();
        let ll = cl.second();
        let mut rest = cl.rest().rest();
        let mut report = None;
        let mut interactive = None;
        let mut test = None;
        loop {
            let k = rest.first();
            if rest.rest().is_cons()
                && (k.eq(&kw_report) || k.eq(&kw_interactive) || k.eq(&kw_test))
            {
                let v = rest.second();
                if k.eq(&kw_report) {
                    report = Some(if v.is_string() {
                        Node::Const(v)
                    } else {
                        c.comp(&crate::value::list_from([
                            Value::Symbol(w().s.function.clone()),
                            v,
                        ]))?
                    });
                } else {
                    let n = c.comp(&crate::value::list_from([
                        Value::Symbol(w().s.function.clone()),
                        v,
                    ]))?;
                    if k.eq(&kw_interactive) {
                        interactive = Some(n);
                    } else {
                        test = Some(n);
                    }
                }
                rest = rest.rest().rest();
            } else {
                break;
            }
        }
        let f = lambda_form(ll, rest);
        clauses.push(CaseClause {
            spec: name,
            func: function_node(c, f)?,
            report,
            interactive,
            test,
        });
    }
    Ok(Node::RestartCase(Box::new(CaseForm {
        body,
        clauses: clauses.into_boxed_slice(),
        no_error: None,
    })))
}

fn comp_setf_call(c: &mut Compiler, form: &Value) -> R<Node> {
    // (%setf-call op arg... value)
    let op = form.second();
    let mut rest = form.rest().rest().list_to_vec();
    let Some(value) = rest.pop() else {
        return Err(c.malformed("SETF form", form));
    };
    let name = crate::value::list_from([Value::Symbol(w().s.setf.clone()), op.clone()]);
    let setter = match c.local_function(&name) {
        Some(Scope::Fun(_, id)) => c.ref_var(id),
        _ => {
            let s = match symbol_of(&op) {
                Some(s) => s,
                None => return Err(c.malformed("SETF place", form)),
            };
            let f = s.extra_field(|e| e.setf_function.clone());
            if s.has(symbol::LOCKED) && matches!(f, Value::Function(_)) {
                Node::Const(f)
            } else {
                Node::SetfFunctionRef(s, c.loc())
            }
        }
    };
    let mut args = Vec::new();
    for a in &rest {
        args.push(c.comp(a)?);
    }
    let value = c.comp(&value)?;
    Ok(Node::SetfCall(Box::new(SetfCall {
        setter,
        args: args.into_boxed_slice(),
        value,
        loc: c.loc(),
    })))
}
