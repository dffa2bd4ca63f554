//! Arrays and vectors: MAKE-ARRAY with specialised element types, AREF,
//! fill pointers, VECTOR-PUSH-EXTEND and ADJUST-ARRAY.

use super::{index, opt};
use crate::array::{Array, ArrayData, ElemType};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::gc::Gc;
use crate::types::upgraded_element_type;
use crate::value::{list_from, Value};
use std::cell::{Cell, RefCell};

fn array(ctx: &mut Ctx, v: &Value) -> R<Gc<Array>> {
    match v {
        Value::Array(a) => Ok(a.clone()),
        other => Err(cond::type_error(ctx, other.clone(), "ARRAY")),
    }
}

fn vector(ctx: &mut Ctx, v: &Value) -> R<Gc<Array>> {
    match v {
        Value::Array(a) if a.is_vector() => Ok(a.clone()),
        other => Err(cond::type_error(ctx, other.clone(), "VECTOR")),
    }
}

fn dims_of(ctx: &mut Ctx, v: &Value) -> R<Vec<usize>> {
    match v {
        Value::Nil => Ok(vec![]),
        Value::Cons(_) => {
            let mut d = vec![];
            for x in v.iter() {
                d.push(index(ctx, &x)?);
            }
            Ok(d)
        }
        other => Ok(vec![index(ctx, other)?]),
    }
}

/// Check that an array of DIMS with elements of type ET can be made.
fn check_dims(ctx: &mut Ctx, dims: &[usize], et: ElemType) -> R<()> {
    let total = dims
        .iter()
        .try_fold(1usize, |acc, d| acc.checked_mul(*d))
        .unwrap_or(usize::MAX);
    let bytes = match et {
        ElemType::Bit | ElemType::U8 | ElemType::I8 => 1,
        ElemType::Character | ElemType::BaseChar => std::mem::size_of::<char>(),
        _ => std::mem::size_of::<Value>(),
    };
    super::check_alloc(ctx, "an array", total, bytes)
}

/// Row-major index of SUBSCRIPTS in A, checked.
fn row_major(ctx: &mut Ctx, a: &Gc<Array>, subs: &[Value], whole: &Value) -> R<usize> {
    if !a.fits() {
        return Err(cond::simple_error(
            ctx,
            format!(
                "the displaced array of {} elements no longer fits in the array it is displaced to (that was adjusted to fewer elements)",
                a.total_size()
            ),
        ));
    }
    let dims = a.dimensions();
    if subs.len() != dims.len() {
        return Err(cond::program_error(
            ctx,
            format!(
                "Wrong number of subscripts, {}, for array of rank {}.",
                subs.len(),
                dims.len()
            ),
        ));
    }
    let mut idx = 0usize;
    for (k, (s, d)) in subs.iter().zip(&dims).enumerate() {
        let i = match s {
            Value::Fixnum(n) if *n >= 0 && (*n as usize) < *d => *n as usize,
            other => {
                let _ = k;
                return Err(cond::index_error(ctx, other.clone(), *d, whole));
            }
        };
        idx = idx * d + i;
    }
    Ok(idx)
}

fn store(ctx: &mut Ctx, a: &Gc<Array>, i: usize, v: &Value) -> R<()> {
    if !a.elt.accepts(v) {
        return Err(cond::type_error(ctx, v.clone(), a.elt.spec()));
    }
    a.set(i, v.clone());
    Ok(())
}

fn flatten_contents(
    ctx: &mut Ctx,
    contents: &Value,
    dims: &[usize],
    out: &mut Vec<Value>,
) -> R<()> {
    if dims.is_empty() {
        out.push(contents.clone());
        return Ok(());
    }
    let items: Vec<Value> = match contents {
        Value::Array(a) if a.is_vector() => a.to_vec(),
        v if v.is_list() => super::list_items(ctx, v)?,
        other => return Err(cond::type_error(ctx, other.clone(), "SEQUENCE")),
    };
    if items.len() != dims[0] {
        return Err(cond::simple_error(
            ctx,
            format!(
                "The initial contents have {} elements where {} were expected.",
                items.len(),
                dims[0]
            ),
        ));
    }
    for it in items {
        flatten_contents(ctx, &it, &dims[1..], out)?;
    }
    Ok(())
}

