//! The socket object every dialect shares: one non-blocking OS socket,
//! what it is (listener or connection), its addresses, counters for
//! `describe` and the live-socket list, and a close that drains unread
//! input so the peer sees an orderly end rather than a reset.

use super::error::{Fault, NetError, NetResult, Op};
use super::registry;
use socket2::Socket;
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

/// What a socket is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Accepts connections.
    Listener,
    /// A connected stream socket.
    Connection,
    /// A datagram socket (UDP or Unix), connected or not.
    Datagram,
}

/// The address family of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// IPv4 or IPv6.
    Inet,
    /// A Unix-domain socket (named by a path or an abstract name).
    Unix,
}

/// A socket file this process bound, removed again when the socket
/// closes, but only if it is still the same file (device and inode).
#[derive(Debug)]
pub struct BoundPath {
    /// The path given to bind.
    pub path: std::path::PathBuf,
    /// st_dev after bind.
    pub dev: u64,
    /// st_ino after bind.
    pub ino: u64,
}

/// Traffic counters.
#[derive(Default, Debug)]
pub struct Stats {
    /// Bytes received.
    pub bytes_in: Cell<u64>,
    /// Bytes sent.
    pub bytes_out: Cell<u64>,
    /// Successful receive calls.
    pub reads: Cell<u64>,
    /// Successful send calls.
    pub writes: Cell<u64>,
}

/// A socket owned by netlisp.
pub struct SocketCore {
    sock: RefCell<Option<Socket>>,
    /// The descriptor (the COMM handle), kept after close for messages.
    pub fd: RawFd,
    /// Listener or connection.
    pub role: Role,
    /// Local address when created.
    pub local: Option<SocketAddr>,
    /// Peer address when created (connections).
    pub peer: Option<SocketAddr>,
    /// Traffic.
    pub stats: Stats,
    /// When it was made.
    pub created: Instant,
    /// Name of the process that made it.
    pub owner: String,
    /// Input shut down (by us) or end of file seen.
    pub read_closed: Cell<bool>,
    /// Output shut down.
    pub write_closed: Cell<bool>,
    /// Inet or Unix.
    pub family: Family,
    /// Seconds a datagram receive may wait (None: forever).
    pub recv_timeout: Cell<Option<f64>>,
    /// The socket file to remove on close (a Unix socket we bound).
    pub bound_path: RefCell<Option<BoundPath>>,
}

impl SocketCore {
    /// Take ownership of a socket: make it non-blocking and record it.
    pub fn new(sock: Socket, role: Role) -> NetResult<SocketCore> {
        sock.set_nonblocking(true)
            .map_err(|e| NetError::os(Op::Create, &e))?;
        let fd = sock.as_raw_fd();
        crate::mp::sched().cache_fd(fd);
        let local_sa = sock.local_addr().ok();
        let family = match &local_sa {
            Some(a) if a.is_unix() => Family::Unix,
            _ => Family::Inet,
        };
        let local = local_sa.and_then(|a| a.as_socket());
        let peer = sock.peer_addr().ok().and_then(|a| a.as_socket());
        Ok(SocketCore {
            sock: RefCell::new(Some(sock)),
            fd,
            role,
            local,
            peer,
            stats: Stats::default(),
            created: Instant::now(),
            owner: crate::mp::current_process_name(),
            read_closed: Cell::new(false),
            write_closed: Cell::new(false),
            family,
            recv_timeout: Cell::new(None),
            bound_path: RefCell::new(None),
        })
    }

    /// Whether the socket is still open.
    pub fn is_open(&self) -> bool {
        self.sock.borrow().is_some()
    }

    /// Run `f` on the open socket, or fail with a Shutdown error.
    pub fn with<T>(&self, op: Op, f: impl FnOnce(&Socket) -> std::io::Result<T>) -> NetResult<T> {
        match &*self.sock.borrow() {
            Some(s) => f(s).map_err(|e| NetError::os(op, &e)),
            None => Err(NetError::new(Fault::Shutdown, op, "the socket is closed")),
        }
    }

