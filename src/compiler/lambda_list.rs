//! Parsing lambda lists (ordinary, macro and destructuring) into
//! [`LambdaList`]s whose variables are bound by the evaluator.

use super::node::*;
use super::{Compiler, Decls};
use crate::ctx::R;
use crate::gc::Gc;
use crate::symbol::Symbol;
use crate::value::Value;
use crate::world::{keyword, w};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Req,
    Opt,
    Rest,
    AfterRest,
    Key,
    Aux,
}

fn lambda_keyword(s: &Gc<Symbol>) -> Option<&'static str> {
    let ws = &w().s;
    for (k, n) in [
        (&ws.optional, "&OPTIONAL"),
        (&ws.rest, "&REST"),
        (&ws.body, "&BODY"),
        (&ws.key, "&KEY"),
        (&ws.aux, "&AUX"),
        (&ws.whole, "&WHOLE"),
        (&ws.environment, "&ENVIRONMENT"),
        (&ws.allow_other_keys, "&ALLOW-OTHER-KEYS"),
    ] {
        if Gc::ptr_eq(k, s) {
            return Some(n);
        }
    }
    None
}

/// Parse an ordinary lambda list (DEFUN, LAMBDA, FLET).
pub fn parse_ordinary(c: &mut Compiler, ll: &Value, decls: &Decls) -> R<LambdaList> {
    parse(c, ll, decls, false, ll)
}

/// Parse a macro lambda list: &whole and &environment allowed, nested
/// patterns and dotted tails too. The resulting list binds (form env):
/// `whole` gets the form, the rest destructures its cdr.
pub fn parse_macro(c: &mut Compiler, ll: &Value, decls: &Decls) -> R<LambdaList> {
    parse(c, ll, decls, true, ll)
}

/// Parse a destructuring lambda list.
pub fn parse_destructuring(c: &mut Compiler, ll: &Value, decls: &Decls) -> R<LambdaList> {
    parse(c, ll, decls, true, ll)
}

fn var_symbol(c: &mut Compiler, v: &Value, whole: &Value) -> R<Gc<Symbol>> {
    match v {
        Value::Symbol(s) => Ok(s.clone()),
        _ => Err(c.malformed("lambda list", whole)),
    }
}

fn bind_var(c: &mut Compiler, s: &Gc<Symbol>, decls: &Decls) -> R<Binder> {
    let b = c.make_binder(s, decls)?;
    c.enter_binder(s, &b);
    Ok(b)
}

fn param(
    c: &mut Compiler,
    v: &Value,
    decls: &Decls,
    destructuring: bool,
    whole: &Value,
) -> R<Param> {
    if destructuring && v.is_cons() {
        return Ok(Param::Pattern(Box::new(parse(c, v, decls, true, whole)?)));
    }
    let s = var_symbol(c, v, whole)?;
    Ok(Param::Var(bind_var(c, &s, decls)?))
}

