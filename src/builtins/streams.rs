//! Stream functions: character, line and byte I/O, the printing functions
//! (PRINT, PRIN1, PRINC, WRITE, FORMAT, PPRINT), string and composite
//! streams, and the pretty-printing interface.

use super::macros::{cl, gensym, l, lt, quote, sys};
use super::{flag, in_stream, index, opt, opt_nil, out_stream, stream};
use crate::array::{Array, ArrayData, ElemType};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::eval::apply;
use crate::gc::Gc;
use crate::printer::pretty::{IndentKind, NewlineKind, PrettyState, TabKind};
use crate::printer::{self, Opts};
use crate::stream::{self as st, Stream, StreamKind};
use crate::value::{list_from, Value};
use crate::world::w;
use std::cell::RefCell;
use std::rc::Rc;

fn print_obj(ctx: &mut Ctx, v: &Value, s: &Gc<Stream>, o: Opts) -> R<()> {
    printer::write_to_stream(ctx, v, s, o)
}

fn eof_or(ctx: &mut Ctx, s: &Gc<Stream>, a: &[Value], ei: usize) -> R {
    let eof_error = opt(a, ei).is_none_or(|v| v.truthy());
    if eof_error {
        Err(cond::end_of_file(ctx, Value::Stream(s.clone())))
    } else {
        Ok(opt_nil(a, ei + 1))
    }
}

fn string_out_stream(s: &Gc<Stream>) -> bool {
    matches!(s.kind, StreamKind::StringOut(_))
}

/// Bind printer variables from WRITE-style keyword arguments, run `f`,
/// restore them.
fn with_print_keys(ctx: &mut Ctx, a: &[Value], names: &[&str], f: impl FnOnce(&mut Ctx) -> R) -> R {
    let mark = ctx.dyn_binds.len();
    for (i, n) in names.iter().enumerate() {
        if let Some(v) = opt(a, i) {
            let sym = crate::world::cl_sym(&format!("*PRINT-{}*", n));
            ctx.bind_special(&sym, v.clone());
        }
    }
    let r = f(ctx);
    ctx.unbind_to(mark);
    r
}

const WRITE_KEYS: &[&str] = &[
    "ARRAY",
    "BASE",
    "CASE",
    "CIRCLE",
    "ESCAPE",
    "GENSYM",
    "LENGTH",
    "LEVEL",
    "LINES",
    "MISER-WIDTH",
    "PPRINT-DISPATCH",
    "PRETTY",
    "RADIX",
    "READABLY",
    "RIGHT-MARGIN",
];

/// State of a PPRINT-LOGICAL-BLOCK list.
struct BlockList {
    rest: RefCell<Value>,
    count: RefCell<usize>,
    stream: Value,
}

impl crate::foreign::ForeignObj for BlockList {
    fn type_name(&self) -> &'static str {
        "PPRINT-STATE"
    }
    fn trace(&self, t: &mut crate::gc::Tracer) {
        if let Ok(r) = self.rest.try_borrow() {
            r.trace(t);
        }
        self.stream.trace(t);
    }
}

