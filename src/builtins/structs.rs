//! DEFSTRUCT: structure classes with constructors (keyword and BOA),
//! accessors, predicates, copiers, :INCLUDE, :CONC-NAME, :TYPE and
//! print functions; #S syntax.

use super::macros::{cl, l, lt, quote, sys};
use super::symbol;
use crate::clos::{self, Class, ClassKind, SlotDef};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::gc::Gc;
use crate::value::{list_from, Value};
use crate::world::{intern_value, keyword, w};

fn kw_is(v: &Value, name: &str) -> bool {
    matches!(v, Value::Symbol(s) if s.name() == name && s.home_is(&w().keyword))
}

fn sym_name(v: &Value) -> String {
    match v {
        Value::Symbol(s) => s.name().to_string(),
        Value::Nil => "NIL".into(),
        other => crate::printer::princ_string(other),
    }
}

fn intern_here(name: &str) -> Value {
    intern_value(name, &crate::reader::current_package())
}

struct Slot {
    name: Value,
    default: Value,
    read_only: bool,
    ty: Value,
}

fn parse_slot(ctx: &mut Ctx, s: &Value) -> R<Slot> {
    match s {
        Value::Symbol(_) => Ok(Slot {
            name: s.clone(),
            default: Value::Nil,
            read_only: false,
            ty: Value::t(),
        }),
        Value::Cons(_) => {
            let mut slot = Slot {
                name: s.first(),
                default: s.second(),
                read_only: false,
                ty: Value::t(),
            };
            let mut o = s.rest().rest();
            while o.is_cons() {
                if kw_is(&o.first(), "READ-ONLY") {
                    slot.read_only = o.second().truthy();
                }
                if kw_is(&o.first(), "TYPE") {
                    slot.ty = o.second();
                }
                o = o.rest().rest();
            }
            Ok(slot)
        }
        _ => Err(cond::program_error(
            ctx,
            format!("bad DEFSTRUCT slot: {}", crate::printer::prin1_string(s)),
        )),
    }
}

/// Check that `obj` is a structure of class `name`; return the instance.
fn check(ctx: &mut Ctx, obj: &Value, class: &Gc<Class>) -> R<Gc<crate::clos::Instance>> {
    match obj {
        Value::Instance(i) if i.class().is_subclass_of(class) => Ok(i.clone()),
        other => Err(cond::type_error(ctx, other.clone(), &class.name_string())),
    }
}

