//! Symbols: interned objects with value, function and property cells, so a
//! global variable or function reference is a field load, not a lookup.

use crate::gc::{Gc, Trace, Tracer};
use crate::package::Package;
use crate::value::Value;
use std::cell::{Cell, Ref, RefCell, RefMut, UnsafeCell};
use std::rc::Rc;

/// Symbol flag: proclaimed special (DEFVAR, DEFPARAMETER, PROCLAIM).
pub const SPECIAL: u16 = 1;
/// Symbol flag: a constant (DEFCONSTANT, keywords, T, NIL).
pub const CONSTANT: u16 = 2;
/// Symbol flag: the function cell holds a macro expander.
pub const MACRO: u16 = 4;
/// Symbol flag: names a special operator.
pub const SPECIAL_OPERATOR: u16 = 8;
/// Symbol flag: a global symbol macro (DEFINE-SYMBOL-MACRO).
pub const SYMBOL_MACRO: u16 = 16;
/// Symbol flag: the function is a builtin the compiler may call directly
/// (CL symbols cannot be redefined).
pub const LOCKED: u16 = 32;

/// Rarely used per-symbol data, allocated on first use.
#[derive(Default)]
pub struct SymbolExtra {
    /// The function named `(setf sym)`.
    pub setf_function: Value,
    /// DEFSETF / DEFINE-SETF-EXPANDER data: a function producing an expansion.
    pub setf_expander: Value,
    /// DEFTYPE expander function.
    pub type_expander: Value,
    /// Expansion of a global symbol macro.
    pub symbol_macro: Value,
    /// Compiler macro function (kept for COMPILER-MACRO-FUNCTION).
    pub compiler_macro: Value,
    /// The class named by this symbol (FIND-CLASS).
    pub class: Value,
    /// Documentation strings by kind (FUNCTION, VARIABLE, TYPE, ...).
    pub docs: Vec<(String, String)>,
}

/// A symbol.
pub struct Symbol {
    name: Rc<str>,
    package: UnsafeCell<Option<Rc<Package>>>,
    value: UnsafeCell<Value>,
    function: UnsafeCell<Value>,
    plist: UnsafeCell<Value>,
    flags: Cell<u16>,
    extra: RefCell<Option<Box<SymbolExtra>>>,
}

impl Symbol {
    /// A new, unbound symbol with no home package.
    pub fn new(name: Rc<str>) -> Symbol {
        Symbol {
            name,
            package: UnsafeCell::new(None),
            value: UnsafeCell::new(Value::Unbound),
            function: UnsafeCell::new(Value::Unbound),
            plist: UnsafeCell::new(Value::Nil),
            flags: Cell::new(0),
            extra: RefCell::new(None),
        }
    }

    /// The symbol's name.
    #[inline]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name as a shared string.
    pub fn name_rc(&self) -> Rc<str> {
        self.name.clone()
    }

    /// The home package, if any.
    pub fn package(&self) -> Option<Rc<Package>> {
        unsafe { (*self.package.get()).clone() }
    }

    /// Set or clear the home package.
    pub fn set_package(&self, p: Option<Rc<Package>>) {
        let old = unsafe { std::mem::replace(&mut *self.package.get(), p) };
        drop(old);
    }

    /// Whether the home package is `p`.
    pub fn home_is(&self, p: &Rc<Package>) -> bool {
        unsafe {
            (*self.package.get())
                .as_ref()
                .is_some_and(|h| Rc::ptr_eq(h, p))
        }
    }

    /// Whether the symbol has no home package.
    pub fn is_uninterned(&self) -> bool {
        unsafe { (*self.package.get()).is_none() }
    }

    /// The current value (in the running process's dynamic environment),
    /// or `Value::Unbound`.
    #[inline]
    pub fn value(&self) -> Value {
        unsafe { (*self.value.get()).clone() }
    }

    /// Whether the value cell holds a value.
    #[inline]
    pub fn is_bound(&self) -> bool {
        !matches!(unsafe { &*self.value.get() }, Value::Unbound)
    }

    /// Store into the value cell.
    #[inline]
    pub fn set_value(&self, v: Value) {
        let old = unsafe { std::mem::replace(&mut *self.value.get(), v) };
        drop(old);
    }

    /// Swap the value cell with `v`, returning the old contents. Used by
    /// dynamic binding.
    #[inline]
    pub fn swap_value(&self, v: Value) -> Value {
        unsafe { std::mem::replace(&mut *self.value.get(), v) }
    }

    /// The function cell (a function, a macro expander, or Unbound).
    #[inline]
    pub fn function(&self) -> Value {
        unsafe { (*self.function.get()).clone() }
    }

