//! LispWorks' COMM package on the network core: a thin layer that maps
//! COMM's arguments (hostspecs, services, the `ipv6` keyword, `errorp`)
//! onto `crate::net` and COMM's results back onto Lisp values. See
//! docs/comm.md for every function and each choice made where the
//! LispWorks manual is silent.
//!
//! * [`connect`]: OPEN-TCP-STREAM, CONNECT-TO-TCP-SERVER;
//! * [`server`]: START-UP-SERVER, SERVER-TERMINATE, the socket listener;
//! * [`streams`]: the SOCKET-STREAM class, its accessors, waiting;
//! * [`async_io`]: asynchronous I/O (wait-state collections, states);
//! * [`address`]: GET-HOST-ENTRY, services, IP address text and objects;
//! * [`inspect`]: DESCRIBE of sockets and NETLISP:LIST-SOCKETS;
//! * [`udp`]: the LispWorks-UDP names (COMM+), SOCKET-DATAGRAM;
//! * [`unix`]: the Unix-domain names (COMM+);
//! * [`tls`]: the SSL interface on rustls (contexts, ATTACH-SSL, ...);
//! * [`sockets`]: the primitives the usocket, PORT and sb-bsd-sockets
//!   layers in `lisp/` build on (listening handles, accept, waiting).

pub mod address;
pub mod async_io;
pub mod connect;
pub mod inspect;
pub mod server;
pub mod sockets;
pub mod streams;
pub mod tls;
pub mod udp;
pub mod unix;

use crate::builtins::opt;
use crate::clos::{Class, ClassKind};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::gc::Gc;
use crate::net::addr::{self, IpAddress, Ipv6Spec};
use crate::net::resolve::Family;
use crate::net::{NetError, NetResult};
use crate::value::Value;
use crate::world::{intern_exported, w};
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    static CLASSES: RefCell<Option<(Gc<Class>, Gc<Class>)>> = const { RefCell::new(None) };
}

/// The COMM package.
pub fn package() -> Rc<crate::package::Package> {
    w().ensure_package("COMM")
}

/// A COMM symbol as a value.
pub fn sym(name: &str) -> Value {
    Value::Symbol(intern_exported(name, &package()))
}

/// Define COMM's classes and variables, and the SYSTEM and STREAM
/// packages' LispWorks names (the functions come from the registry).
pub fn install() {
    let comm = package();
    let stream_class = crate::clos::define_builtin_class(
        intern_exported("SOCKET-STREAM", &comm),
        &["STREAM"],
        ClassKind::Standard,
    );
    crate::clos::register_instance_hook(&stream_class, streams::make_instance_hook);
    let ipv6_class = crate::clos::define_builtin_class(
        intern_exported("IPV6-ADDRESS", &comm),
        &["T"],
        ClassKind::BuiltIn,
    );
    CLASSES.with(|c| *c.borrow_mut() = Some((stream_class, ipv6_class)));
    let sys = w().ensure_package("SYSTEM");
    if !sys.nicknames().iter().any(|n| &**n == "SYS") {
        sys.set_nicknames(vec!["SYS".into()]);
        w().register_package(sys);
    }
    let reuse = crate::world::intern("*USE_SO_REUSEADDR*", &comm).0;
    reuse.set_flag(crate::symbol::SPECIAL);
    reuse.set_value(Value::t());
    udp::install();
    async_io::install();
    tls::install();
    install_comm_plus(&comm);
    crate::modules::provide("COMM");
}

/// COMM+ (the package of lispworks-udp 4.x) uses COMMON-LISP and COMM
/// and re-exports every external symbol of COMM, so `comm+:open-udp-socket`
/// and `comm:open-udp-socket` are the same symbol.
fn install_comm_plus(comm: &Rc<crate::package::Package>) {
    let plus = w().ensure_package("COMM+");
    plus.use_package(&w().cl);
    plus.use_package(comm);
    for s in comm.external_symbols() {
        plus.add_external(s);
    }
}

/// The COMM:SOCKET-STREAM class.
pub fn socket_stream_class() -> Gc<Class> {
    CLASSES.with(|c| c.borrow().as_ref().expect("COMM is installed").0.clone())
}

fn ipv6_class() -> Gc<Class> {
    CLASSES.with(|c| c.borrow().as_ref().expect("COMM is installed").1.clone())
}

/// A COMM:IPV6-ADDRESS object.
pub struct Ipv6Object(pub Ipv6Spec);

impl crate::foreign::ForeignObj for Ipv6Object {
    fn type_name(&self) -> &'static str {
        "COMM:IPV6-ADDRESS"
    }
    fn describe(&self) -> String {
        self.0.full_text()
    }
    fn class(&self) -> Option<Gc<Class>> {
        Some(ipv6_class())
    }
    fn holds_values(&self) -> bool {
        false
    }
    fn print_identity(&self) -> bool {
        false
    }
}

