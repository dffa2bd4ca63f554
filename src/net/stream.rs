//! Socket streams: a [`SocketIo`] is the byte source and sink under a
//! buffered, bivalent `ByteStream`, so sockets get every stream function
//! (characters and octets on one stream, READ-SEQUENCE/WRITE-SEQUENCE
//! on whole buffers, output leaving on FORCE-OUTPUT) from the one stream
//! model. Failures become the network conditions.

use super::conditions;
use super::error::{Fault, NetError, Op};
use super::socket::{Role, SocketCore};
use super::tls::{TlsFault, TlsLayer};
use crate::clos::Class;
use crate::gc::Gc;
use crate::stream::io::IoCause;
use crate::stream::{ByteIo, ByteStream, Encoding, Stream, StreamKind};
use crate::value::Value;
use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;
use std::rc::Rc;

/// The socket under a socket stream.
pub struct SocketIo {
    /// The socket; None after REPLACE-SOCKET-STREAM-SOCKET with NIL.
    pub core: RefCell<Option<Rc<SocketCore>>>,
    /// Seconds a read may wait for data (None: forever).
    pub read_timeout: Cell<Option<f64>>,
    /// Seconds a write may wait for buffer space.
    pub write_timeout: Cell<Option<f64>>,
    /// The Lisp class of the stream (COMM:SOCKET-STREAM).
    pub class: Option<Gc<Class>>,
    /// The rest of a datagram that did not fit the stream's buffer.
    pending: Vec<u8>,
    /// The TLS layer, when SSL is attached (ATTACH-SSL, :SSL-CTX).
    pub tls: RefCell<Option<TlsLayer>>,
}

/// Seconds as a person wrote them: a value that came from a single float
/// prints as that float (0.2, not 0.20000000298023224).
fn seconds_text(secs: f64) -> String {
    let single = secs as f32;
    if single as f64 == secs {
        single.to_string()
    } else {
        secs.to_string()
    }
}

impl SocketIo {
    /// The socket, if the stream still has one.
    pub fn core(&self) -> Option<Rc<SocketCore>> {
        self.core.borrow().clone()
    }

    /// Whether a TLS handshake is in progress.
    pub fn handshaking(&self) -> bool {
        self.tls
            .borrow()
            .as_ref()
            .is_some_and(|t| t.is_handshaking())
    }

    /// The network error for a failed read (`write` false) or write.
    pub fn error(&self, write: bool, cause: IoCause<'_>) -> NetError {
        let handshake = self.handshaking();
        let op = match (handshake, write) {
            (true, _) => Op::Handshake,
            (false, true) => Op::Write,
            (false, false) => Op::Read,
        };
        let e = match cause {
            IoCause::Os(e) => match TlsFault::of(e) {
                Some(f) => f.net_error(op),
                None => NetError::os(op, e),
            },
            IoCause::Timeout(secs) if handshake => NetError::new(
                Fault::TlsHandshakeTimeout,
                op,
                format!(
                    "the TLS handshake did not finish within {} seconds",
                    seconds_text(secs)
                ),
            ),
            IoCause::Timeout(secs) => NetError::new(
                Fault::TimedOut,
                op,
                format!("timed out after {} seconds", seconds_text(secs)),
            ),
        };
        match self.core().and_then(|c| c.peer) {
            Some(p) => e.at(p.ip().to_string(), Some(p.port())),
            None => e,
        }
    }
}

impl SocketIo {
    /// The handshake's own timeout, while a handshake that has one runs.
    fn handshake_timeout(&self) -> Option<Option<f64>> {
        let t = self.tls.borrow();
        let t = t.as_ref().filter(|t| t.is_handshaking())?;
        t.handshake_timeout.map(Some)
    }

