//! Packages: name spaces of symbols, with inheritance through USE-PACKAGE.

use crate::gc::Gc;
use crate::symbol::Symbol;
use hashbrown::HashMap;
use std::cell::RefCell;
use std::rc::{Rc, Weak};

/// How a symbol was found in a package (the second value of FIND-SYMBOL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Present and internal.
    Internal,
    /// Present and external.
    External,
    /// Accessible through a used package.
    Inherited,
}

/// A package.
pub struct Package {
    name: RefCell<Rc<str>>,
    nicknames: RefCell<Vec<Rc<str>>>,
    internal: RefCell<HashMap<Rc<str>, Gc<Symbol>>>,
    external: RefCell<HashMap<Rc<str>, Gc<Symbol>>>,
    uses: RefCell<Vec<Rc<Package>>>,
    used_by: RefCell<Vec<Weak<Package>>>,
    shadowing: RefCell<Vec<Gc<Symbol>>>,
    /// Documentation string (DEFPACKAGE :documentation).
    pub doc: RefCell<Option<String>>,
    /// Locked packages (CL) refuse redefinition of their functions.
    pub locked: std::cell::Cell<bool>,
}

impl Package {
    /// A new, empty package.
    pub fn new(name: &str) -> Package {
        Package {
            name: RefCell::new(name.into()),
            nicknames: RefCell::new(Vec::new()),
            internal: RefCell::new(HashMap::new()),
            external: RefCell::new(HashMap::new()),
            uses: RefCell::new(Vec::new()),
            used_by: RefCell::new(Vec::new()),
            shadowing: RefCell::new(Vec::new()),
            doc: RefCell::new(None),
            locked: std::cell::Cell::new(false),
        }
    }

    /// The package's name.
    pub fn name(&self) -> Rc<str> {
        self.name.borrow().clone()
    }

    /// Rename the package.
    pub fn set_name(&self, n: &str) {
        *self.name.borrow_mut() = n.into();
    }

    /// The nicknames.
    pub fn nicknames(&self) -> Vec<Rc<str>> {
        self.nicknames.borrow().clone()
    }

    /// Replace the nicknames.
    pub fn set_nicknames(&self, n: Vec<Rc<str>>) {
        *self.nicknames.borrow_mut() = n;
    }

    /// Packages this one uses.
    pub fn uses(&self) -> Vec<Rc<Package>> {
        self.uses.borrow().clone()
    }

    /// Packages that use this one.
    pub fn used_by(&self) -> Vec<Rc<Package>> {
        self.used_by
            .borrow()
            .iter()
            .filter_map(|w| w.upgrade())
            .collect()
    }

    /// Shadowing symbols.
    pub fn shadowing_symbols(&self) -> Vec<Gc<Symbol>> {
        self.shadowing.borrow().clone()
    }

    /// Add a shadowing symbol.
    pub fn add_shadowing(&self, s: Gc<Symbol>) {
        let mut v = self.shadowing.borrow_mut();
        if !v.iter().any(|x| Gc::ptr_eq(x, &s)) {
            v.push(s);
        }
    }

    /// Look a name up: present symbols first, then inherited externals.
    pub fn find(&self, name: &str) -> Option<(Gc<Symbol>, Status)> {
        if let Some(s) = self.external.borrow().get(name) {
            return Some((s.clone(), Status::External));
        }
        if let Some(s) = self.internal.borrow().get(name) {
            return Some((s.clone(), Status::Internal));
        }
        for u in self.uses.borrow().iter() {
            if let Some(s) = u.external.borrow().get(name) {
                return Some((s.clone(), Status::Inherited));
            }
        }
        None
    }

    /// Look a name up among the external symbols only.
    pub fn find_external(&self, name: &str) -> Option<Gc<Symbol>> {
        self.external.borrow().get(name).cloned()
    }

    /// Whether `name` is present (internal or external) in this package.
    pub fn find_present(&self, name: &str) -> Option<(Gc<Symbol>, Status)> {
        if let Some(s) = self.external.borrow().get(name) {
            return Some((s.clone(), Status::External));
        }
        self.internal
            .borrow()
            .get(name)
            .map(|s| (s.clone(), Status::Internal))
    }

    /// Make `sym` present as internal in this package.
    pub fn add_internal(&self, sym: Gc<Symbol>) {
        let name = sym.name_rc();
        self.internal.borrow_mut().insert(name, sym);
    }

    /// Make `sym` present and external.
    pub fn add_external(&self, sym: Gc<Symbol>) {
        let name = sym.name_rc();
        self.internal.borrow_mut().remove(&*name);
        self.external.borrow_mut().insert(name, sym);
    }

    /// Remove a present symbol by name. Returns whether it was present.
    pub fn remove(&self, name: &str) -> bool {
        let a = self.internal.borrow_mut().remove(name).is_some();
        let b = self.external.borrow_mut().remove(name).is_some();
        self.shadowing.borrow_mut().retain(|s| s.name() != name);
        a || b
    }

    /// Turn an external symbol back into an internal one.
    pub fn unexport(&self, name: &str) {
        let s = self.external.borrow_mut().remove(name);
        if let Some(s) = s {
            self.internal.borrow_mut().insert(s.name_rc(), s);
        }
    }

    /// Add `other` to the use list.
    pub fn use_package(self: &Rc<Self>, other: &Rc<Package>) {
        if Rc::ptr_eq(self, other) {
            return;
        }
        let mut u = self.uses.borrow_mut();
        if !u.iter().any(|p| Rc::ptr_eq(p, other)) {
            u.push(other.clone());
            other.used_by.borrow_mut().push(Rc::downgrade(self));
        }
    }

    /// Remove `other` from the use list.
    pub fn unuse_package(self: &Rc<Self>, other: &Rc<Package>) {
        self.uses.borrow_mut().retain(|p| !Rc::ptr_eq(p, other));
        other
            .used_by
            .borrow_mut()
            .retain(|w| w.upgrade().is_some_and(|p| !Rc::ptr_eq(&p, self)));
    }

    /// All present symbols: (symbol, external?).
    pub fn present_symbols(&self) -> Vec<(Gc<Symbol>, bool)> {
        let mut v: Vec<(Gc<Symbol>, bool)> = self
            .external
            .borrow()
            .values()
            .map(|s| (s.clone(), true))
            .collect();
        v.extend(self.internal.borrow().values().map(|s| (s.clone(), false)));
        v
    }

    /// The external symbols.
    pub fn external_symbols(&self) -> Vec<Gc<Symbol>> {
        self.external.borrow().values().cloned().collect()
    }

    /// Number of present symbols (internal, external).
    pub fn counts(&self) -> (usize, usize) {
        (self.internal.borrow().len(), self.external.borrow().len())
    }
}
