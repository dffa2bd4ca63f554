//! COMM:SOCKET-STREAM: making one from a handle (MAKE-INSTANCE), its
//! accessors, timeouts, half-close, endpoint addresses, and waiting for
//! input on several streams.

use super::{address_values, seconds_of};
use crate::builtins::opt;
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::gc::Gc;
use crate::net::registry;
use crate::net::socket::SocketCore;
use crate::net::stream::{make_stream, with_socket_io, SocketIo, StreamOptions};
use crate::stream::{Encoding, Stream};
use crate::value::Value;
use std::rc::Rc;

fn keyword_name(v: &Value) -> Option<String> {
    match v {
        Value::Symbol(s) => Some(s.name().to_string()),
        _ => None,
    }
}

/// The encoding an :EXTERNAL-FORMAT asks for (absent: Latin-1).
fn encoding_of(ctx: &mut Ctx, v: Option<&Value>) -> R<Encoding> {
    let spec = match v {
        None | Some(Value::Nil) => return Ok(Encoding::Latin1),
        Some(Value::Cons(c)) => c.car(),
        Some(v) => v.clone(),
    };
    match keyword_name(&spec).as_deref() {
        Some("UTF-8" | "UTF8") => Ok(Encoding::Utf8),
        Some("LATIN-1" | "LATIN1" | "ISO-8859-1" | "DEFAULT" | "ASCII") => Ok(Encoding::Latin1),
        _ => Err(cond::type_error(
            ctx,
            spec,
            "(MEMBER :LATIN-1 :UTF-8 :DEFAULT)",
        )),
    }
}

/// Stream options from COMM's :DIRECTION, :ELEMENT-TYPE, timeouts and
/// :EXTERNAL-FORMAT.
pub fn stream_options(
    ctx: &mut Ctx,
    direction: Option<&Value>,
    element_type: Option<&Value>,
    read_timeout: Option<&Value>,
    write_timeout: Option<&Value>,
    external_format: Option<&Value>,
) -> R<StreamOptions> {
    let (input, output) = match direction.and_then(keyword_name).as_deref() {
        None | Some("IO") => (true, true),
        Some("INPUT") => (true, false),
        Some("OUTPUT") => (false, true),
        _ => {
            let v = direction.cloned().unwrap_or(Value::Nil);
            return Err(cond::type_error(ctx, v, "(MEMBER :INPUT :OUTPUT :IO)"));
        }
    };
    let element_type = match element_type {
        None | Some(Value::Nil) => Value::Symbol(crate::world::cl_sym("BASE-CHAR")),
        Some(v) => v.clone(),
    };
    Ok(StreamOptions {
        input,
        output,
        element_type,
        encoding: encoding_of(ctx, external_format)?,
        read_timeout: seconds_of(ctx, read_timeout)?,
        write_timeout: seconds_of(ctx, write_timeout)?,
    })
}

/// A socket stream owning a freshly made socket.
pub fn stream_of_core(core: SocketCore, opts: &StreamOptions, _handle: bool) -> Value {
    let rc = registry::watch(core);
    make_stream(Some(rc), opts, Some(super::socket_stream_class()))
}

