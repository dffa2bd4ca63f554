//! Serving: START-UP-SERVER binds and listens in the caller (so a port
//! in use is reported where the program asked for it), then a server
//! process accepts connections and calls the user's function with each
//! socket handle (or stream, with :CREATE-STREAM). SERVER-TERMINATE
//! stops it. With no :FUNCTION, each connection gets a Lisp listener.

use super::{fail, ip_value, opt_hostspec, resolve_spec, Ipv6Choice};
use crate::builtins::{flag, opt, opt_nil};
use crate::conditions as cond;
use crate::ctx::{Ctx, Exit, R};
use crate::function::Function;
use crate::gc::Gc;
use crate::net::addr::IpAddress;
use crate::net::error::{Fault, NetError, Op};
use crate::net::registry;
use crate::net::socket::SocketCore;
use crate::net::tcp::{self, ListenOptions};
use crate::value::Value;
use std::cell::{Cell, RefCell};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;

/// A running server.
pub struct Server {
    /// The listening socket.
    pub listener: Rc<SocketCore>,
    /// The server's process (set once it is spawned).
    pub process: RefCell<Value>,
    /// Asked to stop.
    pub terminate: Cell<bool>,
    /// Still accepting.
    pub alive: Cell<bool>,
    /// The announce function has run (for :WAIT T).
    pub started: Cell<bool>,
    /// Connections accepted.
    pub accepted: Cell<u64>,
}

thread_local! {
    static SERVERS: RefCell<Vec<Rc<Server>>> = const { RefCell::new(Vec::new()) };
    /// Servers whose function or announce callback is running, innermost
    /// last (SERVER-TERMINATE with no argument stops the innermost).
    static ACTIVE: RefCell<Vec<Rc<Server>>> = const { RefCell::new(Vec::new()) };
}

/// Every running server.
pub fn servers() -> Vec<Rc<Server>> {
    SERVERS.with(|s| s.borrow().clone())
}

struct ServerObj(Rc<Server>);

impl crate::foreign::ForeignObj for ServerObj {
    fn type_name(&self) -> &'static str {
        "COMM::SERVER"
    }
    fn holds_values(&self) -> bool {
        false
    }
}

fn announce_kind(v: &Value) -> Announce {
    match v {
        Value::Nil => Announce::None,
        Value::Function(_) => Announce::Function,
        Value::Symbol(s) if Gc::ptr_eq(s, &crate::world::w().s.t) => Announce::Stream,
        Value::Symbol(_) => Announce::Function,
        Value::Stream(_) => Announce::Stream,
        _ => Announce::None,
    }
}

#[derive(PartialEq, Eq)]
enum Announce {
    None,
    Stream,
    Function,
}

/// The address to listen on.
fn listen_address(
    ctx: &mut Ctx,
    a: &[Value],
    ipv6: Ipv6Choice,
    port: u16,
    loopback_default: bool,
) -> R<Result<SocketAddr, NetError>> {
    let host = match opt_hostspec(ctx, a, 5)? {
        Some(h) => Some(h),
        None => opt_hostspec(ctx, a, 4)?,
    };
    let ip: IpAddr = match host {
        Some(h) => match resolve_spec(ctx, &h, ipv6.family(), None)? {
            Ok(addrs) => match addrs.first() {
                Some(a) => return Ok(Ok(a.with_port(port))),
                None => {
                    return Ok(Err(NetError::new(
                        Fault::HostNotFound,
                        Op::Bind,
                        "no address",
                    )
                    .at(h.text(), Some(port))))
                }
            },
            Err(e) => return Ok(Err(NetError { op: Op::Bind, ..e }.at(h.text(), Some(port)))),
        },
        None => match (ipv6, loopback_default) {
            (Ipv6Choice::Yes | Ipv6Choice::Both, true) => Ipv6Addr::LOCALHOST.into(),
            (Ipv6Choice::Yes | Ipv6Choice::Both, false) => Ipv6Addr::UNSPECIFIED.into(),
            (_, true) => Ipv4Addr::LOCALHOST.into(),
            (_, false) => Ipv4Addr::UNSPECIFIED.into(),
        },
    };
    Ok(Ok(SocketAddr::new(ip, port)))
}

