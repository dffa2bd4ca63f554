//! Reader functions: READ, READ-FROM-STRING, and the readtable (case
//! conversion is supported; reader macro characters are not
//! user-definable).

use super::{character, in_stream, opt, opt_nil};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::reader::readtable::{self as rt, Case, MacroChar, Readtable};
use crate::reader::stream::{read_from, EofSpec};
use crate::reader::{Reader, Span};
use crate::value::Value;
use crate::world::keyword;

/// The readtable argument `i`: absent means the current one; NIL means the
/// standard readtable (a fresh copy, since it must not be modified).
fn readtable_arg(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Value> {
    match opt(a, i) {
        None => Ok(rt::current()),
        Some(Value::Nil) => Ok(rt::standard()),
        Some(v) if rt::get(v).is_some() => Ok(v.clone()),
        Some(v) => Err(cond::type_error(ctx, v.clone(), "READTABLE")),
    }
}

fn table(v: &Value) -> &Readtable {
    rt::get(v).expect("checked readtable")
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
            if c == end {
                // Under *READ-SUPPRESS* the list, like every object read, is NIL.
                if crate::world::w().s.read_suppress.value().truthy() { return Ok(Value::Nil); }
                return Ok(crate::value::list_from(out));
            }
            crate::stream::unread_char(ctx, &s, c)?;
            out.push(read_from(ctx, &s, &EofSpec { error: true, value: Value::Nil }, false)?);
        }
    }
    /// The readtable's case mode (:UPCASE :DOWNCASE :PRESERVE :INVERT).
    fn READTABLE_CASE "READTABLE-CASE" "(readtable)" (ctx, a) {
        let t = readtable_arg(ctx, a, 0)?;
        Ok(keyword(table(&t).case().name()))
    }
    /// Set the readtable's case mode.
    fn SETF_READTABLE_CASE "NETLISP-SYSTEM:SETF-READTABLE-CASE" "(new-value readtable)" (ctx, a) {
        let mode = match &a[0] { Value::Symbol(s) if s.home_is(&crate::world::w().keyword) => Case::from_name(s.name()), _ => None };
        let Some(mode) = mode else {
            return Err(cond::type_error(ctx, a[0].clone(), "(MEMBER :UPCASE :DOWNCASE :PRESERVE :INVERT)"));
        };
        let t = readtable_arg(ctx, a, 1)?;
        table(&t).set_case(mode);
        Ok(a[0].clone())
    }
    /// Whether OBJECT is a readtable.
    fn READTABLEP "READTABLEP" "(object)" (_ctx, a) { Ok(Value::bool(rt::get(&a[0]).is_some())) }
    /// A copy of FROM-READTABLE (default the current one; NIL: the
    /// standard readtable), into TO-READTABLE if given.
    fn COPY_READTABLE "COPY-READTABLE" "(&optional from-readtable to-readtable)" (ctx, a) {
        let from = readtable_arg(ctx, a, 0)?;
        match opt(a, 1) {
            Some(to) if to.truthy() => {
                let Some(dst) = rt::get(to) else { return Err(cond::type_error(ctx, to.clone(), "READTABLE")) };
                table(&from).copy_into(dst);
                Ok(to.clone())
            }
            _ => Ok(crate::foreign::make(table(&from).copy())),
        }
    }
    /// Make CHAR a macro character that calls NEW-FUNCTION with the stream
    /// and the character; the datum is its value (no values: nothing read).
    fn SET_MACRO_CHARACTER "SET-MACRO-CHARACTER" "(char new-function &optional non-terminating-p readtable)" (ctx, a) {
        let c = character(ctx, &a[0])?;
        let t = readtable_arg(ctx, a, 3)?;
        let f = super::function(ctx, &a[1])?;
        table(&t).set_macro_char(c, Some(MacroChar { ch: c, function: f, non_terminating: super::flag(a, 2), dispatching: false }));
        Ok(Value::t())
    }
    /// The reader function of macro character CHAR and whether it is
    /// non-terminating (NIL for the standard syntax, which is built in).
    fn GET_MACRO_CHARACTER "GET-MACRO-CHARACTER" "(char &optional readtable)" [mv] (ctx, a) {
        let c = character(ctx, &a[0])?;
        let t = readtable_arg(ctx, a, 1)?;
        Ok(match table(&t).macro_char(c) {
            Some(m) => ctx.values2(m.function, Value::bool(m.non_terminating)),
            None => ctx.values2(Value::Nil, Value::Nil),
        })
    }
    /// Make CHAR a dispatching macro character (like #).
    fn MAKE_DISPATCH_MACRO_CHARACTER "MAKE-DISPATCH-MACRO-CHARACTER" "(char &optional non-terminating-p readtable)" (ctx, a) {
        let c = character(ctx, &a[0])?;
        let t = readtable_arg(ctx, a, 2)?;
        table(&t).set_macro_char(c, Some(MacroChar { ch: c, function: Value::Nil, non_terminating: super::flag(a, 1), dispatching: true }));
        Ok(Value::t())
    }
    /// Make DISP-CHAR followed by SUB-CHAR call NEW-FUNCTION with the
    /// stream, the sub-character and the numeric argument (or NIL).
    fn SET_DISPATCH_MACRO_CHARACTER "SET-DISPATCH-MACRO-CHARACTER" "(disp-char sub-char new-function &optional readtable)" (ctx, a) {
        let d = character(ctx, &a[0])?;
        let sub = character(ctx, &a[1])?;
        let t = readtable_arg(ctx, a, 3)?;
        if d != '#' && !table(&t).macro_char(d).is_some_and(|m| m.dispatching) {
            return Err(cond::simple_error(ctx, format!("{:?} is not a dispatching macro character", d)));
        }
        let f = if a[2].is_nil() { Value::Nil } else { super::function(ctx, &a[2])? };
        table(&t).set_dispatch_fn(d, sub, f);
        Ok(Value::t())
    }
    /// The function of DISP-CHAR SUB-CHAR, or NIL (also for the standard
    /// # syntax, which is built in).
    fn GET_DISPATCH_MACRO_CHARACTER "GET-DISPATCH-MACRO-CHARACTER" "(disp-char sub-char &optional readtable)" (ctx, a) {
        let d = character(ctx, &a[0])?;
        let sub = character(ctx, &a[1])?;
        let t = readtable_arg(ctx, a, 2)?;
        Ok(table(&t).dispatch_fn(d, sub).unwrap_or(Value::Nil))
    }
    /// Give TO-CHAR the user macro definition of FROM-CHAR (or, when
    /// FROM-CHAR has the standard syntax, remove TO-CHAR's).
    fn SET_SYNTAX_FROM_CHAR "SET-SYNTAX-FROM-CHAR" "(to-char from-char &optional to-readtable from-readtable)" (ctx, a) {
        let to = character(ctx, &a[0])?;
        let from = character(ctx, &a[1])?;
        let tt = readtable_arg(ctx, a, 2)?;
        let ft = match opt(a, 3) { None | Some(Value::Nil) => rt::standard(), Some(_) => readtable_arg(ctx, a, 3)? };
        let def = table(&ft).macro_char(from).map(|m| MacroChar { ch: to, ..m });
        table(&tt).set_macro_char(to, def);
        Ok(Value::t())
    }
}

/// SETF functions defined here.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    vec![("READTABLE-CASE", &SETF_READTABLE_CASE)]
}
