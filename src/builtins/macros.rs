//! Standard macros, written as Rust expanders. Each returns ordinary Lisp
//! code (MACROEXPAND shows it); a few expand into internal special forms
//! of NETLISP-SYSTEM that the compiler handles natively.

use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::gc::Gc;
use crate::symbol::{self as sy, Symbol};
use crate::value::{list_from, list_with_tail, Value};
use crate::world::{intern_exported, keyword, symbol_of, w};

/// A symbol of COMMON-LISP.
pub fn cl(name: &str) -> Value {
    Value::Symbol(crate::world::cl_sym(name))
}

/// A symbol of NETLISP-SYSTEM.
pub fn sys(name: &str) -> Value {
    Value::Symbol(intern_exported(name, &w().sys))
}

/// A list.
pub fn l(items: Vec<Value>) -> Value {
    list_from(items)
}

/// A list ending in `tail`.
pub fn lt(items: Vec<Value>, tail: Value) -> Value {
    list_with_tail(items, tail)
}

/// (QUOTE x)
pub fn quote(x: Value) -> Value {
    l(vec![cl("QUOTE"), x])
}

/// A fresh uninterned symbol named PREFIX followed by a counter.
pub fn gensym(prefix: &str) -> Value {
    let ctr = w().s.gensym_counter.clone();
    let n = match ctr.value() {
        Value::Fixnum(n) => n,
        _ => 0,
    };
    ctr.set_value(Value::int(n + 1));
    Value::Symbol(Gc::new(Symbol::new(format!("{}{}", prefix, n).into())))
}

/// (PROGN . body), or the single form, or NIL.
pub fn progn(body: Value) -> Value {
    match &body {
        Value::Nil => Value::Nil,
        Value::Cons(c) if c.cdr().is_nil() => c.car(),
        _ => Value::cons(cl("PROGN"), body),
    }
}

/// Split leading declarations (and a docstring if allowed) from a body.
pub fn split_decls(body: &Value) -> (Vec<Value>, Value) {
    let mut decls = Vec::new();
    let mut cur = body.clone();
    loop {
        let f = cur.first();
        if cur.is_cons() && f.is_cons() && f.first().eq(&cl("DECLARE")) {
            decls.push(f);
            cur = cur.rest();
        } else {
            return (decls, cur);
        }
    }
}

fn args(a: &[Value]) -> Value {
    a[0].rest()
}

fn malformed(ctx: &mut Ctx, what: &str, form: &Value) -> crate::ctx::Exit {
    cond::program_error(
        ctx,
        format!("malformed {}: {}", what, crate::printer::prin1_string(form)),
    )
}

/// Check that a macro form has at least `min` arguments.
pub fn need(ctx: &mut Ctx, form: &Value, min: usize, what: &str) -> R<Value> {
    let rest = form.rest();
    match rest.list_length() {
        Some(n) if n >= min => Ok(rest),
        _ => Err(malformed(ctx, what, form)),
    }
}

fn name_of(ctx: &mut Ctx, v: &Value, form: &Value) -> R<Gc<Symbol>> {
    match symbol_of(v) {
        Some(s) => Ok(s),
        None => Err(malformed(
            ctx,
            "definition (the name is not a symbol)",
            form,
        )),
    }
}

fn case_keys_test(k: &Value, keys: &Value) -> Value {
    if keys.is_list() && !keys.is_nil() {
        l(vec![
            cl("MEMBER"),
            k.clone(),
            quote(keys.clone()),
            keyword("TEST"),
            l(vec![cl("FUNCTION"), cl("EQL")]),
        ])
    } else {
        l(vec![cl("EQL"), k.clone(), quote(keys.clone())])
    }
}

fn case_expand(ctx: &mut Ctx, form: &Value, mode: u8) -> R {
    // mode: 0 case, 1 ecase, 2 ccase
    let rest = need(ctx, form, 1, "CASE form")?;
    let key = rest.first();
    let k = gensym("KEY");
    let mut clauses = Vec::new();
    let mut all_keys = Vec::new();
    let clist = rest.rest().list_to_vec();
    for (i, c) in clist.iter().enumerate() {
        if !c.is_cons() {
            return Err(malformed(ctx, "CASE clause", form));
        }
        let keys = c.first();
        let body = c.rest();
        let body = if body.is_nil() {
            l(vec![Value::Nil])
        } else {
            body
        };
        let is_default =
            mode == 0 && i == clist.len() - 1 && (keys.eq(&cl("T")) || keys.eq(&cl("OTHERWISE")));
        if is_default {
            clauses.push(Value::cons(cl("T"), body));
        } else {
            if keys.is_list() {
                all_keys.extend(keys.list_to_vec());
            } else {
                all_keys.push(keys.clone());
            }
            if keys.is_nil() {
                continue;
            }
            clauses.push(Value::cons(case_keys_test(&k, &keys), body));
        }
    }
    if mode != 0 {
        let which = if mode == 1 { "ECASE" } else { "CCASE" };
        clauses.push(l(vec![
            cl("T"),
            l(vec![
                sys("%CASE-FAILURE"),
                k.clone(),
                quote(list_from(all_keys)),
                quote(cl(which)),
            ]),
        ]));
    }
    Ok(l(vec![
        cl("LET"),
        l(vec![l(vec![k, key])]),
        Value::cons(cl("COND"), list_from(clauses)),
    ]))
}

