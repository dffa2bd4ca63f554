//! Strings: construction, access, case conversion, trimming and
//! comparison with bounds.

use super::{character, index, opt, opt_index, string, string_designator};
use crate::array::{Array, ArrayData};
use crate::chars as ch;
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::value::Value;

fn designator_chars(ctx: &mut Ctx, v: &Value) -> R<Vec<char>> {
    match v {
        Value::Array(a) if a.is_string() => Ok(a.chars()),
        other => Ok(string_designator(ctx, other)?.chars().collect()),
    }
}

fn bounds(
    ctx: &mut Ctx,
    len: usize,
    start: Option<usize>,
    end: Option<usize>,
) -> R<(usize, usize)> {
    let s = start.unwrap_or(0);
    let e = end.unwrap_or(len);
    if s > e || e > len {
        return Err(cond::simple_error(
            ctx,
            format!(
                "The bounding indices {} and {} are bad for a sequence of length {}.",
                s, e, len
            ),
        ));
    }
    Ok((s, e))
}

/// Two strings as characters with their START1 END1 START2 END2 bounds.
type StringPair = (Vec<char>, Vec<char>, usize, usize, usize, usize);

fn compare(ctx: &mut Ctx, a: &[Value], fold: bool) -> R<StringPair> {
    let x = designator_chars(ctx, &a[0])?;
    let y = designator_chars(ctx, &a[1])?;
    let s1 = opt_index(ctx, a, 2)?;
    let e1 = opt_index(ctx, a, 3)?;
    let s2 = opt_index(ctx, a, 4)?;
    let e2 = opt_index(ctx, a, 5)?;
    let (s1, e1) = bounds(ctx, x.len(), s1, e1)?;
    let (s2, e2) = bounds(ctx, y.len(), s2, e2)?;
    let f = |c: char| if fold { ch::char_downcase(c) } else { c };
    Ok((
        x.into_iter().map(f).collect(),
        y.into_iter().map(f).collect(),
        s1,
        e1,
        s2,
        e2,
    ))
}

/// Compare with bounds: the index of the first mismatch in string 1 and
/// the ordering there.
fn mismatch(
    x: &[char],
    y: &[char],
    s1: usize,
    e1: usize,
    s2: usize,
    e2: usize,
) -> (usize, std::cmp::Ordering) {
    let mut i = s1;
    let mut j = s2;
    while i < e1 && j < e2 {
        if x[i] != y[j] {
            return (i, x[i].cmp(&y[j]));
        }
        i += 1;
        j += 1;
    }
    let o = (e1 - s1).cmp(&(e2 - s2));
    (i, o)
}

fn cmp_op(
    ctx: &mut Ctx,
    a: &[Value],
    fold: bool,
    ok: fn(std::cmp::Ordering) -> bool,
    eq_returns_t: bool,
) -> R {
    let (x, y, s1, e1, s2, e2) = compare(ctx, a, fold)?;
    let (i, o) = mismatch(&x, &y, s1, e1, s2, e2);
    if eq_returns_t {
        return Ok(Value::bool(o == std::cmp::Ordering::Equal));
    }
    Ok(if ok(o) {
        Value::int(i as i64)
    } else {
        Value::Nil
    })
}

fn case_convert(ctx: &mut Ctx, a: &[Value], f: fn(&[char]) -> Vec<char>, destructive: bool) -> R {
    let chars = designator_chars(ctx, &a[0])?;
    let s = opt_index(ctx, a, 1)?;
    let e = opt_index(ctx, a, 2)?;
    let (s, e) = bounds(ctx, chars.len(), s, e)?;
    let mut out = chars.clone();
    let conv = f(&chars[s..e]);
    out.splice(s..e, conv);
    if destructive {
        if let Value::Array(arr) = &a[0] {
            arr.with_data_mut(|d, off| {
                if let ArrayData::Char(v) = d {
                    for (k, c) in out.iter().enumerate() {
                        v[off + k] = *c;
                    }
                }
            });
            return Ok(a[0].clone());
        }
    }
    Ok(Array::string_from_chars(out))
}

fn upcase(s: &[char]) -> Vec<char> {
    s.iter().map(|c| ch::char_upcase(*c)).collect()
}

fn downcase(s: &[char]) -> Vec<char> {
    s.iter().map(|c| ch::char_downcase(*c)).collect()
}

