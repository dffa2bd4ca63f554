//! Arrays: vectors, strings, octet and bit vectors, multi-dimensional
//! arrays. Element storage is specialised so strings and octet vectors
//! are compact and move to sockets without per-element work.

use crate::gc::{Gc, Trace, Tracer};
use crate::value::Value;
use std::cell::{Cell, Ref, RefCell, RefMut};

/// The element type an array was created with (after upgrading).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemType {
    /// Any object.
    T,
    /// Characters.
    Character,
    /// Base characters (stored like characters).
    BaseChar,
    /// Bits.
    Bit,
    /// Octets.
    U8,
    /// Signed octets.
    I8,
    /// (unsigned-byte 16)
    U16,
    /// (signed-byte 16)
    I16,
    /// (unsigned-byte 32)
    U32,
    /// (signed-byte 32)
    I32,
    /// (unsigned-byte 64)
    U64,
    /// (signed-byte 64)
    I64,
    /// Fixnums.
    Fixnum,
    /// Single floats.
    Single,
    /// Double floats.
    Double,
}

impl ElemType {
    /// The type specifier text.
    pub fn spec(&self) -> &'static str {
        match self {
            ElemType::T => "T",
            ElemType::Character => "CHARACTER",
            ElemType::BaseChar => "BASE-CHAR",
            ElemType::Bit => "BIT",
            ElemType::U8 => "(UNSIGNED-BYTE 8)",
            ElemType::I8 => "(SIGNED-BYTE 8)",
            ElemType::U16 => "(UNSIGNED-BYTE 16)",
            ElemType::I16 => "(SIGNED-BYTE 16)",
            ElemType::U32 => "(UNSIGNED-BYTE 32)",
            ElemType::I32 => "(SIGNED-BYTE 32)",
            ElemType::U64 => "(UNSIGNED-BYTE 64)",
            ElemType::I64 => "(SIGNED-BYTE 64)",
            ElemType::Fixnum => "FIXNUM",
            ElemType::Single => "SINGLE-FLOAT",
            ElemType::Double => "DOUBLE-FLOAT",
        }
    }

    /// Whether `v` may be stored in an array of this element type.
    pub fn accepts(&self, v: &Value) -> bool {
        let int_in = |lo: i128, hi: i128| match v {
            Value::Fixnum(n) => (*n as i128) >= lo && (*n as i128) <= hi,
            Value::Bignum(b) => {
                use num_traits::ToPrimitive;
                b.to_i128().is_some_and(|n| n >= lo && n <= hi)
            }
            _ => false,
        };
        match self {
            ElemType::T => true,
            ElemType::Character | ElemType::BaseChar => matches!(v, Value::Char(_)),
            ElemType::Bit => int_in(0, 1),
            ElemType::U8 => int_in(0, 255),
            ElemType::I8 => int_in(-128, 127),
            ElemType::U16 => int_in(0, 65535),
            ElemType::I16 => int_in(-32768, 32767),
            ElemType::U32 => int_in(0, u32::MAX as i128),
            ElemType::I32 => int_in(i32::MIN as i128, i32::MAX as i128),
            ElemType::U64 => int_in(0, u64::MAX as i128),
            ElemType::I64 => int_in(i64::MIN as i128, i64::MAX as i128),
            ElemType::Fixnum => matches!(v, Value::Fixnum(_)),
            ElemType::Single => matches!(v, Value::Single(_)),
            ElemType::Double => matches!(v, Value::Double(_)),
        }
    }

    /// The initial element used when none is given (SBCL fills general
    /// arrays with 0 as well).
    pub fn default_value(&self) -> Value {
        match self {
            ElemType::Character | ElemType::BaseChar => Value::Char('\0'),
            ElemType::Single => Value::Single(0.0),
            ElemType::Double => Value::Double(0.0),
            _ => Value::Fixnum(0),
        }
    }
}