/// Build an array from #nA contents.
pub fn array_from_contents(rank: usize, contents: &Value) -> Option<Value> {
    let mut dims = Vec::new();
    let mut cur = contents.clone();
    for _ in 0..rank {
        let n = match &cur {
            Value::Array(a) if a.is_vector() => a.len(),
            v if v.is_list() => v.list_length()?,
            _ => return None,
        };
        dims.push(n);
        cur = match &cur {
            Value::Array(a) if a.is_vector() => a.to_vec().first().cloned().unwrap_or(Value::Nil),
            v => v.first(),
        };
    }
    let mut ctx = Ctx::new();
    let mut flat = Vec::new();
    flatten_contents(&mut ctx, contents, &dims, &mut flat).ok()?;
    Some(new_array(ArrayData::T(flat), dims, None, false, ElemType::T).into_value())
}

/// MAKE-ARRAY, also used by other modules.
#[allow(clippy::too_many_arguments)]
pub fn make_array(
    ctx: &mut Ctx,
    dims: Vec<usize>,
    et: ElemType,
    initial_element: Option<&Value>,
    initial_contents: Option<&Value>,
    adjustable: bool,
    fill_pointer: Option<&Value>,
) -> R {
    let total: usize = dims.iter().product();
    let init = match initial_element {
        Some(v) => {
            if !et.accepts(v) {
                return Err(cond::type_error(ctx, v.clone(), et.spec()));
            }
            v.clone()
        }
        None => et.default_value(),
    };
    let mut data = ArrayData::new(et, total, &init);
    if let Some(c) = initial_contents {
        let mut flat = Vec::with_capacity(total);
        flatten_contents(ctx, c, &dims, &mut flat)?;
        for (i, v) in flat.iter().enumerate() {
            if !et.accepts(v) {
                return Err(cond::type_error(ctx, v.clone(), et.spec()));
            }
            data.set(i, v.clone());
        }
    }
    let fill = fill_of(ctx, fill_pointer, total, dims.len())?;
    Ok(new_array(data, dims, fill, adjustable, et).into_value())
}

/// The fill pointer a :FILL-POINTER argument asks for.
fn fill_of(
    ctx: &mut Ctx,
    fill_pointer: Option<&Value>,
    total: usize,
    rank: usize,
) -> R<Option<usize>> {
    let fill = match fill_pointer {
        None | Some(Value::Nil) => None,
        Some(v) if v.eq(&Value::t()) => Some(total),
        Some(v) => {
            let f = index(ctx, v)?;
            if f > total {
                return Err(cond::simple_error(
                    ctx,
                    format!("fill pointer {} is larger than the array size {}", f, total),
                ));
            }
            Some(f)
        }
    };
    if fill.is_some() && rank != 1 {
        return Err(cond::simple_error(
            ctx,
            "only vectors can have fill pointers".into(),
        ));
    }
    Ok(fill)
}

fn new_array(
    data: ArrayData,
    dims: Vec<usize>,
    fill: Option<usize>,
    adjustable: bool,
    et: ElemType,
) -> Array {
    Array {
        data: RefCell::new(data),
        dims: if dims.len() == 1 {
            None
        } else {
            Some(dims.into_boxed_slice())
        },
        fill: Cell::new(fill),
        adjustable,
        elt: et,
        displaced: RefCell::new(None),
    }
}

/// Check a :DISPLACED-TO target for an array of TOTAL elements of type ET
/// that starts at OFFSET (a value, or NIL for 0) in it; returns the target
/// and the offset. SELF is the array being adjusted, if any, which the
/// target must not lead back to.
fn displacement_target(
    ctx: &mut Ctx,
    to: &Value,
    offset: Option<&Value>,
    total: usize,
    et: ElemType,
    this: Option<&Array>,
) -> R<(Gc<Array>, usize)> {
    let target = array(ctx, to)?;
    let off = match offset {
        None | Some(Value::Nil) => 0,
        Some(v) => index(ctx, v)?,
    };
    if target.elt != et {
        return Err(cond::simple_error(
            ctx,
            format!(
                "can't displace an array of element type {} to {}, whose element type is {}",
                et.spec(),
                crate::printer::prin1_string(to),
                target.elt.spec()
            ),
        ));
    }
    let room = target.total_size();
    if off.checked_add(total).is_none_or(|end| end > room) {
        return Err(cond::simple_error(
            ctx,
            format!(
                "a displaced array of {} elements at offset {} does not fit in {}, which has {}",
                total,
                off,
                crate::printer::prin1_string(to),
                room
            ),
        ));
    }
    if this.is_some_and(|me| target.reaches(me)) {
        return Err(cond::simple_error(
            ctx,
            format!(
                "can't displace an array to {}: it is, or is displaced to, the array itself",
                crate::printer::prin1_string(to)
            ),
        ));
    }
    Ok((target, off))
}

