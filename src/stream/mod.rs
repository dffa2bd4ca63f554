//! Streams. Every byte-oriented stream (files, standard I/O, sockets)
//! shares one implementation over a read buffer and a write buffer, so
//! character and byte I/O mix freely (LispWorks socket streams are
//! bivalent), output leaves on FORCE-OUTPUT / FINISH-OUTPUT / CLOSE, and
//! a peer's last bytes are read into the buffer rather than reset.
//! String and composite streams (broadcast, two-way, ...) sit beside it.

pub mod io;

use crate::conditions;
use crate::ctx::{Ctx, R};
use crate::gc::{Gc, Trace, Tracer};
use crate::printer::pretty::PrettyState;
use crate::symbol::Symbol;
use crate::value::Value;
use crate::world::w;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

pub use io::{ByteIo, Encoding};

/// Size of write buffers before they are flushed on their own.
const WRITE_CHUNK: usize = 64 * 1024;
/// Largest size of read buffers.
const READ_CHUNK: usize = 64 * 1024;
/// First size of a read buffer: it doubles each time a read fills it, so
/// an idle connection costs 4 KiB and a bulk one soon reads 64 KiB at once.
const READ_START: usize = 4 * 1024;
/// Reads and writes at least this large skip the buffer when it is empty.
const DIRECT_READ: usize = 16 * 1024;

/// Where [`ByteStream::read_bytes_to`] puts bytes: storage of a fixed
/// length, lent out from an offset for one read or copy at a time.
pub trait ByteDest {
    /// How many bytes the destination takes.
    fn len(&self) -> usize;
    /// Whether it takes none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Run `f` on the destination's bytes from `from` to its end.
    fn with(
        &self,
        from: usize,
        f: &mut dyn FnMut(&mut [u8]) -> std::io::Result<Option<usize>>,
    ) -> std::io::Result<Option<usize>>;
}

impl ByteDest for RefCell<&mut [u8]> {
    fn len(&self) -> usize {
        self.borrow().len()
    }
    fn with(
        &self,
        from: usize,
        f: &mut dyn FnMut(&mut [u8]) -> std::io::Result<Option<usize>>,
    ) -> std::io::Result<Option<usize>> {
        f(&mut self.borrow_mut()[from..])
    }
}

/// Read side of a byte stream.
pub struct ReadBuf {
    /// Storage; bytes `pos..end` are unread.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
}

/// A stream over bytes: file, terminal, pipe or socket.
pub struct ByteStream {
    /// Where bytes come from and go to.
    pub io: RefCell<Box<dyn ByteIo>>,
    read: RefCell<ReadBuf>,
    write: RefCell<Vec<u8>>,
    unread: Cell<Option<char>>,
    /// Character encoding.
    pub encoding: Cell<Encoding>,
    /// Can be read.
    pub input: bool,
    /// Can be written.
    pub output: bool,
    /// Flush after every newline (terminals).
    pub line_buffered: bool,
}

/// The variants of streams.
pub enum StreamKind {
    /// Bytes with buffers.
    Bytes(ByteStream),
    /// Reading from a string.
    StringIn(RefCell<StringIn>),
    /// Writing to a string.
    StringOut(RefCell<Vec<char>>),
    /// Writing to each of several streams.
    Broadcast(Vec<Value>),
    /// Reading from several streams in turn.
    Concatenated(RefCell<Vec<Value>>),
    /// Input echoed to an output stream.
    Echo(Value, Value),
    /// Separate input and output streams.
    TwoWay(Value, Value),
    /// Whatever stream a special variable holds.
    Synonym(Gc<Symbol>),
    /// A pretty-printing stream (inside PPRINT-LOGICAL-BLOCK or a
    /// PRINT-OBJECT method called by the pretty printer).
    Pretty(Rc<RefCell<PrettyState>>),
}

/// State of a string input stream.
pub struct StringIn {
    chars: Vec<char>,
    pos: usize,
    end: usize,
}

/// A stream object.
pub struct Stream {
    /// The variant.
    pub kind: StreamKind,
    /// Characters pushed back by UNREAD-CHAR and the reader, read first
    /// (last pushed, first read).
    pushback: RefCell<Vec<char>>,
    open: Cell<bool>,
    column: Cell<usize>,
    /// Element type given at creation (CHARACTER, (UNSIGNED-BYTE 8), ...).
    pub element_type: RefCell<Value>,
    /// File name, for file streams.
    pub path: Option<String>,
    /// Extra data attached by other modules (e.g. the socket of a socket
    /// stream).
    pub extra: RefCell<Value>,
    /// Class name reported by CLASS-OF / TYPE-OF.
    pub type_name: &'static str,
}

