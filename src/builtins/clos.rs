//! CLOS: DEFCLASS, DEFINE-CONDITION, DEFGENERIC, DEFMETHOD,
//! MAKE-INSTANCE with INITIALIZE-INSTANCE / SHARED-INITIALIZE, slot access
//! and class introspection.

use super::macros::{cl, gensym, l, lt, quote, split_decls, sys};
use super::{opt, symbol};
use crate::clos::generic::{self, Spec};
use crate::clos::{self, Class, ClassKind, SlotAlloc, SlotDef};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::eval::apply;
use crate::function::FnKind;
use crate::gc::Gc;
use crate::value::{list_from, Value, VarCell};
use crate::world::{keyword, w};

fn kw_is(v: &Value, name: &str) -> bool {
    matches!(v, Value::Symbol(s) if s.name() == name && s.home_is(&w().keyword))
}

/// Turn a DEFCLASS slot specifier into a form building its description:
/// (list name initargs initform initfunction readers writers allocation type doc).
fn slot_spec_form(ctx: &mut Ctx, spec: &Value, form: &Value) -> R<(Value, Vec<Value>, Vec<Value>)> {
    let (name, opts) = match spec {
        Value::Symbol(_) => (spec.clone(), Value::Nil),
        Value::Cons(_) => (spec.first(), spec.rest()),
        _ => {
            return Err(cond::program_error(
                ctx,
                format!(
                    "bad slot specifier in {}",
                    crate::printer::prin1_string(form)
                ),
            ))
        }
    };
    let mut initargs = vec![];
    let mut initform = Value::Nil;
    let mut has_initform = false;
    let mut readers = vec![];
    let mut writers = vec![];
    let mut alloc = Value::Nil;
    let mut ty = Value::t();
    let mut doc = Value::Nil;
    let mut o = opts;
    while o.is_cons() {
        let k = o.first();
        let v = o.second();
        match &k {
            k if kw_is(k, "INITARG") => initargs.push(v),
            k if kw_is(k, "INITFORM") => {
                initform = v;
                has_initform = true;
            }
            k if kw_is(k, "READER") => readers.push(v),
            k if kw_is(k, "WRITER") => writers.push(v),
            k if kw_is(k, "ACCESSOR") => {
                readers.push(v.clone());
                writers.push(list_from([cl("SETF"), v]));
            }
            k if kw_is(k, "ALLOCATION") => alloc = v,
            k if kw_is(k, "TYPE") => ty = v,
            k if kw_is(k, "DOCUMENTATION") => doc = v,
            _ => {}
        }
        o = o.rest().rest();
    }
    let initfn = if has_initform {
        l(vec![
            cl("FUNCTION"),
            l(vec![cl("LAMBDA"), Value::Nil, initform.clone()]),
        ])
    } else {
        Value::Nil
    };
    let f = l(vec![
        cl("LIST"),
        quote(name),
        quote(list_from(initargs)),
        quote(initform),
        initfn,
        quote(list_from(readers.clone())),
        quote(list_from(writers.clone())),
        quote(alloc),
        quote(ty),
        doc,
    ]);
    Ok((f, readers, writers))
}

fn class_options(ctx: &mut Ctx, opts: &Value) -> R<(Value, Value, Value)> {
    // Returns (default-initargs form, documentation, report form).
    let mut dia = vec![cl("LIST")];
    let mut doc = Value::Nil;
    let mut report = Value::Nil;
    for o in opts.iter() {
        let k = o.first();
        if kw_is(&k, "DEFAULT-INITARGS") {
            let mut r = o.rest();
            while r.is_cons() {
                let fnf = l(vec![
                    cl("FUNCTION"),
                    l(vec![cl("LAMBDA"), Value::Nil, r.second()]),
                ]);
                dia.push(l(vec![
                    cl("LIST"),
                    quote(r.first()),
                    fnf,
                    quote(r.second()),
                ]));
                r = r.rest().rest();
            }
        } else if kw_is(&k, "DOCUMENTATION") {
            doc = o.second();
        } else if kw_is(&k, "REPORT") {
            let r = o.second();
            report = if r.is_string() {
                r
            } else {
                l(vec![cl("FUNCTION"), r])
            };
        }
    }
    let _ = ctx;
    Ok((l(dia), doc, report))
}