crate::defbuiltins! {
    /// Create an array with DIMENSIONS.
    fn MAKE_ARRAY "MAKE-ARRAY" "(dimensions &key (element-type t) initial-element initial-contents adjustable fill-pointer displaced-to displaced-index-offset)" (ctx, a) {
        let dims = dims_of(ctx, &a[0])?;
        let et = match opt(a, 1) { Some(t) => upgraded_element_type(t), None => ElemType::T };
        check_dims(ctx, &dims, et)?;
        if let Some(to) = opt(a, 6).filter(|v| v.truthy()) {
            if opt(a, 2).is_some() || opt(a, 3).is_some() {
                return Err(cond::simple_error(ctx, "MAKE-ARRAY: :DISPLACED-TO can't be given with :INITIAL-ELEMENT or :INITIAL-CONTENTS".into()));
            }
            let total: usize = dims.iter().product();
            let (target, off) = displacement_target(ctx, to, opt(a, 7), total, et, None)?;
            let fill = fill_of(ctx, opt(a, 5), total, dims.len())?;
            let arr = new_array(ArrayData::new(et, 0, &Value::Nil), dims, fill, super::flag(a, 4), et);
            arr.displace(target, off, total);
            return Ok(arr.into_value());
        } else if opt(a, 7).is_some_and(|v| v.truthy()) {
            return Err(cond::simple_error(ctx, "MAKE-ARRAY: :DISPLACED-INDEX-OFFSET without :DISPLACED-TO".into()));
        }
        make_array(ctx, dims, et, opt(a, 2), opt(a, 3), super::flag(a, 4), opt(a, 5))
    }
    /// A simple general vector of OBJECTS.
    fn VECTOR "VECTOR" "(&rest objects)" (ctx, a) { Ok(Array::general(a.to_vec())) }
    /// The element of ARRAY at SUBSCRIPTS.
    fn AREF "AREF" "(array &rest subscripts)" (ctx, a) {
        let arr = array(ctx, &a[0])?;
        if arr.is_vector() && a.len() == 2 && !arr.is_displaced() {
            if let Value::Fixnum(i) = a[1] {
                if i >= 0 && (i as usize) < arr.total_size() {
                    return Ok(arr.get(i as usize));
                }
            }
        }
        let i = row_major(ctx, &arr, &a[1..], &a[0])?;
        Ok(arr.get(i))
    }
    /// Store into ARRAY at SUBSCRIPTS.
    fn SETF_AREF "NETLISP-SYSTEM:SETF-AREF" "(new-value array &rest subscripts)" (ctx, a) {
        let arr = array(ctx, &a[1])?;
        let i = row_major(ctx, &arr, &a[2..], &a[1])?;
        store(ctx, &arr, i, &a[0])?;
        Ok(a[0].clone())
    }
    /// The element at INDEX of a simple vector.
    fn SVREF "SVREF" "(simple-vector index)" (ctx, a) {
        let arr = vector(ctx, &a[0])?;
        let i = row_major(ctx, &arr, &a[1..2], &a[0])?;
        Ok(arr.get(i))
    }
    /// Store into a simple vector.
    fn SETF_SVREF "NETLISP-SYSTEM:SETF-SVREF" "(new-value simple-vector index)" (ctx, a) {
        let arr = vector(ctx, &a[1])?;
        let i = row_major(ctx, &arr, &a[2..3], &a[1])?;
        store(ctx, &arr, i, &a[0])?;
        Ok(a[0].clone())
    }
    /// The element at row-major INDEX.
    fn ROW_MAJOR_AREF "ROW-MAJOR-AREF" "(array index)" (ctx, a) {
        let arr = array(ctx, &a[0])?;
        let i = index(ctx, &a[1])?;
        if i >= arr.total_size() { return Err(cond::index_error(ctx, a[1].clone(), arr.total_size(), &a[0])); }
        Ok(arr.get(i))
    }
    /// Store at row-major INDEX.
    fn SETF_ROW_MAJOR_AREF "NETLISP-SYSTEM:SETF-ROW-MAJOR-AREF" "(new-value array index)" (ctx, a) {
        let arr = array(ctx, &a[1])?;
        let i = index(ctx, &a[2])?;
        if i >= arr.total_size() { return Err(cond::index_error(ctx, a[2].clone(), arr.total_size(), &a[1])); }
        store(ctx, &arr, i, &a[0])?;
        Ok(a[0].clone())
    }
    /// The row-major index of SUBSCRIPTS.
    fn ARRAY_ROW_MAJOR_INDEX "ARRAY-ROW-MAJOR-INDEX" "(array &rest subscripts)" (ctx, a) {
        let arr = array(ctx, &a[0])?;
        Ok(Value::int(row_major(ctx, &arr, &a[1..], &a[0])? as i64))
    }
    /// Whether SUBSCRIPTS are valid for ARRAY.
    fn ARRAY_IN_BOUNDS_P "ARRAY-IN-BOUNDS-P" "(array &rest subscripts)" (ctx, a) {
        let arr = array(ctx, &a[0])?;
        let dims = arr.dimensions();
        Ok(Value::bool(a.len() - 1 == dims.len() && a[1..].iter().zip(&dims).all(|(s, d)| matches!(s, Value::Fixnum(n) if *n >= 0 && (*n as usize) < *d))))
    }
    /// Dimension AXIS of ARRAY.
    fn ARRAY_DIMENSION "ARRAY-DIMENSION" "(array axis-number)" (ctx, a) {
        let arr = array(ctx, &a[0])?;
        let k = index(ctx, &a[1])?;
        match arr.dimensions().get(k) {
            Some(d) => Ok(Value::int(*d as i64)),
            None => Err(cond::simple_error(ctx, format!("axis {} is out of range for array of rank {}", k, arr.rank()))),
        }
    }
    /// The dimensions of ARRAY.
    fn ARRAY_DIMENSIONS "ARRAY-DIMENSIONS" "(array)" (ctx, a) {
        Ok(list_from(array(ctx, &a[0])?.dimensions().iter().map(|d| Value::int(*d as i64))))
    }
    /// The rank of ARRAY.
    fn ARRAY_RANK "ARRAY-RANK" "(array)" (ctx, a) { Ok(Value::int(array(ctx, &a[0])?.rank() as i64)) }
    /// The number of elements of ARRAY.
    fn ARRAY_TOTAL_SIZE "ARRAY-TOTAL-SIZE" "(array)" (ctx, a) { Ok(Value::int(array(ctx, &a[0])?.total_size() as i64)) }
    /// The element type of ARRAY.
    fn ARRAY_ELEMENT_TYPE "ARRAY-ELEMENT-TYPE" "(array)" (ctx, a) {
        Ok(crate::reader::read_type_spec(array(ctx, &a[0])?.elt.spec()))
    }
    /// The storage type an element type upgrades to.
    fn UPGRADED_ARRAY_ELEMENT_TYPE "UPGRADED-ARRAY-ELEMENT-TYPE" "(typespec &optional environment)" (ctx, a) {
        Ok(crate::reader::read_type_spec(upgraded_element_type(&a[0]).spec()))
    }
    /// Whether OBJECT is an array.
    fn ARRAYP "ARRAYP" "(object)" (ctx, a) { Ok(Value::bool(matches!(a[0], Value::Array(_)))) }
    /// Whether OBJECT is a vector.
    fn VECTORP "VECTORP" "(object)" (ctx, a) { Ok(Value::bool(matches!(&a[0], Value::Array(x) if x.is_vector()))) }
    /// Whether OBJECT is a simple general vector.
    fn SIMPLE_VECTOR_P "SIMPLE-VECTOR-P" "(object)" (ctx, a) { Ok(Value::bool(matches!(&a[0], Value::Array(x) if x.is_vector() && x.is_simple() && x.elt == ElemType::T))) }
    /// Whether OBJECT is a bit vector.
    fn BIT_VECTOR_P "BIT-VECTOR-P" "(object)" (ctx, a) { Ok(Value::bool(matches!(&a[0], Value::Array(x) if x.is_bit_vector()))) }
    /// Whether OBJECT is a simple bit vector.
    fn SIMPLE_BIT_VECTOR_P "SIMPLE-BIT-VECTOR-P" "(object)" (ctx, a) { Ok(Value::bool(matches!(&a[0], Value::Array(x) if x.is_bit_vector() && x.is_simple()))) }
    /// Whether ARRAY has a fill pointer.
    fn ARRAY_HAS_FILL_POINTER_P "ARRAY-HAS-FILL-POINTER-P" "(array)" (ctx, a) { Ok(Value::bool(array(ctx, &a[0])?.fill.get().is_some())) }
    /// Whether ARRAY is adjustable.
    fn ADJUSTABLE_ARRAY_P "ADJUSTABLE-ARRAY-P" "(array)" (ctx, a) { Ok(Value::bool(actually_adjustable(&array(ctx, &a[0])?.clone()))) }
    /// The fill pointer of VECTOR.
    fn FILL_POINTER "FILL-POINTER" "(vector)" (ctx, a) {
        match vector(ctx, &a[0])?.fill.get() {
            Some(f) => Ok(Value::int(f as i64)),
            None => Err(cond::type_error(ctx, a[0].clone(), "(AND VECTOR (SATISFIES ARRAY-HAS-FILL-POINTER-P))")),
        }
    }
    /// Set the fill pointer of VECTOR.
    fn SETF_FILL_POINTER "NETLISP-SYSTEM:SETF-FILL-POINTER" "(new-value vector)" (ctx, a) {
        let v = vector(ctx, &a[1])?;
        let n = index(ctx, &a[0])?;
        if v.fill.get().is_none() || n > v.total_size() {
            return Err(cond::simple_error(ctx, format!("can't set the fill pointer of {} to {}", crate::printer::prin1_string(&a[1]), n)));
        }
        v.fill.set(Some(n));
        Ok(a[0].clone())
    }
    /// Store NEW-ELEMENT at the fill pointer and advance it; NIL if full.
    fn VECTOR_PUSH "VECTOR-PUSH" "(new-element vector)" (ctx, a) {
        let v = vector(ctx, &a[1])?;
        let Some(f) = v.fill.get() else { return Err(cond::type_error(ctx, a[1].clone(), "(AND VECTOR (SATISFIES ARRAY-HAS-FILL-POINTER-P))")); };
        if f >= v.total_size() { return Ok(Value::Nil); }
        store(ctx, &v, f, &a[0])?;
        v.fill.set(Some(f + 1));
        Ok(Value::int(f as i64))
    }
    /// Like VECTOR-PUSH, growing the vector when full.
    fn VECTOR_PUSH_EXTEND "VECTOR-PUSH-EXTEND" "(new-element vector &optional min-extension)" (ctx, a) {
        let v = vector(ctx, &a[1])?;
        let Some(f) = v.fill.get() else { return Err(cond::type_error(ctx, a[1].clone(), "(AND VECTOR (SATISFIES ARRAY-HAS-FILL-POINTER-P))")); };
        if !v.elt.accepts(&a[0]) {
            return Err(cond::type_error(ctx, a[0].clone(), v.elt.spec()));
        }
        if f >= v.total_size() {
            // Growing gives a displaced vector storage of its own.
            v.undisplace();
            let mut d = v.data_mut();
            let ext = match opt(a, 2) { Some(Value::Fixnum(n)) if *n > 0 => *n as usize, _ => 0 };
            let newlen = (d.len() * 2).max(f + ext.max(1)).max(16);
            let fillv = v.elt.default_value();
            d.resize(newlen, &fillv);
        }
        v.set(f, a[0].clone());
        v.fill.set(Some(f + 1));
        Ok(Value::int(f as i64))
    }
    /// Remove and return the element before the fill pointer.
    fn VECTOR_POP "VECTOR-POP" "(vector)" (ctx, a) {
        let v = vector(ctx, &a[0])?;
        match v.fill.get() {
            Some(f) if f > 0 => { v.fill.set(Some(f - 1)); Ok(v.get(f - 1)) }
            Some(_) => Err(cond::simple_error(ctx, "There is nothing left to pop.".into())),
            None => Err(cond::type_error(ctx, a[0].clone(), "(AND VECTOR (SATISFIES ARRAY-HAS-FILL-POINTER-P))")),
        }
    }
    /// Change the dimensions, contents or displacement of ARRAY: in place
    /// if it is actually adjustable (adjustable, with a fill pointer, or
    /// displaced, as in SBCL) and a vector, else in a new array.
    fn ADJUST_ARRAY "ADJUST-ARRAY" "(array new-dimensions &key element-type initial-element initial-contents fill-pointer displaced-to displaced-index-offset)" (ctx, a) {
        adjust_array(ctx, a)
    }
    /// The array ARRAY is displaced to and the offset, or NIL and 0.
    fn ARRAY_DISPLACEMENT "ARRAY-DISPLACEMENT" "(array)" [mv] (ctx, a) {
        match array(ctx, &a[0])?.displacement() {
            Some((to, off)) => Ok(ctx.values2(Value::Array(to), Value::int(off as i64))),
            None => Ok(ctx.values2(Value::Nil, Value::int(0))),
        }
    }
    /// The bit at SUBSCRIPTS of a bit array.
    fn BIT "BIT" "(bit-array &rest subscripts)" (ctx, a) {
        let arr = array(ctx, &a[0])?;
        let i = row_major(ctx, &arr, &a[1..], &a[0])?;
        Ok(arr.get(i))
    }
    /// The bit at SUBSCRIPTS of a simple bit array.
    fn SBIT "SBIT" "(bit-array &rest subscripts)" (ctx, a) {
        let arr = array(ctx, &a[0])?;
        let i = row_major(ctx, &arr, &a[1..], &a[0])?;
        Ok(arr.get(i))
    }
    /// Bitwise AND of bit arrays.
    fn BIT_AND "BIT-AND" "(bit-array1 bit-array2 &optional opt-arg)" (ctx, a) { bitop(ctx, a, |x, y| x & y) }
    /// Bitwise inclusive OR of bit arrays.
    fn BIT_IOR "BIT-IOR" "(bit-array1 bit-array2 &optional opt-arg)" (ctx, a) { bitop(ctx, a, |x, y| x | y) }
    /// Bitwise exclusive OR of bit arrays.
    fn BIT_XOR "BIT-XOR" "(bit-array1 bit-array2 &optional opt-arg)" (ctx, a) { bitop(ctx, a, |x, y| x ^ y) }
    /// Bitwise equivalence (complement of XOR) of bit arrays.
    fn BIT_EQV "BIT-EQV" "(bit-array1 bit-array2 &optional opt-arg)" (ctx, a) { bitop(ctx, a, |x, y| 1 ^ (x ^ y)) }
    /// Complement of the bitwise AND of bit arrays.
    fn BIT_NAND "BIT-NAND" "(bit-array1 bit-array2 &optional opt-arg)" (ctx, a) { bitop(ctx, a, |x, y| 1 ^ (x & y)) }
    /// Complement of the bitwise OR of bit arrays.
    fn BIT_NOR "BIT-NOR" "(bit-array1 bit-array2 &optional opt-arg)" (ctx, a) { bitop(ctx, a, |x, y| 1 ^ (x | y)) }
    /// AND of the complement of BIT-ARRAY1 with BIT-ARRAY2.
    fn BIT_ANDC1 "BIT-ANDC1" "(bit-array1 bit-array2 &optional opt-arg)" (ctx, a) { bitop(ctx, a, |x, y| (1 ^ x) & y) }
    /// AND of BIT-ARRAY1 with the complement of BIT-ARRAY2.
    fn BIT_ANDC2 "BIT-ANDC2" "(bit-array1 bit-array2 &optional opt-arg)" (ctx, a) { bitop(ctx, a, |x, y| x & (1 ^ y)) }
    /// OR of the complement of BIT-ARRAY1 with BIT-ARRAY2.
    fn BIT_ORC1 "BIT-ORC1" "(bit-array1 bit-array2 &optional opt-arg)" (ctx, a) { bitop(ctx, a, |x, y| (1 ^ x) | y) }
    /// OR of BIT-ARRAY1 with the complement of BIT-ARRAY2.
    fn BIT_ORC2 "BIT-ORC2" "(bit-array1 bit-array2 &optional opt-arg)" (ctx, a) { bitop(ctx, a, |x, y| x | (1 ^ y)) }
    /// Bitwise complement of a bit array (into OPT-ARG: T for BIT-ARRAY
    /// itself, or a bit array of the same dimensions).
    fn BIT_NOT "BIT-NOT" "(bit-array &optional opt-arg)" (ctx, a) {
        let x = bit_array(ctx, &a[0])?;
        let out = bit_result(ctx, &x, &a[0], opt(a, 1))?;
        let bits: Vec<u8> = bits_of(&x).into_iter().map(|b| 1 ^ b).collect();
        store_bits(&out, &bits);
        Ok(Value::Array(out))
    }
}