/// MAKE-INSTANCE 'COMM:SOCKET-STREAM: takes ownership of the :SOCKET
/// handle. Initargs: :SOCKET :DIRECTION :ELEMENT-TYPE :READ-TIMEOUT
/// :WRITE-TIMEOUT :EXTERNAL-FORMAT, and the SSL ones (:SSL-CTX,
/// :SSL-SIDE defaulting to :SERVER, the two callbacks,
/// :HANDSHAKE-TIMEOUT, :TLSEXT-HOST-NAME), which attach SSL.
pub fn make_instance_hook(
    ctx: &mut Ctx,
    _class: &Gc<crate::clos::Class>,
    initargs: &[Value],
) -> R<Option<Value>> {
    let get = |name: &str| -> Option<Value> {
        initargs
            .chunks(2)
            .find(|p| matches!(&p[0], Value::Symbol(s) if s.name() == name))
            .map(|p| p.get(1).cloned().unwrap_or(Value::Nil))
    };
    let (d, e, rt, wt, ef) = (
        get("DIRECTION"),
        get("ELEMENT-TYPE"),
        get("READ-TIMEOUT"),
        get("WRITE-TIMEOUT"),
        get("EXTERNAL-FORMAT"),
    );
    let opts = stream_options(
        ctx,
        d.as_ref(),
        e.as_ref(),
        rt.as_ref(),
        wt.as_ref(),
        ef.as_ref(),
    )?;
    let core = match get("SOCKET") {
        None | Some(Value::Nil) => None,
        Some(h) => Some(take_handle(ctx, &h)?),
    };
    let v = make_stream_maybe(core, &opts);
    if let (Some(ssl_ctx), Value::Stream(s)) = (get("SSL-CTX").filter(|v| v.truthy()), &v) {
        // SSL as ATTACH-SSL would: the handshake runs on first use.
        let side = match get("SSL-SIDE") {
            Some(Value::Symbol(k)) if k.name() == "CLIENT" => super::tls::Side::Client,
            _ => super::tls::Side::Server,
        };
        let host_name = match get("TLSEXT-HOST-NAME").filter(|v| v.truthy()) {
            Some(h) => Some(crate::builtins::string_designator(ctx, &h)?),
            None => None,
        };
        let how = super::tls::Attach {
            ssl_ctx,
            side,
            ctx_configure: get("CTX-CONFIGURE-CALLBACK").unwrap_or(Value::Nil),
            ssl_configure: get("SSL-CONFIGURE-CALLBACK").unwrap_or(Value::Nil),
            handshake_timeout: seconds_of(ctx, get("HANDSHAKE-TIMEOUT").as_ref())?,
            host_name,
        };
        if let Err(e) = super::tls::attach(ctx, s, &how, None) {
            crate::stream::close(ctx, s, true)?;
            return Err(e);
        }
    }
    Ok(Some(v))
}

fn make_stream_maybe(core: Option<Rc<SocketCore>>, opts: &StreamOptions) -> Value {
    make_stream(core, opts, Some(super::socket_stream_class()))
}

/// Take a raw handle out of the table (the stream now owns it).
fn take_handle(ctx: &mut Ctx, h: &Value) -> R<Rc<SocketCore>> {
    let fd = match h {
        Value::Fixnum(n) if *n >= 0 && *n <= i32::MAX as i64 => *n as i32,
        other => return Err(cond::type_error(ctx, other.clone(), "(INTEGER 0)")),
    };
    match registry::take_handle(fd) {
        Some(c) => Ok(c),
        None => {
            let why = if registry::get(fd).is_some() {
                "already belongs to a stream"
            } else {
                "is not an open socket handle"
            };
            Err(cond::simple_error(
                ctx,
                format!("Socket handle {} {}.", fd, why),
            ))
        }
    }
}

/// A socket stream argument.
pub fn socket_stream(ctx: &mut Ctx, v: &Value) -> R<Gc<Stream>> {
    if let Value::Stream(s) = v {
        if with_socket_io(s, |_| ()).is_some() {
            return Ok(s.clone());
        }
    }
    Err(cond::type_error(ctx, v.clone(), "COMM:SOCKET-STREAM"))
}

fn io_of<T>(s: &Gc<Stream>, f: impl FnOnce(&SocketIo) -> T) -> T {
    with_socket_io(s, f).expect("checked to be a socket stream")
}

/// The socket of a handle or socket stream argument.
pub fn core_of(ctx: &mut Ctx, v: &Value) -> R<Option<Rc<SocketCore>>> {
    match v {
        Value::Fixnum(n) if *n >= 0 && *n <= i32::MAX as i64 => Ok(registry::get(*n as i32)),
        Value::Stream(_) => {
            let s = socket_stream(ctx, v)?;
            Ok(io_of(&s, |io| io.core()))
        }
        v if crate::foreign::get::<super::udp::DatagramObj>(v).is_some() => {
            Ok(crate::foreign::get::<super::udp::DatagramObj>(v).map(|d| d.core.clone()))
        }
        other => Err(cond::type_error(
            ctx,
            other.clone(),
            "(OR (INTEGER 0) COMM:SOCKET-STREAM COMM:SOCKET-DATAGRAM)",
        )),
    }
}

