//! Classes and instances: the object model under DEFCLASS, DEFSTRUCT,
//! DEFINE-CONDITION, and the built-in classes of Lisp types.

pub mod generic;

pub use generic::{call_generic, Generic};

use crate::ctx::{Ctx, R};
use crate::gc::{Gc, Trace, Tracer};
use crate::symbol::Symbol;
use crate::value::{Value, VarCell};
use crate::world::{intern_exported, symbol_of, w};
use std::cell::{Cell, RefCell};

/// What kind of class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassKind {
    /// A class of built-in Lisp objects (INTEGER, CONS, ...).
    BuiltIn,
    /// A STANDARD-CLASS (DEFCLASS).
    Standard,
    /// A STRUCTURE-CLASS (DEFSTRUCT).
    Structure,
    /// A CONDITION-CLASS (DEFINE-CONDITION).
    Condition,
}

/// Where a slot's value lives.
#[derive(Clone)]
pub enum SlotAlloc {
    /// In the instance, at this index.
    Instance(usize),
    /// Shared by all instances (:allocation :class).
    Class(Gc<VarCell>),
}

/// A slot definition (direct or effective).
#[derive(Clone)]
pub struct SlotDef {
    /// Slot name (a symbol).
    pub name: Value,
    /// Initialization arguments (keywords, usually).
    pub initargs: Vec<Value>,
    /// The initform as written (NIL if none).
    pub initform: Value,
    /// A function of no arguments computing the initial value, or NIL.
    pub initfunction: Value,
    /// Reader function names.
    pub readers: Vec<Value>,
    /// Writer function names.
    pub writers: Vec<Value>,
    /// Storage.
    pub alloc: SlotAlloc,
    /// Declared type.
    pub type_: Value,
    /// Documentation.
    pub doc: Option<String>,
    /// Structure slot declared :read-only.
    pub read_only: bool,
}

impl SlotDef {
    /// A slot with just a name and instance allocation.
    pub fn new(name: Value) -> SlotDef {
        SlotDef {
            name,
            initargs: Vec::new(),
            initform: Value::Nil,
            initfunction: Value::Nil,
            readers: Vec::new(),
            writers: Vec::new(),
            alloc: SlotAlloc::Instance(0),
            type_: Value::t(),
            doc: None,
            read_only: false,
        }
    }

    fn trace(&self, t: &mut Tracer) {
        self.initform.trace(t);
        self.initfunction.trace(t);
        for v in self
            .initargs
            .iter()
            .chain(&self.readers)
            .chain(&self.writers)
        {
            v.trace(t);
        }
        if let SlotAlloc::Class(c) = &self.alloc {
            t.gc(c);
        }
    }
}

/// Extra data of structure and condition classes.
#[derive(Default)]
pub struct ClassExtra {
    /// DEFINE-CONDITION :report (a string or a function of condition and
    /// stream), or NIL.
    pub report: Value,
    /// DEFSTRUCT :print-function / :print-object function, or NIL.
    pub print_function: Value,
    /// DEFSTRUCT :print-object (called with object and stream) rather than
    /// :print-function (object, stream, depth).
    pub print_object_style: bool,
    /// DEFSTRUCT :conc-name, constructors etc. as a property list, for
    /// tools and #S reading.
    pub struct_options: Value,
}

/// A class.
pub struct Class {
    /// Class name (a symbol).
    pub name: RefCell<Value>,
    /// Kind.
    pub kind: ClassKind,
    /// Direct superclasses.
    pub direct_supers: RefCell<Vec<Gc<Class>>>,
    /// Direct subclasses.
    pub direct_subs: RefCell<Vec<Gc<Class>>>,
    /// Class precedence list, this class first.
    pub cpl: RefCell<Vec<Gc<Class>>>,
    /// Slots as defined in this class.
    pub direct_slots: RefCell<Vec<SlotDef>>,
    /// Effective slots.
    pub slots: RefCell<Vec<SlotDef>>,
    /// Number of instance-allocated slots.
    pub nslots: Cell<usize>,
    /// Direct default initargs: (initarg, function of no arguments, form).
    pub direct_default_initargs: RefCell<Vec<(Value, Value, Value)>>,
    /// Effective default initargs.
    pub default_initargs: RefCell<Vec<(Value, Value, Value)>>,
    /// Documentation.
    pub doc: RefCell<Option<String>>,
    /// Structure / condition data.
    pub extra: RefCell<ClassExtra>,
    /// A unique number (for dispatch caches).
    pub id: u64,
    /// Incremented when the class or its ancestors are redefined.
    pub version: Cell<u64>,
}