crate::defbuiltins! {
    /// Print OBJECT readably after a newline, followed by a space.
    fn PRINT "PRINT" "(object &optional stream)" (ctx, a) {
        let s = out_stream(ctx, a, 1)?;
        st::write_str(ctx, &s, "\n")?;
        print_obj(ctx, &a[0], &s, Opts::prin1())?;
        st::write_str(ctx, &s, " ")?;
        Ok(a[0].clone())
    }
    /// Print OBJECT readably.
    fn PRIN1 "PRIN1" "(object &optional stream)" (ctx, a) {
        let s = out_stream(ctx, a, 1)?;
        print_obj(ctx, &a[0], &s, Opts::prin1())?;
        Ok(a[0].clone())
    }
    /// Print OBJECT for people (no escapes).
    fn PRINC "PRINC" "(object &optional stream)" (ctx, a) {
        let s = out_stream(ctx, a, 1)?;
        print_obj(ctx, &a[0], &s, Opts::princ())?;
        Ok(a[0].clone())
    }
    /// Print OBJECT pretty, after a newline.
    fn PPRINT "PPRINT" "(object &optional stream)" [mv] (ctx, a) {
        let s = out_stream(ctx, a, 1)?;
        st::write_str(ctx, &s, "\n")?;
        let mut o = Opts::prin1();
        o.pretty = true;
        print_obj(ctx, &a[0], &s, o)?;
        Ok(ctx.set_values(vec![]))
    }
    /// Print OBJECT under the given printer settings.
    fn WRITE "WRITE" "(object &key array base case circle escape gensym length level lines miser-width pprint-dispatch pretty radix readably right-margin stream)" (ctx, a) {
        let obj = a[0].clone();
        let stream_arg = opt_nil(a, 16);
        with_print_keys(ctx, &a[1..], WRITE_KEYS, |ctx| {
            let s = st::output_designator(ctx, &stream_arg)?;
            print_obj(ctx, &obj, &s, Opts::current())?;
            Ok(obj.clone())
        })
    }
    /// The printed representation of OBJECT under the given settings.
    fn WRITE_TO_STRING "WRITE-TO-STRING" "(object &key array base case circle escape gensym length level lines miser-width pprint-dispatch pretty radix readably right-margin)" (ctx, a) {
        let obj = a[0].clone();
        with_print_keys(ctx, &a[1..], WRITE_KEYS, |ctx| {
            Ok(super::str_value(&printer::to_string_ctx(ctx, &obj, Opts::current())?))
        })
    }
    /// PRIN1 to a string.
    fn PRIN1_TO_STRING "PRIN1-TO-STRING" "(object)" (ctx, a) {
        Ok(super::str_value(&printer::to_string_ctx(ctx, &a[0], Opts::prin1())?))
    }
    /// PRINC to a string.
    fn PRINC_TO_STRING "PRINC-TO-STRING" "(object)" (ctx, a) {
        Ok(super::str_value(&printer::to_string_ctx(ctx, &a[0], Opts::princ())?))
    }
    /// Output a newline.
    fn TERPRI "TERPRI" "(&optional stream)" (ctx, a) {
        let s = out_stream(ctx, a, 0)?;
        st::write_str(ctx, &s, "\n")?;
        Ok(Value::Nil)
    }
    /// Output a newline unless at the start of a line.
    fn FRESH_LINE "FRESH-LINE" "(&optional stream)" (ctx, a) {
        let s = out_stream(ctx, a, 0)?;
        Ok(Value::bool(st::fresh_line(ctx, &s)?))
    }
    /// Output CHARACTER.
    fn WRITE_CHAR "WRITE-CHAR" "(character &optional stream)" (ctx, a) {
        let c = super::character(ctx, &a[0])?;
        let s = out_stream(ctx, a, 1)?;
        st::write_char(ctx, &s, c)?;
        Ok(a[0].clone())
    }
    /// Output STRING (from START to END).
    fn WRITE_STRING "WRITE-STRING" "(string &optional stream &key (start 0) end)" (ctx, a) {
        let chars = super::string(ctx, &a[0])?.chars();
        let s = out_stream(ctx, a, 1)?;
        let start = super::opt_index(ctx, a, 2)?.unwrap_or(0);
        let end = super::opt_index(ctx, a, 3)?.unwrap_or(chars.len()).min(chars.len());
        let text: String = chars[start.min(end)..end].iter().collect();
        st::write_str(ctx, &s, &text)?;
        Ok(a[0].clone())
    }
    /// Output STRING and a newline.
    fn WRITE_LINE "WRITE-LINE" "(string &optional stream &key (start 0) end)" (ctx, a) {
        let chars = super::string(ctx, &a[0])?.chars();
        let s = out_stream(ctx, a, 1)?;
        let start = super::opt_index(ctx, a, 2)?.unwrap_or(0);
        let end = super::opt_index(ctx, a, 3)?.unwrap_or(chars.len()).min(chars.len());
        let mut text: String = chars[start.min(end)..end].iter().collect();
        text.push('\n');
        st::write_str(ctx, &s, &text)?;
        Ok(a[0].clone())
    }
    /// Output a byte to a binary stream.
    fn WRITE_BYTE "WRITE-BYTE" "(byte stream)" (ctx, a) {
        let b = super::int(ctx, &a[0])?;
        if !(0..=255).contains(&b) {
            return Err(cond::type_error(ctx, a[0].clone(), "(UNSIGNED-BYTE 8)"));
        }
        let s = stream(ctx, &a[1])?;
        st::write_bytes(ctx, &s, &[b as u8])?;
        Ok(a[0].clone())
    }
    /// Output the elements of SEQUENCE (characters or bytes).
    fn WRITE_SEQUENCE "WRITE-SEQUENCE" "(sequence stream &key (start 0) end)" (ctx, a) {
        let s = st::output_designator(ctx, &a[1])?;
        let start = super::opt_index(ctx, a, 2)?.unwrap_or(0);
        match &a[0] {
            Value::Array(arr) if arr.is_vector() => {
                let len = arr.len();
                let end = super::opt_index(ctx, a, 3)?.unwrap_or(len).min(len);
                let start = start.min(end);
                // What to write, taken while the storage is borrowed; the
                // writes that may wait happen after (no borrow held then).
                enum Pending { Bytes(std::io::Result<usize>, Vec<u8>), Text(String), Items(Vec<Value>) }
                let pending = arr.with_data(|d, off| match d {
                    ArrayData::U8(bytes) => {
                        // Send straight from the vector what the socket or
                        // file takes now; copy only the rest.
                        let part = &bytes[off + start..off + end];
                        let sent = match s.bytes().filter(|b| b.output && s.is_open()) {
                            Some(b) => b.write_now(part),
                            None => Ok(0),
                        };
                        let rest = match &sent {
                            Ok(n) => part[*n..].to_vec(),
                            Err(_) => Vec::new(),
                        };
                        Pending::Bytes(sent, rest)
                    }
                    ArrayData::Char(cs) => Pending::Text(cs[off + start..off + end].iter().collect()),
                    _ => Pending::Items((off + start..off + end).map(|i| d.get(i)).collect()),
                });
                match pending {
                    Pending::Bytes(Err(e), _) => return Err(s.bytes().unwrap().os_failed(ctx, true, &e)),
                    Pending::Bytes(Ok(n), rest) if n > 0 && rest.is_empty() => {}
                    Pending::Bytes(Ok(_), rest) => st::write_bytes(ctx, &s, &rest)?,
                    Pending::Text(text) => st::write_str(ctx, &s, &text)?,
                    Pending::Items(items) => write_items(ctx, &s, &items)?,
                }
            }
            v => {
                let items = super::sequences::items(ctx, v)?;
                let end = super::opt_index(ctx, a, 3)?.unwrap_or(items.len()).min(items.len());
                write_items(ctx, &s, &items[start.min(end)..end])?;
            }
        }
        Ok(a[0].clone())
    }
    /// Read a character.
    fn READ_CHAR "READ-CHAR" "(&optional stream (eof-error-p t) eof-value recursive-p)" (ctx, a) {
        let s = in_stream(ctx, a, 0)?;
        match st::read_char(ctx, &s)? {
            Some(c) => Ok(Value::Char(c)),
            None => eof_or(ctx, &s, a, 1),
        }
    }
    /// Read a character if one is available, else NIL.
    fn READ_CHAR_NO_HANG "READ-CHAR-NO-HANG" "(&optional stream (eof-error-p t) eof-value recursive-p)" (ctx, a) {
        let s = in_stream(ctx, a, 0)?;
        if !st::listen(ctx, &s)? {
            // Distinguish "nothing yet" from end of file.
            if let Some(b) = s.bytes() { if b.at_eof() { return eof_or(ctx, &s, a, 1); } }
            if matches!(s.kind, StreamKind::StringIn(_)) { return eof_or(ctx, &s, a, 1); }
            return Ok(Value::Nil);
        }
        match st::read_char(ctx, &s)? {
            Some(c) => Ok(Value::Char(c)),
            None => eof_or(ctx, &s, a, 1),
        }
    }
    /// Push CHARACTER back onto the stream.
    fn UNREAD_CHAR "UNREAD-CHAR" "(character &optional stream)" (ctx, a) {
        let c = super::character(ctx, &a[0])?;
        let s = in_stream(ctx, a, 1)?;
        st::unread_char(ctx, &s, c)?;
        Ok(Value::Nil)
    }
    /// The next character without consuming it (PEEK-TYPE T skips whitespace, a character skips to it).
    fn PEEK_CHAR "PEEK-CHAR" "(&optional peek-type stream (eof-error-p t) eof-value recursive-p)" (ctx, a) {
        let s = in_stream(ctx, a, 1)?;
        let peek = opt_nil(a, 0);
        loop {
            let Some(c) = st::read_char(ctx, &s)? else { return eof_or(ctx, &s, a, 2); };
            let skip = match &peek {
                Value::Nil => false,
                Value::Char(p) => *p != c,
                _ => c.is_whitespace(),
            };
            if !skip {
                st::unread_char(ctx, &s, c)?;
                return Ok(Value::Char(c));
            }
        }
    }
    /// Read a line; second value: whether it ended at end of file without a newline.
    fn READ_LINE "READ-LINE" "(&optional stream (eof-error-p t) eof-value recursive-p)" [mv] (ctx, a) {
        let s = in_stream(ctx, a, 0)?;
        match st::read_line(ctx, &s)? {
            Some((line, missing)) => Ok(ctx.values2(super::str_value(&line), Value::bool(missing))),
            None => {
                let v = eof_or(ctx, &s, a, 1)?;
                Ok(ctx.values2(v, Value::t()))
            }
        }
    }
    /// Read a byte.
    fn READ_BYTE "READ-BYTE" "(stream &optional (eof-error-p t) eof-value)" (ctx, a) {
        let s = stream(ctx, &a[0])?;
        match st::read_byte(ctx, &s)? {
            Some(b) => Ok(Value::Fixnum(b as i64)),
            None => eof_or(ctx, &s, a, 1),
        }
    }
    /// Fill SEQUENCE from the stream; returns the index after the last element read.
    fn READ_SEQUENCE "READ-SEQUENCE" "(sequence stream &key (start 0) end)" (ctx, a) {
        let s = st::input_designator(ctx, &a[1])?;
        let start = super::opt_index(ctx, a, 2)?.unwrap_or(0);
        match &a[0] {
            Value::Array(arr) if arr.is_vector() => {
                let len = arr.len();
                let end = super::opt_index(ctx, a, 3)?.unwrap_or(len).min(len);
                if start >= end { return Ok(Value::int(start as i64)); }
                let is_bytes = arr.with_data(|d, _| matches!(d, ArrayData::U8(_)));
                if is_bytes && s.bytes().is_some() && !st::has_pushback(&s) {
                    let dest = OctetRange { arr, start, end };
                    let n = s.bytes().unwrap().read_bytes_to(ctx, &dest, true)?;
                    return Ok(Value::int((start + n) as i64));
                }
                let is_chars = arr.with_data(|d, _| matches!(d, ArrayData::Char(_)));
                let mut i = start;
                while i < end {
                    let v = if is_chars {
                        match st::read_char(ctx, &s)? { Some(c) => Value::Char(c), None => break }
                    } else {
                        match st::read_byte(ctx, &s)? { Some(b) => Value::Fixnum(b as i64), None => break }
                    };
                    arr.set(i, v);
                    i += 1;
                }
                Ok(Value::int(i as i64))
            }
            Value::Cons(_) | Value::Nil => {
                let mut cur = a[0].clone();
                for _ in 0..start { cur = cur.rest(); }
                let mut i = start;
                let end = super::opt_index(ctx, a, 3)?;
                while let Value::Cons(c) = cur.clone() {
                    if end.is_some_and(|e| i >= e) { break; }
                    let v = match st::read_char(ctx, &s)? { Some(ch) => Value::Char(ch), None => break };
                    c.set_car(v);
                    cur = c.cdr();
                    i += 1;
                }
                Ok(Value::int(i as i64))
            }
            other => Err(cond::type_error(ctx, other.clone(), "SEQUENCE")),
        }
    }
    /// Whether a character is available without waiting.
    fn LISTEN "LISTEN" "(&optional stream)" (ctx, a) {
        let s = in_stream(ctx, a, 0)?;
        Ok(Value::bool(st::listen(ctx, &s)?))
    }
    /// Discard buffered input.
    fn CLEAR_INPUT "CLEAR-INPUT" "(&optional stream)" (ctx, a) {
        let s = in_stream(ctx, a, 0)?;
        if let Some(b) = s.bytes() { b.clear_input(); }
        Ok(Value::Nil)
    }
    /// Send buffered output and wait for it to be written.
    fn FINISH_OUTPUT "FINISH-OUTPUT" "(&optional stream)" (ctx, a) {
        let s = out_stream(ctx, a, 0)?;
        st::force_output(ctx, &s)?;
        Ok(Value::Nil)
    }
    /// Send buffered output.
    fn FORCE_OUTPUT "FORCE-OUTPUT" "(&optional stream)" (ctx, a) {
        let s = out_stream(ctx, a, 0)?;
        st::force_output(ctx, &s)?;
        Ok(Value::Nil)
    }
    /// Discard buffered output.
    fn CLEAR_OUTPUT "CLEAR-OUTPUT" "(&optional stream)" (ctx, a) {
        let s = out_stream(ctx, a, 0)?;
        if let Some(b) = s.bytes() { b.clear_output(); }
        Ok(Value::Nil)
    }
    /// Close STREAM (discarding output if ABORT).
    fn CLOSE "CLOSE" "(stream &key abort)" (ctx, a) {
        let s = stream(ctx, &a[0])?;
        let target = s.extra.borrow().clone();
        if string_out_stream(&s) && target.is_string() && s.is_open() {
            let text = st::take_string_output(&s).unwrap_or_default();
            let push = super::arrays::VECTOR_PUSH_EXTEND.f;
            for c in text.chars() {
                push(ctx, &[Value::Char(c), target.clone()])?;
            }
        }
        Ok(Value::bool(st::close(ctx, &s, flag(a, 1))?))
    }
    /// Whether STREAM is open.
    fn OPEN_STREAM_P "OPEN-STREAM-P" "(stream)" (ctx, a) { Ok(Value::bool(stream(ctx, &a[0])?.is_open())) }
    /// Whether STREAM supports input.
    fn INPUT_STREAM_P "INPUT-STREAM-P" "(stream)" (ctx, a) { Ok(Value::bool(stream(ctx, &a[0])?.is_input())) }
    /// Whether STREAM supports output.
    fn OUTPUT_STREAM_P "OUTPUT-STREAM-P" "(stream)" (ctx, a) { Ok(Value::bool(stream(ctx, &a[0])?.is_output())) }
    /// Whether STREAM is interactive (a terminal).
    fn INTERACTIVE_STREAM_P "INTERACTIVE-STREAM-P" "(stream)" (ctx, a) {
        let s = stream(ctx, &a[0])?;
        let fd = s.bytes().and_then(|b| b.io.borrow().fd());
        Ok(Value::bool(fd.is_some_and(|fd| unsafe { libc::isatty(fd) } == 1)))
    }
    /// Whether OBJECT is a stream.
    fn STREAMP "STREAMP" "(object)" (ctx, a) { Ok(Value::bool(matches!(a[0], Value::Stream(_)))) }
    /// The element type of STREAM.
    fn STREAM_ELEMENT_TYPE "STREAM-ELEMENT-TYPE" "(stream)" (ctx, a) { Ok(stream(ctx, &a[0])?.element_type.borrow().clone()) }
    /// The external format of STREAM.
    fn STREAM_EXTERNAL_FORMAT "STREAM-EXTERNAL-FORMAT" "(stream)" (ctx, a) {
        let s = stream(ctx, &a[0])?;
        Ok(crate::world::keyword(match s.bytes().map(|b| b.encoding.get()) {
            Some(st::Encoding::Latin1) => "LATIN-1",
            _ => "UTF-8",
        }))
    }
    /// A stream reading characters from STRING.
    fn MAKE_STRING_INPUT_STREAM "MAKE-STRING-INPUT-STREAM" "(string &optional (start 0) end)" (ctx, a) {
        let cs = super::string(ctx, &a[0])?.chars();
        let start = super::opt_index(ctx, a, 1)?.unwrap_or(0);
        let end = super::opt_index(ctx, a, 2)?.unwrap_or(cs.len());
        if start > end || end > cs.len() {
            return Err(cond::simple_error(ctx, format!("bad bounds {}..{} for a string of length {}", start, end, cs.len())));
        }
        Ok(st::make_string_input(&cs, start, end))
    }
    /// A stream collecting output into a string.
    fn MAKE_STRING_OUTPUT_STREAM "MAKE-STRING-OUTPUT-STREAM" "(&key element-type)" (ctx, a) { Ok(st::make_string_output()) }
    /// The output collected so far (and reset the stream).
    fn GET_OUTPUT_STREAM_STRING "GET-OUTPUT-STREAM-STRING" "(stream)" (ctx, a) {
        let s = stream(ctx, &a[0])?;
        match st::take_string_output(&s) {
            Some(t) => Ok(super::str_value(&t)),
            None => Err(cond::type_error(ctx, a[0].clone(), "STRING-STREAM")),
        }
    }
    /// A stream appending to a string with a fill pointer (WITH-OUTPUT-TO-STRING with a string).
    fn MAKE_FILL_POINTER_OUTPUT_STREAM "NETLISP-SYSTEM:%MAKE-FILL-POINTER-OUTPUT-STREAM" "(string)" (ctx, a) {
        // Output is appended to the string when the stream is closed.
        let s = st::make_string_output();
        if let Value::Stream(x) = &s { *x.extra.borrow_mut() = a[0].clone(); }
        Ok(s)
    }
    /// A stream writing to all STREAMS.
    fn MAKE_BROADCAST_STREAM "MAKE-BROADCAST-STREAM" "(&rest streams)" (ctx, a) {
        for s in a { stream(ctx, s)?; }
        Ok(Stream::new(StreamKind::Broadcast(a.to_vec()), "BROADCAST-STREAM").into_value())
    }
    /// A stream reading from STREAMS in turn.
    fn MAKE_CONCATENATED_STREAM "MAKE-CONCATENATED-STREAM" "(&rest streams)" (ctx, a) {
        for s in a { stream(ctx, s)?; }
        Ok(Stream::new(StreamKind::Concatenated(RefCell::new(a.to_vec())), "CONCATENATED-STREAM").into_value())
    }
    /// A stream reading from INPUT and echoing to OUTPUT.
    fn MAKE_ECHO_STREAM "MAKE-ECHO-STREAM" "(input-stream output-stream)" (ctx, a) {
        stream(ctx, &a[0])?; stream(ctx, &a[1])?;
        Ok(Stream::new(StreamKind::Echo(a[0].clone(), a[1].clone()), "ECHO-STREAM").into_value())
    }
    /// A stream reading from INPUT and writing to OUTPUT.
    fn MAKE_TWO_WAY_STREAM "MAKE-TWO-WAY-STREAM" "(input-stream output-stream)" (ctx, a) {
        stream(ctx, &a[0])?; stream(ctx, &a[1])?;
        Ok(Stream::new(StreamKind::TwoWay(a[0].clone(), a[1].clone()), "TWO-WAY-STREAM").into_value())
    }
    /// A stream that is whatever stream SYMBOL's value is.
    fn MAKE_SYNONYM_STREAM "MAKE-SYNONYM-STREAM" "(symbol)" (ctx, a) {
        let s = super::symbol(ctx, &a[0])?;
        Ok(Stream::new(StreamKind::Synonym(s), "SYNONYM-STREAM").into_value())
    }
    /// The streams of a broadcast stream.
    fn BROADCAST_STREAM_STREAMS "BROADCAST-STREAM-STREAMS" "(broadcast-stream)" (ctx, a) {
        match &stream(ctx, &a[0])?.kind { StreamKind::Broadcast(v) => Ok(list_from(v.clone())), _ => Err(cond::type_error(ctx, a[0].clone(), "BROADCAST-STREAM")) }
    }
    /// The streams of a concatenated stream.
    fn CONCATENATED_STREAM_STREAMS "CONCATENATED-STREAM-STREAMS" "(concatenated-stream)" (ctx, a) {
        match &stream(ctx, &a[0])?.kind { StreamKind::Concatenated(v) => Ok(list_from(v.borrow().clone())), _ => Err(cond::type_error(ctx, a[0].clone(), "CONCATENATED-STREAM")) }
    }
    /// The input stream of a two-way stream.
    fn TWO_WAY_STREAM_INPUT_STREAM "TWO-WAY-STREAM-INPUT-STREAM" "(two-way-stream)" (ctx, a) {
        match &stream(ctx, &a[0])?.kind { StreamKind::TwoWay(i, _) => Ok(i.clone()), _ => Err(cond::type_error(ctx, a[0].clone(), "TWO-WAY-STREAM")) }
    }
    /// The output stream of a two-way stream.
    fn TWO_WAY_STREAM_OUTPUT_STREAM "TWO-WAY-STREAM-OUTPUT-STREAM" "(two-way-stream)" (ctx, a) {
        match &stream(ctx, &a[0])?.kind { StreamKind::TwoWay(_, o) => Ok(o.clone()), _ => Err(cond::type_error(ctx, a[0].clone(), "TWO-WAY-STREAM")) }
    }
    /// The input stream of an echo stream.
    fn ECHO_STREAM_INPUT_STREAM "ECHO-STREAM-INPUT-STREAM" "(echo-stream)" (ctx, a) {
        match &stream(ctx, &a[0])?.kind { StreamKind::Echo(i, _) => Ok(i.clone()), _ => Err(cond::type_error(ctx, a[0].clone(), "ECHO-STREAM")) }
    }
    /// The output stream of an echo stream.
    fn ECHO_STREAM_OUTPUT_STREAM "ECHO-STREAM-OUTPUT-STREAM" "(echo-stream)" (ctx, a) {
        match &stream(ctx, &a[0])?.kind { StreamKind::Echo(_, o) => Ok(o.clone()), _ => Err(cond::type_error(ctx, a[0].clone(), "ECHO-STREAM")) }
    }
    /// The symbol of a synonym stream.
    fn SYNONYM_STREAM_SYMBOL "SYNONYM-STREAM-SYMBOL" "(synonym-stream)" (ctx, a) {
        match &stream(ctx, &a[0])?.kind { StreamKind::Synonym(s) => Ok(crate::symbol::sym_value(s)), _ => Err(cond::type_error(ctx, a[0].clone(), "SYNONYM-STREAM")) }
    }
    /// Format output: to DESTINATION (T, NIL for a string, a stream, or a string with a fill pointer).
    fn FORMAT "FORMAT" "(destination control-string &rest args)" (ctx, a) {
        let dest = &a[0];
        match dest {
            Value::Nil => Ok(super::str_value(&crate::format::format_to_string(ctx, &a[1], &a[2..])?)),
            Value::Array(arr) if arr.is_string() => {
                let text = crate::format::format_with_column(ctx, &a[1], &a[2..], 0)?;
                if arr.fill.get().is_none() {
                    return Err(cond::type_error(ctx, dest.clone(), "(AND STRING (SATISFIES ARRAY-HAS-FILL-POINTER-P))"));
                }
                for c in text.chars() {
                    let push = super::arrays::VECTOR_PUSH_EXTEND.f;
                    push(ctx, &[Value::Char(c), dest.clone()])?;
                }
                Ok(Value::Nil)
            }
            _ => {
                format_to_stream(ctx, dest, &a[1], &a[2..])?;
                Ok(Value::Nil)
            }
        }
    }
    /// A function that formats with CONTROL-STRING to a stream.
    /// It returns the arguments its directives did not use, as the
    /// standard says.
    fn FORMATTER_FN "NETLISP-SYSTEM:%FORMATTER" "(control-string)" (ctx, a) {
        Ok(crate::eval::make_native_closure_arity("FORMATTER", (1, None), vec![a[0].clone()], |ctx, env, args| {
            let Some((dest, rest)) = args.split_first() else { return Ok(Value::Nil) };
            let used = format_to_stream(ctx, dest, &env[0], rest)?;
            Ok(crate::value::list_from(rest[used..].to_vec()))
        }))
    }
    /// A function formatting with CONTROL-STRING (for ~? and FORMAT).
    macro FORMATTER "FORMATTER" "(control-string)" (ctx, a) {
        Ok(l(vec![sys("%FORMATTER"), a[0].second()]))
    }
    /// A conditional newline on a pretty stream (:LINEAR :FILL :MISER :MANDATORY).
    fn PPRINT_NEWLINE "PPRINT-NEWLINE" "(kind &optional stream)" (ctx, a) {
        let s = out_stream(ctx, a, 1)?;
        if let Some(p) = st::pretty_state(&s) {
            let kind = match &a[0] {
                Value::Symbol(k) => match k.name() { "LINEAR" => NewlineKind::Linear, "FILL" => NewlineKind::Fill, "MISER" => NewlineKind::Miser, "MANDATORY" => NewlineKind::Mandatory, _ => return Err(cond::type_error(ctx, a[0].clone(), "(MEMBER :LINEAR :FILL :MISER :MANDATORY)")) },
                other => return Err(cond::type_error(ctx, other.clone(), "(MEMBER :LINEAR :FILL :MISER :MANDATORY)")),
            };
            p.borrow_mut().newline(kind);
        }
        Ok(Value::Nil)
    }
    /// Set the indentation of the current logical block (:BLOCK or :CURRENT).
    fn PPRINT_INDENT "PPRINT-INDENT" "(relative-to n &optional stream)" (ctx, a) {
        let s = out_stream(ctx, a, 2)?;
        if let Some(p) = st::pretty_state(&s) {
            let q = crate::number::divide(ctx, &a[1], &Value::Fixnum(1), crate::number::Rounding::Truncate, "PPRINT-INDENT")?.0;
            let n = super::int(ctx, &q)?;
            if n.abs() > crate::format::MAX_PARAM {
                let max = crate::format::MAX_PARAM;
                return Err(cond::type_error(ctx, a[1].clone(), &format!("(INTEGER -{max} {max})")));
            }
            let kind = match &a[0] { Value::Symbol(k) if k.name() == "CURRENT" => IndentKind::Current, _ => IndentKind::Block };
            p.borrow_mut().indent(kind, n);
        }
        Ok(Value::Nil)
    }
    /// Tab on a pretty stream (:LINE :SECTION :LINE-RELATIVE :SECTION-RELATIVE).
    fn PPRINT_TAB "PPRINT-TAB" "(kind colnum colinc &optional stream)" (ctx, a) {
        let s = out_stream(ctx, a, 3)?;
        let colnum = column(ctx, &a[1])?;
        let colinc = column(ctx, &a[2])?;
        // Outside a pretty-printing stream PPRINT-TAB has no effect (CLHS).
        if let Some(p) = st::pretty_state(&s) {
            let kind = match &a[0] { Value::Symbol(k) => match k.name() { "SECTION" => TabKind::Section, "LINE-RELATIVE" => TabKind::LineRelative, "SECTION-RELATIVE" => TabKind::SectionRelative, _ => TabKind::Line }, _ => TabKind::Line };
            p.borrow_mut().tab(kind, colnum, colinc);
        }
        Ok(Value::Nil)
    }
    /// Print a list with fill-style newlines.
    fn PPRINT_FILL "PPRINT-FILL" "(stream list &optional (colon-p t) at-sign-p)" (ctx, a) { pprint_list(ctx, a, NewlineKind::Fill, 0) }
    /// Print a list with linear-style newlines.
    fn PPRINT_LINEAR "PPRINT-LINEAR" "(stream list &optional (colon-p t) at-sign-p)" (ctx, a) { pprint_list(ctx, a, NewlineKind::Linear, 0) }
    /// Print a list in columns of TABSIZE.
    fn PPRINT_TABULAR "PPRINT-TABULAR" "(stream list &optional (colon-p t) at-sign-p (tabsize 16))" (ctx, a) {
        let ts = match opt(a, 4) { Some(v) => index(ctx, v)?, None => 16 };
        pprint_list(ctx, a, NewlineKind::Fill, ts.max(1))
    }
    /// Print OBJECT inside a logical block (the expansion of PPRINT-LOGICAL-BLOCK).
    fn PPRINT_LOGICAL_BLOCK_FN "NETLISP-SYSTEM:%PPRINT-LOGICAL-BLOCK" "(stream object prefix per-line-prefix suffix body)" (ctx, a) {
        let target = st::output_designator(ctx, &a[0])?;
        let object = a[1].clone();
        let (prefix, per_line) = match (opt(a, 3), opt(a, 2)) {
            (Some(p), _) if p.truthy() => (super::string_text(ctx, p)?, true),
            (_, Some(p)) if p.truthy() => (super::string_text(ctx, p)?, false),
            _ => (String::new(), false),
        };
        let suffix = match opt(a, 4) { Some(s) if s.truthy() => super::string_text(ctx, s)?, _ => String::new() };
        if !object.is_list() {
            print_obj(ctx, &object, &target, Opts::prin1())?;
            return Ok(Value::Nil);
        }
        let existing = st::pretty_state(&target);
        let state = match &existing {
            Some(p) => p.clone(),
            None => {
                let o = Opts::current();
                Rc::new(RefCell::new(PrettyState::new(target.column(), o.right_margin, o.miser_width, o.lines, o.readably)))
            }
        };
        let pstream = match &existing {
            Some(_) => Value::Stream(target.clone()),
            None => Stream::new(StreamKind::Pretty(state.clone()), "STREAM").into_value(),
        };
        state.borrow_mut().start_block(Some(&prefix), per_line, &suffix);
        let bl = crate::foreign::make(BlockList { rest: RefCell::new(object), count: RefCell::new(0), stream: pstream.clone() });
        let r = apply(ctx, &a[5], &[pstream, bl]);
        state.borrow_mut().end_block();
        r?;
        if existing.is_none() {
            let text = state.borrow_mut().finish();
            st::write_str(ctx, &target, &text)?;
        }
        Ok(Value::Nil)
    }
    /// PPRINT-POP inside a logical block: the next element (and NIL), NIL
    /// NIL when the list is exhausted, or NIL T after printing ". tail" or
    /// "..." (then the block ends, as CLHS PPRINT-POP says).
    fn PPRINT_POP_FN "NETLISP-SYSTEM:%PPRINT-POP" "(state)" [mv] (ctx, a) {
        let Some(bl) = crate::foreign::get::<BlockList>(&a[0]) else { return Ok(Value::Nil) };
        let rest = bl.rest.borrow().clone();
        let stream = bl.stream.clone();
        let n = *bl.count.borrow();
        let out = |ctx: &mut Ctx, t: &str| -> R<()> { if let Value::Stream(s) = &stream { st::write_str(ctx, s, t)?; } Ok(()) };
        match rest {
            Value::Cons(c) => {
                let o = Opts::current();
                if o.length.is_some_and(|l| n >= l) {
                    out(ctx, "...")?;
                    ctx.nvals = 2;
                    ctx.mv = vec![Value::Nil, Value::t()];
                    return Ok(Value::Nil);
                }
                *bl.count.borrow_mut() = n + 1;
                *bl.rest.borrow_mut() = c.cdr();
                Ok(ctx.values2(c.car(), Value::Nil))
            }
            Value::Nil => Ok(ctx.values2(Value::Nil, Value::Nil)),
            other => {
                out(ctx, ". ")?;
                if let Value::Stream(s) = &stream { print_obj(ctx, &other, s, Opts::prin1())?; }
                *bl.rest.borrow_mut() = Value::Nil;
                Ok(ctx.values2(Value::Nil, Value::t()))
            }
        }
    }
    /// Whether the logical block's list is exhausted.
    fn PPRINT_EXHAUSTED "NETLISP-SYSTEM:%PPRINT-EXHAUSTED-P" "(state)" (ctx, a) {
        Ok(Value::bool(crate::foreign::get::<BlockList>(&a[0]).is_none_or(|b| b.rest.borrow().is_nil())))
    }
    /// Print OBJECT in a logical block on STREAM-SYMBOL's stream, with PPRINT-POP and PPRINT-EXIT-IF-LIST-EXHAUSTED.
    macro PPRINT_LOGICAL_BLOCK "PPRINT-LOGICAL-BLOCK" "((stream-symbol object &key prefix per-line-prefix suffix) &body body)" (ctx, a) {
        let rest = a[0].rest();
        let spec = rest.first();
        let var = spec.first();
        let var = if var.is_nil() { cl("*STANDARD-OUTPUT*") } else if var.eq(&Value::t()) { cl("*TERMINAL-IO*") } else { var };
        let stream_form = if spec.first().is_nil() { cl("*STANDARD-OUTPUT*") } else { spec.first() };
        let mut prefix = Value::Nil;
        let mut per = Value::Nil;
        let mut suffix = Value::Nil;
        let mut o = spec.rest().rest();
        while o.is_cons() {
            match &o.first() {
                Value::Symbol(s) if s.name() == "PREFIX" => prefix = o.second(),
                Value::Symbol(s) if s.name() == "PER-LINE-PREFIX" => per = o.second(),
                Value::Symbol(s) if s.name() == "SUFFIX" => suffix = o.second(),
                _ => {}
            }
            o = o.rest().rest();
        }
        let state = gensym("STATE");
        let blk = gensym("BLOCK");
        let body = rest.rest();
        // (pprint-pop) => (multiple-value-bind (x done) (%pprint-pop state)
        //                   (if done (return-from block nil) x))
        let (x, done) = (gensym("X"), gensym("DONE"));
        let pop = l(vec![cl("LIST"), quote(cl("MULTIPLE-VALUE-BIND")), quote(l(vec![x.clone(), done.clone()])),
            l(vec![cl("LIST"), quote(sys("%PPRINT-POP")), quote(state.clone())]),
            l(vec![cl("LIST"), quote(cl("IF")), quote(done), quote(l(vec![cl("RETURN-FROM"), blk.clone(), Value::Nil])), quote(x)])]);
        let macros = l(vec![
            l(vec![cl("PPRINT-POP"), Value::Nil, pop]),
            l(vec![cl("PPRINT-EXIT-IF-LIST-EXHAUSTED"), Value::Nil,
                l(vec![cl("LIST"), quote(cl("WHEN")), l(vec![cl("LIST"), quote(sys("%PPRINT-EXHAUSTED-P")), quote(state.clone())]),
                    l(vec![cl("LIST"), quote(cl("RETURN-FROM")), quote(blk.clone()), Value::Nil])])]),
        ]);
        let lambda = l(vec![cl("LAMBDA"), l(vec![var, state.clone()]),
            l(vec![cl("DECLARE"), l(vec![cl("IGNORABLE"), state])]),
            lt(vec![cl("BLOCK"), blk], l(vec![lt(vec![cl("MACROLET"), macros], body)]))]);
        Ok(l(vec![sys("%PPRINT-LOGICAL-BLOCK"), stream_form, spec.second(), prefix, per, suffix, l(vec![cl("FUNCTION"), lambda])]))
    }
    /// Outside PPRINT-LOGICAL-BLOCK, PPRINT-POP is an error.
    macro PPRINT_POP "PPRINT-POP" "()" (ctx, a) {
        Err(cond::program_error(ctx, "PPRINT-POP used outside PPRINT-LOGICAL-BLOCK".into()))
    }
    /// Outside PPRINT-LOGICAL-BLOCK, PPRINT-EXIT-IF-LIST-EXHAUSTED is an error.
    macro PPRINT_EXIT_IF_LIST_EXHAUSTED "PPRINT-EXIT-IF-LIST-EXHAUSTED" "()" (ctx, a) {
        Err(cond::program_error(ctx, "PPRINT-EXIT-IF-LIST-EXHAUSTED used outside PPRINT-LOGICAL-BLOCK".into()))
    }
    /// Print #<TYPE ... {id}> around what FUNCTION prints (PRINT-UNREADABLE-OBJECT).
    fn PRINT_UNREADABLE_FN "NETLISP-SYSTEM:%PRINT-UNREADABLE-OBJECT" "(object stream type identity function)" (ctx, a) {
        let s = st::output_designator(ctx, &a[1])?;
        if crate::world::w().s.print_readably.value().truthy() {
            return Err(cond::error(ctx, cond::make("PRINT-NOT-READABLE", &[("OBJECT", a[0].clone())])));
        }
        st::write_str(ctx, &s, "#<")?;
        if a[2].truthy() {
            let t = crate::types::type_of(&a[0]);
            let t = match &t { Value::Cons(_) => t.first(), _ => t };
            print_obj(ctx, &t, &s, Opts::prin1())?;
            if a[4].truthy() { st::write_str(ctx, &s, " ")?; }
        }
        if a[4].truthy() { apply(ctx, &a[4], &[])?; }
        if a[3].truthy() {
            let id = match &a[0] {
                Value::Instance(i) => i.addr(),
                Value::Cons(c) => c.addr(),
                Value::Foreign(f) => f.addr(),
                _ => 0,
            };
            st::write_str(ctx, &s, &format!(" {{{:X}}}", id))?;
        }
        st::write_str(ctx, &s, ">")?;
        Ok(Value::Nil)
    }
    /// Ask a yes-or-no question on *QUERY-IO* (Y or N).
    fn Y_OR_N_P "Y-OR-N-P" "(&optional control &rest arguments)" (ctx, a) { ask(ctx, a, "(y or n) ") }
    /// Ask a yes-or-no question on *QUERY-IO* (yes or no).
    fn YES_OR_NO_P "YES-OR-NO-P" "(&optional control &rest arguments)" (ctx, a) { ask(ctx, a, "(yes or no) ") }
}

