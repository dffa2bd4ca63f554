//! The blocking LispWorks-UDP names (binghe's lispworks-udp 4.x, package
//! COMM+, which re-exports COMM; the names are reachable from COMM too):
//! SOCKET-DATAGRAM objects, OPEN-UDP-SOCKET, CONNECT-TO-UDP-SERVER,
//! OPEN-UDP-STREAM, SEND-MESSAGE, RECEIVE-MESSAGE, START-UDP-SERVER and
//! STOP-UDP-SERVER, receive timeouts, and netlisp's datagram options
//! (broadcast, multicast) through one option table.

use super::{fail, hostspec, opt_hostspec, resolve_spec, HostSpec, Ipv6Choice};
use crate::builtins::{flag, opt, opt_nil};
use crate::clos::{Class, ClassKind};
use crate::conditions as cond;
use crate::ctx::{Ctx, Exit, R};
use crate::gc::Gc;
use crate::net::addr::IpAddress;
use crate::net::error::{Fault, NetError, NetResult, Op};
use crate::net::registry;
use crate::net::socket::{Family, Role, SocketCore};
use crate::net::udp::{self, OpenOptions, Received};
use crate::value::Value;
use crate::world::{intern_exported, keyword};
use socket2::SockAddr;
use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;

thread_local! {
    /// SOCKET-DATAGRAM, INET-DATAGRAM, UNIX-DATAGRAM.
    static CLASSES: RefCell<Option<[Gc<Class>; 3]>> = const { RefCell::new(None) };
    /// Running UDP servers: (process, socket).
    static SERVERS: RefCell<Vec<(Value, Rc<SocketCore>)>> = const { RefCell::new(Vec::new()) };
}

/// Define the datagram classes and the server variables.
pub fn install() {
    let comm = super::package();
    let t = crate::clos::cl_class("T");
    let base = crate::clos::define_builtin_subclass(
        intern_exported("SOCKET-DATAGRAM", &comm),
        vec![t],
        ClassKind::BuiltIn,
    );
    let sub = |name: &str| {
        crate::clos::define_builtin_subclass(
            intern_exported(name, &comm),
            vec![base.clone()],
            ClassKind::BuiltIn,
        )
    };
    let (inet, unix) = (sub("INET-DATAGRAM"), sub("UNIX-DATAGRAM"));
    CLASSES.with(|c| *c.borrow_mut() = Some([base, inet, unix]));
    for var in ["*CLIENT-ADDRESS*", "*CLIENT-PORT*"] {
        let s = intern_exported(var, &comm);
        s.set_flag(crate::symbol::SPECIAL);
        s.set_value(Value::Fixnum(0));
    }
}

/// A SOCKET-DATAGRAM: a UDP or Unix datagram socket. Its descriptor is
/// also a raw handle (as in LispWorks, where it is an integer), so it
/// stays open until CLOSE-DATAGRAM or WITH-UDP-SOCKET closes it.
pub struct DatagramObj {
    /// The socket.
    pub core: Rc<SocketCore>,
}

impl crate::foreign::ForeignObj for DatagramObj {
    fn type_name(&self) -> &'static str {
        match self.core.family {
            Family::Inet => "COMM:INET-DATAGRAM",
            Family::Unix => "COMM:UNIX-DATAGRAM",
        }
    }
    fn describe(&self) -> String {
        let state = if self.core.is_open() { "" } else { " (closed)" };
        format!(
            "{}{}",
            crate::net::stream::describe_endpoints(&self.core),
            state
        )
    }
    fn class(&self) -> Option<Gc<Class>> {
        let i = match self.core.family {
            Family::Inet => 1,
            Family::Unix => 2,
        };
        CLASSES.with(|c| c.borrow().as_ref().map(|c| c[i].clone()))
    }
    fn holds_values(&self) -> bool {
        false
    }
}

/// A new datagram object owning `core` (recorded as a raw handle).
pub fn datagram_value(core: SocketCore) -> Value {
    crate::foreign::make(DatagramObj {
        core: registry::adopt(core),
    })
}

const DATAGRAM_TYPE: &str = "(OR COMM:SOCKET-DATAGRAM (INTEGER 0) COMM:SOCKET-STREAM)";

/// A datagram socket argument: a SOCKET-DATAGRAM, its handle, or a
/// socket stream over one. A closed socket is a SOCKET-ERROR.
pub fn datagram_arg(ctx: &mut Ctx, v: &Value) -> R<Rc<SocketCore>> {
    let core = match crate::foreign::get::<DatagramObj>(v) {
        Some(d) => Some(d.core.clone()),
        None => match v {
            Value::Fixnum(_) | Value::Stream(_) => super::streams::core_of(ctx, v)?,
            _ => return Err(cond::type_error(ctx, v.clone(), DATAGRAM_TYPE)),
        },
    };
    match core {
        Some(c) if c.is_open() && c.role == Role::Datagram => Ok(c),
        Some(c) if c.is_open() => Err(cond::type_error(ctx, v.clone(), DATAGRAM_TYPE)),
        _ => Err(crate::net::conditions::signal(
            ctx,
            &NetError::new(
                Fault::Shutdown,
                Op::Read,
                format!(
                    "{} is not an open datagram socket",
                    crate::printer::prin1_string(v)
                ),
            ),
        )),
    }
}

