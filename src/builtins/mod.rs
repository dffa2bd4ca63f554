//! The builtin library, one module per area, and the typed argument
//! getters every builtin uses so that bad arguments produce uniform
//! TYPE-ERRORs.

pub mod arrays;
pub mod chars;
pub mod clos;
pub mod conditions;
pub mod control;
pub mod files;
pub mod hash;
pub mod irrational;
pub mod lists;
pub mod loop_macro;
pub mod macros;
pub mod numbers;
pub mod packages;
pub mod reader_fns;
pub mod sequences;
pub mod setf;
pub mod streams;
pub mod strings;
pub mod structs;
pub mod symbols;
pub mod system;
pub mod trace;
pub mod types;

use crate::array::Array;
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::function::{Builtin, Function, Kind};
use crate::gc::Gc;
use crate::stream::Stream;
use crate::symbol::{self, Symbol};
use crate::value::Value;
use crate::world::{intern_exported, symbol_of, w};

/// Every builtin table, for registration and documentation.
pub fn tables() -> Vec<&'static [&'static Builtin]> {
    vec![
        control::BUILTINS,
        macros::BUILTINS,
        setf::BUILTINS,
        numbers::BUILTINS,
        irrational::BUILTINS,
        lists::BUILTINS,
        lists::CXR_BUILTINS,
        sequences::BUILTINS,
        symbols::BUILTINS,
        packages::BUILTINS,
        chars::BUILTINS,
        strings::BUILTINS,
        arrays::BUILTINS,
        hash::BUILTINS,
        streams::BUILTINS,
        reader_fns::BUILTINS,
        conditions::BUILTINS,
        structs::BUILTINS,
        clos::BUILTINS,
        files::BUILTINS,
        system::BUILTINS,
        trace::BUILTINS,
        types::BUILTINS,
        loop_macro::BUILTINS,
        crate::mp::builtins::BUILTINS,
        crate::comm::connect::BUILTINS,
        crate::comm::server::BUILTINS,
        crate::comm::sockets::BUILTINS,
        crate::comm::streams::BUILTINS,
        crate::comm::address::BUILTINS,
        crate::comm::inspect::BUILTINS,
        crate::comm::udp::BUILTINS,
        crate::comm::async_io::BUILTINS,
        crate::comm::unix::BUILTINS,
        crate::comm::tls::BUILTINS,
        crate::comm::tls::refusals::BUILTINS,
    ]
}

/// The (place name, setter) pairs of the builtin SETF functions.
pub fn setters() -> Vec<(&'static str, &'static Builtin)> {
    let mut v = lists::setters();
    v.extend(symbols::setters());
    v.extend(strings::setters());
    v.extend(arrays::setters());
    v.extend(hash::setters());
    v.extend(sequences::setters());
    v.extend(reader_fns::setters());
    v.extend(clos::setters());
    v.extend(crate::mp::builtins::setters());
    v.extend(crate::comm::setters());
    v
}

/// Define every builtin in its package.
pub fn install() {
    let wd = w();
    for table in tables() {
        for b in table {
            let (pkg, name) = b.split_name();
            let p = wd.ensure_package(pkg);
            let s = if b.is_internal() {
                crate::world::intern(name, &p).0
            } else {
                intern_exported(name, &p)
            };
            match b.kind {
                Kind::Function => {
                    s.set_function(Function::builtin(b));
                    if pkg == "COMMON-LISP" {
                        s.set_flag(symbol::LOCKED);
                    }
                }
                Kind::Macro => s.set_macro(Function::builtin(b)),
                Kind::SpecialForm => {}
            }
        }
    }
}

/// Every builtin with its symbol, for documentation and completion.
pub fn all() -> Vec<&'static Builtin> {
    tables()
        .into_iter()
        .flat_map(|t| t.iter().copied())
        .collect()
}

/// The symbol naming a builtin.
pub fn builtin_symbol(b: &'static Builtin) -> Value {
    let (pkg, name) = b.split_name();
    match w().find_package(pkg) {
        Some(p) if b.is_internal() => crate::symbol::sym_value(&crate::world::intern(name, &p).0),
        Some(p) => crate::symbol::sym_value(&intern_exported(name, &p)),
        None => crate::array::Array::string(name),
    }
}

/// The function object of a builtin (its symbol's function).
pub fn builtin_function(b: &'static Builtin) -> Value {
    match builtin_symbol(b) {
        Value::Symbol(s) => match s.function() {
            Value::Function(f) => Value::Function(f),
            _ => Function::builtin(b),
        },
        _ => Function::builtin(b),
    }
}