fn ask(ctx: &mut Ctx, a: &[Value], hint: &str) -> R {
    let q = w().s.query_io.value();
    let s = st::output_designator(ctx, &q)?;
    if let Some(c) = opt(a, 0) {
        let text = crate::format::format_to_string(ctx, c, &a[1..])?;
        st::write_str(ctx, &s, &text)?;
    }
    st::write_str(ctx, &s, hint)?;
    st::force_output(ctx, &s)?;
    let inp = st::input_designator(ctx, &q)?;
    loop {
        let Some((line, _)) = st::read_line(ctx, &inp)? else {
            return Ok(Value::Nil);
        };
        let t = line.trim().to_lowercase();
        if t == "y" || t == "yes" {
            return Ok(Value::t());
        }
        if t == "n" || t == "no" {
            return Ok(Value::Nil);
        }
        st::write_str(ctx, &s, hint)?;
        st::force_output(ctx, &s)?;
    }
}

fn write_items(ctx: &mut Ctx, s: &Gc<Stream>, items: &[Value]) -> R<()> {
    let mut bytes = Vec::new();
    let mut text = String::new();
    for v in items {
        match v {
            Value::Char(c) => text.push(*c),
            Value::Fixnum(b) if (0..256).contains(b) => bytes.push(*b as u8),
            other => {
                return Err(cond::type_error(
                    ctx,
                    other.clone(),
                    "(OR CHARACTER (UNSIGNED-BYTE 8))",
                ))
            }
        }
    }
    if !text.is_empty() {
        st::write_str(ctx, s, &text)?;
    }
    if !bytes.is_empty() {
        st::write_bytes(ctx, s, &bytes)?;
    }
    Ok(())
}