/// The local address to bind and whether to bind at all: an address
/// or port was given. `family_of` picks the family when neither is.
pub(super) fn local_address(
    ctx: &mut Ctx,
    host: Option<&HostSpec>,
    port: &Value,
    ipv6: Ipv6Choice,
    want_v6: bool,
) -> R<NetResult<(SocketAddr, bool)>> {
    let port_n = match port {
        Value::Nil | Value::Unbound => None,
        v => match super::service(ctx, v, "udp")? {
            Ok(p) => Some(p),
            Err(e) => return Ok(Err(NetError { op: Op::Bind, ..e })),
        },
    };
    let p = port_n.unwrap_or(0);
    let ip: IpAddr = match host {
        Some(h) => {
            let family = match (ipv6, want_v6) {
                (Ipv6Choice::Any | Ipv6Choice::Both, true) => crate::net::resolve::Family::V6,
                (Ipv6Choice::Any | Ipv6Choice::Both, false) if port_n.is_none() => {
                    crate::net::resolve::Family::V4
                }
                _ => ipv6.family(),
            };
            match resolve_spec(ctx, h, family, None)? {
                Ok(addrs) => match addrs.first() {
                    Some(a) => return Ok(Ok((a.with_port(p), true))),
                    None => {
                        return Ok(Err(NetError::new(
                            Fault::HostNotFound,
                            Op::Bind,
                            "no address",
                        )
                        .at(h.text(), Some(p))))
                    }
                },
                Err(e) => return Ok(Err(NetError { op: Op::Bind, ..e }.at(h.text(), Some(p)))),
            }
        }
        None if want_v6 || matches!(ipv6, Ipv6Choice::Yes | Ipv6Choice::Both) => {
            Ipv6Addr::UNSPECIFIED.into()
        }
        None => Ipv4Addr::UNSPECIFIED.into(),
    };
    Ok(Ok((SocketAddr::new(ip, p), port_n.is_some())))
}

/// Make a UDP socket connected to HOST SERVICE, bound first when a local
/// address or port is given.
pub(super) fn connected_udp(
    ctx: &mut Ctx,
    host: &HostSpec,
    service: &Value,
    local_host: Option<&HostSpec>,
    local_port: &Value,
    ipv6: Ipv6Choice,
) -> R<NetResult<SocketCore>> {
    let port = match super::service(ctx, service, "udp")? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e.at(host.text(), None))),
    };
    let addrs = match resolve_spec(ctx, host, ipv6.family(), None)? {
        Ok(a) => a,
        Err(e) => return Ok(Err(e.at(host.text(), Some(port)))),
    };
    let Some(target) = addrs.first().map(|a| a.with_port(port)) else {
        return Ok(Err(NetError::new(
            Fault::HostNotFound,
            Op::Connect,
            "no address",
        )
        .at(host.text(), Some(port))));
    };
    let (local, bind) = match local_address(ctx, local_host, local_port, ipv6, target.is_ipv6())? {
        Ok(l) => l,
        Err(e) => return Ok(Err(e)),
    };
    let core = match udp::open(
        &local,
        OpenOptions {
            bind,
            ..Default::default()
        },
    ) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = udp::connect(&core, &SockAddr::from(target)) {
        return Ok(Err(e.at(target.ip().to_string(), Some(port))));
    }
    Ok(Ok(core))
}

/// Octets to send: an (UNSIGNED-BYTE 8) vector, a string (characters
/// up to 255, as LispWorks' base strings), or a sequence of octets;
/// the first LENGTH of them when given.
pub fn message_bytes(ctx: &mut Ctx, v: &Value, length: Option<usize>) -> R<Vec<u8>> {
    message_range(ctx, v, 0, length)
}

/// The octets of `v` from `start` to `end` (default: its length).
pub fn message_range(ctx: &mut Ctx, v: &Value, start: usize, end: Option<usize>) -> R<Vec<u8>> {
    let bytes = whole_message(ctx, v)?;
    let end = end.unwrap_or(bytes.len());
    if end > bytes.len() || start > end {
        return Err(cond::simple_error(
            ctx,
            format!(
                "the range {}..{} is not within the buffer ({} elements)",
                start,
                end,
                bytes.len()
            ),
        ));
    }
    Ok(bytes[start..end].to_vec())
}

fn whole_message(ctx: &mut Ctx, v: &Value) -> R<Vec<u8>> {
    let bad = |ctx: &mut Ctx| {
        cond::type_error(
            ctx,
            v.clone(),
            "(OR (VECTOR (UNSIGNED-BYTE 8)) STRING (SEQUENCE (UNSIGNED-BYTE 8)))",
        )
    };
    let bytes = match v {
        Value::Array(arr) if arr.is_vector() => {
            let n = arr.len();
            // Ok(octets), or Err(the elements) when they need checking.
            let taken = arr.with_data(|d, off| match d {
                crate::array::ArrayData::U8(b) => Ok(Some(b[off..off + n].to_vec())),
                crate::array::ArrayData::Char(cs) => Ok(cs[off..off + n]
                    .iter()
                    .map(|c| u8::try_from(*c as u32).ok())
                    .collect::<Option<Vec<u8>>>()),
                _ => Err((off..off + n).map(|i| d.get(i)).collect::<Vec<Value>>()),
            });
            match taken {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return Err(bad(ctx)),
                Err(items) => octets_of_items(ctx, v, &items)?,
            }
        }
        Value::Nil | Value::Cons(_) => {
            let items = crate::builtins::sequences::items(ctx, v)?;
            octets_of_items(ctx, v, &items)?
        }
        _ => return Err(bad(ctx)),
    };
    Ok(bytes)
}

