//! Datagram sockets: UDP over IPv4 and IPv6 (bind with port 0 = any,
//! connect, broadcast, multicast membership) and the datagram I/O that
//! UDP and Unix datagram sockets share: one message per send, one per
//! receive with the sender's address and the datagram's real length, so
//! a truncated message is reported rather than hidden. Waits park only
//! the calling Lisp process.

use super::error::{Fault, NetError, NetResult, Op};
use super::socket::{Role, SocketCore};
use crate::ctx::{Ctx, R};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// The largest UDP payload over IPv4 (65535 - 8 - 20).
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// A buffer big enough for any datagram netlisp receives.
pub const RECV_BUFFER: usize = 65_536;

/// One datagram received.
#[derive(Debug)]
pub struct Received {
    /// Bytes stored in the buffer.
    pub len: usize,
    /// The datagram's real length (larger than `len` when truncated).
    pub full: usize,
    /// The sender (None for an unnamed Unix sender).
    pub from: Option<SockAddr>,
}

fn at(e: NetError, addr: &SocketAddr) -> NetError {
    e.at(addr.ip().to_string(), Some(addr.port()))
}

/// How a UDP socket is opened.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenOptions {
    /// Bind to the address (port 0: the OS chooses); else leave unbound.
    pub bind: bool,
    /// SO_REUSEADDR before binding.
    pub reuse: bool,
    /// IPV6_V6ONLY for an IPv6 socket (None: the system default).
    pub v6only: Option<bool>,
}

/// A UDP socket of `addr`'s family, bound to `addr` if asked.
pub fn open(addr: &SocketAddr, opts: OpenOptions) -> NetResult<SocketCore> {
    let s = Socket::new(
        Domain::for_address(*addr),
        Type::DGRAM.cloexec(),
        Some(Protocol::UDP),
    )
    .map_err(|e| at(NetError::os(Op::Create, &e), addr))?;
    if let (Some(only), true) = (opts.v6only, addr.is_ipv6()) {
        s.set_only_v6(only)
            .map_err(|e| at(NetError::os(Op::Option, &e), addr))?;
    }
    if opts.bind {
        if opts.reuse {
            let _ = s.set_reuse_address(true);
        }
        s.bind(&SockAddr::from(*addr))
            .map_err(|e| at(NetError::os(Op::Bind, &e), addr))?;
    }
    SocketCore::new(s, Role::Datagram)
}

/// Connect a datagram socket to `to`: sends without an address go
/// there, only its datagrams are received, and an ICMP port unreachable
/// comes back as a connection-refused error on the next call.
pub fn connect(core: &SocketCore, to: &SockAddr) -> NetResult<()> {
    core.with(Op::Connect, |s| s.connect(to))
}

/// The deadline `timeout` seconds from now.
pub fn deadline_of(timeout: Option<f64>) -> Option<Instant> {
    timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)))
}

/// Send one datagram (to `to`, or to the connected peer), waiting for
/// buffer space until `timeout`. A message over the size limit is an
/// error naming the size, not a silent cut.
pub fn send(
    ctx: &mut Ctx,
    core: &SocketCore,
    buf: &[u8],
    to: Option<&SockAddr>,
    timeout: Option<f64>,
) -> R<NetResult<usize>> {
    let deadline = deadline_of(timeout);
    loop {
        let r = core.with(Op::Write, |s| match to {
            Some(a) => s.send_to_with_flags(buf, a, libc::MSG_NOSIGNAL),
            None => s.send_with_flags(buf, libc::MSG_NOSIGNAL),
        });
        match r {
            Ok(n) => {
                let st = &core.stats;
                st.bytes_out.set(st.bytes_out.get() + n as u64);
                st.writes.set(st.writes.get() + 1);
                return Ok(Ok(n));
            }
            Err(e) if e.errno == Some(libc::EAGAIN) => {}
            Err(e) if e.errno == Some(libc::EMSGSIZE) => {
                return Ok(Err(NetError {
                    message: format!(
                        "a datagram of {} bytes is larger than the socket can send (at most {} for UDP)",
                        buf.len(),
                        MAX_UDP_PAYLOAD
                    ),
                    ..e
                }))
            }
            Err(e) => return Ok(Err(e)),
        }
        let left = super::tcp::remaining(deadline);
        if !crate::mp::wait_fd(ctx, core.fd, false, left)? {
            return Ok(Err(NetError::new(
                Fault::TimedOut,
                Op::Write,
                "timed out waiting to send",
            )));
        }
    }
}

