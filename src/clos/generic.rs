//! Generic functions and methods with standard method combination
//! (:around, :before, primary, :after; CALL-NEXT-METHOD, NEXT-METHOD-P),
//! class and EQL specializers, and a dispatch cache per generic function.

use super::{class_of, Class};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::eval::apply;
use crate::foreign::{self, ForeignObj};
use crate::function::{FnKind, Function};
use crate::gc::{Gc, Tracer};
use crate::value::Value;
use crate::world::w;
use hashbrown::HashMap;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

thread_local! {
    /// Incremented whenever classes or methods change (invalidates caches).
    static EPOCH: Cell<u64> = const { Cell::new(0) };
}

/// Invalidate every dispatch cache.
pub fn bump_epoch() {
    EPOCH.with(|e| e.set(e.get() + 1));
}

fn epoch() -> u64 {
    EPOCH.with(|e| e.get())
}

/// A parameter specializer.
#[derive(Clone)]
pub enum Spec {
    /// An instance of this class (or a subclass).
    Class(Gc<Class>),
    /// EQL to this object.
    Eql(Value),
}

/// A method.
pub struct Method {
    /// Specializers of the required parameters.
    pub specializers: Vec<Spec>,
    /// Qualifiers (:BEFORE, :AFTER, :AROUND, or none).
    pub qualifiers: Vec<Value>,
    /// The function: called with (next-methods-state . arguments).
    pub function: Value,
    /// The specialized lambda list as written.
    pub lambda_list: Value,
    /// Whether this is a method the system defines (not the user).
    pub builtin: bool,
}

impl ForeignObj for Method {
    fn type_name(&self) -> &'static str {
        "STANDARD-METHOD"
    }
    fn trace(&self, t: &mut Tracer) {
        for s in &self.specializers {
            match s {
                Spec::Class(c) => t.gc(c),
                Spec::Eql(v) => v.trace(t),
            }
        }
        for q in &self.qualifiers {
            q.trace(t);
        }
        self.function.trace(t);
        self.lambda_list.trace(t);
    }
    fn describe(&self) -> String {
        let specs: Vec<String> = self
            .specializers
            .iter()
            .map(|s| match s {
                Spec::Class(c) => c.name_string(),
                Spec::Eql(v) => format!("(EQL {})", crate::printer::prin1_string(v)),
            })
            .collect();
        let quals: Vec<String> = self
            .qualifiers
            .iter()
            .map(crate::printer::prin1_string)
            .collect();
        format!(
            "{}({})",
            if quals.is_empty() {
                String::new()
            } else {
                format!("{} ", quals.join(" "))
            },
            specs.join(" ")
        )
    }
    fn class(&self) -> Option<Gc<Class>> {
        Some(super::cl_class("STANDARD-METHOD"))
    }
}

/// Applicable-method lists by argument class ids (valid for one epoch).
type DispatchCache = HashMap<Vec<u64>, Rc<Vec<usize>>>;

/// A generic function's state.
pub struct Generic {
    /// The function's name.
    pub name: Value,
    /// The lambda list as written.
    pub lambda_list: RefCell<Value>,
    /// Method objects (foreign [`Method`]s).
    pub methods: RefCell<Vec<Value>>,
    /// Documentation.
    pub doc: RefCell<Option<String>>,
    /// Number of required parameters.
    pub nreq: Cell<usize>,
    cache: RefCell<(u64, DispatchCache)>,
}

impl Generic {
    /// A generic function with no methods.
    pub fn new(name: Value, lambda_list: Value) -> Generic {
        let nreq = required_count(&lambda_list);
        Generic {
            name,
            lambda_list: RefCell::new(lambda_list),
            methods: RefCell::new(Vec::new()),
            doc: RefCell::new(None),
            nreq: Cell::new(nreq),
            cache: RefCell::new((0, HashMap::new())),
        }
    }

    /// Report held values to the collector.
    pub fn trace(&self, t: &mut Tracer) {
        match (self.lambda_list.try_borrow(), self.methods.try_borrow()) {
            (Ok(l), Ok(m)) => {
                l.trace(t);
                for v in m.iter() {
                    v.trace(t);
                }
            }
            _ => t.fail(),
        }
        self.name.trace(t);
    }

