//! LispWorks asynchronous I/O: wait-state collections, async-io-states
//! and their callback-driven operations, on the one event loop. A
//! collection is driven by one Lisp process that parks in a multiplexed
//! wait (`mp::scheduler::wait_io`) until a state's socket is ready, an
//! operation's timeout passes, or another process hands it a function;
//! every callback runs in that process. See docs/comm.md.

use super::udp::{message_range, sender_address, store_bytes_at};
use super::{fail, hostspec, opt_hostspec, resolve_spec, seconds, Ipv6Choice};
use crate::builtins::{flag, opt, opt_nil};
use crate::clos::{Class, ClassKind};
use crate::conditions as cond;
use crate::ctx::{Ctx, Exit, R};
use crate::gc::Gc;
use crate::mp::scheduler::{IoWait, WatchSink};
use crate::net::error::{Fault, NetError, Op};
use crate::net::registry;
use crate::net::socket::{Role, SocketCore};
use crate::net::{tcp, udp};
use crate::value::Value;
use crate::world::{intern_exported, keyword};
use socket2::SockAddr;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::os::fd::RawFd;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

thread_local! {
    /// WAIT-STATE-COLLECTION, ASYNC-IO-STATE, ACCEPTING-HANDLE.
    static CLASSES: RefCell<Option<[Gc<Class>; 3]>> = const { RefCell::new(None) };
}

/// Define the async I/O classes.
pub fn install() {
    let comm = super::package();
    let def = |n: &str| {
        crate::clos::define_builtin_class(intern_exported(n, &comm), &["T"], ClassKind::BuiltIn)
    };
    let c = [
        def("WAIT-STATE-COLLECTION"),
        def("ASYNC-IO-STATE"),
        def("ACCEPTING-HANDLE"),
    ];
    CLASSES.with(|x| *x.borrow_mut() = Some(c));
}

fn class(i: usize) -> Option<Gc<Class>> {
    CLASSES.with(|c| c.borrow().as_ref().map(|c| c[i].clone()))
}

/// The most bytes one READ-WITH-CHECKING round reads by default.
const DEFAULT_MAX_READ: usize = 64 * 1024;

// ---------------------------------------------------------------------
// Collections

/// A wait-state collection: states, listening handles, queued calls.
pub struct Collection {
    name: String,
    /// The collection's Lisp object (for callbacks and accessors).
    me: RefCell<Value>,
    states: RefCell<HashMap<RawFd, Rc<State>>>,
    accepting: RefCell<Vec<Rc<Accepting>>>,
    /// Functions (and arguments) to run in the collection's process.
    queue: RefCell<VecDeque<(Value, Vec<Value>)>>,
    /// States with something to look at in the next call: just started
    /// operations and descriptors found ready.
    ready: RefCell<Vec<RawFd>>,
    /// The standing registration of every state's and listener's socket.
    sink: Rc<WatchSink>,
    /// The process running LOOP-PROCESSING-WAIT-STATE-COLLECTION.
    looping: RefCell<Value>,
    stop: Cell<bool>,
    closed: Cell<bool>,
    /// What an error in a callback does: NIL (not handled), T or :ABORT
    /// (reported, the loop goes on) or a function of the condition.
    handler: RefCell<Value>,
}

struct CollObj(Rc<Collection>);

impl crate::foreign::ForeignObj for CollObj {
    fn type_name(&self) -> &'static str {
        "COMM:WAIT-STATE-COLLECTION"
    }
    fn describe(&self) -> String {
        let c = &self.0;
        format!(
            "{:?} {} states{}",
            c.name,
            c.states.borrow().len(),
            if c.closed.get() { " (closed)" } else { "" }
        )
    }
    fn class(&self) -> Option<Gc<Class>> {
        class(0)
    }
    fn holds_values(&self) -> bool {
        false
    }
}

fn new_collection(name: String, handler: Value) -> Rc<Collection> {
    let c = Rc::new(Collection {
        name,
        me: RefCell::new(Value::Nil),
        states: RefCell::new(HashMap::new()),
        accepting: RefCell::new(Vec::new()),
        queue: RefCell::new(VecDeque::new()),
        ready: RefCell::new(Vec::new()),
        sink: Rc::new(WatchSink::default()),
        looping: RefCell::new(Value::Nil),
        stop: Cell::new(false),
        closed: Cell::new(false),
        handler: RefCell::new(handler),
    });
    *c.me.borrow_mut() = crate::foreign::make(CollObj(c.clone()));
    c
}

fn collection_arg(ctx: &mut Ctx, v: &Value) -> R<Rc<Collection>> {
    match crate::foreign::get::<CollObj>(v) {
        Some(c) => Ok(c.0.clone()),
        None => Err(cond::type_error(
            ctx,
            v.clone(),
            "COMM:WAIT-STATE-COLLECTION",
        )),
    }
}

impl Collection {
    /// Wake the process waiting on the collection, if any.
    fn poke(&self) {
        let w = self.sink.waiter.borrow().clone();
        if let Some((p, t)) = w {
            crate::mp::scheduler::signal(&p, t);
        }
    }

    fn add_state(&self, s: &Rc<State>) {
        crate::mp::sched().watch_fd(s.fd, &self.sink, false);
        self.states.borrow_mut().insert(s.fd, s.clone());
    }

    /// Mark a state as worth a look in the next call.
    fn mark(&self, fd: RawFd) {
        self.ready.borrow_mut().push(fd);
        self.poke();
    }

    /// The earliest operation deadline.
    fn next_deadline(&self) -> Option<Instant> {
        self.states
            .borrow()
            .values()
            .flat_map(|s| [s.read_deadline(), s.write_deadline()])
            .flatten()
            .min()
    }

    /// Close every state and listening handle.
    fn close(&self) {
        self.closed.set(true);
        let states: Vec<Rc<State>> = self.states.borrow_mut().drain().map(|(_, s)| s).collect();
        for s in states {
            s.close(false);
        }
        let acc: Vec<Rc<Accepting>> = std::mem::take(&mut *self.accepting.borrow_mut());
        for a in acc {
            a.close();
        }
        self.queue.borrow_mut().clear();
        self.stop.set(true);
        self.poke();
    }
}

/// Park until something in `c` needs attention (or `timeout`): true if
/// there is work, false after the timeout.
fn wait_for(ctx: &mut Ctx, c: &Rc<Collection>, timeout: Option<f64>) -> R<bool> {
    let limit = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)));
    loop {
        if c.stop.get() || c.closed.get() {
            return Ok(true);
        }
        if !c.queue.borrow().is_empty() || !c.ready.borrow().is_empty() {
            return Ok(true);
        }
        let now = Instant::now();
        let deadline = match (c.next_deadline(), limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if c.next_deadline().is_some_and(|d| d <= now) {
            return Ok(true);
        }
        // Writability is watched only while a write waits for room.
        for st in c.states.borrow().values() {
            let want = st.wants_writable();
            if want != st.watch_write.get() {
                st.watch_write.set(want);
                crate::mp::sched().watch_fd(st.fd, &c.sink, want);
            }
        }
        let r = crate::mp::scheduler::wait_watched(ctx, &c.sink, deadline)?;
        let fds = std::mem::take(&mut *c.sink.ready.borrow_mut());
        c.ready.borrow_mut().extend(fds);
        match r {
            IoWait::Ready => return Ok(true),
            IoWait::Signalled => {}
            IoWait::Timeout => return Ok(limit.is_none_or(|l| Instant::now() < l)),
        }
    }
}

/// Run what is ready: queued functions, then the states and listening
/// handles marked ready, then operations whose timeout passed.
fn call(ctx: &mut Ctx, c: &Rc<Collection>) -> R<()> {
    loop {
        let next = c.queue.borrow_mut().pop_front();
        let Some((f, args)) = next else { break };
        guarded(ctx, c, |ctx| crate::eval::apply(ctx, &f, &args).map(|_| ()))?;
    }
    let mut fds = std::mem::take(&mut *c.ready.borrow_mut());
    fds.sort_unstable();
    fds.dedup();
    let accepting: Vec<Rc<Accepting>> = c.accepting.borrow().clone();
    for a in accepting {
        let lfd = a.listener.borrow().as_ref().map(|l| l.fd);
        if let Some(l) = lfd.filter(|l| fds.contains(l)) {
            accept_ready(ctx, c, &a)?;
            fds.retain(|x| *x != l);
        }
    }
    let now = Instant::now();
    let expired: Vec<RawFd> = c
        .states
        .borrow()
        .values()
        .filter(|s| {
            s.read_deadline().is_some_and(|d| d <= now)
                || s.write_deadline().is_some_and(|d| d <= now)
        })
        .map(|s| s.fd)
        .collect();
    fds.extend(expired);
    fds.sort_unstable();
    fds.dedup();
    for fd in fds {
        let s = c.states.borrow().get(&fd).cloned();
        if let Some(s) = s {
            progress(ctx, c, &s)?;
        }
    }
    Ok(())
}

/// Run `f` under the collection's error policy.
fn guarded(ctx: &mut Ctx, c: &Collection, f: impl FnOnce(&mut Ctx) -> R<()>) -> R<()> {
    let handler = c.handler.borrow().clone();
    if handler.is_nil() {
        return f(ctx);
    }
    let errsym = Value::Symbol(crate::world::cl_sym("ERROR"));
    let outcome = cond::handler_case(ctx, errsym, |ctx| f(ctx).map(|()| Value::Nil))?;
    if let Err(condition) = outcome {
        match &handler {
            Value::Function(_) => {
                crate::eval::apply(ctx, &handler, &[condition])?;
            }
            Value::Symbol(s)
                if !s.home_is(&crate::world::w().keyword) && !handler.eq(&Value::t()) =>
            {
                crate::eval::apply(ctx, &handler, &[condition])?;
            }
            _ => {
                let text = cond::report_string(ctx, &condition)?;
                super::server::report_error(
                    ctx,
                    &format!("a callback of wait-state collection {:?}", c.name),
                    &text,
                )?;
            }
        }
    }
    Ok(())
}