crate::defbuiltins! {
    /// Define a structure type with a constructor, accessors, predicate and copier.
    macro DEFSTRUCT "DEFSTRUCT" "(name-and-options &rest slot-descriptions)" (ctx, a) {
        let args = a[0].rest();
        let head = args.first();
        let (name, options) = if head.is_cons() { (head.first(), head.rest()) } else { (head.clone(), Value::Nil) };
        symbol(ctx, &name)?;
        let sname = sym_name(&name);
        let mut conc = format!("{}-", sname);
        let mut constructors: Vec<(Value, Option<Value>)> = vec![];
        let mut default_ctor = true;
        let mut copier = Some(intern_here(&format!("COPY-{}", sname)));
        let mut predicate = Some(intern_here(&format!("{}-P", sname)));
        let mut include = Value::Nil;
        let mut include_overrides = Value::Nil;
        let mut print_fn = Value::Nil;
        let mut print_object = false;
        let mut rep_type = Value::Nil;
        let mut named = false;
        for o in options.iter() {
            let (k, rest) = if o.is_cons() { (o.first(), o.rest()) } else { (o.clone(), Value::Nil) };
            match () {
                _ if kw_is(&k, "CONC-NAME") => conc = if rest.first().is_nil() { String::new() } else { sym_name(&rest.first()) },
                _ if kw_is(&k, "CONSTRUCTOR") => {
                    if rest.is_cons() && rest.first().is_nil() { default_ctor = false; }
                    else if rest.is_cons() {
                        default_ctor = false;
                        let ll = if rest.rest().is_cons() { Some(rest.second()) } else { None };
                        constructors.push((rest.first(), ll));
                    }
                }
                _ if kw_is(&k, "COPIER") => copier = if rest.is_cons() { Some(rest.first()).filter(|v| v.truthy()) } else { copier },
                _ if kw_is(&k, "PREDICATE") => predicate = if rest.is_cons() { Some(rest.first()).filter(|v| v.truthy()) } else { predicate },
                _ if kw_is(&k, "INCLUDE") => { include = rest.first(); include_overrides = rest.rest(); }
                _ if kw_is(&k, "PRINT-FUNCTION") => { print_fn = rest.first(); print_object = false; }
                _ if kw_is(&k, "PRINT-OBJECT") => { print_fn = rest.first(); print_object = true; }
                _ if kw_is(&k, "TYPE") => rep_type = rest.first(),
                _ if kw_is(&k, "NAMED") => named = true,
                _ => {}
            }
        }
        if default_ctor { constructors.push((intern_here(&format!("MAKE-{}", sname)), None)); }
        let mut body = args.rest();
        let mut doc = Value::Nil;
        if body.first().is_string() { doc = body.first(); body = body.rest(); }
        // Slots: inherited ones first.
        let mut slots: Vec<Slot> = vec![];
        if include.truthy() {
            let parent = clos::find_class(&include).ok_or_else(|| cond::simple_error(ctx, format!("undefined structure type {} in :INCLUDE", sym_name(&include))))?;
            let pslots = parent.slots.borrow().clone();
            let defaults = parent.extra.borrow().struct_options.clone();
            for (i, s) in pslots.iter().enumerate() {
                let d = defaults.iter().nth(i).unwrap_or(Value::Nil);
                slots.push(Slot { name: s.name.clone(), default: d, read_only: s.read_only, ty: s.type_.clone() });
            }
            for ov in include_overrides.iter() {
                let o = parse_slot(ctx, &ov)?;
                if let Some(s) = slots.iter_mut().find(|s| sym_name(&s.name) == sym_name(&o.name)) {
                    s.default = o.default;
                    s.read_only = o.read_only;
                }
            }
        }
        let nparent = slots.len();
        for s in body.iter() { slots.push(parse_slot(ctx, &s)?); }
        let mut forms = vec![cl("PROGN")];
        let slot_names: Vec<Value> = slots.iter().map(|s| s.name.clone()).collect();
        let read_only: Vec<Value> = slots.iter().map(|s| Value::bool(s.read_only)).collect();
        let defaults: Vec<Value> = slots.iter().map(|s| s.default.clone()).collect();
        let types: Vec<Value> = slots.iter().map(|s| s.ty.clone()).collect();
        let first_ctor = constructors.first().map(|c| c.0.clone()).unwrap_or(Value::Nil);
        let pf = if print_fn.is_nil() { Value::Nil } else { l(vec![cl("FUNCTION"), print_fn.clone()]) };
        forms.push(l(vec![
            sys("%DEFINE-STRUCTURE"),
            quote(name.clone()),
            quote(include.clone()),
            quote(list_from(slot_names.clone())),
            quote(list_from(read_only)),
            quote(list_from(defaults)),
            quote(list_from(types)),
            pf,
            Value::bool(print_object),
            quote(rep_type.clone()),
            Value::bool(named),
            super::str_value(&conc),
            quote(first_ctor),
            quote(predicate.clone().unwrap_or(Value::Nil)),
            quote(copier.clone().unwrap_or(Value::Nil)),
            doc,
        ]));
        let _ = nparent;
        // Constructors.
        for (cname, ll) in constructors {
            let maker = l(vec![sys("%MAKE-STRUCTURE"), quote(name.clone())]);
            let (ll, args_form) = match ll {
                None => {
                    let mut ll = vec![cl("&KEY")];
                    for s in &slots { ll.push(l(vec![s.name.clone(), s.default.clone()])); }
                    (list_from(ll), slots.iter().map(|s| s.name.clone()).collect::<Vec<_>>())
                }
                Some(boa) => {
                    // BOA: slots not mentioned get their defaults (via &aux).
                    let mentioned: Vec<String> = boa.iter().filter_map(|p| {
                        let v = if p.is_cons() { p.first() } else { p.clone() };
                        match &v { Value::Symbol(s) if !s.name().starts_with('&') => Some(s.name().to_string()), _ => None }
                    }).collect();
                    let mut ll = boa.list_to_vec();
                    let missing: Vec<&Slot> = slots.iter().filter(|s| !mentioned.contains(&sym_name(&s.name))).collect();
                    if !missing.is_empty() {
                        if !ll.iter().any(|p| matches!(p, Value::Symbol(s) if s.name() == "&AUX")) { ll.push(cl("&AUX")); }
                        for s in missing { ll.push(l(vec![s.name.clone(), s.default.clone()])); }
                    }
                    (list_from(ll), slots.iter().map(|s| s.name.clone()).collect())
                }
            };
            let mut call = match maker { Value::Cons(_) => maker.list_to_vec(), _ => vec![] };
            call.extend(args_form);
            forms.push(l(vec![cl("DEFUN"), cname, ll, l(call)]));
        }
        forms.push(quote(name));
        Ok(l(forms))
    }

    /// Create a structure class and its accessors, predicate and copier.
    fn DEFINE_STRUCTURE "NETLISP-SYSTEM:%DEFINE-STRUCTURE" "(name include slots read-only defaults types print-function print-object-p type named conc-name constructor predicate copier doc)" (ctx, a) {
        let name = a[0].clone();
        let sym = symbol(ctx, &name)?;
        let conc = super::string_text(ctx, &a[10])?;
        let slots = a[2].list_to_vec();
        let ro = a[3].list_to_vec();
        let types = a[5].list_to_vec();
        let rep_type = a[8].clone();
        if rep_type.truthy() {
            // (:type list) / (:type vector): accessors on lists or vectors.
            let named = a[9].truthy();
            let off = if named { 1 } else { 0 };
            for (i, s) in slots.iter().enumerate() {
                let acc = intern_here(&format!("{}{}", conc, sym_name(s)));
                let is_list = matches!(&rep_type, Value::Symbol(t) if t.name() == "LIST");
                let f = crate::eval::make_native_closure_arity(&format!("{}{}", conc, sym_name(s)), (1, Some(1)), vec![Value::Fixnum((i + off) as i64), Value::bool(is_list)], |ctx, env, args| {
                    let k = env[0].as_fixnum().unwrap() as usize;
                    if env[1].truthy() { Ok(args[0].iter().nth(k).unwrap_or(Value::Nil)) } else {
                        match &args[0] { Value::Array(v) => Ok(v.get(k)), other => Err(cond::type_error(ctx, other.clone(), "VECTOR")) }
                    }
                });
                super::control::set_fdefinition(ctx, &acc, f)?;
                let setter = crate::eval::make_native_closure_arity("STRUCT-SETTER", (2, Some(2)), vec![Value::Fixnum((i + off) as i64), Value::bool(is_list)], |ctx, env, args| {
                    let k = env[0].as_fixnum().unwrap() as usize;
                    if env[1].truthy() {
                        let mut cur = args[1].clone();
                        for _ in 0..k { cur = cur.rest(); }
                        if let Value::Cons(c) = cur { c.set_car(args[0].clone()); }
                    } else if let Value::Array(v) = &args[1] { v.set(k, args[0].clone()); }
                    else { return Err(cond::type_error(ctx, args[1].clone(), "VECTOR")); }
                    Ok(args[0].clone())
                });
                super::control::set_fdefinition(ctx, &list_from([cl("SETF"), acc]), setter)?;
            }
            // Constructor for typed structures.
            sym.extra_mut().class = Value::Nil;
            let marker = list_from([keyword("TYPED-STRUCTURE"), rep_type.clone(), Value::bool(named), Value::Fixnum(slots.len() as i64)]);
            sym.set_plist(Value::cons(sys("STRUCTURE-LAYOUT"), Value::cons(marker, sym.plist())));
            return Ok(name);
        }
        let class = Gc::new(Class::new(name.clone(), ClassKind::Structure));
        let parent = if a[1].truthy() { clos::find_class(&a[1]).unwrap_or_else(|| clos::cl_class("STRUCTURE-OBJECT")) } else { clos::cl_class("STRUCTURE-OBJECT") };
        parent.direct_subs.borrow_mut().push(class.clone());
        *class.direct_supers.borrow_mut() = vec![parent.clone()];
        let nparent = parent.slots.borrow().len();
        let mut direct = vec![];
        for (i, s) in slots.iter().enumerate().skip(nparent) {
            let mut d = SlotDef::new(s.clone());
            d.initargs = vec![keyword(&sym_name(s))];
            d.read_only = ro.get(i).is_some_and(|v| v.truthy());
            d.type_ = types.get(i).cloned().unwrap_or(Value::t());
            direct.push(d);
        }
        *class.direct_slots.borrow_mut() = direct;
        if let Err(m) = clos::finalize(&class) { return Err(cond::simple_error(ctx, m)); }
        // Read-only flags of inherited slots come from the overrides.
        for (i, s) in class.slots.borrow_mut().iter_mut().enumerate() {
            s.read_only = ro.get(i).is_some_and(|v| v.truthy());
        }
        {
            let mut e = class.extra.borrow_mut();
            e.print_function = a[6].clone();
            e.print_object_style = a[7].truthy();
            e.struct_options = a[4].clone();
        }
        *class.doc.borrow_mut() = crate::array::string_of(&a[14]);
        clos::set_find_class(&sym, Some(class.clone()));
        sym.set_plist(Value::cons(sys("STRUCTURE-CONSTRUCTOR"), Value::cons(a[11].clone(), sym.plist())));
        crate::clos::generic::bump_epoch();
        for (i, s) in slots.iter().enumerate() {
            let acc = intern_here(&format!("{}{}", conc, sym_name(s)));
            let f = crate::eval::make_native_closure_arity(&crate::printer::prin1_string(&acc), (1, Some(1)), vec![Value::Class(class.clone()), Value::Fixnum(i as i64)], |ctx, env, args| {
                let Value::Class(c) = &env[0] else { unreachable!() };
                let inst = check(ctx, &args[0], c)?;
                let k = env[1].as_fixnum().unwrap() as usize;
                let v = inst.slots.borrow().get(k).cloned().unwrap_or(Value::Nil);
                Ok(v)
            });
            super::control::set_fdefinition(ctx, &acc, f)?;
            if !ro.get(i).is_some_and(|v| v.truthy()) {
                let setter = crate::eval::make_native_closure_arity("STRUCT-SETTER", (2, Some(2)), vec![Value::Class(class.clone()), Value::Fixnum(i as i64)], |ctx, env, args| {
                    let Value::Class(c) = &env[0] else { unreachable!() };
                    let inst = check(ctx, &args[1], c)?;
                    let k = env[1].as_fixnum().unwrap() as usize;
                    if let Some(v) = inst.slots.borrow_mut().get_mut(k) { *v = args[0].clone(); }
                    Ok(args[0].clone())
                });
                super::control::set_fdefinition(ctx, &list_from([cl("SETF"), acc]), setter)?;
            }
        }
        if a[12].truthy() {
            let f = crate::eval::make_native_closure_arity(&sym_name(&a[12]), (1, Some(1)), vec![Value::Class(class.clone())], |_, env, args| {
                let Value::Class(c) = &env[0] else { unreachable!() };
                Ok(Value::bool(matches!(&args[0], Value::Instance(i) if i.class().is_subclass_of(c))))
            });
            super::control::set_fdefinition(ctx, &a[12], f)?;
        }
        if a[13].truthy() {
            define_copier(ctx, &a[13], &class)?;
        }
        Ok(name)
    }

    /// Allocate a structure of NAME with slot VALUES in order.
    fn MAKE_STRUCTURE "NETLISP-SYSTEM:%MAKE-STRUCTURE" "(name &rest values)" (ctx, a) {
        let sym = symbol(ctx, &a[0])?;
        if let Some(layout) = super::lists::getf(&sym.plist(), &sys("STRUCTURE-LAYOUT")) {
            let v = layout.list_to_vec();
            let named = v[2].truthy();
            let mut items = vec![];
            if named { items.push(a[0].clone()); }
            items.extend_from_slice(&a[1..]);
            let is_list = matches!(&v[1], Value::Symbol(t) if t.name() == "LIST");
            return Ok(if is_list { list_from(items) } else { crate::array::Array::general(items) });
        }
        let class = clos::find_class(&a[0]).ok_or_else(|| cond::simple_error(ctx, "not a structure".into()))?;
        let inst = clos::allocate_instance(&class);
        {
            let mut sl = inst.slots.borrow_mut();
            for (i, v) in a[1..].iter().enumerate() {
                if i < sl.len() { sl[i] = v.clone(); }
            }
        }
        Ok(Value::Instance(inst))
    }

    /// A copy of a structure.
    fn COPY_STRUCTURE "COPY-STRUCTURE" "(structure)" (ctx, a) {
        match &a[0] {
            Value::Instance(i) if i.class().kind == ClassKind::Structure => {
                let n = clos::allocate_instance(&i.class());
                *n.slots.borrow_mut() = i.slots.borrow().clone();
                Ok(Value::Instance(n))
            }
            other => Err(cond::type_error(ctx, other.clone(), "STRUCTURE-OBJECT")),
        }
    }
}

