//! TCP: connecting (each address in turn within one deadline), listening
//! (SO_REUSEADDR unless asked not to, port 0 = the OS chooses) and accepting. Every
//! wait parks only the calling Lisp process.

use super::error::{Fault, NetError, NetResult, Op};
use super::socket::{Role, SocketCore};
use crate::ctx::{Ctx, R};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Instant;

/// Options for a client socket.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// Bind to this local address first (port 0 = any).
    pub local: Option<SocketAddr>,
    /// TCP_NODELAY.
    pub nodelay: bool,
    /// SO_KEEPALIVE.
    pub keepalive: bool,
}

/// Options for a listening socket.
#[derive(Clone, Debug)]
pub struct ListenOptions {
    /// listen(2) backlog.
    pub backlog: i32,
    /// SO_REUSEPORT.
    pub reuseport: bool,
    /// SO_REUSEADDR (on unless a dialect asks otherwise).
    pub reuse_address: bool,
    /// IPV6_V6ONLY for an IPv6 listener (None: the system default).
    pub v6only: Option<bool>,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            backlog: 128,
            reuseport: false,
            reuse_address: true,
            v6only: None,
        }
    }
}

fn host_text(a: &SocketAddr) -> String {
    a.ip().to_string()
}

fn new_socket(addr: &SocketAddr) -> NetResult<Socket> {
    let s = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM.cloexec(),
        Some(Protocol::TCP),
    )
    .map_err(|e| NetError::os(Op::Create, &e).at(host_text(addr), Some(addr.port())))?;
    s.set_nonblocking(true)
        .map_err(|e| NetError::os(Op::Create, &e))?;
    Ok(s)
}

/// Seconds left until `deadline` (None: no limit).
pub fn remaining(deadline: Option<Instant>) -> Option<f64> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()).as_secs_f64())
}

/// Connect to one address, parking until it completes or `deadline`.
fn connect_one(
    ctx: &mut Ctx,
    addr: &SocketAddr,
    opts: &ConnectOptions,
    deadline: Option<Instant>,
) -> R<NetResult<Socket>> {
    let at = |e: NetError| e.at(host_text(addr), Some(addr.port()));
    let s = match new_socket(addr) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(local) = &opts.local {
        let _ = s.set_reuse_address(true);
        if let Err(e) = s.bind(&SockAddr::from(*local)) {
            return Ok(Err(
                NetError::os(Op::Bind, &e).at(host_text(local), Some(local.port()))
            ));
        }
    }
    if opts.nodelay {
        let _ = s.set_tcp_nodelay(true);
    }
    if opts.keepalive {
        let _ = s.set_keepalive(true);
    }
    match s.connect(&SockAddr::from(*addr)) {
        Ok(()) => return Ok(Ok(s)),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Ok(Err(at(NetError::os(Op::Connect, &e)))),
    }
    if !crate::mp::wait_fd(ctx, s.as_raw_fd(), false, remaining(deadline))? {
        return Ok(Err(at(NetError::new(
            Fault::TimedOut,
            Op::Connect,
            "connection timed out",
        ))));
    }
    match s.take_error() {
        Ok(None) => Ok(Ok(s)),
        Ok(Some(e)) | Err(e) => Ok(Err(at(NetError::os(Op::Connect, &e)))),
    }
}

/// Start connecting to `addr` without waiting: the socket, and whether
/// the connection is already complete. Wait for it to become writable,
/// then call [`finish_connect`].
pub fn start_connect(addr: &SocketAddr, opts: &ConnectOptions) -> NetResult<(SocketCore, bool)> {
    let at = |e: NetError| e.at(host_text(addr), Some(addr.port()));
    let s = new_socket(addr)?;
    if let Some(local) = &opts.local {
        let _ = s.set_reuse_address(true);
        s.bind(&SockAddr::from(*local))
            .map_err(|e| NetError::os(Op::Bind, &e).at(host_text(local), Some(local.port())))?;
    }
    if opts.nodelay {
        let _ = s.set_tcp_nodelay(true);
    }
    if opts.keepalive {
        let _ = s.set_keepalive(true);
    }
    let done = match s.connect(&SockAddr::from(*addr)) {
        Ok(()) => true,
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => false,
        Err(e) => return Err(at(NetError::os(Op::Connect, &e))),
    };
    Ok((SocketCore::new(s, Role::Connection)?, done))
}