/// The loop: wait, call, until stopped.
fn loop_processing(ctx: &mut Ctx, c: &Rc<Collection>) -> R<()> {
    let me = crate::mp::sched().current();
    if c.looping.borrow().truthy() && !c.looping.borrow().eq(&me) {
        return Err(cond::simple_error(
            ctx,
            format!(
                "the wait-state collection {:?} already has a loop running",
                c.name
            ),
        ));
    }
    *c.looping.borrow_mut() = me;
    c.stop.set(false);
    let r = (|| {
        while !c.stop.get() && !c.closed.get() {
            wait_for(ctx, c, None)?;
            if c.stop.get() || c.closed.get() {
                break;
            }
            call(ctx, c)?;
        }
        Ok(())
    })();
    *c.looping.borrow_mut() = Value::Nil;
    r
}

// ---------------------------------------------------------------------
// States

/// Where the bytes of a read operation go.
enum ReadOp {
    /// Fill BUFFER[start, end).
    Buffer {
        buffer: Value,
        start: usize,
        end: usize,
        filled: usize,
        callback: Value,
        error_callback: Value,
        deadline: Option<Instant>,
    },
    /// Read rounds into the internal buffer, calling back on new data.
    Checking {
        callback: Value,
        error_callback: Value,
        element: Element,
        timeout: Option<f64>,
        deadline: Option<Instant>,
    },
    /// One datagram into BUFFER[start, end).
    Receive {
        buffer: Value,
        start: usize,
        end: usize,
        callback: Value,
        error_callback: Value,
        needs_address: bool,
        deadline: Option<Instant>,
    },
    /// Call back once input is available.
    WaitInput {
        callback: Value,
        deadline: Option<Instant>,
    },
}

/// The element type of READ-WITH-CHECKING's buffer.
#[derive(Clone, Copy)]
enum Element {
    Char,
    Octet,
    Signed,
}

enum WriteOp {
    /// Send BUFFER[start, end) on a stream socket.
    Buffer {
        buffer: Value,
        bytes: Vec<u8>,
        written: usize,
        callback: Value,
        error_callback: Value,
        deadline: Option<Instant>,
    },
    /// One datagram.
    Send {
        bytes: Vec<u8>,
        to: Option<SockAddr>,
        callback: Value,
        error_callback: Value,
        deadline: Option<Instant>,
    },
    /// A TCP connect in progress.
    Connect {
        addr: std::net::SocketAddr,
        callback: Value,
        deadline: Option<Instant>,
    },
    /// The TLS handshake after a connect, before its callback.
    Handshake {
        addr: std::net::SocketAddr,
        callback: Value,
        deadline: Option<Instant>,
    },
}

/// An async-io-state.
pub struct State {
    fd: RawFd,
    core: Rc<SocketCore>,
    me: RefCell<Value>,
    collection: Weak<Collection>,
    object: RefCell<Value>,
    read_status: RefCell<Value>,
    write_status: RefCell<Value>,
    user_info: RefCell<Value>,
    read_timeout: Cell<Option<f64>>,
    write_timeout: Cell<Option<f64>>,
    max_read: Cell<usize>,
    old_length: Cell<usize>,
    name: RefCell<Value>,
    read_op: RefCell<Option<ReadOp>>,
    write_op: RefCell<Option<WriteOp>>,
    /// With :QUEUE-OUTPUT, writes started while one is pending wait here.
    queue_output: bool,
    write_queue: RefCell<VecDeque<WriteOp>>,
    /// Bytes read and not yet consumed.
    buffered: RefCell<Vec<u8>>,
    closed: Cell<bool>,
    /// Whether the collection watches the socket for writability.
    watch_write: Cell<bool>,
    /// The TLS layer of a state accepted with :SSL-CTX.
    tls: RefCell<Option<crate::net::tls::TlsLayer>>,
}

struct StateObj(Rc<State>);

impl crate::foreign::ForeignObj for StateObj {
    fn type_name(&self) -> &'static str {
        "COMM:ASYNC-IO-STATE"
    }
    fn describe(&self) -> String {
        let s = &self.0;
        let name = s.name.borrow().clone();
        let name = match &name {
            Value::Nil => String::new(),
            v => format!("{} ", crate::printer::princ_string(v)),
        };
        format!(
            "{}{}{}",
            name,
            crate::net::stream::describe_endpoints(&s.core),
            if s.closed.get() { " (closed)" } else { "" }
        )
    }
    fn class(&self) -> Option<Gc<Class>> {
        class(1)
    }
    fn holds_values(&self) -> bool {
        false
    }
}

impl State {
    fn read_deadline(&self) -> Option<Instant> {
        match &*self.read_op.borrow() {
            Some(
                ReadOp::Buffer { deadline, .. }
                | ReadOp::Checking { deadline, .. }
                | ReadOp::Receive { deadline, .. }
                | ReadOp::WaitInput { deadline, .. },
            ) => *deadline,
            None => None,
        }
    }
    fn write_deadline(&self) -> Option<Instant> {
        match &*self.write_op.borrow() {
            Some(
                WriteOp::Buffer { deadline, .. }
                | WriteOp::Send { deadline, .. }
                | WriteOp::Connect { deadline, .. }
                | WriteOp::Handshake { deadline, .. },
            ) => *deadline,
            None => None,
        }
    }
    fn value(&self) -> Value {
        self.me.borrow().clone()
    }
    /// Close: forget pending operations, leave the collection, and
    /// close the socket unless `keep_alive`.
    fn close(&self, keep_alive: bool) -> usize {
        let left = self.buffered.borrow().len();
        if self.closed.replace(true) {
            return left;
        }
        self.read_op.borrow_mut().take();
        self.write_op.borrow_mut().take();
        self.write_queue.borrow_mut().clear();
        crate::mp::sched().unwatch_fd(self.fd);
        if let Some(c) = self.collection.upgrade() {
            c.states.borrow_mut().remove(&self.fd);
        }
        if keep_alive {
            if matches!(&*self.object.borrow(), Value::Fixnum(_)) {
                registry::return_handle(self.core.clone());
            }
        } else {
            if let Some(t) = self.tls.borrow_mut().as_mut() {
                t.close_notify(&self.core);
            }
            self.core.close(false);
        }
        *self.me.borrow_mut() = Value::Nil;
        left
    }
}

fn state_arg(ctx: &mut Ctx, v: &Value) -> R<Rc<State>> {
    match crate::foreign::get::<StateObj>(v) {
        Some(s) => Ok(s.0.clone()),
        None => Err(cond::type_error(ctx, v.clone(), "COMM:ASYNC-IO-STATE")),
    }
}

fn open_state(ctx: &mut Ctx, s: &Rc<State>) -> R<()> {
    if s.closed.get() {
        return Err(cond::simple_error(
            ctx,
            "the async-io-state is closed".to_string(),
        ));
    }
    Ok(())
}

struct StateArgs {
    read_timeout: Option<f64>,
    write_timeout: Option<f64>,
    user_info: Value,
    name: Value,
    queue_output: bool,
}

fn make_state(c: &Rc<Collection>, core: Rc<SocketCore>, object: Value, a: StateArgs) -> Rc<State> {
    let s = Rc::new(State {
        fd: core.fd,
        core,
        me: RefCell::new(Value::Nil),
        collection: Rc::downgrade(c),
        object: RefCell::new(object),
        read_status: RefCell::new(Value::Nil),
        write_status: RefCell::new(Value::Nil),
        user_info: RefCell::new(a.user_info),
        read_timeout: Cell::new(a.read_timeout),
        write_timeout: Cell::new(a.write_timeout),
        max_read: Cell::new(DEFAULT_MAX_READ),
        old_length: Cell::new(0),
        name: RefCell::new(a.name),
        read_op: RefCell::new(None),
        write_op: RefCell::new(None),
        queue_output: a.queue_output,
        write_queue: RefCell::new(VecDeque::new()),
        buffered: RefCell::new(Vec::new()),
        closed: Cell::new(false),
        watch_write: Cell::new(false),
        tls: RefCell::new(None),
    });
    *s.me.borrow_mut() = crate::foreign::make(StateObj(s.clone()));
    c.add_state(&s);
    s
}

fn deadline(t: Option<f64>) -> Option<Instant> {
    udp::deadline_of(t)
}

/// A callback to make once borrows are released.
struct Call(Value, Vec<Value>);

fn run_calls(ctx: &mut Ctx, c: &Collection, calls: Vec<Call>) -> R<()> {
    for Call(f, args) in calls {
        if f.truthy() {
            guarded(ctx, c, |ctx| crate::eval::apply(ctx, &f, &args).map(|_| ()))?;
        }
    }
    Ok(())
}

/// The condition for a failed operation (the status value).
fn failure(e: &NetError, s: &State) -> Value {
    crate::net::conditions::condition(&super::udp::at_peer(&s.core, e.clone()), Value::Nil)
}

fn os_failure(op: Op, err: &std::io::Error, s: &State) -> Value {
    let handshake = s.tls.borrow().as_ref().is_some_and(|t| t.is_handshaking());
    match crate::net::tls::TlsFault::of(err) {
        Some(f) => failure(&f.net_error(if handshake { Op::Handshake } else { op }), s),
        None => failure(&NetError::os(op, err), s),
    }
}

impl State {
    /// Send bytes: through the TLS layer when there is one.
    fn send(&self, bytes: &[u8]) -> std::io::Result<Option<usize>> {
        match self.tls.borrow_mut().as_mut() {
            Some(t) => t.try_write(&self.core, bytes),
            None => self.core.try_send(bytes),
        }
    }

    /// Receive bytes: through the TLS layer when there is one.
    fn recv(&self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        match self.tls.borrow_mut().as_mut() {
            Some(t) => t.try_read(&self.core, buf),
            None => self.core.try_recv(buf),
        }
    }