/// Print the announcement for a stream (or T) :ANNOUNCE.
fn announce_text(ctx: &mut Ctx, dest: &Value, name: &str, addr: Option<String>) -> R<()> {
    let s = crate::stream::output_designator(ctx, dest)?;
    let at = addr.unwrap_or_else(|| "?".to_string());
    crate::stream::write_str(ctx, &s, &format!("Started server {:?} on {}\n", name, at))?;
    crate::stream::force_output(ctx, &s)
}

fn set_accepted_options(core: &SocketCore, nodelay: bool, keepalive: bool) {
    let _ = core.with(Op::Option, |s| {
        if nodelay {
            s.set_tcp_nodelay(true)?;
        }
        if keepalive {
            s.set_keepalive(true)?;
        }
        Ok(())
    });
}

/// The body of a server process.
fn serve(ctx: &mut Ctx, srv: &Rc<Server>, a: &[Value]) -> R<()> {
    let (function, announce, create_stream, nodelay, keepalive) = (
        a[1].clone(),
        a[2].clone(),
        a[3].truthy(),
        a[4].truthy(),
        a[5].truthy(),
    );
    let name = crate::mp::current_process_name();
    match announce_kind(&announce) {
        Announce::Function => {
            let h = Value::Fixnum(srv.listener.fd as i64);
            with_active(srv, || crate::eval::apply(ctx, &announce, &[h, Value::Nil]))?;
        }
        Announce::Stream => announce_text(ctx, &announce, &name, srv.listener.local_text())?,
        Announce::None => {}
    }
    srv.started.set(true);
    let stream_opts = super::streams::stream_options(ctx, None, None, None, None, None)?;
    while !srv.terminate.get() {
        let core = match tcp::accept(ctx, &srv.listener, None)? {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) if e.fault == Fault::NoResources => {
                // Out of descriptors: wait for some to be closed rather
                // than spin or stop serving.
                crate::mp::scheduler::sleep(ctx, 0.05)?;
                continue;
            }
            Err(_) if srv.terminate.get() => break,
            Err(e) => return Err(crate::net::conditions::signal(ctx, &e)),
        };
        srv.accepted.set(srv.accepted.get() + 1);
        set_accepted_options(&core, nodelay, keepalive);
        if function.is_nil() {
            let s = super::streams::stream_of_core(core, &stream_opts, false);
            let listener = Function::builtin(&LISTENER);
            crate::mp::builtins::run_function(
                ctx,
                "Lisp listener".into(),
                &Value::Nil,
                listener,
                vec![s],
            )?;
            continue;
        }
        let arg = if create_stream {
            super::streams::stream_of_core(core, &stream_opts, false)
        } else {
            Value::Fixnum(registry::adopt(core).fd as i64)
        };
        call_server_function(ctx, srv, &name, &function, arg)?;
    }
    Ok(())
}

/// Call the server's function with one connection. An error it does not
/// handle is reported on *ERROR-OUTPUT* and the server keeps accepting:
/// one bad connection must not stop a server that runs for days.
fn call_server_function(
    ctx: &mut Ctx,
    srv: &Rc<Server>,
    name: &str,
    function: &Value,
    arg: Value,
) -> R<()> {
    let errsym = Value::Symbol(crate::world::cl_sym("ERROR"));
    let outcome = with_active(srv, || {
        cond::handler_case(ctx, errsym, |ctx| crate::eval::apply(ctx, function, &[arg]))
    })?;
    if let Err(c) = outcome {
        let text = cond::report_string(ctx, &c)?;
        report_error_text(ctx, name, &text)?;
    }
    Ok(())
}

/// Announce a server that has started on handle `fd`: a function
/// :ANNOUNCE is called with the handle and NIL, a stream (or T) gets a
/// line naming the server and its address.
pub fn announce(
    ctx: &mut Ctx,
    announce: &Value,
    name: &str,
    fd: i32,
    local: Option<String>,
) -> R<()> {
    match announce_kind(announce) {
        Announce::Function => {
            crate::eval::apply(ctx, announce, &[Value::Fixnum(fd as i64), Value::Nil])?;
        }
        Announce::Stream => announce_text(ctx, announce, name, local)?,
        Announce::None => {}
    }
    Ok(())
}

