//! The Lisp value: immediates inline, everything else a counted pointer.

use crate::array::Array;
use crate::clos::{Class, Instance};
use crate::foreign::Foreign;
use crate::function::Function;
use crate::gc::{Gc, Trace, Tracer};
use crate::hashtable::HashTable;
use crate::package::Package;
use crate::stream::Stream;
use crate::symbol::Symbol;
use num_bigint::BigInt;
use num_rational::BigRational;
use std::cell::UnsafeCell;
use std::rc::Rc;

/// Largest fixnum, as in SBCL on 64-bit machines (2^62 - 1).
pub const MOST_POSITIVE_FIXNUM: i64 = (1 << 62) - 1;
/// Smallest fixnum (-2^62).
pub const MOST_NEGATIVE_FIXNUM: i64 = -(1 << 62);

/// A complex number; parts are real numbers of the same kind.
#[derive(Clone, Debug)]
pub struct Complex {
    /// Real part.
    pub re: Value,
    /// Imaginary part.
    pub im: Value,
}

/// A Lisp object.
#[derive(Default)]
pub enum Value {
    /// The symbol NIL, which is also the empty list.
    #[default]
    Nil,
    /// Internal marker for "no value": unbound variables and slots, absent
    /// optional arguments. Never visible to Lisp code.
    Unbound,
    /// A fixnum, always in SBCL's 62-bit range.
    Fixnum(i64),
    /// A character.
    Char(char),
    /// A single-float.
    Single(f32),
    /// A double-float.
    Double(f64),
    /// An integer outside the fixnum range.
    Bignum(Rc<BigInt>),
    /// A ratio in lowest terms with a denominator above one.
    Ratio(Rc<BigRational>),
    /// A complex number.
    Complex(Rc<Complex>),
    /// Any symbol other than NIL.
    Symbol(Gc<Symbol>),
    /// A cons cell.
    Cons(Gc<Cons>),
    /// Vectors, strings, bit vectors and multi-dimensional arrays.
    Array(Gc<Array>),
    /// Functions of every kind.
    Function(Gc<Function>),
    /// A hash table.
    HashTable(Gc<HashTable>),
    /// A package.
    Package(Rc<Package>),
    /// A stream.
    Stream(Gc<Stream>),
    /// Instances of standard classes, structures and conditions.
    Instance(Gc<Instance>),
    /// A class object.
    Class(Gc<Class>),
    /// Internal: the box of a lexical variable captured by a closure, kept
    /// in a frame slot. Never visible to Lisp code.
    Cell(Gc<VarCell>),
    /// Objects defined outside the core (processes, locks, sockets, ...).
    Foreign(Gc<Foreign>),
}

/// A cons cell. Fields are read by cloning and written by replacing, so
/// no reference into a cell outlives one operation.
pub struct Cons {
    car: UnsafeCell<Value>,
    cdr: UnsafeCell<Value>,
}

impl Cons {
    /// A new cons cell (not yet on the heap).
    pub fn new(car: Value, cdr: Value) -> Cons {
        Cons {
            car: UnsafeCell::new(car),
            cdr: UnsafeCell::new(cdr),
        }
    }
    /// The car.
    #[inline]
    pub fn car(&self) -> Value {
        // SAFETY: single-threaded heap; cloning cannot re-enter a setter.
        unsafe { (*self.car.get()).clone() }
    }
    /// The cdr.
    #[inline]
    pub fn cdr(&self) -> Value {
        unsafe { (*self.cdr.get()).clone() }
    }
    /// Replace the car.
    #[inline]
    pub fn set_car(&self, v: Value) {
        let old = unsafe { std::mem::replace(&mut *self.car.get(), v) };
        drop(old);
    }
    /// Replace the cdr.
    #[inline]
    pub fn set_cdr(&self, v: Value) {
        let old = unsafe { std::mem::replace(&mut *self.cdr.get(), v) };
        drop(old);
    }
    /// Whether the cdr is a cons (without cloning it).
    #[inline]
    pub fn cdr_is_cons(&self) -> bool {
        matches!(unsafe { &*self.cdr.get() }, Value::Cons(_))
    }
}