fn octets_of_items(ctx: &mut Ctx, whole: &Value, items: &[Value]) -> R<Vec<u8>> {
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        match it {
            Value::Fixnum(n) if (0..=255).contains(n) => out.push(*n as u8),
            _ => {
                return Err(cond::type_error(
                    ctx,
                    whole.clone(),
                    "(SEQUENCE (UNSIGNED-BYTE 8))",
                ))
            }
        }
    }
    Ok(out)
}

/// Store received octets into a user's buffer (octet vector, string or
/// general vector) from index 0.
fn store_bytes(ctx: &mut Ctx, buf: &Value, data: &[u8]) -> R<()> {
    store_bytes_at(ctx, buf, 0, data)
}

/// Store octets into a buffer from index `at` (the caller checked that
/// they fit its length).
pub fn store_bytes_at(ctx: &mut Ctx, buf: &Value, at: usize, data: &[u8]) -> R<()> {
    let Value::Array(arr) = buf else {
        return Err(cond::type_error(ctx, buf.clone(), "VECTOR"));
    };
    let stored = arr.with_data_mut(|d, off| {
        let at = off + at;
        match d {
            crate::array::ArrayData::U8(b) => b[at..at + data.len()].copy_from_slice(data),
            crate::array::ArrayData::Char(cs) => {
                for (c, b) in cs[at..].iter_mut().zip(data) {
                    *c = *b as char;
                }
            }
            crate::array::ArrayData::T(vs) => {
                for (v, b) in vs[at..].iter_mut().zip(data) {
                    *v = Value::Fixnum(*b as i64);
                }
            }
            crate::array::ArrayData::I8(_) => return false,
        }
        true
    });
    if !stored {
        return Err(cond::type_error(
            ctx,
            buf.clone(),
            "(OR (VECTOR (UNSIGNED-BYTE 8)) STRING SIMPLE-VECTOR)",
        ));
    }
    Ok(())
}

/// Where a SEND-MESSAGE goes: to the connected peer, a host and
/// service, or a Unix path.
fn destination(
    ctx: &mut Ctx,
    core: &SocketCore,
    host: &Value,
    service: &Value,
    path: &Value,
) -> R<NetResult<Option<SockAddr>>> {
    if path.truthy() {
        let p = crate::builtins::string_designator(ctx, path)?;
        return Ok(crate::net::unix::address(&p)
            .map(Some)
            .map_err(|e| NetError { op: Op::Write, ..e }));
    }
    match (host.truthy(), service.truthy()) {
        (false, false) => Ok(Ok(None)),
        (true, true) => {
            let h = hostspec(ctx, host)?;
            let port = match super::service(ctx, service, "udp")? {
                Ok(p) => p,
                Err(e) => return Ok(Err(e.at(h.text(), None))),
            };
            Ok(datagram_target(ctx, core, &h, port)?.map(Some))
        }
        _ => Err(cond::simple_error(
            ctx,
            "SEND-MESSAGE needs both :HOST and :SERVICE (or neither, on a connected socket)".into(),
        )),
    }
}

/// Where a datagram from `core` to HOST PORT goes: the first address of
/// the socket's family (an IPv4 address as IPv4-mapped on an IPv6
/// socket).
pub(super) fn datagram_target(
    ctx: &mut Ctx,
    core: &SocketCore,
    host: &HostSpec,
    port: u16,
) -> R<NetResult<SockAddr>> {
    let v6 = core.local_addr().is_some_and(|a| a.is_ipv6());
    let family = if v6 {
        crate::net::resolve::Family::Any
    } else {
        crate::net::resolve::Family::V4
    };
    let addrs = match resolve_spec(ctx, host, family, None)? {
        Ok(a) => a,
        Err(e) => return Ok(Err(e.at(host.text(), Some(port)))),
    };
    let Some(a) = addrs.first() else {
        return Ok(Err(NetError::new(
            Fault::HostNotFound,
            Op::Write,
            "no address",
        )
        .at(host.text(), Some(port))));
    };
    let mut sa = a.with_port(port);
    if let (true, SocketAddr::V4(v4)) = (v6, sa) {
        sa = SocketAddr::new(v4.ip().to_ipv6_mapped().into(), port);
    }
    Ok(Ok(SockAddr::from(sa)))
}

/// An IPv4-mapped IPv6 address (a sender seen by a dual-stack socket)
/// as the IPv4 address it is.
fn unmapped(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), a.port()),
            None => a,
        },
        IpAddr::V4(_) => a,
    }
}

/// The sender of a datagram as RECEIVE-MESSAGE's third and fourth
/// values: "a.b.c.d" (or IPv6 text) and the port; a Unix sender's name
/// and NIL.
fn sender_values(from: &Option<SockAddr>) -> (Value, Value) {
    let s = crate::array::Array::string;
    match from {
        Some(sa) => match sa.as_socket() {
            Some(a) => (
                s(&unmapped(a).ip().to_string()),
                Value::Fixnum(a.port() as i64),
            ),
            None => (
                crate::net::unix::name_of(sa).map_or(Value::Nil, |n| s(&n)),
                Value::Nil,
            ),
        },
        None => (Value::Nil, Value::Nil),
    }
}

