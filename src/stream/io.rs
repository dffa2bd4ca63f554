//! Byte sources and sinks under byte streams: files, standard I/O, and
//! (in `net`) sockets. Non-blocking sources park the calling Lisp process
//! until their descriptor is ready instead of blocking the OS thread.

use crate::conditions;
use crate::ctx::{Ctx, R};
use crate::gc::Gc;
use crate::stream::Stream;
use std::cell::RefCell;
use std::io::{Read, Write};

use std::os::fd::RawFd;

/// Character encoding of a byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 (the default for files and terminals).
    Utf8,
    /// ISO-8859-1: one byte per character (LispWorks base-char sockets).
    Latin1,
}

/// Where a byte stream's bytes come from and go to.
pub trait ByteIo {
    /// Read some bytes: Some(n) (0 at end of file), or None if the call
    /// would block.
    fn try_read(&mut self, buf: &mut [u8]) -> std::io::Result<Option<usize>>;
    /// Write some bytes: Some(n), or None if the call would block.
    fn try_write(&mut self, buf: &[u8]) -> std::io::Result<Option<usize>>;
    /// Release the resource.
    fn close(&mut self) {}
    /// Release the resource at once, discarding what is in flight
    /// (CLOSE :ABORT T; a socket resets its connection).
    fn abort(&mut self) {
        self.close()
    }
    /// The descriptor to wait on when a call would block.
    fn fd(&self) -> Option<RawFd> {
        None
    }
    /// Read timeout in seconds, if any.
    fn read_timeout(&self) -> Option<f64> {
        None
    }
    /// Write timeout in seconds, if any.
    fn write_timeout(&self) -> Option<f64> {
        None
    }
    /// Whether a read (`reading`) or write that would block waits for the
    /// descriptor to be readable; a TLS layer may need the other
    /// direction first (a handshake message to send, or to receive).
    fn wait_readable(&self, reading: bool) -> bool {
        reading
    }
    /// A description for error messages.
    fn describe(&self) -> String;
    /// Seek (files only): returns the new position.
    fn seek(&mut self, _pos: Option<u64>) -> Option<u64> {
        None
    }
    /// Length (files only).
    fn length(&self) -> Option<u64> {
        None
    }
    /// The object as `Any`, for modules that need their concrete type.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
    /// The condition for a failed read or write, when this source has its
    /// own vocabulary (sockets signal COMM conditions); None gives the
    /// generic STREAM-ERROR or TIMEOUT-ERROR.
    fn failure(&self, _write: bool, _cause: IoCause<'_>) -> Option<crate::value::Value> {
        None
    }
    /// The class CLASS-OF reports for the stream (None: by stream kind).
    fn class(&self) -> Option<crate::gc::Gc<crate::clos::Class>> {
        None
    }
}

/// Why a read or write failed.
#[derive(Clone, Copy, Debug)]
pub enum IoCause<'a> {
    /// The OS call failed.
    Os(&'a std::io::Error),
    /// Nothing happened within the timeout (seconds).
    Timeout(f64),
}

/// A file opened by OPEN.
pub struct FileIo {
    /// The file, None once closed.
    pub file: Option<std::fs::File>,
    /// The name.
    pub name: String,
}

impl ByteIo for FileIo {
    fn try_read(&mut self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        match &mut self.file {
            Some(f) => f.read(buf).map(Some),
            None => Ok(Some(0)),
        }
    }
    fn try_write(&mut self, buf: &[u8]) -> std::io::Result<Option<usize>> {
        match &mut self.file {
            Some(f) => f.write(buf).map(Some),
            None => Err(std::io::Error::other("file is closed")),
        }
    }
    fn close(&mut self) {
        self.file = None;
    }
    fn describe(&self) -> String {
        format!("file {}", self.name)
    }
    fn seek(&mut self, pos: Option<u64>) -> Option<u64> {
        use std::io::Seek;
        let f = self.file.as_mut()?;
        match pos {
            Some(p) => f.seek(std::io::SeekFrom::Start(p)).ok(),
            None => f.stream_position().ok(),
        }
    }
    fn length(&self) -> Option<u64> {
        self.file.as_ref()?.metadata().ok().map(|m| m.len())
    }
}

/// The outcome of a read(2) or write(2) that returned `n`: the byte count,
/// None if it would block, or the error.
fn transferred(n: isize) -> std::io::Result<Option<usize>> {
    if n >= 0 {
        return Ok(Some(n as usize));
    }
    let e = std::io::Error::last_os_error();
    match e.kind() {
        std::io::ErrorKind::WouldBlock => Ok(None),
        _ => Err(e),
    }
}

/// The process's standard input, output or error.
pub struct StdIo {
    /// 0, 1 or 2.
    pub fd: RawFd,
}