/// Receive one datagram without waiting: Ok(None) if none is queued.
pub fn try_recv(core: &SocketCore, buf: &mut [u8]) -> NetResult<Option<Received>> {
    // SAFETY: u8 and MaybeUninit<u8> have the same layout, and recvfrom
    // only writes initialised bytes into the already initialised buffer.
    let raw = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    // MSG_TRUNC makes Linux return the datagram's real length.
    match core.with(Op::Read, |s| s.recv_from_with_flags(raw, libc::MSG_TRUNC)) {
        Ok((full, from)) => {
            let st = &core.stats;
            st.bytes_in.set(st.bytes_in.get() + full as u64);
            st.reads.set(st.reads.get() + 1);
            let named = from.as_socket().is_some() || super::unix::name_text(&from).is_some();
            Ok(Some(Received {
                len: full.min(buf.len()),
                full,
                from: named.then_some(from),
            }))
        }
        Err(e) if e.errno == Some(libc::EAGAIN) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Receive one datagram, parking until one arrives or `timeout` seconds
/// pass (then Ok(None)).
pub fn recv(
    ctx: &mut Ctx,
    core: &SocketCore,
    buf: &mut [u8],
    timeout: Option<f64>,
) -> R<NetResult<Option<Received>>> {
    let deadline = deadline_of(timeout);
    loop {
        match try_recv(core, buf) {
            Ok(Some(r)) => return Ok(Ok(Some(r))),
            Ok(None) => {}
            Err(e) => return Ok(Err(e)),
        }
        let left = super::tcp::remaining(deadline);
        if !crate::mp::wait_fd(ctx, core.fd, true, left)? {
            return Ok(Ok(None));
        }
    }
}

/// SO_BROADCAST.
pub fn set_broadcast(core: &SocketCore, on: bool) -> NetResult<()> {
    core.with(Op::Option, |s| s.set_broadcast(on))
}

/// Join (or leave) multicast group `group` on interface `iface`
/// (IPv4: the interface's address, unspecified for any; IPv6: its
/// index, 0 for any).
pub fn multicast_membership(
    core: &SocketCore,
    group: IpAddr,
    iface: Option<IpAddr>,
    index: u32,
    join: bool,
) -> NetResult<()> {
    core.with(Op::Option, |s| match group {
        IpAddr::V4(g) => {
            let i = match iface {
                Some(IpAddr::V4(i)) => i,
                _ => std::net::Ipv4Addr::UNSPECIFIED,
            };
            if join {
                s.join_multicast_v4(&g, &i)
            } else {
                s.leave_multicast_v4(&g, &i)
            }
        }
        IpAddr::V6(g) => {
            if join {
                s.join_multicast_v6(&g, index)
            } else {
                s.leave_multicast_v6(&g, index)
            }
        }
    })
}

/// IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP.
pub fn set_multicast_loop(core: &SocketCore, on: bool) -> NetResult<()> {
    core.with(Op::Option, |s| match s.local_addr()?.as_socket() {
        Some(SocketAddr::V6(_)) => s.set_multicast_loop_v6(on),
        _ => s.set_multicast_loop_v4(on),
    })
}

/// IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS.
pub fn set_multicast_ttl(core: &SocketCore, ttl: u32) -> NetResult<()> {
    core.with(Op::Option, |s| match s.local_addr()?.as_socket() {
        Some(SocketAddr::V6(_)) => s.set_multicast_hops_v6(ttl),
        _ => s.set_multicast_ttl_v4(ttl),
    })
}
