//! Generalized places: SETF and the modify macros, GET-SETF-EXPANSION,
//! DEFSETF, DEFINE-SETF-EXPANDER and DEFINE-MODIFY-MACRO.
//!
//! A place `(op args...)` with no expander and no macro definition is
//! stored with the function `(setf op)`; a plain SETF of such a place
//! compiles to the internal form `%SETF-CALL`, which evaluates the
//! arguments, then the value, and calls the setter without temporaries.

use super::macros::{cl, gensym, l, lt, quote, sys};
use super::{opt_nil, symbol};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::eval::apply;
use crate::value::{list_from, Value};
use crate::world::{keyword, symbol_of, w};

/// The five values of a setf expansion.
pub struct Expansion {
    /// Temporary variables.
    pub temps: Vec<Value>,
    /// Forms whose values the temporaries hold.
    pub vals: Vec<Value>,
    /// Store variables.
    pub stores: Vec<Value>,
    /// Form storing the store variables into the place.
    pub store: Value,
    /// Form reading the place.
    pub access: Value,
}

fn sym_named(v: &Value, name: &str) -> bool {
    matches!(v, Value::Symbol(s) if s.name() == name && s.home_is(&w().cl))
}

/// Compute the setf expansion of PLACE in environment ENV.
pub fn expansion(ctx: &mut Ctx, place: &Value, env: &Value) -> R<Expansion> {
    match place {
        Value::Symbol(_) => {
            let (exp, expanded) = super::control::macroexpand_1(ctx, place, env)?;
            if expanded {
                return expansion(ctx, &exp, env);
            }
            let g = gensym("NEW");
            Ok(Expansion {
                temps: vec![],
                vals: vec![],
                stores: vec![g.clone()],
                store: l(vec![cl("SETQ"), place.clone(), g]),
                access: place.clone(),
            })
        }
        Value::Cons(_) => {
            let op = place.first();
            let args = place.rest();
            let Some(s) = symbol_of(&op) else {
                return Err(cond::program_error(
                    ctx,
                    format!("invalid place: {}", crate::printer::prin1_string(place)),
                ));
            };
            let expander = s.extra_field(|e| e.setf_expander.clone());
            if expander.truthy() {
                return call_expander(ctx, &expander, place, env);
            }
            if sym_named(&op, "THE") {
                let inner = expansion(ctx, &args.second(), env)?;
                let ty = args.first();
                let g = inner.stores[0].clone();
                return Ok(Expansion {
                    store: l(vec![
                        cl("LET"),
                        l(vec![l(vec![
                            g.clone(),
                            l(vec![cl("THE"), ty.clone(), g.clone()]),
                        ])]),
                        inner.store,
                    ]),
                    access: l(vec![cl("THE"), ty, inner.access]),
                    ..inner
                });
            }
            if sym_named(&op, "VALUES") {
                let mut e = Expansion {
                    temps: vec![],
                    vals: vec![],
                    stores: vec![],
                    store: Value::Nil,
                    access: Value::Nil,
                };
                let mut stores_forms = vec![cl("VALUES")];
                let mut access = vec![cl("VALUES")];
                for p in args.iter() {
                    let x = expansion(ctx, &p, env)?;
                    e.temps.extend(x.temps);
                    e.vals.extend(x.vals);
                    e.stores.push(x.stores[0].clone());
                    stores_forms.push(x.store);
                    access.push(x.access);
                }
                e.store = l(stores_forms);
                e.access = l(access);
                return Ok(e);
            }
            if sym_named(&op, "GETF") {
                let inner = expansion(ctx, &args.first(), env)?;
                let ind = gensym("INDICATOR");
                let def = gensym("DEFAULT");
                let g = gensym("NEW");
                let mut temps = inner.temps;
                let mut vals = inner.vals;
                temps.push(ind.clone());
                vals.push(args.second());
                temps.push(def.clone());
                vals.push(args.third());
                let s0 = inner.stores[0].clone();
                return Ok(Expansion {
                    temps,
                    vals,
                    stores: vec![g.clone()],
                    store: l(vec![
                        cl("LET*"),
                        l(vec![l(vec![
                            s0,
                            l(vec![
                                sys("%PUTF"),
                                inner.access.clone(),
                                ind.clone(),
                                g.clone(),
                            ]),
                        ])]),
                        inner.store,
                        g,
                    ]),
                    access: l(vec![cl("GETF"), inner.access, ind, def]),
                });
            }
            if sym_named(&op, "LDB") || sym_named(&op, "MASK-FIELD") {
                let inner = expansion(ctx, &args.second(), env)?;
                let bs = gensym("BYTESPEC");
                let g = gensym("NEW");
                let mut temps = inner.temps;
                let mut vals = inner.vals;
                temps.push(bs.clone());
                vals.push(args.first());
                let s0 = inner.stores[0].clone();
                let (setter, getter) = if sym_named(&op, "LDB") {
                    ("DPB", "LDB")
                } else {
                    ("DEPOSIT-FIELD", "MASK-FIELD")
                };
                return Ok(Expansion {
                    temps,
                    vals,
                    stores: vec![g.clone()],
                    store: l(vec![
                        cl("LET*"),
                        l(vec![l(vec![
                            s0,
                            l(vec![
                                cl(setter),
                                g.clone(),
                                bs.clone(),
                                inner.access.clone(),
                            ]),
                        ])]),
                        inner.store,
                        g,
                    ]),
                    access: l(vec![cl(getter), bs, inner.access]),
                });
            }
            if sym_named(&op, "APPLY") {
                // (apply #'fn args...) places.
                let f = args.first();
                let fname = if f.is_cons() { f.second() } else { f.clone() };
                let temps: Vec<Value> = args.rest().iter().map(|_| gensym("ARG")).collect();
                let g = gensym("NEW");
                let setter = l(vec![cl("FUNCTION"), l(vec![cl("SETF"), fname.clone()])]);
                let mut store = vec![cl("APPLY"), setter, g.clone()];
                store.extend(temps.iter().cloned());
                let mut access = vec![cl("APPLY"), l(vec![cl("FUNCTION"), fname])];
                access.extend(temps.iter().cloned());
                return Ok(Expansion {
                    vals: args.rest().list_to_vec(),
                    temps,
                    stores: vec![g],
                    store: l(store),
                    access: l(access),
                });
            }
            if s.is_macro() || crate::foreign::get::<crate::compiler::MacroEnv>(env).is_some() {
                let (exp, expanded) = super::control::macroexpand_1(ctx, place, env)?;
                if expanded {
                    return expansion(ctx, &exp, env);
                }
            }
            // Default: the function (setf op).
            let temps: Vec<Value> = args.iter().map(|_| gensym("ARG")).collect();
            let g = gensym("NEW");
            let mut store = vec![
                cl("FUNCALL"),
                l(vec![cl("FUNCTION"), l(vec![cl("SETF"), op.clone()])]),
                g.clone(),
            ];
            store.extend(temps.iter().cloned());
            let mut access = vec![op];
            access.extend(temps.iter().cloned());
            Ok(Expansion {
                vals: args.list_to_vec(),
                temps,
                stores: vec![g],
                store: l(store),
                access: l(access),
            })
        }
        _ => Err(cond::program_error(
            ctx,
            format!("invalid place: {}", crate::printer::prin1_string(place)),
        )),
    }
}