/// Report an error of server `name`'s function on *ERROR-OUTPUT* (or
/// the process's stderr when that fails).
pub fn report_error_text(ctx: &mut Ctx, name: &str, text: &str) -> R<()> {
    report_error(ctx, &format!("the function of server {:?}", name), text)
}

/// Report "Error in WHERE: TEXT" on *ERROR-OUTPUT* (or the process's
/// stderr when that fails): an error a long-running loop survives.
pub fn report_error(ctx: &mut Ctx, place: &str, text: &str) -> R<()> {
    let msg = format!("Error in {}: {}\n", place, text);
    let written = match crate::world::w().s.error_output.value() {
        Value::Stream(s) => {
            crate::stream::write_str(ctx, &s, &msg).is_ok()
                && crate::stream::force_output(ctx, &s).is_ok()
        }
        _ => false,
    };
    if !written {
        eprint!("{}", msg);
    }
    Ok(())
}

fn with_active<T>(srv: &Rc<Server>, f: impl FnOnce() -> R<T>) -> R<T> {
    ACTIVE.with(|s| s.borrow_mut().push(srv.clone()));
    let r = f();
    ACTIVE.with(|s| {
        let mut s = s.borrow_mut();
        if let Some(i) = s.iter().rposition(|x| Rc::ptr_eq(x, srv)) {
            s.remove(i);
        }
    });
    r
}

/// Stop the server: no more accepts, the listener closed.
fn finish(ctx: &mut Ctx, srv: &Rc<Server>, announce: &Value) {
    srv.alive.set(false);
    srv.listener.close(false);
    SERVERS.with(|s| s.borrow_mut().retain(|x| !Rc::ptr_eq(x, srv)));
    if announce_kind(announce) == Announce::Function {
        let _ = crate::eval::apply(ctx, announce, &[Value::Nil, Value::Nil]);
    }
}

/// The Lisp listener served on a connection when START-UP-SERVER has no
/// :FUNCTION: read a form, evaluate it with the standard streams bound
/// to the connection, print the values; errors are reported and the
/// listener goes on.
fn listener(ctx: &mut Ctx, stream: &Value) -> R<()> {
    let Value::Stream(s) = stream else {
        return Ok(());
    };
    let wd = crate::world::w();
    let mark = ctx.dyn_binds.len();
    for sym in [
        &wd.s.standard_output,
        &wd.s.standard_input,
        &wd.s.terminal_io,
        &wd.s.error_output,
    ] {
        ctx.bind_special(sym, stream.clone());
    }
    let read = Value::Symbol(crate::world::cl_sym("READ"));
    let eval = Value::Symbol(crate::world::cl_sym("EVAL"));
    let r = (|| -> R<()> {
        loop {
            let pkg = crate::reader::current_package();
            crate::stream::write_str(
                ctx,
                s,
                &format!(
                    "{}> ",
                    pkg.nicknames()
                        .first()
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| pkg.name().to_string())
                ),
            )?;
            crate::stream::force_output(ctx, s)?;
            let eof = stream.clone();
            let errsym = Value::Symbol(crate::world::cl_sym("ERROR"));
            let outcome = cond::handler_case(ctx, errsym, |ctx| {
                let form =
                    crate::eval::apply(ctx, &read, &[stream.clone(), Value::Nil, eof.clone()])?;
                if form.eq(&eof) {
                    return Ok(eof.clone());
                }
                let v = crate::eval::apply(ctx, &eval, &[form])?;
                let vals = ctx.take_values(v);
                for v in &vals {
                    crate::stream::write_str(
                        ctx,
                        s,
                        &format!("{}\n", crate::printer::prin1_string(v)),
                    )?;
                }
                Ok(Value::Nil)
            })?;
            match outcome {
                Ok(v) if v.eq(&eof) => return Ok(()),
                Ok(_) => {}
                Err(c) => {
                    let text = cond::report_string(ctx, &c)?;
                    crate::stream::write_str(ctx, s, &format!("Error: {}\n", text))?;
                }
            }
        }
    })();
    ctx.unbind_to(mark);
    let _ = crate::stream::close(ctx, s, false);
    r
}

