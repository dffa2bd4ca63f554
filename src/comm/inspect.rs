//! Seeing what a program has open: DESCRIBE of a socket stream, and
//! NETLISP:LIST-SOCKETS (also the REPL command `:sockets`) listing every
//! open socket and server with its addresses, state, traffic and owner.

use crate::net::registry;
use crate::net::socket::{Role, SocketCore};
use crate::value::{list_from, Value};
use crate::world::keyword;
use std::rc::Rc;

fn addr_text(a: Option<String>) -> String {
    a.unwrap_or_else(|| "-".into())
}

fn state_text(c: &SocketCore) -> &'static str {
    if !c.is_open() {
        return "closed";
    }
    match (c.role, c.read_closed.get(), c.write_closed.get()) {
        (Role::Listener, _, _) => "listening",
        (_, false, false) => "open",
        (_, true, false) => "input shut down",
        (_, false, true) => "output shut down",
        (_, true, true) => "shut down",
    }
}

/// The facts DESCRIBE shows for a socket, one per line.
pub fn describe_socket(
    c: &SocketCore,
    read_timeout: Option<f64>,
    write_timeout: Option<f64>,
) -> String {
    let t = |x: Option<f64>| x.map_or("none".to_string(), |s| format!("{} s", s));
    let mut out = String::new();
    out.push_str(&format!("  Handle: {}\n", c.fd));
    out.push_str(&format!("  Protocol: {}\n", c.protocol_text()));
    out.push_str(&format!("  Local address: {}\n", addr_text(c.local_text())));
    if c.role != Role::Listener {
        out.push_str(&format!("  Peer address: {}\n", addr_text(c.peer_text())));
    }
    out.push_str(&format!("  State: {}\n", state_text(c)));
    out.push_str(&format!(
        "  Received: {} bytes in {} reads\n  Sent: {} bytes in {} writes\n",
        c.stats.bytes_in.get(),
        c.stats.reads.get(),
        c.stats.bytes_out.get(),
        c.stats.writes.get()
    ));
    out.push_str(&format!(
        "  Timeouts: read {}, write {}\n",
        t(read_timeout),
        t(write_timeout)
    ));
    out.push_str(&format!(
        "  Created by process: {:?}, {:.1} s ago\n",
        c.owner,
        c.created.elapsed().as_secs_f64()
    ));
    out
}

/// DESCRIBE text for a socket stream, or None for other objects.
pub fn describe(v: &Value) -> Option<String> {
    let Value::Stream(s) = v else { return None };
    crate::net::stream::with_socket_io(s, |io| {
        let head = format!(
            "{}\n  [socket stream, {}]\n",
            crate::printer::prin1_string(v),
            if s.is_open() { "open" } else { "closed" }
        );
        match io.core() {
            Some(c) => head + &describe_socket(&c, io.read_timeout.get(), io.write_timeout.get()),
            None => head + "  No socket.\n",
        }
    })
}

fn row(c: &Rc<SocketCore>, handle: bool) -> String {
    let kind = match (c.role, handle) {
        (Role::Listener, _) => "listener",
        (_, true) => "handle",
        (_, false) => "stream",
    };
    format!(
        "{:>5}  {:<8}  {:<11}  {:<22}  {:<22}  {:<16}  {:>10}  {:>10}  {}\n",
        c.fd,
        kind,
        c.protocol_text(),
        addr_text(c.local_text()),
        if c.role == Role::Listener {
            "-".into()
        } else {
            addr_text(c.peer_text())
        },
        state_text(c),
        c.stats.bytes_in.get(),
        c.stats.bytes_out.get(),
        c.owner
    )
}