fn define_class_form(ctx: &mut Ctx, form: &Value, kind: &str) -> R {
    let args = form.rest();
    let name = args.first();
    symbol(ctx, &name)?;
    let supers = args.second();
    let slots = args.third();
    let opts = args.rest().rest().rest();
    let mut slot_forms = vec![cl("LIST")];
    for s in slots.iter() {
        let (f, _, _) = slot_spec_form(ctx, &s, form)?;
        slot_forms.push(f);
    }
    let (dia, doc, report) = class_options(ctx, &opts)?;
    Ok(l(vec![
        sys("%ENSURE-CLASS"),
        quote(name),
        keyword(kind),
        quote(supers),
        l(slot_forms),
        dia,
        doc,
        report,
    ]))
}

fn make_reader(ctx: &mut Ctx, fname: &Value, class: &Gc<Class>, slot: &Value) -> R<()> {
    let gf = ensure_generic(ctx, fname, list_from([keyword("OBJECT")]))?;
    let f =
        crate::eval::make_native_closure("SLOT-READER", vec![slot.clone()], |ctx, env, args| {
            slot_value(ctx, &args[1], &env[0])
        });
    let m = generic::make_method(
        vec![Spec::Class(class.clone())],
        vec![],
        f,
        list_from([cl("OBJECT")]),
        false,
    );
    if let Value::Function(g) = &gf {
        generic::add_method(g, m);
    }
    Ok(())
}

fn make_writer(ctx: &mut Ctx, fname: &Value, class: &Gc<Class>, slot: &Value) -> R<()> {
    let gf = ensure_generic(ctx, fname, list_from([cl("NEW-VALUE"), cl("OBJECT")]))?;
    let f =
        crate::eval::make_native_closure("SLOT-WRITER", vec![slot.clone()], |ctx, env, args| {
            set_slot_value(ctx, &args[2], &env[0], args[1].clone())?;
            Ok(args[1].clone())
        });
    let specs = vec![Spec::Class(clos::cl_class("T")), Spec::Class(class.clone())];
    let m = generic::make_method(
        specs,
        vec![],
        f,
        list_from([cl("NEW-VALUE"), cl("OBJECT")]),
        false,
    );
    if let Value::Function(g) = &gf {
        generic::add_method(g, m);
    }
    Ok(())
}

/// The generic function named NAME, created if needed.
pub fn ensure_generic(ctx: &mut Ctx, name: &Value, lambda_list: Value) -> R {
    if let Some(f) = super::control::fdefinition_of(name) {
        if let Value::Function(fun) = &f {
            if matches!(fun.kind, FnKind::Generic(_)) {
                return Ok(f);
            }
        }
        if let Value::Symbol(s) = name {
            if s.is_macro() || s.has(crate::symbol::SPECIAL_OPERATOR) {
                return Err(cond::program_error(
                    ctx,
                    format!(
                        "{} names a macro or special operator, not a generic function",
                        s.name()
                    ),
                ));
            }
        }
    }
    let g = generic::make_generic(name.clone(), lambda_list);
    super::control::set_fdefinition(ctx, name, g.clone())?;
    Ok(g)
}

fn slot_missing(ctx: &mut Ctx, obj: &Value, name: &Value) -> crate::ctx::Exit {
    cond::simple_error(
        ctx,
        format!(
            "When attempting to access the slot {}, the slot {} is missing from the object {}.",
            crate::printer::prin1_string(name),
            crate::printer::prin1_string(name),
            crate::printer::prin1_string(obj)
        ),
    )
}

/// SLOT-VALUE.
pub fn slot_value(ctx: &mut Ctx, obj: &Value, name: &Value) -> R {
    let Value::Instance(i) = obj else {
        return Err(slot_missing(ctx, obj, name));
    };
    match clos::slot_value_raw(i, name) {
        Some(Value::Unbound) => {
            let c = cond::make(
                "UNBOUND-SLOT",
                &[("NAME", name.clone()), ("INSTANCE", obj.clone())],
            );
            Err(cond::error(ctx, c))
        }
        Some(v) => Ok(v),
        None => Err(slot_missing(ctx, obj, name)),
    }
}

/// (SETF SLOT-VALUE).
pub fn set_slot_value(ctx: &mut Ctx, obj: &Value, name: &Value, v: Value) -> R<()> {
    match obj {
        Value::Instance(i) if clos::set_slot_value_raw(i, name, v) => Ok(()),
        _ => Err(slot_missing(ctx, obj, name)),
    }
}

fn class_arg(ctx: &mut Ctx, v: &Value) -> R<Gc<Class>> {
    match v {
        Value::Class(c) => Ok(c.clone()),
        other => match clos::find_class(other) {
            Some(c) => Ok(c),
            None => Err(cond::simple_error(
                ctx,
                format!(
                    "There is no class named {}.",
                    crate::printer::prin1_string(other)
                ),
            )),
        },
    }
}