fn capitalize(s: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(s.len());
    let mut start = true;
    for c in s {
        if c.is_alphanumeric() {
            out.push(if start {
                ch::char_upcase(*c)
            } else {
                ch::char_downcase(*c)
            });
            start = false;
        } else {
            out.push(*c);
            start = true;
        }
    }
    out
}

fn trim(ctx: &mut Ctx, a: &[Value], left: bool, right: bool) -> R {
    let bag: Vec<char> = match &a[0] {
        Value::Array(arr) if arr.is_string() => arr.chars(),
        v => super::list_items(ctx, v)
            .map(|l| {
                l.iter()
                    .filter_map(|x| {
                        if let Value::Char(c) = x {
                            Some(*c)
                        } else {
                            None
                        }
                    })
                    .collect()
            })
            .or_else(|_| match v {
                Value::Array(arr) => Ok(arr
                    .to_vec()
                    .iter()
                    .filter_map(|x| {
                        if let Value::Char(c) = x {
                            Some(*c)
                        } else {
                            None
                        }
                    })
                    .collect()),
                _ => Err(cond::type_error(ctx, v.clone(), "SEQUENCE")),
            })?,
    };
    let s = designator_chars(ctx, &a[1])?;
    let mut i = 0;
    let mut j = s.len();
    if left {
        while i < j && bag.contains(&s[i]) {
            i += 1;
        }
    }
    if right {
        while j > i && bag.contains(&s[j - 1]) {
            j -= 1;
        }
    }
    Ok(Array::string_from_chars(s[i..j].to_vec()))
}

fn char_index(ctx: &mut Ctx, s: &Value, i: &Value) -> R<(crate::gc::Gc<Array>, usize)> {
    let arr = string(ctx, s)?;
    let k = index(ctx, i)?;
    if k >= arr.total_size() {
        return Err(cond::index_error(ctx, i.clone(), arr.total_size(), s));
    }
    Ok((arr, k))
}

