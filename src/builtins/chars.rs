//! Characters: codes, case, predicates and comparisons.

use super::{character, index, opt};
use crate::chars as ch;
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::value::Value;

fn chain(ctx: &mut Ctx, a: &[Value], key: fn(char) -> u32, ok: fn(u32, u32) -> bool) -> R {
    let mut cs = Vec::with_capacity(a.len());
    for v in a {
        cs.push(key(character(ctx, v)?));
    }
    Ok(Value::bool(cs.windows(2).all(|w| ok(w[0], w[1]))))
}

fn all_different(ctx: &mut Ctx, a: &[Value], key: fn(char) -> u32) -> R {
    let mut cs = Vec::with_capacity(a.len());
    for v in a {
        cs.push(key(character(ctx, v)?));
    }
    for i in 0..cs.len() {
        for j in i + 1..cs.len() {
            if cs[i] == cs[j] {
                return Ok(Value::Nil);
            }
        }
    }
    Ok(Value::t())
}

fn code(c: char) -> u32 {
    c as u32
}

fn fold(c: char) -> u32 {
    ch::char_downcase(c) as u32
}

crate::defbuiltins! {
    /// The code of CHARACTER.
    fn CHAR_CODE "CHAR-CODE" "(character)" (ctx, a) { Ok(Value::Fixnum(character(ctx, &a[0])? as i64)) }
    /// The code of CHARACTER (same as CHAR-CODE).
    fn CHAR_INT "CHAR-INT" "(character)" (ctx, a) { Ok(Value::Fixnum(character(ctx, &a[0])? as i64)) }
    /// The character with CODE, or NIL.
    fn CODE_CHAR "CODE-CHAR" "(code)" (ctx, a) {
        let n = index(ctx, &a[0])?;
        Ok(char::from_u32(n as u32).map(Value::Char).unwrap_or(Value::Nil))
    }
    /// The character designated by CHARACTER (a character, or a string or symbol of length one).
    fn CHARACTER "CHARACTER" "(character)" (ctx, a) {
        match &a[0] {
            Value::Char(c) => Ok(Value::Char(*c)),
            v => {
                let s = super::string_designator(ctx, v)?;
                let mut it = s.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => Ok(Value::Char(c)),
                    _ => Err(cond::type_error(ctx, v.clone(), "CHARACTER")),
                }
            }
        }
    }
    /// Whether OBJECT is a character.
    fn CHARACTERP "CHARACTERP" "(object)" (ctx, a) { Ok(Value::bool(matches!(a[0], Value::Char(_)))) }
    /// The name of CHARACTER (Space, Newline, ...), or NIL.
    fn CHAR_NAME "CHAR-NAME" "(character)" (ctx, a) {
        let c = character(ctx, &a[0])?;
        Ok(match ch::char_name(c) { Some(n) => super::str_value(&n), None => Value::Nil })
    }
    /// The character named NAME, or NIL.
    fn NAME_CHAR "NAME-CHAR" "(name)" (ctx, a) {
        let n = super::string_designator(ctx, &a[0])?;
        Ok(ch::name_char(&n).map(Value::Char).unwrap_or(Value::Nil))
    }
    /// CHARACTER in upper case.
    fn CHAR_UPCASE "CHAR-UPCASE" "(character)" (ctx, a) { Ok(Value::Char(ch::char_upcase(character(ctx, &a[0])?))) }
    /// CHARACTER in lower case.
    fn CHAR_DOWNCASE "CHAR-DOWNCASE" "(character)" (ctx, a) { Ok(Value::Char(ch::char_downcase(character(ctx, &a[0])?))) }
    /// Whether CHARACTER is upper case.
    fn UPPER_CASE_P "UPPER-CASE-P" "(character)" (ctx, a) { Ok(Value::bool(ch::is_upper(character(ctx, &a[0])?))) }
    /// Whether CHARACTER is lower case.
    fn LOWER_CASE_P "LOWER-CASE-P" "(character)" (ctx, a) { Ok(Value::bool(ch::is_lower(character(ctx, &a[0])?))) }
    /// Whether CHARACTER has case.
    fn BOTH_CASE_P "BOTH-CASE-P" "(character)" (ctx, a) { Ok(Value::bool(ch::both_case(character(ctx, &a[0])?))) }
    /// Whether CHARACTER is alphabetic.
    fn ALPHA_CHAR_P "ALPHA-CHAR-P" "(character)" (ctx, a) { Ok(Value::bool(ch::is_alpha(character(ctx, &a[0])?))) }
    /// Whether CHARACTER is alphabetic or a digit.
    fn ALPHANUMERICP "ALPHANUMERICP" "(character)" (ctx, a) { Ok(Value::bool(character(ctx, &a[0])?.is_alphanumeric())) }
    /// Whether CHARACTER is graphic (printing).
    fn GRAPHIC_CHAR_P "GRAPHIC-CHAR-P" "(character)" (ctx, a) { Ok(Value::bool(ch::is_graphic(character(ctx, &a[0])?))) }
    /// Whether CHARACTER is a standard character.
    fn STANDARD_CHAR_P "STANDARD-CHAR-P" "(character)" (ctx, a) { Ok(Value::bool(ch::is_standard(character(ctx, &a[0])?))) }
    /// The weight of CHARACTER as a digit in RADIX, or NIL.
    fn DIGIT_CHAR_P "DIGIT-CHAR-P" "(character &optional (radix 10))" (ctx, a) {
        let c = character(ctx, &a[0])?;
        let r = match opt(a, 1) { Some(v) => super::radix(ctx, v)?, None => 10 };
        Ok(c.to_digit(r).map(|d| Value::Fixnum(d as i64)).unwrap_or(Value::Nil))
    }
    /// The character of digit WEIGHT in RADIX, or NIL.
    fn DIGIT_CHAR "DIGIT-CHAR" "(weight &optional (radix 10))" (ctx, a) {
        let w = index(ctx, &a[0])? as u32;
        let r = match opt(a, 1) { Some(v) => super::radix(ctx, v)?, None => 10 };
        Ok(char::from_digit(w, r).map(|c| Value::Char(c.to_ascii_uppercase())).unwrap_or(Value::Nil))
    }
    /// True if all characters are the same.
    fn CHAR_EQ "CHAR=" "(character &rest more-characters)" (ctx, a) { chain(ctx, a, code, |x, y| x == y) }
    /// True if all characters are different.
    fn CHAR_NE "CHAR/=" "(character &rest more-characters)" (ctx, a) { all_different(ctx, a, code) }
    /// True if the characters increase.
    fn CHAR_LT "CHAR<" "(character &rest more-characters)" (ctx, a) { chain(ctx, a, code, |x, y| x < y) }
    /// True if the characters decrease.
    fn CHAR_GT "CHAR>" "(character &rest more-characters)" (ctx, a) { chain(ctx, a, code, |x, y| x > y) }
    /// True if the characters do not decrease.
    fn CHAR_LE "CHAR<=" "(character &rest more-characters)" (ctx, a) { chain(ctx, a, code, |x, y| x <= y) }
    /// True if the characters do not increase.
    fn CHAR_GE "CHAR>=" "(character &rest more-characters)" (ctx, a) { chain(ctx, a, code, |x, y| x >= y) }
    /// CHAR= ignoring case.
    fn CHAR_EQUAL "CHAR-EQUAL" "(character &rest more-characters)" (ctx, a) { chain(ctx, a, fold, |x, y| x == y) }
    /// CHAR/= ignoring case.
    fn CHAR_NOT_EQUAL "CHAR-NOT-EQUAL" "(character &rest more-characters)" (ctx, a) { all_different(ctx, a, fold) }
    /// CHAR< ignoring case.
    fn CHAR_LESSP "CHAR-LESSP" "(character &rest more-characters)" (ctx, a) { chain(ctx, a, fold, |x, y| x < y) }
    /// CHAR> ignoring case.
    fn CHAR_GREATERP "CHAR-GREATERP" "(character &rest more-characters)" (ctx, a) { chain(ctx, a, fold, |x, y| x > y) }
    /// CHAR<= ignoring case.
    fn CHAR_NOT_GREATERP "CHAR-NOT-GREATERP" "(character &rest more-characters)" (ctx, a) { chain(ctx, a, fold, |x, y| x <= y) }
    /// CHAR>= ignoring case.
    fn CHAR_NOT_LESSP "CHAR-NOT-LESSP" "(character &rest more-characters)" (ctx, a) { chain(ctx, a, fold, |x, y| x >= y) }
}
