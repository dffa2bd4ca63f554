//! The network error vocabulary as Lisp conditions. LispWorks' classes
//! (SOCKET-ERROR and its create / connect / I/O phases) are the roots;
//! below them one class per [`Fault`], so a program can catch exactly
//! "connection refused" or "address in use". PORT and usocket map these
//! onto their own names. Every condition carries the errno
//! (SOCKET-ERROR-CODE), the operation, the host and the port.

use super::error::{Fault, NetError, Op, Phase};
use crate::clos::{self, Class};
use crate::ctx::{Ctx, Exit};
use crate::gc::Gc;
use crate::value::Value;
use crate::world::{intern, intern_exported, keyword, w};

/// The package the network conditions live in.
pub const PACKAGE: &str = "COMM";

/// (class, superclasses) in definition order; unqualified supers are
/// this package's, "TIMEOUT-ERROR" is netlisp's general one.
const CLASSES: &[(&str, &[&str])] = &[
    ("SOCKET-ERROR", &["SIMPLE-ERROR"]),
    ("SOCKET-CREATE-ERROR", &["SOCKET-ERROR"]),
    ("SOCKET-CONNECT-ERROR", &["SOCKET-ERROR"]),
    ("SOCKET-IO-ERROR", &["SOCKET-ERROR"]),
    ("ADDRESS-IN-USE-ERROR", &["SOCKET-CREATE-ERROR"]),
    ("ADDRESS-NOT-AVAILABLE-ERROR", &["SOCKET-CREATE-ERROR"]),
    ("PERMISSION-DENIED-ERROR", &["SOCKET-CREATE-ERROR"]),
    ("OUT-OF-RESOURCES-ERROR", &["SOCKET-CREATE-ERROR"]),
    ("CONNECTION-REFUSED-ERROR", &["SOCKET-CONNECT-ERROR"]),
    ("HOST-NOT-FOUND-ERROR", &["SOCKET-CONNECT-ERROR"]),
    ("SERVICE-NOT-FOUND-ERROR", &["SOCKET-CONNECT-ERROR"]),
    ("NETWORK-UNREACHABLE-ERROR", &["SOCKET-CONNECT-ERROR"]),
    ("HOST-UNREACHABLE-ERROR", &["SOCKET-CONNECT-ERROR"]),
    (
        "CONNECT-TIMEOUT-ERROR",
        &["SOCKET-CONNECT-ERROR", "TIMEOUT-ERROR"],
    ),
    ("CONNECTION-RESET-ERROR", &["SOCKET-IO-ERROR"]),
    ("BROKEN-PIPE-ERROR", &["SOCKET-IO-ERROR"]),
    ("IO-TIMEOUT-ERROR", &["SOCKET-IO-ERROR", "TIMEOUT-ERROR"]),
    ("MESSAGE-TRUNCATED-ERROR", &["SOCKET-IO-ERROR"]),
    ("SSL-CONDITION", &["SOCKET-ERROR"]),
    ("SSL-CLOSED", &["SSL-CONDITION"]),
    ("SSL-ERROR", &["SSL-CONDITION"]),
    ("SSL-FAILURE", &["SSL-CONDITION"]),
    ("SSL-HANDSHAKE-TIMEOUT", &["SSL-CONDITION", "TIMEOUT-ERROR"]),
    ("SSL-VERIFICATION-FAILURE", &["SSL-FAILURE"]),
    ("SSL-X509-LOOKUP", &["SSL-CONDITION"]),
];

/// The slots of SOCKET-ERROR: (slot, initarg).
const SLOTS: &[(&str, &str)] = &[
    ("CODE", "CODE"),
    ("CONNECTION", "CONNECTION"),
    ("OPERATION", "OPERATION"),
    ("HOST", "HOST"),
    ("PORT", "PORT"),
];

/// Define the condition classes.
pub fn install() {
    let pkg = w().ensure_package(PACKAGE);
    for (name, supers) in CLASSES {
        let sym = intern_exported(name, &pkg);
        let supers: Vec<Gc<Class>> = supers
            .iter()
            .map(|s| match *s {
                "SIMPLE-ERROR" | "TIMEOUT-ERROR" => crate::conditions::condition_class(s),
                other => class(other),
            })
            .collect();
        let slots: Vec<(Value, Value)> = match *name {
            "SOCKET-ERROR" => SLOTS
                .iter()
                .map(|(s, ia)| (slot_name(s), keyword(ia)))
                .collect(),
            // Why a certificate was rejected (a keyword), or NIL.
            "SSL-CONDITION" => vec![(slot_name("REASON"), keyword("REASON"))],
            _ => Vec::new(),
        };
        crate::conditions::define_class(&sym, supers, &slots);
    }
}

fn slot_name(s: &str) -> Value {
    Value::Symbol(intern(s, &w().ensure_package(PACKAGE)).0)
}