impl Class {
    /// A new class with no supers or slots.
    pub fn new(name: Value, kind: ClassKind) -> Class {
        Class {
            name: RefCell::new(name),
            kind,
            direct_supers: RefCell::new(Vec::new()),
            direct_subs: RefCell::new(Vec::new()),
            cpl: RefCell::new(Vec::new()),
            direct_slots: RefCell::new(Vec::new()),
            slots: RefCell::new(Vec::new()),
            nslots: Cell::new(0),
            direct_default_initargs: RefCell::new(Vec::new()),
            default_initargs: RefCell::new(Vec::new()),
            doc: RefCell::new(None),
            extra: RefCell::new(ClassExtra::default()),
            id: w().next_id(),
            version: Cell::new(0),
        }
    }

    /// The class name.
    pub fn name(&self) -> Value {
        self.name.borrow().clone()
    }

    /// The class name as text (for messages).
    pub fn name_string(&self) -> String {
        crate::printer::prin1_string(&self.name())
    }

    /// Whether `other` is this class or one of its superclasses.
    pub fn is_subclass_of(&self, other: &Gc<Class>) -> bool {
        self.cpl.borrow().iter().any(|c| Gc::ptr_eq(c, other))
    }

    /// Index of the effective slot named `name`.
    pub fn slot_index(&self, name: &Value) -> Option<usize> {
        self.slots.borrow().iter().position(|s| s.name.eq(name))
    }
}

unsafe impl Trace for Class {
    fn trace(&self, t: &mut Tracer) {
        match (
            self.name.try_borrow(),
            self.direct_supers.try_borrow(),
            self.direct_subs.try_borrow(),
            self.cpl.try_borrow(),
            self.direct_slots.try_borrow(),
            self.slots.try_borrow(),
            self.direct_default_initargs.try_borrow(),
            self.default_initargs.try_borrow(),
            self.extra.try_borrow(),
        ) {
            (Ok(n), Ok(ds), Ok(dsub), Ok(cpl), Ok(dsl), Ok(sl), Ok(ddi), Ok(di), Ok(ex)) => {
                n.trace(t);
                for c in ds.iter().chain(dsub.iter()).chain(cpl.iter()) {
                    t.gc(c);
                }
                for s in dsl.iter().chain(sl.iter()) {
                    s.trace(t);
                }
                for (a, b, c) in ddi.iter().chain(di.iter()) {
                    a.trace(t);
                    b.trace(t);
                    c.trace(t);
                }
                ex.report.trace(t);
                ex.print_function.trace(t);
                ex.struct_options.trace(t);
            }
            _ => t.fail(),
        }
    }
    fn clear(&self) {
        if let Ok(mut v) = self.direct_supers.try_borrow_mut() {
            v.clear();
        }
        if let Ok(mut v) = self.direct_subs.try_borrow_mut() {
            v.clear();
        }
        if let Ok(mut v) = self.cpl.try_borrow_mut() {
            v.clear();
        }
        if let Ok(mut v) = self.direct_slots.try_borrow_mut() {
            v.clear();
        }
        if let Ok(mut v) = self.slots.try_borrow_mut() {
            v.clear();
        }
        if let Ok(mut v) = self.direct_default_initargs.try_borrow_mut() {
            v.clear();
        }
        if let Ok(mut v) = self.default_initargs.try_borrow_mut() {
            v.clear();
        }
        if let Ok(mut e) = self.extra.try_borrow_mut() {
            *e = ClassExtra::default();
        }
    }
}

/// An instance of a standard, structure or condition class.
pub struct Instance {
    /// The class (CHANGE-CLASS can replace it).
    pub class: RefCell<Gc<Class>>,
    /// Instance slot values (`Value::Unbound` when unbound).
    pub slots: RefCell<Vec<Value>>,
}

impl Instance {
    /// The instance's class.
    pub fn class(&self) -> Gc<Class> {
        self.class.borrow().clone()
    }
}

