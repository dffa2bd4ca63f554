//! The Unix-domain names of lispworks-udp 4.x (package COMM+, also in
//! COMM): OPEN-UNIX-SOCKET, CONNECT-TO-UNIX-PATH, OPEN-UNIX-STREAM,
//! WITH-UNIX-STREAM, GET-SOCKET-PATHNAME, GET-SOCKET-PEER-PATHNAME, and
//! netlisp's GET-SOCKET-PEER-CREDENTIALS. A socket name is a path, or on
//! Linux an abstract name given as a string that starts with #\Nul.
//! Serving on a path with a process per connection is START-UP-SERVER's
//! :PATH keyword.

use super::fail;
use super::udp::datagram_value;
use crate::builtins::{flag, opt};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::net::error::NetResult;
use crate::net::registry;
use crate::net::socket::{Family, SocketCore};
use crate::net::unix::{self, BindOptions};
use crate::value::Value;
use socket2::Type;
use std::rc::Rc;

/// A socket name argument: a string as given (an abstract name keeps its
/// leading NUL), or a pathname as its native namestring.
pub fn socket_name(ctx: &mut Ctx, v: &Value) -> R<String> {
    match crate::array::string_of(v) {
        Some(s) => Ok(s),
        None => crate::builtins::files::native_path(ctx, v),
    }
}

/// The :PROTOCOL keyword: :DATAGRAM (the default) or :STREAM.
fn protocol(ctx: &mut Ctx, v: Option<&Value>) -> R<Type> {
    match v {
        None | Some(Value::Nil) => Ok(Type::DGRAM),
        Some(Value::Symbol(s)) if s.name() == "DATAGRAM" => Ok(Type::DGRAM),
        Some(Value::Symbol(s)) if s.name() == "STREAM" => Ok(Type::STREAM),
        Some(v) => Err(cond::type_error(
            ctx,
            v.clone(),
            "(MEMBER :DATAGRAM :STREAM)",
        )),
    }
}

/// The :MODE keyword: file permission bits for the socket file.
fn mode(ctx: &mut Ctx, v: Option<&Value>) -> R<Option<u32>> {
    match v {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Fixnum(n)) if (0..=0o7777).contains(n) => Ok(Some(*n as u32)),
        Some(v) => Err(cond::type_error(ctx, v.clone(), "(INTEGER 0 4095)")),
    }
}

/// Bind options from :REMOVE-STALE and :MODE values.
pub fn bind_options(
    ctx: &mut Ctx,
    remove_stale: Option<&Value>,
    m: Option<&Value>,
) -> R<BindOptions> {
    Ok(BindOptions {
        remove_stale: remove_stale.is_some_and(|v| v.truthy()),
        mode: mode(ctx, m)?,
    })
}

/// A connected stream socket or datagram socket as the Lisp value
/// CONNECT-TO-UNIX-PATH returns: a handle or a SOCKET-DATAGRAM.
fn socket_value(core: SocketCore, ty: Type) -> Value {
    if ty == Type::DGRAM {
        datagram_value(core)
    } else {
        Value::Fixnum(registry::adopt(core).fd as i64)
    }
}

fn connect(ctx: &mut Ctx, a: &[Value]) -> R {
    let name = socket_name(ctx, &a[0])?;
    let ty = protocol(ctx, opt(a, 1))?;
    let errorp = flag(a, 2);
    let read_timeout = super::seconds(ctx, a, 3)?;
    let deadline = crate::net::udp::deadline_of(super::seconds(ctx, a, 4)?);
    match unix::connect(ctx, &name, ty, deadline)? {
        Ok(core) => {
            core.recv_timeout.set(read_timeout);
            Ok(socket_value(core, ty))
        }
        Err(e) => fail(ctx, errorp, &e),
    }
}

/// The Unix socket of a handle, datagram or stream, if it is one.
fn unix_core(ctx: &mut Ctx, v: &Value) -> R<Option<Rc<SocketCore>>> {
    let core = match crate::foreign::get::<super::udp::DatagramObj>(v) {
        Some(d) => Some(d.core.clone()),
        None => super::streams::core_of(ctx, v)?,
    };
    Ok(core.filter(|c| c.family == Family::Unix && c.is_open()))
}

fn name_value(n: Option<String>) -> Value {
    n.map_or(Value::Nil, |n| crate::array::Array::string(&n))
}

fn sock_name(core: &SocketCore, peer: bool) -> Option<String> {
    core.with(crate::net::Op::Option, |s| {
        if peer {
            s.peer_addr()
        } else {
            s.local_addr()
        }
    })
    .ok()
    .and_then(|a| unix::name_of(&a))
}

