//! Hash tables.

use super::{hash_table, opt, opt_nil};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::eval::apply;
use crate::gc::Gc;
use crate::hashtable::{HashTable, Test};
use crate::value::{list_from, Value, VarCell};

fn test_of(ctx: &mut Ctx, v: Option<&Value>) -> R<Test> {
    let Some(v) = v else { return Ok(Test::Eql) };
    let name = match v {
        Value::Symbol(s) => s.name().to_string(),
        Value::Function(f) => match f.name() {
            Value::Symbol(s) => s.name().to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    match name.as_str() {
        "EQ" => Ok(Test::Eq),
        "EQL" => Ok(Test::Eql),
        "EQUAL" => Ok(Test::Equal),
        "EQUALP" => Ok(Test::Equalp),
        _ => Err(cond::simple_error(
            ctx,
            format!(
                "{} is not a defined hash table test",
                crate::printer::prin1_string(v)
            ),
        )),
    }
}

crate::defbuiltins! {
    /// Create a hash table (tests EQ, EQL, EQUAL, EQUALP).
    fn MAKE_HASH_TABLE "MAKE-HASH-TABLE" "(&key (test #'eql) size rehash-size rehash-threshold weakness synchronized)" (ctx, a) {
        let test = test_of(ctx, opt(a, 0))?;
        let size = match opt(a, 1) { Some(v) => super::index(ctx, v)?, None => 0 };
        let mut h = HashTable::new(test, size.min(1 << 20));
        if let Some(v) = opt(a, 2) { h.rehash_size = crate::number::to_f64(v).unwrap_or(1.5); }
        if let Some(v) = opt(a, 3) { h.rehash_threshold = crate::number::to_f64(v).unwrap_or(1.0); }
        h.weakness = opt_nil(a, 4);
        h.synchronized = super::flag(a, 5);
        Ok(Value::HashTable(Gc::new(h)))
    }
    /// The value of KEY in HASH-TABLE (or DEFAULT), and whether it was found.
    fn GETHASH "GETHASH" "(key hash-table &optional default)" [mv] (ctx, a) {
        let h = hash_table(ctx, &a[1])?;
        Ok(match h.get(&a[0]) {
            Some(v) => ctx.values2(v, Value::t()),
            None => ctx.values2(opt_nil(a, 2), Value::Nil),
        })
    }
    /// Store VALUE under KEY.
    fn SETF_GETHASH "NETLISP-SYSTEM:SETF-GETHASH" "(new-value key hash-table &optional default)" (ctx, a) {
        let h = hash_table(ctx, &a[2])?;
        h.put(a[1].clone(), a[0].clone());
        Ok(a[0].clone())
    }
    /// Remove KEY; true if it was present.
    fn REMHASH "REMHASH" "(key hash-table)" (ctx, a) {
        let h = hash_table(ctx, &a[1])?;
        Ok(Value::bool(h.remove(&a[0])))
    }
    /// Remove every entry.
    fn CLRHASH "CLRHASH" "(hash-table)" (ctx, a) {
        hash_table(ctx, &a[0])?.clear();
        Ok(a[0].clone())
    }
    /// Call FUNCTION with each key and value.
    fn MAPHASH "MAPHASH" "(function hash-table)" (ctx, a) {
        let f = super::function(ctx, &a[0])?;
        let h = hash_table(ctx, &a[1])?;
        for (k, v) in h.entries() {
            apply(ctx, &f, &[k, v])?;
        }
        Ok(Value::Nil)
    }
    /// Number of entries.
    fn HASH_TABLE_COUNT "HASH-TABLE-COUNT" "(hash-table)" (ctx, a) { Ok(Value::int(hash_table(ctx, &a[0])?.count() as i64)) }
    /// Whether OBJECT is a hash table.
    fn HASH_TABLE_P "HASH-TABLE-P" "(object)" (ctx, a) { Ok(Value::bool(matches!(a[0], Value::HashTable(_)))) }
    /// The test function name.
    fn HASH_TABLE_TEST "HASH-TABLE-TEST" "(hash-table)" (ctx, a) {
        Ok(Value::Symbol(crate::world::cl_sym(hash_table(ctx, &a[0])?.test.name())))
    }
    /// Current capacity.
    fn HASH_TABLE_SIZE "HASH-TABLE-SIZE" "(hash-table)" (ctx, a) { Ok(Value::int(hash_table(ctx, &a[0])?.size() as i64)) }
    /// The :REHASH-SIZE given at creation.
    fn HASH_TABLE_REHASH_SIZE "HASH-TABLE-REHASH-SIZE" "(hash-table)" (ctx, a) { Ok(Value::Single(hash_table(ctx, &a[0])?.rehash_size as f32)) }
    /// The :REHASH-THRESHOLD given at creation.
    fn HASH_TABLE_REHASH_THRESHOLD "HASH-TABLE-REHASH-THRESHOLD" "(hash-table)" (ctx, a) { Ok(Value::Single(hash_table(ctx, &a[0])?.rehash_threshold as f32)) }
    /// The :WEAKNESS given at creation (entries are always strong in netlisp).
    fn HASH_TABLE_WEAKNESS "NETLISP:HASH-TABLE-WEAKNESS" "(hash-table)" (ctx, a) { Ok(hash_table(ctx, &a[0])?.weakness.clone()) }
    /// A hash code consistent with EQUAL.
    fn SXHASH "SXHASH" "(object)" (ctx, a) {
        Ok(Value::int((crate::hashtable::hash(Test::Equal, &a[0]) >> 3) as i64 & crate::value::MOST_POSITIVE_FIXNUM))
    }
    /// An iterator function over a hash table (WITH-HASH-TABLE-ITERATOR).
    fn HASH_TABLE_ITERATOR "NETLISP-SYSTEM:%HASH-TABLE-ITERATOR" "(hash-table)" (ctx, a) {
        let h = hash_table(ctx, &a[0])?;
        let entries = list_from(h.entries().into_iter().map(|(k, v)| Value::cons(k, v)));
        let cell = Value::Cell(Gc::new(VarCell::new(entries)));
        Ok(crate::eval::make_native_closure("HASH-TABLE-ITERATOR", vec![cell], |ctx, env, _| {
            let Value::Cell(c) = &env[0] else { return Ok(Value::Nil) };
            match c.get() {
                Value::Cons(x) => {
                    c.set(x.cdr());
                    let e = x.car();
                    Ok(ctx.set_values(vec![Value::t(), e.first(), e.rest()]))
                }
                _ => Ok(ctx.set_values(vec![Value::Nil])),
            }
        }))
    }
}

/// SETF functions defined here.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    vec![("GETHASH", &SETF_GETHASH)]
}