unsafe impl Trace for Instance {
    fn trace(&self, t: &mut Tracer) {
        match (self.class.try_borrow(), self.slots.try_borrow()) {
            (Ok(c), Ok(s)) => {
                t.gc(&c);
                for v in s.iter() {
                    v.trace(t);
                }
            }
            _ => t.fail(),
        }
    }
    fn clear(&self) {
        if let Ok(mut s) = self.slots.try_borrow_mut() {
            s.clear();
        }
    }
}

/// The class named by a symbol, if any.
pub fn find_class(name: &Value) -> Option<Gc<Class>> {
    let s = symbol_of(name)?;
    match s.extra_field(|e| e.class.clone()) {
        Value::Class(c) => Some(c),
        _ => None,
    }
}

/// The class named `name` in COMMON-LISP (must exist).
pub fn cl_class(name: &str) -> Gc<Class> {
    find_class(&Value::Symbol(intern_exported(name, &w().cl)))
        .unwrap_or_else(|| panic!("no class {}", name))
}

/// Register `class` under its name.
pub fn set_find_class(sym: &Gc<Symbol>, class: Option<Gc<Class>>) {
    sym.extra_mut().class = match class {
        Some(c) => Value::Class(c),
        None => Value::Nil,
    };
}

/// Compute the class precedence list with the CLOS algorithm: a
/// topological sort of each class's local precedence order, breaking ties
/// by the class whose direct subclass is rightmost in the list so far.
pub fn compute_cpl(class: &Gc<Class>) -> Result<Vec<Gc<Class>>, String> {
    // Collect all superclasses.
    let mut all: Vec<Gc<Class>> = vec![class.clone()];
    let mut i = 0;
    while i < all.len() {
        let supers = all[i].direct_supers.borrow().clone();
        for s in supers {
            if !all.iter().any(|c| Gc::ptr_eq(c, &s)) {
                all.push(s);
            }
        }
        i += 1;
    }
    // Precedence constraints: C before each direct super, and each direct
    // super before the next.
    let idx = |c: &Gc<Class>, all: &[Gc<Class>]| all.iter().position(|x| Gc::ptr_eq(x, c)).unwrap();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for c in &all {
        let ci = idx(c, &all);
        let supers = c.direct_supers.borrow();
        let mut prev = ci;
        for s in supers.iter() {
            let si = idx(s, &all);
            edges.push((prev, si));
            prev = si;
        }
    }
    let mut result: Vec<usize> = Vec::new();
    let mut remaining: Vec<usize> = (0..all.len()).collect();
    while !remaining.is_empty() {
        let candidates: Vec<usize> = remaining
            .iter()
            .copied()
            .filter(|&c| !edges.iter().any(|&(a, b)| b == c && remaining.contains(&a)))
            .collect();
        if candidates.is_empty() {
            return Err(format!(
                "inconsistent precedence graph for class {}",
                class.name_string()
            ));
        }
        let chosen = if candidates.len() == 1 {
            candidates[0]
        } else {
            // The candidate that is a direct super of the rightmost class
            // already in the result.
            let mut pick = candidates[0];
            'outer: for &r in result.iter().rev() {
                let supers = all[r].direct_supers.borrow();
                for s in supers.iter() {
                    let si = idx(s, &all);
                    if candidates.contains(&si) {
                        pick = si;
                        break 'outer;
                    }
                }
            }
            pick
        };
        result.push(chosen);
        remaining.retain(|&c| c != chosen);
    }
    Ok(result.into_iter().map(|i| all[i].clone()).collect())
}

/// Create (or fetch) a built-in class with the given supers, in CL.
fn builtin_class(name: &str, supers: &[&str], kind: ClassKind) -> Gc<Class> {
    define_builtin_class(intern_exported(name, &w().cl), supers, kind)
}

/// Define a built-in class named by `sym` (for objects implemented in
/// Rust, such as processes and sockets) below the CL classes `supers`.
pub fn define_builtin_class(
    sym: Gc<crate::symbol::Symbol>,
    supers: &[&str],
    kind: ClassKind,
) -> Gc<Class> {
    let supers: Vec<Gc<Class>> = supers.iter().map(|s| cl_class(s)).collect();
    define_builtin_subclass(sym, supers, kind)
}

