//! The Lisp reader. nom parses the lexical pieces (whitespace, comments,
//! tokens, strings) on a located span, so every list read from source
//! carries its file, line and column; the recursive reader above them
//! interns symbols, evaluates feature expressions and `#.`, and builds
//! conses.

pub mod backquote;
pub mod readtable;
pub mod stream;

use crate::compiler::SourceMap;
use crate::ctx::{Ctx, Exit, Loc};
use crate::gc::Gc;
use crate::package::Status;
use crate::symbol::{sym_value, Symbol};
use crate::value::{list_from, list_with_tail, Value};
use crate::world::{intern, symbol_of, w};
use hashbrown::HashMap;
use nom::bytes::complete::{take_till, take_while};
use nom::character::complete::char as nchar;
use nom::{IResult, Input, Parser};
use nom_locate::LocatedSpan;
use std::rc::Rc;

/// Longest vector `#N(` or `#N*` fills out to: the length comes from the
/// text, so a larger one is a reader error rather than an allocation abort.
const FILL_LIMIT: usize = 1 << 24;
/// ARRAY-RANK-LIMIT, for `#NA`.
const RANK_LIMIT: u64 = 65529;

fn too_long(n: u64) -> String {
    format!("vector length {n} is larger than the reader fills out ({FILL_LIMIT})")
}

/// Input with line and column tracking.
pub type Span<'a> = LocatedSpan<&'a str>;

/// Why reading failed.
#[derive(Debug)]
pub enum ReadError {
    /// The input ended inside a datum (more text could complete it).
    Incomplete(String, Loc),
    /// Malformed input.
    Syntax(String, Loc),
    /// A Lisp condition was signalled (by `#.`, interning, ...).
    Exit(Exit),
}

type RResult<'a, T> = Result<(Span<'a>, T), ReadError>;

fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c' | '\x0b')
}

/// Whether `c` is whitespace to the reader (usable as a string pattern).
pub fn is_whitespace_str(c: char) -> bool {
    is_whitespace(c)
}

thread_local! {
    /// Terminating macro characters of the user's readtable, set when a
    /// read starts (empty almost always, so the check is one branch).
    static USER_TERMINATORS: std::cell::RefCell<Vec<char>> = const { std::cell::RefCell::new(Vec::new()) };
    static HAS_USER_TERMINATORS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn is_terminating(c: char) -> bool {
    matches!(c, '"' | '\'' | '(' | ')' | ',' | ';' | '`')
        || HAS_USER_TERMINATORS.with(|h| h.get())
            && USER_TERMINATORS.with(|t| t.borrow().contains(&c))
}

/// Whether `c` ends a token.
pub fn is_delimiter(c: char) -> bool {
    is_whitespace(c) || is_terminating(c)
}

/// A token: its characters and which of them were escaped.
#[derive(Debug, Default)]
pub struct Token {
    /// Characters, escapes removed.
    pub chars: Vec<char>,
    /// Per character: whether it was escaped.
    pub escaped: Vec<bool>,
    /// Whether any escape was used.
    pub any_escape: bool,
}

/// nom: a `;` comment to the end of the line.
fn line_comment(i: Span) -> IResult<Span, ()> {
    let (i, _) = nchar(';').parse(i)?;
    let (i, _) = take_till(|c| c == '\n').parse(i)?;
    Ok((i, ()))
}

/// nom: whitespace.
fn whitespace1(i: Span) -> IResult<Span, ()> {
    let (rest, s) = take_while(is_whitespace).parse(i)?;
    if s.fragment().is_empty() {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Space,
        )));
    }
    Ok((rest, ()))
}

/// Skip a `#|...|#` comment (nested) starting at `i` (which begins with
/// `#|`). Returns None if unterminated.
fn block_comment(i: Span) -> Option<Span> {
    let s = i.fragment();
    let b = s.as_bytes();
    let mut depth = 0;
    let mut k = 0;
    while k + 1 < b.len() {
        if b[k] == b'#' && b[k + 1] == b'|' {
            depth += 1;
            k += 2;
        } else if b[k] == b'|' && b[k + 1] == b'#' {
            depth -= 1;
            k += 2;
            if depth == 0 {
                return Some(i.take_from(k));
            }
        } else {
            k += 1;
        }
    }
    None
}