    /// Whether the socket must be watched for writability: a write
    /// waits for room, or the TLS layer has records to send.
    fn wants_writable(&self) -> bool {
        self.write_op.borrow().is_some()
            || self
                .tls
                .borrow()
                .as_ref()
                .is_some_and(|t| t.has_output() || !t.waits_to_read())
    }
}

/// Move whatever is ready for `s`'s pending operations.
fn progress(ctx: &mut Ctx, c: &Rc<Collection>, s: &Rc<State>) -> R<()> {
    let mut calls = Vec::new();
    progress_write(ctx, s, &mut calls)?;
    // A finished write lets the next queued one start.
    while s.write_op.borrow().is_none() && !s.closed.get() {
        let next = s.write_queue.borrow_mut().pop_front();
        let Some(op) = next else { break };
        *s.write_op.borrow_mut() = Some(op);
        progress_write(ctx, s, &mut calls)?;
    }
    run_calls(ctx, c, std::mem::take(&mut calls))?;
    progress_read(ctx, c, s)?;
    Ok(())
}

/// Queue a connect's callback: (state NIL), or (state (message)) with the
/// condition in the write status.
fn connected(
    s: &State,
    me: Value,
    callback: Value,
    outcome: crate::net::NetResult<()>,
    calls: &mut Vec<Call>,
) {
    match outcome {
        Ok(()) => calls.push(Call(callback, vec![me, Value::Nil])),
        Err(e) => {
            let c = crate::net::conditions::condition(&e, Value::Nil);
            *s.write_status.borrow_mut() = c;
            let text =
                crate::array::Array::string(&crate::conditions::escape_tildes(&e.to_string()));
            calls.push(Call(
                callback,
                vec![me, crate::value::list_from(vec![text])],
            ));
        }
    }
}

fn progress_write(ctx: &mut Ctx, s: &Rc<State>, calls: &mut Vec<Call>) -> R<()> {
    let Some(op) = s.write_op.borrow_mut().take() else {
        return Ok(());
    };
    let now = Instant::now();
    let me = s.value();
    match op {
        WriteOp::Connect {
            addr,
            callback,
            deadline,
        } => {
            let outcome = tcp::finish_connect(&s.core, &addr);
            let done = outcome.is_err() || s.core.peer_addr().is_some();
            if !done && deadline.is_none_or(|d| d > now) {
                *s.write_op.borrow_mut() = Some(WriteOp::Connect {
                    addr,
                    callback,
                    deadline,
                });
                return Ok(());
            }
            let outcome = if done {
                outcome
            } else {
                Err(
                    NetError::new(Fault::TimedOut, Op::Connect, "connection timed out")
                        .at(addr.ip().to_string(), Some(addr.port())),
                )
            };
            if outcome.is_ok() && s.tls.borrow().is_some() {
                // Connected: the callback waits for the TLS handshake.
                let limit = s.tls.borrow().as_ref().and_then(|t| t.handshake_timeout);
                let deadline = limit.map(|t| now + Duration::from_secs_f64(t)).or(deadline);
                *s.write_op.borrow_mut() = Some(WriteOp::Handshake {
                    addr,
                    callback,
                    deadline,
                });
                return progress_write(ctx, s, calls);
            }
            connected(s, me, callback, outcome, calls);
        }
        WriteOp::Handshake {
            addr,
            callback,
            deadline,
        } => {
            let step = match s.tls.borrow_mut().as_mut() {
                Some(t) => t.try_handshake(&s.core),
                None => Ok(Some(true)),
            };
            let outcome = match step {
                Ok(Some(_)) => Ok(()),
                Ok(None) if deadline.is_none_or(|d| d > now) => {
                    *s.write_op.borrow_mut() = Some(WriteOp::Handshake {
                        addr,
                        callback,
                        deadline,
                    });
                    return Ok(());
                }
                Ok(None) => Err(NetError::new(
                    Fault::TlsHandshakeTimeout,
                    Op::Handshake,
                    "the TLS handshake did not finish in time",
                )),
                Err(e) => Err(match crate::net::tls::TlsFault::of(&e) {
                    Some(f) => f.net_error(Op::Handshake),
                    None => NetError::os(Op::Handshake, &e),
                }),
            };
            let outcome = outcome.map_err(|e| e.at(addr.ip().to_string(), Some(addr.port())));
            connected(s, me, callback, outcome, calls);
        }
        WriteOp::Buffer {
            buffer,
            bytes,
            mut written,
            callback,
            error_callback,
            deadline,
        } => {
            let mut err = None;
            while written < bytes.len() {
                match s.send(&bytes[written..]) {
                    Ok(Some(n)) => written += n,
                    Ok(None) => break,
                    Err(e) => {
                        err = Some(os_failure(Op::Write, &e, s));
                        break;
                    }
                }
            }
            let n = Value::int(written as i64);
            if let Some(e) = err {
                *s.write_status.borrow_mut() = e;
                let f = if error_callback.truthy() {
                    error_callback
                } else {
                    callback
                };
                calls.push(Call(f, vec![me, buffer, n]));
            } else if written == bytes.len() {
                calls.push(Call(callback, vec![me, buffer, n]));
            } else if deadline.is_some_and(|d| d <= now) {
                *s.write_status.borrow_mut() = keyword("TIMEOUT");
                calls.push(Call(callback, vec![me, buffer, n]));
            } else {
                *s.write_op.borrow_mut() = Some(WriteOp::Buffer {
                    buffer,
                    bytes,
                    written,
                    callback,
                    error_callback,
                    deadline,
                });
            }
        }
        WriteOp::Send {
            bytes,
            to,
            callback,
            error_callback,
            deadline,
        } => {
            let r = s.core.with(Op::Write, |sock| match &to {
                Some(a) => sock.send_to_with_flags(&bytes, a, libc::MSG_NOSIGNAL),
                None => sock.send_with_flags(&bytes, libc::MSG_NOSIGNAL),
            });
            match r {
                Ok(_) => calls.push(Call(callback, vec![me])),
                Err(e) if e.errno == Some(libc::EAGAIN) && deadline.is_none_or(|d| d > now) => {
                    *s.write_op.borrow_mut() = Some(WriteOp::Send {
                        bytes,
                        to,
                        callback,
                        error_callback,
                        deadline,
                    });
                }
                Err(e) => {
                    let status = if e.errno == Some(libc::EAGAIN) {
                        keyword("TIMEOUT")
                    } else {
                        failure(&e, s)
                    };
                    *s.write_status.borrow_mut() = status;
                    let f = if error_callback.truthy() {
                        error_callback
                    } else {
                        callback
                    };
                    calls.push(Call(f, vec![me]));
                }
            }
        }
    }
    let _ = ctx;
    Ok(())
}

/// Read what the socket has into the internal buffer (at most `max`).
/// Returns Ok(true) at end of file. Stopping at `max` rather than at
/// "would block" leaves the state marked ready: the watch reports a
/// descriptor once, not while data remains.
fn fill(s: &State, max: usize) -> std::io::Result<bool> {
    let r = fill_some(s, max);
    if let Ok((false, true)) = r {
        if let Some(c) = s.collection.upgrade() {
            c.ready.borrow_mut().push(s.fd);
        }
    }
    r.map(|(eof, _)| eof)
}

thread_local! {
    /// A receive chunk zeroed once and reused (a fresh 64 KiB buffer per
    /// read would cost more in memset than the read itself).
    static CHUNK: RefCell<Vec<u8>> = RefCell::new(vec![0u8; DEFAULT_MAX_READ]);
}

/// (end of file, stopped at the limit).
fn fill_some(s: &State, max: usize) -> std::io::Result<(bool, bool)> {
    CHUNK.with(|chunk| {
        let mut chunk = chunk.borrow_mut();
        let mut got = 0;
        while got < max {
            let want = (max - got).min(chunk.len());
            match s.recv(&mut chunk[..want])? {
                Some(0) => return Ok((true, false)),
                Some(n) => {
                    s.buffered.borrow_mut().extend_from_slice(&chunk[..n]);
                    got += n;
                }
                None => return Ok((false, false)),
            }
        }
        Ok((false, true))
    })
}

fn element_vector(e: Element, data: &[u8]) -> Value {
    match e {
        Element::Octet => crate::array::Array::octets(data.to_vec()),
        Element::Char => {
            crate::array::Array::string_from_chars(data.iter().map(|b| *b as char).collect())
        }
        Element::Signed => crate::array::Array::vector(
            crate::array::ArrayData::I8(data.iter().map(|b| *b as i8).collect()),
            crate::array::ElemType::I8,
        )
        .into_value(),
    }
}

