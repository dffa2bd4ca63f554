//! Objects defined outside the core value types: processes, locks,
//! mailboxes, sockets, lexical environments, and types registered by
//! programs that embed netlisp.

use crate::clos::Class;
use crate::gc::{Gc, Trace, Tracer};
use crate::value::Value;
use std::any::Any;

/// Behaviour every foreign object provides.
pub trait ForeignObj: Any {
    /// The type name shown by TYPE-OF and in printed representations.
    fn type_name(&self) -> &'static str;
    /// Report the Lisp values this object holds (for the cycle collector).
    fn trace(&self, _t: &mut Tracer) {}
    /// Drop the Lisp values this object holds (garbage cycles only).
    fn clear(&self) {}
    /// Text printed inside `#<TYPE ...>` after the type name.
    fn describe(&self) -> String {
        String::new()
    }
    /// What PRINC shows, when it differs from the `#<...>` form (a
    /// restart prints its report).
    fn princ_text(&self, _ctx: &mut crate::ctx::Ctx) -> Option<String> {
        None
    }
    /// The class of the object, if it has a Lisp class.
    fn class(&self) -> Option<Gc<Class>> {
        None
    }
    /// Whether the printed form ends with the object's identity (values
    /// that are fully described by their text, such as addresses, omit it).
    fn print_identity(&self) -> bool {
        true
    }
    /// Whether this object can hold references to Lisp values.
    fn holds_values(&self) -> bool {
        true
    }
}

/// A boxed foreign object.
pub struct Foreign {
    /// The object.
    pub obj: Box<dyn ForeignObj>,
}

impl Foreign {
    /// The object as a concrete type, if it is one.
    pub fn downcast<T: ForeignObj>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.obj;
        any.downcast_ref::<T>()
    }
}

unsafe impl Trace for Foreign {
    fn trace(&self, t: &mut Tracer) {
        self.obj.trace(t)
    }
    fn clear(&self) {
        self.obj.clear()
    }
    fn is_tracked(&self) -> bool {
        self.obj.holds_values()
    }
}

/// Wrap a foreign object as a Lisp value.
pub fn make<T: ForeignObj>(obj: T) -> Value {
    Value::Foreign(Gc::new(Foreign { obj: Box::new(obj) }))
}

/// The foreign object of type T inside a value, if it is one.
pub fn get<T: ForeignObj>(v: &Value) -> Option<&T> {
    match v {
        Value::Foreign(f) => f.downcast::<T>(),
        _ => None,
    }
}
