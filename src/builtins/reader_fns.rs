//! Reader functions: READ, READ-FROM-STRING, and the readtable (case
//! conversion is supported; reader macro characters are not
//! user-definable).

use super::{in_stream, opt, opt_nil};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::reader::stream::{read_from, EofSpec};
use crate::reader::{Reader, Span};
use crate::value::Value;
use crate::world::keyword;
use std::cell::Cell;

thread_local! {
    static CASE: Cell<char> = const { Cell::new('u') };
}

/// The readtable case as a letter: u(pcase) d(owncase) p(reserve) i(nvert).
pub fn readtable_case() -> char {
    CASE.with(|c| c.get())
}

/// The readtable object (one per interpreter).
pub struct Readtable;

impl crate::foreign::ForeignObj for Readtable {
    fn type_name(&self) -> &'static str {
        "READTABLE"
    }
    fn holds_values(&self) -> bool {
        false
    }
    fn class(&self) -> Option<crate::gc::Gc<crate::clos::Class>> {
        Some(crate::clos::cl_class("READTABLE"))
    }
}

fn eof_spec(a: &[Value], i: usize) -> EofSpec {
    EofSpec {
        error: opt(a, i).is_none_or(|v| v.truthy()),
        value: opt_nil(a, i + 1),
    }
}