/// Define a built-in class named by `sym` below the classes `supers`
/// (which may be other built-in classes of a module).
pub fn define_builtin_subclass(
    sym: Gc<crate::symbol::Symbol>,
    supers: Vec<Gc<Class>>,
    kind: ClassKind,
) -> Gc<Class> {
    let class = Gc::new(Class::new(Value::Symbol(sym.clone()), kind));
    for s in &supers {
        s.direct_subs.borrow_mut().push(class.clone());
    }
    *class.direct_supers.borrow_mut() = supers;
    let cpl = compute_cpl(&class).expect("built-in class hierarchy is consistent");
    *class.cpl.borrow_mut() = cpl;
    set_find_class(&sym, Some(class.clone()));
    class
}

/// Install the built-in classes of Lisp types.
pub fn install() {
    use ClassKind::*;
    builtin_class("T", &[], BuiltIn);
    let table: &[(&str, &[&str], ClassKind)] = &[
        ("STANDARD-OBJECT", &["T"], Standard),
        ("STRUCTURE-OBJECT", &["T"], Structure),
        ("CONDITION", &["T"], Condition),
        ("CLASS", &["STANDARD-OBJECT"], Standard),
        ("BUILT-IN-CLASS", &["CLASS"], Standard),
        ("STANDARD-CLASS", &["CLASS"], Standard),
        ("STRUCTURE-CLASS", &["CLASS"], Standard),
        ("METHOD", &["STANDARD-OBJECT"], Standard),
        ("STANDARD-METHOD", &["METHOD"], Standard),
        ("METHOD-COMBINATION", &["STANDARD-OBJECT"], Standard),
        ("NUMBER", &["T"], BuiltIn),
        ("COMPLEX", &["NUMBER"], BuiltIn),
        ("REAL", &["NUMBER"], BuiltIn),
        ("RATIONAL", &["REAL"], BuiltIn),
        ("INTEGER", &["RATIONAL"], BuiltIn),
        ("FIXNUM", &["INTEGER"], BuiltIn),
        ("BIGNUM", &["INTEGER"], BuiltIn),
        ("RATIO", &["RATIONAL"], BuiltIn),
        ("FLOAT", &["REAL"], BuiltIn),
        ("SINGLE-FLOAT", &["FLOAT"], BuiltIn),
        ("DOUBLE-FLOAT", &["FLOAT"], BuiltIn),
        ("CHARACTER", &["T"], BuiltIn),
        ("SYMBOL", &["T"], BuiltIn),
        ("KEYWORD", &["SYMBOL"], BuiltIn),
        ("SEQUENCE", &["T"], BuiltIn),
        ("LIST", &["SEQUENCE"], BuiltIn),
        ("CONS", &["LIST"], BuiltIn),
        ("NULL", &["SYMBOL", "LIST"], BuiltIn),
        ("ARRAY", &["T"], BuiltIn),
        ("VECTOR", &["ARRAY", "SEQUENCE"], BuiltIn),
        ("STRING", &["VECTOR"], BuiltIn),
        ("BIT-VECTOR", &["VECTOR"], BuiltIn),
        ("HASH-TABLE", &["T"], BuiltIn),
        ("PACKAGE", &["T"], BuiltIn),
        ("PATHNAME", &["T"], BuiltIn),
        ("RANDOM-STATE", &["T"], BuiltIn),
        ("READTABLE", &["T"], BuiltIn),
        ("RESTART", &["T"], BuiltIn),
        ("FUNCTION", &["T"], BuiltIn),
        ("GENERIC-FUNCTION", &["FUNCTION"], BuiltIn),
        ("STANDARD-GENERIC-FUNCTION", &["GENERIC-FUNCTION"], BuiltIn),
        ("STREAM", &["T"], BuiltIn),
        ("FILE-STREAM", &["STREAM"], BuiltIn),
        ("STRING-STREAM", &["STREAM"], BuiltIn),
        ("BROADCAST-STREAM", &["STREAM"], BuiltIn),
        ("CONCATENATED-STREAM", &["STREAM"], BuiltIn),
        ("ECHO-STREAM", &["STREAM"], BuiltIn),
        ("SYNONYM-STREAM", &["STREAM"], BuiltIn),
        ("TWO-WAY-STREAM", &["STREAM"], BuiltIn),
    ];
    for (name, supers, kind) in table {
        builtin_class(name, supers, *kind);
    }
    generic::install();
}

