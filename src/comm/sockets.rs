//! The socket primitives the other dialects (usocket, PORT and
//! sb-bsd-sockets, written in Lisp under `lisp/`) build on: a listening
//! socket without a server process, accept with a timeout, one wait over
//! many sockets of every kind, socket options by name, and octet-vector
//! addresses. They work on COMM's own objects (handles, socket streams,
//! datagram sockets), so every dialect shares one core and one error
//! vocabulary.

use super::{fail, hostspec, ip_value, resolve_spec, seconds, service, Ipv6Choice};
use crate::builtins::{flag, opt};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::net::addr::{self, IpAddress, Ipv6Spec};
use crate::net::error::{Fault, NetError, NetResult, Op};
use crate::net::registry;
use crate::net::socket::{readable_now, Role, SocketCore};
use crate::net::tcp::{self, ListenOptions};
use crate::value::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

/// The core behind any COMM socket object: a handle, a socket stream or
/// a datagram socket (NIL when it is closed).
fn core_arg(ctx: &mut Ctx, v: &Value) -> R<Option<Rc<SocketCore>>> {
    match crate::foreign::get::<super::udp::DatagramObj>(v) {
        Some(d) => Ok(Some(d.core.clone())),
        None => super::streams::core_of(ctx, v),
    }
}

fn open_core(ctx: &mut Ctx, v: &Value) -> R<Rc<SocketCore>> {
    match core_arg(ctx, v)? {
        Some(c) if c.is_open() => Ok(c),
        _ => Err(crate::net::conditions::signal(
            ctx,
            &super::connect::bad_handle(v),
        )),
    }
}

/// The address to listen on: HOST resolved (NIL: every interface of
/// the family IPV6 asks for).
fn listen_on(ctx: &mut Ctx, host: &Value, ipv6: Ipv6Choice, port: u16) -> R<NetResult<SocketAddr>> {
    if host.is_nil() {
        let ip: IpAddr = match ipv6 {
            Ipv6Choice::Yes | Ipv6Choice::Both => Ipv6Addr::UNSPECIFIED.into(),
            _ => Ipv4Addr::UNSPECIFIED.into(),
        };
        return Ok(Ok(SocketAddr::new(ip, port)));
    }
    let h = hostspec(ctx, host)?;
    Ok(match resolve_spec(ctx, &h, ipv6.family(), None)? {
        Ok(addrs) => {
            match addrs.first() {
                Some(a) => Ok(a.with_port(port)),
                None => Err(NetError::new(Fault::HostNotFound, Op::Bind, "no address")
                    .at(h.text(), Some(port))),
            }
        }
        Err(e) => Err(NetError { op: Op::Bind, ..e }.at(h.text(), Some(port))),
    })
}

/// How a socket is waited on: input, an incoming connection, or (closed)
/// ready at once.
fn ready_now(ctx: &mut Ctx, v: &Value) -> R<(bool, Option<i32>)> {
    if let Value::Stream(s) = v {
        let ready =
            !s.is_open() || crate::stream::listen(ctx, s)? || s.bytes().is_some_and(|b| b.at_eof());
        let fd = s.bytes().and_then(|b| b.io.borrow().fd());
        return Ok((ready, fd));
    }
    match core_arg(ctx, v)? {
        Some(c) if c.is_open() => Ok((readable_now(&c), Some(c.fd))),
        _ => Ok((true, None)),
    }
}

/// One socket option: its name, and how to read and set it.
struct SocketOption {
    name: &'static str,
    get: fn(&socket2::Socket) -> std::io::Result<Value>,
    set: fn(&socket2::Socket, &Value) -> std::io::Result<()>,
}

fn boolean(v: bool) -> Value {
    Value::bool(v)
}

fn size_of(v: &Value) -> std::io::Result<usize> {
    match v {
        Value::Fixnum(n) if *n >= 0 => Ok(*n as usize),
        _ => Err(std::io::Error::from_raw_os_error(libc::EINVAL)),
    }
}

fn duration_of(v: &Value) -> Option<Duration> {
    match v {
        Value::Fixnum(n) if *n > 0 => Some(Duration::from_secs(*n as u64)),
        Value::Single(f) if *f > 0.0 => Some(Duration::from_secs_f32(*f)),
        Value::Double(f) if *f > 0.0 => Some(Duration::from_secs_f64(*f)),
        _ => None,
    }
}