unsafe impl Trace for Cons {
    fn trace(&self, t: &mut Tracer) {
        unsafe {
            (*self.car.get()).trace(t);
            (*self.cdr.get()).trace(t);
        }
    }
    fn clear(&self) {
        self.set_car(Value::Nil);
        self.set_cdr(Value::Nil);
    }
}

/// The box of a captured lexical variable.
pub struct VarCell(UnsafeCell<Value>);

impl VarCell {
    /// A new box holding `v`.
    pub fn new(v: Value) -> VarCell {
        VarCell(UnsafeCell::new(v))
    }
    /// The current value.
    #[inline]
    pub fn get(&self) -> Value {
        unsafe { (*self.0.get()).clone() }
    }
    /// Store a new value.
    #[inline]
    pub fn set(&self, v: Value) {
        let old = unsafe { std::mem::replace(&mut *self.0.get(), v) };
        drop(old);
    }
}

unsafe impl Trace for VarCell {
    fn trace(&self, t: &mut Tracer) {
        unsafe { (*self.0.get()).trace(t) }
    }
    fn clear(&self) {
        self.set(Value::Nil)
    }
}

impl Clone for Value {
    /// Immediates copy inline; only heap objects take the out-of-line path
    /// that bumps a reference count.
    #[inline(always)]
    fn clone(&self) -> Value {
        match self {
            Value::Nil => Value::Nil,
            Value::Fixnum(n) => Value::Fixnum(*n),
            Value::Char(c) => Value::Char(*c),
            Value::Single(f) => Value::Single(*f),
            Value::Double(f) => Value::Double(*f),
            Value::Unbound => Value::Unbound,
            _ => self.clone_heap(),
        }
    }
}

impl Value {
    /// Whether the value lives in the word itself (no reference count).
    #[inline(always)]
    pub fn is_immediate(&self) -> bool {
        matches!(
            self,
            Value::Nil
                | Value::Unbound
                | Value::Fixnum(_)
                | Value::Char(_)
                | Value::Single(_)
                | Value::Double(_)
        )
    }

    #[inline(never)]
    fn clone_heap(&self) -> Value {
        match self {
            Value::Bignum(x) => Value::Bignum(x.clone()),
            Value::Ratio(x) => Value::Ratio(x.clone()),
            Value::Complex(x) => Value::Complex(x.clone()),
            Value::Symbol(x) => Value::Symbol(x.clone()),
            Value::Cons(x) => Value::Cons(x.clone()),
            Value::Array(x) => Value::Array(x.clone()),
            Value::Function(x) => Value::Function(x.clone()),
            Value::HashTable(x) => Value::HashTable(x.clone()),
            Value::Package(x) => Value::Package(x.clone()),
            Value::Stream(x) => Value::Stream(x.clone()),
            Value::Instance(x) => Value::Instance(x.clone()),
            Value::Class(x) => Value::Class(x.clone()),
            Value::Cell(x) => Value::Cell(x.clone()),
            Value::Foreign(x) => Value::Foreign(x.clone()),
            Value::Nil => Value::Nil,
            Value::Unbound => Value::Unbound,
            Value::Fixnum(n) => Value::Fixnum(*n),
            Value::Char(c) => Value::Char(*c),
            Value::Single(f) => Value::Single(*f),
            Value::Double(f) => Value::Double(*f),
        }
    }
}

impl Value {
    /// Report the heap references held by this value.
    #[inline]
    pub fn trace(&self, t: &mut Tracer) {
        match self {
            Value::Symbol(g) => t.gc(g),
            Value::Cons(g) => t.gc(g),
            Value::Array(g) => t.gc(g),
            Value::Function(g) => t.gc(g),
            Value::HashTable(g) => t.gc(g),
            Value::Stream(g) => t.gc(g),
            Value::Instance(g) => t.gc(g),
            Value::Class(g) => t.gc(g),
            Value::Cell(g) => t.gc(g),
            Value::Foreign(g) => t.gc(g),
            _ => {}
        }
    }