    /// Run `f` on the function cell without cloning it.
    #[inline]
    pub fn with_function<R>(&self, f: impl FnOnce(&Value) -> R) -> R {
        // SAFETY: `f` only reads; the cell is replaced only by setters,
        // which cannot run while this shared borrow is used by `f` unless
        // `f` calls them, which callers do not do.
        f(unsafe { &*self.function.get() })
    }

    /// Whether the function cell holds something.
    #[inline]
    pub fn is_fbound(&self) -> bool {
        !matches!(unsafe { &*self.function.get() }, Value::Unbound)
            || self.flags.get() & SPECIAL_OPERATOR != 0
    }

    /// Store a function (clearing the macro flag).
    pub fn set_function(&self, f: Value) {
        self.flags.set(self.flags.get() & !MACRO);
        let old = unsafe { std::mem::replace(&mut *self.function.get(), f) };
        drop(old);
    }

    /// Store a macro expander.
    pub fn set_macro(&self, f: Value) {
        self.flags.set(self.flags.get() | MACRO);
        let old = unsafe { std::mem::replace(&mut *self.function.get(), f) };
        drop(old);
    }

    /// Empty the function cell.
    pub fn clear_function(&self) {
        self.flags.set(self.flags.get() & !MACRO);
        let old = unsafe { std::mem::replace(&mut *self.function.get(), Value::Unbound) };
        drop(old);
    }

    /// The property list.
    pub fn plist(&self) -> Value {
        unsafe { (*self.plist.get()).clone() }
    }

    /// Replace the property list.
    pub fn set_plist(&self, v: Value) {
        let old = unsafe { std::mem::replace(&mut *self.plist.get(), v) };
        drop(old);
    }

    /// Test a flag.
    #[inline]
    pub fn has(&self, flag: u16) -> bool {
        self.flags.get() & flag != 0
    }

    /// Set a flag.
    pub fn set_flag(&self, flag: u16) {
        self.flags.set(self.flags.get() | flag)
    }

    /// Clear a flag.
    pub fn clear_flag(&self, flag: u16) {
        self.flags.set(self.flags.get() & !flag)
    }

    /// Whether the symbol is a macro name.
    #[inline]
    pub fn is_macro(&self) -> bool {
        self.has(MACRO)
    }

    /// Whether the symbol is globally special.
    #[inline]
    pub fn is_special(&self) -> bool {
        self.has(SPECIAL)
    }

    /// Whether the symbol is a constant.
    #[inline]
    pub fn is_constant(&self) -> bool {
        self.has(CONSTANT)
    }

    /// The extra data, if any was ever stored.
    pub fn extra(&self) -> Option<Ref<'_, SymbolExtra>> {
        let r = self.extra.borrow();
        if r.is_some() {
            Some(Ref::map(r, |e| &**e.as_ref().unwrap()))
        } else {
            None
        }
    }

    /// The extra data, created on demand.
    pub fn extra_mut(&self) -> RefMut<'_, SymbolExtra> {
        let mut r = self.extra.borrow_mut();
        if r.is_none() {
            *r = Some(Box::default());
        }
        RefMut::map(r, |e| &mut **e.as_mut().unwrap())
    }

    /// Read one field of the extra data, or NIL.
    pub fn extra_field(&self, f: impl FnOnce(&SymbolExtra) -> Value) -> Value {
        match self.extra() {
            Some(e) => f(&e),
            None => Value::Nil,
        }
    }
}

unsafe impl Trace for Symbol {
    fn trace(&self, t: &mut Tracer) {
        unsafe {
            (*self.value.get()).trace(t);
            (*self.function.get()).trace(t);
            (*self.plist.get()).trace(t);
        }
        match self.extra.try_borrow() {
            Ok(e) => {
                if let Some(e) = &*e {
                    e.setf_function.trace(t);
                    e.setf_expander.trace(t);
                    e.type_expander.trace(t);
                    e.symbol_macro.trace(t);
                    e.compiler_macro.trace(t);
                    e.class.trace(t);
                }
            }
            Err(_) => t.fail(),
        }
    }
    fn clear(&self) {
        self.set_value(Value::Unbound);
        self.clear_function();
        self.set_plist(Value::Nil);
        if let Ok(mut e) = self.extra.try_borrow_mut() {
            *e = None;
        }
    }
}

/// Turn a symbol object into a value (NIL's object becomes `Value::Nil`).
#[inline]
pub fn sym_value(s: &Gc<Symbol>) -> Value {
    if crate::world::is_nil_symbol(s) {
        Value::Nil
    } else {
        Value::Symbol(s.clone())
    }
}