crate::defbuiltins! {
    /// Open a Unix-domain socket. PROTOCOL :DATAGRAM (the default)
    /// returns a SOCKET-DATAGRAM, bound to PATH when given (else to an
    /// automatic abstract name, so replies can reach it); :STREAM with
    /// PATH returns a listening handle (backlog BACKLOG) whose socket
    /// file is removed when it closes. REMOVE-STALE removes an existing
    /// socket file nobody accepts on first (never a regular file or a
    /// live socket); MODE sets the file's permission bits.
    /// LOCAL-PATHNAME is the older name of PATH.
    fn OPEN_UNIX_SOCKET "COMM:OPEN-UNIX-SOCKET" "(&key protocol errorp path read-timeout local-pathname remove-stale mode backlog)" [mv] (ctx, a) {
        let ty = protocol(ctx, opt(a, 0))?;
        let errorp = flag(a, 1);
        let path = match (opt(a, 2), opt(a, 4)) {
            (Some(p), _) | (None, Some(p)) if p.truthy() => Some(socket_name(ctx, p)?),
            _ => None,
        };
        let timeout = super::seconds(ctx, a, 3)?;
        let opts = bind_options(ctx, opt(a, 5), opt(a, 6))?;
        let backlog = super::backlog(ctx, opt(a, 7))?;
        let r: NetResult<Value> = match (ty == Type::DGRAM, path) {
            (true, p) => unix::datagram(p.as_deref(), &opts).map(|c| {
                c.recv_timeout.set(timeout);
                datagram_value(c)
            }),
            (false, Some(p)) => unix::listen(&p, backlog, &opts)
                .map(|c| Value::Fixnum(registry::adopt(c).fd as i64)),
            (false, None) => {
                return Err(cond::simple_error(ctx, "OPEN-UNIX-SOCKET :PROTOCOL :STREAM needs :PATH to listen on; use CONNECT-TO-UNIX-PATH to connect".into()));
            }
        };
        match r {
            Ok(v) => Ok(v),
            Err(e) => fail(ctx, errorp, &e),
        }
    }

    /// Connect to the Unix socket PATH. PROTOCOL :DATAGRAM (the default)
    /// returns a connected SOCKET-DATAGRAM, :STREAM a socket handle for
    /// MAKE-INSTANCE 'COMM:SOCKET-STREAM. TIMEOUT bounds the wait when
    /// the listener's queue is full. On failure: signal with ERRORP, else
    /// NIL and the condition.
    fn CONNECT_TO_UNIX_PATH "COMM:CONNECT-TO-UNIX-PATH" "(path &key protocol errorp read-timeout timeout)" [mv] (ctx, a) {
        connect(ctx, a)
    }

    /// The older name of CONNECT-TO-UNIX-PATH.
    fn CONNECT_TO_UNIX_PATHNAME "COMM:CONNECT-TO-UNIX-PATHNAME" "(path &key protocol errorp read-timeout timeout)" [mv] (ctx, a) {
        connect(ctx, a)
    }

    /// Connect to the Unix stream socket PATH and return a bivalent
    /// COMM:SOCKET-STREAM (as OPEN-TCP-STREAM does for TCP).
    fn OPEN_UNIX_STREAM "COMM:OPEN-UNIX-STREAM" "(path &key direction element-type errorp read-timeout write-timeout timeout external-format)" [mv] (ctx, a) {
        let name = socket_name(ctx, &a[0])?;
        let opts = super::streams::stream_options(ctx, opt(a, 1), opt(a, 2), opt(a, 4), opt(a, 5), opt(a, 7))?;
        let deadline = crate::net::udp::deadline_of(super::seconds(ctx, a, 6)?);
        match unix::connect(ctx, &name, Type::STREAM, deadline)? {
            Ok(core) => Ok(super::streams::stream_of_core(core, &opts, false)),
            Err(e) => fail(ctx, flag(a, 3), &e),
        }
    }

    /// Bind VAR to (OPEN-UNIX-STREAM . ARGS) around BODY and close the
    /// stream afterwards.
    macro WITH_UNIX_STREAM "COMM:WITH-UNIX-STREAM" "((var &rest args) &body body)" (ctx, a) {
        super::with_closing(ctx, &a[0], "WITH-UNIX-STREAM", "OPEN-UNIX-STREAM", None)
    }

    /// The name a Unix socket (handle, SOCKET-DATAGRAM or stream) is
    /// bound to: a path, an abstract name with its leading #\Nul, or NIL.
    fn GET_SOCKET_PATHNAME "COMM:GET-SOCKET-PATHNAME" "(socket)" (ctx, a) {
        let c = unix_core(ctx, &a[0])?;
        Ok(name_value(c.and_then(|c| sock_name(&c, false))))
    }

    /// The name of the peer of a connected Unix socket, or NIL (an
    /// unnamed peer, or not a Unix socket).
    fn GET_SOCKET_PEER_PATHNAME "COMM:GET-SOCKET-PEER-PATHNAME" "(socket)" (ctx, a) {
        let c = unix_core(ctx, &a[0])?;
        Ok(name_value(c.and_then(|c| sock_name(&c, true))))
    }

    /// The process id, user id and group id of the peer of a connected
    /// Unix stream socket (SO_PEERCRED; a netlisp extension), or NIL.
    fn GET_SOCKET_PEER_CREDENTIALS "COMM:GET-SOCKET-PEER-CREDENTIALS" "(socket)" [mv] (ctx, a) {
        let Some(c) = unix_core(ctx, &a[0])? else { return Ok(Value::Nil) };
        match unix::peer_credentials(&c) {
            Ok((pid, uid, gid)) => Ok(ctx.set_values(vec![Value::int(pid as i64), Value::int(uid as i64), Value::int(gid as i64)])),
            Err(e) => Err(crate::net::conditions::signal(ctx, &e)),
        }
    }
}