fn progress_read(ctx: &mut Ctx, c: &Rc<Collection>, s: &Rc<State>) -> R<()> {
    let Some(op) = s.read_op.borrow_mut().take() else {
        return Ok(());
    };
    let now = Instant::now();
    let me = s.value();
    let mut calls = Vec::new();
    match op {
        ReadOp::Buffer {
            buffer,
            start,
            end,
            mut filled,
            callback,
            error_callback,
            deadline,
        } => {
            let want = end - start;
            let mut eof = false;
            let mut err = None;
            if filled < want {
                let have = s.buffered.borrow().len();
                if have < want - filled {
                    match fill(s, want - filled - have) {
                        Ok(e) => eof = e,
                        Err(e) => err = Some(os_failure(Op::Read, &e, s)),
                    }
                }
                let take: Vec<u8> = {
                    let mut b = s.buffered.borrow_mut();
                    let n = b.len().min(want - filled);
                    b.drain(..n).collect()
                };
                store_bytes_at(ctx, &buffer, start + filled, &take)?;
                filled += take.len();
            }
            let n = Value::int(filled as i64);
            if filled == want {
                calls.push(Call(callback, vec![me, buffer, n]));
            } else if let Some(e) = err {
                *s.read_status.borrow_mut() = e;
                let f = if error_callback.truthy() {
                    error_callback
                } else {
                    callback
                };
                calls.push(Call(f, vec![me, buffer, n]));
            } else if eof {
                *s.read_status.borrow_mut() = keyword("EOF");
                calls.push(Call(callback, vec![me, buffer, n]));
            } else if deadline.is_some_and(|d| d <= now) {
                *s.read_status.borrow_mut() = keyword("TIMEOUT");
                calls.push(Call(callback, vec![me, buffer, n]));
            } else {
                *s.read_op.borrow_mut() = Some(ReadOp::Buffer {
                    buffer,
                    start,
                    end,
                    filled,
                    callback,
                    error_callback,
                    deadline,
                });
            }
        }
        ReadOp::Checking {
            callback,
            error_callback,
            element,
            timeout,
            deadline,
        } => {
            let before = s.buffered.borrow().len();
            let r = fill(s, s.max_read.get());
            let after = s.buffered.borrow().len();
            let fresh = after > before || (after > 0 && s.old_length.get() < after);
            let (status, ends) = match r {
                Ok(true) => (Some(keyword("EOF")), true),
                Ok(false) if !fresh && deadline.is_some_and(|d| d <= now) => {
                    (Some(keyword("TIMEOUT")), true)
                }
                Ok(false) => (None, false),
                Err(e) => (Some(os_failure(Op::Read, &e, s)), true),
            };
            if !ends {
                // Still reading: the callback may DISCARD or FINISH.
                *s.read_op.borrow_mut() = Some(ReadOp::Checking {
                    callback: callback.clone(),
                    error_callback: error_callback.clone(),
                    element,
                    timeout,
                    deadline: if fresh {
                        self::deadline(timeout)
                    } else {
                        deadline
                    },
                });
            }
            let is_error = status
                .as_ref()
                .is_some_and(|v| !matches!(v, Value::Symbol(_)));
            if let Some(st) = status {
                *s.read_status.borrow_mut() = st;
            }
            if fresh || ends {
                let data = s.buffered.borrow().clone();
                let buf = element_vector(element, &data);
                let f = if is_error && error_callback.truthy() {
                    error_callback
                } else {
                    callback
                };
                let end = Value::int(data.len() as i64);
                guarded(ctx, c, |ctx| {
                    crate::eval::apply(ctx, &f, &[me.clone(), buf, end]).map(|_| ())
                })?;
                s.old_length.set(s.buffered.borrow().len());
            }
            return Ok(());
        }
        ReadOp::Receive {
            buffer,
            start,
            end,
            callback,
            error_callback,
            needs_address,
            deadline,
        } => {
            let mut tmp = vec![0u8; end - start];
            match udp::try_recv(&s.core, &mut tmp) {
                Ok(Some(r)) => {
                    store_bytes_at(ctx, &buffer, start, &tmp[..r.len])?;
                    let mut args = vec![me, buffer, Value::int(r.len as i64)];
                    if needs_address {
                        let (a, p) = sender_address(&r.from);
                        args.push(a);
                        args.push(p);
                    }
                    calls.push(Call(callback, args));
                }
                Ok(None) if deadline.is_none_or(|d| d > now) => {
                    *s.read_op.borrow_mut() = Some(ReadOp::Receive {
                        buffer,
                        start,
                        end,
                        callback,
                        error_callback,
                        needs_address,
                        deadline,
                    });
                }
                other => {
                    let status = match other {
                        Err(e) => failure(&e, s),
                        _ => keyword("TIMEOUT"),
                    };
                    let is_error = !matches!(status, Value::Symbol(_));
                    *s.read_status.borrow_mut() = status;
                    let f = if is_error && error_callback.truthy() {
                        error_callback
                    } else {
                        callback
                    };
                    let mut args = vec![me, buffer, Value::Fixnum(0)];
                    if needs_address {
                        args.extend([Value::Nil, Value::Nil]);
                    }
                    calls.push(Call(f, args));
                }
            }
        }
        ReadOp::WaitInput { callback, deadline } => {
            let ready =
                !s.buffered.borrow().is_empty() || crate::net::socket::readable_now(&s.core);
            if ready {
                calls.push(Call(callback, vec![me]));
            } else if deadline.is_some_and(|d| d <= now) {
                *s.read_status.borrow_mut() = keyword("TIMEOUT");
                calls.push(Call(callback, vec![me]));
            } else {
                *s.read_op.borrow_mut() = Some(ReadOp::WaitInput { callback, deadline });
            }
        }
    }
    run_calls(ctx, c, calls)
}

// ---------------------------------------------------------------------
// Accepting handles

/// A listening socket whose connections become states of a collection.
pub struct Accepting {
    me: RefCell<Value>,
    listener: RefCell<Option<Rc<SocketCore>>>,
    collection: Weak<Collection>,
    function: Value,
    create_state: bool,
    nodelay: bool,
    keepalive: bool,
    user_info: RefCell<Value>,
    name: Value,
    port: u16,
    read_timeout: Option<f64>,
    write_timeout: Option<f64>,
    queue_output: bool,
    /// TLS for every accepted connection (:SSL-CTX).
    ssl: Option<std::sync::Arc<rustls::ServerConfig>>,
}

struct AcceptingObj(Rc<Accepting>);

impl crate::foreign::ForeignObj for AcceptingObj {
    fn type_name(&self) -> &'static str {
        "COMM:ACCEPTING-HANDLE"
    }
    fn describe(&self) -> String {
        match self.0.listener.borrow().as_ref() {
            Some(l) => crate::net::stream::describe_endpoints(l),
            None => "(closed)".into(),
        }
    }
    fn class(&self) -> Option<Gc<Class>> {
        class(2)
    }
    fn holds_values(&self) -> bool {
        false
    }
}

impl Accepting {
    fn close(&self) {
        if let Some(l) = self.listener.borrow_mut().take() {
            crate::mp::sched().unwatch_fd(l.fd);
            l.close(false);
        }
        *self.me.borrow_mut() = Value::Nil;
    }
}

fn accepting_arg(ctx: &mut Ctx, v: &Value) -> R<Rc<Accepting>> {
    match crate::foreign::get::<AcceptingObj>(v) {
        Some(a) => Ok(a.0.clone()),
        None => Err(cond::type_error(ctx, v.clone(), "COMM:ACCEPTING-HANDLE")),
    }
}

/// Take the connections waiting on `a`'s listener (a bounded number
/// per round, so one busy listener cannot starve the states).
fn accept_ready(ctx: &mut Ctx, c: &Rc<Collection>, a: &Rc<Accepting>) -> R<()> {
    let me = a.me.borrow().clone();
    for _ in 0..256 {
        let Some(l) = a.listener.borrow().clone() else {
            return Ok(());
        };
        let sock = match l.with(Op::Accept, |s| s.accept()) {
            Ok((s, _)) => s,
            Err(e) if matches!(e.errno, Some(libc::ECONNABORTED) | Some(libc::EINTR)) => continue,
            Err(_) => return Ok(()),
        };
        let Ok(core) = SocketCore::new(sock, Role::Connection) else {
            continue;
        };
        let _ = core.with(Op::Option, |s| {
            if a.nodelay {
                s.set_tcp_nodelay(true)?;
            }
            if a.keepalive {
                s.set_keepalive(true)?;
            }
            Ok(())
        });
        let arg = if a.create_state {
            let core = registry::watch(core);
            let fd = Value::Fixnum(core.fd as i64);
            let s = make_state(
                c,
                core,
                fd,
                StateArgs {
                    read_timeout: a.read_timeout,
                    write_timeout: a.write_timeout,
                    user_info: Value::Nil,
                    name: Value::Nil,
                    queue_output: a.queue_output,
                },
            );
            if let Some(cfg) = &a.ssl {
                match crate::net::tls::TlsLayer::server(cfg.clone()) {
                    Ok(t) => *s.tls.borrow_mut() = Some(t),
                    Err(_) => {
                        s.close(false);
                        continue;
                    }
                }
            }
            s.value()
        } else {
            Value::Fixnum(registry::adopt(core).fd as i64)
        };
        let f = a.function.clone();
        guarded(ctx, c, |ctx| {
            crate::eval::apply(ctx, &f, &[me.clone(), arg]).map(|_| ())
        })?;
    }
    // More may be waiting: look again in the next round.
    if let Some(l) = a.listener.borrow().as_ref() {
        c.ready.borrow_mut().push(l.fd);
    }
    Ok(())
}

// ---------------------------------------------------------------------
// Starting operations

fn start_read(ctx: &mut Ctx, s: &Rc<State>, op: ReadOp) -> R<()> {
    open_state(ctx, s)?;
    if s.read_op.borrow().is_some() {
        return Err(cond::simple_error(
            ctx,
            "a read operation is already pending on this async-io-state".into(),
        ));
    }
    *s.read_status.borrow_mut() = Value::Nil;
    *s.read_op.borrow_mut() = Some(op);
    if let Some(c) = s.collection.upgrade() {
        c.mark(s.fd);
    }
    Ok(())
}

fn start_write(ctx: &mut Ctx, s: &Rc<State>, op: WriteOp) -> R<()> {
    open_state(ctx, s)?;
    if s.write_op.borrow().is_some() && s.queue_output {
        s.write_queue.borrow_mut().push_back(op);
        return Ok(());
    }
    if s.write_op.borrow().is_some() {
        return Err(cond::simple_error(
            ctx,
            "a write operation is already pending on this async-io-state".into(),
        ));
    }
    *s.write_status.borrow_mut() = Value::Nil;
    *s.write_op.borrow_mut() = Some(op);
    if let Some(c) = s.collection.upgrade() {
        c.mark(s.fd);
    }
    Ok(())
}

/// :TIMEOUT and :USER-INFO of an operation update the state's slots.
fn op_slots(
    ctx: &mut Ctx,
    s: &State,
    a: &[Value],
    timeout: usize,
    user_info: usize,
    read: bool,
) -> R<Option<f64>> {
    if opt(a, timeout).is_some() {
        let t = seconds(ctx, a, timeout)?;
        if read {
            s.read_timeout.set(t);
        } else {
            s.write_timeout.set(t);
        }
    }
    if let Some(u) = opt(a, user_info) {
        *s.user_info.borrow_mut() = u.clone();
    }
    Ok(if read {
        s.read_timeout.get()
    } else {
        s.write_timeout.get()
    })
}