/// nom: a token, with `\` and `|...|` escapes. Fails (Incomplete) if an
/// escape is not closed.
fn token(i: Span) -> Result<(Span, Token), ()> {
    let s = i.fragment();
    let mut t = Token::default();
    let mut it = s.char_indices().peekable();
    let mut end = s.len();
    while let Some(&(pos, c)) = it.peek() {
        if c == '\\' {
            it.next();
            match it.next() {
                Some((_, e)) => {
                    t.chars.push(e);
                    t.escaped.push(true);
                    t.any_escape = true;
                }
                None => return Err(()),
            }
        } else if c == '|' {
            it.next();
            t.any_escape = true;
            loop {
                match it.next() {
                    Some((_, '|')) => break,
                    Some((_, '\\')) => match it.next() {
                        Some((_, e)) => {
                            t.chars.push(e);
                            t.escaped.push(true);
                        }
                        None => return Err(()),
                    },
                    Some((_, e)) => {
                        t.chars.push(e);
                        t.escaped.push(true);
                    }
                    None => return Err(()),
                }
            }
        } else if is_delimiter(c) {
            end = pos;
            break;
        } else {
            it.next();
            t.chars.push(c);
            t.escaped.push(false);
        }
    }
    Ok((i.take_from(end), t))
}

/// nom-style: a string literal after the opening quote.
fn string_body(i: Span) -> Result<(Span, String), ()> {
    let s = i.fragment();
    let mut out = String::new();
    let mut it = s.char_indices();
    while let Some((pos, c)) = it.next() {
        match c {
            '"' => return Ok((i.take_from(pos + 1), out)),
            '\\' => match it.next() {
                Some((_, e)) => out.push(e),
                None => return Err(()),
            },
            c => out.push(c),
        }
    }
    Err(())
}

/// Reads Lisp data from text.
pub struct Reader<'c> {
    /// The process whose package and variables govern reading.
    pub ctx: &'c mut Ctx,
    /// Source file index for locations.
    pub file: u32,
    /// Where list locations are recorded (None: not recorded).
    pub srcmap: Option<SourceMap>,
    suppress: bool,
    labels: HashMap<u64, Value>,
    /// Line added to span lines (when reading a fragment of a file).
    pub line_offset: u32,
    depth: usize,
    /// The readtable in effect when this reader was made, if it defines
    /// user macro characters.
    user_table: Option<Value>,
    case: readtable::Case,
}

impl<'c> Reader<'c> {
    /// A reader for text from `file` (an index from `World::file_id`).
    pub fn new(ctx: &'c mut Ctx, file: u32, record: bool) -> Self {
        let rt = readtable::current();
        let (case, user_table) = match readtable::get(&rt) {
            Some(t) => {
                let terms = t.terminators();
                HAS_USER_TERMINATORS.with(|h| h.set(!terms.is_empty()));
                USER_TERMINATORS.with(|u| *u.borrow_mut() = terms);
                (
                    t.case(),
                    if t.has_macros() {
                        Some(rt.clone())
                    } else {
                        None
                    },
                )
            }
            None => (readtable::Case::Upcase, None),
        };
        Reader {
            ctx,
            file,
            srcmap: if record {
                Some(SourceMap::default())
            } else {
                None
            },
            // *READ-SUPPRESS* as the read starts; #+ and #- set it while
            // they skip a form.
            suppress: w().s.read_suppress.value().truthy(),
            labels: HashMap::new(),
            line_offset: 0,
            depth: 0,
            user_table,
            case,
        }
    }

    /// The location of the start of `i`.
    pub fn loc(&self, i: &Span) -> Loc {
        Loc {
            file: self.file,
            line: i.location_line() + self.line_offset,
            col: i.get_utf8_column() as u32,
        }
    }

    fn syntax<T>(&self, i: &Span, msg: impl Into<String>) -> Result<T, ReadError> {
        Err(ReadError::Syntax(msg.into(), self.loc(i)))
    }

    fn incomplete<T>(&self, i: &Span, msg: impl Into<String>) -> Result<T, ReadError> {
        Err(ReadError::Incomplete(msg.into(), self.loc(i)))
    }