    /// A fresh cons.
    #[inline]
    pub fn cons(car: Value, cdr: Value) -> Value {
        Value::Cons(Gc::new(Cons::new(car, cdr)))
    }

    /// The symbol T.
    #[inline]
    pub fn t() -> Value {
        crate::world::t()
    }

    /// The Lisp boolean for `b`: T or NIL.
    #[inline]
    pub fn bool(b: bool) -> Value {
        if b {
            crate::world::t()
        } else {
            Value::Nil
        }
    }

    /// An integer value, normalised to a fixnum when it fits.
    #[inline(always)]
    pub fn int(n: i64) -> Value {
        if (MOST_NEGATIVE_FIXNUM..=MOST_POSITIVE_FIXNUM).contains(&n) {
            Value::Fixnum(n)
        } else {
            Value::big_from_i64(n)
        }
    }

    #[inline(never)]
    fn big_from_i64(n: i64) -> Value {
        Value::Bignum(Rc::new(BigInt::from(n)))
    }

    /// An integer from a bignum, normalised to a fixnum when it fits.
    pub fn bigint(n: BigInt) -> Value {
        use num_traits::ToPrimitive;
        match n.to_i64() {
            Some(i) if (MOST_NEGATIVE_FIXNUM..=MOST_POSITIVE_FIXNUM).contains(&i) => {
                Value::Fixnum(i)
            }
            _ => Value::Bignum(Rc::new(n)),
        }
    }

    /// Whether this is NIL.
    #[inline]
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Whether this is a true value (anything but NIL).
    #[inline]
    pub fn truthy(&self) -> bool {
        !matches!(self, Value::Nil)
    }

    /// Whether this is a list (a cons or NIL).
    #[inline]
    pub fn is_list(&self) -> bool {
        matches!(self, Value::Nil | Value::Cons(_))
    }

    /// Whether this is a cons.
    #[inline]
    pub fn is_cons(&self) -> bool {
        matches!(self, Value::Cons(_))
    }

    /// Whether this is a symbol (NIL included).
    #[inline]
    pub fn is_symbol(&self) -> bool {
        matches!(self, Value::Nil | Value::Symbol(_))
    }

    /// Whether this is a number.
    pub fn is_number(&self) -> bool {
        matches!(
            self,
            Value::Fixnum(_)
                | Value::Bignum(_)
                | Value::Ratio(_)
                | Value::Single(_)
                | Value::Double(_)
                | Value::Complex(_)
        )
    }

    /// Whether this is a real number.
    pub fn is_real(&self) -> bool {
        matches!(
            self,
            Value::Fixnum(_)
                | Value::Bignum(_)
                | Value::Ratio(_)
                | Value::Single(_)
                | Value::Double(_)
        )
    }

    /// Whether this is an integer.
    pub fn is_integer(&self) -> bool {
        matches!(self, Value::Fixnum(_) | Value::Bignum(_))
    }

    /// Whether this is a string.
    pub fn is_string(&self) -> bool {
        matches!(self, Value::Array(a) if a.is_string())
    }

    /// The cons, if this is one.
    #[inline]
    pub fn as_cons(&self) -> Option<&Gc<Cons>> {
        match self {
            Value::Cons(c) => Some(c),
            _ => None,
        }
    }

    /// The fixnum, if this is one.
    #[inline]
    pub fn as_fixnum(&self) -> Option<i64> {
        match self {
            Value::Fixnum(n) => Some(*n),
            _ => None,
        }
    }

    /// The car of a cons, NIL for NIL, None for anything else.
    #[inline]
    pub fn car(&self) -> Option<Value> {
        match self {
            Value::Cons(c) => Some(c.car()),
            Value::Nil => Some(Value::Nil),
            _ => None,
        }
    }

    /// The cdr of a cons, NIL for NIL, None for anything else.
    #[inline]
    pub fn cdr(&self) -> Option<Value> {
        match self {
            Value::Cons(c) => Some(c.cdr()),
            Value::Nil => Some(Value::Nil),
            _ => None,
        }
    }

    /// Car of a cons or NIL; anything else gives NIL. For code walking
    /// where the shape was already checked.
    #[inline]
    pub fn first(&self) -> Value {
        self.car().unwrap_or(Value::Nil)
    }