/// Whether ADJUST-ARRAY changes ARR itself: made :ADJUSTABLE, or with a
/// fill pointer or displaced (SBCL's non-simple arrays).
fn actually_adjustable(arr: &Array) -> bool {
    arr.adjustable || arr.fill.get().is_some() || arr.is_displaced()
}

/// The fill pointer ADJUST-ARRAY leaves: the :FILL-POINTER argument, else
/// the old one, which must fit in the new size.
fn adjusted_fill(
    ctx: &mut Ctx,
    arr: &Array,
    whole: &Value,
    fp: Option<&Value>,
    total: usize,
) -> R<Option<usize>> {
    match fp {
        None | Some(Value::Nil) => match arr.fill.get() {
            Some(f) if f > total => Err(cond::simple_error(
                ctx,
                format!(
                    "can't adjust {} to a size ({}) smaller than its fill pointer ({})",
                    crate::printer::prin1_string(whole),
                    total,
                    f
                ),
            )),
            f => Ok(f),
        },
        Some(_) if arr.fill.get().is_none() => Err(cond::type_error(
            ctx,
            whole.clone(),
            "(AND VECTOR (SATISFIES ARRAY-HAS-FILL-POINTER-P))",
        )),
        fp => fill_of(ctx, fp, total, 1),
    }
}

