//! Seeing what a program has open: DESCRIBE of a socket stream, and
//! NETLISP:LIST-SOCKETS (also the REPL command `:sockets`) listing every
//! open socket and server with its addresses, state, traffic and owner.

use crate::net::registry;
use crate::net::socket::{Role, SocketCore};
use crate::value::{list_from, Value};
use crate::world::keyword;
use std::rc::Rc;

fn addr_text(a: Option<std::net::SocketAddr>) -> String {
    a.map_or("-".into(), |a| a.to_string())
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
    out.push_str(&format!("  Local address: {}\n", addr_text(c.local_addr())));
    if c.role == Role::Connection {
        out.push_str(&format!("  Peer address: {}\n", addr_text(c.peer)));
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
        (Role::Connection, true) => "handle",
        (Role::Connection, false) => "stream",
    };
    format!(
        "{:>5}  {:<8}  {:<22}  {:<22}  {:<16}  {:>10}  {:>10}  {}\n",
        c.fd,
        kind,
        addr_text(c.local_addr()),
        if c.role == Role::Listener {
            "-".into()
        } else {
            addr_text(c.peer)
        },
        state_text(c),
        c.stats.bytes_in.get(),
        c.stats.bytes_out.get(),
        c.owner
    )
}

fn socket_plist(c: &Rc<SocketCore>, handle: bool) -> Value {
    let s = |t: String| crate::array::Array::string(&t);
    list_from(vec![
        keyword("HANDLE"),
        Value::Fixnum(c.fd as i64),
        keyword("KIND"),
        keyword(match (c.role, handle) {
            (Role::Listener, _) => "LISTENER",
            (_, true) => "HANDLE",
            _ => "STREAM",
        }),
        keyword("LOCAL"),
        s(addr_text(c.local_addr())),
        keyword("PEER"),
        s(addr_text(c.peer)),
        keyword("STATE"),
        s(state_text(c).into()),
        keyword("BYTES-IN"),
        Value::int(c.stats.bytes_in.get() as i64),
        keyword("BYTES-OUT"),
        Value::int(c.stats.bytes_out.get() as i64),
        keyword("OWNER"),
        s(c.owner.clone()),
    ])
}

crate::defbuiltins! {
    /// Print a table of every open socket (handle, kind, local and peer
    /// address, state, bytes in and out, owning process) and every
    /// running server to STREAM (default *STANDARD-OUTPUT*); return the
    /// number of open sockets. NETLISP:SOCKETS returns the same as data.
    fn LIST_SOCKETS "NETLISP:LIST-SOCKETS" "(&optional stream)" (ctx, a) {
        let out = crate::builtins::out_stream(ctx, a, 0)?;
        let live = registry::live();
        let mut text = format!("{:>5}  {:<8}  {:<22}  {:<22}  {:<16}  {:>10}  {:>10}  {}\n", "fd", "kind", "local", "peer", "state", "bytes in", "bytes out", "process");
        for (c, h) in &live {
            text.push_str(&row(c, *h));
        }
        for srv in super::server::servers() {
            let p = srv.process.borrow().clone();
            let name = crate::foreign::get::<crate::mp::process::Process>(&p).map_or(String::new(), |p| p.name.borrow().clone());
            text.push_str(&format!("server {:?} on {}: {} connections accepted\n", name, addr_text(srv.listener.local_addr()), srv.accepted.get()));
        }
        crate::stream::write_str(ctx, &out, &text)?;
        Ok(Value::int(live.len() as i64))
    }
    /// Every open socket as a list of property lists (:HANDLE :KIND
    /// :LOCAL :PEER :STATE :BYTES-IN :BYTES-OUT :OWNER).
    fn SOCKETS "NETLISP:SOCKETS" "()" (ctx, a) {
        Ok(list_from(registry::live().iter().map(|(c, h)| socket_plist(c, *h))))
    }
    /// Close the socket with descriptor HANDLE, whoever holds it (a raw
    /// handle, a stream or a server's listener). T if it was open.
    fn CLOSE_SOCKET "NETLISP:CLOSE-SOCKET" "(handle)" (ctx, a) {
        let fd = crate::builtins::fixnum(ctx, &a[0])?;
        match i32::try_from(fd).ok().and_then(registry::get) {
            Some(c) => { c.close(false); Ok(Value::t()) }
            None => Ok(Value::Nil),
        }
    }
    /// Close a raw socket handle (LispWorks' internal COMM::CLOSE-SOCKET).
    fn COMM_CLOSE_SOCKET "COMM::CLOSE-SOCKET" "(handle)" (ctx, a) {
        let fd = crate::builtins::fixnum(ctx, &a[0])?;
        match i32::try_from(fd).ok().and_then(registry::get) {
            Some(c) => { c.close(false); Ok(Value::t()) }
            None => Ok(Value::Nil),
        }
    }
}