    /// Cdr of a cons or NIL; anything else gives NIL.
    #[inline]
    pub fn rest(&self) -> Value {
        self.cdr().unwrap_or(Value::Nil)
    }

    /// The second element of a list, or NIL.
    pub fn second(&self) -> Value {
        self.rest().first()
    }

    /// The third element of a list, or NIL.
    pub fn third(&self) -> Value {
        self.rest().rest().first()
    }

    /// Iterate over the elements of a list. Stops at the first non-cons
    /// tail (see [`ListIter::tail`]).
    pub fn iter(&self) -> ListIter {
        ListIter { cur: self.clone() }
    }

    /// The elements of a proper or dotted list, as a vector.
    pub fn list_to_vec(&self) -> Vec<Value> {
        self.iter().collect()
    }

    /// Length of a list, counting conses (dotted tails ignored). Returns
    /// None for circular lists.
    pub fn list_length(&self) -> Option<usize> {
        let mut n = 0usize;
        let mut slow = self.clone();
        let mut fast = self.clone();
        loop {
            match fast {
                Value::Cons(c) => {
                    n += 1;
                    fast = c.cdr();
                }
                _ => return Some(n),
            }
            match fast {
                Value::Cons(c) => {
                    n += 1;
                    fast = c.cdr();
                }
                _ => return Some(n),
            }
            slow = slow.rest();
            if let (Value::Cons(a), Value::Cons(b)) = (&slow, &fast) {
                if Gc::ptr_eq(a, b) {
                    return None;
                }
            }
        }
    }

    /// Identity used by EQ: same object, or same immediate.
    #[inline]
    #[allow(clippy::should_implement_trait)] // Lisp's EQ, deliberately not PartialEq
    pub fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Nil, Nil) => true,
            (Unbound, Unbound) => true,
            (Fixnum(a), Fixnum(b)) => a == b,
            (Char(a), Char(b)) => a == b,
            (Single(a), Single(b)) => a.to_bits() == b.to_bits(),
            (Double(a), Double(b)) => a.to_bits() == b.to_bits(),
            (Bignum(a), Bignum(b)) => Rc::ptr_eq(a, b),
            (Ratio(a), Ratio(b)) => Rc::ptr_eq(a, b),
            (Complex(a), Complex(b)) => Rc::ptr_eq(a, b),
            (Symbol(a), Symbol(b)) => Gc::ptr_eq(a, b),
            (Cons(a), Cons(b)) => Gc::ptr_eq(a, b),
            (Array(a), Array(b)) => Gc::ptr_eq(a, b),
            (Function(a), Function(b)) => Gc::ptr_eq(a, b),
            (HashTable(a), HashTable(b)) => Gc::ptr_eq(a, b),
            (Package(a), Package(b)) => Rc::ptr_eq(a, b),
            (Stream(a), Stream(b)) => Gc::ptr_eq(a, b),
            (Instance(a), Instance(b)) => Gc::ptr_eq(a, b),
            (Class(a), Class(b)) => Gc::ptr_eq(a, b),
            (Cell(a), Cell(b)) => Gc::ptr_eq(a, b),
            (Foreign(a), Foreign(b)) => Gc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// EQL: EQ, or numbers of the same type and value.
    pub fn eql(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Bignum(a), Bignum(b)) => a == b,
            (Ratio(a), Ratio(b)) => a == b,
            (Complex(a), Complex(b)) => a.re.eql(&b.re) && a.im.eql(&b.im),
            _ => self.eq(other),
        }
    }

    /// EQUAL: structural on conses, strings and bit vectors; EQL otherwise.
    pub fn equal(&self, other: &Value) -> bool {
        let mut a = self.clone();
        let mut b = other.clone();
        loop {
            match (&a, &b) {
                (Value::Cons(x), Value::Cons(y)) => {
                    if Gc::ptr_eq(x, y) {
                        return true;
                    }
                    if !x.car().equal(&y.car()) {
                        return false;
                    }
                    let (na, nb) = (x.cdr(), y.cdr());
                    a = na;
                    b = nb;
                }
                (Value::Array(x), Value::Array(y)) => {
                    if Gc::ptr_eq(x, y) {
                        return true;
                    }
                    return crate::array::equal_arrays(x, y);
                }
                (Value::Instance(x), Value::Instance(y)) => {
                    if Gc::ptr_eq(x, y) {
                        return true;
                    }
                    return crate::pathname::pathnames_equal(&a, &b);
                }
                (Value::Foreign(_), Value::Foreign(_)) => {
                    return a.eql(&b) || crate::pathname::pathnames_equal(&a, &b)
                }
                _ => return a.eql(&b),
            }
        }
    }

    /// EQUALP: like EQUAL but case-insensitive on characters, numbers by
    /// `=`, and descending into arrays, structures and hash tables.
    pub fn equalp(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Char(a), Char(b)) => crate::chars::char_equal(*a, *b),
            (a, b) if a.is_number() && b.is_number() => crate::number::num_eq(a, b),
            (Cons(x), Cons(y)) => {
                let mut a = self.clone();
                let mut b = other.clone();
                let _ = (x, y);
                loop {
                    match (&a, &b) {
                        (Cons(x), Cons(y)) => {
                            if !x.car().equalp(&y.car()) {
                                return false;
                            }
                            let (na, nb) = (x.cdr(), y.cdr());
                            a = na;
                            b = nb;
                        }
                        _ => return a.equalp(&b),
                    }
                }
            }
            (Array(x), Array(y)) => crate::array::equalp_arrays(x, y),
            (Instance(x), Instance(y)) => crate::clos::equalp_instances(x, y),
            (HashTable(x), HashTable(y)) => crate::hashtable::equalp_tables(x, y),
            _ => self.eq(other),
        }
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::printer::debug_string(self))
    }
}