fn parse(
    c: &mut Compiler,
    ll: &Value,
    decls: &Decls,
    destructuring: bool,
    whole_ll: &Value,
) -> R<LambdaList> {
    let mut out = LambdaList::default();
    let mut mode = Mode::Req;
    let mut cur = ll.clone();
    // &whole must come first.
    if destructuring {
        if let Value::Cons(cell) = &cur {
            if let Value::Symbol(s) = cell.car() {
                if lambda_keyword(&s) == Some("&WHOLE") {
                    let next = cell.cdr();
                    let v = next.first();
                    out.whole = Some(param(c, &v, decls, true, whole_ll)?);
                    cur = next.rest();
                }
            }
        }
    }
    loop {
        let item = match &cur {
            Value::Cons(cell) => cell.car(),
            Value::Nil => break,
            tail => {
                // Dotted tail: (a b . rest)
                if !destructuring || mode == Mode::Rest || out.rest.is_some() {
                    return Err(c.malformed("lambda list", whole_ll));
                }
                let s = var_symbol(c, tail, whole_ll)?;
                out.rest = Some(Param::Var(bind_var(c, &s, decls)?));
                break;
            }
        };
        cur = cur.rest();
        if let Value::Symbol(s) = &item {
            if let Some(k) = lambda_keyword(s) {
                match k {
                    "&OPTIONAL" if mode == Mode::Req => mode = Mode::Opt,
                    "&REST" | "&BODY" if matches!(mode, Mode::Req | Mode::Opt) => mode = Mode::Rest,
                    "&KEY" if matches!(mode, Mode::Req | Mode::Opt | Mode::AfterRest) => {
                        mode = Mode::Key;
                        out.key = Some(Vec::new());
                    }
                    "&ALLOW-OTHER-KEYS" if mode == Mode::Key => out.allow_other_keys = true,
                    "&AUX" if mode != Mode::Rest => mode = Mode::Aux,
                    "&ENVIRONMENT" if destructuring => {
                        let v = cur.first();
                        cur = cur.rest();
                        let s = var_symbol(c, &v, whole_ll)?;
                        out.env = Some(bind_var(c, &s, decls)?);
                    }
                    _ => return Err(c.malformed("lambda list", whole_ll)),
                }
                continue;
            }
        }
        match mode {
            Mode::Req => out
                .req
                .push(param(c, &item, decls, destructuring, whole_ll)?),
            Mode::Opt => {
                let (var, init, sp) = split_spec(&item);
                let init = match init {
                    Some(f) => Some(c.comp(&f)?),
                    None => None,
                };
                let param = param(c, &var, decls, destructuring, whole_ll)?;
                let supplied = match sp {
                    Some(v) => {
                        let s = var_symbol(c, &v, whole_ll)?;
                        Some(bind_var(c, &s, decls)?)
                    }
                    None => None,
                };
                out.opt.push(OptParam {
                    param,
                    init,
                    supplied,
                });
            }
            Mode::Rest => {
                out.rest = Some(param(c, &item, decls, destructuring, whole_ll)?);
                mode = Mode::AfterRest;
            }
            Mode::AfterRest => return Err(c.malformed("lambda list", whole_ll)),
            Mode::Key => {
                let (spec, init, sp) = split_spec(&item);
                let (kw, var) = match &spec {
                    Value::Cons(_) => (spec.first(), spec.second()),
                    Value::Symbol(s) => (keyword(s.name()), spec.clone()),
                    _ => return Err(c.malformed("lambda list", whole_ll)),
                };
                let init = match init {
                    Some(f) => Some(c.comp(&f)?),
                    None => None,
                };
                let param = param(c, &var, decls, destructuring, whole_ll)?;
                let supplied = match sp {
                    Some(v) => {
                        let s = var_symbol(c, &v, whole_ll)?;
                        Some(bind_var(c, &s, decls)?)
                    }
                    None => None,
                };
                out.key.as_mut().unwrap().push(KeyParam {
                    keyword: kw,
                    param,
                    init,
                    supplied,
                });
            }
            Mode::Aux => {
                let (var, init, _) = split_spec(&item);
                let init = match init {
                    Some(f) => Some(c.comp(&f)?),
                    None => None,
                };
                let s = var_symbol(c, &var, whole_ll)?;
                let b = bind_var(c, &s, decls)?;
                out.aux.push((b, init));
            }
        }
    }
    if mode == Mode::Rest {
        return Err(c.malformed("lambda list", whole_ll));
    }
    Ok(out)
}

/// Split `var`, `(var)`, `(var init)` or `(var init supplied-p)`.
fn split_spec(item: &Value) -> (Value, Option<Value>, Option<Value>) {
    match item {
        Value::Cons(_) => {
            let var = item.first();
            let rest = item.rest();
            let init = if rest.is_cons() {
                Some(rest.first())
            } else {
                None
            };
            let sp = rest.rest();
            let sp = if sp.is_cons() { Some(sp.first()) } else { None };
            (var, init, sp)
        }
        _ => (item.clone(), None, None),
    }
}
