//! Sequences: the functions that work alike on lists, vectors and
//! strings. Each takes the elements out, works on them, and builds a
//! result of the right kind.

use super::lists::{Pred, Tester};
use super::{function, index, opt, opt_index, opt_nil};
use crate::array::{Array, ArrayData, ElemType};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::eval::apply;
use crate::gc::Gc;
use crate::value::{list_from, list_with_tail, Value};

/// The elements of a sequence.
pub fn items(ctx: &mut Ctx, v: &Value) -> R<Vec<Value>> {
    match v {
        Value::Nil => Ok(vec![]),
        Value::Cons(_) => super::list_items(ctx, v),
        Value::Array(a) if a.is_vector() => Ok(a.to_vec()),
        other => Err(cond::type_error(ctx, other.clone(), "SEQUENCE")),
    }
}

/// A sequence of the same kind as `proto` holding `items`.
pub fn like(ctx: &mut Ctx, proto: &Value, items: Vec<Value>) -> R {
    match proto {
        Value::Array(a) => make_vector(ctx, a.elt, items),
        _ => Ok(list_from(items)),
    }
}

/// A fresh simple vector of element type `et`.
pub fn make_vector(ctx: &mut Ctx, et: ElemType, items: Vec<Value>) -> R {
    for v in &items {
        if !et.accepts(v) {
            return Err(cond::type_error(ctx, v.clone(), et.spec()));
        }
    }
    let mut data = ArrayData::new(et, 0, &et.default_value());
    for v in items {
        data.push(v);
    }
    Ok(Array::vector(data, et).into_value())
}

/// Build a sequence of result type TYPE from items.
pub fn of_type(ctx: &mut Ctx, ty: &Value, items: Vec<Value>) -> R {
    let (head, args) = match ty {
        Value::Cons(_) => (ty.first(), ty.rest()),
        other => (other.clone(), Value::Nil),
    };
    let name = match &head {
        Value::Symbol(s) => s.name().to_string(),
        Value::Nil => "NULL".into(),
        Value::Class(c) => crate::printer::princ_string(&c.name()),
        _ => String::new(),
    };
    let n = items.len();
    let check_len = |ctx: &mut Ctx, want: &Value| -> R<()> {
        if let Value::Fixnum(w) = want {
            if *w as usize != n {
                return Err(cond::simple_error(
                    ctx,
                    format!(
                        "The length requested ({}) does not match the type restriction in {}.",
                        n,
                        crate::printer::prin1_string(ty)
                    ),
                ));
            }
        }
        Ok(())
    };
    match name.as_str() {
        "LIST" | "CONS" | "SEQUENCE" => Ok(list_from(items)),
        "NULL" => {
            if n == 0 {
                Ok(Value::Nil)
            } else {
                Err(cond::type_error(ctx, list_from(items), "NULL"))
            }
        }
        "STRING" | "SIMPLE-STRING" | "BASE-STRING" | "SIMPLE-BASE-STRING" => {
            check_len(ctx, &args.first())?;
            make_vector(ctx, ElemType::Character, items)
        }
        "BIT-VECTOR" | "SIMPLE-BIT-VECTOR" => {
            check_len(ctx, &args.first())?;
            make_vector(ctx, ElemType::Bit, items)
        }
        "VECTOR" | "SIMPLE-VECTOR" | "ARRAY" | "SIMPLE-ARRAY" => {
            let et = if name == "SIMPLE-VECTOR" || args.is_nil() {
                ElemType::T
            } else {
                let e = args.first();
                if matches!(&e, Value::Symbol(s) if s.name() == "*") {
                    ElemType::T
                } else {
                    crate::types::upgraded_element_type(&e)
                }
            };
            if name == "SIMPLE-VECTOR" {
                check_len(ctx, &args.first())?;
            } else if args.rest().is_cons() {
                check_len(ctx, &args.second())?;
            }
            make_vector(ctx, et, items)
        }
        _ => Err(cond::simple_error(
            ctx,
            format!(
                "{} is not a sequence type",
                crate::printer::prin1_string(ty)
            ),
        )),
    }
}

fn seq_len(ctx: &mut Ctx, v: &Value) -> R<usize> {
    match v {
        Value::Nil => Ok(0),
        Value::Cons(_) => match v.list_length() {
            Some(n) => {
                let mut it = v.iter();
                for _ in it.by_ref() {}
                if !it.tail().is_nil() {
                    return Err(cond::type_error(ctx, v.clone(), "LIST"));
                }
                Ok(n)
            }
            None => Err(cond::type_error(ctx, v.clone(), "LIST")),
        },
        Value::Array(a) if a.is_vector() => Ok(a.len()),
        other => Err(cond::type_error(ctx, other.clone(), "SEQUENCE")),
    }
}

fn bounds(ctx: &mut Ctx, len: usize, a: &[Value], si: usize, ei: usize) -> R<(usize, usize)> {
    let s = opt_index(ctx, a, si)?.unwrap_or(0);
    let e = opt_index(ctx, a, ei)?.unwrap_or(len);
    if s > e || e > len {
        return Err(cond::simple_type_error(
            ctx,
            format!(
                "The bounding indices {} and {} are bad for a sequence of length {}.",
                s, e, len
            ),
            Value::cons(Value::int(s as i64), Value::int(e as i64)),
            &format!("(CONS (INTEGER 0 {len}) (INTEGER 0 {len}))"),
        ));
    }
    Ok((s, e))
}