/// The :START and :END of a buffer operation, checked against BUFFER.
fn range(ctx: &mut Ctx, buffer: &Value, a: &[Value], si: usize, ei: usize) -> R<(usize, usize)> {
    let len = match buffer {
        Value::Array(v) if v.is_vector() => v.len(),
        v => {
            return Err(cond::type_error(
                ctx,
                v.clone(),
                "(OR BASE-STRING (VECTOR (UNSIGNED-BYTE 8)))",
            ))
        }
    };
    let start = crate::builtins::opt_index(ctx, a, si)?.unwrap_or(0);
    let end = crate::builtins::opt_index(ctx, a, ei)?.unwrap_or(len);
    if start > end || end > len {
        return Err(cond::simple_error(
            ctx,
            format!(
                "the range {}..{} is not within the buffer (length {})",
                start, end, len
            ),
        ));
    }
    Ok((start, end))
}

fn element_of(ctx: &mut Ctx, v: Option<&Value>) -> R<Element> {
    let Some(v) = v.filter(|v| v.truthy()) else {
        return Ok(Element::Char);
    };
    let text = crate::printer::prin1_string(v);
    match text.as_str() {
        "BASE-CHAR" | "CHARACTER" => Ok(Element::Char),
        "(UNSIGNED-BYTE 8)" => Ok(Element::Octet),
        "(SIGNED-BYTE 8)" => Ok(Element::Signed),
        _ => Err(cond::type_error(
            ctx,
            v.clone(),
            "(MEMBER BASE-CHAR (UNSIGNED-BYTE 8) (SIGNED-BYTE 8))",
        )),
    }
}

/// The slots of a new state from the creating call's arguments at
/// these positions: read-timeout, write-timeout, user-info, name,
/// queue-output.
fn state_args(ctx: &mut Ctx, a: &[Value], at: [usize; 5]) -> R<StateArgs> {
    let [rt, wt, ui, name, qo] = at;
    Ok(StateArgs {
        read_timeout: seconds(ctx, a, rt)?,
        write_timeout: seconds(ctx, a, wt)?,
        user_info: opt_nil(a, ui),
        name: opt_nil(a, name),
        queue_output: flag(a, qo),
    })
}

fn new_udp_state(ctx: &mut Ctx, c: &Rc<Collection>, core: SocketCore, a: StateArgs) -> Value {
    let _ = ctx;
    let core = registry::watch(core);
    let fd = Value::Fixnum(core.fd as i64);
    make_state(c, core, fd, a).value()
}

/// Seconds as a Lisp number: a value that came from a single float is
/// that single float again.
fn seconds_value(secs: f64) -> Value {
    if (secs as f32) as f64 == secs {
        Value::Single(secs as f32)
    } else {
        Value::Double(secs)
    }
}

fn address_pair(ctx: &mut Ctx, sa: Option<std::net::SocketAddr>) -> Value {
    super::address_values(ctx, sa)
}