/// ADJUST-ARRAY (array new-dimensions &key element-type initial-element
/// initial-contents fill-pointer displaced-to displaced-index-offset).
fn adjust_array(ctx: &mut Ctx, a: &[Value]) -> R {
    let arr = array(ctx, &a[0])?;
    let dims = dims_of(ctx, &a[1])?;
    if dims.len() != arr.rank() {
        return Err(cond::simple_error(
            ctx,
            format!(
                "ADJUST-ARRAY: {} new dimensions for an array of rank {}",
                dims.len(),
                arr.rank()
            ),
        ));
    }
    if let Some(t) = opt(a, 2) {
        if upgraded_element_type(t) != arr.elt {
            return Err(cond::simple_error(
                ctx,
                format!(
                    "ADJUST-ARRAY: the new element type {} is incompatible with the old one, {}",
                    crate::printer::prin1_string(t),
                    arr.elt.spec()
                ),
            ));
        }
    }
    check_dims(ctx, &dims, arr.elt)?;
    let total: usize = dims.iter().product();
    let fill = adjusted_fill(ctx, &arr, &a[0], opt(a, 5), total)?;
    let in_place = actually_adjustable(&arr) && arr.is_vector();
    if let Some(to) = opt(a, 6).filter(|v| v.truthy()) {
        if opt(a, 3).is_some() || opt(a, 4).is_some() {
            return Err(cond::simple_error(ctx, "ADJUST-ARRAY: :DISPLACED-TO can't be given with :INITIAL-ELEMENT or :INITIAL-CONTENTS".into()));
        }
        let (target, off) = displacement_target(
            ctx,
            to,
            opt(a, 7),
            total,
            arr.elt,
            in_place.then_some(&*arr),
        )?;
        if in_place {
            arr.displace(target, off, total);
            arr.fill.set(fill);
            return Ok(a[0].clone());
        }
        let fresh = new_array(
            ArrayData::new(arr.elt, 0, &Value::Nil),
            dims,
            fill,
            arr.adjustable,
            arr.elt,
        );
        fresh.displace(target, off, total);
        return Ok(fresh.into_value());
    }
    // New storage: the initial contents, or the old elements where the
    // new dimensions cover them and the initial element elsewhere.
    let data = if let Some(c) = opt(a, 4) {
        match make_array(ctx, dims.clone(), arr.elt, None, Some(c), false, None)? {
            Value::Array(n) => n.copy_data(),
            _ => unreachable!("make_array makes arrays"),
        }
    } else {
        let init = match opt(a, 3) {
            Some(v) if !arr.elt.accepts(v) => {
                return Err(cond::type_error(ctx, v.clone(), arr.elt.spec()))
            }
            Some(v) => v.clone(),
            None => arr.elt.default_value(),
        };
        let mut data = ArrayData::new(arr.elt, total, &init);
        let old_dims = arr.dimensions();
        let rank = dims.len();
        let mut idx = vec![0usize; rank];
        // Walk the part both shapes share, in row-major order.
        if total > 0 && old_dims.iter().all(|d| *d > 0) {
            'outer: loop {
                let (mut oi, mut ni) = (0, 0);
                for k in 0..rank {
                    oi = oi * old_dims[k] + idx[k];
                    ni = ni * dims[k] + idx[k];
                }
                data.set(ni, arr.get(oi));
                let mut k = rank;
                loop {
                    if k == 0 {
                        break 'outer;
                    }
                    k -= 1;
                    idx[k] += 1;
                    if idx[k] < dims[k].min(old_dims[k]) {
                        break;
                    }
                    idx[k] = 0;
                }
            }
        }
        data
    };
    if in_place {
        *arr.displaced.borrow_mut() = None;
        *arr.data_mut() = data;
        arr.fill.set(fill);
        return Ok(a[0].clone());
    }
    Ok(new_array(data, dims, fill, arr.adjustable, arr.elt).into_value())
}