/// Stable merge sort with a fallible Lisp predicate.
fn merge_sort(ctx: &mut Ctx, v: Vec<Value>, pred: &Value, key: &Option<Value>) -> R<Vec<Value>> {
    let keys: Vec<Value> = match key {
        Some(k) => {
            let mut ks = Vec::with_capacity(v.len());
            for x in &v {
                ks.push(apply(ctx, k, std::slice::from_ref(x))?);
            }
            ks
        }
        None => v.clone(),
    };
    let mut idx: Vec<usize> = (0..v.len()).collect();
    let mut buf = idx.clone();
    let n = idx.len();
    let mut width = 1;
    while width < n {
        let mut i = 0;
        while i < n {
            let mid = (i + width).min(n);
            let hi = (i + 2 * width).min(n);
            let (mut l, mut r, mut o) = (i, mid, i);
            while l < mid && r < hi {
                // Take from the right only if right < left (stability).
                let less =
                    apply(ctx, pred, &[keys[idx[r]].clone(), keys[idx[l]].clone()])?.truthy();
                if less {
                    buf[o] = idx[r];
                    r += 1;
                } else {
                    buf[o] = idx[l];
                    l += 1;
                }
                o += 1;
            }
            while l < mid {
                buf[o] = idx[l];
                l += 1;
                o += 1;
            }
            while r < hi {
                buf[o] = idx[r];
                r += 1;
                o += 1;
            }
            i += 2 * width;
        }
        std::mem::swap(&mut idx, &mut buf);
        width *= 2;
    }
    Ok(idx.into_iter().map(|i| v[i].clone()).collect())
}

fn sort_impl(ctx: &mut Ctx, a: &[Value]) -> R {
    let pred = function(ctx, &a[1])?;
    let key = match opt(a, 2) {
        Some(Value::Nil) | None => None,
        Some(k) => Some(function(ctx, k)?),
    };
    let v = items(ctx, &a[0])?;
    let sorted = merge_sort(ctx, v, &pred, &key)?;
    match &a[0] {
        Value::Array(arr) => {
            for (i, x) in sorted.into_iter().enumerate() {
                arr.set(i, x);
            }
            Ok(a[0].clone())
        }
        _ => Ok(list_from(sorted)),
    }
}

/// Which elements of items[s..e] match, honouring :from-end and :count.
fn select(
    ctx: &mut Ctx,
    v: &[Value],
    s: usize,
    e: usize,
    from_end: bool,
    count: Option<usize>,
    m: &mut dyn FnMut(&mut Ctx, &Value) -> R<bool>,
) -> R<Vec<bool>> {
    let mut hit = vec![false; v.len()];
    let mut left = count.unwrap_or(usize::MAX);
    let order: Vec<usize> = if from_end {
        (s..e).rev().collect()
    } else {
        (s..e).collect()
    };
    for i in order {
        if left == 0 {
            break;
        }
        if m(ctx, &v[i])? {
            hit[i] = true;
            left -= 1;
        }
    }
    Ok(hit)
}

fn count_arg(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Option<usize>> {
    match opt(a, i) {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Fixnum(n)) => Ok(Some((*n).max(0) as usize)),
        Some(v) => Err(cond::type_error(ctx, v.clone(), "INTEGER")),
    }
}

// Argument layouts (after keyword normalization):
//  item-fns: (item sequence &key from-end test test-not start end count key)
//             0    1          2        3    4        5     6   7     8
//  if-fns:   (predicate sequence &key from-end start end count key)
//             0         1          2        3     4   5     6

fn item_matcher(ctx: &mut Ctx, a: &[Value]) -> R<Tester> {
    Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 8))
}

fn remove_impl(ctx: &mut Ctx, a: &[Value], is_if: Option<bool>) -> R {
    let v = items(ctx, &a[1])?;
    let (si, ei, ci, fe) = if is_if.is_some() {
        (3, 4, 5, 2)
    } else {
        (5, 6, 7, 2)
    };
    let (s, e) = bounds(ctx, v.len(), a, si, ei)?;
    let count = count_arg(ctx, a, ci)?;
    let from_end = super::flag(a, fe);
    let hit = match is_if {
        Some(neg) => {
            let p = Pred::new(ctx, &a[0], neg, opt(a, 6))?;
            select(ctx, &v, s, e, from_end, count, &mut |ctx, x| {
                p.test(ctx, x.clone())
            })?
        }
        None => {
            let t = item_matcher(ctx, a)?;
            let item = a[0].clone();
            select(ctx, &v, s, e, from_end, count, &mut |ctx, x| {
                t.matches(ctx, &item, x.clone())
            })?
        }
    };
    if !hit.iter().any(|h| *h) {
        return Ok(a[1].clone());
    }
    let kept: Vec<Value> = v
        .into_iter()
        .zip(hit)
        .filter(|(_, h)| !h)
        .map(|(x, _)| x)
        .collect();
    like(ctx, &a[1], kept)
}