    /// Skip whitespace and comments.
    pub fn skip_ws<'a>(&self, mut i: Span<'a>) -> Result<Span<'a>, ReadError> {
        loop {
            if let Ok((r, _)) = whitespace1(i) {
                i = r;
                continue;
            }
            if let Ok((r, _)) = line_comment(i) {
                i = r;
                continue;
            }
            if i.fragment().starts_with("#|") {
                match block_comment(i) {
                    Some(r) => {
                        i = r;
                        continue;
                    }
                    None => return self.incomplete(&i, "unterminated #| comment"),
                }
            }
            return Ok(i);
        }
    }

    /// Read one datum. Returns None if only whitespace and comments remain.
    pub fn read<'a>(&mut self, i: Span<'a>) -> RResult<'a, Option<Value>> {
        let i = self.skip_ws(i)?;
        if i.fragment().is_empty() {
            return Ok((i, None));
        }
        let (i, v) = self.datum(i)?;
        Ok((i, Some(v)))
    }

    fn read_required<'a>(&mut self, i: Span<'a>, what: &str) -> RResult<'a, Value> {
        let i = self.skip_ws(i)?;
        if i.fragment().is_empty() {
            return self.incomplete(&i, format!("end of file after {}", what));
        }
        if i.fragment().starts_with(')') {
            return self.syntax(&i, format!("nothing appears after {} in a list", what));
        }
        self.datum(i)
    }

    fn datum<'a>(&mut self, i: Span<'a>) -> RResult<'a, Value> {
        if self.ctx.stack_exhausted() || self.depth > 100_000 {
            return self.syntax(&i, "input is nested too deeply");
        }
        self.depth += 1;
        let r = self.datum_inner(i);
        self.depth -= 1;
        r
    }

    fn datum_inner<'a>(&mut self, i: Span<'a>) -> RResult<'a, Value> {
        let c = i.fragment().chars().next().unwrap();
        if let Some(m) = self.user_macro(c) {
            return self.call_user_macro(i, m);
        }
        let wd = w();
        match c {
            '(' => self.list(i),
            ')' => self.syntax(&i, "unmatched close parenthesis"),
            '\'' => self.prefixed(i, 1, Value::Symbol(wd.s.quote.clone()), "quote"),
            '`' => self.prefixed(i, 1, Value::Symbol(wd.s.quasiquote.clone()), "backquote"),
            ',' => {
                let rest = &i.fragment()[1..];
                if rest.starts_with('@') {
                    self.prefixed(i, 2, Value::Symbol(wd.s.unquote_splicing.clone()), "comma")
                } else if rest.starts_with('.') {
                    self.prefixed(i, 2, Value::Symbol(wd.s.unquote_nsplicing.clone()), "comma")
                } else {
                    self.prefixed(i, 1, Value::Symbol(wd.s.unquote.clone()), "comma")
                }
            }
            '"' => {
                let after = i.take_from(1);
                match string_body(after) {
                    Ok((rest, _)) if self.suppress => Ok((rest, Value::Nil)),
                    Ok((rest, s)) => Ok((rest, crate::array::Array::string(&s))),
                    Err(()) => self.incomplete(&i, "unterminated string"),
                }
            }
            '#' => self.dispatch(i),
            _ => {
                let start = i;
                let (rest, tok) = match token(i) {
                    Ok(x) => x,
                    Err(()) => return self.incomplete(&start, "unterminated escape in symbol"),
                };
                let v = self.interpret_token(&start, tok)?;
                Ok((rest, v))
            }
        }
    }

    /// The user's definition of macro character `c`, if any.
    fn user_macro(&self, c: char) -> Option<readtable::MacroChar> {
        let t = self.user_table.as_ref()?;
        readtable::get(t)?.macro_char(c)
    }

    /// The user's function for dispatch character `d` with `sub`.
    fn user_dispatch(&self, d: char, sub: char) -> Option<Value> {
        let t = self.user_table.as_ref()?;
        readtable::get(t)?.dispatch_fn(d, sub)
    }

    fn call_user_macro<'a>(&mut self, i: Span<'a>, m: readtable::MacroChar) -> RResult<'a, Value> {
        let after = i.take_from(m.ch.len_utf8());
        if !m.dispatching {
            return self.run_reader_fn(after, &m.function, vec![Value::Char(m.ch)]);
        }
        let frag = *after.fragment();
        let ndigits = frag.chars().take_while(|c| c.is_ascii_digit()).count();
        let Some(sub) = frag[ndigits..].chars().next() else {
            return self.incomplete(&i, format!("end of file after dispatch character {}", m.ch));
        };
        let arg = frag[..ndigits].parse().ok();
        let Some(f) = self.user_dispatch(m.ch, sub) else {
            return self.syntax(
                &i,
                format!("no dispatch function defined for {}{}", m.ch, sub),
            );
        };
        self.call_user_dispatch(after.take_from(ndigits + sub.len_utf8()), f, sub, arg)
    }

    fn call_user_dispatch<'a>(
        &mut self,
        after: Span<'a>,
        f: Value,
        sub: char,
        arg: Option<u64>,
    ) -> RResult<'a, Value> {
        let arg = arg.map(|n| Value::int(n as i64)).unwrap_or(Value::Nil);
        self.run_reader_fn(after, &f, vec![Value::Char(sub), arg])
    }

    /// Call a reader macro function on a stream over the rest of the text,
    /// then continue after what it consumed. A function that returns no
    /// values read nothing (like a comment): the next datum is read.
    fn run_reader_fn<'a>(
        &mut self,
        after: Span<'a>,
        f: &Value,
        extra: Vec<Value>,
    ) -> RResult<'a, Value> {
        let chars: Vec<char> = after.fragment().chars().collect();
        let stream = crate::stream::make_string_input(&chars, 0, chars.len());
        let mut args = vec![stream.clone()];
        args.extend(extra);
        let eof = Value::Symbol(crate::world::intern_exported("END-OF-FILE", &w().cl));
        let f = f.clone();
        let r = crate::conditions::handler_case(self.ctx, eof, |ctx| {
            crate::eval::apply(ctx, &f, &args)
        });
        let nvals = self.ctx.nvals;
        let pos = match &stream {
            Value::Stream(s) => crate::stream::string_in_position(s).unwrap_or(0),
            _ => 0,
        };
        let bytes: usize = chars[..pos.min(chars.len())]
            .iter()
            .map(|c| c.len_utf8())
            .sum();
        let rest = after.take_from(bytes);
        match r {
            Ok(Ok(v)) if nvals == 0 => {
                let _ = v;
                self.read_required(rest, "a reader macro")
            }
            Ok(Ok(v)) => Ok((rest, v)),
            // The macro ran off the end of the text: more input may complete it.
            Ok(Err(_)) => self.incomplete(&after, "end of file inside a reader macro"),
            Err(e) => Err(ReadError::Exit(e)),
        }
    }

    fn prefixed<'a>(
        &mut self,
        i: Span<'a>,
        skip: usize,
        head: Value,
        what: &str,
    ) -> RResult<'a, Value> {
        let loc = self.loc(&i);
        let (rest, x) = self.read_required(i.take_from(skip), what)?;
        if self.suppress {
            return Ok((rest, Value::Nil));
        }
        let v = list_from([head, x]);
        if let Some(m) = &mut self.srcmap {
            m.insert(&v, loc);
        }
        Ok((rest, v))
    }

    fn list<'a>(&mut self, i: Span<'a>) -> RResult<'a, Value> {
        let loc = self.loc(&i);
        let mut items = Vec::new();
        let mut tail = Value::Nil;
        let mut cur = i.take_from(1);
        loop {
            cur = self.skip_ws(cur)?;
            let frag = *cur.fragment();
            if frag.is_empty() {
                return Err(ReadError::Incomplete(
                    "end of file inside a list".into(),
                    loc,
                ));
            }
            if frag.starts_with(')') {
                cur = cur.take_from(1);
                break;
            }
            // A lone dot: dotted pair (anywhere, when the list is being
            // skipped: its structure does not matter then).
            if frag.starts_with('.') && frag[1..].chars().next().is_none_or(is_delimiter) {
                if self.suppress {
                    cur = cur.take_from(1);
                    continue;
                }
                if items.is_empty() {
                    return self.syntax(&cur, "nothing appears before . in list");
                }
                let (r, t) = self.read_required(cur.take_from(1), "a dot")?;
                tail = t;
                let r = self.skip_ws(r)?;
                if r.fragment().is_empty() {
                    return Err(ReadError::Incomplete(
                        "end of file inside a list".into(),
                        loc,
                    ));
                }
                if !r.fragment().starts_with(')') {
                    return self.syntax(&r, "more than one object follows . in list");
                }
                cur = r.take_from(1);
                break;
            }
            let (r, v) = self.datum(cur)?;
            if !matches!(v, Value::Unbound) {
                items.push(v);
            }
            cur = r;
        }
        if self.suppress {
            return Ok((cur, Value::Nil));
        }
        let v = list_with_tail(items, tail);
        if let Some(m) = &mut self.srcmap {
            m.insert(&v, loc);
        }
        Ok((cur, v))
    }

    fn dispatch<'a>(&mut self, i: Span<'a>) -> RResult<'a, Value> {
        let frag = *i.fragment();
        let mut k = 1;
        let digits: String = frag[1..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        k += digits.len();
        let arg: Option<u64> = if digits.is_empty() {
            None
        } else {
            digits.parse().ok()
        };
        let Some(sub) = frag[k..].chars().next() else {
            return self.incomplete(&i, "end of file after #");
        };
        let after = i.take_from(k + sub.len_utf8());
        if let Some(f) = self.user_dispatch('#', sub) {
            return self.call_user_dispatch(after, f, sub, arg);
        }
        let wd = w();
        match sub {
            '\'' => self.prefixed(
                i.take_from(k - 1),
                2,
                Value::Symbol(wd.s.function.clone()),
                "#'",
            ),
            '(' => {
                let (rest, l) = self.list(i.take_from(k))?;
                if self.suppress {
                    return Ok((rest, Value::Nil));
                }
                let mut items = l.list_to_vec();
                if let Some(n) = arg {
                    if n > FILL_LIMIT as u64 {
                        return self.syntax(&i, too_long(n));
                    }
                    let n = n as usize;
                    if items.len() > n {
                        return self.syntax(&i, "vector longer than specified length");
                    }
                    let last = items.last().cloned().unwrap_or(Value::Nil);
                    items.resize(n, last);
                }
                Ok((rest, crate::array::Array::general(items)))
            }
            '\\' => {
                // The character itself, then any constituents.
                let s = *after.fragment();
                let Some(first) = s.chars().next() else {
                    return self.incomplete(&i, "end of file after #\\");
                };
                let mut len = first.len_utf8();
                let name: String = std::iter::once(first)
                    .chain(s[len..].chars().take_while(|c| !is_delimiter(*c)))
                    .collect();
                len = name.len();
                let rest = after.take_from(len);
                if self.suppress {
                    return Ok((rest, Value::Nil));
                }
                if name.chars().count() == 1 {
                    return Ok((rest, Value::Char(first)));
                }
                match crate::chars::name_char(&name) {
                    Some(c) => Ok((rest, Value::Char(c))),
                    None => self.syntax(&i, format!("unrecognized character name: \"{}\"", name)),
                }
            }
            ':' => {
                let (rest, tok) = match token(after) {
                    Ok(x) => x,
                    Err(()) => return self.incomplete(&i, "unterminated escape in symbol"),
                };
                if self.suppress {
                    return Ok((rest, Value::Nil));
                }
                let name = self.case_convert(&tok);
                Ok((rest, Value::Symbol(Gc::new(Symbol::new(name.into())))))
            }
            '.' => {
                let (rest, form) = self.read_required(after, "#.")?;
                if self.suppress {
                    return Ok((rest, Value::Nil));
                }
                if !w().s.read_eval.value().truthy() {
                    return self.syntax(&i, "can't read #. while *READ-EVAL* is NIL");
                }
                let v = crate::eval::eval(self.ctx, &form).map_err(ReadError::Exit)?;
                Ok((rest, v))
            }
            '+' | '-' => {
                // The feature expression is read in the keyword package and
                // always evaluated, even inside a skipped form or under
                // *READ-SUPPRESS* (as SBCL does): how much the skip takes
                // depends on it.
                let (r1, feature) = {
                    let saved = wd.s.package.value();
                    let was = self.suppress;
                    wd.s.package.set_value(Value::Package(wd.keyword.clone()));
                    self.suppress = false;
                    let r = self.read_required(after, "#+");
                    self.suppress = was;
                    wd.s.package.set_value(saved);
                    r?
                };
                let holds = self.feature_holds(&feature);
                let keep = if sub == '+' { holds } else { !holds };
                if keep {
                    self.read_required(r1, "a feature expression")
                } else {
                    let was = self.suppress;
                    self.suppress = true;
                    let r = self.read_required(r1, "a feature expression");
                    self.suppress = was;
                    let (r2, _) = r?;
                    // The skipped form reads as nothing: read the next one.
                    let r2 = self.skip_ws(r2)?;
                    if r2.fragment().is_empty() || r2.fragment().starts_with(')') {
                        return Ok((r2, Value::Unbound));
                    }
                    self.datum(r2)
                }
            }
            'x' | 'X' => self.radix_number(after, 16, &i),
            'b' | 'B' => self.radix_number(after, 2, &i),
            'o' | 'O' => self.radix_number(after, 8, &i),
            'r' | 'R' => match arg {
                _ if self.suppress => self.radix_number(after, 10, &i),
                Some(b) if (2..=36).contains(&b) => self.radix_number(after, b as u32, &i),
                _ => self.syntax(&i, "bad radix in #R"),
            },
            '*' => {
                let (rest, tok) = token(after)
                    .map_err(|_| ReadError::Incomplete("bit vector".into(), self.loc(&i)))?;
                if self.suppress {
                    return Ok((rest, Value::Nil));
                }
                let mut bits = Vec::new();
                for c in &tok.chars {
                    match c {
                        '0' => bits.push(0u8),
                        '1' => bits.push(1u8),
                        _ => return self.syntax(&i, "illegal character in bit vector"),
                    }
                }
                if let Some(n) = arg {
                    if n > FILL_LIMIT as u64 {
                        return self.syntax(&i, too_long(n));
                    }
                    if bits.len() > n as usize {
                        return self.syntax(&i, "bit vector longer than specified length");
                    }
                    let last = *bits.last().unwrap_or(&0);
                    bits.resize(n as usize, last);
                }
                let a = crate::array::Array::vector(
                    crate::array::ArrayData::U8(bits),
                    crate::array::ElemType::Bit,
                );
                Ok((rest, a.into_value()))
            }
            'c' | 'C' => {
                let (rest, l) = self.read_required(after, "#C")?;
                if self.suppress {
                    return Ok((rest, Value::Nil));
                }
                let parts = l.list_to_vec();
                if parts.len() != 2 || !parts.iter().all(|p| p.is_real()) {
                    return self.syntax(&i, "bad #C syntax");
                }
                Ok((
                    rest,
                    crate::number::make_complex(parts[0].clone(), parts[1].clone()),
                ))
            }
            'a' | 'A' => {
                let (rest, contents) = self.read_required(after, "#A")?;
                if self.suppress {
                    return Ok((rest, Value::Nil));
                }
                let rank = arg.unwrap_or(1);
                if rank >= RANK_LIMIT {
                    return self.syntax(&i, format!("array rank {rank} is not below {RANK_LIMIT}"));
                }
                let rank = rank as usize;
                match crate::builtins::arrays::array_from_contents(rank, &contents) {
                    Some(v) => Ok((rest, v)),
                    None => self.syntax(&i, "bad #A syntax"),
                }
            }
            's' | 'S' => {
                let (rest, spec) = self.read_required(after, "#S")?;
                if self.suppress {
                    return Ok((rest, Value::Nil));
                }
                let v = crate::builtins::structs::read_structure(self.ctx, &spec)
                    .map_err(ReadError::Exit)?;
                Ok((rest, v))
            }
            'p' | 'P' => {
                let (rest, s) = self.read_required(after, "#P")?;
                if self.suppress {
                    return Ok((rest, Value::Nil));
                }
                let v =
                    crate::builtins::files::pathname_from(self.ctx, &s).map_err(ReadError::Exit)?;
                Ok((rest, v))
            }
            '=' | '#' if self.suppress => {
                if sub == '#' {
                    return Ok((after, Value::Nil));
                }
                let (rest, _) = self.read_required(after, "#=")?;
                Ok((rest, Value::Nil))
            }
            '=' => {
                let n = arg.unwrap_or(0);
                let placeholder = Value::Symbol(Gc::new(Symbol::new("#=".into())));
                self.labels.insert(n, placeholder.clone());
                let (rest, v) = self.read_required(after, "#=")?;
                let fixed = backquote::replace_placeholder(&v, &placeholder, &v);
                self.labels.insert(n, fixed.clone());
                Ok((rest, fixed))
            }
            '#' => {
                let n = arg.unwrap_or(0);
                match self.labels.get(&n) {
                    Some(v) => Ok((after, v.clone())),
                    None => self.syntax(&i, format!("reference to undefined label #{}#", n)),
                }
            }
            '|' => {
                // A block comment where a datum was expected.
                match block_comment(i.take_from(k - 1)) {
                    Some(r) => {
                        let r = self.skip_ws(r)?;
                        if r.fragment().is_empty() {
                            return self.incomplete(&r, "end of file");
                        }
                        self.datum(r)
                    }
                    None => self.incomplete(&i, "unterminated #| comment"),
                }
            }
            '<' => self.syntax(&i, "unreadable object #<...>"),
            ')' | ' ' | '\n' | '\t' => {
                self.syntax(&i, format!("illegal sharp macro character: {:?}", sub))
            }
            other => self.syntax(&i, format!("no dispatch function defined for #\\{}", other)),
        }
    }

    fn radix_number<'a>(
        &mut self,
        after: Span<'a>,
        base: u32,
        at: &Span<'a>,
    ) -> RResult<'a, Value> {
        let (rest, tok) = match token(after) {
            Ok(x) => x,
            Err(()) => return self.incomplete(at, "unterminated number"),
        };
        if self.suppress {
            return Ok((rest, Value::Nil));
        }
        let text: String = tok.chars.iter().collect();
        match crate::number::parse_number(&text, base, true) {
            Some(v) if v.is_integer() || matches!(v, Value::Ratio(_)) => Ok((rest, v)),
            _ => self.syntax(at, format!("#{} is not a rational in radix {}", text, base)),
        }
    }

    fn feature_holds(&self, f: &Value) -> bool {
        match f {
            Value::Symbol(_) | Value::Nil => {
                let feats = w().s.features.value();
                feats.iter().any(|x| x.eq(f))
            }
            Value::Cons(_) => {
                let head = f.first();
                let name = match &head {
                    Value::Symbol(s) => s.name().to_string(),
                    _ => String::new(),
                };
                let args = f.rest();
                match name.as_str() {
                    "AND" => args.iter().all(|x| self.feature_holds(&x)),
                    "OR" => args.iter().any(|x| self.feature_holds(&x)),
                    "NOT" => !self.feature_holds(&args.first()),
                    _ => false,
                }
            }
            _ => false,
        }
    }

    fn case_convert(&self, tok: &Token) -> String {
        let mode = match self.case {
            readtable::Case::Upcase => 'u',
            readtable::Case::Downcase => 'd',
            readtable::Case::Preserve => 'p',
            readtable::Case::Invert => 'i',
        };
        let unescaped = tok
            .chars
            .iter()
            .zip(&tok.escaped)
            .filter(|(_, e)| !**e)
            .map(|(c, _)| *c);
        let invert = if mode == 'i' {
            let (up, low) = unescaped.fold((false, false), |(u, l), c| {
                (
                    u || crate::chars::is_upper(c),
                    l || crate::chars::is_lower(c),
                )
            });
            Some(up && !low || low && !up)
        } else {
            None
        };
        tok.chars
            .iter()
            .zip(&tok.escaped)
            .map(|(c, e)| {
                if *e {
                    *c
                } else {
                    match mode {
                        'u' => crate::chars::char_upcase(*c),
                        'd' => crate::chars::char_downcase(*c),
                        'i' if invert == Some(true) => {
                            if crate::chars::is_upper(*c) {
                                crate::chars::char_downcase(*c)
                            } else {
                                crate::chars::char_upcase(*c)
                            }
                        }
                        _ => *c,
                    }
                }
            })
            .collect()
    }

    fn interpret_token(&mut self, at: &Span, tok: Token) -> Result<Value, ReadError> {
        if self.suppress {
            return Ok(Value::Nil);
        }
        if !tok.any_escape {
            let text: String = tok.chars.iter().collect();
            let base = match w().s.read_base.value() {
                Value::Fixnum(b) if (2..=36).contains(&b) => b as u32,
                _ => 10,
            };
            let single = !matches!(w().s.read_default_float_format.value(),
                Value::Symbol(s) if matches!(s.name(), "DOUBLE-FLOAT" | "LONG-FLOAT"));
            if let Some(n) = crate::number::parse_number(&text, base, single) {
                return Ok(n);
            }
            if text.chars().all(|c| c == '.') {
                return self.syntax(at, "too many dots");
            }
        }
        // Package markers (unescaped colons).
        let colons: Vec<usize> = tok
            .chars
            .iter()
            .zip(&tok.escaped)
            .enumerate()
            .filter(|(_, (c, e))| **c == ':' && !**e)
            .map(|(k, _)| k)
            .collect();
        let wd = w();
        if colons.is_empty() {
            let name = self.case_convert(&tok);
            let pkg = current_package();
            return Ok(sym_value(&intern(&name, &pkg).0));
        }
        let first = colons[0];
        let double = colons.len() == 2 && colons[1] == first + 1;
        if colons.len() > 2 || (colons.len() == 2 && !double) {
            return self.syntax(at, "too many colons in symbol");
        }
        let split = |a: usize, b: usize| Token {
            chars: tok.chars[a..b].to_vec(),
            escaped: tok.escaped[a..b].to_vec(),
            any_escape: tok.any_escape,
        };
        let name_start = if double { first + 2 } else { first + 1 };
        let name = self.case_convert(&split(name_start, tok.chars.len()));
        if first == 0 {
            if double {
                return self.syntax(at, "too many colons in symbol");
            }
            return Ok(sym_value(&intern(&name, &wd.keyword).0));
        }
        let pname = self.case_convert(&split(0, first));
        let pkg = match find_or_autoload_package(self.ctx, &pname).map_err(ReadError::Exit)? {
            Some(p) => p,
            None => {
                let loc = self.loc(at);
                let e = crate::conditions::reader_error(
                    self.ctx,
                    Value::Nil,
                    format!("package \"{}\" not found (at {})", pname, loc),
                );
                return Err(ReadError::Exit(e));
            }
        };
        if double {
            return Ok(sym_value(&intern(&name, &pkg).0));
        }
        match pkg.find(&name) {
            Some((s, Status::External)) => Ok(sym_value(&s)),
            Some((s, _)) if Rc::ptr_eq(&pkg, &wd.keyword) => Ok(sym_value(&s)),
            found => {
                let loc = self.loc(at);
                let msg = match found {
                    Some(_) => format!(
                        "the symbol \"{}\" is not external in the {} package (at {})",
                        name,
                        pkg.name(),
                        loc
                    ),
                    None => format!(
                        "symbol \"{}\" not found in the {} package (at {})",
                        name,
                        pkg.name(),
                        loc
                    ),
                };
                let e = crate::conditions::reader_error(self.ctx, Value::Package(pkg.clone()), msg);
                Err(ReadError::Exit(e))
            }
        }
    }
}