fn method_function_form(name: &Value, ll: &Value, body: &Value) -> Value {
    // A method accepts the keywords of every applicable method (CLHS
    // 7.6.5), so its own &KEY list never rejects the others'.
    let has = |k: &str| {
        ll.iter()
            .any(|x| matches!(&x, Value::Symbol(s) if s.name() == k))
    };
    let ll = if has("&KEY") && !has("&ALLOW-OTHER-KEYS") {
        let mut items = ll.list_to_vec();
        let aux = items
            .iter()
            .position(|x| matches!(x, Value::Symbol(s) if s.name() == "&AUX"))
            .unwrap_or(items.len());
        items.insert(aux, cl("&ALLOW-OTHER-KEYS"));
        list_from(items)
    } else {
        ll.clone()
    };
    let ll = &ll;
    let nm = gensym("NEXT");
    let block = match name {
        Value::Cons(_) => name.second(),
        other => other.clone(),
    };
    // Docstring and declarations stay at the head of the lambda.
    let mut body = body.clone();
    if body.first().is_string() && body.rest().is_cons() {
        body = body.rest();
    }
    let (decls, forms) = split_decls(&body);
    let args = gensym("ARGS");
    let flets = l(vec![
        l(vec![
            cl("CALL-NEXT-METHOD"),
            l(vec![cl("&REST"), args.clone()]),
            l(vec![sys("%CALL-NEXT-METHOD"), nm.clone(), args]),
        ]),
        l(vec![
            cl("NEXT-METHOD-P"),
            Value::Nil,
            l(vec![sys("%NEXT-METHOD-P"), nm.clone()]),
        ]),
    ]);
    // Named (METHOD name) so backtraces and closures inside say where they are.
    let mut lam = vec![
        sys("NAMED-LAMBDA"),
        l(vec![cl("METHOD"), name.clone()]),
        Value::cons(nm.clone(), ll.clone()),
        l(vec![cl("DECLARE"), l(vec![cl("IGNORABLE"), nm])]),
    ];
    lam.extend(decls);
    lam.push(l(vec![
        cl("FLET"),
        flets,
        l(vec![
            cl("DECLARE"),
            l(vec![
                cl("IGNORABLE"),
                l(vec![cl("FUNCTION"), cl("CALL-NEXT-METHOD")]),
                l(vec![cl("FUNCTION"), cl("NEXT-METHOD-P")]),
            ]),
        ]),
        lt(vec![cl("BLOCK"), block], forms),
    ]));
    l(vec![cl("FUNCTION"), l(lam)])
}

/// Split a specialized lambda list into a plain one and specializer forms.
fn split_specialized(ll: &Value) -> (Value, Vec<Value>) {
    let mut plain = vec![];
    let mut specs = vec![];
    let mut required = true;
    let mut it = ll.iter();
    for p in it.by_ref() {
        if let Value::Symbol(s) = &p {
            if s.name().starts_with('&') {
                required = false;
            }
        }
        if required {
            match &p {
                Value::Cons(_) => {
                    plain.push(p.first());
                    let sp = p.second();
                    specs.push(if sp.is_cons() && sp.first().eq(&cl("EQL")) {
                        l(vec![cl("LIST"), quote(cl("EQL")), sp.second()])
                    } else {
                        quote(sp)
                    });
                }
                other => {
                    plain.push(other.clone());
                    specs.push(quote(cl("T")));
                }
            }
        } else {
            plain.push(p.clone());
        }
    }
    (list_from(plain), specs)
}

fn spec_of(ctx: &mut Ctx, v: &Value) -> R<Spec> {
    if v.is_cons() && v.first().eq(&cl("EQL")) {
        return Ok(Spec::Eql(v.second()));
    }
    Ok(Spec::Class(class_arg(ctx, v)?))
}