/// Define the copier of a structure (called from %DEFINE-STRUCTURE's
/// caller through the copier argument).
pub fn define_copier(ctx: &mut Ctx, copier: &Value, class: &Gc<Class>) -> R<()> {
    let f = crate::eval::make_native_closure_arity(
        &sym_name(copier),
        (1, Some(1)),
        vec![Value::Class(class.clone())],
        |ctx, env, args| {
            let Value::Class(c) = &env[0] else {
                unreachable!()
            };
            let inst = check(ctx, &args[0], c)?;
            let n = clos::allocate_instance(&inst.class());
            *n.slots.borrow_mut() = inst.slots.borrow().clone();
            Ok(Value::Instance(n))
        },
    );
    super::control::set_fdefinition(ctx, copier, f)
}

/// Read #S(name :slot value ...) by calling the structure's constructor.
pub fn read_structure(ctx: &mut Ctx, spec: &Value) -> R {
    let name = spec.first();
    let sym = symbol(ctx, &name)?;
    let Some(ctor) =
        super::lists::getf(&sym.plist(), &sys("STRUCTURE-CONSTRUCTOR")).filter(|c| c.truthy())
    else {
        return Err(cond::reader_error(
            ctx,
            Value::Nil,
            format!(
                "{} is not a structure with a keyword constructor",
                sym.name()
            ),
        ));
    };
    let mut args = vec![];
    let mut cur = spec.rest();
    while cur.is_cons() {
        let k = super::string_designator(ctx, &cur.first())?;
        args.push(keyword(&k));
        args.push(cur.second());
        cur = cur.rest().rest();
    }
    crate::eval::apply(ctx, &ctor, &args)
}

#[allow(dead_code)]
fn _lt(v: Vec<Value>) -> Value {
    lt(v, Value::Nil)
}