crate::defbuiltins! {
    /// Start a server: bind SERVICE (or LOCAL-PORT; NIL or 0 lets the OS
    /// choose) on ADDRESS (or LOCAL-ADDRESS; default all interfaces, or
    /// loopback for the built-in listener) with SO_REUSEADDR, listen with
    /// BACKLOG, and run a process that calls FUNCTION with each accepted
    /// socket handle (a socket stream with CREATE-STREAM). ANNOUNCE: a
    /// stream or T prints a line, a function is called with the listening
    /// handle and NIL on start, NIL and the condition on failure (when
    /// ERROR is NIL), NIL NIL when the server stops. Returns the process
    /// and NIL, or NIL and the condition. IPV6: NIL, T, :ANY or :BOTH.
    /// PATH (a netlisp extension) serves a Unix-domain stream socket at
    /// that path instead of TCP; MODE sets the socket file's permission
    /// bits, REMOVE-STALE removes a socket file nobody accepts on first,
    /// and the file is removed when the server stops.
    fn START_UP_SERVER "COMM:START-UP-SERVER" "(&key function announce service backlog address local-address local-port nodelay keepalive process-name wait create-stream ipv6 error reuseport path mode remove-stale)" [mv] (ctx, a) {
        start_up_server(ctx, a)
    }
    /// START-UP-SERVER (processes always run in netlisp).
    fn START_UP_SERVER_AND_MP "COMM:START-UP-SERVER-AND-MP" "(&key function announce service backlog address local-address local-port nodelay keepalive process-name wait create-stream ipv6 error reuseport path mode remove-stale)" [mv] (ctx, a) {
        start_up_server(ctx, a)
    }
    /// Stop the server PROCESS (from inside its function or announce
    /// callback when PROCESS is NIL: after the callback returns). Returns
    /// T if the server was still running, else NIL.
    fn SERVER_TERMINATE "COMM:SERVER-TERMINATE" "(&optional process)" (ctx, a) {
        let target = match opt(a, 0) {
            None | Some(Value::Nil) => ACTIVE.with(|s| s.borrow().last().cloned()),
            Some(p) => {
                let p = crate::mp::process_arg(ctx, p)?;
                servers().into_iter().find(|s| s.process.borrow().eq(&p))
            }
        };
        let Some(srv) = target else { return Ok(Value::Nil) };
        if !srv.alive.get() || srv.terminate.get() {
            return Ok(Value::bool(srv.alive.get() && !srv.terminate.get()));
        }
        srv.terminate.set(true);
        let p = srv.process.borrow().clone();
        let inside = ACTIVE.with(|s| s.borrow().iter().any(|x| Rc::ptr_eq(x, &srv)));
        if !inside && !p.eq(&crate::mp::sched().current()) {
            crate::mp::builtins::kill(ctx, &p)?;
        }
        Ok(Value::t())
    }
    /// The body of a server process (internal).
    fn SERVE "COMM::%SERVE" "(server function announce create-stream nodelay keepalive)" (ctx, a) {
        let Some(ServerObj(srv)) = crate::foreign::get::<ServerObj>(&a[0]) else {
            return Err(cond::type_error(ctx, a[0].clone(), "COMM::SERVER"));
        };
        let srv = srv.clone();
        let r = serve(ctx, &srv, a);
        finish(ctx, &srv, &a[2]);
        match r {
            Err(e) if e == Exit::KILL && srv.terminate.get() => Ok(Value::Nil),
            Err(e) => Err(e),
            Ok(()) => Ok(Value::Nil),
        }
    }
    /// A Lisp listener on a socket stream (internal).
    fn LISTENER "COMM::%LISTENER" "(stream)" (ctx, a) {
        listener(ctx, &a[0])?;
        Ok(Value::Nil)
    }
}