/// The current package (*PACKAGE*), CL-USER if unset.
pub fn current_package() -> Rc<crate::package::Package> {
    match w().s.package.value() {
        Value::Package(p) => p,
        _ => w().cl_user.clone(),
    }
}

/// Find a package, loading a bundled compatibility module that defines
/// it (USOCKET, COMM, PORT, ...) if needed.
pub fn find_or_autoload_package(
    ctx: &mut Ctx,
    name: &str,
) -> crate::ctx::R<Option<Rc<crate::package::Package>>> {
    if let Some(p) = w().find_package(name) {
        return Ok(Some(p));
    }
    crate::modules::autoload_package(ctx, name)?;
    Ok(w().find_package(name))
}

/// Read a type specifier from trusted text (used in error messages).
pub fn read_type_spec(text: &str) -> Value {
    read_trusted(text, &w().cl)
}

/// Read a symbol name such as "FOO" or "MP:PROCESS-NAME".
pub fn read_symbol_name(text: &str) -> Value {
    read_trusted(text, &w().cl_user)
}

fn read_trusted(text: &str, pkg: &Rc<crate::package::Package>) -> Value {
    let mut ctx = Ctx::new();
    let saved = w().s.package.value();
    w().s.package.set_value(Value::Package(pkg.clone()));
    let r = {
        let mut rd = Reader::new(&mut ctx, 0, false);
        rd.read(Span::new(text)).ok().and_then(|(_, v)| v)
    };
    w().s.package.set_value(saved);
    r.unwrap_or(Value::Nil)
}