fn call_expander(ctx: &mut Ctx, expander: &Value, place: &Value, env: &Value) -> R<Expansion> {
    // Short DEFSETF: (:short update-fn).
    if expander.is_cons() && expander.first().eq(&keyword("SHORT")) {
        let update = expander.second();
        let args = place.rest();
        let temps: Vec<Value> = args.iter().map(|_| gensym("ARG")).collect();
        let g = gensym("NEW");
        let mut store = vec![update];
        store.extend(temps.iter().cloned());
        store.push(g.clone());
        let mut access = vec![place.first()];
        access.extend(temps.iter().cloned());
        return Ok(Expansion {
            vals: args.list_to_vec(),
            temps,
            stores: vec![g],
            store: l(store),
            access: l(access),
        });
    }
    // Long DEFSETF: (:long nstores function-of-(temps stores)).
    if expander.is_cons() && expander.first().eq(&keyword("LONG")) {
        let nstores = expander.second().as_fixnum().unwrap_or(1) as usize;
        let f = expander.third();
        let args = place.rest();
        let temps: Vec<Value> = args.iter().map(|_| gensym("ARG")).collect();
        let stores: Vec<Value> = (0..nstores).map(|_| gensym("NEW")).collect();
        let store = apply(
            ctx,
            &f,
            &[list_from(temps.clone()), list_from(stores.clone())],
        )?;
        let mut access = vec![place.first()];
        access.extend(temps.iter().cloned());
        return Ok(Expansion {
            vals: args.list_to_vec(),
            temps,
            stores,
            store,
            access: l(access),
        });
    }
    // DEFINE-SETF-EXPANDER: a macro-style function of (place env) -> 5 values.
    let v = apply(ctx, expander, &[place.clone(), env.clone()])?;
    let vals = ctx.take_values(v);
    let get = |i: usize| vals.get(i).cloned().unwrap_or(Value::Nil);
    Ok(Expansion {
        temps: get(0).list_to_vec(),
        vals: get(1).list_to_vec(),
        stores: get(2).list_to_vec(),
        store: get(3),
        access: get(4),
    })
}