fn substitute_impl(ctx: &mut Ctx, a: &[Value], is_if: Option<bool>) -> R {
    // (new old seq &key from-end test test-not start end count key)
    // (new pred seq &key from-end start end count key)
    let v = items(ctx, &a[2])?;
    let (si, ei, ci) = if is_if.is_some() {
        (4, 5, 6)
    } else {
        (6, 7, 8)
    };
    let (s, e) = bounds(ctx, v.len(), a, si, ei)?;
    let count = count_arg(ctx, a, ci)?;
    let from_end = super::flag(a, 3);
    let hit = match is_if {
        Some(neg) => {
            let p = Pred::new(ctx, &a[1], neg, opt(a, 7))?;
            select(ctx, &v, s, e, from_end, count, &mut |ctx, x| {
                p.test(ctx, x.clone())
            })?
        }
        None => {
            let t = Tester::new(ctx, opt(a, 4), opt(a, 5), opt(a, 9))?;
            let old = a[1].clone();
            select(ctx, &v, s, e, from_end, count, &mut |ctx, x| {
                t.matches(ctx, &old, x.clone())
            })?
        }
    };
    let out: Vec<Value> = v
        .into_iter()
        .zip(hit)
        .map(|(x, h)| if h { a[0].clone() } else { x })
        .collect();
    like(ctx, &a[2], out)
}

fn find_pos(ctx: &mut Ctx, a: &[Value], is_if: Option<bool>) -> R<Option<(usize, Value)>> {
    // (item seq &key from-end test test-not start end key)
    // (pred seq &key from-end start end key)
    let v = items(ctx, &a[1])?;
    let (si, ei, ki) = if is_if.is_some() {
        (3, 4, 5)
    } else {
        (5, 6, 7)
    };
    let (s, e) = bounds(ctx, v.len(), a, si, ei)?;
    let from_end = super::flag(a, 2);
    let order: Vec<usize> = if from_end {
        (s..e).rev().collect()
    } else {
        (s..e).collect()
    };
    match is_if {
        Some(neg) => {
            let p = Pred::new(ctx, &a[0], neg, opt(a, ki))?;
            for i in order {
                if p.test(ctx, v[i].clone())? {
                    return Ok(Some((i, v[i].clone())));
                }
            }
        }
        None => {
            let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, ki))?;
            for i in order {
                if t.matches(ctx, &a[0], v[i].clone())? {
                    return Ok(Some((i, v[i].clone())));
                }
            }
        }
    }
    Ok(None)
}

fn count_impl(ctx: &mut Ctx, a: &[Value], is_if: Option<bool>) -> R {
    let v = items(ctx, &a[1])?;
    let (si, ei, ki) = if is_if.is_some() {
        (3, 4, 5)
    } else {
        (5, 6, 7)
    };
    let (s, e) = bounds(ctx, v.len(), a, si, ei)?;
    let mut n = 0;
    match is_if {
        Some(neg) => {
            let p = Pred::new(ctx, &a[0], neg, opt(a, ki))?;
            for x in &v[s..e] {
                if p.test(ctx, x.clone())? {
                    n += 1;
                }
            }
        }
        None => {
            let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, ki))?;
            for x in &v[s..e] {
                if t.matches(ctx, &a[0], x.clone())? {
                    n += 1;
                }
            }
        }
    }
    Ok(Value::int(n))
}

fn map_seqs(ctx: &mut Ctx, f: &Value, seqs: &[Value]) -> R<Vec<Value>> {
    let lists: Vec<Vec<Value>> = seqs.iter().map(|s| items(ctx, s)).collect::<R<_>>()?;
    let n = lists.iter().map(|l| l.len()).min().unwrap_or(0);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let args: Vec<Value> = lists.iter().map(|l| l[i].clone()).collect();
        out.push(apply(ctx, f, &args)?);
    }
    Ok(out)
}

fn quantifier(ctx: &mut Ctx, a: &[Value], want: bool, result_on_hit: bool) -> R {
    let f = function(ctx, &a[0])?;
    let lists: Vec<Vec<Value>> = a[1..].iter().map(|s| items(ctx, s)).collect::<R<_>>()?;
    let n = lists.iter().map(|l| l.len()).min().unwrap_or(0);
    for i in 0..n {
        let args: Vec<Value> = lists.iter().map(|l| l[i].clone()).collect();
        let r = apply(ctx, &f, &args)?;
        if r.truthy() == want {
            return Ok(if result_on_hit && want {
                r
            } else {
                Value::bool(result_on_hit)
            });
        }
    }
    Ok(Value::bool(!result_on_hit))
}