/// A stored timeout as a Lisp number: an integer if whole, a single
/// float if it came from one (0.2 stays 0.2), else a double.
fn timeout_value(t: Option<f64>) -> Value {
    match t {
        None => Value::Nil,
        Some(s) if s.fract() == 0.0 && s < 1e15 => Value::Fixnum(s as i64),
        Some(s) if (s as f32) as f64 == s => Value::Single(s as f32),
        Some(s) => Value::Double(s),
    }
}

/// Wait for input on socket streams: the ready ones, in order, or NIL
/// after TIMEOUT or when WAIT-FUNCTION returns true.
fn wait_for_input(
    ctx: &mut Ctx,
    streams: &[Value],
    wait_function: Option<&Value>,
    timeout: Option<f64>,
    first_only: bool,
) -> R {
    let deadline =
        timeout.map(|t| std::time::Instant::now() + std::time::Duration::from_secs_f64(t));
    let mut ss = Vec::new();
    for v in streams {
        ss.push(crate::builtins::stream(ctx, v)?);
    }
    loop {
        let mut ready = Vec::new();
        for (v, s) in streams.iter().zip(&ss) {
            let is_ready = !s.is_open()
                || crate::stream::listen(ctx, s)?
                || s.bytes().is_some_and(|b| b.at_eof());
            if is_ready {
                if first_only {
                    return Ok(v.clone());
                }
                ready.push(v.clone());
            }
        }
        if !ready.is_empty() {
            return Ok(crate::value::list_from(ready));
        }
        if let Some(f) = wait_function {
            if crate::eval::apply(ctx, f, &[])?.truthy() {
                return Ok(Value::Nil);
            }
        }
        let left = crate::net::tcp::remaining(deadline);
        if left == Some(0.0) {
            return Ok(Value::Nil);
        }
        let fds: Vec<i32> = ss
            .iter()
            .filter_map(|s| s.bytes().and_then(|b| b.io.borrow().fd()))
            .collect();
        // With a wait function, look again at least every 50 ms.
        let slice = match (left, wait_function.is_some()) {
            (Some(l), true) => Some(l.min(0.05)),
            (None, true) => Some(0.05),
            (l, false) => l,
        };
        if fds.is_empty() {
            crate::mp::scheduler::sleep(ctx, slice.unwrap_or(0.05))?;
        } else {
            crate::mp::wait_fds(ctx, &fds, true, slice)?;
        }
    }
}