fn socket_plist(c: &Rc<SocketCore>, handle: bool) -> Value {
    let s = |t: &str| crate::array::Array::string(t);
    let ip = |a: Option<std::net::SocketAddr>| a.map_or(Value::Nil, |a| s(&a.ip().to_string()));
    let port =
        |a: Option<std::net::SocketAddr>| a.map_or(Value::Nil, |a| Value::int(a.port() as i64));
    let unix = c.family == crate::net::socket::Family::Unix;
    let peer = if c.role == Role::Listener || unix {
        None
    } else {
        c.peer_addr()
    };
    let local = if unix { None } else { c.local_addr() };
    let name = |t: Option<String>, sa: Option<std::net::SocketAddr>| match (unix, t) {
        (true, Some(t)) => s(&t),
        (true, None) => Value::Nil,
        (false, _) => ip(sa),
    };
    let peer_name = if c.role == Role::Listener {
        Value::Nil
    } else {
        name(c.peer_text(), peer)
    };
    let state = state_text(c).to_ascii_uppercase().replace(' ', "-");
    list_from(vec![
        keyword("HANDLE"),
        Value::Fixnum(c.fd as i64),
        keyword("KIND"),
        keyword(match (c.role, handle) {
            (Role::Listener, _) => "LISTENER",
            (_, true) => "HANDLE",
            _ => "STREAM",
        }),
        keyword("PROTOCOL"),
        keyword(&c.protocol_text().to_ascii_uppercase()),
        keyword("LOCAL-ADDRESS"),
        name(c.local_text(), local),
        keyword("LOCAL-PORT"),
        port(local),
        keyword("PEER-ADDRESS"),
        peer_name,
        keyword("PEER-PORT"),
        port(peer),
        keyword("STATE"),
        keyword(&state),
        keyword("BYTES-IN"),
        Value::int(c.stats.bytes_in.get() as i64),
        keyword("BYTES-OUT"),
        Value::int(c.stats.bytes_out.get() as i64),
        keyword("OWNER"),
        s(&c.owner),
    ])
}

/// Close the socket with descriptor `fd` wherever it is held.
fn close_handle(ctx: &mut crate::ctx::Ctx, fd: &Value) -> crate::ctx::R<Value> {
    let fd = crate::builtins::fixnum(ctx, fd)?;
    Ok(match i32::try_from(fd).ok().and_then(registry::get) {
        Some(c) => {
            c.close(false);
            Value::t()
        }
        None => Value::Nil,
    })
}

crate::defbuiltins! {
    /// Print a table of every open socket (handle, kind, local and peer
    /// address, state, bytes in and out, owning process) and every
    /// running server to STREAM (default *STANDARD-OUTPUT*); return the
    /// number of open sockets. NETLISP:SOCKETS returns the same as data.
    fn LIST_SOCKETS "NETLISP:LIST-SOCKETS" "(&optional stream)" (ctx, a) {
        let out = crate::builtins::out_stream(ctx, a, 0)?;
        let live = registry::live();
        let mut text = format!("{:>5}  {:<8}  {:<11}  {:<22}  {:<22}  {:<16}  {:>10}  {:>10}  {}\n", "fd", "kind", "protocol", "local", "peer", "state", "bytes in", "bytes out", "process");
        for (c, h) in &live {
            text.push_str(&row(c, *h));
        }
        for srv in super::server::servers() {
            let p = srv.process.borrow().clone();
            let name = crate::foreign::get::<crate::mp::process::Process>(&p).map_or(String::new(), |p| p.name.borrow().clone());
            text.push_str(&format!("server {:?} on {}: {} connections accepted\n", name, addr_text(srv.listener.local_text()), srv.accepted.get()));
        }
        crate::stream::write_str(ctx, &out, &text)?;
        Ok(Value::int(live.len() as i64))
    }
    /// Every open socket as a list of property lists: :HANDLE, :KIND
    /// (:LISTENER, :STREAM or :HANDLE), :LOCAL-ADDRESS and :PEER-ADDRESS
    /// (strings, NIL when there is none), :LOCAL-PORT, :PEER-PORT, :STATE
    /// (:OPEN, :LISTENING, :INPUT-SHUT-DOWN, ...), :BYTES-IN, :BYTES-OUT
    /// and :OWNER (the creating process's name).
    fn SOCKETS "NETLISP:SOCKETS" "()" (ctx, a) {
        Ok(list_from(registry::live().iter().map(|(c, h)| socket_plist(c, *h))))
    }
    /// Close the socket with descriptor HANDLE, whoever holds it (a raw
    /// handle, a stream or a server's listener). T if it was open.
    fn CLOSE_SOCKET "NETLISP:CLOSE-SOCKET" "(handle)" (ctx, a) { close_handle(ctx, &a[0]) }
    /// Close a raw socket handle (LispWorks' internal COMM::CLOSE-SOCKET).
    fn COMM_CLOSE_SOCKET "COMM::CLOSE-SOCKET" "(handle)" (ctx, a) { close_handle(ctx, &a[0]) }
}