crate::defbuiltins! {
    /// The number of elements of SEQUENCE (up to the fill pointer).
    fn LENGTH "LENGTH" "(sequence)" (ctx, a) { Ok(Value::int(seq_len(ctx, &a[0])? as i64)) }
    /// The element at INDEX.
    fn ELT "ELT" "(sequence index)" (ctx, a) {
        let i = index(ctx, &a[1])?;
        match &a[0] {
            Value::Array(arr) if arr.is_vector() => {
                if i >= arr.len() { return Err(cond::index_error(ctx, a[1].clone(), arr.len(), &a[0])); }
                Ok(arr.get(i))
            }
            v => {
                let items = items(ctx, v)?;
                items.get(i).cloned().ok_or_else(|| cond::index_error(ctx, a[1].clone(), items.len(), v))
            }
        }
    }
    /// Store at INDEX.
    fn SETF_ELT "NETLISP-SYSTEM:SETF-ELT" "(new-value sequence index)" (ctx, a) {
        let i = index(ctx, &a[2])?;
        match &a[1] {
            Value::Array(arr) if arr.is_vector() => {
                if i >= arr.len() { return Err(cond::index_error(ctx, a[2].clone(), arr.len(), &a[1])); }
                if !arr.elt.accepts(&a[0]) { return Err(cond::type_error(ctx, a[0].clone(), arr.elt.spec())); }
                arr.set(i, a[0].clone());
                Ok(a[0].clone())
            }
            v => {
                let mut cur = v.clone();
                for _ in 0..i { cur = cur.rest(); }
                match &cur {
                    Value::Cons(c) => { c.set_car(a[0].clone()); Ok(a[0].clone()) }
                    _ => Err(cond::index_error(ctx, a[2].clone(), v.list_length().unwrap_or(0), v)),
                }
            }
        }
    }
    /// A copy of the elements from START to END.
    fn SUBSEQ "SUBSEQ" "(sequence start &optional end)" (ctx, a) {
        if let Value::Array(arr) = &a[0] {
            if arr.is_string() {
                let cs = arr.chars();
                let (s, e) = bounds(ctx, cs.len(), &[Value::Nil, a[1].clone(), opt_nil(a, 2)], 1, 2)?;
                return Ok(Array::string_from_chars(cs[s..e].to_vec()));
            }
        }
        let v = items(ctx, &a[0])?;
        let (s, e) = bounds(ctx, v.len(), &[Value::Nil, a[1].clone(), opt_nil(a, 2)], 1, 2)?;
        like(ctx, &a[0], v[s..e].to_vec())
    }
    /// Replace a subsequence with the elements of NEW.
    fn SETF_SUBSEQ "NETLISP-SYSTEM:SETF-SUBSEQ" "(new-value sequence start &optional end)" (ctx, a) {
        let new = items(ctx, &a[0])?;
        let len = seq_len(ctx, &a[1])?;
        let (s, e) = bounds(ctx, len, &[Value::Nil, a[2].clone(), opt_nil(a, 3)], 1, 2)?;
        replace_into(ctx, &a[1], s, &new[..new.len().min(e - s)])?;
        Ok(a[0].clone())
    }
    /// A copy of SEQUENCE.
    fn COPY_SEQ "COPY-SEQ" "(sequence)" (ctx, a) {
        let v = items(ctx, &a[0])?;
        like(ctx, &a[0], v)
    }
    /// A reversed copy.
    fn REVERSE "REVERSE" "(sequence)" (ctx, a) {
        let mut v = items(ctx, &a[0])?;
        v.reverse();
        like(ctx, &a[0], v)
    }
    /// Reverse (possibly destructively).
    fn NREVERSE "NREVERSE" "(sequence)" (ctx, a) {
        let mut v = items(ctx, &a[0])?;
        v.reverse();
        match &a[0] {
            Value::Array(arr) => {
                for (i, x) in v.into_iter().enumerate() { arr.set(i, x); }
                Ok(a[0].clone())
            }
            _ => Ok(list_from(v)),
        }
    }
    /// Sort by PREDICATE (destructive for vectors).
    fn SORT "SORT" "(sequence predicate &key key)" (ctx, a) { sort_impl(ctx, a) }
    /// Sort by PREDICATE, keeping equal elements in order.
    fn STABLE_SORT "STABLE-SORT" "(sequence predicate &key key)" (ctx, a) { sort_impl(ctx, a) }
    /// The first element matching ITEM, or NIL.
    fn FIND "FIND" "(item sequence &key from-end test test-not start end key)" (ctx, a) {
        Ok(find_pos(ctx, a, None)?.map(|(_, v)| v).unwrap_or(Value::Nil))
    }
    /// The first element satisfying PREDICATE.
    fn FIND_IF "FIND-IF" "(predicate sequence &key from-end start end key)" (ctx, a) {
        Ok(find_pos(ctx, a, Some(false))?.map(|(_, v)| v).unwrap_or(Value::Nil))
    }
    /// The first element not satisfying PREDICATE.
    fn FIND_IF_NOT "FIND-IF-NOT" "(predicate sequence &key from-end start end key)" (ctx, a) {
        Ok(find_pos(ctx, a, Some(true))?.map(|(_, v)| v).unwrap_or(Value::Nil))
    }
    /// The index of the first element matching ITEM, or NIL.
    fn POSITION "POSITION" "(item sequence &key from-end test test-not start end key)" (ctx, a) {
        Ok(find_pos(ctx, a, None)?.map(|(i, _)| Value::int(i as i64)).unwrap_or(Value::Nil))
    }
    /// The index of the first element satisfying PREDICATE.
    fn POSITION_IF "POSITION-IF" "(predicate sequence &key from-end start end key)" (ctx, a) {
        Ok(find_pos(ctx, a, Some(false))?.map(|(i, _)| Value::int(i as i64)).unwrap_or(Value::Nil))
    }
    /// The index of the first element not satisfying PREDICATE.
    fn POSITION_IF_NOT "POSITION-IF-NOT" "(predicate sequence &key from-end start end key)" (ctx, a) {
        Ok(find_pos(ctx, a, Some(true))?.map(|(i, _)| Value::int(i as i64)).unwrap_or(Value::Nil))
    }
    /// How many elements match ITEM.
    fn COUNT "COUNT" "(item sequence &key from-end test test-not start end key)" (ctx, a) { count_impl(ctx, a, None) }
    /// How many elements satisfy PREDICATE.
    fn COUNT_IF "COUNT-IF" "(predicate sequence &key from-end start end key)" (ctx, a) { count_impl(ctx, a, Some(false)) }
    /// How many elements do not satisfy PREDICATE.
    fn COUNT_IF_NOT "COUNT-IF-NOT" "(predicate sequence &key from-end start end key)" (ctx, a) { count_impl(ctx, a, Some(true)) }
    /// A copy without the elements matching ITEM.
    fn REMOVE "REMOVE" "(item sequence &key from-end test test-not start end count key)" (ctx, a) { remove_impl(ctx, a, None) }
    /// A copy without the elements satisfying PREDICATE.
    fn REMOVE_IF "REMOVE-IF" "(predicate sequence &key from-end start end count key)" (ctx, a) { remove_impl(ctx, a, Some(false)) }
    /// A copy without the elements not satisfying PREDICATE.
    fn REMOVE_IF_NOT "REMOVE-IF-NOT" "(predicate sequence &key from-end start end count key)" (ctx, a) { remove_impl(ctx, a, Some(true)) }
    /// Like REMOVE (may modify SEQUENCE).
    fn DELETE "DELETE" "(item sequence &key from-end test test-not start end count key)" (ctx, a) { remove_impl(ctx, a, None) }
    /// Like REMOVE-IF (may modify SEQUENCE).
    fn DELETE_IF "DELETE-IF" "(predicate sequence &key from-end start end count key)" (ctx, a) { remove_impl(ctx, a, Some(false)) }
    /// Like REMOVE-IF-NOT (may modify SEQUENCE).
    fn DELETE_IF_NOT "DELETE-IF-NOT" "(predicate sequence &key from-end start end count key)" (ctx, a) { remove_impl(ctx, a, Some(true)) }
    /// A copy with elements matching OLD replaced by NEW.
    fn SUBSTITUTE "SUBSTITUTE" "(new old sequence &key from-end test test-not start end count key)" (ctx, a) { substitute_impl(ctx, a, None) }
    /// A copy with elements satisfying PREDICATE replaced by NEW.
    fn SUBSTITUTE_IF "SUBSTITUTE-IF" "(new predicate sequence &key from-end start end count key)" (ctx, a) { substitute_impl(ctx, a, Some(false)) }
    /// A copy with elements not satisfying PREDICATE replaced by NEW.
    fn SUBSTITUTE_IF_NOT "SUBSTITUTE-IF-NOT" "(new predicate sequence &key from-end start end count key)" (ctx, a) { substitute_impl(ctx, a, Some(true)) }
    /// Like SUBSTITUTE (modifies vectors in place).
    fn NSUBSTITUTE "NSUBSTITUTE" "(new old sequence &key from-end test test-not start end count key)" (ctx, a) {
        let r = substitute_impl(ctx, a, None)?;
        copy_back(ctx, &a[2], r)
    }
    /// Like SUBSTITUTE-IF (modifies vectors in place).
    fn NSUBSTITUTE_IF "NSUBSTITUTE-IF" "(new predicate sequence &key from-end start end count key)" (ctx, a) {
        let r = substitute_impl(ctx, a, Some(false))?;
        copy_back(ctx, &a[2], r)
    }
    /// Like SUBSTITUTE-IF-NOT (modifies vectors in place).
    fn NSUBSTITUTE_IF_NOT "NSUBSTITUTE-IF-NOT" "(new predicate sequence &key from-end start end count key)" (ctx, a) {
        let r = substitute_impl(ctx, a, Some(true))?;
        copy_back(ctx, &a[2], r)
    }
    /// Remove duplicate elements (the later occurrence is kept unless :FROM-END).
    fn REMOVE_DUPLICATES "REMOVE-DUPLICATES" "(sequence &key from-end test test-not start end key)" (ctx, a) { remove_duplicates(ctx, a) }
    /// Like REMOVE-DUPLICATES (may modify SEQUENCE).
    fn DELETE_DUPLICATES "DELETE-DUPLICATES" "(sequence &key from-end test test-not start end key)" (ctx, a) { remove_duplicates(ctx, a) }
    /// Index in SEQUENCE-2 where SEQUENCE-1 first occurs, or NIL.
    fn SEARCH "SEARCH" "(sequence-1 sequence-2 &key from-end test test-not key start1 end1 start2 end2)" (ctx, a) {
        let x = items(ctx, &a[0])?;
        let y = items(ctx, &a[1])?;
        let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 5))?;
        let (s1, e1) = bounds(ctx, x.len(), a, 6, 7)?;
        let (s2, e2) = bounds(ctx, y.len(), a, 8, 9)?;
        let pat = &x[s1..e1];
        if pat.len() > e2 - s2 { return Ok(Value::Nil); }
        let starts: Vec<usize> = if super::flag(a, 2) { (s2..=e2 - pat.len()).rev().collect() } else { (s2..=e2 - pat.len()).collect() };
        'outer: for i in starts {
            for (j, p) in pat.iter().enumerate() {
                let kp = t.key(ctx, p.clone())?;
                if !t.matches(ctx, &kp, y[i + j].clone())? { continue 'outer; }
            }
            return Ok(Value::int(i as i64));
        }
        Ok(Value::Nil)
    }
    /// Index where the sequences first differ, or NIL if they match.
    fn MISMATCH "MISMATCH" "(sequence-1 sequence-2 &key from-end test test-not key start1 end1 start2 end2)" (ctx, a) {
        let x = items(ctx, &a[0])?;
        let y = items(ctx, &a[1])?;
        let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 5))?;
        let (s1, e1) = bounds(ctx, x.len(), a, 6, 7)?;
        let (s2, e2) = bounds(ctx, y.len(), a, 8, 9)?;
        if super::flag(a, 2) {
            let (mut i, mut j) = (e1, e2);
            while i > s1 && j > s2 {
                let kx = t.key(ctx, x[i - 1].clone())?;
                if !t.matches(ctx, &kx, y[j - 1].clone())? { return Ok(Value::int(i as i64)); }
                i -= 1; j -= 1;
            }
            return Ok(if i == s1 && j == s2 { Value::Nil } else { Value::int(i as i64) });
        }
        let (mut i, mut j) = (s1, s2);
        while i < e1 && j < e2 {
            let kx = t.key(ctx, x[i].clone())?;
            if !t.matches(ctx, &kx, y[j].clone())? { return Ok(Value::int(i as i64)); }
            i += 1; j += 1;
        }
        Ok(if i == e1 && j == e2 { Value::Nil } else { Value::int(i as i64) })
    }
    /// Combine the elements with FUNCTION.
    fn REDUCE "REDUCE" "(function sequence &key key from-end (start 0) end initial-value)" (ctx, a) {
        let f = function(ctx, &a[0])?;
        let v = items(ctx, &a[1])?;
        let (s, e) = bounds(ctx, v.len(), a, 4, 5)?;
        let key = match opt(a, 2) { Some(Value::Nil) | None => None, Some(k) => Some(function(ctx, k)?) };
        let mut xs = Vec::with_capacity(e - s);
        for x in &v[s..e] {
            xs.push(match &key { Some(k) => apply(ctx, k, std::slice::from_ref(x))?, None => x.clone() });
        }
        let from_end = super::flag(a, 3);
        if from_end { xs.reverse(); }
        let mut it = xs.into_iter();
        let mut acc = match opt(a, 6) {
            Some(iv) => iv.clone(),
            None => match it.next() { Some(x) => x, None => return apply(ctx, &f, &[]) },
        };
        for x in it {
            acc = if from_end { apply(ctx, &f, &[x, acc])? } else { apply(ctx, &f, &[acc, x])? };
        }
        Ok(acc)
    }
    /// Apply FUNCTION across sequences, collecting into RESULT-TYPE (or NIL for side effects).
    fn MAP "MAP" "(result-type function sequence &rest more-sequences)" (ctx, a) {
        let f = function(ctx, &a[1])?;
        let out = map_seqs(ctx, &f, &a[2..])?;
        if a[0].is_nil() { return Ok(Value::Nil); }
        of_type(ctx, &a[0], out)
    }
    /// Store the results of FUNCTION across sequences into RESULT-SEQUENCE.
    fn MAP_INTO "MAP-INTO" "(result-sequence function &rest sequences)" (ctx, a) {
        let f = function(ctx, &a[1])?;
        let len = seq_len(ctx, &a[0])?;
        let out = if a.len() == 2 {
            let mut o = vec![];
            for _ in 0..len { o.push(apply(ctx, &f, &[])?); }
            o
        } else { map_seqs(ctx, &f, &a[2..])? };
        let n = out.len().min(len);
        replace_into(ctx, &a[0], 0, &out[..n])?;
        if let Value::Array(arr) = &a[0] {
            if arr.fill.get().is_some() && a.len() > 2 { arr.fill.set(Some(n)); }
        }
        Ok(a[0].clone())
    }
    /// A new sequence of RESULT-TYPE with the elements of all SEQUENCES.
    fn CONCATENATE "CONCATENATE" "(result-type &rest sequences)" (ctx, a) {
        let mut out = Vec::new();
        for s in &a[1..] { out.extend(items(ctx, s)?); }
        of_type(ctx, &a[0], out)
    }
    /// Store ITEM into the elements from START to END.
    fn FILL "FILL" "(sequence item &key (start 0) end)" (ctx, a) {
        let len = seq_len(ctx, &a[0])?;
        let (s, e) = bounds(ctx, len, a, 2, 3)?;
        let fillv = vec![a[1].clone(); e - s];
        replace_into(ctx, &a[0], s, &fillv)?;
        Ok(a[0].clone())
    }
    /// Copy elements of SEQUENCE-2 into SEQUENCE-1.
    fn REPLACE "REPLACE" "(sequence-1 sequence-2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) {
        let len1 = seq_len(ctx, &a[0])?;
        let src = items(ctx, &a[1])?;
        let (s1, e1) = bounds(ctx, len1, a, 2, 3)?;
        let (s2, e2) = bounds(ctx, src.len(), a, 4, 5)?;
        let n = (e1 - s1).min(e2 - s2);
        let chunk = src[s2..s2 + n].to_vec();
        replace_into(ctx, &a[0], s1, &chunk)?;
        Ok(a[0].clone())
    }
    /// True if PREDICATE is true of every element.
    fn EVERY "EVERY" "(predicate sequence &rest more-sequences)" (ctx, a) { quantifier(ctx, a, false, false) }
    /// The first true value of PREDICATE on the elements, or NIL.
    fn SOME "SOME" "(predicate sequence &rest more-sequences)" (ctx, a) { quantifier(ctx, a, true, true) }
    /// True if PREDICATE is true of no element.
    fn NOTANY "NOTANY" "(predicate sequence &rest more-sequences)" (ctx, a) {
        let r = quantifier(ctx, a, true, true)?;
        Ok(Value::bool(r.is_nil()))
    }
    /// True if PREDICATE is false of some element.
    fn NOTEVERY "NOTEVERY" "(predicate sequence &rest more-sequences)" (ctx, a) {
        let r = quantifier(ctx, a, false, false)?;
        Ok(Value::bool(r.is_nil()))
    }
    /// Merge two sorted sequences by PREDICATE into RESULT-TYPE.
    fn MERGE "MERGE" "(result-type sequence-1 sequence-2 predicate &key key)" (ctx, a) {
        let x = items(ctx, &a[1])?;
        let y = items(ctx, &a[2])?;
        let p = function(ctx, &a[3])?;
        let key = match opt(a, 4) { Some(Value::Nil) | None => None, Some(k) => Some(function(ctx, k)?) };
        let kf = |ctx: &mut Ctx, v: &Value| -> R { match &key { Some(k) => apply(ctx, k, std::slice::from_ref(v)), None => Ok(v.clone()) } };
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::with_capacity(x.len() + y.len());
        while i < x.len() && j < y.len() {
            let (ky, kx) = (kf(ctx, &y[j])?, kf(ctx, &x[i])?);
            if apply(ctx, &p, &[ky, kx])?.truthy() { out.push(y[j].clone()); j += 1; } else { out.push(x[i].clone()); i += 1; }
        }
        out.extend_from_slice(&x[i..]);
        out.extend_from_slice(&y[j..]);
        of_type(ctx, &a[0], out)
    }
    /// A sequence of RESULT-TYPE with SIZE elements.
    fn MAKE_SEQUENCE "MAKE-SEQUENCE" "(result-type size &key initial-element)" (ctx, a) {
        let n = index(ctx, &a[1])?;
        super::check_alloc(ctx, "a sequence", n, std::mem::size_of::<Value>())?;
        let init = match opt(a, 2) {
            Some(v) => v.clone(),
            None => {
                let probe = of_type(ctx, &a[0], vec![])?;
                match probe { Value::Array(arr) => arr.elt.default_value(), _ => Value::Nil }
            }
        };
        of_type(ctx, &a[0], vec![init; n])
    }
    /// Convert OBJECT to RESULT-TYPE.
    fn COERCE "COERCE" "(object result-type)" (ctx, a) { coerce(ctx, &a[0], &a[1]) }
}