/// The sender as COMM address values (*CLIENT-ADDRESS*: an integer for
/// IPv4, an IPV6-ADDRESS for IPv6).
pub(super) fn sender_address(from: &Option<SockAddr>) -> (Value, Value) {
    match from.as_ref().and_then(|sa| sa.as_socket()) {
        Some(a) => (
            super::ip_value(&IpAddress::of_socket_addr(&unmapped(a))),
            Value::Fixnum(a.port() as i64),
        ),
        None => sender_values(from),
    }
}

fn truncated(r: &Received, cap: usize) -> NetError {
    let (host, port) = match r.from.as_ref().and_then(|f| f.as_socket()) {
        Some(a) => (Some(a.ip().to_string()), Some(a.port())),
        None => (r.from.as_ref().and_then(crate::net::unix::name_text), None),
    };
    let e = NetError::new(
        Fault::Truncated,
        Op::Read,
        format!(
            "a datagram of {} bytes did not fit the {}-byte buffer; its first {} bytes were stored",
            r.full, cap, r.len
        ),
    );
    match host {
        Some(h) => e.at(h, port),
        None => e,
    }
}

/// A received datagram's bytes and how it came.
type Datagram = (Vec<u8>, Received);

thread_local! {
    /// The receive buffer, reused between calls. A process that parks
    /// in a receive holds it; another one meanwhile gets a fresh one.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Receive one datagram of at most `cap` bytes: its bytes and how it
/// came, None on timeout.
fn receive(
    ctx: &mut Ctx,
    core: &SocketCore,
    cap: usize,
    timeout: Option<f64>,
) -> R<NetResult<Option<Datagram>>> {
    let mut buf = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    if buf.len() < cap {
        buf.resize(cap, 0);
    }
    let r = udp::recv(ctx, core, &mut buf[..cap], timeout);
    let out = match r {
        Ok(Ok(Some(rcv))) => Ok(Ok(Some((buf[..rcv.len].to_vec(), rcv)))),
        Ok(Ok(None)) => Ok(Ok(None)),
        Ok(Err(e)) => Ok(Err(e)),
        Err(x) => Err(x),
    };
    SCRATCH.with(|s| *s.borrow_mut() = buf);
    out
}

/// Signal `e`, naming the connected peer when the error names no
/// address (a refused or reset datagram socket).
fn signal_at_peer(ctx: &mut Ctx, core: &SocketCore, e: NetError) -> Exit {
    crate::net::conditions::signal(ctx, &at_peer(core, e))
}

/// `e`, naming the connected peer when it names no address.
pub(super) fn at_peer(core: &SocketCore, e: NetError) -> NetError {
    match (&e.host, core.peer_addr(), core.peer_text()) {
        (None, Some(p), _) => e.at(p.ip().to_string(), Some(p.port())),
        (None, None, Some(name)) => e.at(name, None),
        _ => e,
    }
}

/// Split a RECEIVE-MESSAGE / SEND-MESSAGE call written in the older
/// &OPTIONAL form into the keyword form: the leading non-keyword
/// arguments after `fixed` become the keywords `names`.
fn keyword_form(a: &[Value], fixed: usize, names: &[&str]) -> Vec<Value> {
    let mut out: Vec<Value> = a[..fixed.min(a.len())].to_vec();
    let mut i = fixed;
    let is_key = |v: &Value| matches!(v, Value::Symbol(s) if s.home_is(&crate::world::w().keyword));
    for name in names {
        match a.get(i) {
            Some(v) if !is_key(v) => {
                out.push(keyword(name));
                out.push(v.clone());
                i += 1;
            }
            _ => break,
        }
    }
    out.extend_from_slice(a.get(i..).unwrap_or(&[]));
    out
}

fn opt_usize(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Option<usize>> {
    crate::builtins::opt_index(ctx, a, i)
}

/// The datagram option table: name, and how it is set.
type Setter = fn(&mut Ctx, &SocketCore, &Value) -> R<NetResult<()>>;

const OPTIONS: &[(&str, Setter)] = &[
    ("BROADCAST", |_, c, v| Ok(udp::set_broadcast(c, v.truthy()))),
    ("MULTICAST-LOOP", |_, c, v| {
        Ok(udp::set_multicast_loop(c, v.truthy()))
    }),
    ("MULTICAST-TTL", |ctx, c, v| {
        let n = crate::builtins::index(ctx, v)?;
        Ok(udp::set_multicast_ttl(c, n.min(255) as u32))
    }),
    ("JOIN-GROUP", |ctx, c, v| membership(ctx, c, v, true)),
    ("LEAVE-GROUP", |ctx, c, v| membership(ctx, c, v, false)),
    ("RECEIVE-TIMEOUT", |ctx, c, v| {
        c.recv_timeout.set(super::seconds_of(ctx, Some(v))?);
        Ok(Ok(()))
    }),
    ("RECEIVE-BUFFER-SIZE", |ctx, c, v| {
        let n = crate::builtins::index(ctx, v)?;
        Ok(c.with(Op::Option, |s| s.set_recv_buffer_size(n)))
    }),
    ("SEND-BUFFER-SIZE", |ctx, c, v| {
        let n = crate::builtins::index(ctx, v)?;
        Ok(c.with(Op::Option, |s| s.set_send_buffer_size(n)))
    }),
];

/// JOIN-GROUP / LEAVE-GROUP: a group address, or a list (group
/// interface-address-or-index).
fn membership(ctx: &mut Ctx, c: &SocketCore, v: &Value, join: bool) -> R<NetResult<()>> {
    let (g, iface) = match v {
        Value::Cons(cell) => (cell.car(), cell.cdr().first()),
        v => (v.clone(), Value::Nil),
    };
    let ip_of = |ctx: &mut Ctx, v: &Value| -> R<Option<IpAddr>> {
        if v.is_nil() {
            return Ok(None);
        }
        let spec = hostspec(ctx, v)?;
        let text = spec.text();
        match crate::net::addr::parse_numeric(&text) {
            Some(a) => Ok(Some(a.with_port(0).ip())),
            None => Err(cond::type_error(ctx, v.clone(), "an IP address")),
        }
    };
    let Some(group) = ip_of(ctx, &g)? else {
        return Err(cond::type_error(ctx, g, "an IP multicast address"));
    };
    let (iface_ip, index) = match &iface {
        Value::Fixnum(n) if *n >= 0 => (None, *n as u32),
        other => (ip_of(ctx, other)?, 0),
    };
    Ok(udp::multicast_membership(c, group, iface_ip, index, join))
}

crate::defbuiltins! {
    /// Open an unconnected UDP socket and return a SOCKET-DATAGRAM. It
    /// is bound when LOCAL-PORT (0 or NIL with LOCAL-ADDRESS: any port)
    /// or LOCAL-ADDRESS is given; otherwise the first send binds it to
    /// an ephemeral port. IPV6 T (or an IPv6 LOCAL-ADDRESS) makes an
    /// IPv6 socket, :BOTH one that also takes IPv4. READ-TIMEOUT is the
    /// default for RECEIVE-MESSAGE. BROADCAST sets SO_BROADCAST. On
    /// failure: signal with ERRORP, else NIL and the condition.
    fn OPEN_UDP_SOCKET "COMM:OPEN-UDP-SOCKET" "(&key errorp local-address local-port read-timeout ipv6 broadcast reuse-address)" [mv] (ctx, a) {
        let errorp = flag(a, 0);
        let host = opt_hostspec(ctx, a, 1)?;
        let ipv6 = super::ipv6_choice(ctx, a, 4, true)?;
        let timeout = super::seconds(ctx, a, 3)?;
        let local_port = opt_nil(a, 2);
        let bind_any = host.is_some() && local_port.is_nil();
        let (local, bind) = match local_address(ctx, host.as_ref(), &local_port, ipv6, false)? {
            Ok(l) => l,
            Err(e) => return fail(ctx, errorp, &e),
        };
        let opts = OpenOptions {
            bind: bind || bind_any,
            reuse: flag(a, 6),
            v6only: ipv6.v6only(),
        };
        let core = match udp::open(&local, opts) {
            Ok(c) => c,
            Err(e) => return fail(ctx, errorp, &e),
        };
        if flag(a, 5) {
            if let Err(e) = udp::set_broadcast(&core, true) {
                return fail(ctx, errorp, &e);
            }
        }
        core.recv_timeout.set(timeout);
        Ok(datagram_value(core))
    }

    /// Open a UDP socket connected to SERVICE on HOSTNAME and return a
    /// SOCKET-DATAGRAM: SEND-MESSAGE needs no address, only that peer's
    /// datagrams arrive, and an ICMP port unreachable shows up as a
    /// COMM:CONNECTION-REFUSED-ERROR on a later send or receive.
    fn CONNECT_TO_UDP_SERVER "COMM:CONNECT-TO-UDP-SERVER" "(hostname service &key errorp local-address local-port read-timeout ipv6)" [mv] (ctx, a) {
        let errorp = flag(a, 2);
        let host = hostspec(ctx, &a[0])?;
        let local_host = opt_hostspec(ctx, a, 3)?;
        let timeout = super::seconds(ctx, a, 5)?;
        let ipv6 = super::ipv6_choice(ctx, a, 6, false)?;
        match connected_udp(ctx, &host, &a[1], local_host.as_ref(), &opt_nil(a, 4), ipv6)? {
            Ok(core) => {
                core.recv_timeout.set(timeout);
                Ok(datagram_value(core))
            }
            Err(e) => fail(ctx, errorp, &e),
        }
    }

    /// Connect a UDP socket like CONNECT-TO-UDP-SERVER and return a
    /// socket stream over it: each FORCE-OUTPUT sends what was written as
    /// one datagram, and reads return the bytes of the datagrams that
    /// arrive, in order.
    fn OPEN_UDP_STREAM "COMM:OPEN-UDP-STREAM" "(hostname service &key direction element-type errorp read-timeout local-address local-port ipv6 write-timeout external-format)" [mv] (ctx, a) {
        let errorp = flag(a, 4);
        let host = hostspec(ctx, &a[0])?;
        let opts = super::streams::stream_options(ctx, opt(a, 2), opt(a, 3), opt(a, 5), opt(a, 9), opt(a, 10))?;
        let local_host = opt_hostspec(ctx, a, 6)?;
        let ipv6 = super::ipv6_choice(ctx, a, 8, false)?;
        match connected_udp(ctx, &host, &a[1], local_host.as_ref(), &opt_nil(a, 7), ipv6)? {
            Ok(core) => Ok(super::streams::stream_of_core(core, &opts, false)),
            Err(e) => fail(ctx, errorp, &e),
        }
    }

    /// Send BUFFER (octets; LENGTH of them, default all) as one datagram
    /// and return the number of bytes sent. To HOST and SERVICE on an
    /// unconnected socket, to PATH on a Unix datagram socket, or to the
    /// peer of a connected one. The older form (socket buffer &optional
    /// length host service) is accepted too. A message larger than a
    /// datagram carries is an error, never cut. TIMEOUT bounds the wait
    /// for buffer space.
    fn SEND_MESSAGE "COMM:SEND-MESSAGE" "(socket buffer &key length host service path max-buffer-size timeout)" [raw] (ctx, a) {
        let a = crate::eval::normalize_keys(ctx, &SEND_MESSAGE, &keyword_form(a, 2, &["LENGTH", "HOST", "SERVICE"]))?;
        let core = datagram_arg(ctx, &a[0])?;
        let length = opt_usize(ctx, &a, 2)?;
        let bytes = message_bytes(ctx, &a[1], length)?;
        let timeout = super::seconds(ctx, &a, 7)?;
        let to = match destination(ctx, &core, &opt_nil(&a, 3), &opt_nil(&a, 4), &opt_nil(&a, 5))? {
            Ok(t) => t,
            Err(e) => return Err(crate::net::conditions::signal(ctx, &e)),
        };
        if to.is_none() && core.peer_addr().is_none() && core.family == Family::Inet {
            return Err(cond::simple_error(ctx, "SEND-MESSAGE on an unconnected socket needs :HOST and :SERVICE".into()));
        }
        match udp::send(ctx, &core, &bytes, to.as_ref(), timeout)? {
            Ok(n) => Ok(Value::int(n as i64)),
            Err(e) => Err(signal_at_peer(ctx, &core, e)),
        }
    }

    /// Receive one datagram. Returns the buffer (BUFFER, filled from index
    /// 0, or a fresh octet vector), the number of bytes, the sender's
    /// address as text ("127.0.0.1", "::1", or a Unix socket's name) and
    /// its port; (values NIL -1 0 0) when READ-TIMEOUT seconds pass
    /// first. READ-TIMEOUT becomes the socket's receive timeout. A
    /// datagram longer than the room (LENGTH, the buffer's length, or
    /// MAX-BUFFER-SIZE) signals COMM:MESSAGE-TRUNCATED-ERROR with the
    /// first bytes stored. The older form (socket &optional buffer
    /// length) is accepted too.
    fn RECEIVE_MESSAGE "COMM:RECEIVE-MESSAGE" "(socket &key buffer length read-timeout max-buffer-size)" [raw, mv] (ctx, a) {
        let a = crate::eval::normalize_keys(ctx, &RECEIVE_MESSAGE, &keyword_form(a, 1, &["BUFFER", "LENGTH"]))?;
        let core = datagram_arg(ctx, &a[0])?;
        let buffer = opt_nil(&a, 1);
        if !buffer.is_nil() && !matches!(&buffer, Value::Array(v) if v.is_vector()) {
            return Err(cond::type_error(ctx, buffer, "(OR NULL VECTOR)"));
        }
        let max = opt_usize(ctx, &a, 4)?.unwrap_or(udp::RECV_BUFFER).max(1);
        let room = match (&buffer, opt_usize(ctx, &a, 2)?) {
            (Value::Array(v), Some(n)) => n.min(v.len()),
            (Value::Array(v), None) => v.len(),
            (_, Some(n)) => n,
            _ => max,
        }
        .min(max);
        if opt(&a, 3).is_some() {
            core.recv_timeout.set(super::seconds(ctx, &a, 3)?);
        }
        let timeout = core.recv_timeout.get();
        let (data, r) = match receive(ctx, &core, room, timeout)? {
            Ok(Some(x)) => x,
            Ok(None) => return Ok(ctx.set_values(vec![Value::Nil, Value::Fixnum(-1), Value::Fixnum(0), Value::Fixnum(0)])),
            Err(e) => return Err(signal_at_peer(ctx, &core, e)),
        };
        let out = match &buffer {
            Value::Nil => crate::array::Array::octets(data.clone()),
            b => {
                store_bytes(ctx, b, &data)?;
                b.clone()
            }
        };
        if r.full > room {
            return Err(crate::net::conditions::signal(ctx, &truncated(&r, room)));
        }
        let (addr, port) = sender_values(&r.from);
        Ok(ctx.set_values(vec![out, Value::int(data.len() as i64), addr, port]))
    }

    /// Bind VAR to (OPEN-UDP-SOCKET . ARGS) around BODY and close the
    /// socket afterwards.
    macro WITH_UDP_SOCKET "COMM:WITH-UDP-SOCKET" "((var &rest args) &body body)" (ctx, a) {
        super::with_closing(ctx, &a[0], "WITH-UDP-SOCKET", "OPEN-UDP-SOCKET", Some("CLOSE-DATAGRAM"))
    }

    /// Bind VAR to (CONNECT-TO-UDP-SERVER . ARGS) around BODY and close
    /// the socket afterwards.
    macro WITH_CONNECTED_UDP_SOCKET "COMM:WITH-CONNECTED-UDP-SOCKET" "((var &rest args) &body body)" (ctx, a) {
        super::with_closing(ctx, &a[0], "WITH-CONNECTED-UDP-SOCKET", "CONNECT-TO-UDP-SERVER", Some("CLOSE-DATAGRAM"))
    }

    /// Bind VAR to (OPEN-UDP-STREAM . ARGS) around BODY and close the
    /// stream afterwards.
    macro WITH_UDP_STREAM "COMM:WITH-UDP-STREAM" "((var &rest args) &body body)" (ctx, a) {
        super::with_closing(ctx, &a[0], "WITH-UDP-STREAM", "OPEN-UDP-STREAM", None)
    }

    /// Close a SOCKET-DATAGRAM (or its handle). Returns 0.
    fn CLOSE_DATAGRAM "COMM:CLOSE-DATAGRAM" "(socket)" (ctx, a) {
        let core = match crate::foreign::get::<DatagramObj>(&a[0]) {
            Some(d) => Some(d.core.clone()),
            None => super::streams::core_of(ctx, &a[0])?,
        };
        if let Some(c) = core {
            c.close(false);
        }
        Ok(Value::Fixnum(0))
    }

    /// The handle (descriptor) of a SOCKET-DATAGRAM.
    fn SOCKET_DATAGRAM_SOCKET "COMM:SOCKET-DATAGRAM-SOCKET" "(socket)" (ctx, a) {
        match crate::foreign::get::<DatagramObj>(&a[0]) {
            Some(d) => Ok(Value::Fixnum(d.core.fd as i64)),
            None => Err(cond::type_error(ctx, a[0].clone(), "COMM:SOCKET-DATAGRAM")),
        }
    }

    /// The receive timeout of a datagram socket in seconds, or NIL.
    fn GET_SOCKET_RECEIVE_TIMEOUT "COMM:GET-SOCKET-RECEIVE-TIMEOUT" "(socket)" (ctx, a) {
        let core = datagram_arg(ctx, &a[0])?;
        Ok(core.recv_timeout.get().map_or(Value::Nil, |s| Value::Single(s as f32)))
    }

    /// Set the receive timeout (seconds, or NIL for none) of a datagram
    /// socket; returns SECONDS.
    fn SET_SOCKET_RECEIVE_TIMEOUT "COMM:SET-SOCKET-RECEIVE-TIMEOUT" "(socket seconds)" (ctx, a) {
        let core = datagram_arg(ctx, &a[0])?;
        core.recv_timeout.set(super::seconds_of(ctx, Some(&a[1]))?);
        Ok(a[1].clone())
    }

    /// Set a datagram socket option (a netlisp extension) and return
    /// VALUE. OPTION is :BROADCAST (boolean), :MULTICAST-LOOP (boolean),
    /// :MULTICAST-TTL (hops), :JOIN-GROUP or :LEAVE-GROUP (a group
    /// address, or a list of the group and the interface's address or
    /// IPv6 index), :RECEIVE-TIMEOUT (seconds or NIL),
    /// :RECEIVE-BUFFER-SIZE or :SEND-BUFFER-SIZE (bytes).
    fn SET_DATAGRAM_OPTION "COMM:SET-DATAGRAM-OPTION" "(socket option value)" (ctx, a) {
        let core = datagram_arg(ctx, &a[0])?;
        let name = match &a[1] {
            Value::Symbol(s) => s.name().to_string(),
            _ => String::new(),
        };
        let Some((_, set)) = OPTIONS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<String> = OPTIONS.iter().map(|(n, _)| format!(":{}", n)).collect();
            return Err(cond::type_error(ctx, a[1].clone(), &format!("(MEMBER {})", names.join(" "))));
        };
        match set(ctx, &core, &a[2])? {
            Ok(()) => Ok(a[2].clone()),
            Err(e) => Err(crate::net::conditions::signal(ctx, &e)),
        }
    }

    /// Start a UDP server: bind SERVICE (0: any port) on ADDRESS (default
    /// all interfaces) and run a process that receives each datagram,
    /// calls FUNCTION with its octets and ARGUMENTS, with
    /// *CLIENT-ADDRESS* and *CLIENT-PORT* bound to the sender, and sends
    /// a non-NIL result back to the sender. FUNCTION defaults to
    /// IDENTITY (an echo server). ANNOUNCE as for START-UP-SERVER (a
    /// function gets the handle, so it can read the port with
    /// GET-SOCKET-ADDRESS). LOOP-TIME is accepted and unused: the server
    /// sleeps until a datagram comes and stops at once when asked.
    /// An error in FUNCTION is reported on *ERROR-OUTPUT*; the server
    /// goes on. Returns the process.
    fn START_UDP_SERVER "COMM:START-UDP-SERVER" "(&key function arguments announce address service process-name loop-time max-buffer-size ipv6)" (ctx, a) {
        start_udp_server(ctx, a)
    }

    /// Stop a UDP server process and close its socket; with WAIT, return
    /// once the process has ended. T if it was a running UDP server.
    fn STOP_UDP_SERVER "COMM:STOP-UDP-SERVER" "(process &key wait)" (ctx, a) {
        let p = crate::mp::process_arg(ctx, &a[0])?;
        let entry = SERVERS.with(|s| {
            let mut s = s.borrow_mut();
            let i = s.iter().position(|(q, _)| q.eq(&p))?;
            Some(s.remove(i))
        });
        let Some((_, core)) = entry else { return Ok(Value::Nil) };
        crate::mp::builtins::kill(ctx, &p)?;
        core.close(false);
        if flag(a, 1) {
            while crate::mp::process::process(&p).alive() {
                crate::mp::scheduler::sleep(ctx, 0.001)?;
            }
        }
        Ok(Value::t())
    }

    /// The body of a UDP server process (internal).
    fn SERVE_UDP "COMM::%SERVE-UDP" "(socket function arguments max-buffer-size)" (ctx, a) {
        let core = datagram_arg(ctx, &a[0])?;
        let r = serve_udp(ctx, &core, a);
        core.close(false);
        SERVERS.with(|s| s.borrow_mut().retain(|(_, c)| !Rc::ptr_eq(c, &core)));
        match r {
            Err(e) if e == Exit::KILL => Ok(Value::Nil),
            r => r.map(|()| Value::Nil),
        }
    }
}

fn start_udp_server(ctx: &mut Ctx, a: &[Value]) -> R {
    let function = match opt_nil(a, 0) {
        Value::Nil => Value::Symbol(crate::world::cl_sym("IDENTITY")),
        f => crate::builtins::function(ctx, &f)?,
    };
    let arguments = opt_nil(a, 1);
    let announce = opt_nil(a, 2);
    let host = opt_hostspec(ctx, a, 3)?;
    let ipv6 = super::ipv6_choice(ctx, a, 8, true)?;
    let service = match opt_nil(a, 4) {
        Value::Nil => Value::Fixnum(0),
        v => v,
    };
    let max = crate::builtins::opt_index(ctx, a, 7)?
        .unwrap_or(udp::MAX_UDP_PAYLOAD)
        .max(1);
    let (local, _) = match local_address(ctx, host.as_ref(), &service, ipv6, false)? {
        Ok(l) => l,
        Err(e) => return fail(ctx, true, &e),
    };
    let opts = OpenOptions {
        bind: true,
        reuse: true,
        v6only: ipv6.v6only(),
    };
    let core = match udp::open(&local, opts) {
        Ok(c) => c,
        Err(e) => return fail(ctx, true, &e),
    };
    let socket = datagram_value(core);
    let core = datagram_arg(ctx, &socket)?;
    let name = match opt(a, 5) {
        Some(v) if v.truthy() => crate::builtins::string_designator(ctx, v)?,
        _ => format!("{} UDP server", crate::printer::prin1_string(&service)),
    };
    super::server::announce(ctx, &announce, &name, core.fd, core.local_text())?;
    let args = vec![socket, function, arguments, Value::int(max as i64)];
    let p = crate::mp::builtins::run_function(
        ctx,
        name,
        &Value::Nil,
        crate::function::Function::builtin(&SERVE_UDP),
        args,
    )?;
    SERVERS.with(|s| s.borrow_mut().push((p.clone(), core)));
    Ok(p)
}

/// Receive, call, reply, until the process is stopped.
fn serve_udp(ctx: &mut Ctx, core: &Rc<SocketCore>, a: &[Value]) -> R<()> {
    let (function, arguments) = (a[1].clone(), a[2].list_to_vec());
    let max = crate::builtins::index(ctx, &a[3])?;
    let name = crate::mp::current_process_name();
    let comm = super::package();
    let (addr_sym, port_sym) = (
        intern_exported("*CLIENT-ADDRESS*", &comm),
        intern_exported("*CLIENT-PORT*", &comm),
    );
    while core.is_open() {
        let (data, r) = match receive(ctx, core, max, None)? {
            Ok(Some(x)) => x,
            Ok(None) => continue,
            Err(_) if !core.is_open() => break,
            // An ICMP error for an earlier reply, or a reset: not fatal.
            Err(e)
                if matches!(
                    e.fault,
                    Fault::Refused
                        | Fault::Reset
                        | Fault::HostUnreachable
                        | Fault::NetworkUnreachable
                ) =>
            {
                continue
            }
            Err(e) => return Err(crate::net::conditions::signal(ctx, &e)),
        };
        if r.full > max {
            let e = truncated(&r, max);
            super::server::report_error_text(
                ctx,
                &name,
                &format!("{}; the datagram was dropped", e),
            )?;
            continue;
        }
        let (addr, port) = sender_address(&r.from);
        let mark = ctx.dyn_binds.len();
        ctx.bind_special(&addr_sym, addr);
        ctx.bind_special(&port_sym, port);
        let mut call_args = vec![crate::array::Array::octets(data)];
        call_args.extend(arguments.iter().cloned());
        let errsym = Value::Symbol(crate::world::cl_sym("ERROR"));
        let outcome = cond::handler_case(ctx, errsym, |ctx| {
            let reply = crate::eval::apply(ctx, &function, &call_args)?;
            if reply.is_nil() {
                return Ok(Value::Nil);
            }
            let bytes = message_bytes(ctx, &reply, None)?;
            match udp::send(ctx, core, &bytes, r.from.as_ref(), Some(1.0))? {
                Ok(_) => Ok(Value::Nil),
                Err(e) => Err(crate::net::conditions::signal(ctx, &e)),
            }
        });
        ctx.unbind_to(mark);
        if let Err(c) = outcome? {
            if !core.is_open() {
                break;
            }
            let text = cond::report_string(ctx, &c)?;
            super::server::report_error_text(ctx, &name, &text)?;
        }
    }
    Ok(())
}