crate::defbuiltins! {
    /// Make a wait-state collection (an event loop; nothing runs it until
    /// LOOP-PROCESSING-WAIT-STATE-COLLECTION is called). HANDLER is the
    /// error policy for callbacks: NIL (errors are not handled), T or
    /// :ABORT (reported on *ERROR-OUTPUT*, the loop goes on), or a
    /// function called with the condition.
    fn MAKE_WAIT_STATE_COLLECTION "COMM:MAKE-WAIT-STATE-COLLECTION" "(&key name handler)" (ctx, a) {
        let name = match opt(a, 0) { Some(v) if v.truthy() => crate::builtins::string_designator(ctx, v)?, _ => "collection".into() };
        let c = new_collection(name, opt_nil(a, 1));
        let v = c.me.borrow().clone();
        Ok(v)
    }
    /// Make a collection and a process "Loop Collection NAME" that runs
    /// its loop; the collection is closed when the loop ends. HANDLER
    /// defaults to T: an error in a callback is reported on
    /// *ERROR-OUTPUT* and the loop goes on. WITH-BACKTRACE is accepted.
    fn CREATE_AND_RUN_WAIT_STATE_COLLECTION "COMM:CREATE-AND-RUN-WAIT-STATE-COLLECTION" "(name &key handler with-backtrace)" (ctx, a) {
        let name = crate::builtins::string_designator(ctx, &a[0])?;
        let handler = match opt(a, 1) { None => Value::t(), Some(v) => v.clone() };
        let c = new_collection(name.clone(), handler);
        let v = c.me.borrow().clone();
        let p = crate::mp::builtins::run_function(ctx, format!("Loop Collection {}", name), &Value::Nil, crate::function::Function::builtin(&RUN_COLLECTION), vec![v.clone()])?;
        *c.looping.borrow_mut() = p;
        Ok(v)
    }
    /// The body of a collection's process (internal).
    fn RUN_COLLECTION "COMM::%RUN-COLLECTION" "(collection)" (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        *c.looping.borrow_mut() = Value::Nil;
        let r = loop_processing(ctx, &c);
        c.close();
        match r {
            Err(e) if e == Exit::KILL => Ok(Value::Nil),
            r => r.map(|()| Value::Nil),
        }
    }
    /// Run the collection's loop in this process: wait for ready states,
    /// run their callbacks and queued calls, until
    /// WAIT-STATE-COLLECTION-STOP-LOOP. Only one loop per collection.
    fn LOOP_PROCESSING_WAIT_STATE_COLLECTION "COMM:LOOP-PROCESSING-WAIT-STATE-COLLECTION" "(collection)" (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        loop_processing(ctx, &c)?;
        Ok(Value::Nil)
    }
    /// Park until a state of COLLECTION is ready, an operation's timeout
    /// passes or a call is queued: T, or NIL after TIMEOUT seconds.
    fn WAIT_FOR_WAIT_STATE_COLLECTION "COMM:WAIT-FOR-WAIT-STATE-COLLECTION" "(collection &optional timeout)" (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        let t = seconds(ctx, a, 1)?;
        Ok(Value::bool(wait_for(ctx, &c, t)?))
    }
    /// Run the callbacks of the ready states and the queued calls.
    fn CALL_WAIT_STATE_COLLECTION "COMM:CALL-WAIT-STATE-COLLECTION" "(collection)" (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        call(ctx, &c)?;
        Ok(Value::Nil)
    }
    /// Close every state (and its socket) and accepting handle of
    /// COLLECTION and stop its loop.
    fn CLOSE_WAIT_STATE_COLLECTION "COMM:CLOSE-WAIT-STATE-COLLECTION" "(collection)" (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        c.close();
        Ok(Value::t())
    }
    /// Make the collection's loop return (from any process).
    fn WAIT_STATE_COLLECTION_STOP_LOOP "COMM:WAIT-STATE-COLLECTION-STOP-LOOP" "(collection)" (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        c.stop.set(true);
        c.poke();
        Ok(Value::t())
    }
    /// Whether COLLECTION is not closed.
    fn WAIT_STATE_COLLECTION_ALIVE_P "COMM:WAIT-STATE-COLLECTION-ALIVE-P" "(collection)" (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        Ok(Value::bool(!c.closed.get()))
    }
    /// Run FUNCTION on ARGUMENTS in the collection's process (queued;
    /// wakes its loop).
    fn APPLY_IN_WAIT_STATE_COLLECTION_PROCESS "COMM:APPLY-IN-WAIT-STATE-COLLECTION-PROCESS" "(collection function &rest arguments)" (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        let f = crate::builtins::function(ctx, &a[1])?;
        c.queue.borrow_mut().push_back((f, a[2..].to_vec()));
        c.poke();
        Ok(Value::t())
    }

    /// Make an async-io-state in COLLECTION for OBJECT: a socket handle
    /// (the state takes it over) or a COMM:SOCKET-STREAM (its socket; input
    /// the stream has buffered moves to the state). UDP T or :CONNECTED
    /// marks a UDP handle.
    fn CREATE_ASYNC_IO_STATE "COMM:CREATE-ASYNC-IO-STATE" "(collection object &key read-timeout write-timeout user-info udp ipv6 name queue-output)" (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        let args = state_args(ctx, a, [2, 3, 4, 7, 8])?;
        let core = match &a[1] {
            Value::Fixnum(n) if *n >= 0 && *n <= i32::MAX as i64 => {
                match registry::take_handle(*n as i32) {
                    Some(core) => core,
                    None => return Err(cond::simple_error(ctx, format!("{} is not an open socket handle (or a stream owns it)", n))),
                }
            }
            v @ Value::Stream(_) => match super::streams::core_of(ctx, v)? {
                Some(core) => core,
                None => return Err(cond::simple_error(ctx, "the stream has no socket".into())),
            },
            v => return Err(cond::type_error(ctx, v.clone(), "(OR (INTEGER 0) COMM:SOCKET-STREAM)")),
        };
        let pending = match &a[1] {
            Value::Stream(st) => st.bytes().map(|b| b.take_buffered()).unwrap_or_default(),
            _ => Vec::new(),
        };
        let s = make_state(&c, core, a[1].clone(), args);
        s.buffered.borrow_mut().extend(pending);
        Ok(s.value())
    }

    /// Connect to SERVICE on HOSTSPEC without waiting and return the new
    /// state at once; CALLBACK is called in the collection's process with
    /// the state and NIL when connected, or the state and a list of
    /// format arguments describing the failure (the state's write status
    /// then holds the condition). The name is resolved before returning;
    /// the first address is tried, within CONNECT-TIMEOUT seconds.
    fn CREATE_ASYNC_IO_STATE_AND_CONNECTED_TCP_SOCKET "COMM:CREATE-ASYNC-IO-STATE-AND-CONNECTED-TCP-SOCKET" "(collection hostspec service callback &key read-timeout write-timeout user-info connect-timeout local-address local-port keepalive nodelay name queue-output ssl-ctx ctx-configure-callback ssl-configure-callback handshake-timeout tlsext-host-name)" (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        let host = hostspec(ctx, &a[1])?;
        let tls = match super::tls::Attach::from_args(ctx, a, [14, 15, 16, 17, 18], super::tls::Side::Client)? {
            Some(how) => Some(super::tls::client_layer_for(ctx, &how, &host.text())?),
            None => None,
        };
        let callback = crate::builtins::function(ctx, &a[3])?;
        let args = state_args(ctx, a, [4, 5, 6, 12, 13])?;
        let timeout = seconds(ctx, a, 7)?;
        let port = match super::service(ctx, &a[2], "tcp")? {
            Ok(p) => p,
            Err(e) => return Err(crate::net::conditions::signal(ctx, &e.at(host.text(), None))),
        };
        let addrs = match resolve_spec(ctx, &host, crate::net::resolve::Family::Any, None)? {
            Ok(a) => a,
            Err(e) => return Err(crate::net::conditions::signal(ctx, &e.at(host.text(), Some(port)))),
        };
        let Some(target) = addrs.first().map(|x| x.with_port(port)) else {
            return Err(crate::net::conditions::signal(ctx, &NetError::new(Fault::HostNotFound, Op::Connect, "no address").at(host.text(), Some(port))));
        };
        let local_host = opt_hostspec(ctx, a, 8)?;
        let (local, bind) = match super::udp::local_address(ctx, local_host.as_ref(), &opt_nil(a, 9), Ipv6Choice::Any, target.is_ipv6())? {
            Ok(l) => l,
            Err(e) => return Err(crate::net::conditions::signal(ctx, &e)),
        };
        let opts = tcp::ConnectOptions {
            local: bind.then_some(local).or(local_host.as_ref().map(|_| local)),
            nodelay: opt(a, 11).is_none_or(|v| v.truthy()),
            keepalive: flag(a, 10),
        };
        let (core, _done) = match tcp::start_connect(&target, &opts) {
            Ok(x) => x,
            Err(e) => return Err(crate::net::conditions::signal(ctx, &e)),
        };
        let core = registry::watch(core);
        let fd = Value::Fixnum(core.fd as i64);
        let s = make_state(&c, core, fd, args);
        *s.tls.borrow_mut() = tls;
        start_write(ctx, &s, WriteOp::Connect { addr: target, callback, deadline: deadline(timeout) })?;
        Ok(s.value())
    }

    /// Make a state over a new unconnected UDP socket, bound when
    /// LOCAL-ADDRESS or LOCAL-PORT is given. NIL (or an error, with
    /// ERRORP) when the socket cannot be made.
    fn CREATE_ASYNC_IO_STATE_AND_UDP_SOCKET "COMM:CREATE-ASYNC-IO-STATE-AND-UDP-SOCKET" "(collection &key name errorp ipv6 queue-output read-timeout write-timeout user-info local-address local-port)" [mv] (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        let args = state_args(ctx, a, [5, 6, 7, 1, 4])?;
        let ipv6 = super::ipv6_choice(ctx, a, 3, true)?;
        let host = opt_hostspec(ctx, a, 8)?;
        let (local, bind) = match super::udp::local_address(ctx, host.as_ref(), &opt_nil(a, 9), ipv6, false)? {
            Ok(l) => l,
            Err(e) => return fail(ctx, flag(a, 2), &e),
        };
        let opts = udp::OpenOptions {
            bind: bind || host.is_some(),
            reuse: false,
            v6only: ipv6.v6only(),
        };
        match udp::open(&local, opts) {
            Ok(core) => Ok(new_udp_state(ctx, &c, core, args)),
            Err(e) => fail(ctx, flag(a, 2), &e),
        }
    }

    /// Make a state over a new UDP socket connected to SERVICE on
    /// HOSTSPEC.
    fn CREATE_ASYNC_IO_STATE_AND_CONNECTED_UDP_SOCKET "COMM:CREATE-ASYNC-IO-STATE-AND-CONNECTED-UDP-SOCKET" "(collection hostspec service &key queue-output name errorp ipv6 read-timeout write-timeout user-info local-address local-port)" [mv] (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        let args = state_args(ctx, a, [7, 8, 9, 4, 3])?;
        let host = hostspec(ctx, &a[1])?;
        let ipv6 = super::ipv6_choice(ctx, a, 6, false)?;
        let local_host = opt_hostspec(ctx, a, 10)?;
        match super::udp::connected_udp(ctx, &host, &a[2], local_host.as_ref(), &opt_nil(a, 11), ipv6)? {
            Ok(core) => Ok(new_udp_state(ctx, &c, core, args)),
            Err(e) => fail(ctx, flag(a, 5), &e),
        }
    }

    /// Listen on SERVICE (0: any port) at ADDRESS (default all
    /// interfaces) and, in the collection's process, make a state for
    /// each connection and call CONNECTION-FUNCTION with the accepting
    /// handle and the state (the raw socket handle with CREATE-STATE
    /// NIL). INIT-FUNCTION is called with the listening handle once it is
    /// bound. Returns the accepting handle; a bind failure is signalled.
    fn ACCEPT_TCP_CONNECTIONS_CREATING_ASYNC_IO_STATES "COMM:ACCEPT-TCP-CONNECTIONS-CREATING-ASYNC-IO-STATES" "(collection service connection-function &key init-function init-timeout backlog address nodelay keepalive ipv6 reuseport create-state name queue-output handle-name user-info ssl-ctx ssl-side ctx-configure-callback ssl-configure-callback handshake-timeout ssl-error-callback read-timeout write-timeout)" (ctx, a) {
        let c = collection_arg(ctx, &a[0])?;
        let ssl = match opt(a, 16).filter(|v| v.truthy()) {
            Some(v) => {
                if opt(a, 11).is_some_and(|v| !v.truthy()) {
                    return Err(super::tls::setting_error(ctx, ":SSL-CTX needs states: it cannot be used with :CREATE-STATE NIL".into()));
                }
                Some(super::tls::server_config_for(ctx, v, &opt_nil(a, 18))?)
            }
            None => None,
        };
        let function = crate::builtins::function(ctx, &a[2])?;
        let ipv6 = super::ipv6_choice(ctx, a, 9, true)?;
        let host = opt_hostspec(ctx, a, 6)?;
        let service = match &a[1] { Value::Nil => Value::Fixnum(0), v => v.clone() };
        let (addr, _) = match super::udp::local_address(ctx, host.as_ref(), &service, ipv6, false)? {
            Ok(l) => l,
            Err(e) => return Err(crate::net::conditions::signal(ctx, &e)),
        };
        let backlog = super::backlog(ctx, opt(a, 5))?;
        let opts = tcp::ListenOptions {
            backlog,
            reuseport: flag(a, 10),
            v6only: ipv6.v6only(),
            ..tcp::ListenOptions::default()
        };
        let core = match tcp::listen(&addr, &opts) {
            Ok(core) => registry::watch(core),
            Err(e) => return Err(crate::net::conditions::signal(ctx, &e)),
        };
        let port = core.local_addr().map_or(0, |x| x.port());
        let fd = core.fd;
        let acc = Rc::new(Accepting {
            me: RefCell::new(Value::Nil),
            listener: RefCell::new(Some(core)),
            collection: Rc::downgrade(&c),
            function,
            create_state: opt(a, 11).is_none_or(|v| v.truthy()),
            nodelay: opt(a, 7).is_none_or(|v| v.truthy()),
            keepalive: flag(a, 8),
            user_info: RefCell::new(opt_nil(a, 15)),
            name: match opt_nil(a, 14) { Value::Nil => opt_nil(a, 12), v => v },
            port,
            read_timeout: seconds(ctx, a, 22)?,
            write_timeout: seconds(ctx, a, 23)?,
            queue_output: flag(a, 13),
            ssl,
        });
        let v = crate::foreign::make(AcceptingObj(acc.clone()));
        *acc.me.borrow_mut() = v.clone();
        crate::mp::sched().watch_fd(fd, &c.sink, false);
        c.accepting.borrow_mut().push(acc);
        c.poke();
        if let Some(f) = opt(a, 3).filter(|f| f.truthy()) {
            crate::eval::apply(ctx, f, &[Value::Fixnum(fd as i64)])?;
        }
        Ok(v)
    }
    /// The listening socket handle of an accepting handle, NIL once closed.
    fn ACCEPTING_HANDLE_SOCKET "COMM:ACCEPTING-HANDLE-SOCKET" "(handle)" (ctx, a) {
        let h = accepting_arg(ctx, &a[0])?;
        let fd = h.listener.borrow().as_ref().map(|l| l.fd);
        Ok(fd.map_or(Value::Nil, |fd| Value::Fixnum(fd as i64)))
    }
    /// The collection of an accepting handle.
    fn ACCEPTING_HANDLE_COLLECTION "COMM:ACCEPTING-HANDLE-COLLECTION" "(handle)" (ctx, a) {
        let h = accepting_arg(ctx, &a[0])?;
        Ok(h.collection.upgrade().map_or(Value::Nil, |c| c.me.borrow().clone()))
    }
    /// The port an accepting handle listens on.
    fn ACCEPTING_HANDLE_LOCAL_PORT "COMM:ACCEPTING-HANDLE-LOCAL-PORT" "(handle)" (ctx, a) {
        let h = accepting_arg(ctx, &a[0])?;
        Ok(Value::Fixnum(h.port as i64))
    }
    /// The user info of an accepting handle.
    fn ACCEPTING_HANDLE_USER_INFO "COMM:ACCEPTING-HANDLE-USER-INFO" "(handle)" (ctx, a) {
        let h = accepting_arg(ctx, &a[0])?;
        let v = h.user_info.borrow().clone();
        Ok(v)
    }
    /// The name of an accepting handle.
    fn ACCEPTING_HANDLE_NAME "COMM:ACCEPTING-HANDLE-NAME" "(handle)" (ctx, a) {
        let h = accepting_arg(ctx, &a[0])?;
        Ok(h.name.clone())
    }
    /// Stop accepting and close the listening socket; CALLBACK is then
    /// called with the collection in its process.
    fn CLOSE_ACCEPTING_HANDLE "COMM:CLOSE-ACCEPTING-HANDLE" "(handle &optional callback)" (ctx, a) {
        let h = accepting_arg(ctx, &a[0])?;
        let c = h.collection.upgrade();
        h.close();
        if let Some(c) = c {
            c.accepting.borrow_mut().retain(|x| !Rc::ptr_eq(x, &h));
            if let Some(f) = opt(a, 1).filter(|f| f.truthy()) {
                let f = crate::builtins::function(ctx, f)?;
                let me = c.me.borrow().clone();
                c.queue.borrow_mut().push_back((f, vec![me]));
            }
            c.poke();
        }
        Ok(Value::t())
    }

    /// Fill BUFFER from START to END (a base-string or an octet vector),
    /// then call CALLBACK with the state, the buffer and the number of
    /// elements read. At end of file, on TIMEOUT or an error, CALLBACK
    /// (or ERROR-CALLBACK for an error) is called with what was read and
    /// the read status says why.
    fn ASYNC_IO_STATE_READ_BUFFER "COMM:ASYNC-IO-STATE-READ-BUFFER" "(state buffer callback &key start end timeout error-callback user-info)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let (start, end) = range(ctx, &a[1], a, 3, 4)?;
        let t = op_slots(ctx, &s, a, 5, 7, true)?;
        start_read(ctx, &s, ReadOp::Buffer { buffer: a[1].clone(), start, end, filled: 0, callback: a[2].clone(), error_callback: opt_nil(a, 6), deadline: deadline(t) })?;
        Ok(Value::t())
    }
    /// Write BUFFER from START to END, then call CALLBACK with the state,
    /// the buffer and the number of elements written.
    fn ASYNC_IO_STATE_WRITE_BUFFER "COMM:ASYNC-IO-STATE-WRITE-BUFFER" "(state buffer callback &key start end timeout error-callback user-info)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let (start, end) = range(ctx, &a[1], a, 3, 4)?;
        let t = op_slots(ctx, &s, a, 5, 7, false)?;
        let bytes = message_range(ctx, &a[1], start, Some(end))?;
        start_write(ctx, &s, WriteOp::Buffer { buffer: a[1].clone(), bytes, written: 0, callback: a[2].clone(), error_callback: opt_nil(a, 6), deadline: deadline(t) })?;
        Ok(Value::t())
    }
    /// Keep reading (up to MAX-READ bytes a round) into the state's
    /// buffer and call CALLBACK with the state, a vector of ELEMENT-TYPE
    /// (BASE-CHAR, (UNSIGNED-BYTE 8) or (SIGNED-BYTE 8)) holding the
    /// unconsumed data, and its length, each time data arrives. The
    /// callback consumes with ASYNC-IO-STATE-DISCARD and ends the read
    /// with ASYNC-IO-STATE-FINISH; end of file, TIMEOUT seconds without
    /// data, or an error end it with a last call.
    fn ASYNC_IO_STATE_READ_WITH_CHECKING "COMM:ASYNC-IO-STATE-READ-WITH-CHECKING" "(state callback &key timeout max-read error-callback user-info element-type)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let t = op_slots(ctx, &s, a, 2, 5, true)?;
        if let Some(m) = crate::builtins::opt_index(ctx, a, 3)? {
            s.max_read.set(m.max(1));
        }
        let element = element_of(ctx, opt(a, 6))?;
        s.old_length.set(0);
        start_read(ctx, &s, ReadOp::Checking { callback: a[1].clone(), error_callback: opt_nil(a, 4), element, timeout: t, deadline: deadline(t) })?;
        Ok(Value::t())
    }
    /// Drop the first N elements of the data READ-WITH-CHECKING holds.
    fn ASYNC_IO_STATE_DISCARD "COMM:ASYNC-IO-STATE-DISCARD" "(state n)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let n = crate::builtins::index(ctx, &a[1])?;
        let mut b = s.buffered.borrow_mut();
        let n = n.min(b.len());
        b.drain(..n);
        s.old_length.set(s.old_length.get().saturating_sub(n));
        Ok(Value::int(b.len() as i64))
    }
    /// End a READ-WITH-CHECKING (after discarding DISCARD elements) and
    /// return the length of the data still held.
    fn ASYNC_IO_STATE_FINISH "COMM:ASYNC-IO-STATE-FINISH" "(state &optional discard)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        if let Some(n) = crate::builtins::opt_index(ctx, a, 1)? {
            let mut b = s.buffered.borrow_mut();
            let n = n.min(b.len());
            b.drain(..n);
        }
        if matches!(&*s.read_op.borrow(), Some(ReadOp::Checking { .. })) {
            s.read_op.borrow_mut().take();
        }
        let n = s.buffered.borrow().len();
        Ok(Value::int(n as i64))
    }
    /// Receive one datagram into BUFFER (from START to END) and call
    /// CALLBACK with the state, the buffer and its length, plus the
    /// sender's address and port with NEEDS-ADDRESS (ready for
    /// ASYNC-IO-STATE-SEND-MESSAGE-TO-ADDRESS). A longer datagram is cut
    /// to the room given.
    fn ASYNC_IO_STATE_RECEIVE_MESSAGE "COMM:ASYNC-IO-STATE-RECEIVE-MESSAGE" "(state buffer callback &key start end timeout error-callback needs-address user-info)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let (start, end) = range(ctx, &a[1], a, 3, 4)?;
        let t = op_slots(ctx, &s, a, 5, 8, true)?;
        start_read(ctx, &s, ReadOp::Receive { buffer: a[1].clone(), start, end, callback: a[2].clone(), error_callback: opt_nil(a, 6), needs_address: flag(a, 7), deadline: deadline(t) })?;
        Ok(Value::t())
    }
    /// Send BUFFER (from START to END) as one datagram on a connected
    /// socket, then call CALLBACK with the state.
    fn ASYNC_IO_STATE_SEND_MESSAGE "COMM:ASYNC-IO-STATE-SEND-MESSAGE" "(state buffer callback &key start end timeout error-callback user-info)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let (start, end) = range(ctx, &a[1], a, 3, 4)?;
        let t = op_slots(ctx, &s, a, 5, 7, false)?;
        let bytes = message_range(ctx, &a[1], start, Some(end))?;
        start_write(ctx, &s, WriteOp::Send { bytes, to: None, callback: a[2].clone(), error_callback: opt_nil(a, 6), deadline: deadline(t) })?;
        Ok(Value::t())
    }
    /// Send BUFFER as one datagram to SERVICE on HOSTSPEC from an
    /// unconnected socket, then call CALLBACK with the state.
    fn ASYNC_IO_STATE_SEND_MESSAGE_TO_ADDRESS "COMM:ASYNC-IO-STATE-SEND-MESSAGE-TO-ADDRESS" "(state hostspec service buffer callback &key start end timeout error-callback user-info)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let (start, end) = range(ctx, &a[3], a, 5, 6)?;
        let t = op_slots(ctx, &s, a, 7, 9, false)?;
        let bytes = message_range(ctx, &a[3], start, Some(end))?;
        let host = hostspec(ctx, &a[1])?;
        let port = match super::service(ctx, &a[2], "udp")? {
            Ok(p) => p,
            Err(e) => return Err(crate::net::conditions::signal(ctx, &e)),
        };
        let addr = match super::udp::datagram_target(ctx, &s.core, &host, port)? {
            Ok(a) => a,
            Err(e) => return Err(crate::net::conditions::signal(ctx, &e)),
        };
        start_write(ctx, &s, WriteOp::Send { bytes, to: Some(addr), callback: a[4].clone(), error_callback: opt_nil(a, 8), deadline: deadline(t) })?;
        Ok(Value::t())
    }
    /// Call CALLBACK with the state once input is available (or TIMEOUT
    /// seconds pass, with read status :TIMEOUT).
    fn ASYNC_IO_STATE_WAIT_FOR_INPUT "COMM:ASYNC-IO-STATE-WAIT-FOR-INPUT" "(state callback &key timeout user-info)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let t = op_slots(ctx, &s, a, 2, 3, true)?;
        start_read(ctx, &s, ReadOp::WaitInput { callback: a[1].clone(), deadline: deadline(t) })?;
        Ok(Value::t())
    }
    /// Copy the unconsumed data the state holds into BUFFER (from START
    /// to END), remove it, and return how many elements were copied.
    fn ASYNC_IO_STATE_GET_BUFFERED_DATA "COMM:ASYNC-IO-STATE-GET-BUFFERED-DATA" "(state buffer &key start end)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let (start, end) = range(ctx, &a[1], a, 2, 3)?;
        let data: Vec<u8> = {
            let mut b = s.buffered.borrow_mut();
            let n = b.len().min(end - start);
            b.drain(..n).collect()
        };
        store_bytes_at(ctx, &a[1], start, &data)?;
        Ok(Value::int(data.len() as i64))
    }
    /// How many bytes of unconsumed data the state holds.
    fn ASYNC_IO_STATE_BUFFERED_DATA_LENGTH "COMM:ASYNC-IO-STATE-BUFFERED-DATA-LENGTH" "(state)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let n = s.buffered.borrow().len();
        Ok(Value::int(n as i64))
    }
    /// Cancel the pending operation in DIRECTION (:INPUT, the default,
    /// :OUTPUT or :IO); ABORT-CALLBACK is then called in the collection's
    /// process with the state (and NIL NIL for one direction).
    fn ASYNC_IO_STATE_ABORT "COMM:ASYNC-IO-STATE-ABORT" "(state abort-callback &optional direction)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let dir = match opt(a, 2) { Some(Value::Symbol(d)) => d.name().to_string(), None | Some(Value::Nil) => "INPUT".into(), Some(v) => return Err(cond::type_error(ctx, v.clone(), "(MEMBER :INPUT :OUTPUT :IO)")) };
        let (input, output) = match dir.as_str() { "INPUT" => (true, false), "OUTPUT" => (false, true), "IO" => (true, true), _ => return Err(cond::type_error(ctx, a[2].clone(), "(MEMBER :INPUT :OUTPUT :IO)")) };
        if input { s.read_op.borrow_mut().take(); }
        if output { s.write_op.borrow_mut().take(); }
        if let (Some(c), true) = (s.collection.upgrade(), opt(a, 1).is_some_and(|f| f.truthy())) {
            let args = if input && output { vec![s.value()] } else { vec![s.value(), Value::Nil, Value::Nil] };
            c.queue.borrow_mut().push_back((a[1].clone(), args));
            c.poke();
        }
        Ok(Value::t())
    }
    /// Cancel both directions and close the state (and its socket unless
    /// KEEP-ALIVE-P); CLOSE-CALLBACK is then called with the state in the
    /// collection's process.
    fn ASYNC_IO_STATE_ABORT_AND_CLOSE "COMM:ASYNC-IO-STATE-ABORT-AND-CLOSE" "(state &key close-callback keep-alive-p)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let me = s.value();
        let c = s.collection.upgrade();
        s.close(flag(a, 2));
        if let (Some(c), Some(f)) = (c, opt(a, 1).filter(|f| f.truthy())) {
            c.queue.borrow_mut().push_back((f.clone(), vec![me]));
            c.poke();
        }
        Ok(Value::t())
    }
    /// Close the state, and its socket unless KEEP-ALIVE-P; return the
    /// length of the data it held unread.
    fn CLOSE_ASYNC_IO_STATE "COMM:CLOSE-ASYNC-IO-STATE" "(state &key keep-alive-p)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        Ok(Value::int(s.close(flag(a, 1)) as i64))
    }
    /// shutdown(2) the state's socket in DIRECTION (:INPUT, :OUTPUT or
    /// :IO); T, or the errno when it fails. CALLBACK, if given, is then
    /// called with the state in the collection's process.
    fn ASYNC_IO_STATE_SHUTDOWN "COMM:ASYNC-IO-STATE-SHUTDOWN" "(state direction &key abort callback)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        let (r, w) = match &a[1] { Value::Symbol(d) if d.name() == "INPUT" => (true, false), Value::Symbol(d) if d.name() == "OUTPUT" => (false, true), Value::Symbol(d) if d.name() == "IO" => (true, true), v => return Err(cond::type_error(ctx, v.clone(), "(MEMBER :INPUT :OUTPUT :IO)")) };
        if flag(a, 2) {
            if r { s.read_op.borrow_mut().take(); }
            if w { s.write_op.borrow_mut().take(); }
        }
        let out = match s.core.shutdown(r, w) { Ok(()) => Value::t(), Err(e) => e.errno.map_or(Value::Nil, |n| Value::Fixnum(n as i64)) };
        if let (Some(c), Some(f)) = (s.collection.upgrade(), opt(a, 3).filter(|f| f.truthy())) {
            c.queue.borrow_mut().push_back((f.clone(), vec![s.value()]));
            c.poke();
        }
        Ok(out)
    }

    /// The handle or stream the state was made from.
    fn ASYNC_IO_STATE_OBJECT "COMM:ASYNC-IO-STATE-OBJECT" "(state)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?; let v = s.object.borrow().clone(); Ok(v)
    }
    /// The state's wait-state collection.
    fn ASYNC_IO_STATE_COLLECTION "COMM:ASYNC-IO-STATE-COLLECTION" "(state)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?;
        Ok(s.collection.upgrade().map_or(Value::Nil, |c| c.me.borrow().clone()))
    }
    /// NIL while reading works, else :EOF, :TIMEOUT or the condition.
    fn ASYNC_IO_STATE_READ_STATUS "COMM:ASYNC-IO-STATE-READ-STATUS" "(state)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?; let v = s.read_status.borrow().clone(); Ok(v)
    }
    /// NIL while writing works, else :TIMEOUT or the condition.
    fn ASYNC_IO_STATE_WRITE_STATUS "COMM:ASYNC-IO-STATE-WRITE-STATUS" "(state)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?; let v = s.write_status.borrow().clone(); Ok(v)
    }
    /// The user's slot of the state (SETF-able).
    fn ASYNC_IO_STATE_USER_INFO "COMM:ASYNC-IO-STATE-USER-INFO" "(state)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?; let v = s.user_info.borrow().clone(); Ok(v)
    }
    /// Set the user's slot.
    fn SETF_ASYNC_IO_STATE_USER_INFO "COMM::SETF-ASYNC-IO-STATE-USER-INFO" "(value state)" (ctx, a) {
        let s = state_arg(ctx, &a[1])?; *s.user_info.borrow_mut() = a[0].clone(); Ok(a[0].clone())
    }
    /// Seconds a read operation may take, or NIL (SETF-able).
    fn ASYNC_IO_STATE_READ_TIMEOUT "COMM:ASYNC-IO-STATE-READ-TIMEOUT" "(state)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?; Ok(s.read_timeout.get().map_or(Value::Nil, seconds_value))
    }
    /// Set the read timeout.
    fn SETF_ASYNC_IO_STATE_READ_TIMEOUT "COMM::SETF-ASYNC-IO-STATE-READ-TIMEOUT" "(value state)" (ctx, a) {
        let s = state_arg(ctx, &a[1])?; s.read_timeout.set(super::seconds_of(ctx, Some(&a[0]))?); Ok(a[0].clone())
    }
    /// Seconds a write operation may take, or NIL (SETF-able).
    fn ASYNC_IO_STATE_WRITE_TIMEOUT "COMM:ASYNC-IO-STATE-WRITE-TIMEOUT" "(state)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?; Ok(s.write_timeout.get().map_or(Value::Nil, seconds_value))
    }
    /// Set the write timeout.
    fn SETF_ASYNC_IO_STATE_WRITE_TIMEOUT "COMM::SETF-ASYNC-IO-STATE-WRITE-TIMEOUT" "(value state)" (ctx, a) {
        let s = state_arg(ctx, &a[1])?; s.write_timeout.set(super::seconds_of(ctx, Some(&a[0]))?); Ok(a[0].clone())
    }
    /// Bytes READ-WITH-CHECKING reads per round (SETF-able).
    fn ASYNC_IO_STATE_MAX_READ "COMM:ASYNC-IO-STATE-MAX-READ" "(state)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?; Ok(Value::int(s.max_read.get() as i64))
    }
    /// Set the bytes per round.
    fn SETF_ASYNC_IO_STATE_MAX_READ "COMM::SETF-ASYNC-IO-STATE-MAX-READ" "(value state)" (ctx, a) {
        let s = state_arg(ctx, &a[1])?; let n = crate::builtins::index(ctx, &a[0])?; s.max_read.set(n.max(1)); Ok(a[0].clone())
    }
    /// How much of READ-WITH-CHECKING's buffer the last callback saw
    /// (SETF-able).
    fn ASYNC_IO_STATE_OLD_LENGTH "COMM:ASYNC-IO-STATE-OLD-LENGTH" "(state)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?; Ok(Value::int(s.old_length.get() as i64))
    }
    /// Set the old length.
    fn SETF_ASYNC_IO_STATE_OLD_LENGTH "COMM::SETF-ASYNC-IO-STATE-OLD-LENGTH" "(value state)" (ctx, a) {
        let s = state_arg(ctx, &a[1])?; let n = crate::builtins::index(ctx, &a[0])?; s.old_length.set(n); Ok(a[0].clone())
    }
    /// The state's name, used when printing (SETF-able).
    fn ASYNC_IO_STATE_NAME "COMM:ASYNC-IO-STATE-NAME" "(state)" (ctx, a) {
        let s = state_arg(ctx, &a[0])?; let v = s.name.borrow().clone(); Ok(v)
    }
    /// Set the name.
    fn SETF_ASYNC_IO_STATE_NAME "COMM::SETF-ASYNC-IO-STATE-NAME" "(value state)" (ctx, a) {
        let s = state_arg(ctx, &a[1])?; *s.name.borrow_mut() = a[0].clone(); Ok(a[0].clone())
    }
    /// The local address and port of the state's socket.
    fn ASYNC_IO_STATE_ADDRESS "COMM:ASYNC-IO-STATE-ADDRESS" "(state)" [mv] (ctx, a) {
        let s = state_arg(ctx, &a[0])?; let sa = s.core.local_addr(); Ok(address_pair(ctx, sa))
    }
    /// The peer address and port of the state's socket.
    fn ASYNC_IO_STATE_PEER_ADDRESS "COMM:ASYNC-IO-STATE-PEER-ADDRESS" "(state)" [mv] (ctx, a) {
        let s = state_arg(ctx, &a[0])?; let sa = s.core.peer_addr(); Ok(address_pair(ctx, sa))
    }
}

/// The SETF functions of the state accessors.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    vec![
        (
            "COMM:ASYNC-IO-STATE-USER-INFO",
            &SETF_ASYNC_IO_STATE_USER_INFO,
        ),
        (
            "COMM:ASYNC-IO-STATE-READ-TIMEOUT",
            &SETF_ASYNC_IO_STATE_READ_TIMEOUT,
        ),
        (
            "COMM:ASYNC-IO-STATE-WRITE-TIMEOUT",
            &SETF_ASYNC_IO_STATE_WRITE_TIMEOUT,
        ),
        (
            "COMM:ASYNC-IO-STATE-MAX-READ",
            &SETF_ASYNC_IO_STATE_MAX_READ,
        ),
        (
            "COMM:ASYNC-IO-STATE-OLD-LENGTH",
            &SETF_ASYNC_IO_STATE_OLD_LENGTH,
        ),
        ("COMM:ASYNC-IO-STATE-NAME", &SETF_ASYNC_IO_STATE_NAME),
    ]
}