/// Find the builtin definition behind a symbol, if any.
pub fn builtin_of(s: &Gc<Symbol>) -> Option<&'static Builtin> {
    match s.function() {
        Value::Function(f) => match &f.kind {
            crate::function::FnKind::Builtin(b) => Some(*b),
            _ => None,
        },
        _ => {
            let home = s.package()?.name();
            all().into_iter().find(|b| {
                let (p, n) = b.split_name();
                n == s.name() && *p == *home
            })
        }
    }
}

// ---------------------------------------------------------------------
// Argument getters

/// Argument `i` if supplied (absent optionals and keys are None).
#[inline]
pub fn opt(a: &[Value], i: usize) -> Option<&Value> {
    match a.get(i) {
        None | Some(Value::Unbound) => None,
        Some(v) => Some(v),
    }
}

/// Argument `i`, or NIL if not supplied.
#[inline]
pub fn opt_nil(a: &[Value], i: usize) -> Value {
    opt(a, i).cloned().unwrap_or(Value::Nil)
}

/// Argument `i` as a generalized boolean, false if not supplied.
#[inline]
pub fn flag(a: &[Value], i: usize) -> bool {
    opt(a, i).is_some_and(|v| v.truthy())
}

/// A fixnum.
pub fn fixnum(ctx: &mut Ctx, v: &Value) -> R<i64> {
    match v {
        Value::Fixnum(n) => Ok(*n),
        other => Err(cond::type_error(ctx, other.clone(), "FIXNUM")),
    }
}

/// An integer that fits in i64.
pub fn int(ctx: &mut Ctx, v: &Value) -> R<i64> {
    match v {
        Value::Fixnum(n) => Ok(*n),
        Value::Bignum(b) => {
            use num_traits::ToPrimitive;
            b.to_i64()
                .ok_or_else(|| cond::type_error(ctx, v.clone(), "(SIGNED-BYTE 64)"))
        }
        other => Err(cond::type_error(ctx, other.clone(), "INTEGER")),
    }
}

/// A non-negative index.
pub fn index(ctx: &mut Ctx, v: &Value) -> R<usize> {
    match v {
        Value::Fixnum(n) if *n >= 0 => Ok(*n as usize),
        other => Err(cond::type_error(
            ctx,
            other.clone(),
            "(INTEGER 0 4611686018427387903)",
        )),
    }
}

/// A radix argument: an integer from 2 to 36 (else a TYPE-ERROR).
pub fn radix(ctx: &mut Ctx, v: &Value) -> R<u32> {
    match v {
        Value::Fixnum(n) if (2..=36).contains(n) => Ok(*n as u32),
        _ => Err(cond::type_error(ctx, v.clone(), "(INTEGER 2 36)")),
    }
}