    /// Receive into `buf`: Some(n) (0 at end of file), None if it would
    /// block.
    pub fn try_recv(&self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        let b = self.sock.borrow();
        let Some(s) = &*b else {
            return Ok(Some(0));
        };
        // SAFETY: recv writes at most buf.len() initialised bytes.
        let n = unsafe { libc::recv(s.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let r = would_block(n)?;
        if let Some(n) = r {
            if n > 0 {
                self.stats
                    .bytes_in
                    .set(self.stats.bytes_in.get() + n as u64);
                self.stats.reads.set(self.stats.reads.get() + 1);
            }
        }
        Ok(r)
    }

    /// Look at the next bytes without taking them: Some(n) (0 at end
    /// of file), None if nothing is there yet.
    pub fn try_peek(&self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        let b = self.sock.borrow();
        let Some(s) = &*b else {
            return Ok(Some(0));
        };
        // SAFETY: recv writes at most buf.len() initialised bytes.
        let n = unsafe {
            libc::recv(
                s.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_PEEK,
            )
        };
        would_block(n)
    }

    /// Send from `buf`: Some(n), None if it would block. Never raises
    /// SIGPIPE: a closed peer is an EPIPE error.
    pub fn try_send(&self, buf: &[u8]) -> std::io::Result<Option<usize>> {
        let b = self.sock.borrow();
        let Some(s) = &*b else {
            return Err(std::io::Error::from_raw_os_error(libc::EBADF));
        };
        // SAFETY: send reads buf.len() bytes from buf.
        let n = unsafe {
            libc::send(
                s.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        let r = would_block(n)?;
        if let Some(n) = r {
            self.stats
                .bytes_out
                .set(self.stats.bytes_out.get() + n as u64);
            self.stats.writes.set(self.stats.writes.get() + 1);
        }
        Ok(r)
    }

    /// shutdown(2) in one or both directions.
    pub fn shutdown(&self, read: bool, write: bool) -> NetResult<()> {
        let how = match (read, write) {
            (true, true) => std::net::Shutdown::Both,
            (true, false) => std::net::Shutdown::Read,
            (false, true) => std::net::Shutdown::Write,
            (false, false) => return Ok(()),
        };
        let r = self.with(Op::Close, |s| s.shutdown(how));
        if read {
            self.read_closed.set(true);
        }
        if write {
            self.write_closed.set(true);
        }
        match r {
            // Already gone at the other end: nothing left to shut.
            Err(e) if e.errno == Some(libc::ENOTCONN) => Ok(()),
            r => r,
        }
    }

    /// Close the socket. A connection first discards input the program
    /// did not read (what is already queued), so the kernel does not
    /// answer the close with a reset. With `abort` (CLOSE :ABORT T) it
    /// closes at once.
    pub fn close(&self, abort: bool) {
        let Some(s) = self.sock.borrow_mut().take() else {
            return;
        };
        // Without the drain the peer sees end of file, or a reset if
        // input it sent is still unread.
        if self.role == Role::Connection && !abort {
            drain(&s);
        }
        registry::forget(self.fd);
        crate::mp::sched().forget_fd(self.fd);
        drop(s);
        if let Some(b) = self.bound_path.borrow_mut().take() {
            super::unix::remove_if_same(&b);
        }
    }

    /// The local address now (it may differ from creation time for a
    /// socket bound to port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.with(Op::Option, |s| s.local_addr())
            .ok()
            .and_then(|a| a.as_socket())
            .or(self.local)
    }

    /// The peer address now.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.with(Op::Option, |s| s.peer_addr())
            .ok()
            .and_then(|a| a.as_socket())
            .or(self.peer)
    }

    /// The local name as text: "host:port", a Unix path, "@name" for
    /// an abstract Unix name, or None when unnamed or closed.
    pub fn local_text(&self) -> Option<String> {
        match self.family {
            Family::Inet => self.local_addr().map(|a| a.to_string()),
            Family::Unix => self
                .with(Op::Option, |s| s.local_addr())
                .ok()
                .and_then(|a| super::unix::name_text(&a)),
        }
    }

    /// The peer's name as text (see [`SocketCore::local_text`]).
    pub fn peer_text(&self) -> Option<String> {
        match self.family {
            Family::Inet => self.peer_addr().map(|a| a.to_string()),
            Family::Unix => self
                .with(Op::Option, |s| s.peer_addr())
                .ok()
                .and_then(|a| super::unix::name_text(&a)),
        }
    }

    /// What kind of socket this is, for listings: "tcp", "udp",
    /// "unix-stream" or "unix-dgram".
    pub fn protocol_text(&self) -> &'static str {
        match (self.family, self.role) {
            (Family::Inet, Role::Datagram) => "udp",
            (Family::Inet, _) => "tcp",
            (Family::Unix, Role::Datagram) => "unix-dgram",
            (Family::Unix, _) => "unix-stream",
        }
    }

    /// The pending socket error (SO_ERROR), if any.
    pub fn take_error(&self) -> Option<std::io::Error> {
        self.with(Op::Option, |s| s.take_error()).ok().flatten()
    }

    /// Borrow the socket for option calls.
    pub fn socket(&self) -> std::cell::Ref<'_, Option<Socket>> {
        self.sock.borrow()
    }
}

impl Drop for SocketCore {
    fn drop(&mut self) {
        self.close(false);
    }
}

fn would_block(n: isize) -> std::io::Result<Option<usize>> {
    if n >= 0 {
        return Ok(Some(n as usize));
    }
    let e = std::io::Error::last_os_error();
    match e.kind() {
        std::io::ErrorKind::WouldBlock => Ok(None),
        _ => Err(e),
    }
}

/// Read and drop whatever input is queued, without waiting.
fn drain(s: &Socket) {
    let mut buf = [0u8; 16 * 1024];
    for _ in 0..64 {
        // SAFETY: non-blocking recv into a local buffer.
        let n = unsafe {
            libc::recv(
                s.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n <= 0 {
            return;
        }
    }
}

/// Whether input (or end of file, or an error) is waiting on the socket
/// now, without reading it.
pub fn readable_now(core: &SocketCore) -> bool {
    let mut p = libc::pollfd {
        fd: core.fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no waiting.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0
}