fn pprint_list(ctx: &mut Ctx, a: &[Value], kind: NewlineKind, tabsize: usize) -> R {
    let s = st::output_designator(ctx, &a[0])?;
    let colon = opt(a, 2).is_none_or(|v| v.truthy());
    let list = a[1].clone();
    // A circular or dotted list goes to the printer itself, which knows
    // *PRINT-CIRCLE* labels and the dotted tail (the element loop below
    // would never end on a circular one).
    let proper = list.is_nil() || super::lists::last_cons(&list).is_some_and(|c| c.cdr().is_nil());
    if !list.is_list() || !proper {
        print_obj(ctx, &list, &s, Opts::prin1())?;
        return Ok(Value::Nil);
    }
    let existing = st::pretty_state(&s);
    let o = Opts::current();
    let state = existing.clone().unwrap_or_else(|| {
        Rc::new(RefCell::new(PrettyState::new(
            s.column(),
            o.right_margin,
            o.miser_width,
            o.lines,
            o.readably,
        )))
    });
    let (p, x) = if colon { ("(", ")") } else { ("", "") };
    state.borrow_mut().start_block(Some(p), false, x);
    let items = list.list_to_vec();
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            state.borrow_mut().write_str(" ");
            if tabsize > 0 {
                state.borrow_mut().tab(TabKind::SectionRelative, 0, tabsize);
            }
            state.borrow_mut().newline(kind);
        }
        let mut pr = printer::Printer::into_pretty(Some(ctx), Opts::prin1(), state.clone());
        pr.print(it);
    }
    state.borrow_mut().end_block();
    if existing.is_none() {
        let text = state.borrow_mut().finish();
        st::write_str(ctx, &s, &text)?;
    }
    Ok(Value::Nil)
}