/// Read all data from a string (e.g. a file's contents). The locations
/// of lists are recorded in the reader's source map.
pub fn read_all(reader: &mut Reader, text: &str) -> Result<Vec<Value>, ReadError> {
    let mut out = Vec::new();
    let mut i = Span::new(text);
    loop {
        let (rest, v) = reader.read(i)?;
        match v {
            Some(Value::Unbound) => {}
            Some(v) => out.push(v),
            None => return Ok(out),
        }
        i = rest;
    }
}

/// Byte length of a `#!` first line (to skip in scripts), or 0.
pub fn shebang_len(text: &str) -> usize {
    if text.starts_with("#!") {
        text.find('\n').map(|n| n + 1).unwrap_or(text.len())
    } else {
        0
    }
}

/// Convert a reader failure into a Lisp condition.
pub fn error_to_exit(ctx: &mut Ctx, e: ReadError, stream: Value) -> Exit {
    match e {
        ReadError::Exit(x) => x,
        ReadError::Syntax(msg, loc) | ReadError::Incomplete(msg, loc) => {
            let m = if loc.is_known() {
                format!("{} (at {})", msg, loc)
            } else {
                msg
            };
            crate::conditions::reader_error(ctx, stream, m)
        }
    }
}

/// The symbol of a value, for code that needs symbols (re-export).
pub fn sym(v: &Value) -> Option<Gc<Symbol>> {
    symbol_of(v)
}