fn let_star(e: &Expansion, extra: Vec<(Value, Value)>, body: Vec<Value>) -> Value {
    let mut binds: Vec<Value> = e
        .temps
        .iter()
        .zip(&e.vals)
        .map(|(t, v)| l(vec![t.clone(), v.clone()]))
        .collect();
    for (a, b) in extra {
        binds.push(l(vec![a, b]));
    }
    lt(vec![cl("LET*"), list_from(binds)], list_from(body))
}

fn setf_one(ctx: &mut Ctx, place: &Value, val: Value, env: &Value) -> R {
    if let Value::Cons(_) = place {
        if let Some(s) = symbol_of(&place.first()) {
            let has_expander = s.extra_field(|e| e.setf_expander.clone()).truthy();
            let special = ["THE", "VALUES", "GETF", "LDB", "MASK-FIELD", "APPLY"]
                .iter()
                .any(|n| sym_named(&place.first(), n));
            let local_env = crate::foreign::get::<crate::compiler::MacroEnv>(env).is_some();
            if !has_expander && !special && !s.is_macro() && !local_env {
                let mut form = vec![sys("%SETF-CALL"), place.first()];
                form.extend(place.rest().list_to_vec());
                form.push(val);
                return Ok(l(form));
            }
        }
    }
    if let Value::Symbol(_) = place {
        let (exp, expanded) = super::control::macroexpand_1(ctx, place, env)?;
        if !expanded {
            return Ok(l(vec![cl("SETQ"), place.clone(), val]));
        }
        return setf_one(ctx, &exp, val, env);
    }
    let e = expansion(ctx, place, env)?;
    if e.stores.len() == 1 {
        return Ok(let_star(
            &e,
            vec![(e.stores[0].clone(), val)],
            vec![e.store.clone()],
        ));
    }
    // Several store variables: bind them from the values of VAL.
    let inner = l(vec![
        sys("%MV-BIND"),
        list_from(e.stores.clone()),
        val,
        e.store.clone(),
    ]);
    Ok(let_star(&e, vec![], vec![inner]))
}