crate::defbuiltins! {
    /// Read an object from STREAM.
    fn READ "READ" "(&optional stream (eof-error-p t) eof-value recursive-p)" (ctx, a) {
        let s = in_stream(ctx, a, 0)?;
        read_from(ctx, &s, &eof_spec(a, 1), false)
    }
    /// Read an object, leaving the whitespace after it.
    fn READ_PRESERVING_WHITESPACE "READ-PRESERVING-WHITESPACE" "(&optional stream (eof-error-p t) eof-value recursive-p)" (ctx, a) {
        let s = in_stream(ctx, a, 0)?;
        read_from(ctx, &s, &eof_spec(a, 1), true)
    }
    /// Read an object from STRING; second value: the index after it.
    fn READ_FROM_STRING "READ-FROM-STRING" "(string &optional (eof-error-p t) eof-value &key (start 0) end preserve-whitespace)" [mv] (ctx, a) {
        let chars = super::string(ctx, &a[0])?.chars();
        let start = super::opt_index(ctx, a, 3)?.unwrap_or(0);
        let end = super::opt_index(ctx, a, 4)?.unwrap_or(chars.len()).min(chars.len());
        let text: String = chars[start.min(end)..end].iter().collect();
        let r = {
            let mut rd = Reader::new(ctx, 0, false);
            rd.read(Span::new(&text)).map(|(rest, v)| (v, rest.location_offset()))
        };
        match r {
            Ok((Some(v), off)) if !matches!(v, Value::Unbound) => {
                let mut n = text[..off].chars().count();
                if !super::flag(a, 5) && text[off..].starts_with(crate::reader::is_whitespace_str) { n += 1; }
                Ok(ctx.values2(v, Value::int((start + n) as i64)))
            }
            Ok((_, off)) => {
                let n = text[..off].chars().count();
                if eof_spec(a, 1).error {
                    let sv = crate::stream::make_string_input(&chars, start, end);
                    Err(cond::end_of_file(ctx, sv))
                } else {
                    Ok(ctx.values2(opt_nil(a, 2), Value::int((start + n) as i64)))
                }
            }
            Err(crate::reader::ReadError::Incomplete(..)) => {
                let sv = crate::stream::make_string_input(&chars, start, end);
                Err(cond::end_of_file(ctx, sv))
            }
            Err(e) => Err(crate::reader::error_to_exit(ctx, e, Value::Nil)),
        }
    }
    /// Read objects until CHAR; return them as a list.
    fn READ_DELIMITED_LIST "READ-DELIMITED-LIST" "(char &optional stream recursive-p)" (ctx, a) {
        let end = super::character(ctx, &a[0])?;
        let s = in_stream(ctx, a, 1)?;
        let mut out = vec![];
        loop {
            let c = loop {
                match crate::stream::read_char(ctx, &s)? {
                    Some(c) if c.is_whitespace() => continue,
                    Some(c) => break c,
                    None => return Err(cond::end_of_file(ctx, Value::Stream(s.clone()))),
                }
            };
            if c == end { return Ok(crate::value::list_from(out)); }
            crate::stream::unread_char(ctx, &s, c)?;
            out.push(read_from(ctx, &s, &EofSpec { error: true, value: Value::Nil }, false)?);
        }
    }
    /// The readtable's case mode (:UPCASE :DOWNCASE :PRESERVE :INVERT).
    fn READTABLE_CASE "READTABLE-CASE" "(readtable)" (ctx, a) {
        Ok(keyword(match readtable_case() { 'd' => "DOWNCASE", 'p' => "PRESERVE", 'i' => "INVERT", _ => "UPCASE" }))
    }
    /// Set the readtable's case mode.
    fn SETF_READTABLE_CASE "NETLISP-SYSTEM:SETF-READTABLE-CASE" "(new-value readtable)" (ctx, a) {
        let c = match &a[0] { Value::Symbol(s) => match s.name() { "UPCASE" => 'u', "DOWNCASE" => 'd', "PRESERVE" => 'p', "INVERT" => 'i', _ => return Err(cond::type_error(ctx, a[0].clone(), "(MEMBER :UPCASE :DOWNCASE :PRESERVE :INVERT)")) }, other => return Err(cond::type_error(ctx, other.clone(), "(MEMBER :UPCASE :DOWNCASE :PRESERVE :INVERT)")) };
        CASE.with(|x| x.set(c));
        Ok(a[0].clone())
    }
    /// Whether OBJECT is a readtable.
    fn READTABLEP "READTABLEP" "(object)" (ctx, a) { Ok(Value::bool(crate::foreign::get::<Readtable>(&a[0]).is_some())) }
    /// The readtable (netlisp has one).
    fn COPY_READTABLE "COPY-READTABLE" "(&optional from-readtable to-readtable)" (ctx, a) {
        Ok(crate::world::w().s.readtable.value())
    }
    /// Accepted for compatibility; reader macro characters cannot be redefined.
    fn SET_MACRO_CHARACTER "SET-MACRO-CHARACTER" "(char new-function &optional non-terminating-p readtable)" (ctx, a) {
        Err(cond::simple_error(ctx, "netlisp does not support user-defined reader macro characters".into()))
    }
    /// The reader macro function of CHAR (always NIL in netlisp).
    fn GET_MACRO_CHARACTER "GET-MACRO-CHARACTER" "(char &optional readtable)" [mv] (ctx, a) {
        Ok(ctx.values2(Value::Nil, Value::Nil))
    }
    /// Accepted for compatibility; dispatch macro characters cannot be redefined.
    fn SET_DISPATCH_MACRO_CHARACTER "SET-DISPATCH-MACRO-CHARACTER" "(disp-char sub-char new-function &optional readtable)" (ctx, a) {
        Err(cond::simple_error(ctx, "netlisp does not support user-defined dispatch macro characters".into()))
    }
    /// Accepted for compatibility (no effect).
    fn SET_SYNTAX_FROM_CHAR "SET-SYNTAX-FROM-CHAR" "(to-char from-char &optional to-readtable from-readtable)" (ctx, a) { Ok(Value::t()) }
    /// Accepted for compatibility (no effect).
    fn MAKE_DISPATCH_MACRO_CHARACTER "MAKE-DISPATCH-MACRO-CHARACTER" "(char &optional non-terminating-p readtable)" (ctx, a) { Ok(Value::t()) }
}

/// SETF functions defined here.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    vec![("READTABLE-CASE", &SETF_READTABLE_CASE)]
}

#[allow(dead_code)]
fn _ctx(_: &mut Ctx) {}