impl ByteIo for StdIo {
    fn try_read(&mut self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        // Only read when input is there, so that a process reading a
        // terminal or a pipe parks instead of stopping every process.
        let mut p = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no waiting.
        if unsafe { libc::poll(&mut p, 1, 0) } == 0 {
            return Ok(None);
        }
        // SAFETY: reading into a valid, writable buffer of that length.
        let n = unsafe { libc::read(self.fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        transferred(n)
    }
    fn try_write(&mut self, buf: &[u8]) -> std::io::Result<Option<usize>> {
        // Straight to the descriptor: the stream has its own buffer, and
        // Rust's line-buffered stdout would reorder output and errors.
        let n = unsafe { libc::write(self.fd, buf.as_ptr() as *const libc::c_void, buf.len()) };
        match transferred(n) {
            // A closed pipe on stdout: drop the output quietly.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Some(buf.len())),
            r => r,
        }
    }
    fn fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }
    fn describe(&self) -> String {
        match self.fd {
            0 => "standard input".into(),
            1 => "standard output".into(),
            _ => "standard error".into(),
        }
    }
}

thread_local! {
    static STANDARD: RefCell<Vec<Gc<Stream>>> = const { RefCell::new(Vec::new()) };
}

/// Remember a standard stream, so it is flushed at exit.
pub fn register_standard(s: &Gc<Stream>) {
    STANDARD.with(|v| v.borrow_mut().push(s.clone()));
}

/// The registered standard streams.
pub fn standard_streams() -> Vec<Gc<Stream>> {
    STANDARD.with(|v| v.borrow().clone())
}

/// Signal the failure of a read (`write` false) or write: the source's
/// own condition if it has one, else a generic stream or timeout error.
fn failed(
    ctx: &mut Ctx,
    io: &RefCell<Box<dyn ByteIo>>,
    write: bool,
    cause: IoCause<'_>,
) -> crate::ctx::Exit {
    let own = io.borrow().failure(write, cause);
    if let Some(c) = own {
        return conditions::error(ctx, c);
    }
    let what = io.borrow().describe();
    let op = if write { "write" } else { "read" };
    match cause {
        IoCause::Os(e) => {
            conditions::io_error(ctx, op, &what, std::io::Error::new(e.kind(), e.to_string()))
        }
        IoCause::Timeout(secs) => conditions::timeout_error(ctx, op, &what, secs),
    }
}

/// Send what the sink takes now from `data`, without parking: the bytes
/// accepted (0 when it would block at once). The caller sends the rest
/// with [`write_all`], and turns an error into a condition with
/// [`os_failed`] once it holds no borrow a handler might need.
pub fn write_now(io: &RefCell<Box<dyn ByteIo>>, data: &[u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < data.len() {
        match io.borrow_mut().try_write(&data[n..]) {
            Ok(Some(0)) | Ok(None) => break,
            Ok(Some(k)) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Signal the OS failure `e` of a read (`write` false) or write on `io`.
pub fn os_failed(
    ctx: &mut Ctx,
    io: &RefCell<Box<dyn ByteIo>>,
    write: bool,
    e: &std::io::Error,
) -> crate::ctx::Exit {
    failed(ctx, io, write, IoCause::Os(e))
}

/// Read at least one byte (or learn of end of file), parking the process
/// while the source would block.
pub fn read_some(ctx: &mut Ctx, io: &RefCell<Box<dyn ByteIo>>, buf: &mut [u8]) -> R<usize> {
    read_some_with(ctx, io, &mut |src| src.try_read(buf))
}

/// [`read_some`] with the read itself given as `attempt` (so a caller can
/// read into storage it borrows only for the attempt, never while the
/// process is parked).
pub fn read_some_with(
    ctx: &mut Ctx,
    io: &RefCell<Box<dyn ByteIo>>,
    attempt: &mut dyn FnMut(&mut dyn ByteIo) -> std::io::Result<Option<usize>>,
) -> R<usize> {
    loop {
        let r = attempt(&mut **io.borrow_mut());
        match r {
            Ok(Some(n)) => return Ok(n),
            Ok(None) => {
                let (fd, timeout, readable) = {
                    let b = io.borrow();
                    (b.fd(), b.read_timeout(), b.wait_readable(true))
                };
                let Some(fd) = fd else { continue };
                if !crate::mp::wait_fd(ctx, fd, readable, timeout)? {
                    let secs = timeout.unwrap_or(0.0);
                    return Err(failed(ctx, io, false, IoCause::Timeout(secs)));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(ctx, io, false, IoCause::Os(&e))),
        }
    }
}

/// Write all bytes, parking the process while the sink would block.
pub fn write_all(ctx: &mut Ctx, io: &RefCell<Box<dyn ByteIo>>, mut data: &[u8]) -> R<()> {
    while !data.is_empty() {
        let r = io.borrow_mut().try_write(data);
        match r {
            Ok(Some(0)) => {
                let e = std::io::Error::from(std::io::ErrorKind::WriteZero);
                return Err(failed(ctx, io, true, IoCause::Os(&e)));
            }
            Ok(Some(n)) => data = &data[n..],
            Ok(None) => {
                let (fd, timeout, readable) = {
                    let b = io.borrow();
                    (b.fd(), b.write_timeout(), b.wait_readable(false))
                };
                let Some(fd) = fd else { continue };
                if !crate::mp::wait_fd(ctx, fd, readable, timeout)? {
                    let secs = timeout.unwrap_or(0.0);
                    return Err(failed(ctx, io, true, IoCause::Timeout(secs)));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(ctx, io, true, IoCause::Os(&e))),
        }
    }
    Ok(())
}