crate::defbuiltins! {
    /// Store each VALUE into its PLACE, left to right; return the last value.
    macro SETF "SETF" "(&rest pairs)" (ctx, a) {
        let env = opt_nil(a, 1);
        let pairs = a[0].rest().list_to_vec();
        if !pairs.len().is_multiple_of(2) {
            return Err(cond::program_error(ctx, format!("odd number of arguments to SETF: {}", crate::printer::prin1_string(&a[0]))));
        }
        let mut forms = Vec::new();
        for p in pairs.chunks(2) {
            forms.push(setf_one(ctx, &p[0], p[1].clone(), &env)?);
        }
        Ok(match forms.len() {
            0 => Value::Nil,
            1 => forms.pop().unwrap(),
            _ => Value::cons(cl("PROGN"), list_from(forms)),
        })
    }

    /// Store values into places in parallel; return NIL.
    macro PSETF "PSETF" "(&rest pairs)" (ctx, a) {
        let env = opt_nil(a, 1);
        let pairs = a[0].rest().list_to_vec();
        if !pairs.len().is_multiple_of(2) {
            return Err(cond::program_error(ctx, "odd number of arguments to PSETF".into()));
        }
        let mut binds = Vec::new();
        let mut stores = Vec::new();
        for p in pairs.chunks(2) {
            let e = expansion(ctx, &p[0], &env)?;
            for (t, v) in e.temps.iter().zip(&e.vals) {
                binds.push(l(vec![t.clone(), v.clone()]));
            }
            binds.push(l(vec![e.stores[0].clone(), p[1].clone()]));
            stores.push(e.store);
        }
        stores.push(Value::Nil);
        Ok(lt(vec![cl("LET*"), list_from(binds)], list_from(stores)))
    }

    /// Increment PLACE by DELTA (default 1).
    macro INCF "INCF" "(place &optional (delta 1))" (ctx, a) { modify(ctx, a, "+") }
    /// Decrement PLACE by DELTA (default 1).
    macro DECF "DECF" "(place &optional (delta 1))" (ctx, a) { modify(ctx, a, "-") }

    /// Push ITEM onto the list in PLACE.
    macro PUSH "PUSH" "(item place)" (ctx, a) {
        let env = opt_nil(a, 1);
        let args = a[0].rest();
        let item = args.first();
        let place = args.second();
        if let Value::Symbol(_) = place {
            let (_, expanded) = super::control::macroexpand_1(ctx, &place, &env)?;
            if !expanded {
                return Ok(l(vec![cl("SETQ"), place.clone(), l(vec![cl("CONS"), item, place])]));
            }
        }
        let e = expansion(ctx, &place, &env)?;
        let it = gensym("ITEM");
        let mut extra = vec![(it.clone(), item)];
        extra.push((e.stores[0].clone(), l(vec![cl("CONS"), it, e.access.clone()])));
        // The item is evaluated before the place's subforms.
        let mut binds: Vec<Value> = vec![l(vec![extra[0].0.clone(), extra[0].1.clone()])];
        binds.extend(e.temps.iter().zip(&e.vals).map(|(t, v)| l(vec![t.clone(), v.clone()])));
        binds.push(l(vec![extra[1].0.clone(), extra[1].1.clone()]));
        Ok(l(vec![cl("LET*"), list_from(binds), e.store]))
    }

    /// Remove and return the first element of the list in PLACE.
    macro POP "POP" "(place)" (ctx, a) {
        let env = opt_nil(a, 1);
        let place = a[0].second();
        if let Value::Symbol(_) = place {
            let (_, expanded) = super::control::macroexpand_1(ctx, &place, &env)?;
            if !expanded {
                return Ok(l(vec![cl("PROG1"), l(vec![cl("CAR"), place.clone()]), l(vec![cl("SETQ"), place.clone(), l(vec![cl("CDR"), place])])]));
            }
        }
        let e = expansion(ctx, &place, &env)?;
        let head = gensym("HEAD");
        let body = vec![l(vec![
            cl("PROG1"),
            l(vec![cl("CAR"), head.clone()]),
            l(vec![cl("LET"), l(vec![l(vec![e.stores[0].clone(), l(vec![cl("CDR"), head.clone()])])]), e.store.clone()]),
        ])];
        Ok(let_star(&e, vec![(head, e.access.clone())], body))
    }

    /// Push ITEM onto the list in PLACE unless already present.
    macro PUSHNEW "PUSHNEW" "(item place &rest keys)" (ctx, a) {
        let env = opt_nil(a, 1);
        let args = a[0].rest();
        let item = args.first();
        let place = args.second();
        let keys = args.rest().rest();
        let e = expansion(ctx, &place, &env)?;
        let it = gensym("ITEM");
        let mut binds: Vec<Value> = vec![l(vec![it.clone(), item])];
        binds.extend(e.temps.iter().zip(&e.vals).map(|(t, v)| l(vec![t.clone(), v.clone()])));
        let adjoin = lt(vec![cl("ADJOIN"), it, e.access.clone()], keys);
        binds.push(l(vec![e.stores[0].clone(), adjoin]));
        Ok(l(vec![cl("LET*"), list_from(binds), e.store]))
    }

    /// Remove INDICATOR from the property list in PLACE; true if it was there.
    macro REMF "REMF" "(place indicator)" (ctx, a) {
        let env = opt_nil(a, 1);
        let args = a[0].rest();
        let e = expansion(ctx, &args.first(), &env)?;
        let res = gensym("FOUND");
        let body = vec![l(vec![
            sys("%MV-BIND"),
            l(vec![e.stores[0].clone(), res.clone()]),
            l(vec![sys("%REMF"), e.access.clone(), args.second()]),
            e.store.clone(),
            res,
        ])];
        Ok(let_star(&e, vec![], body))
    }

    /// Rotate the values of PLACES to the left; return NIL.
    macro ROTATEF "ROTATEF" "(&rest places)" (ctx, a) {
        let env = opt_nil(a, 1);
        let places = a[0].rest().list_to_vec();
        if places.len() < 2 {
            return Ok(Value::Nil);
        }
        let mut exps = Vec::new();
        for p in &places {
            exps.push(expansion(ctx, p, &env)?);
        }
        let mut binds = Vec::new();
        for e in &exps {
            for (t, v) in e.temps.iter().zip(&e.vals) {
                binds.push(l(vec![t.clone(), v.clone()]));
            }
        }
        let n = exps.len();
        for i in 0..n {
            binds.push(l(vec![exps[i].stores[0].clone(), exps[(i + 1) % n].access.clone()]));
        }
        let mut body: Vec<Value> = exps.iter().map(|e| e.store.clone()).collect();
        body.push(Value::Nil);
        Ok(lt(vec![cl("LET*"), list_from(binds)], list_from(body)))
    }

    /// Shift values left through PLACES, storing NEWVALUE last; return the first old value.
    macro SHIFTF "SHIFTF" "(&rest places-and-newvalue)" (ctx, a) {
        let env = opt_nil(a, 1);
        let mut items = a[0].rest().list_to_vec();
        if items.len() < 2 {
            return Err(cond::program_error(ctx, "SHIFTF needs at least a place and a value".into()));
        }
        let newval = items.pop().unwrap();
        let mut exps = Vec::new();
        for p in &items {
            exps.push(expansion(ctx, p, &env)?);
        }
        let mut binds = Vec::new();
        for e in &exps {
            for (t, v) in e.temps.iter().zip(&e.vals) {
                binds.push(l(vec![t.clone(), v.clone()]));
            }
        }
        let old = gensym("OLD");
        binds.push(l(vec![old.clone(), exps[0].access.clone()]));
        let n = exps.len();
        for i in 0..n {
            let src = if i + 1 < n { exps[i + 1].access.clone() } else { newval.clone() };
            binds.push(l(vec![exps[i].stores[0].clone(), src]));
        }
        let mut body: Vec<Value> = exps.iter().map(|e| e.store.clone()).collect();
        body.push(old);
        Ok(lt(vec![cl("LET*"), list_from(binds)], list_from(body)))
    }

    /// Define how SETF stores into (ACCESS ...) places.
    macro DEFSETF "DEFSETF" "(access-fn &rest spec)" (ctx, a) {
        let args = a[0].rest();
        let name = args.first();
        let second = args.second();
        if second.is_symbol() && !second.is_nil() {
            return Ok(l(vec![sys("%SET-SETF-EXPANDER"), quote(name.clone()), quote(l(vec![keyword("SHORT"), second]))]));
        }
        // (defsetf name lambda-list (store-vars) body...)
        let ll = second;
        let stores = args.third();
        let body = args.rest().rest().rest();
        let targs = gensym("ARGS");
        let tstores = gensym("STORES");
        let lam = l(vec![
            cl("LAMBDA"),
            l(vec![targs.clone(), tstores.clone()]),
            l(vec![
                cl("DESTRUCTURING-BIND"),
                ll,
                targs,
                lt(vec![cl("DESTRUCTURING-BIND"), stores.clone(), tstores], body),
            ]),
        ]);
        let n = stores.list_length().unwrap_or(1) as i64;
        Ok(l(vec![
            sys("%SET-SETF-EXPANDER"),
            quote(name.clone()),
            l(vec![cl("LIST"), keyword("LONG"), Value::Fixnum(n), lam]),
        ]))
    }

    /// Define a setf expander: BODY returns the five values of an expansion.
    macro DEFINE_SETF_EXPANDER "DEFINE-SETF-EXPANDER" "(access-fn lambda-list &body body)" (ctx, a) {
        let args = a[0].rest();
        let name = args.first();
        Ok(l(vec![
            sys("%SET-SETF-EXPANDER"),
            quote(name.clone()),
            Value::cons(sys("MACRO-LAMBDA"), args.clone()),
        ]))
    }

    /// Define a macro that modifies a place by applying FUNCTION to it and more arguments.
    macro DEFINE_MODIFY_MACRO "DEFINE-MODIFY-MACRO" "(name lambda-list function &optional doc)" (ctx, a) {
        let args = a[0].rest();
        let name = args.first();
        let ll = args.second();
        let f = args.third();
        let place = gensym("PLACE");
        let env = gensym("ENV");
        // Collect the lambda-list variables into an argument list form.
        let mut fixed = Vec::new();
        let mut rest = Value::Nil;
        let mut mode = 0;
        for p in ll.iter() {
            match &p {
                Value::Symbol(s) if s.name() == "&OPTIONAL" => mode = 1,
                Value::Symbol(s) if s.name() == "&REST" => mode = 2,
                _ => {
                    let var = if p.is_cons() { p.first() } else { p.clone() };
                    if mode == 2 { rest = var } else { fixed.push(var) }
                }
            }
        }
        let mut arglist = vec![cl("LIST*")];
        arglist.extend(fixed);
        arglist.push(rest);
        let mut mll = vec![place.clone(), cl("&ENVIRONMENT"), env.clone()];
        mll.extend(ll.list_to_vec());
        Ok(l(vec![
            cl("DEFMACRO"),
            name,
            list_from(mll),
            l(vec![sys("%MODIFY-MACRO-EXPAND"), place, quote(f), l(arglist), env]),
        ]))
    }

    /// The five values of PLACE's setf expansion.
    fn GET_SETF_EXPANSION "GET-SETF-EXPANSION" "(place &optional environment)" [mv] (ctx, a) {
        let e = expansion(ctx, &a[0], &opt_nil(a, 1))?;
        Ok(ctx.set_values(vec![
            list_from(e.temps),
            list_from(e.vals),
            list_from(e.stores),
            e.store,
            e.access,
        ]))
    }

    /// Expansion of a DEFINE-MODIFY-MACRO use.
    fn MODIFY_MACRO_EXPAND "NETLISP-SYSTEM:%MODIFY-MACRO-EXPAND" "(place function args env)" (ctx, a) {
        let e = expansion(ctx, &a[0], &a[3])?;
        let mut call = vec![a[1].clone(), e.access.clone()];
        call.extend(a[2].list_to_vec());
        Ok(let_star(&e, vec![(e.stores[0].clone(), l(call))], vec![e.store.clone()]))
    }

    /// Record a setf expander for NAME.
    fn SET_SETF_EXPANDER "NETLISP-SYSTEM:%SET-SETF-EXPANDER" "(name expander)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        s.extra_mut().setf_expander = a[1].clone();
        Ok(a[0].clone())
    }
}