fn typecase_expand(ctx: &mut Ctx, form: &Value, mode: u8) -> R {
    let rest = need(ctx, form, 1, "TYPECASE form")?;
    let key = rest.first();
    let k = gensym("KEY");
    let mut clauses = Vec::new();
    let mut types = Vec::new();
    let clist = rest.rest().list_to_vec();
    for (i, c) in clist.iter().enumerate() {
        if !c.is_cons() {
            return Err(malformed(ctx, "TYPECASE clause", form));
        }
        let ty = c.first();
        let body = c.rest();
        let body = if body.is_nil() {
            l(vec![Value::Nil])
        } else {
            body
        };
        if mode == 0 && i == clist.len() - 1 && (ty.eq(&cl("T")) || ty.eq(&cl("OTHERWISE"))) {
            clauses.push(Value::cons(cl("T"), body));
        } else {
            types.push(ty.clone());
            clauses.push(Value::cons(
                l(vec![cl("TYPEP"), k.clone(), quote(ty)]),
                body,
            ));
        }
    }
    if mode != 0 {
        let which = if mode == 1 { "ETYPECASE" } else { "CTYPECASE" };
        clauses.push(l(vec![
            cl("T"),
            l(vec![
                sys("%TYPECASE-FAILURE"),
                k.clone(),
                quote(list_from(types)),
                quote(cl(which)),
            ]),
        ]));
    }
    Ok(l(vec![
        cl("LET"),
        l(vec![l(vec![k, key])]),
        Value::cons(cl("COND"), list_from(clauses)),
    ]))
}

fn declare_special_now(ctx: &mut Ctx, name: &Value, form: &Value) -> R<Gc<Symbol>> {
    let s = name_of(ctx, name, form)?;
    if s.is_constant() {
        return Err(cond::program_error(
            ctx,
            format!("{} names a constant", s.name()),
        ));
    }
    s.set_flag(sy::SPECIAL);
    Ok(s)
}

fn doc_form(name: &Value, doc: Value, kind: &str) -> Value {
    if doc.is_string() {
        l(vec![
            sys("%SET-DOCUMENTATION"),
            quote(name.clone()),
            quote(cl(kind)),
            doc,
        ])
    } else {
        Value::Nil
    }
}