impl Stream {
    /// A new stream of the given kind.
    pub fn new(kind: StreamKind, type_name: &'static str) -> Stream {
        Stream {
            kind,
            pushback: RefCell::new(Vec::new()),
            open: Cell::new(true),
            column: Cell::new(0),
            element_type: RefCell::new(Value::Symbol(w().s.character.clone())),
            path: None,
            extra: RefCell::new(Value::Nil),
            type_name,
        }
    }

    /// Wrap as a value.
    pub fn into_value(self) -> Value {
        Value::Stream(Gc::new(self))
    }

    /// The class name for CLASS-OF.
    pub fn class_name(&self) -> &'static str {
        match &self.kind {
            StreamKind::Bytes(_) => {
                if self.path.is_some() {
                    "FILE-STREAM"
                } else {
                    "STREAM"
                }
            }
            StreamKind::StringIn(_) | StreamKind::StringOut(_) => "STRING-STREAM",
            StreamKind::Broadcast(_) => "BROADCAST-STREAM",
            StreamKind::Concatenated(_) => "CONCATENATED-STREAM",
            StreamKind::Echo(..) => "ECHO-STREAM",
            StreamKind::TwoWay(..) => "TWO-WAY-STREAM",
            StreamKind::Synonym(_) => "SYNONYM-STREAM",
            StreamKind::Pretty(_) => "STREAM",
        }
    }

    /// Whether the stream is open.
    pub fn is_open(&self) -> bool {
        self.open.get()
    }

    /// Whether input is possible.
    pub fn is_input(&self) -> bool {
        match &self.kind {
            StreamKind::Bytes(b) => b.input,
            StreamKind::StringIn(_)
            | StreamKind::Concatenated(_)
            | StreamKind::Echo(..)
            | StreamKind::TwoWay(..) => true,
            StreamKind::Synonym(s) => match s.value() {
                Value::Stream(t) => t.is_input(),
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether output is possible.
    pub fn is_output(&self) -> bool {
        match &self.kind {
            StreamKind::Bytes(b) => b.output,
            StreamKind::StringOut(_)
            | StreamKind::Broadcast(_)
            | StreamKind::Echo(..)
            | StreamKind::TwoWay(..)
            | StreamKind::Pretty(_) => true,
            StreamKind::Synonym(s) => match s.value() {
                Value::Stream(t) => t.is_output(),
                _ => false,
            },
            _ => false,
        }
    }

    /// The output column (0 at the start of a line).
    pub fn column(&self) -> usize {
        match &self.kind {
            StreamKind::Synonym(s) => match s.value() {
                Value::Stream(t) => t.column(),
                _ => 0,
            },
            StreamKind::TwoWay(_, o) | StreamKind::Echo(_, o) => match o {
                Value::Stream(t) => t.column(),
                _ => 0,
            },
            StreamKind::Pretty(p) => p.borrow().column(),
            _ => self.column.get(),
        }
    }

    fn note_output(&self, s: &str) {
        match s.rfind('\n') {
            Some(i) => self.column.set(s[i + 1..].chars().count()),
            None => self.column.set(self.column.get() + s.chars().count()),
        }
    }

    /// The byte stream, if this is one.
    pub fn bytes(&self) -> Option<&ByteStream> {
        match &self.kind {
            StreamKind::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

unsafe impl Trace for Stream {
    fn trace(&self, t: &mut Tracer) {
        match &self.kind {
            StreamKind::Broadcast(v) => v.iter().for_each(|x| x.trace(t)),
            StreamKind::Concatenated(v) => match v.try_borrow() {
                Ok(v) => v.iter().for_each(|x| x.trace(t)),
                Err(_) => t.fail(),
            },
            StreamKind::Echo(a, b) | StreamKind::TwoWay(a, b) => {
                a.trace(t);
                b.trace(t);
            }
            StreamKind::Synonym(s) => t.gc(s),
            _ => {}
        }
        match (self.element_type.try_borrow(), self.extra.try_borrow()) {
            (Ok(e), Ok(x)) => {
                e.trace(t);
                x.trace(t);
            }
            _ => t.fail(),
        }
    }
    fn clear(&self) {
        if let StreamKind::Concatenated(v) = &self.kind {
            if let Ok(mut v) = v.try_borrow_mut() {
                v.clear();
            }
        }
        if let Ok(mut x) = self.extra.try_borrow_mut() {
            *x = Value::Nil;
        }
    }
}

impl ByteStream {
    /// A byte stream over `io`.
    pub fn new(
        io: Box<dyn ByteIo>,
        input: bool,
        output: bool,
        encoding: Encoding,
        line_buffered: bool,
    ) -> ByteStream {
        ByteStream {
            io: RefCell::new(io),
            read: RefCell::new(ReadBuf {
                buf: Vec::new(),
                pos: 0,
                end: 0,
                eof: false,
            }),
            write: RefCell::new(Vec::new()),
            unread: Cell::new(None),
            encoding: Cell::new(encoding),
            input,
            output,
            line_buffered,
        }
    }

    /// Make sure at least one byte is buffered. Returns false at end of
    /// file. May park the process (sockets).
    fn fill(&self, ctx: &mut Ctx) -> R<bool> {
        {
            let r = self.read.borrow();
            if r.pos < r.end {
                return Ok(true);
            }
            if r.eof {
                return Ok(false);
            }
        }
        // Read straight into the buffer; the borrow is released before
        // the process parks, so others may use the stream meanwhile.
        let n = io::read_some_with(ctx, &self.io, &mut |io| self.read_into_buffer(io))?;
        if n == 0 {
            self.read.borrow_mut().eof = true;
            return Ok(false);
        }
        Ok(true)
    }

    /// One read from the source into the free end of the read buffer.
    fn read_into_buffer(&self, io: &mut dyn ByteIo) -> std::io::Result<Option<usize>> {
        let mut r = self.read.borrow_mut();
        if r.pos >= r.end {
            r.pos = 0;
            r.end = 0;
        }
        if r.buf.is_empty() {
            r.buf.resize(READ_START, 0);
        }
        let end = r.end;
        if end == r.buf.len() {
            return Ok(Some(1));
        }
        let got = io.try_read(&mut r.buf[end..])?;
        if let Some(k) = got {
            r.end += k;
            if r.end == r.buf.len() && r.buf.len() < READ_CHUNK {
                let grown = r.buf.len() * 2;
                r.buf.resize(grown, 0);
            }
        }
        Ok(got)
    }

    /// Put `bytes` in front of the unread input (a layer that was taken
    /// off the stream hands back what it had decoded).
    pub fn push_front(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut r = self.read.borrow_mut();
        let mut buf = bytes.to_vec();
        buf.extend_from_slice(&r.buf[r.pos..r.end]);
        r.end = buf.len();
        r.pos = 0;
        r.buf = buf;
    }

    /// Take the bytes read ahead and not yet consumed (another reader,
    /// such as an async-io-state, takes the socket over).
    pub fn take_buffered(&self) -> Vec<u8> {
        let mut r = self.read.borrow_mut();
        let out = r.buf[r.pos..r.end].to_vec();
        r.pos = 0;
        r.end = 0;
        out
    }

    /// Whether bytes are buffered now.
    pub fn buffered(&self) -> usize {
        let r = self.read.borrow();
        r.end - r.pos
    }

    /// Read one byte.
    pub fn read_byte(&self, ctx: &mut Ctx) -> R<Option<u8>> {
        if !self.fill(ctx)? {
            return Ok(None);
        }
        let mut r = self.read.borrow_mut();
        let b = r.buf[r.pos];
        r.pos += 1;
        Ok(Some(b))
    }

    /// Read one character.
    pub fn read_char(&self, ctx: &mut Ctx) -> R<Option<char>> {
        if let Some(c) = self.unread.take() {
            return Ok(Some(c));
        }
        let Some(b0) = self.read_byte(ctx)? else {
            return Ok(None);
        };
        if self.encoding.get() == Encoding::Latin1 || b0 < 0x80 {
            return Ok(Some(b0 as char));
        }
        let need = if b0 >= 0xF0 {
            3
        } else if b0 >= 0xE0 {
            2
        } else if b0 >= 0xC0 {
            1
        } else {
            return Ok(Some('\u{FFFD}'));
        };
        let mut bytes = vec![b0];
        for _ in 0..need {
            match self.read_byte(ctx)? {
                Some(b) => bytes.push(b),
                None => break,
            }
        }
        Ok(Some(
            std::str::from_utf8(&bytes)
                .ok()
                .and_then(|s| s.chars().next())
                .unwrap_or('\u{FFFD}'),
        ))
    }

    /// Push a character back (one character of pushback).
    pub fn unread_char(&self, c: char) {
        self.unread.set(Some(c));
    }

    /// Read a line (without the newline). Returns the line and whether
    /// the end of file ended it; None at end of file with nothing read.
    pub fn read_line(&self, ctx: &mut Ctx) -> R<Option<(String, bool)>> {
        let mut bytes: Vec<u8> = Vec::new();
        let mut prefix = String::new();
        if let Some(c) = self.unread.take() {
            if c == '\n' {
                return Ok(Some((String::new(), false)));
            }
            prefix.push(c);
        }
        loop {
            if !self.fill(ctx)? {
                if bytes.is_empty() && prefix.is_empty() {
                    return Ok(None);
                }
                prefix.push_str(&self.decode(&bytes));
                return Ok(Some((prefix, true)));
            }
            let mut r = self.read.borrow_mut();
            let (start, end) = (r.pos, r.end);
            let avail = &r.buf[start..end];
            match avail.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    bytes.extend_from_slice(&avail[..i]);
                    r.pos = start + i + 1;
                    drop(r);
                    prefix.push_str(&self.decode(&bytes));
                    return Ok(Some((prefix, false)));
                }
                None => {
                    bytes.extend_from_slice(avail);
                    r.pos = end;
                }
            }
        }
    }

    fn decode(&self, bytes: &[u8]) -> String {
        match self.encoding.get() {
            Encoding::Latin1 => bytes.iter().map(|&b| b as char).collect(),
            Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
        }
    }

    /// Read up to `out.len()` bytes, waiting only until at least one is
    /// available unless `full` (then until `out` is full or end of file).
    pub fn read_bytes(&self, ctx: &mut Ctx, out: &mut [u8], full: bool) -> R<usize> {
        let out = RefCell::new(out);
        self.read_bytes_to(ctx, &out, full)
    }

    /// [`read_bytes`](Self::read_bytes) into storage the destination lends
    /// only for each copy or read, never while the process is parked, so
    /// a Lisp vector can be filled in place.
    pub fn read_bytes_to(&self, ctx: &mut Ctx, out: &dyn ByteDest, full: bool) -> R<usize> {
        let len = out.len();
        let mut n = 0;
        while n < len {
            if n > 0 && !full && self.buffered() == 0 {
                break;
            }
            if self.buffered() == 0 && len - n >= DIRECT_READ && !self.read.borrow().eof {
                // A large read with nothing buffered: no copy through
                // the buffer.
                let k = io::read_some_with(ctx, &self.io, &mut |io| {
                    out.with(n, &mut |dest| io.try_read(dest))
                })?;
                if k == 0 {
                    self.read.borrow_mut().eof = true;
                    break;
                }
                n += k;
                continue;
            }
            if !self.fill(ctx)? {
                break;
            }
            let mut r = self.read.borrow_mut();
            let k = (r.end - r.pos).min(len - n);
            let p = r.pos;
            let copied = out.with(n, &mut |dest| {
                dest[..k].copy_from_slice(&r.buf[p..p + k]);
                Ok(Some(k))
            });
            if let Err(e) = copied {
                drop(r);
                return Err(self.os_failed(ctx, false, &e));
            }
            r.pos += k;
            n += k;
        }
        Ok(n)
    }

    /// Whether a character is available without waiting.
    pub fn listen(&self, ctx: &mut Ctx) -> R<bool> {
        if self.unread.get().is_some() || self.buffered() > 0 {
            return Ok(true);
        }
        if self.read.borrow().eof {
            return Ok(false);
        }
        // One read that does not wait: it finds data or the end of file,
        // and sees through layers (TLS) whose records carry no data.
        loop {
            let got = self.read_into_buffer(&mut **self.io.borrow_mut());
            return match got {
                Ok(Some(0)) => {
                    self.read.borrow_mut().eof = true;
                    Ok(false)
                }
                Ok(Some(_)) => Ok(true),
                Ok(None) => Ok(false),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => Err(self.os_failed(ctx, false, &e)),
            };
        }
    }

    /// Discard buffered input.
    pub fn clear_input(&self) {
        let mut r = self.read.borrow_mut();
        r.pos = 0;
        r.end = 0;
        self.unread.set(None);
    }

    /// Whether end of file was seen.
    pub fn at_eof(&self) -> bool {
        let r = self.read.borrow();
        r.eof && r.pos >= r.end
    }

    /// Send what the sink takes at once from `b`, bypassing the buffer;
    /// only when nothing is queued (order) and `b` is large (worth it).
    /// Returns the bytes sent; the caller queues the rest.
    pub fn write_now(&self, b: &[u8]) -> std::io::Result<usize> {
        if b.len() < DIRECT_READ || !self.write.borrow().is_empty() {
            return Ok(0);
        }
        io::write_now(&self.io, b)
    }

    /// Signal the OS failure `e` of a read (`write` false) or write.
    pub fn os_failed(&self, ctx: &mut Ctx, write: bool, e: &std::io::Error) -> crate::ctx::Exit {
        io::os_failed(ctx, &self.io, write, e)
    }

    /// Queue bytes for output.
    pub fn write_bytes(&self, ctx: &mut Ctx, b: &[u8]) -> R<()> {
        if b.len() >= DIRECT_READ && self.write.borrow().is_empty() {
            // A large write with nothing queued: no copy through the buffer.
            return io::write_all(ctx, &self.io, b);
        }
        let big = {
            let mut w = self.write.borrow_mut();
            w.extend_from_slice(b);
            w.len() >= WRITE_CHUNK
        };
        if big {
            self.flush(ctx)?;
        }
        Ok(())
    }

    /// Queue a string for output.
    pub fn write_str(&self, ctx: &mut Ctx, s: &str) -> R<()> {
        match self.encoding.get() {
            Encoding::Utf8 => self.write_bytes(ctx, s.as_bytes())?,
            Encoding::Latin1 => {
                let bytes: Vec<u8> = s
                    .chars()
                    .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
                    .collect();
                self.write_bytes(ctx, &bytes)?
            }
        }
        if self.line_buffered && s.contains('\n') {
            self.flush(ctx)?;
        }
        Ok(())
    }

    /// Send buffered output. May park the process (sockets).
    pub fn flush(&self, ctx: &mut Ctx) -> R<()> {
        let mut data = std::mem::take(&mut *self.write.borrow_mut());
        if data.is_empty() {
            return Ok(());
        }
        let r = io::write_all(ctx, &self.io, &data);
        // Keep the allocation for the next batch unless more output was
        // queued meanwhile (another process wrote while this one waited).
        data.clear();
        let mut w = self.write.borrow_mut();
        if w.is_empty() {
            *w = data;
        }
        r
    }

    /// Discard buffered output.
    pub fn clear_output(&self) {
        self.write.borrow_mut().clear();
    }

    /// Bytes waiting to be written.
    pub fn pending_output(&self) -> usize {
        self.write.borrow().len()
    }
}

/// Make a string input stream over `s[start..end]`.
pub fn make_string_input(s: &[char], start: usize, end: usize) -> Value {
    Stream::new(
        StreamKind::StringIn(RefCell::new(StringIn {
            chars: s.to_vec(),
            pos: start,
            end,
        })),
        "STRING-INPUT-STREAM",
    )
    .into_value()
}

/// Make a string output stream.
pub fn make_string_output() -> Value {
    Stream::new(
        StreamKind::StringOut(RefCell::new(Vec::new())),
        "STRING-OUTPUT-STREAM",
    )
    .into_value()
}

/// Take the contents of a string output stream, emptying it.
pub fn take_string_output(s: &Stream) -> Option<String> {
    match &s.kind {
        StreamKind::StringOut(b) => {
            let v = std::mem::take(&mut *b.borrow_mut());
            s.column.set(0);
            Some(v.into_iter().collect())
        }
        _ => None,
    }
}

/// The position of a string input stream (FILE-POSITION).
pub fn string_in_position(s: &Stream) -> Option<usize> {
    match &s.kind {
        StreamKind::StringIn(b) => Some(b.borrow().pos),
        _ => None,
    }
}

fn closed_error(ctx: &mut Ctx, s: &Value) -> crate::ctx::Exit {
    conditions::stream_error(
        ctx,
        s.clone(),
        format!("{} is closed", crate::printer::prin1_string(s)),
    )
}

fn not_output(ctx: &mut Ctx, s: &Value) -> crate::ctx::Exit {
    conditions::stream_error(
        ctx,
        s.clone(),
        format!(
            "{} is not an output stream",
            crate::printer::prin1_string(s)
        ),
    )
}

fn not_input(ctx: &mut Ctx, s: &Value) -> crate::ctx::Exit {
    conditions::stream_error(
        ctx,
        s.clone(),
        format!("{} is not an input stream", crate::printer::prin1_string(s)),
    )
}

/// Resolve an output stream designator (T, NIL, a stream).
pub fn output_designator(ctx: &mut Ctx, d: &Value) -> R<Gc<Stream>> {
    let v = match d {
        Value::Nil => w().s.standard_output.value(),
        Value::Symbol(s) if Gc::ptr_eq(s, &w().s.t) => w().s.terminal_io.value(),
        other => other.clone(),
    };
    match v {
        Value::Stream(s) => Ok(s),
        other => Err(conditions::type_error(ctx, other, "STREAM")),
    }
}

/// Resolve an input stream designator (T, NIL, a stream).
pub fn input_designator(ctx: &mut Ctx, d: &Value) -> R<Gc<Stream>> {
    let v = match d {
        Value::Nil => w().s.standard_input.value(),
        Value::Symbol(s) if Gc::ptr_eq(s, &w().s.t) => w().s.terminal_io.value(),
        other => other.clone(),
    };
    match v {
        Value::Stream(s) => Ok(s),
        other => Err(conditions::type_error(ctx, other, "STREAM")),
    }
}

/// The current *STANDARD-OUTPUT*.
pub fn stdout(ctx: &mut Ctx) -> R<Gc<Stream>> {
    output_designator(ctx, &Value::Nil)
}

/// Write a string to a stream.
pub fn write_str(ctx: &mut Ctx, s: &Gc<Stream>, text: &str) -> R<()> {
    if !s.is_open() {
        return Err(closed_error(ctx, &Value::Stream(s.clone())));
    }
    match &s.kind {
        StreamKind::Bytes(b) => {
            if !b.output {
                return Err(not_output(ctx, &Value::Stream(s.clone())));
            }
            b.write_str(ctx, text)?;
        }
        StreamKind::StringOut(buf) => buf.borrow_mut().extend(text.chars()),
        StreamKind::Pretty(p) => p.borrow_mut().write_str(text),
        StreamKind::Broadcast(v) => {
            for t in v.clone() {
                if let Value::Stream(t) = t {
                    write_str(ctx, &t, text)?;
                }
            }
        }
        StreamKind::TwoWay(_, o) | StreamKind::Echo(_, o) => {
            if let Value::Stream(t) = o.clone() {
                write_str(ctx, &t, text)?;
            }
        }
        StreamKind::Synonym(sym) => {
            let t = output_designator(ctx, &sym.value())?;
            write_str(ctx, &t, text)?;
        }
        _ => return Err(not_output(ctx, &Value::Stream(s.clone()))),
    }
    s.note_output(text);
    Ok(())
}

/// Write a character.
pub fn write_char(ctx: &mut Ctx, s: &Gc<Stream>, c: char) -> R<()> {
    let mut b = [0u8; 4];
    write_str(ctx, s, c.encode_utf8(&mut b))
}

/// Write bytes to a stream (binary output).
pub fn write_bytes(ctx: &mut Ctx, s: &Gc<Stream>, data: &[u8]) -> R<()> {
    if !s.is_open() {
        return Err(closed_error(ctx, &Value::Stream(s.clone())));
    }
    match &s.kind {
        StreamKind::Bytes(b) if b.output => b.write_bytes(ctx, data),
        StreamKind::Broadcast(v) => {
            for t in v.clone() {
                if let Value::Stream(t) = t {
                    write_bytes(ctx, &t, data)?;
                }
            }
            Ok(())
        }
        StreamKind::TwoWay(_, o) | StreamKind::Echo(_, o) => match o.clone() {
            Value::Stream(t) => write_bytes(ctx, &t, data),
            _ => Ok(()),
        },
        StreamKind::Synonym(sym) => {
            let t = output_designator(ctx, &sym.value())?;
            write_bytes(ctx, &t, data)
        }
        _ => Err(not_output(ctx, &Value::Stream(s.clone()))),
    }
}

/// Start a new line unless at the start of one. Returns whether a newline
/// was written.
pub fn fresh_line(ctx: &mut Ctx, s: &Gc<Stream>) -> R<bool> {
    if s.column() != 0 {
        write_str(ctx, s, "\n")?;
        Ok(true)
    } else {
        Ok(false)
    }
}

/// Read a character; None at end of file.
pub fn read_char(ctx: &mut Ctx, s: &Gc<Stream>) -> R<Option<char>> {
    if !s.is_open() {
        return Err(closed_error(ctx, &Value::Stream(s.clone())));
    }
    if let Some(c) = s.pushback.borrow_mut().pop() {
        return Ok(Some(c));
    }
    match &s.kind {
        StreamKind::Bytes(b) => {
            if !b.input {
                return Err(not_input(ctx, &Value::Stream(s.clone())));
            }
            b.read_char(ctx)
        }
        StreamKind::StringIn(st) => {
            let mut st = st.borrow_mut();
            if st.pos < st.end {
                let c = st.chars[st.pos];
                st.pos += 1;
                Ok(Some(c))
            } else {
                Ok(None)
            }
        }
        StreamKind::Concatenated(list) => loop {
            let first = list.borrow().first().cloned();
            match first {
                None => return Ok(None),
                Some(Value::Stream(t)) => match read_char(ctx, &t)? {
                    Some(c) => return Ok(Some(c)),
                    None => {
                        list.borrow_mut().remove(0);
                    }
                },
                Some(_) => {
                    list.borrow_mut().remove(0);
                }
            }
        },
        StreamKind::TwoWay(i, _) => match i.clone() {
            Value::Stream(t) => read_char(ctx, &t),
            _ => Ok(None),
        },
        StreamKind::Echo(i, o) => {
            let (i, o) = (i.clone(), o.clone());
            let c = match i {
                Value::Stream(t) => read_char(ctx, &t)?,
                _ => None,
            };
            if let (Some(c), Value::Stream(o)) = (c, o) {
                write_char(ctx, &o, c)?;
            }
            Ok(c)
        }
        StreamKind::Synonym(sym) => {
            let t = input_designator(ctx, &sym.value())?;
            read_char(ctx, &t)
        }
        _ => Err(not_input(ctx, &Value::Stream(s.clone()))),
    }
}

/// Push back a character; it (and any pushed earlier) is read again
/// before the stream's own input.
pub fn unread_char(_ctx: &mut Ctx, s: &Gc<Stream>, c: char) -> R<()> {
    s.pushback.borrow_mut().push(c);
    Ok(())
}

/// Push back text so it is read again, in order.
pub fn unread_str(s: &Gc<Stream>, text: &str) {
    let mut pb = s.pushback.borrow_mut();
    for c in text.chars().rev() {
        pb.push(c);
    }
}

/// Read whatever characters are available now without waiting (at most
/// `max`), appending to `out`. Returns how many were read.
pub fn read_available(ctx: &mut Ctx, s: &Gc<Stream>, out: &mut String, max: usize) -> R<usize> {
    let mut n = 0;
    while n < max {
        let ready = {
            !s.pushback.borrow().is_empty()
                || match &s.kind {
                    StreamKind::Bytes(b) => b.buffered() > 0,
                    StreamKind::StringIn(st) => {
                        let st = st.borrow();
                        st.pos < st.end
                    }
                    _ => false,
                }
        };
        if !ready {
            break;
        }
        match read_char(ctx, s)? {
            Some(c) => {
                out.push(c);
                n += 1;
            }
            None => break,
        }
    }
    Ok(n)
}

/// For a string input stream: the unread text and a function to skip
/// past what was consumed, so the reader can parse in place.
pub fn string_in_rest(s: &Stream) -> Option<String> {
    if !s.pushback.borrow().is_empty() {
        return None;
    }
    match &s.kind {
        StreamKind::StringIn(st) => {
            let st = st.borrow();
            Some(st.chars[st.pos..st.end].iter().collect())
        }
        _ => None,
    }
}

/// Advance a string input stream by `n` characters.
pub fn string_in_skip(s: &Stream, n: usize) {
    if let StreamKind::StringIn(st) = &s.kind {
        let mut st = st.borrow_mut();
        st.pos = (st.pos + n).min(st.end);
    }
}

/// The pretty-printing state of a pretty stream.
pub fn pretty_state(s: &Gc<Stream>) -> Option<Rc<RefCell<PrettyState>>> {
    match &s.kind {
        StreamKind::Pretty(p) => Some(p.clone()),
        _ => None,
    }
}

/// Whether characters were pushed back.
pub fn has_pushback(s: &Stream) -> bool {
    !s.pushback.borrow().is_empty()
}

/// Peek at the next character without consuming it.
pub fn peek_char(ctx: &mut Ctx, s: &Gc<Stream>) -> R<Option<char>> {
    let c = read_char(ctx, s)?;
    if let Some(ch) = c {
        unread_char(ctx, s, ch)?;
    }
    Ok(c)
}

/// Read a line. Returns (line, missing-newline-p), None at end of file.
pub fn read_line(ctx: &mut Ctx, s: &Gc<Stream>) -> R<Option<(String, bool)>> {
    if let (StreamKind::Bytes(b), false) = (&s.kind, has_pushback(s)) {
        if !s.is_open() {
            return Err(closed_error(ctx, &Value::Stream(s.clone())));
        }
        if !b.input {
            return Err(not_input(ctx, &Value::Stream(s.clone())));
        }
        return b.read_line(ctx);
    }
    let mut line = String::new();
    let mut any = false;
    loop {
        match read_char(ctx, s)? {
            None => return Ok(if any { Some((line, true)) } else { None }),
            Some('\n') => return Ok(Some((line, false))),
            Some(c) => {
                any = true;
                line.push(c)
            }
        }
    }
}

/// Read a byte; None at end of file.
pub fn read_byte(ctx: &mut Ctx, s: &Gc<Stream>) -> R<Option<u8>> {
    if !s.is_open() {
        return Err(closed_error(ctx, &Value::Stream(s.clone())));
    }
    match &s.kind {
        StreamKind::Bytes(b) if b.input => b.read_byte(ctx),
        StreamKind::TwoWay(i, _) | StreamKind::Echo(i, _) => match i.clone() {
            Value::Stream(t) => read_byte(ctx, &t),
            _ => Ok(None),
        },
        StreamKind::Concatenated(list) => loop {
            let first = list.borrow().first().cloned();
            match first {
                None => return Ok(None),
                Some(Value::Stream(t)) => match read_byte(ctx, &t)? {
                    Some(c) => return Ok(Some(c)),
                    None => {
                        list.borrow_mut().remove(0);
                    }
                },
                Some(_) => {
                    list.borrow_mut().remove(0);
                }
            }
        },
        StreamKind::Synonym(sym) => {
            let t = input_designator(ctx, &sym.value())?;
            read_byte(ctx, &t)
        }
        _ => Err(not_input(ctx, &Value::Stream(s.clone()))),
    }
}

/// Whether input is available without waiting.
pub fn listen(ctx: &mut Ctx, s: &Gc<Stream>) -> R<bool> {
    if has_pushback(s) {
        return Ok(true);
    }
    match &s.kind {
        StreamKind::Bytes(b) => b.listen(ctx),
        StreamKind::StringIn(st) => {
            let st = st.borrow();
            Ok(st.pos < st.end)
        }
        StreamKind::TwoWay(i, _) | StreamKind::Echo(i, _) => match i.clone() {
            Value::Stream(t) => listen(ctx, &t),
            _ => Ok(false),
        },
        StreamKind::Concatenated(list) => match list.borrow().first().cloned() {
            Some(Value::Stream(t)) => listen(ctx, &t),
            _ => Ok(false),
        },
        StreamKind::Synonym(sym) => {
            let t = input_designator(ctx, &sym.value())?;
            listen(ctx, &t)
        }
        _ => Ok(false),
    }
}

/// Send buffered output (FORCE-OUTPUT / FINISH-OUTPUT).
pub fn force_output(ctx: &mut Ctx, s: &Gc<Stream>) -> R<()> {
    match &s.kind {
        StreamKind::Bytes(b) if s.is_open() => b.flush(ctx)?,
        StreamKind::Bytes(_) => {}
        StreamKind::Broadcast(v) => {
            for t in v.clone() {
                if let Value::Stream(t) = t {
                    force_output(ctx, &t)?;
                }
            }
        }
        StreamKind::TwoWay(_, o) | StreamKind::Echo(_, o) => {
            if let Value::Stream(t) = o.clone() {
                force_output(ctx, &t)?;
            }
        }
        StreamKind::Synonym(sym) => {
            if let Value::Stream(t) = sym.value() {
                force_output(ctx, &t)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Close a stream. Output is flushed unless `abort`.
pub fn close(ctx: &mut Ctx, s: &Gc<Stream>, abort: bool) -> R<bool> {
    if !s.is_open() {
        return Ok(false);
    }
    let r = match &s.kind {
        StreamKind::Bytes(b) => {
            let flushed = if abort {
                b.clear_output();
                b.io.borrow_mut().abort();
                Ok(())
            } else {
                let r = b.flush(ctx);
                b.io.borrow_mut().close();
                r
            };
            flushed
        }
        _ => Ok(()),
    };
    s.open.set(false);
    r.map(|_| true)
}

/// Flush the standard streams (at exit, before prompting).
pub fn flush_standard(ctx: &mut Ctx) {
    let wd = w();
    for sym in [
        &wd.s.standard_output,
        &wd.s.error_output,
        &wd.s.trace_output,
    ] {
        if let Value::Stream(s) = sym.value() {
            let _ = force_output(ctx, &s);
        }
    }
    for s in io::standard_streams() {
        let _ = force_output(ctx, &s);
    }
}