/// A bit array argument (any rank), else a TYPE-ERROR.
fn bit_array(ctx: &mut Ctx, v: &Value) -> R<Gc<Array>> {
    match v {
        Value::Array(x) if x.elt == ElemType::Bit => Ok(x.clone()),
        _ => Err(cond::type_error(ctx, v.clone(), "(ARRAY BIT)")),
    }
}

/// Every bit of a bit array, row-major.
fn bits_of(x: &Array) -> Vec<u8> {
    (0..x.total_size())
        .map(|i| x.get(i).as_fixnum().unwrap_or(0) as u8)
        .collect()
}

fn store_bits(out: &Array, bits: &[u8]) {
    for (i, b) in bits.iter().enumerate() {
        out.set(i, Value::Fixnum(*b as i64));
    }
}

/// Where a bit function's result goes: a fresh array shaped like `x`
/// (OPT-ARG NIL or absent), `x` itself (T), or OPT-ARG, a bit array of
/// the same dimensions.
fn bit_result(ctx: &mut Ctx, x: &Gc<Array>, xv: &Value, opt_arg: Option<&Value>) -> R<Gc<Array>> {
    match opt_arg {
        None | Some(Value::Nil) => {
            let n = x.total_size();
            let mut fresh = Array::vector(ArrayData::U8(vec![0; n]), ElemType::Bit);
            if x.dims.is_some() {
                fresh.dims = x.dims.clone();
            }
            Ok(Gc::new(fresh))
        }
        Some(Value::Symbol(t)) if Gc::ptr_eq(t, &crate::world::w().s.t) => Ok(x.clone()),
        Some(v) => {
            let out = bit_array(ctx, v)?;
            same_dimensions(ctx, x, xv, &out, v)?;
            Ok(out)
        }
    }
}