    /// A stream over a datagram socket reads the datagrams' bytes in
    /// order: what does not fit `buf` waits for the next read, and empty
    /// datagrams are skipped (a zero-length read means end of file).
    fn read_datagram(
        &mut self,
        core: &SocketCore,
        buf: &mut [u8],
    ) -> std::io::Result<Option<usize>> {
        if self.pending.is_empty() {
            thread_local! {
                static DGRAM: RefCell<Vec<u8>> = RefCell::new(vec![0u8; super::udp::RECV_BUFFER]);
            }
            let got = DGRAM.with(|d| {
                let mut d = d.borrow_mut();
                loop {
                    match super::udp::try_recv(core, &mut d) {
                        Ok(Some(r)) if r.len == 0 => continue,
                        Ok(Some(r)) => return Ok(Some(d[..r.len].to_vec())),
                        Ok(None) => return Ok(None),
                        Err(e) => {
                            let errno = e.errno.unwrap_or(libc::EIO);
                            return Err(std::io::Error::from_raw_os_error(errno));
                        }
                    }
                }
            })?;
            match got {
                Some(v) => self.pending = v,
                None => return Ok(None),
            }
        }
        let n = self.pending.len().min(buf.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(Some(n))
    }
}

impl ByteIo for SocketIo {
    fn try_read(&mut self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        let Some(core) = self.core() else {
            return Ok(Some(0));
        };
        if core.read_closed.get() {
            return Err(std::io::Error::from_raw_os_error(libc::ESHUTDOWN));
        }
        if core.role == Role::Datagram {
            return self.read_datagram(&core, buf);
        }
        if let Some(t) = self.tls.get_mut() {
            return t.try_read(&core, buf);
        }
        core.try_recv(buf)
    }
    fn try_write(&mut self, buf: &[u8]) -> std::io::Result<Option<usize>> {
        let Some(core) = self.core() else {
            return Err(std::io::Error::from_raw_os_error(libc::EBADF));
        };
        if core.write_closed.get() {
            return Err(std::io::Error::from_raw_os_error(libc::ESHUTDOWN));
        }
        if core.role == Role::Datagram {
            // Each send is one datagram: never more than UDP carries.
            let n = buf.len().min(super::udp::MAX_UDP_PAYLOAD);
            return core.try_send(&buf[..n]);
        }
        if let Some(t) = self.tls.get_mut() {
            return t.try_write(&core, buf);
        }
        core.try_send(buf)
    }
    fn close(&mut self) {
        if let Some(c) = self.core.borrow_mut().take() {
            if let Some(t) = self.tls.get_mut() {
                t.close_notify(&c);
            }
            c.close(false);
        }
    }
    fn abort(&mut self) {
        if let Some(c) = self.core.borrow_mut().take() {
            c.close(true);
        }
    }
    fn fd(&self) -> Option<RawFd> {
        self.core().map(|c| c.fd)
    }
    fn read_timeout(&self) -> Option<f64> {
        self.handshake_timeout()
            .unwrap_or_else(|| self.read_timeout.get())
    }
    fn write_timeout(&self) -> Option<f64> {
        self.handshake_timeout()
            .unwrap_or_else(|| self.write_timeout.get())
    }
    fn wait_readable(&self, reading: bool) -> bool {
        match &*self.tls.borrow() {
            Some(t) => t.waits_to_read(),
            None => reading,
        }
    }
    fn describe(&self) -> String {
        let what = match self.core() {
            Some(c) => describe_endpoints(&c),
            None => "socket (none)".into(),
        };
        match &*self.tls.borrow() {
            Some(t) if t.is_handshaking() => format!("{} (TLS handshake)", what),
            Some(t) => format!("{} ({})", what, t.protocol_version()),
            None => what,
        }
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    fn failure(&self, write: bool, cause: IoCause<'_>) -> Option<Value> {
        Some(conditions::condition(&self.error(write, cause), Value::Nil))
    }
    fn class(&self) -> Option<Gc<Class>> {
        self.class.clone()
    }
}

/// "local -> peer" text of a socket.
pub fn describe_endpoints(c: &SocketCore) -> String {
    let or_q = |a: Option<String>| a.unwrap_or_else(|| "?".into());
    let proto = c.protocol_text();
    match c.role {
        super::socket::Role::Listener => format!("{} listener {}", proto, or_q(c.local_text())),
        super::socket::Role::Datagram if c.peer_text().is_none() => {
            format!("{} {}", proto, or_q(c.local_text()))
        }
        super::socket::Role::Connection | super::socket::Role::Datagram => {
            format!(
                "{} {} -> {}",
                proto,
                or_q(c.local_text()),
                or_q(c.peer_text())
            )
        }
    }
}

/// How a socket stream is made.
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// Readable.
    pub input: bool,
    /// Writable.
    pub output: bool,
    /// Element type as given (BASE-CHAR, (UNSIGNED-BYTE 8), ...).
    pub element_type: Value,
    /// Latin-1 (base-char) or UTF-8.
    pub encoding: Encoding,
    /// Read timeout, seconds.
    pub read_timeout: Option<f64>,
    /// Write timeout, seconds.
    pub write_timeout: Option<f64>,
}

/// A stream over a socket.
pub fn make_stream(
    core: Option<Rc<SocketCore>>,
    opts: &StreamOptions,
    class: Option<Gc<Class>>,
) -> Value {
    let io = SocketIo {
        core: RefCell::new(core),
        read_timeout: Cell::new(opts.read_timeout),
        write_timeout: Cell::new(opts.write_timeout),
        class,
        pending: Vec::new(),
        tls: RefCell::new(None),
    };
    let bs = ByteStream::new(Box::new(io), opts.input, opts.output, opts.encoding, false);
    let mut st = Stream::new(StreamKind::Bytes(bs), "SOCKET-STREAM");
    st.element_type = RefCell::new(opts.element_type.clone());
    st.into_value()
}

/// The socket layer of a stream, if it is a socket stream.
pub fn with_socket_io<T>(s: &Stream, f: impl FnOnce(&SocketIo) -> T) -> Option<T> {
    let b = s.bytes()?;
    let io = b.io.borrow();
    let sio = io.as_any()?.downcast_ref::<SocketIo>()?;
    Some(f(sio))
}

/// Whether a value is a socket stream.
pub fn is_socket_stream(v: &Value) -> bool {
    match v {
        Value::Stream(s) => with_socket_io(s, |_| ()).is_some(),
        _ => false,
    }
}