crate::defbuiltins! {
    /// Define a global function NAME.
    macro DEFUN "DEFUN" "(name lambda-list &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "DEFUN")?;
        let name = rest.first();
        let valid = match &name {
            Value::Symbol(_) => true,
            Value::Cons(_) => name.first().eq(&cl("SETF")) && name.second().is_symbol() && name.rest().rest().is_nil(),
            _ => false,
        };
        if !valid {
            return Err(malformed(ctx, "DEFUN (bad function name)", &a[0]));
        }
        let lam = Value::cons(sys("NAMED-LAMBDA"), rest.clone());
        Ok(l(vec![sys("%DEFUN"), quote(name), l(vec![cl("FUNCTION"), lam])]))
    }

    /// Define a global macro NAME.
    macro DEFMACRO "DEFMACRO" "(name lambda-list &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "DEFMACRO")?;
        name_of(ctx, &rest.first(), &a[0])?;
        Ok(l(vec![sys("%DEFMACRO"), quote(rest.first()), Value::cons(sys("MACRO-LAMBDA"), rest)]))
    }

    /// A lambda expression evaluates to a function: (FUNCTION (LAMBDA ...)).
    macro LAMBDA "LAMBDA" "(lambda-list &body body)" (ctx, a) {
        Ok(l(vec![cl("FUNCTION"), a[0].clone()]))
    }

    /// Define a special variable, setting it only if it is unbound.
    macro DEFVAR "DEFVAR" "(name &optional value doc)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "DEFVAR")?;
        let name = rest.first();
        declare_special_now(ctx, &name, &a[0])?;
        let mut body = vec![cl("PROGN"), l(vec![sys("%DECLARE-SPECIAL"), quote(name.clone())])];
        if rest.rest().is_cons() {
            body.push(l(vec![
                cl("UNLESS"),
                l(vec![cl("BOUNDP"), quote(name.clone())]),
                l(vec![cl("SETQ"), name.clone(), rest.second()]),
            ]));
        }
        body.push(doc_form(&name, rest.third(), "VARIABLE"));
        body.push(quote(name));
        Ok(l(body))
    }

    /// Define a special variable and always set it.
    macro DEFPARAMETER "DEFPARAMETER" "(name value &optional doc)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "DEFPARAMETER")?;
        let name = rest.first();
        declare_special_now(ctx, &name, &a[0])?;
        Ok(l(vec![
            cl("PROGN"),
            l(vec![sys("%DECLARE-SPECIAL"), quote(name.clone())]),
            l(vec![cl("SETQ"), name.clone(), rest.second()]),
            doc_form(&name, rest.third(), "VARIABLE"),
            quote(name),
        ]))
    }

    /// Define a named constant.
    macro DEFCONSTANT "DEFCONSTANT" "(name value &optional doc)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "DEFCONSTANT")?;
        let name = rest.first();
        name_of(ctx, &name, &a[0])?;
        Ok(l(vec![
            cl("PROGN"),
            l(vec![sys("%DEFCONSTANT"), quote(name.clone()), rest.second()]),
            doc_form(&name, rest.third(), "VARIABLE"),
            quote(name),
        ]))
    }

    /// Evaluate BODY when TEST is true.
    macro WHEN "WHEN" "(test &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "WHEN")?;
        Ok(l(vec![cl("IF"), rest.first(), progn(rest.rest())]))
    }

    /// Evaluate BODY when TEST is false.
    macro UNLESS "UNLESS" "(test &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "UNLESS")?;
        Ok(l(vec![cl("IF"), rest.first(), Value::Nil, progn(rest.rest())]))
    }

    /// Evaluate the body of the first clause whose test is true.
    macro COND "COND" "(&rest clauses)" (ctx, a) {
        let clauses = args(a).list_to_vec();
        let mut acc = Value::Nil;
        for c in clauses.into_iter().rev() {
            if !c.is_cons() {
                return Err(malformed(ctx, "COND clause", &a[0]));
            }
            let test = c.first();
            let body = c.rest();
            acc = if body.is_nil() {
                if acc.is_nil() {
                    l(vec![cl("VALUES"), test])
                } else {
                    l(vec![cl("OR"), test, acc])
                }
            } else if test.eq(&cl("T")) && acc.is_nil() {
                progn(body)
            } else {
                l(vec![cl("IF"), test, progn(body), acc])
            };
        }
        Ok(acc)
    }

    /// True if all FORMS are true; the value of the last.
    macro AND "AND" "(&rest forms)" (ctx, a) {
        let forms = args(a).list_to_vec();
        if forms.is_empty() {
            return Ok(cl("T"));
        }
        let mut acc = forms.last().unwrap().clone();
        for f in forms.into_iter().rev().skip(1) {
            acc = l(vec![cl("IF"), f, acc, Value::Nil]);
        }
        Ok(acc)
    }

    /// The value of the first true form.
    macro OR "OR" "(&rest forms)" (ctx, a) {
        let forms = args(a).list_to_vec();
        if forms.is_empty() {
            return Ok(Value::Nil);
        }
        let mut acc = forms.last().unwrap().clone();
        for f in forms.into_iter().rev().skip(1) {
            let g = gensym("OR");
            acc = l(vec![
                cl("LET"),
                l(vec![l(vec![g.clone(), f])]),
                l(vec![cl("IF"), g.clone(), g, acc]),
            ]);
        }
        Ok(acc)
    }

    /// Select a clause by comparing KEYFORM's value with EQL.
    macro CASE "CASE" "(keyform &body clauses)" (ctx, a) { case_expand(ctx, &a[0], 0) }
    /// Like CASE, signalling an error when no clause matches.
    macro ECASE "ECASE" "(keyform &body clauses)" (ctx, a) { case_expand(ctx, &a[0], 1) }
    /// Like ECASE (the error offers no store restart in netlisp).
    macro CCASE "CCASE" "(keyplace &body clauses)" (ctx, a) { case_expand(ctx, &a[0], 2) }
    /// Select a clause by the type of KEYFORM's value.
    macro TYPECASE "TYPECASE" "(keyform &body clauses)" (ctx, a) { typecase_expand(ctx, &a[0], 0) }
    /// Like TYPECASE, signalling an error when no clause matches.
    macro ETYPECASE "ETYPECASE" "(keyform &body clauses)" (ctx, a) { typecase_expand(ctx, &a[0], 1) }
    /// Like ETYPECASE.
    macro CTYPECASE "CTYPECASE" "(keyplace &body clauses)" (ctx, a) { typecase_expand(ctx, &a[0], 2) }

    /// Iterate VAR over the elements of LIST.
    macro DOLIST "DOLIST" "((var list &optional result) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "DOLIST")?;
        let spec = rest.first();
        if !spec.is_cons() || !spec.first().is_symbol() {
            return Err(malformed(ctx, "DOLIST", &a[0]));
        }
        let var = spec.first();
        let (decls, body) = split_decls(&rest.rest());
        let tail = gensym("LIST");
        let top = gensym("TOP");
        let end = gensym("END");
        let mut inner = vec![cl("LET"), l(vec![l(vec![var.clone(), l(vec![cl("CAR"), tail.clone()])])])];
        inner.extend(decls.iter().cloned());
        inner.push(l(vec![cl("SETQ"), tail.clone(), l(vec![cl("CDR"), tail.clone()])]));
        inner.push(Value::cons(cl("TAGBODY"), body));
        let result = spec.third();
        let result_form = if result.is_nil() {
            Value::Nil
        } else {
            let mut r = vec![cl("LET"), l(vec![l(vec![var.clone(), Value::Nil])])];
            r.extend(decls.iter().cloned());
            r.push(result);
            l(r)
        };
        Ok(l(vec![
            cl("BLOCK"),
            Value::Nil,
            l(vec![
                cl("LET"),
                l(vec![l(vec![tail.clone(), spec.second()])]),
                l(vec![
                    cl("TAGBODY"),
                    top.clone(),
                    l(vec![cl("IF"), l(vec![cl("ENDP"), tail.clone()]), l(vec![cl("GO"), end.clone()])]),
                    l(inner),
                    l(vec![cl("GO"), top]),
                    end,
                ]),
                result_form,
            ]),
        ]))
    }

    /// Iterate VAR from 0 below COUNT.
    macro DOTIMES "DOTIMES" "((var count &optional result) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "DOTIMES")?;
        let spec = rest.first();
        if !spec.is_cons() || !spec.first().is_symbol() {
            return Err(malformed(ctx, "DOTIMES", &a[0]));
        }
        let var = spec.first();
        let (decls, body) = split_decls(&rest.rest());
        let max = gensym("MAX");
        let top = gensym("TOP");
        let end = gensym("END");
        let mut letf = vec![
            cl("LET"),
            l(vec![l(vec![max.clone(), spec.second()]), l(vec![var.clone(), Value::Fixnum(0)])]),
        ];
        letf.extend(decls);
        letf.push(l(vec![
            cl("TAGBODY"),
            top.clone(),
            l(vec![cl("IF"), l(vec![cl(">="), var.clone(), max]), l(vec![cl("GO"), end.clone()])]),
            Value::cons(cl("TAGBODY"), body),
            l(vec![cl("SETQ"), var.clone(), l(vec![cl("1+"), var.clone()])]),
            l(vec![cl("GO"), top]),
            end,
        ]));
        letf.push(spec.third());
        Ok(l(vec![cl("BLOCK"), Value::Nil, l(letf)]))
    }

    /// General iteration with parallel stepping.
    macro DO "DO" "((&rest vars) (end-test &rest result) &body body)" (ctx, a) { do_expand(ctx, &a[0], false) }
    /// General iteration with sequential stepping.
    macro DO_STAR "DO*" "((&rest vars) (end-test &rest result) &body body)" (ctx, a) { do_expand(ctx, &a[0], true) }

    /// Return from the NIL block.
    macro RETURN "RETURN" "(&optional value)" (ctx, a) {
        Ok(l(vec![cl("RETURN-FROM"), Value::Nil, args(a).first()]))
    }

    /// Evaluate forms, returning the first form's primary value.
    macro PROG1 "PROG1" "(first &body forms)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "PROG1")?;
        let g = gensym("RESULT");
        let mut v = vec![cl("LET"), l(vec![l(vec![g.clone(), rest.first()])])];
        v.extend(rest.rest().list_to_vec());
        v.push(g);
        Ok(l(v))
    }

    /// Evaluate forms, returning the second form's primary value.
    macro PROG2 "PROG2" "(first second &body forms)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "PROG2")?;
        Ok(l(vec![cl("PROGN"), rest.first(), Value::cons(cl("PROG1"), rest.rest())]))
    }

    /// LET plus a NIL block and a TAGBODY body.
    macro PROG "PROG" "((&rest vars) &body body)" (ctx, a) { prog_expand(ctx, &a[0], "LET") }
    /// LET* plus a NIL block and a TAGBODY body.
    macro PROG_STAR "PROG*" "((&rest vars) &body body)" (ctx, a) { prog_expand(ctx, &a[0], "LET*") }

    /// Assign variables in parallel.
    macro PSETQ "PSETQ" "(&rest pairs)" (ctx, a) {
        let pairs = args(a).list_to_vec();
        if !pairs.len().is_multiple_of(2) {
            return Err(malformed(ctx, "PSETQ", &a[0]));
        }
        let mut binds = Vec::new();
        let mut sets = vec![cl("SETQ")];
        for p in pairs.chunks(2) {
            let g = gensym("NEW");
            binds.push(l(vec![g.clone(), p[1].clone()]));
            sets.push(p[0].clone());
            sets.push(g);
        }
        Ok(l(vec![cl("LET"), list_from(binds), l(sets), Value::Nil]))
    }

    /// Bind VARS to the values of FORM.
    macro MULTIPLE_VALUE_BIND "MULTIPLE-VALUE-BIND" "((&rest vars) form &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "MULTIPLE-VALUE-BIND")?;
        Ok(Value::cons(sys("%MV-BIND"), rest))
    }

    /// The values of FORM as a list.
    macro MULTIPLE_VALUE_LIST "MULTIPLE-VALUE-LIST" "(form)" (ctx, a) {
        Ok(l(vec![cl("MULTIPLE-VALUE-CALL"), l(vec![cl("FUNCTION"), cl("LIST")]), args(a).first()]))
    }

    /// Assign VARS from the values of FORM; returns the primary value.
    macro MULTIPLE_VALUE_SETQ "MULTIPLE-VALUE-SETQ" "((&rest vars) form)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "MULTIPLE-VALUE-SETQ")?;
        let vars = rest.first().list_to_vec();
        let temps: Vec<Value> = vars.iter().map(|_| gensym("V")).collect();
        let mut setq = vec![cl("SETF")];
        for (v, t) in vars.iter().zip(&temps) {
            setq.push(v.clone());
            setq.push(t.clone());
        }
        let first = temps.first().cloned().unwrap_or(Value::Nil);
        Ok(l(vec![sys("%MV-BIND"), list_from(temps), rest.second(), l(setq), first]))
    }

    /// The Nth value of FORM.
    macro NTH_VALUE "NTH-VALUE" "(n form)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "NTH-VALUE")?;
        Ok(l(vec![cl("NTH"), rest.first(), l(vec![cl("MULTIPLE-VALUE-LIST"), rest.second()])]))
    }

    /// Bind the variables of a destructuring lambda list to the parts of a list.
    macro DESTRUCTURING_BIND "DESTRUCTURING-BIND" "(lambda-list expression &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "DESTRUCTURING-BIND")?;
        Ok(lt(vec![sys("%DESTRUCTURE"), quote(cl("DESTRUCTURING-BIND")), rest.first(), rest.second()], rest.rest().rest()))
    }

    /// Evaluate FORM; if a condition matching a clause is signalled, unwind and run the clause.
    macro HANDLER_CASE "HANDLER-CASE" "(form &rest clauses)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "HANDLER-CASE")?;
        for c in rest.rest().iter() {
            if !c.is_cons() || !c.second().is_list() {
                return Err(malformed(ctx, "HANDLER-CASE clause", &a[0]));
            }
        }
        Ok(Value::cons(sys("%HANDLER-CASE"), rest))
    }

    /// Evaluate BODY with handlers that run (before unwinding) on matching conditions.
    macro HANDLER_BIND "HANDLER-BIND" "((&rest bindings) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "HANDLER-BIND")?;
        for b in rest.first().iter() {
            if !b.is_cons() || b.list_length() != Some(2) {
                return Err(malformed(ctx, "HANDLER-BIND binding", &a[0]));
            }
        }
        Ok(Value::cons(sys("%HANDLER-BIND"), rest))
    }

    /// Evaluate BODY; on an ERROR return NIL and the condition.
    macro IGNORE_ERRORS "IGNORE-ERRORS" "(&rest forms)" (ctx, a) {
        let c = gensym("C");
        Ok(l(vec![
            sys("%HANDLER-CASE"),
            progn(args(a)),
            l(vec![cl("ERROR"), l(vec![c.clone()]), l(vec![cl("VALUES"), Value::Nil, c])]),
        ]))
    }

    /// Evaluate FORM with restarts; invoking one unwinds and runs its clause.
    macro RESTART_CASE "RESTART-CASE" "(form &body clauses)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "RESTART-CASE")?;
        Ok(Value::cons(sys("%RESTART-CASE"), rest))
    }

    /// Evaluate BODY with restarts that call functions without unwinding.
    macro RESTART_BIND "RESTART-BIND" "((&rest bindings) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "RESTART-BIND")?;
        let mut specs = vec![cl("LIST")];
        for b in rest.first().iter() {
            let mut opts = b.rest().rest();
            let mut report = Value::Nil;
            let mut interactive = Value::Nil;
            let mut test = Value::Nil;
            while opts.is_cons() {
                let k = opts.first();
                let v = opts.second();
                match &k {
                    Value::Symbol(s) if s.name() == "REPORT-FUNCTION" => report = v,
                    Value::Symbol(s) if s.name() == "INTERACTIVE-FUNCTION" => interactive = v,
                    Value::Symbol(s) if s.name() == "TEST-FUNCTION" => test = v,
                    _ => {}
                }
                opts = opts.rest().rest();
            }
            specs.push(l(vec![cl("LIST"), quote(b.first()), b.second(), report, interactive, test]));
        }
        Ok(l(vec![
            sys("%CALL-WITH-RESTARTS"),
            l(specs),
            l(vec![cl("FUNCTION"), lt(vec![cl("LAMBDA"), Value::Nil], rest.rest())]),
        ]))
    }

    /// Evaluate BODY with a restart NAME that returns NIL and T from this form.
    macro WITH_SIMPLE_RESTART "WITH-SIMPLE-RESTART" "((name format-control &rest args) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "WITH-SIMPLE-RESTART")?;
        let spec = rest.first();
        let s = gensym("STREAM");
        let report = l(vec![
            cl("LAMBDA"),
            l(vec![s.clone()]),
            lt(vec![cl("FORMAT"), s], spec.rest()),
        ]);
        Ok(l(vec![
            sys("%RESTART-CASE"),
            progn(rest.rest()),
            l(vec![spec.first(), Value::Nil, keyword("REPORT"), report, l(vec![cl("VALUES"), Value::Nil, cl("T")])]),
        ]))
    }

    /// Evaluate BODY (restarts are associated with conditions by name only).
    macro WITH_CONDITION_RESTARTS "WITH-CONDITION-RESTARTS" "(condition restarts &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "WITH-CONDITION-RESTARTS")?;
        Ok(lt(vec![cl("PROGN"), rest.first(), rest.second()], rest.rest().rest()))
    }

    /// Signal an error unless TEST is true; CONTINUE retries the test.
    macro ASSERT "ASSERT" "(test &optional places datum &rest args)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "ASSERT")?;
        let test = rest.first();
        let datum = rest.third();
        let more = rest.rest().rest().rest();
        let b = gensym("ASSERT");
        let top = gensym("TOP");
        let fail = lt(
            vec![sys("%ASSERT-FAIL"), quote(test.clone()), if datum.is_nil() { Value::Nil } else { datum }],
            more,
        );
        Ok(l(vec![
            cl("BLOCK"),
            b.clone(),
            l(vec![
                cl("TAGBODY"),
                top.clone(),
                l(vec![cl("WHEN"), test, l(vec![cl("RETURN-FROM"), b, Value::Nil])]),
                fail,
                l(vec![cl("GO"), top]),
            ]),
        ]))
    }

    /// Signal a correctable type error unless PLACE's value is of TYPE.
    macro CHECK_TYPE "CHECK-TYPE" "(place type &optional type-string)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "CHECK-TYPE")?;
        let place = rest.first();
        let ty = rest.second();
        let b = gensym("CHECK");
        let top = gensym("TOP");
        Ok(l(vec![
            cl("BLOCK"),
            b.clone(),
            l(vec![
                cl("TAGBODY"),
                top.clone(),
                l(vec![cl("WHEN"), l(vec![cl("TYPEP"), place.clone(), quote(ty.clone())]), l(vec![cl("RETURN-FROM"), b, Value::Nil])]),
                l(vec![
                    cl("SETF"),
                    place.clone(),
                    l(vec![sys("%CHECK-TYPE-FAIL"), quote(place.clone()), place, quote(ty), rest.third()]),
                ]),
                l(vec![cl("GO"), top]),
            ]),
        ]))
    }

    /// Make global declarations (SPECIAL takes effect at once).
    macro DECLAIM "DECLAIM" "(&rest declarations)" (ctx, a) {
        let mut forms = vec![cl("PROGN")];
        for d in args(a).iter() {
            super::control::proclaim(ctx, &d)?;
            forms.push(l(vec![cl("PROCLAIM"), quote(d)]));
        }
        Ok(l(forms))
    }

    /// Make the package named NAME current.
    macro IN_PACKAGE "IN-PACKAGE" "(name)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "IN-PACKAGE")?;
        let name = super::string_designator(ctx, &rest.first())?;
        Ok(l(vec![
            cl("SETQ"),
            cl("*PACKAGE*"),
            l(vec![sys("%FIND-PACKAGE-OR-LOSE"), super::str_value(&name)]),
        ]))
    }

    /// Open a file, bind VAR to the stream around BODY, and close it.
    macro WITH_OPEN_FILE "WITH-OPEN-FILE" "((var filespec &rest options) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "WITH-OPEN-FILE")?;
        let spec = rest.first();
        let open = lt(vec![cl("OPEN"), spec.second()], spec.rest().rest());
        with_stream(spec.first(), open, rest.rest())
    }

    /// Bind VAR to STREAM around BODY and close it afterwards.
    macro WITH_OPEN_STREAM "WITH-OPEN-STREAM" "((var stream) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "WITH-OPEN-STREAM")?;
        let spec = rest.first();
        with_stream(spec.first(), spec.second(), rest.rest())
    }

    /// Bind VAR to a string output stream; return what BODY wrote to it.
    macro WITH_OUTPUT_TO_STRING "WITH-OUTPUT-TO-STRING" "((var &optional string &key element-type) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "WITH-OUTPUT-TO-STRING")?;
        let spec = rest.first();
        let var = spec.first();
        let (decls, body) = split_decls(&rest.rest());
        let target = spec.second();
        if target.truthy() && !matches!(target, Value::Symbol(ref s) if s.home_is(&w().keyword)) {
            let mut letf = vec![cl("LET"), l(vec![l(vec![var.clone(), l(vec![sys("%MAKE-FILL-POINTER-OUTPUT-STREAM"), target])])])];
            letf.extend(decls);
            letf.push(l(vec![cl("UNWIND-PROTECT"), progn(body), l(vec![cl("CLOSE"), var])]));
            return Ok(l(letf));
        }
        let mut letf = vec![cl("LET"), l(vec![l(vec![var.clone(), l(vec![cl("MAKE-STRING-OUTPUT-STREAM")])])])];
        letf.extend(decls);
        letf.push(l(vec![
            cl("UNWIND-PROTECT"),
            lt(vec![cl("PROGN")], list_with_tail(body.list_to_vec(), l(vec![l(vec![cl("GET-OUTPUT-STREAM-STRING"), var.clone()])]))),
            l(vec![cl("CLOSE"), var]),
        ]));
        Ok(l(letf))
    }

    /// Bind VAR to a string input stream over STRING around BODY.
    macro WITH_INPUT_FROM_STRING "WITH-INPUT-FROM-STRING" "((var string &key index start end) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "WITH-INPUT-FROM-STRING")?;
        let spec = rest.first();
        let var = spec.first();
        let mut index = Value::Nil;
        let mut start = Value::Fixnum(0);
        let mut end = Value::Nil;
        let mut opts = spec.rest().rest();
        while opts.is_cons() {
            match &opts.first() {
                Value::Symbol(s) if s.name() == "INDEX" => index = opts.second(),
                Value::Symbol(s) if s.name() == "START" => start = opts.second(),
                Value::Symbol(s) if s.name() == "END" => end = opts.second(),
                _ => {}
            }
            opts = opts.rest().rest();
        }
        let (decls, body) = split_decls(&rest.rest());
        let mut letf = vec![
            cl("LET"),
            l(vec![l(vec![var.clone(), l(vec![cl("MAKE-STRING-INPUT-STREAM"), spec.second(), start, end])])]),
        ];
        letf.extend(decls);
        let mut cleanup = vec![cl("PROGN")];
        if index.truthy() {
            cleanup.push(l(vec![cl("SETF"), index, l(vec![cl("FILE-POSITION"), var.clone()])]));
        }
        cleanup.push(l(vec![cl("CLOSE"), var]));
        letf.push(l(vec![cl("MULTIPLE-VALUE-PROG1"), progn(body), l(cleanup)]));
        Ok(l(letf))
    }

    /// Run FORM and report the time and memory it took on *TRACE-OUTPUT*.
    macro TIME "TIME" "(form)" (ctx, a) {
        Ok(l(vec![sys("%TIME"), l(vec![cl("FUNCTION"), l(vec![cl("LAMBDA"), Value::Nil, args(a).first()])])]))
    }

    /// Define a type name expanding to another type specifier.
    macro DEFTYPE "DEFTYPE" "(name lambda-list &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "DEFTYPE")?;
        let ll = rest.second();
        // Optional parameters of DEFTYPE default to *.
        let ll = deftype_lambda_list(&ll);
        Ok(l(vec![
            sys("%DEFTYPE"),
            quote(rest.first()),
            lt(vec![sys("MACRO-LAMBDA"), rest.first(), ll], rest.rest().rest()),
        ]))
    }

    /// Define a global symbol macro.
    macro DEFINE_SYMBOL_MACRO "DEFINE-SYMBOL-MACRO" "(symbol expansion)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "DEFINE-SYMBOL-MACRO")?;
        Ok(l(vec![sys("%DEFINE-SYMBOL-MACRO"), quote(rest.first()), quote(rest.second())]))
    }

    /// Record a compiler macro (netlisp does not apply compiler macros).
    macro DEFINE_COMPILER_MACRO "DEFINE-COMPILER-MACRO" "(name lambda-list &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 2, "DEFINE-COMPILER-MACRO")?;
        Ok(quote(rest.first()))
    }

    /// Evaluate BODY with the standard reader and printer settings.
    macro WITH_STANDARD_IO_SYNTAX "WITH-STANDARD-IO-SYNTAX" "(&body body)" (ctx, a) {
        let binds = vec![
            ("*PACKAGE*", l(vec![cl("FIND-PACKAGE"), super::str_value("COMMON-LISP-USER")])),
            ("*PRINT-ARRAY*", cl("T")),
            ("*PRINT-BASE*", Value::Fixnum(10)),
            ("*PRINT-CASE*", keyword("UPCASE")),
            ("*PRINT-CIRCLE*", Value::Nil),
            ("*PRINT-ESCAPE*", cl("T")),
            ("*PRINT-GENSYM*", cl("T")),
            ("*PRINT-LENGTH*", Value::Nil),
            ("*PRINT-LEVEL*", Value::Nil),
            ("*PRINT-LINES*", Value::Nil),
            ("*PRINT-MISER-WIDTH*", Value::Nil),
            ("*PRINT-PRETTY*", Value::Nil),
            ("*PRINT-RADIX*", Value::Nil),
            ("*PRINT-READABLY*", cl("T")),
            ("*PRINT-RIGHT-MARGIN*", Value::Nil),
            ("*READ-BASE*", Value::Fixnum(10)),
            ("*READ-DEFAULT-FLOAT-FORMAT*", quote(cl("SINGLE-FLOAT"))),
            ("*READ-EVAL*", cl("T")),
            ("*READ-SUPPRESS*", Value::Nil),
        ];
        let b: Vec<Value> = binds.into_iter().map(|(n, v)| l(vec![cl(n), v])).collect();
        Ok(lt(vec![cl("LET"), list_from(b)], args(a)))
    }

    /// Print OBJECT as #<...> around what BODY prints.
    macro PRINT_UNREADABLE_OBJECT "PRINT-UNREADABLE-OBJECT" "((object stream &key type identity) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "PRINT-UNREADABLE-OBJECT")?;
        let spec = rest.first();
        let mut ty = Value::Nil;
        let mut id = Value::Nil;
        let mut opts = spec.rest().rest();
        while opts.is_cons() {
            match &opts.first() {
                Value::Symbol(s) if s.name() == "TYPE" => ty = opts.second(),
                Value::Symbol(s) if s.name() == "IDENTITY" => id = opts.second(),
                _ => {}
            }
            opts = opts.rest().rest();
        }
        let body = rest.rest();
        let thunk = if body.is_nil() {
            Value::Nil
        } else {
            l(vec![cl("FUNCTION"), lt(vec![cl("LAMBDA"), Value::Nil], body)])
        };
        Ok(l(vec![sys("%PRINT-UNREADABLE-OBJECT"), spec.first(), spec.second(), ty, id, thunk]))
    }

    /// Iterate VAR over the symbols of PACKAGE.
    macro DO_SYMBOLS "DO-SYMBOLS" "((var &optional package result) &body body)" (ctx, a) { do_symbols(ctx, &a[0], "ALL") }
    /// Iterate VAR over the external symbols of PACKAGE.
    macro DO_EXTERNAL_SYMBOLS "DO-EXTERNAL-SYMBOLS" "((var &optional package result) &body body)" (ctx, a) { do_symbols(ctx, &a[0], "EXTERNAL") }
    /// Iterate VAR over the symbols of every package.
    macro DO_ALL_SYMBOLS "DO-ALL-SYMBOLS" "((var &optional result) &body body)" (ctx, a) { do_symbols(ctx, &a[0], "EVERY") }

    /// Evaluate BODY (compilation units have no meaning in netlisp).
    macro WITH_COMPILATION_UNIT "WITH-COMPILATION-UNIT" "((&rest options) &body body)" (ctx, a) {
        Ok(Value::cons(cl("PROGN"), args(a).rest()))
    }

    /// Evaluate FORM (no stepper).
    macro STEP "STEP" "(form)" (ctx, a) { Ok(args(a).first()) }

    /// Expand a backquote template.
    macro QUASIQUOTE "NETLISP-SYSTEM:QUASIQUOTE" "(template)" (ctx, a) {
        crate::reader::backquote::qq(ctx, &args(a).first(), 0)
    }

    /// A comma outside a backquote is an error.
    macro UNQUOTE "NETLISP-SYSTEM:UNQUOTE" "(form)" (ctx, a) {
        Err(cond::program_error(ctx, "comma not inside a backquote".into()))
    }

    /// Iterate over a hash table with a local macro NAME returning (more? key value).
    macro WITH_HASH_TABLE_ITERATOR "WITH-HASH-TABLE-ITERATOR" "((name hash-table) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "WITH-HASH-TABLE-ITERATOR")?;
        let spec = rest.first();
        let it = gensym("ITER");
        Ok(l(vec![
            cl("LET"),
            l(vec![l(vec![it.clone(), l(vec![sys("%HASH-TABLE-ITERATOR"), spec.second()])])]),
            lt(vec![
                cl("MACROLET"),
                l(vec![l(vec![spec.first(), Value::Nil, l(vec![cl("LIST"), quote(cl("FUNCALL")), quote(it)])])]),
            ], rest.rest()),
        ]))
    }

    /// Iterate over package symbols with a local macro NAME returning (more? symbol status package).
    macro WITH_PACKAGE_ITERATOR "WITH-PACKAGE-ITERATOR" "((name package-list &rest symbol-types) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "WITH-PACKAGE-ITERATOR")?;
        let spec = rest.first();
        let it = gensym("ITER");
        let types = quote(spec.rest().rest());
        Ok(l(vec![
            cl("LET"),
            l(vec![l(vec![it.clone(), l(vec![sys("%PACKAGE-ITERATOR"), spec.second(), types])])]),
            lt(vec![
                cl("MACROLET"),
                l(vec![l(vec![spec.first(), Value::Nil, l(vec![cl("LIST"), quote(cl("FUNCALL")), quote(it)])])]),
            ], rest.rest()),
        ]))
    }
}