/// An IP address as COMM returns it: an integer for IPv4, an
/// IPV6-ADDRESS object for IPv6.
pub fn ip_value(a: &IpAddress) -> Value {
    match a {
        IpAddress::V4(v4) => Value::int(addr::integer_of_ipv4(*v4) as i64),
        IpAddress::V6(spec) => crate::foreign::make(Ipv6Object(spec.clone())),
    }
}

/// The IP address a value denotes, if it is an integer or an
/// IPV6-ADDRESS (strings are not addresses here).
pub fn ip_of_value(v: &Value) -> Option<IpAddress> {
    match v {
        Value::Fixnum(n) if *n >= 0 => addr::ipv4_of_integer(*n as u64).map(IpAddress::V4),
        _ => crate::foreign::get::<Ipv6Object>(v).map(|o| IpAddress::V6(o.0.clone())),
    }
}

/// A hostspec: a name still to resolve, or an address.
#[derive(Clone, Debug)]
pub enum HostSpec {
    /// A host name (or numeric text, which resolves to itself).
    Name(String),
    /// An address given as an integer or IPV6-ADDRESS.
    Addr(IpAddress),
}

impl HostSpec {
    /// The text used in messages and for the resolver.
    pub fn text(&self) -> String {
        match self {
            HostSpec::Name(n) => n.clone(),
            HostSpec::Addr(a) => a.text(),
        }
    }
}

const HOSTSPEC_TYPE: &str = "(OR STRING (INTEGER 0 4294967295) COMM:IPV6-ADDRESS)";

/// A hostspec argument: a string, an IPv4 integer in network order, or
/// an IPV6-ADDRESS.
pub fn hostspec(ctx: &mut Ctx, v: &Value) -> R<HostSpec> {
    if let Some(s) = crate::array::string_of(v) {
        return Ok(HostSpec::Name(s));
    }
    if let Some(a) = ip_of_value(v) {
        return Ok(HostSpec::Addr(a));
    }
    Err(cond::type_error(ctx, v.clone(), HOSTSPEC_TYPE))
}

/// An optional hostspec (NIL: none).
pub fn opt_hostspec(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Option<HostSpec>> {
    match opt(a, i) {
        None | Some(Value::Nil) => Ok(None),
        Some(v) => hostspec(ctx, v).map(Some),
    }
}

/// A service argument: a port number, a string of digits, or a service
/// name from the services database. A bad type or a number outside
/// 0..65535 is a TYPE-ERROR; an unknown name a SERVICE-NOT-FOUND-ERROR
/// result.
pub fn service(ctx: &mut Ctx, v: &Value, protocol: &str) -> R<NetResult<u16>> {
    match v {
        Value::Fixnum(n) if (0..=65535).contains(n) => Ok(Ok(*n as u16)),
        v if v.is_integer() => Err(cond::type_error(ctx, v.clone(), "(INTEGER 0 65535)")),
        v => match crate::array::string_of(v) {
            Some(s) => {
                let r = crate::net::resolve::service_port(&s, protocol);
                if let Err(e) = &r {
                    if e.fault == crate::net::Fault::Invalid {
                        return Err(cond::type_error(ctx, v.clone(), "(INTEGER 0 65535)"));
                    }
                }
                Ok(r)
            }
            None => Err(cond::type_error(
                ctx,
                v.clone(),
                "(OR STRING (INTEGER 0 65535))",
            )),
        },
    }
}

/// An optional service (NIL or absent: port 0, any).
pub fn opt_service(ctx: &mut Ctx, a: &[Value], i: usize, protocol: &str) -> R<NetResult<u16>> {
    match opt(a, i) {
        None | Some(Value::Nil) => Ok(Ok(0)),
        Some(v) => service(ctx, v, protocol),
    }
}

/// The `ipv6` keyword: NIL (IPv4), T (IPv6), :ANY; servers also :BOTH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv6Choice {
    /// IPv4 only.
    No,
    /// IPv6 only.
    Yes,
    /// Whatever the address is.
    Any,
    /// A listener for both families.
    Both,
}

impl Ipv6Choice {
    /// IPV6_V6ONLY for an IPv6 socket: off for :BOTH, on for T, the
    /// system default otherwise.
    pub fn v6only(self) -> Option<bool> {
        match self {
            Ipv6Choice::Both => Some(false),
            Ipv6Choice::Yes => Some(true),
            _ => None,
        }
    }

    /// The families a lookup should return.
    pub fn family(self) -> Family {
        match self {
            Ipv6Choice::No => Family::V4,
            Ipv6Choice::Yes => Family::V6,
            Ipv6Choice::Any | Ipv6Choice::Both => Family::Any,
        }
    }
}