    /// Drop held values (garbage cycles).
    pub fn clear(&self) {
        if let Ok(mut m) = self.methods.try_borrow_mut() {
            m.clear();
        }
    }
}

fn required_count(ll: &Value) -> usize {
    ll.iter()
        .take_while(|p| !matches!(p, Value::Symbol(s) if s.name().starts_with('&')))
        .count()
}

/// The method data of a method object.
pub fn method_of(v: &Value) -> Option<&Method> {
    foreign::get::<Method>(v)
}

fn generic_of(f: &Gc<Function>) -> Option<&Generic> {
    match &f.kind {
        FnKind::Generic(g) => Some(g),
        _ => None,
    }
}

/// Whether `f` is a generic function.
pub fn is_generic(f: &Gc<Function>) -> bool {
    generic_of(f).is_some()
}

/// Add (or replace) a method (nothing if `f` is not a generic function
/// or `m` not a method; callers check both).
pub fn add_method(f: &Gc<Function>, m: Value) {
    let (Some(g), Some(new)) = (generic_of(f), method_of(&m)) else {
        return;
    };
    let mut ms = g.methods.borrow_mut();
    ms.retain(|old| {
        let Some(o) = method_of(old) else {
            return false;
        };
        !(same_specs(&o.specializers, &new.specializers)
            && quals_equal(&o.qualifiers, &new.qualifiers))
    });
    ms.push(m);
    drop(ms);
    bump_epoch();
}

fn quals_equal(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq(y))
}

fn same_specs(a: &[Spec], b: &[Spec]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Spec::Class(p), Spec::Class(q)) => Gc::ptr_eq(p, q),
            (Spec::Eql(p), Spec::Eql(q)) => p.eql(q),
            _ => false,
        })
}

/// Find a method by qualifiers and specializers.
pub fn find_method(f: &Gc<Function>, quals: &[Value], specs: &[Spec]) -> Option<Value> {
    generic_of(f)?
        .methods
        .borrow()
        .iter()
        .find(|m| {
            let Some(o) = method_of(m) else { return false };
            quals_equal(&o.qualifiers, quals) && same_specs(&o.specializers, specs)
        })
        .cloned()
}

/// Remove a method object.
pub fn remove_method(f: &Gc<Function>, m: &Value) {
    if let Some(g) = generic_of(f) {
        g.methods.borrow_mut().retain(|x| !x.eq(m));
    }
    bump_epoch();
}

fn spec_applies(s: &Spec, arg: &Value, argclass: &Gc<Class>) -> bool {
    match s {
        Spec::Class(c) => argclass.is_subclass_of(c),
        Spec::Eql(v) => v.eql(arg),
    }
}

/// Whether specializer `a` is more specific than `b` for an argument of
/// class `argclass`.
fn more_specific(a: &Spec, b: &Spec, argclass: &Gc<Class>) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (Spec::Eql(_), Spec::Eql(_)) => Equal,
        (Spec::Eql(_), _) => Less,
        (_, Spec::Eql(_)) => Greater,
        (Spec::Class(x), Spec::Class(y)) => {
            if Gc::ptr_eq(x, y) {
                return Equal;
            }
            let cpl = argclass.cpl.borrow();
            let px = cpl
                .iter()
                .position(|c| Gc::ptr_eq(c, x))
                .unwrap_or(usize::MAX);
            let py = cpl
                .iter()
                .position(|c| Gc::ptr_eq(c, y))
                .unwrap_or(usize::MAX);
            px.cmp(&py)
        }
    }
}