/// Make a standard stream for file descriptor 0, 1 or 2.
pub fn std_stream(fd: i32) -> Value {
    let io = Box::new(st::io::StdIo { fd });
    let tty = unsafe { libc::isatty(fd) } == 1;
    let b = st::ByteStream::new(io, fd == 0, fd != 0, st::Encoding::Utf8, tty || fd == 2);
    let s = Stream::new(StreamKind::Bytes(b), "FD-STREAM");
    let v = s.into_value();
    if let Value::Stream(g) = &v {
        st::io::register_standard(g);
    }
    v
}

/// A string value for a vector of characters (used by tests).
pub fn chars_value(c: Vec<char>) -> Value {
    Array::string_from_chars(c)
}

#[allow(dead_code)]
fn _elem(_: ElemType) {}

/// Part of an octet vector that READ-SEQUENCE fills in place. The vector
/// is borrowed only for each read; if another process shrinks it while
/// this one waits, the read fails instead of writing out of bounds.
struct OctetRange<'a> {
    arr: &'a crate::array::Array,
    start: usize,
    end: usize,
}

impl crate::stream::ByteDest for OctetRange<'_> {
    fn len(&self) -> usize {
        self.end - self.start
    }
    fn with(
        &self,
        from: usize,
        f: &mut dyn FnMut(&mut [u8]) -> std::io::Result<Option<usize>>,
    ) -> std::io::Result<Option<usize>> {
        // The end is checked against the array's size now: another
        // process may have adjusted it, or what it is displaced to.
        let fits = self.end <= self.arr.total_size();
        self.arr.with_data_mut(|d, off| match d {
            ArrayData::U8(d) if fits && off + self.end <= d.len() => {
                f(&mut d[off + self.start + from..off + self.end])
            }
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the vector changed size during READ-SEQUENCE",
            )),
        })
    }
}

