//! Hash tables for the four standard tests. Entries keep insertion order
//! and a removed entry's slot is reused by the next insertion, so MAPHASH
//! visits entries in the same order as SBCL.

use crate::gc::{Gc, Trace, Tracer};
use crate::value::Value;
use std::cell::RefCell;

/// The equality test of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Test {
    /// EQ
    Eq,
    /// EQL
    Eql,
    /// EQUAL
    Equal,
    /// EQUALP
    Equalp,
}

impl Test {
    /// The test's function name.
    pub fn name(&self) -> &'static str {
        match self {
            Test::Eq => "EQ",
            Test::Eql => "EQL",
            Test::Equal => "EQUAL",
            Test::Equalp => "EQUALP",
        }
    }

    /// Whether two keys are the same under this test.
    #[inline]
    pub fn same(&self, a: &Value, b: &Value) -> bool {
        match self {
            Test::Eq => a.eq(b),
            Test::Eql => a.eql(b),
            Test::Equal => a.equal(b),
            Test::Equalp => a.equalp(b),
        }
    }
}

/// Combine `x` into hash `h`. The multiply spreads low bits upward and the
/// shift brings them back down: hashbrown uses both the low bits (bucket)
/// and the top seven (tag), and consecutive integer keys must differ in both.
#[inline]
fn mix(h: u64, x: u64) -> u64 {
    let z = (h ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z ^ (z >> 29)
}

fn hash_str(h: u64, s: impl Iterator<Item = char>) -> u64 {
    let mut h = h;
    for c in s {
        h = mix(h, c as u64);
    }
    h
}

/// Hash a key consistently with `test`.
pub fn hash(test: Test, v: &Value) -> u64 {
    hash_depth(test, v, 4)
}

fn hash_depth(test: Test, v: &Value, depth: u32) -> u64 {
    match v {
        Value::Nil => 0x51,
        Value::Fixnum(n) => {
            if test == Test::Equalp {
                hash_number_equalp(v)
            } else {
                fixnum_hash(*n)
            }
        }
        Value::Char(c) => {
            if test == Test::Equalp {
                mix(2, crate::chars::char_upcase(*c) as u64)
            } else {
                mix(2, *c as u64)
            }
        }
        Value::Single(_)
        | Value::Double(_)
        | Value::Bignum(_)
        | Value::Ratio(_)
        | Value::Complex(_) => {
            if test == Test::Eq {
                match v {
                    Value::Single(f) => mix(3, f.to_bits() as u64),
                    Value::Double(f) => mix(3, f.to_bits()),
                    _ => mix(3, identity(v)),
                }
            } else if test == Test::Equalp {
                hash_number_equalp(v)
            } else {
                match v {
                    Value::Single(f) => mix(4, f.to_bits() as u64),
                    Value::Double(f) => mix(5, f.to_bits()),
                    Value::Bignum(b) => hash_str(6, b.to_string().chars()),
                    Value::Ratio(r) => hash_str(7, r.to_string().chars()),
                    Value::Complex(c) => mix(
                        hash_depth(test, &c.re, depth),
                        hash_depth(test, &c.im, depth),
                    ),
                    _ => 0,
                }
            }
        }
        Value::Cons(c) if matches!(test, Test::Equal | Test::Equalp) => {
            if depth == 0 {
                return 0xC0;
            }
            mix(
                hash_depth(test, &c.car(), depth - 1),
                hash_depth(test, &c.cdr(), depth - 1),
            )
        }
        Value::Array(a) if test == Test::Equal && (a.is_string() || a.is_bit_vector()) => {
            if a.is_string() {
                hash_str(8, a.chars().into_iter())
            } else {
                a.to_vec()
                    .iter()
                    .fold(9, |h, x| mix(h, hash_depth(test, x, 0)))
            }
        }
        Value::Array(a) if test == Test::Equalp => {
            if a.is_string() {
                hash_str(8, a.chars().into_iter().map(crate::chars::char_upcase))
            } else {
                let n = a.len().min(16);
                (0..n).fold(10 + a.len() as u64, |h, i| {
                    mix(h, hash_depth(test, &a.get(i), depth.saturating_sub(1)))
                })
            }
        }
        Value::Instance(i) if test == Test::Equalp => {
            if i.class().kind == crate::clos::ClassKind::Structure {
                let slots = i.slots.borrow().clone();
                slots.iter().take(8).fold(11, |h, x| {
                    mix(h, hash_depth(test, x, depth.saturating_sub(1)))
                })
            } else {
                mix(12, identity(v))
            }
        }
        Value::HashTable(t) if test == Test::Equalp => mix(13, t.count() as u64),
        Value::Instance(_) if test == Test::Equal => 14,
        _ => mix(15, identity(v)),
    }
}

/// The hash of an integer key. Dense ranges of small non-negative integers
/// (ids, counters, ports) keep their order in the low bits, which pick the
/// bucket, so filling or scanning such a table walks memory sequentially
/// instead of missing the cache on every key (as Python and SBCL do). Bits
/// above 2^20 are mixed in, so strided or large keys still spread out, and
/// the top seven bits (hashbrown's tag) always come from a full mix.
#[inline]
fn fixnum_hash(n: i64) -> u64 {
    const TAG: u64 = 0xFE00_0000_0000_0000;
    let u = n as u64;
    let high = u >> 20;
    let low = if high == 0 { u } else { u ^ mix(3, high) };
    (low & !TAG) | (mix(1, u) & TAG)
}

fn hash_number_equalp(v: &Value) -> u64 {
    // Numbers that are = must hash alike: use the double value, with
    // integral values hashed as integers.
    match crate::number::to_f64(v) {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => fixnum_hash(f as i64),
        Some(f) => mix(17, f.to_bits()),
        None => match v {
            Value::Complex(c) => mix(hash_number_equalp(&c.re), hash_number_equalp(&c.im)),
            _ => 18,
        },
    }
}

fn identity(v: &Value) -> u64 {
    match v {
        Value::Symbol(g) => g.addr() as u64,
        Value::Cons(g) => g.addr() as u64,
        Value::Array(g) => g.addr() as u64,
        Value::Function(g) => g.addr() as u64,
        Value::HashTable(g) => g.addr() as u64,
        Value::Stream(g) => g.addr() as u64,
        Value::Instance(g) => g.addr() as u64,
        Value::Class(g) => g.addr() as u64,
        Value::Foreign(g) => g.addr() as u64,
        Value::Cell(g) => g.addr() as u64,
        Value::Package(p) => std::rc::Rc::as_ptr(p) as usize as u64,
        Value::Bignum(p) => std::rc::Rc::as_ptr(p) as usize as u64,
        Value::Ratio(p) => std::rc::Rc::as_ptr(p) as usize as u64,
        Value::Complex(p) => std::rc::Rc::as_ptr(p) as usize as u64,
        _ => 0,
    }
}

struct Inner {
    entries: Vec<Option<(u64, Value, Value)>>,
    index: hashbrown::HashTable<usize>,
    free: Vec<usize>,
    count: usize,
}

/// A hash table.
pub struct HashTable {
    /// The test.
    pub test: Test,
    inner: RefCell<Inner>,
    /// The :rehash-size given at creation.
    pub rehash_size: f64,
    /// The :rehash-threshold given at creation.
    pub rehash_threshold: f64,
    /// Weakness (accepted, not implemented: entries are strong).
    pub weakness: Value,
    /// Whether accesses are synchronized (all are, on one thread).
    pub synchronized: bool,
}

impl HashTable {
    /// An empty table.
    pub fn new(test: Test, size: usize) -> HashTable {
        HashTable {
            test,
            inner: RefCell::new(Inner {
                entries: Vec::with_capacity(size),
                index: hashbrown::HashTable::with_capacity(size),
                free: Vec::new(),
                count: 0,
            }),
            rehash_size: 1.5,
            rehash_threshold: 1.0,
            weakness: Value::Nil,
            synchronized: false,
        }
    }

    /// Number of entries.
    pub fn count(&self) -> usize {
        self.inner.borrow().count
    }

    /// Current capacity.
    pub fn size(&self) -> usize {
        let i = self.inner.borrow();
        i.entries.capacity().max(i.count).max(14)
    }

    /// Look up a key.
    pub fn get(&self, key: &Value) -> Option<Value> {
        let h = hash(self.test, key);
        let inner = self.inner.borrow();
        let test = self.test;
        let entries = &inner.entries;
        inner
            .index
            .find(
                h,
                |&i| matches!(&entries[i], Some((eh, k, _)) if *eh == h && test.same(k, key)),
            )
            .map(|&i| entries[i].as_ref().unwrap().2.clone())
    }

    /// Insert or replace.
    pub fn put(&self, key: Value, val: Value) {
        let h = hash(self.test, &key);
        let test = self.test;
        let mut inner = self.inner.borrow_mut();
        let Inner {
            entries,
            index,
            free,
            count,
        } = &mut *inner;
        if let Some(&i) = index.find(
            h,
            |&i| matches!(&entries[i], Some((eh, k, _)) if *eh == h && test.same(k, &key)),
        ) {
            let old = std::mem::replace(&mut entries[i].as_mut().unwrap().2, val);
            drop(inner);
            drop(old);
            return;
        }
        let slot = match free.pop() {
            Some(s) => {
                entries[s] = Some((h, key, val));
                s
            }
            None => {
                entries.push(Some((h, key, val)));
                entries.len() - 1
            }
        };
        let ents = &*entries;
        index.insert_unique(h, slot, |&i| ents[i].as_ref().map(|e| e.0).unwrap_or(0));
        *count += 1;
    }

    /// Remove a key. Returns whether it was present.
    pub fn remove(&self, key: &Value) -> bool {
        let h = hash(self.test, key);
        let test = self.test;
        let mut inner = self.inner.borrow_mut();
        let Inner {
            entries,
            index,
            free,
            count,
        } = &mut *inner;
        let found = match index.find_entry(
            h,
            |&i| matches!(&entries[i], Some((eh, k, _)) if *eh == h && test.same(k, key)),
        ) {
            Ok(e) => {
                let (i, _) = e.remove();
                Some(i)
            }
            Err(_) => None,
        };
        match found {
            Some(i) => {
                let old = entries[i].take();
                free.push(i);
                *count -= 1;
                drop(inner);
                drop(old);
                true
            }
            None => false,
        }
    }

    /// Remove every entry.
    pub fn clear(&self) {
        let old = {
            let mut inner = self.inner.borrow_mut();
            inner.index.clear();
            inner.free.clear();
            inner.count = 0;
            std::mem::take(&mut inner.entries)
        };
        drop(old);
    }

    /// A snapshot of the entries in iteration order.
    pub fn entries(&self) -> Vec<(Value, Value)> {
        self.inner
            .borrow()
            .entries
            .iter()
            .filter_map(|e| e.as_ref().map(|(_, k, v)| (k.clone(), v.clone())))
            .collect()
    }
}

unsafe impl Trace for HashTable {
    fn trace(&self, t: &mut Tracer) {
        match self.inner.try_borrow() {
            Ok(i) => {
                for (_, k, v) in i.entries.iter().flatten() {
                    k.trace(t);
                    v.trace(t);
                }
            }
            Err(_) => t.fail(),
        }
    }
    fn clear(&self) {
        if let Ok(mut i) = self.inner.try_borrow_mut() {
            i.entries.clear();
            i.index.clear();
            i.free.clear();
            i.count = 0;
        }
    }
}

/// EQUALP on hash tables: same test, count, and EQUALP values per key.
pub fn equalp_tables(a: &Gc<HashTable>, b: &Gc<HashTable>) -> bool {
    if Gc::ptr_eq(a, b) {
        return true;
    }
    if a.test != b.test || a.count() != b.count() {
        return false;
    }
    a.entries()
        .iter()
        .all(|(k, v)| b.get(k).is_some_and(|w| v.equalp(&w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_slot_reuse_match_sbcl() {
        crate::world::World::init();
        let h = HashTable::new(Test::Eql, 8);
        for k in [5, 3, 9, 1, 7] {
            h.put(Value::Fixnum(k), Value::Fixnum(k * 10));
        }
        assert!(h.remove(&Value::Fixnum(9)));
        h.put(Value::Fixnum(42), Value::Fixnum(0));
        h.put(Value::Fixnum(43), Value::Fixnum(0));
        let keys: Vec<i64> = h
            .entries()
            .iter()
            .map(|(k, _)| k.as_fixnum().unwrap())
            .collect();
        assert_eq!(keys, vec![5, 3, 42, 1, 7, 43]);
        assert_eq!(h.count(), 6);
        assert!(h.get(&Value::Fixnum(9)).is_none());
    }

    #[test]
    fn many_keys_stay_linear() {
        crate::world::World::init();
        let h = HashTable::new(Test::Eql, 0);
        for k in 0..100_000 {
            h.put(Value::Fixnum(k), Value::Fixnum(k));
        }
        for k in 0..100_000 {
            assert_eq!(h.get(&Value::Fixnum(k)).unwrap().as_fixnum(), Some(k));
        }
    }
}