/// Iterator over list elements.
pub struct ListIter {
    cur: Value,
}

impl ListIter {
    /// What is left: NIL after a proper list, the atom of a dotted list.
    pub fn tail(&self) -> &Value {
        &self.cur
    }
}

impl Iterator for ListIter {
    type Item = Value;
    #[inline]
    fn next(&mut self) -> Option<Value> {
        match &self.cur {
            Value::Cons(c) => {
                let item = c.car();
                let next = c.cdr();
                self.cur = next;
                Some(item)
            }
            _ => None,
        }
    }
}

/// Build a proper list from values.
pub fn list_from<I>(items: I) -> Value
where
    I: IntoIterator<Item = Value>,
    I::IntoIter: DoubleEndedIterator,
{
    list_with_tail(items, Value::Nil)
}

/// Build a list from values ending in `tail`.
pub fn list_with_tail<I>(items: I, tail: Value) -> Value
where
    I: IntoIterator<Item = Value>,
    I::IntoIter: DoubleEndedIterator,
{
    let mut acc = tail;
    for v in items.into_iter().rev() {
        acc = Value::cons(v, acc);
    }
    acc
}

/// Builds a list front to back in O(1) per element.
pub struct ListBuilder {
    head: Value,
    last: Option<Gc<Cons>>,
}

impl Default for ListBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ListBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        ListBuilder {
            head: Value::Nil,
            last: None,
        }
    }
    /// Append one element.
    #[inline]
    pub fn push(&mut self, v: Value) {
        let c = Gc::new(Cons::new(v, Value::Nil));
        match &self.last {
            Some(l) => l.set_cdr(Value::Cons(c.clone())),
            None => self.head = Value::Cons(c.clone()),
        }
        self.last = Some(c);
    }
    /// Set the tail after the last element (for dotted results or
    /// sharing a final list, as APPEND does).
    pub fn set_tail(&mut self, tail: Value) {
        match &self.last {
            Some(l) => l.set_cdr(tail),
            None => self.head = tail,
        }
    }
    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.last.is_none()
    }
    /// The list built.
    pub fn finish(self) -> Value {
        self.head
    }
}

impl FromIterator<Value> for Value {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        let mut b = ListBuilder::new();
        for v in iter {
            b.push(v);
        }
        b.finish()
    }
}