fn deftype_lambda_list(ll: &Value) -> Value {
    let mut out = Vec::new();
    let mut optional = false;
    for p in ll.iter() {
        if let Value::Symbol(s) = &p {
            if s.name().starts_with('&') {
                optional = matches!(s.name(), "&OPTIONAL" | "&KEY");
                out.push(p.clone());
                continue;
            }
            if optional {
                out.push(l(vec![p.clone(), quote(cl("*"))]));
                continue;
            }
        }
        out.push(p.clone());
    }
    let mut it = ll.iter();
    for _ in it.by_ref() {}
    list_with_tail(out, it.tail().clone())
}

fn with_stream(var: Value, init: Value, body: Value) -> R {
    let (decls, body) = split_decls(&body);
    let abort = gensym("ABORT");
    let mut letf = vec![
        cl("LET"),
        l(vec![
            l(vec![var.clone(), init]),
            l(vec![abort.clone(), cl("T")]),
        ]),
    ];
    letf.extend(decls);
    letf.push(l(vec![
        cl("UNWIND-PROTECT"),
        l(vec![
            cl("MULTIPLE-VALUE-PROG1"),
            progn(body),
            l(vec![cl("SETQ"), abort.clone(), Value::Nil]),
        ]),
        l(vec![
            cl("WHEN"),
            var.clone(),
            l(vec![cl("CLOSE"), var, keyword("ABORT"), abort]),
        ]),
    ]));
    Ok(l(letf))
}