fn initargs_valid(ctx: &mut Ctx, class: &Gc<Class>, initargs: &[Value]) -> R<()> {
    if !initargs.len().is_multiple_of(2) {
        return Err(cond::program_error(
            ctx,
            "odd number of initialization arguments".into(),
        ));
    }
    let aok = keyword("ALLOW-OTHER-KEYS");
    if initargs.chunks(2).any(|p| p[0].eq(&aok) && p[1].truthy()) {
        return Ok(());
    }
    let slots = class.slots.borrow();
    let mut extra: Vec<Value> = vec![];
    for gname in ["INITIALIZE-INSTANCE", "SHARED-INITIALIZE"] {
        if let Value::Function(f) = crate::world::cl_sym(gname).function() {
            if let FnKind::Generic(g) = &f.kind {
                for m in g.methods.borrow().iter() {
                    let md = generic::method_of(m).unwrap();
                    let mut in_key = false;
                    for p in md.lambda_list.iter() {
                        if let Value::Symbol(s) = &p {
                            if s.name() == "&KEY" {
                                in_key = true;
                                continue;
                            }
                            if s.name() == "&ALLOW-OTHER-KEYS" {
                                return Ok(());
                            }
                            if s.name().starts_with('&') {
                                in_key = false;
                                continue;
                            }
                        }
                        if in_key {
                            let var = if p.is_cons() { p.first() } else { p.clone() };
                            let k = if var.is_cons() {
                                var.first()
                            } else {
                                keyword(
                                    crate::world::symbol_of(&var)
                                        .map(|s| s.name().to_string())
                                        .unwrap_or_default()
                                        .as_str(),
                                )
                            };
                            extra.push(k);
                        }
                    }
                }
            }
        }
    }
    for p in initargs.chunks(2) {
        let k = &p[0];
        if k.eq(&aok) {
            continue;
        }
        if !slots.iter().any(|s| s.initargs.iter().any(|i| i.eq(k)))
            && !extra.iter().any(|e| e.eq(k))
        {
            return Err(cond::program_error(
                ctx,
                format!(
                    "Invalid initialization argument:\n  {}\nin call for class {}.",
                    crate::printer::prin1_string(k),
                    crate::printer::prin1_string(&Value::Class(class.clone()))
                ),
            ));
        }
    }
    Ok(())
}