/// The `ipv6` argument (absent: :ANY).
pub fn ipv6_choice(ctx: &mut Ctx, a: &[Value], i: usize, both_ok: bool) -> R<Ipv6Choice> {
    let Some(v) = opt(a, i) else {
        return Ok(Ipv6Choice::Any);
    };
    match v {
        Value::Nil => Ok(Ipv6Choice::No),
        Value::Symbol(s) if s.name() == "ANY" => Ok(Ipv6Choice::Any),
        Value::Symbol(s) if s.name() == "BOTH" && both_ok => Ok(Ipv6Choice::Both),
        Value::Symbol(s) if s.name() == "T" => Ok(Ipv6Choice::Yes),
        other => Err(cond::type_error(
            ctx,
            other.clone(),
            if both_ok {
                "(MEMBER NIL T :ANY :BOTH)"
            } else {
                "(MEMBER NIL T :ANY)"
            },
        )),
    }
}

/// A :BACKLOG argument: a positive integer (capped at the OS's int), or
/// NIL / absent for 128.
pub fn backlog(ctx: &mut Ctx, v: Option<&Value>) -> R<i32> {
    match v {
        None | Some(Value::Nil) => Ok(128),
        Some(Value::Fixnum(n)) if *n > 0 => Ok((*n).min(i32::MAX as i64) as i32),
        Some(v) => Err(cond::type_error(ctx, v.clone(), "(OR NULL (INTEGER 1))")),
    }
}

/// A timeout argument: a non-negative real number of seconds, or NIL.
pub fn seconds(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Option<f64>> {
    seconds_of(ctx, opt(a, i))
}

/// A timeout value: a non-negative real or NIL.
pub fn seconds_of(ctx: &mut Ctx, v: Option<&Value>) -> R<Option<f64>> {
    match v {
        None | Some(Value::Nil) => Ok(None),
        Some(v) => {
            let s = if v.is_real() {
                crate::builtins::f64_of(ctx, v)?
            } else {
                -1.0
            };
            if s < 0.0 || !s.is_finite() {
                return Err(cond::type_error(ctx, v.clone(), "(OR NULL (REAL 0))"));
            }
            Ok(Some(s))
        }
    }
}

/// Resolve a hostspec for use with `port`: the addresses to try, in order.
pub fn resolve_spec(
    ctx: &mut Ctx,
    spec: &HostSpec,
    family: Family,
    deadline: Option<std::time::Instant>,
) -> R<NetResult<Vec<IpAddress>>> {
    match spec {
        HostSpec::Addr(a) => {
            if family.admits(a) {
                Ok(Ok(vec![a.clone()]))
            } else {
                Ok(Err(NetError::new(
                    crate::net::Fault::HostNotFound,
                    crate::net::Op::Resolve,
                    "the address is not of the asked family",
                )
                .at(a.text(), None)))
            }
        }
        HostSpec::Name(n) => {
            let flags = crate::net::resolve::LookupFlags::default();
            Ok(crate::net::resolve::lookup(ctx, n, family, flags, deadline)?.map(|e| e.addrs))
        }
    }
}

/// COMM's failure protocol: with `errorp`, signal; otherwise return
/// (values NIL condition).
pub fn fail(ctx: &mut Ctx, errorp: bool, e: &NetError) -> R {
    let c = crate::net::conditions::condition(e, Value::Nil);
    if errorp {
        return Err(cond::error(ctx, c));
    }
    Ok(ctx.values2(Value::Nil, c))
}

/// Two values: an address and a port, or NIL NIL.
pub fn address_values(ctx: &mut Ctx, sa: Option<std::net::SocketAddr>) -> Value {
    match sa {
        Some(sa) => {
            let ip = ip_value(&IpAddress::of_socket_addr(&sa));
            ctx.values2(ip, Value::Fixnum(sa.port() as i64))
        }
        None => ctx.values2(Value::Nil, Value::Nil),
    }
}

/// The COMM setf functions.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    let mut v = streams::setters();
    v.extend(async_io::setters());
    v
}

/// The expansion of COMM's WITH- macros: bind VAR to (OPENER . ARGS)
/// around BODY, then close it with CLOSER (default CLOSE) if it was
/// opened, however BODY is left.
pub fn with_closing(
    ctx: &mut Ctx,
    form: &Value,
    what: &str,
    opener: &str,
    closer: Option<&str>,
) -> R {
    use crate::builtins::macros::{cl, l, lt, need, progn, split_decls};
    let rest = need(ctx, form, 1, what)?;
    let spec = rest.first();
    let var = spec.first();
    if !matches!(var, Value::Symbol(_)) || var.is_nil() {
        return Err(cond::simple_error(
            ctx,
            format!(
                "{}: the first element of {} is not a variable name",
                what,
                crate::printer::prin1_string(&spec)
            ),
        ));
    }
    let open = lt(vec![sym(opener)], spec.rest());
    let close = match closer {
        Some(c) => sym(c),
        None => cl("CLOSE"),
    };
    let (decls, body) = split_decls(&rest.rest());
    let mut letf = vec![cl("LET"), l(vec![l(vec![var.clone(), open])])];
    letf.extend(decls);
    letf.push(l(vec![
        cl("UNWIND-PROTECT"),
        progn(body),
        l(vec![cl("WHEN"), var.clone(), l(vec![close, var])]),
    ]));
    Ok(l(letf))
}