fn same_dimensions(ctx: &mut Ctx, x: &Array, xv: &Value, y: &Array, yv: &Value) -> R<()> {
    if x.dimensions() == y.dimensions() {
        return Ok(());
    }
    Err(cond::simple_error(
        ctx,
        format!(
            "the bit arrays {} and {} do not have the same dimensions",
            crate::printer::prin1_string(xv),
            crate::printer::prin1_string(yv)
        ),
    ))
}

fn bitop(ctx: &mut Ctx, a: &[Value], f: fn(u8, u8) -> u8) -> R {
    let x = bit_array(ctx, &a[0])?;
    let y = bit_array(ctx, &a[1])?;
    same_dimensions(ctx, &x, &a[0], &y, &a[1])?;
    let out = bit_result(ctx, &x, &a[0], opt(a, 2))?;
    let bits: Vec<u8> = bits_of(&x)
        .into_iter()
        .zip(bits_of(&y))
        .map(|(p, q)| f(p, q))
        .collect();
    store_bits(&out, &bits);
    Ok(Value::Array(out))
}

/// SETF functions defined here.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    vec![
        ("AREF", &SETF_AREF),
        ("SVREF", &SETF_SVREF),
        ("ROW-MAJOR-AREF", &SETF_ROW_MAJOR_AREF),
        ("FILL-POINTER", &SETF_FILL_POINTER),
        ("BIT", &SETF_AREF),
        ("SBIT", &SETF_AREF),
    ]
}