crate::defbuiltins! {
    /// Define a standard class.
    macro DEFCLASS "DEFCLASS" "(name (&rest superclasses) (&rest slots) &rest options)" (ctx, a) { define_class_form(ctx, &a[0], "STANDARD") }
    /// Define a condition type.
    macro DEFINE_CONDITION "DEFINE-CONDITION" "(name (&rest parent-types) (&rest slots) &body options)" (ctx, a) { define_class_form(ctx, &a[0], "CONDITION") }

    /// Create or redefine a class (the expansion of DEFCLASS and DEFINE-CONDITION).
    fn ENSURE_CLASS "NETLISP-SYSTEM:%ENSURE-CLASS" "(name kind supers slots default-initargs doc report)" (ctx, a) {
        let sym = symbol(ctx, &a[0])?;
        let kind = if kw_is(&a[1], "CONDITION") { ClassKind::Condition } else { ClassKind::Standard };
        let default_super = if kind == ClassKind::Condition { "CONDITION" } else { "STANDARD-OBJECT" };
        let mut supers = vec![];
        for s in a[2].iter() { supers.push(class_arg(ctx, &s)?); }
        if supers.is_empty() { supers.push(clos::cl_class(default_super)); }
        let class = Gc::new(Class::new(Value::Symbol(sym.clone()), kind));
        for s in &supers { s.direct_subs.borrow_mut().push(class.clone()); }
        *class.direct_supers.borrow_mut() = supers;
        let mut slot_defs = vec![];
        let mut accessors = vec![];
        for s in a[3].iter() {
            let v = s.list_to_vec();
            let mut d = SlotDef::new(v[0].clone());
            d.initargs = v[1].list_to_vec();
            d.initform = v[2].clone();
            d.initfunction = v[3].clone();
            d.readers = v[4].list_to_vec();
            d.writers = v[5].list_to_vec();
            if kw_is(&v[6], "CLASS") { d.alloc = SlotAlloc::Class(Gc::new(VarCell::new(Value::Unbound))); }
            d.type_ = v[7].clone();
            d.doc = crate::array::string_of(&v[8]);
            for r in &d.readers { accessors.push((true, r.clone(), d.name.clone())); }
            for wr in &d.writers { accessors.push((false, wr.clone(), d.name.clone())); }
            slot_defs.push(d);
        }
        *class.direct_slots.borrow_mut() = slot_defs;
        let dia: Vec<(Value, Value, Value)> = a[4].iter().map(|e| (e.first(), e.second(), e.third())).collect();
        *class.direct_default_initargs.borrow_mut() = dia;
        *class.doc.borrow_mut() = crate::array::string_of(&a[5]);
        class.extra.borrow_mut().report = a[6].clone();
        if let Err(msg) = clos::finalize(&class) {
            return Err(cond::simple_error(ctx, msg));
        }
        // Class slots: initialize once from the initform.
        for s in class.slots.borrow().clone().iter() {
            if let SlotAlloc::Class(c) = &s.alloc {
                if matches!(c.get(), Value::Unbound) && s.initfunction.truthy() {
                    let v = apply(ctx, &s.initfunction, &[])?;
                    c.set(v);
                }
            }
        }
        clos::set_find_class(&sym, Some(class.clone()));
        generic::bump_epoch();
        for (reader, fname, slot) in accessors {
            if reader { make_reader(ctx, &fname, &class, &slot)?; } else { make_writer(ctx, &fname, &class, &slot)?; }
        }
        Ok(Value::Class(class))
    }

    /// Define a generic function (and its :METHOD options).
    macro DEFGENERIC "DEFGENERIC" "(name lambda-list &body options)" (ctx, a) {
        let args = a[0].rest();
        let name = args.first();
        let mut forms = vec![cl("PROGN"), l(vec![sys("%ENSURE-GENERIC"), quote(name.clone()), quote(args.second())])];
        for o in args.rest().rest().iter() {
            let k = o.first();
            if kw_is(&k, "METHOD") {
                forms.push(lt(vec![cl("DEFMETHOD"), name.clone()], o.rest()));
            } else if kw_is(&k, "DOCUMENTATION") {
                forms.push(l(vec![sys("%SET-DOCUMENTATION"), quote(name.clone()), quote(cl("FUNCTION")), o.second()]));
            }
        }
        forms.push(l(vec![cl("FDEFINITION"), quote(name)]));
        Ok(l(forms))
    }
    /// Create the generic function NAME if needed.
    fn ENSURE_GENERIC "NETLISP-SYSTEM:%ENSURE-GENERIC" "(name lambda-list)" (ctx, a) {
        let g = ensure_generic(ctx, &a[0], a[1].clone())?;
        if let Value::Function(f) = &g {
            if let FnKind::Generic(gen) = &f.kind {
                *gen.lambda_list.borrow_mut() = a[1].clone();
                gen.nreq.set(a[1].iter().take_while(|p| !matches!(p, Value::Symbol(s) if s.name().starts_with('&'))).count());
            }
        }
        Ok(g)
    }
    /// Define a method on the generic function NAME.
    macro DEFMETHOD "DEFMETHOD" "(name &rest qualifiers-lambda-list-and-body)" (ctx, a) {
        let args = a[0].rest();
        let name = args.first();
        let mut rest = args.rest();
        let mut quals = vec![];
        while rest.is_cons() && !rest.first().is_list() {
            quals.push(rest.first());
            rest = rest.rest();
        }
        let ll = rest.first();
        let body = rest.rest();
        let (plain, specs) = split_specialized(&ll);
        let f = method_function_form(&name, &plain, &body);
        let mut spec_list = vec![cl("LIST")];
        spec_list.extend(specs);
        Ok(l(vec![sys("%DEFMETHOD"), quote(name), quote(list_from(quals)), l(spec_list), quote(plain), f]))
    }
    /// Add a method (the expansion of DEFMETHOD).
    fn DEFMETHOD_FN "NETLISP-SYSTEM:%DEFMETHOD" "(name qualifiers specializers lambda-list function)" (ctx, a) {
        let generic_ll: Value = {
            let mut plain = vec![];
            for p in a[3].iter() { plain.push(if p.is_cons() { p.first() } else { p }); }
            list_from(plain)
        };
        let g = ensure_generic(ctx, &a[0], generic_ll)?;
        let mut specs = vec![];
        for s in a[2].iter() { specs.push(spec_of(ctx, &s)?); }
        let m = generic::make_method(specs, a[1].list_to_vec(), a[4].clone(), a[3].clone(), false);
        if let Value::Function(f) = &g { generic::add_method(f, m.clone()); }
        Ok(m)
    }
    /// Call the next method (inside a method body).
    fn CALL_NEXT_METHOD_FN "NETLISP-SYSTEM:%CALL-NEXT-METHOD" "(state args)" [mv] (ctx, a) {
        let args = if a[1].is_nil() { None } else { Some(a[1].list_to_vec()) };
        generic::call_next_method(ctx, &a[0], args)
    }
    /// Whether there is a next method (inside a method body).
    fn NEXT_METHOD_P_FN "NETLISP-SYSTEM:%NEXT-METHOD-P" "(state)" (ctx, a) { Ok(Value::bool(generic::next_method_p(&a[0]))) }

    /// Make an instance of CLASS with initargs.
    fn MAKE_INSTANCE "MAKE-INSTANCE" "(class &rest initargs &key &allow-other-keys)" [raw] (ctx, a) {
        let class = class_arg(ctx, &a[0])?;
        match class.kind {
            ClassKind::Condition => return clos::make_instance_basic(ctx, &class, &a[1..]),
            ClassKind::BuiltIn | ClassKind::Structure => {
                return Err(cond::simple_error(ctx, format!("Can't MAKE-INSTANCE of the class {}", class.name_string())));
            }
            ClassKind::Standard => {}
        }
        if let Some(c) = crate::clos::make_instance_hook(ctx, &class, &a[1..])? {
            return Ok(c);
        }
        initargs_valid(ctx, &class, &a[1..])?;
        let all = clos::with_default_initargs(ctx, &class, &a[1..])?;
        let inst = Value::Instance(clos::allocate_instance(&class));
        let ii = Value::Symbol(crate::world::cl_sym("INITIALIZE-INSTANCE"));
        let mut call = vec![inst.clone()];
        call.extend(all);
        apply(ctx, &ii, &call)?;
        Ok(inst)
    }
    /// The value of slot NAME of OBJECT.
    fn SLOT_VALUE "SLOT-VALUE" "(object slot-name)" (ctx, a) { slot_value(ctx, &a[0], &a[1]) }
    /// Set slot NAME of OBJECT.
    fn SETF_SLOT_VALUE "NETLISP-SYSTEM:SETF-SLOT-VALUE" "(new-value object slot-name)" (ctx, a) {
        set_slot_value(ctx, &a[1], &a[2], a[0].clone())?;
        Ok(a[0].clone())
    }
    /// Whether slot NAME of OBJECT is bound.
    fn SLOT_BOUNDP "SLOT-BOUNDP" "(object slot-name)" (ctx, a) {
        match &a[0] {
            Value::Instance(i) => match clos::slot_value_raw(i, &a[1]) {
                Some(v) => Ok(Value::bool(!matches!(v, Value::Unbound))),
                None => Err(slot_missing(ctx, &a[0], &a[1])),
            },
            _ => Err(slot_missing(ctx, &a[0], &a[1])),
        }
    }
    /// Whether OBJECT has a slot named NAME.
    fn SLOT_EXISTS_P "SLOT-EXISTS-P" "(object slot-name)" (ctx, a) {
        Ok(Value::bool(matches!(&a[0], Value::Instance(i) if clos::slot_value_raw(i, &a[1]).is_some())))
    }
    /// Make slot NAME of OBJECT unbound.
    fn SLOT_MAKUNBOUND "SLOT-MAKUNBOUND" "(object slot-name)" (ctx, a) {
        set_slot_value(ctx, &a[0], &a[1], Value::Unbound)?;
        Ok(a[0].clone())
    }
    /// The class of OBJECT.
    fn CLASS_OF "CLASS-OF" "(object)" (ctx, a) { Ok(Value::Class(clos::class_of(&a[0]))) }
    /// The class named NAME (or NIL if ERRORP is false).
    fn FIND_CLASS "FIND-CLASS" "(symbol &optional (errorp t) environment)" (ctx, a) {
        match clos::find_class(&a[0]) {
            Some(c) => Ok(Value::Class(c)),
            None if opt(a, 1).is_some_and(|v| v.is_nil()) => Ok(Value::Nil),
            None => Err(cond::simple_error(ctx, format!("There is no class named {}.", crate::printer::prin1_string(&a[0])))),
        }
    }
    /// Register a class under NAME.
    fn SETF_FIND_CLASS "NETLISP-SYSTEM:SETF-FIND-CLASS" "(new-value symbol &optional errorp environment)" (ctx, a) {
        let s = symbol(ctx, &a[1])?;
        let c = match &a[0] { Value::Class(c) => Some(c.clone()), Value::Nil => None, other => return Err(cond::type_error(ctx, other.clone(), "CLASS")) };
        clos::set_find_class(&s, c);
        Ok(a[0].clone())
    }
    /// The name of CLASS.
    fn CLASS_NAME "CLASS-NAME" "(class)" (ctx, a) { Ok(class_arg(ctx, &a[0])?.name()) }
    /// The direct superclasses of CLASS.
    fn CLASS_DIRECT_SUPERCLASSES "NETLISP:CLASS-DIRECT-SUPERCLASSES" "(class)" (ctx, a) {
        Ok(list_from(class_arg(ctx, &a[0])?.direct_supers.borrow().iter().map(|c| Value::Class(c.clone()))))
    }
    /// The class precedence list of CLASS.
    fn CLASS_PRECEDENCE_LIST "NETLISP:CLASS-PRECEDENCE-LIST" "(class)" (ctx, a) {
        Ok(list_from(class_arg(ctx, &a[0])?.cpl.borrow().iter().map(|c| Value::Class(c.clone()))))
    }
    /// The names of the slots of CLASS.
    fn CLASS_SLOTS "NETLISP:CLASS-SLOT-NAMES" "(class)" (ctx, a) {
        Ok(list_from(class_arg(ctx, &a[0])?.slots.borrow().iter().map(|s| s.name.clone())))
    }
    /// Whether CLASS-1 is a subclass of CLASS-2.
    fn SUBCLASSP "NETLISP:SUBCLASSP" "(class-1 class-2)" (ctx, a) {
        let x = class_arg(ctx, &a[0])?;
        let y = class_arg(ctx, &a[1])?;
        Ok(Value::bool(x.is_subclass_of(&y)))
    }
    /// The method of GENERIC-FUNCTION with QUALIFIERS and SPECIALIZERS.
    fn FIND_METHOD "FIND-METHOD" "(generic-function qualifiers specializers &optional (errorp t))" (ctx, a) {
        let f = match &a[0] { Value::Function(f) if generic::is_generic(f) => f, _ => return Err(cond::type_error(ctx, a[0].clone(), "GENERIC-FUNCTION")) };
        let mut specs = vec![];
        for s in a[2].iter() { specs.push(spec_of(ctx, &s)?); }
        match generic::find_method(f, &a[1].list_to_vec(), &specs) {
            Some(m) => Ok(m),
            None if opt(a, 3).is_some_and(|v| v.is_nil()) => Ok(Value::Nil),
            None => Err(cond::simple_error(ctx, "no such method".into())),
        }
    }
    /// Remove METHOD from GENERIC-FUNCTION.
    fn REMOVE_METHOD "REMOVE-METHOD" "(generic-function method)" (ctx, a) {
        match &a[0] {
            Value::Function(f) if generic::is_generic(f) => generic::remove_method(f, &a[1]),
            _ => return Err(cond::type_error(ctx, a[0].clone(), "GENERIC-FUNCTION")),
        }
        Ok(a[0].clone())
    }
    /// The qualifiers of METHOD.
    fn METHOD_QUALIFIERS "METHOD-QUALIFIERS" "(method)" (ctx, a) {
        Ok(generic::method_of(&a[0]).map(|m| list_from(m.qualifiers.clone())).unwrap_or(Value::Nil))
    }
    /// The methods of GENERIC-FUNCTION.
    fn GENERIC_FUNCTION_METHODS "NETLISP:GENERIC-FUNCTION-METHODS" "(generic-function)" (ctx, a) {
        match &a[0] {
            Value::Function(f) => match &f.kind { FnKind::Generic(g) => Ok(list_from(g.methods.borrow().clone())), _ => Ok(Value::Nil) },
            _ => Ok(Value::Nil),
        }
    }
    /// Evaluate BODY with slot names as symbol macros for SLOT-VALUE.
    macro WITH_SLOTS "WITH-SLOTS" "((&rest slots) instance &body body)" (ctx, a) {
        let args = a[0].rest();
        let o = gensym("OBJECT");
        let mut binds = vec![];
        for s in args.first().iter() {
            let (var, slot) = if s.is_cons() { (s.first(), s.second()) } else { (s.clone(), s.clone()) };
            binds.push(l(vec![var, l(vec![cl("SLOT-VALUE"), o.clone(), quote(slot)])]));
        }
        Ok(l(vec![cl("LET"), l(vec![l(vec![o, args.second()])]), lt(vec![cl("SYMBOL-MACROLET"), list_from(binds)], args.rest().rest())]))
    }
    /// Evaluate BODY with variables as symbol macros for accessor calls.
    macro WITH_ACCESSORS "WITH-ACCESSORS" "((&rest slots) instance &body body)" (ctx, a) {
        let args = a[0].rest();
        let o = gensym("OBJECT");
        let mut binds = vec![];
        for s in args.first().iter() {
            binds.push(l(vec![s.first(), l(vec![s.second(), o.clone()])]));
        }
        Ok(l(vec![cl("LET"), l(vec![l(vec![o, args.second()])]), lt(vec![cl("SYMBOL-MACROLET"), list_from(binds)], args.rest().rest())]))
    }
    /// Change the class of INSTANCE, keeping slots with the same names.
    fn CHANGE_CLASS "CHANGE-CLASS" "(instance new-class &rest initargs)" (ctx, a) {
        let Value::Instance(i) = &a[0] else { return Err(cond::type_error(ctx, a[0].clone(), "STANDARD-OBJECT")) };
        let class = class_arg(ctx, &a[1])?;
        let old: Vec<(Value, Value)> = {
            let oc = i.class();
            let slots = oc.slots.borrow();
            slots.iter().map(|s| (s.name.clone(), clos::slot_value_raw(i, &s.name).unwrap_or(Value::Unbound))).collect()
        };
        *i.class.borrow_mut() = class.clone();
        *i.slots.borrow_mut() = vec![Value::Unbound; class.nslots.get()];
        for (n, v) in old {
            if !matches!(v, Value::Unbound) { clos::set_slot_value_raw(i, &n, v); }
        }
        clos::shared_initialize_default(ctx, i, &Value::t(), &a[2..])?;
        Ok(a[0].clone())
    }
    /// Make an instance's slots unbound and re-run slot initialization from INITARGS.
    fn REINITIALIZE_INSTANCE "REINITIALIZE-INSTANCE" "(instance &rest initargs)" (ctx, a) {
        let Value::Instance(i) = &a[0] else { return Err(cond::type_error(ctx, a[0].clone(), "STANDARD-OBJECT")) };
        clos::shared_initialize_default(ctx, i, &Value::Nil, &a[1..])?;
        Ok(a[0].clone())
    }
}

