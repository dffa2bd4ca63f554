//! Readtables: the case mode and the user's macro characters.
//!
//! The standard syntax is built into the nom reader; a readtable only holds
//! what programs add on top of it: macro characters (SET-MACRO-CHARACTER),
//! dispatch macro characters and their sub-characters
//! (MAKE-DISPATCH-MACRO-CHARACTER, SET-DISPATCH-MACRO-CHARACTER), and the
//! READTABLE-CASE. The reader consults `*READTABLE*` when it starts a read.

use crate::gc::{Gc, Tracer};
use crate::value::Value;
use std::cell::{Cell, RefCell};

/// READTABLE-CASE.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Case {
    /// Unescaped letters are upcased (the standard).
    Upcase,
    /// Unescaped letters are downcased.
    Downcase,
    /// Letters are left alone.
    Preserve,
    /// Single-case tokens have their case inverted.
    Invert,
}

impl Case {
    /// The keyword naming the mode.
    pub fn name(self) -> &'static str {
        match self {
            Case::Upcase => "UPCASE",
            Case::Downcase => "DOWNCASE",
            Case::Preserve => "PRESERVE",
            Case::Invert => "INVERT",
        }
    }

    /// The mode a keyword names.
    pub fn from_name(name: &str) -> Option<Case> {
        [Case::Upcase, Case::Downcase, Case::Preserve, Case::Invert]
            .into_iter()
            .find(|c| c.name() == name)
    }
}

/// A user macro character.
#[derive(Clone)]
pub struct MacroChar {
    /// The character.
    pub ch: char,
    /// Its reader function, or NIL for a dispatching character.
    pub function: Value,
    /// Non-terminating characters do not end a token.
    pub non_terminating: bool,
    /// Dispatching characters read a sub-character and look it up.
    pub dispatching: bool,
}

/// A readtable object.
#[derive(Default)]
pub struct Readtable {
    case: Cell<Option<Case>>,
    macros: RefCell<Vec<MacroChar>>,
    /// (dispatch char, upcased sub-char, function).
    dispatch: RefCell<Vec<(char, char, Value)>>,
}

impl crate::foreign::ForeignObj for Readtable {
    fn type_name(&self) -> &'static str {
        "READTABLE"
    }
    fn trace(&self, t: &mut Tracer) {
        match (self.macros.try_borrow(), self.dispatch.try_borrow()) {
            (Ok(m), Ok(d)) => {
                for x in m.iter() {
                    x.function.trace(t);
                }
                for (_, _, f) in d.iter() {
                    f.trace(t);
                }
            }
            _ => t.fail(),
        }
    }
    fn clear(&self) {
        self.macros.borrow_mut().clear();
        self.dispatch.borrow_mut().clear();
    }
    fn class(&self) -> Option<Gc<crate::clos::Class>> {
        Some(crate::clos::cl_class("READTABLE"))
    }
}

impl Readtable {
    /// The case mode.
    pub fn case(&self) -> Case {
        self.case.get().unwrap_or(Case::Upcase)
    }

    /// Set the case mode.
    pub fn set_case(&self, c: Case) {
        self.case.set(Some(c));
    }

    /// A copy of this readtable.
    pub fn copy(&self) -> Readtable {
        Readtable {
            case: Cell::new(self.case.get()),
            macros: RefCell::new(self.macros.borrow().clone()),
            dispatch: RefCell::new(self.dispatch.borrow().clone()),
        }
    }

    /// Make `to` a copy of `self` in place.
    pub fn copy_into(&self, to: &Readtable) {
        to.case.set(self.case.get());
        *to.macros.borrow_mut() = self.macros.borrow().clone();
        *to.dispatch.borrow_mut() = self.dispatch.borrow().clone();
    }

    /// The user macro character definition of `c`, if any.
    pub fn macro_char(&self, c: char) -> Option<MacroChar> {
        self.macros.borrow().iter().find(|m| m.ch == c).cloned()
    }

    /// Define (or, with `None`, remove) a user macro character.
    pub fn set_macro_char(&self, c: char, def: Option<MacroChar>) {
        let mut m = self.macros.borrow_mut();
        m.retain(|x| x.ch != c);
        if let Some(d) = def {
            m.push(d);
        }
    }

    /// The function for dispatch character `d` and sub-character `sub`.
    pub fn dispatch_fn(&self, d: char, sub: char) -> Option<Value> {
        let sub = crate::chars::char_upcase(sub);
        self.dispatch
            .borrow()
            .iter()
            .find(|(x, s, _)| *x == d && *s == sub)
            .map(|(_, _, f)| f.clone())
    }

    /// Set the function for dispatch character `d` and sub-character `sub`.
    pub fn set_dispatch_fn(&self, d: char, sub: char, f: Value) {
        let sub = crate::chars::char_upcase(sub);
        let mut t = self.dispatch.borrow_mut();
        t.retain(|(x, s, _)| !(*x == d && *s == sub));
        if f.truthy() {
            t.push((d, sub, f));
        }
    }

    /// Whether any user macro characters are defined.
    pub fn has_macros(&self) -> bool {
        !self.macros.borrow().is_empty() || !self.dispatch.borrow().is_empty()
    }

    /// The terminating user macro characters (they end tokens).
    pub fn terminators(&self) -> Vec<char> {
        self.macros
            .borrow()
            .iter()
            .filter(|m| !m.non_terminating)
            .map(|m| m.ch)
            .collect()
    }
}

/// A fresh readtable with the standard syntax.
pub fn standard() -> Value {
    crate::foreign::make(Readtable::default())
}

/// The readtable object of a value.
pub fn get(v: &Value) -> Option<&Readtable> {
    crate::foreign::get::<Readtable>(v)
}

/// The current readtable (`*READTABLE*`), as a value.
pub fn current() -> Value {
    crate::world::w().s.readtable.value()
}

/// The current READTABLE-CASE.
pub fn current_case() -> Case {
    get(&current()).map(|r| r.case()).unwrap_or(Case::Upcase)
}