fn copy_back(ctx: &mut Ctx, target: &Value, result: Value) -> R {
    if let Value::Array(_) = target {
        let v = items(ctx, &result)?;
        replace_into(ctx, target, 0, &v)?;
        return Ok(target.clone());
    }
    Ok(result)
}

fn remove_duplicates(ctx: &mut Ctx, a: &[Value]) -> R {
    // (sequence &key from-end test test-not start end key)
    let v = items(ctx, &a[0])?;
    let (s, e) = bounds(ctx, v.len(), a, 4, 5)?;
    let t = Tester::new(ctx, opt(a, 2), opt(a, 3), opt(a, 6))?;
    let from_end = super::flag(a, 1);
    let mut keep = vec![true; v.len()];
    for i in s..e {
        let ki = t.key(ctx, v[i].clone())?;
        let range: Vec<usize> = if from_end {
            (s..i).collect()
        } else {
            (i + 1..e).collect()
        };
        for j in range {
            if keep[j] && t.matches(ctx, &ki, v[j].clone())? {
                keep[i] = false;
                break;
            }
        }
    }
    let out: Vec<Value> = v
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(x, _)| x)
        .collect();
    like(ctx, &a[0], out)
}

/// Store `src` into `target` starting at `start` (lists and vectors).
pub fn replace_into(ctx: &mut Ctx, target: &Value, start: usize, src: &[Value]) -> R<()> {
    match target {
        Value::Array(arr) => {
            for v in src {
                if !arr.elt.accepts(v) {
                    return Err(cond::type_error(ctx, v.clone(), arr.elt.spec()));
                }
            }
            let n = arr.total_size();
            arr.with_data_mut(|d, off| {
                for (k, v) in src.iter().enumerate() {
                    if start + k < n {
                        d.set(off + start + k, v.clone());
                    }
                }
            });
            Ok(())
        }
        Value::Nil => Ok(()),
        Value::Cons(_) => {
            let mut cur = target.clone();
            for _ in 0..start {
                cur = cur.rest();
            }
            for v in src {
                match &cur {
                    Value::Cons(c) => {
                        c.set_car(v.clone());
                        let n = c.cdr();
                        cur = n;
                    }
                    _ => break,
                }
            }
            Ok(())
        }
        other => Err(cond::type_error(ctx, other.clone(), "SEQUENCE")),
    }
}