fn seconds_value(d: Option<Duration>) -> Value {
    match d {
        None => Value::Nil,
        Some(d) if d.subsec_nanos() == 0 => Value::Fixnum(d.as_secs() as i64),
        Some(d) => Value::Double(d.as_secs_f64()),
    }
}

/// The options by name, as the dialects spell them (one entry per name;
/// the Lisp layers map their own keywords onto these).
static OPTIONS: &[SocketOption] = &[
    SocketOption {
        name: "REUSE-ADDRESS",
        get: |s| s.reuse_address().map(boolean),
        set: |s, v| s.set_reuse_address(v.truthy()),
    },
    SocketOption {
        name: "REUSE-PORT",
        get: |s| s.reuse_port().map(boolean),
        set: |s, v| s.set_reuse_port(v.truthy()),
    },
    SocketOption {
        name: "KEEPALIVE",
        get: |s| s.keepalive().map(boolean),
        set: |s, v| s.set_keepalive(v.truthy()),
    },
    SocketOption {
        name: "NODELAY",
        get: |s| s.tcp_nodelay().map(boolean),
        set: |s, v| s.set_tcp_nodelay(v.truthy()),
    },
    SocketOption {
        name: "BROADCAST",
        get: |s| s.broadcast().map(boolean),
        set: |s, v| s.set_broadcast(v.truthy()),
    },
    SocketOption {
        name: "OOB-INLINE",
        get: |s| s.out_of_band_inline().map(boolean),
        set: |s, v| s.set_out_of_band_inline(v.truthy()),
    },
    SocketOption {
        name: "RECEIVE-BUFFER",
        get: |s| s.recv_buffer_size().map(|n| Value::Fixnum(n as i64)),
        set: |s, v| s.set_recv_buffer_size(size_of(v)?),
    },
    SocketOption {
        name: "SEND-BUFFER",
        get: |s| s.send_buffer_size().map(|n| Value::Fixnum(n as i64)),
        set: |s, v| s.set_send_buffer_size(size_of(v)?),
    },
    SocketOption {
        name: "LINGER",
        get: |s| s.linger().map(seconds_value),
        set: |s, v| {
            s.set_linger(if v.is_nil() {
                None
            } else {
                Some(duration_of(v).unwrap_or_default())
            })
        },
    },
    SocketOption {
        name: "TYPE",
        get: |s| s.r#type().map(|t| Value::Fixnum(i32::from(t) as i64)),
        set: |_, _| Err(std::io::Error::from_raw_os_error(libc::ENOPROTOOPT)),
    },
];

fn option_named(ctx: &mut Ctx, v: &Value) -> R<&'static SocketOption> {
    let name = match v {
        Value::Symbol(s) => s.name().to_string(),
        _ => String::new(),
    };
    match OPTIONS.iter().find(|o| o.name == name) {
        Some(o) => Ok(o),
        None => {
            let names: Vec<String> = OPTIONS.iter().map(|o| format!(":{}", o.name)).collect();
            Err(cond::type_error(
                ctx,
                v.clone(),
                &format!("(MEMBER {})", names.join(" ")),
            ))
        }
    }
}

/// The octets of an IP address value (integer, IPV6-ADDRESS, dotted or
/// IPv6 text, or an octet vector already).
fn octets_of(ctx: &mut Ctx, v: &Value) -> R<Option<Vec<u8>>> {
    let ip = match super::ip_of_value(v) {
        Some(a) => Some(a.ip()),
        None => match crate::array::string_of(v) {
            Some(s) => addr::parse_numeric(&s).map(|a| a.ip()),
            None if matches!(v, Value::Array(_)) => {
                let items = crate::builtins::sequences::items(ctx, v)?;
                let bytes: Option<Vec<u8>> = items
                    .iter()
                    .map(|x| match x {
                        Value::Fixnum(n) if (0..=255).contains(n) => Some(*n as u8),
                        _ => None,
                    })
                    .collect();
                return Ok(bytes.filter(|b| b.len() == 4 || b.len() == 16));
            }
            None => None,
        },
    };
    Ok(ip.map(|ip| match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }))
}