/// An optional non-negative index (NIL or absent gives None).
pub fn opt_index(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Option<usize>> {
    match opt(a, i) {
        None | Some(Value::Nil) => Ok(None),
        Some(v) => index(ctx, v).map(Some),
    }
}

/// A real number (checked).
pub fn real(ctx: &mut Ctx, v: &Value) -> R<Value> {
    if v.is_real() {
        Ok(v.clone())
    } else {
        Err(cond::type_error(ctx, v.clone(), "REAL"))
    }
}

/// A number (checked).
pub fn number(ctx: &mut Ctx, v: &Value) -> R<Value> {
    if v.is_number() {
        Ok(v.clone())
    } else {
        Err(cond::type_error(ctx, v.clone(), "NUMBER"))
    }
}

/// A real as f64.
pub fn f64_of(ctx: &mut Ctx, v: &Value) -> R<f64> {
    crate::number::to_f64(v).ok_or_else(|| cond::type_error(ctx, v.clone(), "REAL"))
}

/// A character.
pub fn character(ctx: &mut Ctx, v: &Value) -> R<char> {
    match v {
        Value::Char(c) => Ok(*c),
        other => Err(cond::type_error(ctx, other.clone(), "CHARACTER")),
    }
}

/// A symbol (NIL included).
pub fn symbol(ctx: &mut Ctx, v: &Value) -> R<Gc<Symbol>> {
    symbol_of(v).ok_or_else(|| cond::type_error(ctx, v.clone(), "SYMBOL"))
}

/// A string object.
pub fn string(ctx: &mut Ctx, v: &Value) -> R<Gc<Array>> {
    match v {
        Value::Array(a) if a.is_string() => Ok(a.clone()),
        other => Err(cond::type_error(ctx, other.clone(), "STRING")),
    }
}

/// The text of a string.
pub fn string_text(ctx: &mut Ctx, v: &Value) -> R<String> {
    Ok(string(ctx, v)?.to_rust_string())
}

/// A string designator: a string, symbol or character.
pub fn string_designator(ctx: &mut Ctx, v: &Value) -> R<String> {
    match v {
        Value::Array(a) if a.is_string() => Ok(a.to_rust_string()),
        Value::Symbol(s) => Ok(s.name().to_string()),
        Value::Nil => Ok("NIL".into()),
        Value::Char(c) => Ok(c.to_string()),
        other => Err(cond::type_error(
            ctx,
            other.clone(),
            "(OR STRING SYMBOL CHARACTER)",
        )),
    }
}

/// A list (a cons or NIL).
pub fn list(ctx: &mut Ctx, v: &Value) -> R<Value> {
    if v.is_list() {
        Ok(v.clone())
    } else {
        Err(cond::type_error(ctx, v.clone(), "LIST"))
    }
}

/// The elements of a proper list.
pub fn list_items(ctx: &mut Ctx, v: &Value) -> R<Vec<Value>> {
    let mut it = v.iter();
    let items: Vec<Value> = it.by_ref().collect();
    if !it.tail().is_nil() {
        return Err(cond::type_error(ctx, v.clone(), "LIST"));
    }
    Ok(items)
}

/// A function designator, resolved to a callable value.
pub fn function(ctx: &mut Ctx, v: &Value) -> R<Value> {
    match v {
        Value::Function(_) => Ok(v.clone()),
        Value::Symbol(_) | Value::Nil => Ok(v.clone()),
        other => Err(cond::type_error(ctx, other.clone(), "(OR FUNCTION SYMBOL)")),
    }
}

/// An optional function designator (NIL or absent: None).
pub fn opt_function(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Option<Value>> {
    match opt(a, i) {
        None | Some(Value::Nil) => Ok(None),
        Some(v) => function(ctx, v).map(Some),
    }
}

/// A hash table.
pub fn hash_table(ctx: &mut Ctx, v: &Value) -> R<Gc<crate::hashtable::HashTable>> {
    match v {
        Value::HashTable(h) => Ok(h.clone()),
        other => Err(cond::type_error(ctx, other.clone(), "HASH-TABLE")),
    }
}

/// A stream object.
pub fn stream(ctx: &mut Ctx, v: &Value) -> R<Gc<Stream>> {
    match v {
        Value::Stream(s) => Ok(s.clone()),
        other => Err(cond::type_error(ctx, other.clone(), "STREAM")),
    }
}

/// An output stream designator argument (absent or NIL: *STANDARD-OUTPUT*).
pub fn out_stream(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Gc<Stream>> {
    crate::stream::output_designator(ctx, opt(a, i).unwrap_or(&Value::Nil))
}

/// An input stream designator argument (absent or NIL: *STANDARD-INPUT*).
pub fn in_stream(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Gc<Stream>> {
    crate::stream::input_designator(ctx, opt(a, i).unwrap_or(&Value::Nil))
}

/// A package designator, resolved.
pub fn package(ctx: &mut Ctx, v: &Value) -> R<std::rc::Rc<crate::package::Package>> {
    match v {
        Value::Package(p) => Ok(p.clone()),
        other => {
            let name = string_designator(ctx, other)?;
            match crate::reader::find_or_autoload_package(ctx, &name)? {
                Some(p) => Ok(p),
                None => Err(cond::package_error(
                    ctx,
                    other.clone(),
                    format!(
                        "The name {} does not designate any package.",
                        crate::printer::prin1_string(other)
                    ),
                )),
            }
        }
    }
}

/// A string value.
pub fn str_value(s: &str) -> Value {
    crate::array::Array::string(s)
}

/// The most bytes one object may ask for: the machine's physical memory.
/// A larger request (from input, or a bad argument) cannot succeed, and
/// trying would end the process instead of signalling.
fn alloc_limit() -> usize {
    static LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let (pages, size) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if pages > 0 && size > 0 {
            (pages as usize).saturating_mul(size as usize)
        } else {
            1 << 40
        }
    })
}

/// Check that COUNT elements of ELEM_BYTES bytes each can be allocated;
/// otherwise signal a STORAGE-CONDITION naming the size (as SBCL does
/// when its heap is exhausted) instead of aborting the process.
pub fn check_alloc(ctx: &mut Ctx, what: &str, count: usize, elem_bytes: usize) -> R<()> {
    let bytes = count.checked_mul(elem_bytes.max(1));
    let limit = alloc_limit();
    match bytes {
        Some(b) if b <= limit => Ok(()),
        _ => {
            let class = crate::conditions::condition_class("SIMPLE-STORAGE-CONDITION");
            let msg = format!(
                "cannot allocate {} of {} elements: more than this machine's {} bytes of memory",
                what, count, limit
            );
            let c = crate::conditions::make_condition(
                &class,
                &[
                    (
                        crate::world::keyword("FORMAT-CONTROL"),
                        Array::string(&crate::conditions::escape_tildes(&msg)),
                    ),
                    (crate::world::keyword("FORMAT-ARGUMENTS"), Value::Nil),
                ],
            );
            Err(crate::conditions::error(ctx, c))
        }
    }
}