/// COERCE.
pub fn coerce(ctx: &mut Ctx, v: &Value, ty: &Value) -> R {
    if let Some(exp) = crate::types::expand_deftype(ctx, ty)? {
        return coerce(ctx, v, &exp);
    }
    let head = match ty {
        Value::Cons(_) => ty.first(),
        other => other.clone(),
    };
    let name = match &head {
        Value::Symbol(s) => s.name().to_string(),
        Value::Nil => "NIL".into(),
        _ => String::new(),
    };
    match name.as_str() {
        "T" => return Ok(v.clone()),
        "CHARACTER" | "BASE-CHAR" | "STANDARD-CHAR" => {
            return match v {
                Value::Char(_) => Ok(v.clone()),
                _ => {
                    let s = super::string_designator(ctx, v)?;
                    let mut it = s.chars();
                    match (it.next(), it.next()) {
                        (Some(c), None) => Ok(Value::Char(c)),
                        _ => Err(cond::type_error(ctx, v.clone(), "CHARACTER")),
                    }
                }
            }
        }
        "FLOAT" | "SINGLE-FLOAT" | "SHORT-FLOAT" => {
            if name == "FLOAT" && matches!(v, Value::Single(_) | Value::Double(_)) {
                return Ok(v.clone());
            }
            return crate::number::to_float(ctx, v, false);
        }
        "DOUBLE-FLOAT" | "LONG-FLOAT" => return crate::number::to_float(ctx, v, true),
        "COMPLEX" => {
            // The parts are coerced to the part type, if one is given; a
            // float becomes a complex with a zero of its type, a rational
            // stays rational (CLHS COERCE).
            if !v.is_number() {
                return Err(cond::type_error(ctx, v.clone(), "NUMBER"));
            }
            let part = match ty {
                Value::Cons(_) => {
                    Some(ty.second()).filter(|p| !matches!(p, Value::Symbol(s) if s.name() == "*"))
                }
                _ => None,
            };
            let (re, im) = match v {
                Value::Complex(c) => (c.re.clone(), c.im.clone()),
                Value::Single(_) => (v.clone(), Value::Single(0.0)),
                Value::Double(_) => (v.clone(), Value::Double(0.0)),
                _ => (v.clone(), Value::Fixnum(0)),
            };
            return match part {
                Some(p) => {
                    let re = coerce(ctx, &re, &p)?;
                    let im = coerce(ctx, &im, &p)?;
                    Ok(crate::number::make_complex(re, im))
                }
                None => Ok(crate::number::make_complex(re, im)),
            };
        }
        "FUNCTION" => {
            return match v {
                Value::Function(_) => Ok(v.clone()),
                Value::Symbol(s) => match s.function() {
                    Value::Function(f) if !s.is_macro() => Ok(Value::Function(f)),
                    _ => Err(cond::undefined_function(ctx, v.clone())),
                },
                Value::Cons(_) => crate::eval::eval(
                    ctx,
                    &list_from([
                        Value::Symbol(crate::world::w().s.function.clone()),
                        v.clone(),
                    ]),
                ),
                _ => Err(cond::type_error(ctx, v.clone(), "FUNCTION")),
            }
        }
        "LIST" | "CONS" | "VECTOR" | "SIMPLE-VECTOR" | "STRING" | "SIMPLE-STRING"
        | "BASE-STRING" | "SIMPLE-BASE-STRING" | "ARRAY" | "SIMPLE-ARRAY" | "BIT-VECTOR"
        | "SIMPLE-BIT-VECTOR" | "SEQUENCE" | "NULL" => {
            if crate::types::typep(ctx, v, ty)? && !matches!(name.as_str(), "SEQUENCE") {
                return Ok(v.clone());
            }
            if name == "SEQUENCE" && (v.is_list() || matches!(v, Value::Array(x) if x.is_vector()))
            {
                return Ok(v.clone());
            }
            let xs = items(ctx, v)?;
            return of_type(ctx, ty, xs);
        }
        _ => {}
    }
    if crate::types::typep(ctx, v, ty)? {
        return Ok(v.clone());
    }
    Err(cond::type_error_v(ctx, v.clone(), ty.clone()))
}

/// SETF functions defined here.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    vec![("ELT", &SETF_ELT), ("SUBSEQ", &SETF_SUBSEQ)]
}

#[allow(dead_code)]
fn _unused(_: Gc<Array>) -> Value {
    list_with_tail(Vec::<Value>::new(), Value::Nil)
}