/// Element storage.
#[derive(Clone)]
pub enum ArrayData {
    /// General objects (also used for numeric types without their own
    /// storage).
    T(Vec<Value>),
    /// Characters.
    Char(Vec<char>),
    /// Octets (also bits, 0 or 1 per byte).
    U8(Vec<u8>),
    /// Signed octets.
    I8(Vec<i8>),
}

impl ArrayData {
    /// Number of stored elements.
    pub fn len(&self) -> usize {
        match self {
            ArrayData::T(v) => v.len(),
            ArrayData::Char(v) => v.len(),
            ArrayData::U8(v) => v.len(),
            ArrayData::I8(v) => v.len(),
        }
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` as a value.
    #[inline]
    pub fn get(&self, i: usize) -> Value {
        match self {
            ArrayData::T(v) => v[i].clone(),
            ArrayData::Char(v) => Value::Char(v[i]),
            ArrayData::U8(v) => Value::Fixnum(v[i] as i64),
            ArrayData::I8(v) => Value::Fixnum(v[i] as i64),
        }
    }

    /// Store element `i` (the value was checked by the caller).
    #[inline]
    pub fn set(&mut self, i: usize, val: Value) {
        match self {
            ArrayData::T(v) => v[i] = val,
            ArrayData::Char(v) => {
                if let Value::Char(c) = val {
                    v[i] = c
                }
            }
            ArrayData::U8(v) => {
                if let Value::Fixnum(n) = val {
                    v[i] = n as u8
                }
            }
            ArrayData::I8(v) => {
                if let Value::Fixnum(n) = val {
                    v[i] = n as i8
                }
            }
        }
    }

    /// Append an element.
    pub fn push(&mut self, val: Value) {
        match self {
            ArrayData::T(v) => v.push(val),
            ArrayData::Char(v) => v.push(if let Value::Char(c) = val { c } else { '\0' }),
            ArrayData::U8(v) => v.push(if let Value::Fixnum(n) = val {
                n as u8
            } else {
                0
            }),
            ArrayData::I8(v) => v.push(if let Value::Fixnum(n) = val {
                n as i8
            } else {
                0
            }),
        }
    }

    /// Resize, filling with `fill`.
    pub fn resize(&mut self, n: usize, fill: &Value) {
        match self {
            ArrayData::T(v) => v.resize(n, fill.clone()),
            ArrayData::Char(v) => v.resize(n, if let Value::Char(c) = fill { *c } else { '\0' }),
            ArrayData::U8(v) => v.resize(
                n,
                if let Value::Fixnum(x) = fill {
                    *x as u8
                } else {
                    0
                },
            ),
            ArrayData::I8(v) => v.resize(
                n,
                if let Value::Fixnum(x) = fill {
                    *x as i8
                } else {
                    0
                },
            ),
        }
    }

    /// Fresh storage for `n` elements of type `et`.
    pub fn new(et: ElemType, n: usize, init: &Value) -> ArrayData {
        match et {
            ElemType::Character | ElemType::BaseChar => {
                ArrayData::Char(vec![if let Value::Char(c) = init { *c } else { '\0' }; n])
            }
            ElemType::U8 | ElemType::Bit => ArrayData::U8(vec![
                if let Value::Fixnum(x) = init {
                    *x as u8
                } else {
                    0
                };
                n
            ]),
            ElemType::I8 => ArrayData::I8(vec![
                if let Value::Fixnum(x) = init {
                    *x as i8
                } else {
                    0
                };
                n
            ]),
            _ => ArrayData::T(vec![init.clone(); n]),
        }
    }
}

/// An array.
pub struct Array {
    /// Elements, row-major (empty, of the right kind, while displaced).
    pub data: RefCell<ArrayData>,
    /// Dimensions of arrays whose rank is not 1.
    pub dims: Option<Box<[usize]>>,
    /// Fill pointer (vectors only).
    pub fill: Cell<Option<usize>>,
    /// Created :adjustable.
    pub adjustable: bool,
    /// Element type.
    pub elt: ElemType,
    /// Where the elements live if the array is displaced (MAKE-ARRAY or
    /// ADJUST-ARRAY :DISPLACED-TO): its element `i` is element
    /// `offset + i` of `to`, so writes through either are seen by both.
    pub displaced: RefCell<Option<Displaced>>,
}

/// The target of a displaced array.
#[derive(Clone)]
pub struct Displaced {
    /// The array whose storage is shared.
    pub to: Gc<Array>,
    /// The index in `to` of this array's element 0.
    pub offset: usize,
    /// This array's total size.
    pub size: usize,
}

impl Array {
    /// A simple vector of the given data and type.
    pub fn vector(data: ArrayData, elt: ElemType) -> Array {
        Array {
            data: RefCell::new(data),
            dims: None,
            fill: Cell::new(None),
            adjustable: false,
            elt,
            displaced: RefCell::new(None),
        }
    }

    /// Wrap as a value.
    pub fn into_value(self) -> Value {
        Value::Array(Gc::new(self))
    }

    /// A new simple string.
    pub fn string(s: &str) -> Value {
        Array::vector(ArrayData::Char(s.chars().collect()), ElemType::Character).into_value()
    }

    /// A new simple string from characters.
    pub fn string_from_chars(c: Vec<char>) -> Value {
        Array::vector(ArrayData::Char(c), ElemType::Character).into_value()
    }

    /// A new simple general vector.
    pub fn general(v: Vec<Value>) -> Value {
        Array::vector(ArrayData::T(v), ElemType::T).into_value()
    }

    /// A new octet vector.
    pub fn octets(v: Vec<u8>) -> Value {
        Array::vector(ArrayData::U8(v), ElemType::U8).into_value()
    }

    /// Whether this is a string.
    pub fn is_string(&self) -> bool {
        self.dims.is_none() && matches!(self.elt, ElemType::Character | ElemType::BaseChar)
    }

    /// Whether this is a vector (rank 1).
    pub fn is_vector(&self) -> bool {
        self.dims.is_none()
    }

    /// Whether this is a bit vector.
    pub fn is_bit_vector(&self) -> bool {
        self.dims.is_none() && self.elt == ElemType::Bit
    }

    /// Whether the array is simple (no fill pointer, not adjustable, not
    /// displaced).
    pub fn is_simple(&self) -> bool {
        !self.adjustable && self.fill.get().is_none() && !self.is_displaced()
    }

    /// Whether the array is displaced to another.
    #[inline]
    pub fn is_displaced(&self) -> bool {
        self.displaced.borrow().is_some()
    }

    /// The displacement target and offset, if displaced.
    pub fn displacement(&self) -> Option<(Gc<Array>, usize)> {
        self.displaced
            .borrow()
            .as_ref()
            .map(|d| (d.to.clone(), d.offset))
    }

    /// Active length: the fill pointer, or the total size.
    #[inline]
    pub fn len(&self) -> usize {
        match self.fill.get() {
            Some(f) => f,
            None => self.total_size(),
        }
    }

    /// Whether the active length is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total number of elements.
    #[inline]
    pub fn total_size(&self) -> usize {
        match &*self.displaced.borrow() {
            Some(d) => d.size,
            None => self.data.borrow().len(),
        }
    }

    /// Dimensions.
    pub fn dimensions(&self) -> Vec<usize> {
        match &self.dims {
            Some(d) => d.to_vec(),
            None => vec![self.total_size()],
        }
    }

    /// Rank.
    pub fn rank(&self) -> usize {
        match &self.dims {
            Some(d) => d.len(),
            None => 1,
        }
    }

    /// Element at a row-major index (no bounds check against fill).
    #[inline]
    pub fn get(&self, i: usize) -> Value {
        if !self.is_displaced() {
            return self.data.borrow().get(i);
        }
        self.with_data(|d, off| d.get(off + i))
    }

    /// Store element `i` (the value was checked by the caller).
    #[inline]
    pub fn set(&self, i: usize, val: Value) {
        self.with_data_mut(|d, off| d.set(off + i, val))
    }

    /// Whether the storage still holds all of this array's elements: false
    /// only for a displaced array whose target was adjusted to fewer.
    pub fn fits(&self) -> bool {
        match self.storage_root() {
            None => true,
            Some((root, off)) => self.held_by(&root, off),
        }
    }

    /// Whether `root`'s storage from `off` on holds all of this array.
    fn held_by(&self, root: &Array, off: usize) -> bool {
        off + self.total_size() <= root.data.borrow().len()
    }

    /// For a displaced array whose target no longer holds it: a copy of
    /// the elements still there, with the default value for the rest. The
    /// standard leaves this case undefined; netlisp's accessors signal an
    /// error for it (see `fits`), and whatever reads or writes the whole
    /// array works on this copy instead of past the target's end.
    fn salvage(&self, root: &Array, off: usize) -> ArrayData {
        let size = self.total_size();
        let mut own = ArrayData::new(self.elt, size, &self.elt.default_value());
        let d = root.data.borrow();
        for i in 0..size.min(d.len().saturating_sub(off)) {
            own.set(i, d.get(off + i));
        }
        own
    }

    /// Borrow the array's own storage. Only for arrays known not to be
    /// displaced (fresh ones); others go through [`Array::with_data`].
    pub fn data(&self) -> Ref<'_, ArrayData> {
        self.data.borrow()
    }

    /// Borrow the array's own storage mutably (see [`Array::data`]).
    pub fn data_mut(&self) -> RefMut<'_, ArrayData> {
        self.data.borrow_mut()
    }

    /// The array at the end of this one's chain of displacements and the
    /// index there of this array's element 0, if it is displaced.
    fn storage_root(&self) -> Option<(Gc<Array>, usize)> {
        let (mut to, mut off) = self.displacement()?;
        loop {
            let next = to.displacement();
            match next {
                Some((t, o)) => {
                    to = t;
                    off += o;
                }
                None => return Some((to, off)),
            }
        }
    }

    /// Call `f` with the storage that holds this array's elements and the
    /// index there of element 0: the array's own storage and 0, or, for a
    /// displaced array, the storage at the end of its chain of targets.
    #[inline]
    pub fn with_data<T>(&self, f: impl FnOnce(&ArrayData, usize) -> T) -> T {
        match self.storage_root() {
            None => f(&self.data.borrow(), 0),
            Some((root, off)) if !self.held_by(&root, off) => f(&self.salvage(&root, off), 0),
            Some((root, off)) => f(&root.data.borrow(), off),
        }
    }

    /// [`Array::with_data`] with the storage borrowed mutably.
    #[inline]
    pub fn with_data_mut<T>(&self, f: impl FnOnce(&mut ArrayData, usize) -> T) -> T {
        match self.storage_root() {
            None => f(&mut self.data.borrow_mut(), 0),
            Some((root, off)) if !self.held_by(&root, off) => f(&mut self.salvage(&root, off), 0),
            Some((root, off)) => f(&mut root.data.borrow_mut(), off),
        }
    }

    /// Share the storage of `to` from `offset` on, for `size` elements
    /// (the caller checked that they fit and that `to` does not lead back
    /// here).
    pub fn displace(&self, to: Gc<Array>, offset: usize, size: usize) {
        let empty = ArrayData::new(self.elt, 0, &Value::Nil);
        *self.data.borrow_mut() = empty;
        *self.displaced.borrow_mut() = Some(Displaced { to, offset, size });
    }

    /// Stop sharing: copy the elements into the array's own storage.
    pub fn undisplace(&self) {
        if self.is_displaced() {
            let own = self.copy_data();
            *self.displaced.borrow_mut() = None;
            *self.data.borrow_mut() = own;
        }
    }

    /// Whether this array is `other` or displaced, directly or through a
    /// chain, to it (displacing `other` to this array would make a loop).
    pub fn reaches(&self, other: &Array) -> bool {
        if std::ptr::eq(self, other) {
            return true;
        }
        match &*self.displaced.borrow() {
            Some(d) => d.to.reaches(other),
            None => false,
        }
    }

    /// A copy of the elements as fresh (undisplaced) storage.
    pub fn copy_data(&self) -> ArrayData {
        let n = self.total_size();
        self.with_data(|d, off| match d {
            ArrayData::T(v) => ArrayData::T(v[off..off + n].to_vec()),
            ArrayData::Char(v) => ArrayData::Char(v[off..off + n].to_vec()),
            ArrayData::U8(v) => ArrayData::U8(v[off..off + n].to_vec()),
            ArrayData::I8(v) => ArrayData::I8(v[off..off + n].to_vec()),
        })
    }

    /// The active characters of a string.
    pub fn chars(&self) -> Vec<char> {
        let n = self.len();
        self.with_data(|d, off| match d {
            ArrayData::Char(v) => v[off..off + n].to_vec(),
            _ => Vec::new(),
        })
    }

    /// The active contents of a string as a Rust string.
    pub fn to_rust_string(&self) -> String {
        let n = self.len();
        self.with_data(|d, off| match d {
            ArrayData::Char(v) => v[off..off + n].iter().collect(),
            _ => String::new(),
        })
    }

    /// The active elements as values.
    pub fn to_vec(&self) -> Vec<Value> {
        let n = self.len();
        self.with_data(|d, off| (off..off + n).map(|i| d.get(i)).collect())
    }
}

unsafe impl Trace for Array {
    fn trace(&self, t: &mut Tracer) {
        match self.displaced.try_borrow() {
            Ok(d) => {
                if let Some(d) = &*d {
                    t.gc(&d.to);
                }
            }
            Err(_) => t.fail(),
        }
        match self.data.try_borrow() {
            Ok(d) => {
                if let ArrayData::T(v) = &*d {
                    for x in v {
                        x.trace(t);
                    }
                }
            }
            Err(_) => t.fail(),
        }
    }
    fn clear(&self) {
        if let Ok(mut d) = self.displaced.try_borrow_mut() {
            *d = None;
        }
        if let Ok(mut d) = self.data.try_borrow_mut() {
            if let ArrayData::T(v) = &mut *d {
                v.clear();
            }
        }
    }
    fn is_tracked(&self) -> bool {
        // Whether the array may hold references: general storage, or a
        // target (a displaced array can be part of a cycle through it).
        matches!(&*self.data.borrow(), ArrayData::T(_)) || self.is_displaced()
    }
}

/// The contents of a string value.
pub fn string_of(v: &Value) -> Option<String> {
    match v {
        Value::Array(a) if a.is_string() => Some(a.to_rust_string()),
        _ => None,
    }
}

/// EQUAL on arrays: strings and bit vectors by contents, others by identity.
pub fn equal_arrays(a: &Gc<Array>, b: &Gc<Array>) -> bool {
    if Gc::ptr_eq(a, b) {
        return true;
    }
    if a.is_string() && b.is_string() {
        return a.len() == b.len() && a.chars() == b.chars();
    }
    if a.is_bit_vector() && b.is_bit_vector() {
        return a
            .to_vec()
            .iter()
            .zip(b.to_vec().iter())
            .all(|(x, y)| x.eq(y))
            && a.len() == b.len();
    }
    false
}

/// EQUALP on arrays: same dimensions and EQUALP elements.
pub fn equalp_arrays(a: &Gc<Array>, b: &Gc<Array>) -> bool {
    if Gc::ptr_eq(a, b) {
        return true;
    }
    if a.rank() != b.rank() {
        return false;
    }
    if a.is_vector() {
        if a.len() != b.len() {
            return false;
        }
    } else if a.dimensions() != b.dimensions() {
        return false;
    }
    let (x, y) = (a.to_vec(), b.to_vec());
    x.iter().zip(y.iter()).all(|(p, q)| p.equalp(q))
}