fn modify(ctx: &mut Ctx, a: &[Value], op: &str) -> R {
    let env = opt_nil(a, 1);
    let args = a[0].rest();
    let place = args.first();
    let delta = if args.rest().is_cons() {
        args.second()
    } else {
        Value::Fixnum(1)
    };
    let opf = if delta.eq(&Value::Fixnum(1)) {
        if op == "+" {
            "1+"
        } else {
            "1-"
        }
    } else {
        op
    };
    let mk = |access: Value| {
        if opf.len() == 2 {
            l(vec![cl(opf), access])
        } else {
            l(vec![cl(opf), access, delta.clone()])
        }
    };
    if let Value::Symbol(_) = place {
        let (_, expanded) = super::control::macroexpand_1(ctx, &place, &env)?;
        if !expanded {
            return Ok(l(vec![cl("SETQ"), place.clone(), mk(place)]));
        }
    }
    let e = expansion(ctx, &place, &env)?;
    // Delta is evaluated after the place's subforms.
    let d = gensym("DELTA");
    let update = if opf.len() == 2 {
        l(vec![cl(opf), e.access.clone()])
    } else {
        l(vec![cl(opf), e.access.clone(), d.clone()])
    };
    let mut extra = Vec::new();
    if opf.len() != 2 {
        extra.push((d, delta.clone()));
    }
    extra.push((e.stores[0].clone(), update));
    Ok(let_star(&e, extra, vec![e.store.clone()]))
}