/// The class of any object.
pub fn class_of(v: &Value) -> Gc<Class> {
    let name = match v {
        Value::Instance(i) => return i.class(),
        Value::Class(c) => {
            return match c.kind {
                ClassKind::BuiltIn => cl_class("BUILT-IN-CLASS"),
                ClassKind::Structure => cl_class("STRUCTURE-CLASS"),
                _ => cl_class("STANDARD-CLASS"),
            }
        }
        Value::Nil => "NULL",
        Value::Fixnum(_) => "FIXNUM",
        Value::Bignum(_) => "BIGNUM",
        Value::Ratio(_) => "RATIO",
        Value::Single(_) => "SINGLE-FLOAT",
        Value::Double(_) => "DOUBLE-FLOAT",
        Value::Complex(_) => "COMPLEX",
        Value::Char(_) => "CHARACTER",
        Value::Symbol(s) => {
            if s.home_is(&w().keyword) {
                "KEYWORD"
            } else {
                "SYMBOL"
            }
        }
        Value::Cons(_) => "CONS",
        Value::Array(a) => {
            if a.is_string() {
                "STRING"
            } else if a.is_bit_vector() {
                "BIT-VECTOR"
            } else if a.is_vector() {
                "VECTOR"
            } else {
                "ARRAY"
            }
        }
        Value::Function(f) => match &f.kind {
            crate::function::FnKind::Generic(_) => "STANDARD-GENERIC-FUNCTION",
            _ => "FUNCTION",
        },
        Value::HashTable(_) => "HASH-TABLE",
        Value::Package(_) => "PACKAGE",
        Value::Stream(s) => {
            if let Some(c) = s.bytes().and_then(|b| b.io.borrow().class()) {
                return c;
            }
            s.class_name()
        }
        Value::Foreign(f) => {
            if let Some(c) = f.obj.class() {
                return c;
            }
            "T"
        }
        Value::Unbound | Value::Cell(_) => "T",
    };
    cl_class(name)
}

/// Whether `v` is an instance of `class` (or a subclass).
pub fn instance_of(v: &Value, class: &Gc<Class>) -> bool {
    class_of(v).is_subclass_of(class)
}

/// EQUALP on instances: structures compare slot-wise, others by identity.
pub fn equalp_instances(a: &Gc<Instance>, b: &Gc<Instance>) -> bool {
    if Gc::ptr_eq(a, b) {
        return true;
    }
    let (ca, cb) = (a.class(), b.class());
    if !Gc::ptr_eq(&ca, &cb) || ca.kind != ClassKind::Structure {
        return false;
    }
    let sa = a.slots.borrow().clone();
    let sb = b.slots.borrow().clone();
    sa.len() == sb.len() && sa.iter().zip(sb.iter()).all(|(x, y)| x.equalp(y))
}

/// Make an instance with all slots unbound.
pub fn allocate_instance(class: &Gc<Class>) -> Gc<Instance> {
    Gc::new(Instance {
        class: RefCell::new(class.clone()),
        slots: RefCell::new(vec![Value::Unbound; class.nslots.get()]),
    })
}