fn start_up_server(ctx: &mut Ctx, a: &[Value]) -> R {
    let function = opt_nil(a, 0);
    let announce = opt_nil(a, 1);
    let kind = announce_kind(&announce);
    let wait = flag(a, 10);
    let errorp = match opt(a, 13) {
        Some(v) => v.truthy(),
        None => !(kind == Announce::Function || wait),
    };
    let service_arg = match opt(a, 2) {
        Some(v) if v.truthy() => v.clone(),
        _ => opt_nil(a, 6),
    };
    let ipv6 = super::ipv6_choice(ctx, a, 12, true)?;
    let backlog = super::backlog(ctx, opt(a, 3))?;
    let function = match &function {
        Value::Nil => Value::Nil,
        f => crate::builtins::function(ctx, f)?,
    };
    let failed = |ctx: &mut Ctx, e: NetError| -> R {
        if !errorp && kind == Announce::Function {
            let c = crate::net::conditions::condition(&e, Value::Nil);
            crate::eval::apply(ctx, &announce, &[Value::Nil, c.clone()])?;
            return Ok(ctx.values2(Value::Nil, c));
        }
        fail(ctx, errorp, &e)
    };
    if let Some(p) = opt(a, 15).filter(|p| p.truthy()) {
        let path = super::unix::socket_name(ctx, p)?;
        let bind = super::unix::bind_options(ctx, opt(a, 17), opt(a, 16))?;
        let core = match crate::net::unix::listen(&path, backlog, &bind) {
            Ok(c) => registry::adopt(c),
            Err(e) => return failed(ctx, e),
        };
        let name = match opt(a, 9) {
            Some(v) if v.truthy() => crate::builtins::string_designator(ctx, v)?,
            _ => format!("{} server", path.replace('\0', "@")),
        };
        return spawn_server(ctx, a, core, name, function, announce, wait);
    }
    let port = match &service_arg {
        Value::Nil => 0,
        v => match super::service(ctx, v, "tcp")? {
            Ok(p) => p,
            Err(e) => return failed(ctx, NetError { op: Op::Bind, ..e }),
        },
    };
    let addr = match listen_address(ctx, a, ipv6, port, function.is_nil())? {
        Ok(sa) => sa,
        Err(e) => return failed(ctx, e),
    };
    let opts = ListenOptions {
        backlog,
        reuseport: flag(a, 14),
        v6only: ipv6.v6only(),
        ..ListenOptions::default()
    };
    let core = match tcp::listen(&addr, &opts) {
        Ok(c) => registry::adopt(c),
        Err(e) => return failed(ctx, e),
    };
    let name = match opt(a, 9) {
        Some(v) if v.truthy() => crate::builtins::string_designator(ctx, v)?,
        _ => match &service_arg {
            Value::Nil => format!("{} server", core.local_addr().map_or(0, |a| a.port())),
            v => format!("{} server", crate::printer::prin1_string(v)),
        },
    };
    spawn_server(ctx, a, core, name, function, announce, wait)
}

/// Record the server and start its process.
fn spawn_server(
    ctx: &mut Ctx,
    a: &[Value],
    core: Rc<SocketCore>,
    name: String,
    function: Value,
    announce: Value,
    wait: bool,
) -> R {
    let srv = Rc::new(Server {
        listener: core,
        process: RefCell::new(Value::Nil),
        terminate: Cell::new(false),
        alive: Cell::new(true),
        started: Cell::new(false),
        accepted: Cell::new(0),
    });
    SERVERS.with(|s| s.borrow_mut().push(srv.clone()));
    let args = vec![
        crate::foreign::make(ServerObj(srv.clone())),
        function,
        announce,
        Value::bool(flag(a, 11)),
        Value::bool(match opt(a, 7) {
            None => true,
            Some(v) => v.truthy(),
        }),
        Value::bool(flag(a, 8)),
    ];
    let p =
        crate::mp::builtins::run_function(ctx, name, &Value::Nil, Function::builtin(&SERVE), args)?;
    *srv.process.borrow_mut() = p.clone();
    if wait {
        while !srv.started.get() && srv.alive.get() {
            crate::mp::scheduler::yield_now(ctx)?;
        }
    }
    Ok(ctx.values2(p, Value::Nil))
}

/// The address a server listens on, as COMM values (for inspection).
pub fn listen_value(srv: &Server) -> Value {
    match srv.listener.local_addr() {
        Some(a) => ip_value(&IpAddress::of_socket_addr(&a)),
        None => Value::Nil,
    }
}