/// The outcome of a connect started by [`start_connect`], once its
/// socket is writable.
pub fn finish_connect(core: &SocketCore, addr: &SocketAddr) -> NetResult<()> {
    match core.take_error() {
        None => Ok(()),
        Some(e) => Err(NetError::os(Op::Connect, &e).at(host_text(addr), Some(addr.port()))),
    }
}

/// Connect to the first of `addrs` that accepts, trying them in order
/// within one deadline. The error is the first address's unless a later
/// one failed in a more telling way (anything but refused).
pub fn connect(
    ctx: &mut Ctx,
    addrs: &[SocketAddr],
    opts: &ConnectOptions,
    deadline: Option<Instant>,
) -> R<NetResult<SocketCore>> {
    let mut first: Option<NetError> = None;
    for addr in addrs {
        let local_ok = match &opts.local {
            Some(l) => l.is_ipv4() == addr.is_ipv4(),
            None => true,
        };
        if !local_ok {
            continue;
        }
        match connect_one(ctx, addr, opts, deadline)? {
            Ok(s) => return Ok(SocketCore::new(s, Role::Connection)),
            Err(e) => {
                let timed_out = e.fault == Fault::TimedOut;
                if first.is_none() {
                    first = Some(e);
                }
                if timed_out {
                    break;
                }
            }
        }
    }
    Ok(Err(first.unwrap_or_else(|| {
        NetError::new(
            Fault::HostNotFound,
            Op::Connect,
            "no address of a usable family",
        )
    })))
}

/// A listening socket on `addr`.
pub fn listen(addr: &SocketAddr, opts: &ListenOptions) -> NetResult<SocketCore> {
    let at = |e: NetError| e.at(host_text(addr), Some(addr.port()));
    let s = new_socket(addr).map_err(at)?;
    s.set_reuse_address(opts.reuse_address)
        .map_err(|e| at(NetError::os(Op::Option, &e)))?;
    if opts.reuseport {
        s.set_reuse_port(true)
            .map_err(|e| at(NetError::os(Op::Option, &e)))?;
    }
    if addr.is_ipv6() {
        if let Some(only) = opts.v6only {
            s.set_only_v6(only)
                .map_err(|e| at(NetError::os(Op::Option, &e)))?;
        }
    }
    s.bind(&SockAddr::from(*addr))
        .map_err(|e| at(NetError::os(Op::Bind, &e)))?;
    s.listen(opts.backlog.max(1))
        .map_err(|e| at(NetError::os(Op::Listen, &e)))?;
    SocketCore::new(s, Role::Listener)
}

/// Accept one connection, parking until one arrives or `timeout`
/// seconds pass (then Ok(None)).
pub fn accept(
    ctx: &mut Ctx,
    listener: &SocketCore,
    timeout: Option<f64>,
) -> R<NetResult<Option<SocketCore>>> {
    let deadline = timeout.map(|t| Instant::now() + std::time::Duration::from_secs_f64(t.max(0.0)));
    loop {
        match listener.with(Op::Accept, |s| s.accept()) {
            Ok((s, _)) => return Ok(SocketCore::new(s, Role::Connection).map(Some)),
            Err(e) => match e.errno {
                Some(libc::EAGAIN) => {}
                // The client gave up before we took it: wait for the next.
                Some(libc::ECONNABORTED) | Some(libc::EINTR) => continue,
                _ => return Ok(Err(e)),
            },
        }
        if !crate::mp::wait_fd(ctx, listener.fd, true, remaining(deadline))? {
            return Ok(Ok(None));
        }
    }
}