fn do_expand(ctx: &mut Ctx, form: &Value, sequential: bool) -> R {
    let rest = need(ctx, form, 2, if sequential { "DO*" } else { "DO" })?;
    let specs = rest.first();
    let end = rest.second();
    if !end.is_cons() {
        return Err(malformed(ctx, "DO end clause", form));
    }
    let (decls, body) = split_decls(&rest.rest().rest());
    let mut binds = Vec::new();
    let mut steps = Vec::new();
    for s in specs.iter() {
        match &s {
            Value::Symbol(_) => binds.push(s.clone()),
            Value::Cons(_) => {
                binds.push(l(vec![s.first(), s.second()]));
                if s.rest().rest().is_cons() {
                    steps.push(s.first());
                    steps.push(s.third());
                }
            }
            _ => return Err(malformed(ctx, "DO variable spec", form)),
        }
    }
    let top = gensym("TOP");
    let mut letf = vec![
        cl(if sequential { "LET*" } else { "LET" }),
        list_from(binds),
    ];
    letf.extend(decls);
    let mut tb = vec![
        cl("TAGBODY"),
        top.clone(),
        l(vec![
            cl("WHEN"),
            end.first(),
            l(vec![cl("RETURN-FROM"), Value::Nil, progn(end.rest())]),
        ]),
        Value::cons(cl("TAGBODY"), body),
    ];
    if !steps.is_empty() {
        tb.push(Value::cons(
            cl(if sequential { "SETQ" } else { "PSETQ" }),
            list_from(steps),
        ));
    }
    tb.push(l(vec![cl("GO"), top]));
    letf.push(l(tb));
    Ok(l(vec![cl("BLOCK"), Value::Nil, l(letf)]))
}

fn prog_expand(ctx: &mut Ctx, form: &Value, let_op: &str) -> R {
    let rest = need(ctx, form, 1, "PROG")?;
    let (decls, body) = split_decls(&rest.rest());
    let mut letf = vec![cl(let_op), rest.first()];
    letf.extend(decls);
    letf.push(Value::cons(cl("TAGBODY"), body));
    Ok(l(vec![cl("BLOCK"), Value::Nil, l(letf)]))
}

fn do_symbols(ctx: &mut Ctx, form: &Value, kind: &str) -> R {
    let rest = need(ctx, form, 1, "DO-SYMBOLS")?;
    let spec = rest.first();
    let var = spec.first();
    let (pkg, result) = if kind == "EVERY" {
        (Value::Nil, spec.second())
    } else {
        (spec.second(), spec.third())
    };
    let syms = l(vec![sys("%PACKAGE-SYMBOLS"), pkg, quote(keyword(kind))]);
    Ok(lt(
        vec![cl("DOLIST"), l(vec![var, syms, result])],
        rest.rest(),
    ))
}

#[allow(dead_code)]
fn _assert_symbol_use(s: &Gc<Symbol>) -> bool {
    s.is_macro()
}