/// The applicable methods, most specific first (indices into methods).
fn applicable(g: &Generic, args: &[Value]) -> Vec<usize> {
    let ms = g.methods.borrow();
    let classes: Vec<Gc<Class>> = args.iter().take(g.nreq.get()).map(class_of).collect();
    let mut idx: Vec<usize> = (0..ms.len())
        .filter(|i| {
            let m = method_of(&ms[*i]).unwrap();
            m.specializers
                .iter()
                .enumerate()
                .all(|(k, s)| k >= classes.len() || spec_applies(s, &args[k], &classes[k]))
        })
        .collect();
    idx.sort_by(|a, b| {
        let ma = method_of(&ms[*a]).unwrap();
        let mb = method_of(&ms[*b]).unwrap();
        for ((sa, sb), class) in ma
            .specializers
            .iter()
            .zip(mb.specializers.iter())
            .zip(classes.iter())
        {
            let o = more_specific(sa, sb, class);
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    idx
}

fn cached_applicable(g: &Generic, args: &[Value]) -> Rc<Vec<usize>> {
    let has_eql = g.methods.borrow().iter().any(|m| {
        method_of(m)
            .unwrap()
            .specializers
            .iter()
            .any(|s| matches!(s, Spec::Eql(_)))
    });
    if has_eql {
        return Rc::new(applicable(g, args));
    }
    let key: Vec<u64> = args
        .iter()
        .take(g.nreq.get())
        .map(|a| class_of(a).id)
        .collect();
    let now = epoch();
    {
        let c = g.cache.borrow();
        if c.0 == now {
            if let Some(v) = c.1.get(&key) {
                return v.clone();
            }
        }
    }
    let v = Rc::new(applicable(g, args));
    let mut c = g.cache.borrow_mut();
    if c.0 != now {
        c.1.clear();
        c.0 = now;
    }
    c.1.insert(key, v.clone());
    v
}

/// An effective method: the sorted parts of standard method combination.
struct Chain {
    around: Vec<Value>,
    before: Vec<Value>,
    primary: Vec<Value>,
    after: Vec<Value>,
    generic: Value,
}

/// Where CALL-NEXT-METHOD goes from the current method.
struct NextState {
    chain: Rc<Chain>,
    /// Around(i): next is around method i (or the core when past the end).
    /// Primary(i): next is primary method i.
    around: bool,
    index: usize,
    args: Vec<Value>,
}

impl ForeignObj for NextState {
    fn type_name(&self) -> &'static str {
        "NEXT-METHODS"
    }
    fn trace(&self, t: &mut Tracer) {
        for v in &self.args {
            v.trace(t);
        }
        for v in self
            .chain
            .around
            .iter()
            .chain(&self.chain.before)
            .chain(&self.chain.primary)
            .chain(&self.chain.after)
        {
            v.trace(t);
        }
        self.chain.generic.trace(t);
    }
}

fn qualifier_name(m: &Method) -> &str {
    match m.qualifiers.first() {
        Some(Value::Symbol(s)) => s.name(),
        _ => "",
    }
}

fn call_method(ctx: &mut Ctx, m: &Value, nm: Value, args: &[Value]) -> R {
    let f = method_of(m).unwrap().function.clone();
    let mut call = Vec::with_capacity(args.len() + 1);
    call.push(nm);
    call.extend_from_slice(args);
    apply(ctx, &f, &call)
}

fn run_core(ctx: &mut Ctx, chain: &Rc<Chain>, args: &[Value]) -> R {
    for b in &chain.before {
        call_method(ctx, b, Value::Nil, args)?;
    }
    let nm = next_state(chain, false, 1, args);
    let first = chain.primary[0].clone();
    let v = call_method(ctx, &first, nm, args)?;
    let vals = ctx.take_values(v);
    for a in chain.after.iter().rev() {
        call_method(ctx, a, Value::Nil, args)?;
    }
    Ok(ctx.set_values(vals))
}

fn next_state(chain: &Rc<Chain>, around: bool, index: usize, args: &[Value]) -> Value {
    foreign::make(NextState {
        chain: chain.clone(),
        around,
        index,
        args: args.to_vec(),
    })
}

fn run_from(ctx: &mut Ctx, chain: &Rc<Chain>, around: bool, index: usize, args: &[Value]) -> R {
    if around {
        if index < chain.around.len() {
            let nm = next_state(chain, true, index + 1, args);
            let m = chain.around[index].clone();
            return call_method(ctx, &m, nm, args);
        }
        return run_core(ctx, chain, args);
    }
    if index < chain.primary.len() {
        let nm = next_state(chain, false, index + 1, args);
        let m = chain.primary[index].clone();
        return call_method(ctx, &m, nm, args);
    }
    Err(cond::simple_error(
        ctx,
        format!(
            "There is no next method for the generic function {}",
            crate::printer::prin1_string(&chain.generic.as_function_name())
        ),
    ))
}

/// CALL-NEXT-METHOD from a method with next-method state `nm`.
pub fn call_next_method(ctx: &mut Ctx, nm: &Value, args: Option<Vec<Value>>) -> R {
    let Some(st) = foreign::get::<NextState>(nm) else {
        return Err(cond::simple_error(
            ctx,
            "CALL-NEXT-METHOD called outside a method".into(),
        ));
    };
    let args = args.unwrap_or_else(|| st.args.clone());
    let (chain, around, index) = (st.chain.clone(), st.around, st.index);
    run_from(ctx, &chain, around, index, &args)
}

/// NEXT-METHOD-P.
pub fn next_method_p(nm: &Value) -> bool {
    match foreign::get::<NextState>(nm) {
        Some(st) => st.around || st.index < st.chain.primary.len(),
        None => false,
    }
}

/// Call a generic function.
pub fn call_generic(ctx: &mut Ctx, f: &Gc<Function>, args: &[Value]) -> R {
    let Some(g) = generic_of(f) else {
        return Err(cond::type_error(
            ctx,
            Value::Function(f.clone()),
            "GENERIC-FUNCTION",
        ));
    };
    if args.len() < g.nreq.get() {
        return Err(cond::arity_error(
            ctx,
            &Value::Function(f.clone()),
            args.len(),
        ));
    }
    let idx = cached_applicable(g, args);
    let ms = g.methods.borrow().clone();
    let mut chain = Chain {
        around: vec![],
        before: vec![],
        primary: vec![],
        after: vec![],
        generic: Value::Function(f.clone()),
    };
    for i in idx.iter() {
        let m = &ms[*i];
        match qualifier_name(method_of(m).unwrap()) {
            "AROUND" => chain.around.push(m.clone()),
            "BEFORE" => chain.before.push(m.clone()),
            "AFTER" => chain.after.push(m.clone()),
            _ => chain.primary.push(m.clone()),
        }
    }
    if chain.primary.is_empty() {
        let name = crate::printer::prin1_string(&g.name);
        let argtext: Vec<String> = args.iter().map(crate::printer::prin1_string).collect();
        return Err(cond::simple_error(
            ctx,
            format!(
                "There is no applicable method for the generic function\n  {}\nwhen called with arguments\n  ({}).",
                name,
                argtext.join(" ")
            ),
        ));
    }
    let chain = Rc::new(chain);
    if chain.around.is_empty() && chain.before.is_empty() && chain.after.is_empty() {
        return run_from(ctx, &chain, false, 0, args);
    }
    run_from(ctx, &chain, true, 0, args)
}

/// Whether the generic function named `name` has a user method
/// applicable to `v` (used by the printer for PRINT-OBJECT).
pub fn has_user_method(name: &str, v: &Value) -> bool {
    let s = crate::world::cl_sym(name);
    let Value::Function(f) = s.function() else {
        return false;
    };
    let FnKind::Generic(g) = &f.kind else {
        return false;
    };
    let ms = g.methods.borrow();
    if !ms.iter().any(|m| !method_of(m).unwrap().builtin) {
        return false;
    }
    drop(ms);
    let idx = cached_applicable(g, std::slice::from_ref(v));
    let ms = g.methods.borrow();
    idx.iter().any(|i| !method_of(&ms[*i]).unwrap().builtin)
}

/// Make a generic function object.
pub fn make_generic(name: Value, lambda_list: Value) -> Value {
    Value::Function(Gc::new(Function {
        kind: FnKind::Generic(Box::new(Generic::new(name, lambda_list))),
    }))
}

/// Make a method object.
pub fn make_method(
    specializers: Vec<Spec>,
    qualifiers: Vec<Value>,
    function: Value,
    lambda_list: Value,
    builtin: bool,
) -> Value {
    foreign::make(Method {
        specializers,
        qualifiers,
        function,
        lambda_list,
        builtin,
    })
}

/// Install the generic-function machinery (nothing to do at start-up;
/// the standard generic functions are made by `builtins::clos`).
pub fn install() {
    let _ = w();
}
