//! READ on streams: text is gathered from the stream until it holds one
//! complete datum, which the reader parses; what follows is pushed back.
//! String input streams are parsed in place.

use super::{ReadError, Reader, Span};
use crate::ctx::{Ctx, R};
use crate::gc::Gc;
use crate::stream::{self as st, Stream};
use crate::value::Value;

/// How READ treats the end of the stream.
pub struct EofSpec {
    /// Signal END-OF-FILE (else return `value`).
    pub error: bool,
    /// Value to return at end of file.
    pub value: Value,
}

fn needs_more(text: &str, consumed: usize) -> bool {
    if consumed < text.len() {
        return false;
    }
    !text.trim_end().ends_with([')', '"'])
}

/// Read one datum from a stream.
pub fn read_from(ctx: &mut Ctx, s: &Gc<Stream>, eof: &EofSpec, preserve_ws: bool) -> R {
    let sv = Value::Stream(s.clone());
    // In-place parsing of string streams.
    if let Some(text) = st::string_in_rest(s) {
        let (res, consumed) = {
            let mut rd = Reader::new(ctx, 0, false);
            match rd.read(Span::new(&text)) {
                Ok((rest, v)) => (Ok(v), rest.location_offset()),
                Err(e) => (Err(e), text.len()),
            }
        };
        let mut consumed_chars = text[..consumed].chars().count();
        match res {
            Ok(Some(v)) if !matches!(v, Value::Unbound) => {
                if !preserve_ws && text[consumed..].starts_with(super::is_whitespace_str) {
                    consumed_chars += 1;
                }
                st::string_in_skip(s, consumed_chars);
                return Ok(v);
            }
            Ok(_) => {
                st::string_in_skip(s, consumed_chars);
                return eof_result(ctx, &sv, eof);
            }
            Err(ReadError::Incomplete(..)) => {
                st::string_in_skip(s, consumed_chars);
                return Err(crate::conditions::end_of_file(ctx, sv));
            }
            Err(e) => {
                st::string_in_skip(s, consumed_chars);
                return Err(super::error_to_exit(ctx, e, sv));
            }
        }
    }
    let mut text = String::new();
    let mut at_eof = false;
    loop {
        if !at_eof {
            match st::read_char(ctx, s)? {
                Some(c) => {
                    text.push(c);
                    st::read_available(ctx, s, &mut text, 64 * 1024)?;
                }
                None => at_eof = true,
            }
        }
        let (res, consumed) = {
            let mut rd = Reader::new(ctx, 0, false);
            match rd.read(Span::new(&text)) {
                Ok((rest, v)) => (Ok(v), rest.location_offset()),
                Err(e) => (Err(e), 0),
            }
        };
        match res {
            Ok(Some(v)) if !matches!(v, Value::Unbound) => {
                if !at_eof && needs_more(&text, consumed) {
                    continue;
                }
                let mut rest = &text[consumed..];
                if !preserve_ws && rest.starts_with(super::is_whitespace_str) {
                    let c = rest.chars().next().unwrap();
                    rest = &rest[c.len_utf8()..];
                }
                st::unread_str(s, rest);
                return Ok(v);
            }
            Ok(_) => {
                if at_eof {
                    return eof_result(ctx, &sv, eof);
                }
                // Only whitespace or comments so far: drop them and wait.
                if consumed == text.len() {
                    text.clear();
                }
            }
            Err(ReadError::Incomplete(..)) if !at_eof => {}
            Err(ReadError::Incomplete(..)) => return Err(crate::conditions::end_of_file(ctx, sv)),
            Err(e) => return Err(super::error_to_exit(ctx, e, sv)),
        }
    }
}

fn eof_result(ctx: &mut Ctx, sv: &Value, eof: &EofSpec) -> R {
    if eof.error {
        Err(crate::conditions::end_of_file(ctx, sv.clone()))
    } else {
        Ok(eof.value.clone())
    }
}