crate::defbuiltins! {
    /// The socket handle of a socket stream, or NIL.
    fn SOCKET_STREAM_SOCKET "COMM:SOCKET-STREAM-SOCKET" "(socket-stream)" (ctx, a) {
        let s = socket_stream(ctx, &a[0])?;
        Ok(io_of(&s, |io| io.core()).map_or(Value::Nil, |c| Value::Fixnum(c.fd as i64)))
    }
    /// Install handle SOCKET (or NIL) in the stream, closing the old socket.
    fn SETF_SOCKET_STREAM_SOCKET "COMM::SETF-SOCKET-STREAM-SOCKET" "(socket socket-stream)" (ctx, a) {
        let s = socket_stream(ctx, &a[1])?;
        let new = match &a[0] { Value::Nil => None, h => Some(take_handle(ctx, h)?) };
        let old = io_of(&s, |io| std::mem::replace(&mut *io.core.borrow_mut(), new));
        if let Some(old) = old { old.close(false); }
        Ok(a[0].clone())
    }
    /// Install handle SOCKET (or NIL) in the stream and return the old
    /// handle without closing it (it becomes a raw handle again).
    fn REPLACE_SOCKET_STREAM_SOCKET "COMM:REPLACE-SOCKET-STREAM-SOCKET" "(socket-stream socket)" (ctx, a) {
        let s = socket_stream(ctx, &a[0])?;
        let new = match &a[1] { Value::Nil => None, h => Some(take_handle(ctx, h)?) };
        let old = io_of(&s, |io| std::mem::replace(&mut *io.core.borrow_mut(), new));
        Ok(match old {
            Some(c) => {
                let fd = c.fd;
                registry::return_handle(c);
                Value::Fixnum(fd as i64)
            }
            None => Value::Nil,
        })
    }
    /// Seconds a read on STREAM waits for data before signalling
    /// COMM:IO-TIMEOUT-ERROR, or NIL (no limit).
    fn STREAM_READ_TIMEOUT "STREAM:STREAM-READ-TIMEOUT" "(stream)" (ctx, a) {
        let s = crate::builtins::stream(ctx, &a[0])?;
        Ok(timeout_value(with_socket_io(&s, |io| io.read_timeout.get()).flatten()))
    }
    /// Set the read timeout of a socket stream.
    fn SETF_STREAM_READ_TIMEOUT "STREAM::SETF-STREAM-READ-TIMEOUT" "(timeout stream)" (ctx, a) {
        let t = seconds_of(ctx, Some(&a[0]))?;
        let s = socket_stream(ctx, &a[1])?;
        io_of(&s, |io| io.read_timeout.set(t));
        Ok(a[0].clone())
    }
    /// Seconds a write on STREAM waits for buffer space, or NIL.
    fn STREAM_WRITE_TIMEOUT "STREAM:STREAM-WRITE-TIMEOUT" "(stream)" (ctx, a) {
        let s = crate::builtins::stream(ctx, &a[0])?;
        Ok(timeout_value(with_socket_io(&s, |io| io.write_timeout.get()).flatten()))
    }
    /// Set the write timeout of a socket stream.
    fn SETF_STREAM_WRITE_TIMEOUT "STREAM::SETF-STREAM-WRITE-TIMEOUT" "(timeout stream)" (ctx, a) {
        let t = seconds_of(ctx, Some(&a[0]))?;
        let s = socket_stream(ctx, &a[1])?;
        io_of(&s, |io| io.write_timeout.set(t));
        Ok(a[0].clone())
    }
    /// shutdown(2) the stream's socket in DIRECTION (:INPUT, :OUTPUT or
    /// :IO). Pending output is sent first unless ABORT, which discards
    /// buffered input and output. The stream stays open until CLOSE.
    fn SOCKET_STREAM_SHUTDOWN "COMM:SOCKET-STREAM-SHUTDOWN" "(socket-stream direction &key abort)" (ctx, a) {
        let s = socket_stream(ctx, &a[0])?;
        let (rd, wr) = match keyword_name(&a[1]).as_deref() {
            Some("INPUT") => (true, false),
            Some("OUTPUT") => (false, true),
            Some("IO") => (true, true),
            _ => return Err(cond::type_error(ctx, a[1].clone(), "(MEMBER :INPUT :OUTPUT :IO)")),
        };
        let abort = crate::builtins::flag(a, 2);
        let b = s.bytes().expect("socket streams are byte streams");
        if abort {
            b.clear_output();
            b.clear_input();
        } else if wr && s.is_open() {
            b.flush(ctx)?;
        }
        if let Some(core) = io_of(&s, |io| io.core()) {
            if let Err(e) = core.shutdown(rd, wr) {
                return Err(crate::net::conditions::signal(ctx, &e));
            }
        }
        Ok(Value::t())
    }
    /// The local address and port of a socket stream (NIL NIL if none).
    fn SOCKET_STREAM_ADDRESS "COMM:SOCKET-STREAM-ADDRESS" "(socket-stream)" [mv] (ctx, a) {
        let s = socket_stream(ctx, &a[0])?;
        let sa = io_of(&s, |io| io.core()).and_then(|c| c.local_addr());
        Ok(address_values(ctx, sa))
    }
    /// The peer address and port of a socket stream (NIL NIL if none).
    fn SOCKET_STREAM_PEER_ADDRESS "COMM:SOCKET-STREAM-PEER-ADDRESS" "(socket-stream)" [mv] (ctx, a) {
        let s = socket_stream(ctx, &a[0])?;
        let sa = io_of(&s, |io| io.core()).and_then(|c| c.peer_addr());
        Ok(address_values(ctx, sa))
    }
    /// The peer address and port of a connection (a socket stream).
    fn SOCKET_CONNECTION_PEER_ADDRESS "COMM:SOCKET-CONNECTION-PEER-ADDRESS" "(connection)" [mv] (ctx, a) {
        let sa = core_of(ctx, &a[0])?.and_then(|c| c.peer_addr());
        Ok(address_values(ctx, sa))
    }
    /// The local address and port of a socket handle (or stream).
    fn GET_SOCKET_ADDRESS "COMM:GET-SOCKET-ADDRESS" "(socket)" [mv] (ctx, a) {
        let sa = core_of(ctx, &a[0])?.and_then(|c| c.local_addr());
        Ok(address_values(ctx, sa))
    }
    /// The peer address and port of a socket handle (or stream).
    fn GET_SOCKET_PEER_ADDRESS "COMM:GET-SOCKET-PEER-ADDRESS" "(socket)" [mv] (ctx, a) {
        let sa = core_of(ctx, &a[0])?.and_then(|c| c.peer_addr());
        Ok(address_values(ctx, sa))
    }
    /// Wait until at least one of STREAMS has input (data, end of file,
    /// or closed) and return the ready ones in their order; NIL after
    /// TIMEOUT seconds (0 polls) or when WAIT-FUNCTION returns true.
    fn WAIT_FOR_INPUT_STREAMS "SYSTEM:WAIT-FOR-INPUT-STREAMS" "(streams &key wait-function wait-reason timeout)" (ctx, a) {
        let streams = crate::builtins::list_items(ctx, &a[0])?;
        let t = seconds_of(ctx, opt(a, 3))?;
        let wf = opt(a, 1).filter(|v| v.truthy()).cloned();
        wait_for_input(ctx, &streams, wf.as_ref(), t, false)
    }
    /// Like WAIT-FOR-INPUT-STREAMS, but return the first ready stream.
    fn WAIT_FOR_INPUT_STREAMS_RETURNING_FIRST "SYSTEM:WAIT-FOR-INPUT-STREAMS-RETURNING-FIRST" "(streams &key wait-function wait-reason timeout)" (ctx, a) {
        let streams = crate::builtins::list_items(ctx, &a[0])?;
        let t = seconds_of(ctx, opt(a, 3))?;
        let wf = opt(a, 1).filter(|v| v.truthy()).cloned();
        wait_for_input(ctx, &streams, wf.as_ref(), t, true)
    }
    /// Run BODY with STREAM "noticed", so input wakes PROCESS-WAIT tests
    /// that call LISTEN on it. netlisp re-checks such tests whenever
    /// input arrives anyway, so this is PROGN.
    macro WITH_NOTICED_SOCKET_STREAM "COMM:WITH-NOTICED-SOCKET-STREAM" "((stream) &body body)" (ctx, a) {
        let rest = crate::builtins::macros::need(ctx, &a[0], 1, "WITH-NOTICED-SOCKET-STREAM")?;
        Ok(crate::builtins::macros::progn(rest.rest()))
    }
    /// The errno of a COMM:SOCKET-ERROR, or NIL.
    fn SOCKET_ERROR_CODE "COMM:SOCKET-ERROR-CODE" "(condition)" (ctx, a) {
        Ok(crate::net::conditions::slot(&a[0], "CODE"))
    }
    /// The stream of a COMM:SOCKET-ERROR, or NIL.
    fn SOCKET_ERROR_CONNECTION "COMM:SOCKET-ERROR-CONNECTION" "(condition)" (ctx, a) {
        Ok(crate::net::conditions::slot(&a[0], "CONNECTION"))
    }
    /// netlisp: the operation that failed (:CONNECT, :BIND, :READ, ...).
    fn SOCKET_ERROR_OPERATION "COMM:SOCKET-ERROR-OPERATION" "(condition)" (ctx, a) {
        Ok(crate::net::conditions::slot(&a[0], "OPERATION"))
    }
    /// netlisp: the host (text) a COMM:SOCKET-ERROR concerns, or NIL.
    fn SOCKET_ERROR_HOST "COMM:SOCKET-ERROR-HOST" "(condition)" (ctx, a) {
        Ok(crate::net::conditions::slot(&a[0], "HOST"))
    }
    /// netlisp: the port a COMM:SOCKET-ERROR concerns, or NIL.
    fn SOCKET_ERROR_PORT "COMM:SOCKET-ERROR-PORT" "(condition)" (ctx, a) {
        Ok(crate::net::conditions::slot(&a[0], "PORT"))
    }
}

/// The setf functions of this module.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    vec![
        ("COMM:SOCKET-STREAM-SOCKET", &SETF_SOCKET_STREAM_SOCKET),
        ("STREAM:STREAM-READ-TIMEOUT", &SETF_STREAM_READ_TIMEOUT),
        ("STREAM:STREAM-WRITE-TIMEOUT", &SETF_STREAM_WRITE_TIMEOUT),
    ]
}