crate::defbuiltins! {
    /// Whether OBJECT is a string.
    fn STRINGP "STRINGP" "(object)" (ctx, a) { Ok(Value::bool(a[0].is_string())) }
    /// Whether OBJECT is a simple string.
    fn SIMPLE_STRING_P "SIMPLE-STRING-P" "(object)" (ctx, a) { Ok(Value::bool(matches!(&a[0], Value::Array(x) if x.is_string() && x.is_simple()))) }
    /// The string designated by X (a string, symbol or character).
    fn STRING "STRING" "(x)" (ctx, a) {
        match &a[0] {
            v if v.is_string() => Ok(v.clone()),
            v => Ok(super::str_value(&string_designator(ctx, v)?)),
        }
    }
    /// A string of SIZE characters, each INITIAL-ELEMENT.
    fn MAKE_STRING "MAKE-STRING" "(size &key (initial-element #\\Nul) element-type)" (ctx, a) {
        let n = index(ctx, &a[0])?;
        super::check_alloc(ctx, "a string", n, std::mem::size_of::<char>())?;
        let c = match opt(a, 1) { Some(v) => character(ctx, v)?, None => '\0' };
        Ok(Array::string_from_chars(vec![c; n]))
    }
    /// The character at INDEX of STRING.
    fn CHAR "CHAR" "(string index)" (ctx, a) {
        let (arr, k) = char_index(ctx, &a[0], &a[1])?;
        Ok(arr.get(k))
    }
    /// The character at INDEX of a simple STRING.
    fn SCHAR "SCHAR" "(string index)" (ctx, a) {
        let (arr, k) = char_index(ctx, &a[0], &a[1])?;
        Ok(arr.get(k))
    }
    /// Store a character in a string.
    fn SETF_CHAR "NETLISP-SYSTEM:SETF-CHAR" "(new-value string index)" (ctx, a) {
        let c = character(ctx, &a[0])?;
        let (arr, k) = char_index(ctx, &a[1], &a[2])?;
        arr.set(k, Value::Char(c));
        Ok(a[0].clone())
    }
    /// A copy of STRING in upper case.
    fn STRING_UPCASE "STRING-UPCASE" "(string &key (start 0) end)" (ctx, a) { case_convert(ctx, a, upcase, false) }
    /// A copy of STRING in lower case.
    fn STRING_DOWNCASE "STRING-DOWNCASE" "(string &key (start 0) end)" (ctx, a) { case_convert(ctx, a, downcase, false) }
    /// A copy of STRING with each word capitalized.
    fn STRING_CAPITALIZE "STRING-CAPITALIZE" "(string &key (start 0) end)" (ctx, a) { case_convert(ctx, a, capitalize, false) }
    /// Upcase STRING in place.
    fn NSTRING_UPCASE "NSTRING-UPCASE" "(string &key (start 0) end)" (ctx, a) { case_convert(ctx, a, upcase, true) }
    /// Downcase STRING in place.
    fn NSTRING_DOWNCASE "NSTRING-DOWNCASE" "(string &key (start 0) end)" (ctx, a) { case_convert(ctx, a, downcase, true) }
    /// Capitalize STRING in place.
    fn NSTRING_CAPITALIZE "NSTRING-CAPITALIZE" "(string &key (start 0) end)" (ctx, a) { case_convert(ctx, a, capitalize, true) }
    /// STRING without leading and trailing characters in CHARACTER-BAG.
    fn STRING_TRIM "STRING-TRIM" "(character-bag string)" (ctx, a) { trim(ctx, a, true, true) }
    /// STRING without leading characters in CHARACTER-BAG.
    fn STRING_LEFT_TRIM "STRING-LEFT-TRIM" "(character-bag string)" (ctx, a) { trim(ctx, a, true, false) }
    /// STRING without trailing characters in CHARACTER-BAG.
    fn STRING_RIGHT_TRIM "STRING-RIGHT-TRIM" "(character-bag string)" (ctx, a) { trim(ctx, a, false, true) }
    /// Whether the strings are equal (case-sensitive).
    fn STRING_EQ "STRING=" "(string1 string2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) { cmp_op(ctx, a, false, |o| o.is_eq(), true) }
    /// Mismatch index if the strings differ.
    fn STRING_NE "STRING/=" "(string1 string2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) { cmp_op(ctx, a, false, |o| o.is_ne(), false) }
    /// Mismatch index if STRING1 is less.
    fn STRING_LT "STRING<" "(string1 string2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) { cmp_op(ctx, a, false, |o| o.is_lt(), false) }
    /// Mismatch index if STRING1 is greater.
    fn STRING_GT "STRING>" "(string1 string2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) { cmp_op(ctx, a, false, |o| o.is_gt(), false) }
    /// Mismatch index if STRING1 is not greater.
    fn STRING_LE "STRING<=" "(string1 string2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) { cmp_op(ctx, a, false, |o| o.is_le(), false) }
    /// Mismatch index if STRING1 is not less.
    fn STRING_GE "STRING>=" "(string1 string2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) { cmp_op(ctx, a, false, |o| o.is_ge(), false) }
    /// Whether the strings are equal ignoring case.
    fn STRING_EQUAL "STRING-EQUAL" "(string1 string2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) { cmp_op(ctx, a, true, |o| o.is_eq(), true) }
    /// STRING/= ignoring case.
    fn STRING_NOT_EQUAL "STRING-NOT-EQUAL" "(string1 string2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) { cmp_op(ctx, a, true, |o| o.is_ne(), false) }
    /// STRING< ignoring case.
    fn STRING_LESSP "STRING-LESSP" "(string1 string2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) { cmp_op(ctx, a, true, |o| o.is_lt(), false) }
    /// STRING> ignoring case.
    fn STRING_GREATERP "STRING-GREATERP" "(string1 string2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) { cmp_op(ctx, a, true, |o| o.is_gt(), false) }
    /// STRING<= ignoring case.
    fn STRING_NOT_GREATERP "STRING-NOT-GREATERP" "(string1 string2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) { cmp_op(ctx, a, true, |o| o.is_le(), false) }
    /// STRING>= ignoring case.
    fn STRING_NOT_LESSP "STRING-NOT-LESSP" "(string1 string2 &key (start1 0) end1 (start2 0) end2)" (ctx, a) { cmp_op(ctx, a, true, |o| o.is_ge(), false) }
}

/// SETF functions defined here.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    vec![("CHAR", &SETF_CHAR), ("SCHAR", &SETF_CHAR)]
}