/// Finalize inheritance: compute the CPL, effective slots and default
/// initargs of a class from its supers.
pub fn finalize(class: &Gc<Class>) -> Result<(), String> {
    let cpl = compute_cpl(class)?;
    let mut slots: Vec<SlotDef> = Vec::new();
    // Most specific first: the first definition of a name wins, but
    // initargs accumulate and missing initforms are inherited.
    for c in cpl.iter() {
        for d in c.direct_slots.borrow().iter() {
            match slots.iter_mut().find(|s| s.name.eq(&d.name)) {
                Some(s) => {
                    for ia in &d.initargs {
                        if !s.initargs.iter().any(|x| x.eq(ia)) {
                            s.initargs.push(ia.clone());
                        }
                    }
                    if s.initfunction.is_nil() && d.initfunction.truthy() {
                        s.initfunction = d.initfunction.clone();
                        s.initform = d.initform.clone();
                    }
                    if s.doc.is_none() {
                        s.doc = d.doc.clone();
                    }
                }
                None => {
                    let mut s = d.clone();
                    s.readers.clear();
                    s.writers.clear();
                    slots.push(s);
                }
            }
        }
    }
    // Structures keep parent slots first; CLOS puts inherited slots after
    // nothing in particular, but SBCL orders them from the least specific
    // class, which is what printing and #S rely on.
    if class.kind == ClassKind::Structure
        || class.kind == ClassKind::Standard
        || class.kind == ClassKind::Condition
    {
        let order: Vec<Value> = cpl
            .iter()
            .rev()
            .flat_map(|c| {
                c.direct_slots
                    .borrow()
                    .iter()
                    .map(|d| d.name.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut ordered = Vec::new();
        for n in order {
            if let Some(i) = slots.iter().position(|s| s.name.eq(&n)) {
                ordered.push(slots.remove(i));
            }
        }
        slots = ordered;
    }
    let mut n = 0;
    for s in slots.iter_mut() {
        if let SlotAlloc::Instance(_) = s.alloc {
            s.alloc = SlotAlloc::Instance(n);
            n += 1;
        }
    }
    let mut dia: Vec<(Value, Value, Value)> = Vec::new();
    for c in cpl.iter() {
        for (k, f, form) in c.direct_default_initargs.borrow().iter() {
            if !dia.iter().any(|(x, _, _)| x.eq(k)) {
                dia.push((k.clone(), f.clone(), form.clone()));
            }
        }
    }
    *class.cpl.borrow_mut() = cpl;
    *class.slots.borrow_mut() = slots;
    class.nslots.set(n);
    *class.default_initargs.borrow_mut() = dia;
    class.version.set(class.version.get() + 1);
    Ok(())
}

/// Read a slot by index-free name; Unbound if unbound, None if missing.
pub fn slot_value_raw(inst: &Gc<Instance>, name: &Value) -> Option<Value> {
    let class = inst.class();
    let slots = class.slots.borrow();
    let s = slots.iter().find(|s| s.name.eq(name))?;
    Some(slot_contents(inst, s))
}

/// What slot `s` of `inst` holds (Unbound if unbound).
fn slot_contents(inst: &Gc<Instance>, s: &SlotDef) -> Value {
    match &s.alloc {
        SlotAlloc::Instance(i) => inst
            .slots
            .borrow()
            .get(*i)
            .cloned()
            .unwrap_or(Value::Unbound),
        SlotAlloc::Class(c) => c.get(),
    }
}

/// Write a slot by name. Returns false if there is no such slot.
pub fn set_slot_value_raw(inst: &Gc<Instance>, name: &Value, v: Value) -> bool {
    let class = inst.class();
    let slots = class.slots.borrow();
    let Some(s) = slots.iter().find(|s| s.name.eq(name)) else {
        return false;
    };
    match &s.alloc {
        SlotAlloc::Instance(i) => {
            let i = *i;
            drop(slots);
            let mut sl = inst.slots.borrow_mut();
            if i < sl.len() {
                sl[i] = v;
            }
        }
        SlotAlloc::Class(c) => c.set(v),
    }
    true
}

/// Run `f` for each superclass, most specific first (convenience).
pub fn cpl_of(c: &Gc<Class>) -> Vec<Gc<Class>> {
    c.cpl.borrow().clone()
}

/// Placeholder kept so code can refer to `ctx` uniformly in helpers.
pub fn ensure_finalized(_ctx: &mut Ctx, c: &Gc<Class>) -> R<()> {
    if c.cpl.borrow().is_empty() {
        let _ = finalize(c);
    }
    Ok(())
}

/// Find the value of INITARG in a property list of initargs.
fn initarg_value(initargs: &[Value], keys: &[Value]) -> Option<Value> {
    initargs
        .chunks(2)
        .find(|p| p.len() == 2 && keys.iter().any(|k| k.eq(&p[0])))
        .map(|p| p[1].clone())
}

/// Fill slots from initargs and initforms (the default SHARED-INITIALIZE).
/// `slot_names` is T (all) or a list of slot names to initialize from
/// initforms when unbound.
pub fn shared_initialize_default(
    ctx: &mut Ctx,
    inst: &Gc<Instance>,
    slot_names: &Value,
    initargs: &[Value],
) -> R<()> {
    let class = inst.class();
    let slots = class.slots.borrow().clone();
    for s in slots.iter() {
        let current = slot_contents(inst, s);
        let v = match initarg_value(initargs, &s.initargs) {
            Some(v) => Some(v),
            None => {
                let wanted = slot_names.eq(&Value::t()) || slot_names.iter().any(|n| n.eq(&s.name));
                if wanted && matches!(current, Value::Unbound) && s.initfunction.truthy() {
                    Some(crate::eval::apply(ctx, &s.initfunction, &[])?)
                } else {
                    None
                }
            }
        };
        if let Some(v) = v {
            match &s.alloc {
                SlotAlloc::Instance(i) => {
                    let mut sl = inst.slots.borrow_mut();
                    if *i < sl.len() {
                        sl[*i] = v;
                    }
                }
                SlotAlloc::Class(c) => c.set(v),
            }
        }
    }
    Ok(())
}

/// Add the class's default initargs that are not in `initargs`.
pub fn with_default_initargs(
    ctx: &mut Ctx,
    class: &Gc<Class>,
    initargs: &[Value],
) -> R<Vec<Value>> {
    let mut out = initargs.to_vec();
    let defaults = class.default_initargs.borrow().clone();
    for (k, f, _) in defaults {
        if !initargs.chunks(2).any(|p| p[0].eq(&k)) {
            let v = crate::eval::apply(ctx, &f, &[])?;
            out.push(k);
            out.push(v);
        }
    }
    Ok(out)
}

/// Make an instance without the generic initialization protocol
/// (conditions, and classes with no user initialization methods).
pub fn make_instance_basic(ctx: &mut Ctx, class: &Gc<Class>, initargs: &[Value]) -> R {
    if !initargs.len().is_multiple_of(2) {
        return Err(crate::conditions::program_error(
            ctx,
            "odd number of initialization arguments".into(),
        ));
    }
    let all = with_default_initargs(ctx, class, initargs)?;
    let inst = allocate_instance(class);
    shared_initialize_default(ctx, &inst, &Value::t(), &all)?;
    Ok(Value::Instance(inst))
}

/// Print an object with a user PRINT-OBJECT method or structure print
/// function, if it has one; the text printed.
pub fn user_print_object(ctx: &mut Ctx, v: &Value, o: &crate::printer::Opts) -> R<Option<String>> {
    let Value::Instance(inst) = v else {
        return Ok(None);
    };
    let class = inst.class();
    let (pf, object_style) = {
        let mut found = (Value::Nil, false);
        for c in class.cpl.borrow().iter() {
            let e = c.extra.borrow();
            if e.print_function.truthy() {
                found = (e.print_function.clone(), e.print_object_style);
                break;
            }
        }
        found
    };
    let use_generic = generic::has_user_method("PRINT-OBJECT", v);
    if pf.is_nil() && !use_generic {
        return Ok(None);
    }
    let s = crate::stream::make_string_output();
    let mark = ctx.dyn_binds.len();
    let wd = w();
    ctx.bind_special(&wd.s.print_escape, Value::bool(o.escape));
    ctx.bind_special(&wd.s.print_pretty, Value::bool(o.pretty));
    let r = if use_generic {
        let f = Value::Symbol(crate::world::cl_sym("PRINT-OBJECT"));
        crate::eval::apply(ctx, &f, &[v.clone(), s.clone()])
    } else if object_style {
        crate::eval::apply(ctx, &pf, &[v.clone(), s.clone()])
    } else {
        crate::eval::apply(ctx, &pf, &[v.clone(), s.clone(), Value::Fixnum(0)])
    };
    ctx.unbind_to(mark);
    r?;
    let Value::Stream(st) = &s else {
        unreachable!()
    };
    Ok(crate::stream::take_string_output(st))
}

/// A Rust constructor for a class whose instances are not standard
/// objects (COMM:SOCKET-STREAM makes a stream).
pub type InstanceHook = fn(&mut Ctx, &Gc<Class>, &[Value]) -> R<Option<Value>>;

thread_local! {
    static HOOKS: RefCell<Vec<(u64, InstanceHook)>> = const { RefCell::new(Vec::new()) };
}

/// Register a MAKE-INSTANCE hook for a class.
pub fn register_instance_hook(class: &Gc<Class>, hook: InstanceHook) {
    HOOKS.with(|h| h.borrow_mut().push((class.id, hook)));
}

/// Run the MAKE-INSTANCE hook of a class, if it has one.
pub fn make_instance_hook(
    ctx: &mut Ctx,
    class: &Gc<Class>,
    initargs: &[Value],
) -> R<Option<Value>> {
    let hook = HOOKS.with(|h| {
        h.borrow()
            .iter()
            .find(|(id, _)| *id == class.id)
            .map(|(_, f)| *f)
    });
    match hook {
        Some(f) => f(ctx, class, initargs),
        None => Ok(None),
    }
}