/// Create the standard generic functions with their system methods.
pub fn install_generics() {
    let mut ctx = Ctx::new();
    let t = clos::cl_class("T");
    let so = clos::cl_class("STANDARD-OBJECT");
    let def =
        |ctx: &mut Ctx, name: &str, ll: &str, specs: Vec<Spec>, f: crate::function::BoundFnPtr| {
            let gname = Value::Symbol(crate::world::cl_sym(name));
            let g = ensure_generic(ctx, &gname, crate::reader::read_symbol_name(ll))
                .expect("standard generic");
            let fun = crate::eval::make_native_closure(name, vec![], f);
            let m = generic::make_method(
                specs,
                vec![],
                fun,
                crate::reader::read_symbol_name(ll),
                true,
            );
            if let Value::Function(gf) = &g {
                generic::add_method(gf, m);
            }
        };
    def(
        &mut ctx,
        "INITIALIZE-INSTANCE",
        "(INSTANCE &REST INITARGS)",
        vec![Spec::Class(so.clone())],
        |ctx, _, args| {
            let si = Value::Symbol(crate::world::cl_sym("SHARED-INITIALIZE"));
            let mut call = vec![args[1].clone(), Value::t()];
            call.extend_from_slice(&args[2..]);
            apply(ctx, &si, &call)?;
            Ok(args[1].clone())
        },
    );
    def(
        &mut ctx,
        "SHARED-INITIALIZE",
        "(INSTANCE SLOT-NAMES &REST INITARGS)",
        vec![Spec::Class(so.clone()), Spec::Class(t.clone())],
        |ctx, _, args| {
            if let Value::Instance(i) = &args[1] {
                clos::shared_initialize_default(ctx, i, &args[2], &args[3..])?;
            }
            Ok(args[1].clone())
        },
    );
    def(
        &mut ctx,
        "PRINT-OBJECT",
        "(OBJECT STREAM)",
        vec![Spec::Class(t.clone()), Spec::Class(t.clone())],
        |ctx, _, args| {
            let s = crate::stream::output_designator(ctx, &args[2])?;
            let o = crate::printer::Opts::current();
            let text = crate::printer::to_string_with(&args[1], o);
            crate::stream::write_str(ctx, &s, &text)?;
            Ok(args[1].clone())
        },
    );
    def(
        &mut ctx,
        "DESCRIBE-OBJECT",
        "(OBJECT STREAM)",
        vec![Spec::Class(t.clone()), Spec::Class(t)],
        |ctx, _, args| {
            let s = crate::stream::output_designator(ctx, &args[2])?;
            let text = super::system::describe_text(ctx, &args[1]);
            crate::stream::write_str(ctx, &s, &text)?;
            Ok(Value::Nil)
        },
    );
}

/// SETF functions defined here.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    vec![
        ("SLOT-VALUE", &SETF_SLOT_VALUE),
        ("FIND-CLASS", &SETF_FIND_CLASS),
    ]
}