/// FORMAT to a stream designator (T meaning *STANDARD-OUTPUT*, not
/// *TERMINAL-IO*); returns how many of ARGS the directives used (all of
/// them for a function control).
fn format_to_stream(ctx: &mut Ctx, dest: &Value, control: &Value, args: &[Value]) -> R<usize> {
    let dest = if dest.eq(&Value::t()) {
        Value::Nil
    } else {
        dest.clone()
    };
    let s = st::output_designator(ctx, &dest)?;
    if let Some(p) = st::pretty_state(&s) {
        return crate::format::format_to_pretty(ctx, p, control, args);
    }
    let (text, used) = match control {
        Value::Function(_) => (
            crate::format::format_with_column(ctx, control, args, s.column())?,
            args.len(),
        ),
        _ => crate::format::format_counting(ctx, control, args, s.column())?,
    };
    st::write_str(ctx, &s, &text)?;
    Ok(used)
}

/// A column count for the pretty printer: at most what FORMAT allows
/// (`format::MAX_PARAM`), since the spaces are really written.
fn column(ctx: &mut Ctx, v: &Value) -> R<usize> {
    match v {
        Value::Fixnum(n) if (0..=crate::format::MAX_PARAM).contains(n) => Ok(*n as usize),
        _ => Err(cond::type_error(
            ctx,
            v.clone(),
            &format!("(INTEGER 0 {})", crate::format::MAX_PARAM),
        )),
    }
}