crate::defbuiltins! {
    /// Bind SERVICE (0 or NIL: the OS chooses) on ADDRESS (NIL: every
    /// interface) and listen with BACKLOG; return the listening handle,
    /// without a server process (accept with COMM::ACCEPT-CONNECTION).
    /// REUSE-ADDRESS (default T) sets SO_REUSEADDR; PATH listens on a
    /// Unix-domain stream socket instead. A failure signals the
    /// COMM:SOCKET-ERROR subclass for it, or returns NIL and the
    /// condition when ERROR is NIL.
    fn CREATE_TCP_SOCKET_FOR_SERVICE "COMM::CREATE-TCP-SOCKET-FOR-SERVICE" "(service &key address backlog (reuse-address t) ipv6 (error t) path)" [mv] (ctx, a) {
        let errorp = opt(a, 5).is_none_or(|v| v.truthy());
        let backlog = super::backlog(ctx, opt(a, 2))?;
        if let Some(p) = opt(a, 6).filter(|p| p.truthy()) {
            let path = super::unix::socket_name(ctx, p)?;
            let bind = super::unix::bind_options(ctx, None, None)?;
            return match crate::net::unix::listen(&path, backlog, &bind) {
                Ok(c) => Ok(Value::Fixnum(registry::adopt(c).fd as i64)),
                Err(e) => fail(ctx, errorp, &e),
            };
        }
        let port = match &a[0] {
            Value::Nil => 0,
            v => match service(ctx, v, "tcp")? {
                Ok(p) => p,
                Err(e) => return fail(ctx, errorp, &NetError { op: Op::Bind, ..e }),
            },
        };
        let ipv6 = super::ipv6_choice(ctx, a, 4, true)?;
        let host = crate::builtins::opt_nil(a, 1);
        let addr = match listen_on(ctx, &host, ipv6, port)? {
            Ok(sa) => sa,
            Err(e) => return fail(ctx, errorp, &e),
        };
        let opts = ListenOptions {
            backlog,
            reuse_address: opt(a, 3).is_none_or(|v| v.truthy()),
            v6only: ipv6.v6only(),
            ..ListenOptions::default()
        };
        match tcp::listen(&addr, &opts) {
            Ok(c) => Ok(Value::Fixnum(registry::adopt(c).fd as i64)),
            Err(e) => fail(ctx, errorp, &e),
        }
    }
    /// Accept one connection on the listening HANDLE and return its
    /// socket handle, or NIL when TIMEOUT seconds pass first (NIL waits
    /// as long as it takes, 0 only takes one already queued).
    fn ACCEPT_CONNECTION "COMM::ACCEPT-CONNECTION" "(handle &key timeout)" (ctx, a) {
        let core = open_core(ctx, &a[0])?;
        if core.role != Role::Listener {
            return Err(cond::type_error(ctx, a[0].clone(), "(SATISFIES COMM::LISTENING-HANDLE-P)"));
        }
        let timeout = seconds(ctx, a, 1)?;
        match tcp::accept(ctx, &core, timeout)? {
            Ok(Some(c)) => Ok(Value::Fixnum(registry::adopt(c).fd as i64)),
            Ok(None) => Ok(Value::Nil),
            Err(e) => Err(crate::net::conditions::signal(ctx, &e)),
        }
    }
    /// Whether HANDLE is an open listening socket.
    fn LISTENING_HANDLE_P "COMM::LISTENING-HANDLE-P" "(handle)" (ctx, a) {
        Ok(Value::bool(matches!(core_arg(ctx, &a[0]), Ok(Some(c)) if c.is_open() && c.role == Role::Listener)))
    }
    /// Wait until one of SOCKETS (handles, socket streams, datagram
    /// sockets, in any mix) is ready, or TIMEOUT seconds pass (NIL: no
    /// limit, 0: just look), and return the ready ones in their order.
    /// Ready means input (or end of file) for a stream or datagram
    /// socket, a queued connection for a listening handle, and always
    /// for a closed one.
    fn WAIT_FOR_SOCKETS "COMM::WAIT-FOR-SOCKETS" "(sockets &optional timeout)" (ctx, a) {
        let sockets = crate::builtins::list_items(ctx, &a[0])?;
        let timeout = seconds(ctx, a, 1)?;
        let deadline = timeout.map(|t| std::time::Instant::now() + Duration::from_secs_f64(t));
        loop {
            let mut ready = Vec::new();
            let mut fds = Vec::new();
            for v in &sockets {
                let (r, fd) = ready_now(ctx, v)?;
                if r {
                    ready.push(v.clone());
                }
                fds.extend(fd);
            }
            if !ready.is_empty() {
                return Ok(crate::value::list_from(ready));
            }
            let left = tcp::remaining(deadline);
            if left == Some(0.0) {
                return Ok(Value::Nil);
            }
            if fds.is_empty() {
                crate::mp::scheduler::sleep(ctx, left.unwrap_or(0.05).min(0.05))?;
            } else if !crate::mp::wait_fds(ctx, &fds, true, left)? {
                return Ok(Value::Nil);
            }
        }
    }
    /// The value of socket option NAME (:REUSE-ADDRESS :REUSE-PORT
    /// :KEEPALIVE :NODELAY :BROADCAST :OOB-INLINE :RECEIVE-BUFFER
    /// :SEND-BUFFER :LINGER :TYPE) on SOCKET (a handle, socket stream or
    /// datagram socket).
    fn SOCKET_OPTION "COMM::SOCKET-OPTION" "(socket name)" (ctx, a) {
        let core = open_core(ctx, &a[0])?;
        let o = option_named(ctx, &a[1])?;
        let r = core.with(Op::Option, |s| (o.get)(s));
        r.map_err(|e| crate::net::conditions::signal(ctx, &e))
    }
    /// Set socket option NAME on SOCKET to VALUE; returns VALUE.
    fn SET_SOCKET_OPTION "COMM::SET-SOCKET-OPTION" "(socket name value)" (ctx, a) {
        let core = open_core(ctx, &a[0])?;
        let o = option_named(ctx, &a[1])?;
        let r = core.with(Op::Option, |s| (o.set)(s, &a[2]));
        r.map_err(|e| crate::net::conditions::signal(ctx, &e))?;
        Ok(a[2].clone())
    }
    /// The octets of IP (an integer, IPV6-ADDRESS, numeric text or octet
    /// vector) as a vector of 4 or 16 (UNSIGNED-BYTE 8), or NIL if IP is
    /// not an address.
    fn IP_OCTETS "COMM::IP-OCTETS" "(ip)" (ctx, a) {
        Ok(match octets_of(ctx, &a[0])? {
            Some(b) => crate::array::Array::octets(b),
            None => Value::Nil,
        })
    }
    /// The COMM address (an integer, or an IPV6-ADDRESS) of OCTETS, a
    /// vector of 4 or 16 octets (or any address COMM::IP-OCTETS takes).
    /// An IPv4-mapped IPv6 address gives the IPv4 integer.
    fn OCTETS_IP "COMM::OCTETS-IP" "(octets)" (ctx, a) {
        let Some(b) = octets_of(ctx, &a[0])? else {
            return Err(cond::type_error(ctx, a[0].clone(), "(OR (VECTOR (UNSIGNED-BYTE 8) 4) (VECTOR (UNSIGNED-BYTE 8) 16))"));
        };
        let ip = if b.len() == 4 {
            IpAddress::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
        } else {
            let mut o = [0u8; 16];
            o.copy_from_slice(&b);
            let v6 = Ipv6Addr::from(o);
            match v6.to_ipv4_mapped() {
                Some(v4) => IpAddress::V4(v4),
                None => IpAddress::V6(Ipv6Spec::plain(v6)),
            }
        };
        Ok(ip_value(&ip))
    }
    /// Whether SOCKET's descriptor is open (a handle, stream or datagram
    /// socket); NIL for anything else.
    fn SOCKET_OPEN_P "COMM::SOCKET-OPEN-P" "(socket)" (ctx, a) {
        Ok(Value::bool(matches!(core_arg(ctx, &a[0]), Ok(Some(c)) if c.is_open())))
    }
    /// The file descriptor of SOCKET, or NIL when it is closed.
    fn SOCKET_FILE_DESCRIPTOR "COMM::SOCKET-FILE-DESCRIPTOR" "(socket)" (ctx, a) {
        Ok(match core_arg(ctx, &a[0])? {
            Some(c) if c.is_open() => Value::Fixnum(c.fd as i64),
            _ => Value::Nil,
        })
    }
    /// Close SOCKET (a handle, stream or datagram socket) at once; with
    /// ABORT unread input is not drained first. Returns T if it was open.
    fn CLOSE_ANY_SOCKET "COMM::CLOSE-ANY-SOCKET" "(socket &optional abort)" (ctx, a) {
        if let Value::Stream(s) = &a[0] {
            let was = s.is_open();
            crate::stream::close(ctx, s, flag(a, 1))?;
            return Ok(Value::bool(was));
        }
        match core_arg(ctx, &a[0])? {
            Some(c) if c.is_open() => {
                c.close(flag(a, 1));
                Ok(Value::t())
            }
            _ => Ok(Value::Nil),
        }
    }
}
