//! Backquote: the reader turns `` ` ``, `,`, `,@` and `,.` into
//! QUASIQUOTE / UNQUOTE forms; the QUASIQUOTE macro expands them into
//! LIST, LIST*, APPEND and QUOTE calls (nesting handled as in Bawden's
//! "Quasiquotation in Lisp").

use crate::ctx::{Ctx, R};
use crate::gc::Gc;
use crate::value::{list_from, Value};
use crate::world::w;

fn is_head(x: &Value, s: &Gc<crate::symbol::Symbol>) -> bool {
    matches!(x, Value::Cons(c) if matches!(c.car(), Value::Symbol(h) if Gc::ptr_eq(&h, s)))
}

fn cl(name: &str) -> Value {
    Value::Symbol(crate::world::cl_sym(name))
}

fn quote(x: Value) -> Value {
    list_from([Value::Symbol(w().s.quote.clone()), x])
}

fn self_evaluating(x: &Value) -> bool {
    match x {
        Value::Symbol(s) => s.is_constant(),
        Value::Cons(_) => false,
        _ => true,
    }
}

/// Expand the body of a backquote at nesting depth `d` (0 = outermost).
pub fn qq(ctx: &mut Ctx, x: &Value, d: usize) -> R {
    let s = &w().s;
    match x {
        Value::Cons(_) => {
            if is_head(x, &s.unquote) {
                let arg = x.second();
                return if d == 0 {
                    Ok(arg)
                } else {
                    Ok(list_from([
                        cl("LIST"),
                        quote(Value::Symbol(s.unquote.clone())),
                        qq(ctx, &arg, d - 1)?,
                    ]))
                };
            }
            if is_head(x, &s.quasiquote) {
                let arg = x.second();
                return Ok(list_from([
                    cl("LIST"),
                    quote(Value::Symbol(s.quasiquote.clone())),
                    qq(ctx, &arg, d + 1)?,
                ]));
            }
            if is_head(x, &s.unquote_splicing) || is_head(x, &s.unquote_nsplicing) {
                if d == 0 {
                    return Err(crate::conditions::program_error(
                        ctx,
                        format!(",@ after backquote in {}", crate::printer::prin1_string(x)),
                    ));
                }
                let head = x.first();
                return Ok(list_from([
                    cl("LIST"),
                    quote(head),
                    qq(ctx, &x.second(), d - 1)?,
                ]));
            }
            qq_list(ctx, x, d)
        }
        Value::Array(a) if a.is_vector() && !a.is_string() => {
            let items = list_from(a.to_vec());
            let l = qq(ctx, &items, d)?;
            Ok(list_from([
                cl("APPLY"),
                list_from([Value::Symbol(w().s.function.clone()), cl("VECTOR")]),
                l,
            ]))
        }
        other if self_evaluating(other) => Ok(other.clone()),
        other => Ok(quote(other.clone())),
    }
}

enum Part {
    /// One element (already expanded): goes in a LIST.
    Item(Value),
    /// A form producing a list to splice.
    Splice(Value),
}

fn qq_list(ctx: &mut Ctx, x: &Value, d: usize) -> R {
    let s = &w().s;
    let mut parts: Vec<Part> = Vec::new();
    let mut cur = x.clone();
    let tail: Value;
    loop {
        match &cur {
            Value::Cons(c) => {
                // A dotted unquote: (a . ,b) reads as (a unquote b).
                if is_head(&cur, &s.unquote) && c.cdr().is_cons() && c.cdr().rest().is_nil() {
                    tail = if d == 0 {
                        cur.second()
                    } else {
                        qq(ctx, &cur, d)?
                    };
                    break;
                }
                if is_head(&cur, &s.unquote_splicing) && c.cdr().is_cons() {
                    return Err(crate::conditions::program_error(
                        ctx,
                        format!(",@ after dot in {}", crate::printer::prin1_string(x)),
                    ));
                }
                let e = c.car();
                if (is_head(&e, &s.unquote_splicing) || is_head(&e, &s.unquote_nsplicing)) && d == 0
                {
                    parts.push(Part::Splice(e.second()));
                } else if (is_head(&e, &s.unquote_splicing) || is_head(&e, &s.unquote_nsplicing))
                    && d > 0
                {
                    let head = e.first();
                    parts.push(Part::Item(list_from([
                        cl("LIST"),
                        quote(head),
                        qq(ctx, &e.second(), d - 1)?,
                    ])));
                } else {
                    parts.push(Part::Item(qq(ctx, &e, d)?));
                }
                let next = c.cdr();
                cur = next;
            }
            Value::Nil => {
                tail = Value::Nil;
                break;
            }
            other => {
                tail = if self_evaluating(other) {
                    other.clone()
                } else {
                    quote(other.clone())
                };
                break;
            }
        }
    }
    // Build from the end: runs of items become LIST / LIST*, splices APPEND.
    let mut acc = tail;
    let mut items: Vec<Value> = Vec::new();
    let flush = |items: &mut Vec<Value>, acc: Value| -> Value {
        if items.is_empty() {
            return acc;
        }
        items.reverse();
        let mut v = std::mem::take(items);
        if acc.is_nil() {
            v.insert(0, cl("LIST"));
            list_from(v)
        } else {
            v.insert(0, cl("LIST*"));
            v.push(acc);
            list_from(v)
        }
    };
    for p in parts.into_iter().rev() {
        match p {
            Part::Item(v) => items.push(v),
            Part::Splice(form) => {
                acc = flush(&mut items, acc);
                acc = if acc.is_nil() {
                    // Last segment: share the spliced list, as APPEND would.
                    form
                } else {
                    list_from([cl("APPEND"), form, acc])
                };
            }
        }
    }
    Ok(flush(&mut items, acc))
}

/// Replace every occurrence of `placeholder` in `v` by `target` (for
/// `#n=` labels), mutating conses in place.
pub fn replace_placeholder(v: &Value, placeholder: &Value, target: &Value) -> Value {
    if v.eq(placeholder) {
        return target.clone();
    }
    let mut seen = hashbrown::HashSet::new();
    let mut stack = vec![v.clone()];
    while let Some(x) = stack.pop() {
        match &x {
            Value::Cons(c) => {
                if !seen.insert(c.addr()) {
                    continue;
                }
                let (a, d) = (c.car(), c.cdr());
                if a.eq(placeholder) {
                    c.set_car(target.clone());
                } else {
                    stack.push(a);
                }
                if d.eq(placeholder) {
                    c.set_cdr(target.clone());
                } else {
                    stack.push(d);
                }
            }
            Value::Array(a) => {
                if !seen.insert(a.addr()) {
                    continue;
                }
                let n = a.total_size();
                for k in 0..n {
                    let e = a.get(k);
                    if e.eq(placeholder) {
                        a.data_mut().set(k, target.clone());
                    } else {
                        stack.push(e);
                    }
                }
            }
            _ => {}
        }
    }
    v.clone()
}