/// A network condition class by name.
pub fn class(name: &str) -> Gc<Class> {
    let sym = intern_exported(name, &w().ensure_package(PACKAGE));
    clos::find_class(&Value::Symbol(sym)).expect("network conditions are installed")
}

/// The class for an error: its fault's class, else its phase's.
pub fn class_name(e: &NetError) -> &'static str {
    match (e.fault, e.op.phase()) {
        (Fault::AddressInUse, _) => "ADDRESS-IN-USE-ERROR",
        (Fault::AddressNotAvailable, _) => "ADDRESS-NOT-AVAILABLE-ERROR",
        (Fault::Permission, _) => "PERMISSION-DENIED-ERROR",
        (Fault::NoResources, Phase::Create) => "OUT-OF-RESOURCES-ERROR",
        (Fault::Refused, _) => "CONNECTION-REFUSED-ERROR",
        (Fault::HostNotFound, _) => "HOST-NOT-FOUND-ERROR",
        (Fault::ServiceNotFound, _) => "SERVICE-NOT-FOUND-ERROR",
        (Fault::NetworkUnreachable, _) => "NETWORK-UNREACHABLE-ERROR",
        (Fault::HostUnreachable, _) => "HOST-UNREACHABLE-ERROR",
        (Fault::TimedOut, Phase::Connect) => "CONNECT-TIMEOUT-ERROR",
        (Fault::TimedOut, Phase::Io) => "IO-TIMEOUT-ERROR",
        (Fault::Reset, _) => "CONNECTION-RESET-ERROR",
        (Fault::BrokenPipe, _) => "BROKEN-PIPE-ERROR",
        (Fault::Truncated, _) => "MESSAGE-TRUNCATED-ERROR",
        (Fault::TlsVerification(_), _) => "SSL-VERIFICATION-FAILURE",
        (Fault::TlsClosed, _) => "SSL-CLOSED",
        (Fault::TlsHandshakeTimeout, _) => "SSL-HANDSHAKE-TIMEOUT",
        (Fault::TlsFailure, _) => "SSL-FAILURE",
        (_, Phase::Create) => "SOCKET-CREATE-ERROR",
        (_, Phase::Connect) => "SOCKET-CONNECT-ERROR",
        (_, Phase::Io) => "SOCKET-IO-ERROR",
    }
}

/// The keyword naming an operation (SOCKET-ERROR-OPERATION).
pub fn op_keyword(op: Op) -> Value {
    keyword(match op {
        Op::Resolve => "RESOLVE",
        Op::Create => "CREATE",
        Op::Bind => "BIND",
        Op::Listen => "LISTEN",
        Op::Connect => "CONNECT",
        Op::Accept => "ACCEPT",
        Op::Read => "READ",
        Op::Write => "WRITE",
        Op::Option => "OPTION",
        Op::Close => "CLOSE",
        Op::Handshake => "HANDSHAKE",
    })
}

/// The condition object for `e`; `connection` is the stream concerned,
/// or NIL.
pub fn condition(e: &NetError, connection: Value) -> Value {
    let c = class(class_name(e));
    let str_or_nil = |s: &Option<String>| match s {
        Some(s) => crate::array::Array::string(s),
        None => Value::Nil,
    };
    let mut initargs = vec![
        (
            keyword("FORMAT-CONTROL"),
            crate::array::Array::string(&crate::conditions::escape_tildes(&e.to_string())),
        ),
        (keyword("FORMAT-ARGUMENTS"), Value::Nil),
        (
            keyword("CODE"),
            e.errno.map_or(Value::Nil, |n| Value::Fixnum(n as i64)),
        ),
        (keyword("CONNECTION"), connection),
        (keyword("OPERATION"), op_keyword(e.op)),
        (keyword("HOST"), str_or_nil(&e.host)),
        (
            keyword("PORT"),
            e.port.map_or(Value::Nil, |p| Value::Fixnum(p as i64)),
        ),
    ];
    if let Fault::TlsVerification(reason) = e.fault {
        initargs.push((keyword("REASON"), keyword(reason)));
    }
    crate::conditions::make_condition(&c, &initargs)
}

/// Signal `e` as an error.
pub fn signal(ctx: &mut Ctx, e: &NetError) -> Exit {
    let c = condition(e, Value::Nil);
    crate::conditions::error(ctx, c)
}

/// A slot of a network condition (NIL if `cond` is not one).
pub fn slot(cond: &Value, name: &str) -> Value {
    match cond {
        Value::Instance(i) => match clos::slot_value_raw(i, &slot_name(name)) {
            Some(Value::Unbound) | None => Value::Nil,
            Some(v) => v,
        },
        _ => Value::Nil,
    }
}

/// Whether `v` is a SOCKET-ERROR.
pub fn is_socket_error(v: &Value) -> bool {
    clos::instance_of(v, &class("SOCKET-ERROR"))
}
