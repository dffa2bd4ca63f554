//! The scheduler: every Lisp process is a stackful coroutine on the one
//! Lisp thread.
//!
//! The main process (the script or the REPL) runs on the thread's own
//! stack and acts as the scheduler: when it parks (sleep, a lock, a
//! mailbox, a socket) it runs the other processes until something wakes
//! it, and at its safe points it gives every ready process one time slice.
//! Other processes suspend back to it when their fuel runs out or when
//! they park. Sockets wait in a mio event loop; sleeps and timeouts in a
//! timer heap; other threads (the REPL's line editor, name resolution)
//! wake the loop through an eventfd.
//!
//! Special bindings are shallow: a process's bindings are unwound when it
//! is switched out and rewound when it is switched back in, so each
//! process sees its own bindings and everyone shares the global values.

use super::process::{process, Coro, Process, State, WaitQueue, Wake};
use crate::ctx::{Ctx, Exit, ProcessHooks, R};
use crate::value::Value;
use corosensei::stack::{DefaultStack, Stack};
use corosensei::CoroutineResult;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// What a process asks of the scheduler when it suspends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Its time slice is over; run it again later.
    Yield,
    /// It parked; something else will wake it.
    Block,
}

/// Native stack of each process. Pages are committed only when touched,
/// so a process that stays shallow costs a few pages.
pub const PROCESS_STACK: usize = 8 << 20;
/// Finished processes' stacks kept for reuse.
const STACK_POOL: usize = 64;
/// How often PROCESS-WAIT predicates are re-checked when nothing else
/// happens (they may depend on time).
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Resumes between two checks for I/O while processes are busy.
const RESUMES_PER_POLL: u32 = 64;
const WAKE_TOKEN: Token = Token(usize::MAX);

/// Something that happens at a time.
enum TimerEvent {
    /// Wake a parked process (its deadline), if still waiting with `u64`.
    Wake(Value, u64),
    /// Fire a Lisp timer if it still has this generation.
    Fire(Value, u64),
}

struct FdWait {
    interest: Interest,
    /// (process, token, wants readable)
    waiters: Vec<(Value, u64, bool)>,
    /// A standing watch (an async I/O collection): the sink, and whether
    /// it wants writability too.
    watcher: Option<(Rc<WatchSink>, bool)>,
}

impl FdWait {
    fn wanted(&self) -> Option<Interest> {
        let mut i: Option<Interest> = None;
        let mut add = |x: Interest| i = Some(i.map_or(x, |i| i.add(x)));
        for (_, _, r) in &self.waiters {
            add(if *r {
                Interest::READABLE
            } else {
                Interest::WRITABLE
            });
        }
        if let Some((_, w)) = &self.watcher {
            add(Interest::READABLE);
            if *w {
                add(Interest::WRITABLE);
            }
        }
        i
    }
}

/// Where the readiness of watched descriptors is collected: a standing
/// registration for many descriptors (an async I/O collection), so a
/// loop over thousands of sockets does not re-register them on every
/// wait. Edge-triggered: a ready descriptor is reported once, and its
/// owner reads until it would block (or looks again by itself).
#[derive(Default)]
pub struct WatchSink {
    /// Descriptors reported ready since the owner last looked.
    pub ready: RefCell<Vec<RawFd>>,
    /// The process parked on the sink and its wait token.
    pub waiter: RefCell<Option<(Value, u64)>>,
}

/// The thread's scheduler.
pub struct Scheduler {
    main: Value,
    current: RefCell<Value>,
    /// Unfinished processes by id (creation order), main first.
    live: RefCell<BTreeMap<u64, Value>>,
    ready: RefCell<VecDeque<Value>>,
    timers: RefCell<BinaryHeap<Reverse<(Instant, u64)>>>,
    timer_events: RefCell<HashMap<u64, TimerEvent>>,
    seq: Cell<u64>,
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    fds: RefCell<HashMap<RawFd, FdWait>>,
    /// Descriptors whose owner reports their closing ([`Scheduler::forget_fd`]):
    /// their registration is kept between waits, saving two epoll_ctl
    /// calls per wait for a socket that is waited on again and again.
    cached: RefCell<std::collections::HashSet<RawFd>>,
    external: WaitQueue,
    external_pending: Cell<usize>,
    poll_waiters: WaitQueue,
    ran_since_poll: Cell<bool>,
    resumes: Cell<u32>,
    stacks: RefCell<Vec<DefaultStack>>,
    quit: Cell<Option<i32>>,
    next_id: Cell<u64>,
    wake_fd: RawFd,
    switches: Cell<u64>,
}

thread_local! {
    static SCHED: Cell<Option<&'static Scheduler>> = const { Cell::new(None) };
}

/// Set by the REPL's SIGINT handler; the main process checks it.
static SIGINT: AtomicBool = AtomicBool::new(false);
/// The eventfd the SIGINT handler writes to (-1: none).
static SIGINT_FD: AtomicI32 = AtomicI32::new(-1);

/// The scheduler of this thread, created on first use.
pub fn sched() -> &'static Scheduler {
    if let Some(s) = SCHED.with(|c| c.get()) {
        return s;
    }
    let s: &'static Scheduler = Box::leak(Box::new(Scheduler::new()));
    SCHED.with(|c| c.set(Some(s)));
    s
}

/// The hooks every process context uses.
pub fn hooks() -> Rc<dyn ProcessHooks> {
    thread_local! {
        static HOOKS: Rc<dyn ProcessHooks> = Rc::new(SchedHooks);
    }
    HOOKS.with(|h| h.clone())
}

struct SchedHooks;

impl ProcessHooks for SchedHooks {
    fn safepoint(&self, ctx: &mut Ctx) -> R<()> {
        safepoint(ctx)
    }
    fn wait_fds(
        &self,
        ctx: &mut Ctx,
        fds: &[RawFd],
        readable: bool,
        timeout: Option<f64>,
    ) -> R<bool> {
        wait_fds(ctx, fds, readable, timeout)
    }
    fn sleep(&self, ctx: &mut Ctx, secs: f64) -> R<()> {
        sleep(ctx, secs)
    }
}

impl Scheduler {
    fn new() -> Scheduler {
        let main = crate::foreign::make(Process::new(0, "main".into(), true));
        let poll = Poll::new().expect("create the event loop");
        // SAFETY: plain syscall; the descriptor is owned by the scheduler.
        let wake_fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if wake_fd >= 0 {
            let _ =
                poll.registry()
                    .register(&mut SourceFd(&wake_fd), WAKE_TOKEN, Interest::READABLE);
        }
        Scheduler {
            current: RefCell::new(main.clone()),
            live: RefCell::new(BTreeMap::from([(0, main.clone())])),
            main,
            ready: RefCell::new(VecDeque::new()),
            timers: RefCell::new(BinaryHeap::new()),
            timer_events: RefCell::new(HashMap::new()),
            seq: Cell::new(0),
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(256)),
            fds: RefCell::new(HashMap::new()),
            cached: RefCell::new(std::collections::HashSet::new()),
            external: WaitQueue::default(),
            external_pending: Cell::new(0),
            poll_waiters: WaitQueue::default(),
            ran_since_poll: Cell::new(false),
            resumes: Cell::new(0),
            stacks: RefCell::new(Vec::new()),
            quit: Cell::new(None),
            next_id: Cell::new(1),
            wake_fd,
            switches: Cell::new(0),
        }
    }

    /// The main process.
    pub fn main(&self) -> &Value {
        &self.main
    }

    /// The running process.
    pub fn current(&self) -> Value {
        self.current.borrow().clone()
    }

    /// Every process that has not finished, main first.
    pub fn live(&self) -> Vec<Value> {
        self.live.borrow().values().cloned().collect()
    }

    /// Number of context switches so far (for benchmarks).
    pub fn switches(&self) -> u64 {
        self.switches.get()
    }

    /// A request to end the program (QUIT in some process), if any.
    pub fn quit_requested(&self) -> Option<i32> {
        self.quit.get()
    }

    /// Ask the program to end with `code`.
    pub fn request_quit(&self, code: i32) {
        if self.quit.get().is_none() {
            self.quit.set(Some(code));
        }
    }

    // -----------------------------------------------------------------
    // Creating processes

    /// Start a process running `f` on `args`.
    pub fn spawn(&self, name: String, f: Value, args: Vec<Value>) -> Value {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let pv = crate::foreign::make(Process::new(id, name, false));
        let stack = self.take_stack();
        let page = 4096;
        let stack_limit = stack.limit().get() + page + crate::STACK_MARGIN;
        let me = pv.clone();
        let coro = Coro::with_stack(stack, move |y, ()| {
            run_process(y, me, f, args, stack_limit);
        });
        *process(&pv).coroutine.borrow_mut() = Some(coro);
        self.live.borrow_mut().insert(id, pv.clone());
        self.ready.borrow_mut().push_back(pv.clone());
        pv
    }

    fn take_stack(&self) -> DefaultStack {
        match self.stacks.borrow_mut().pop() {
            Some(s) => s,
            None => DefaultStack::new(PROCESS_STACK).expect("allocate a process stack"),
        }
    }

    fn recycle_stack(&self, s: DefaultStack) {
        let mut pool = self.stacks.borrow_mut();
        if pool.len() < STACK_POOL {
            pool.push(s);
        }
    }

    // -----------------------------------------------------------------
    // Running processes

    /// Run `p` for one time slice (until it yields, parks or finishes).
    fn resume(&self, p: Value) {
        let proc = process(&p);
        let coro = proc.coroutine.borrow_mut().take();
        let Some(mut coro) = coro else { return };
        let polled_only = proc.wake.get() == Wake::Poll;
        proc.state.set(State::Running);
        *self.current.borrow_mut() = p.clone();
        self.switches.set(self.switches.get() + 1);
        let r = coro.resume(());
        *self.current.borrow_mut() = self.main.clone();
        if !polled_only {
            self.ran_since_poll.set(true);
        }
        match r {
            CoroutineResult::Yield(Request::Yield) => {
                *proc.coroutine.borrow_mut() = Some(coro);
                proc.state.set(State::Ready);
                self.ready.borrow_mut().push_back(p);
            }
            CoroutineResult::Yield(Request::Block) => {
                *proc.coroutine.borrow_mut() = Some(coro);
            }
            CoroutineResult::Return(()) => {
                proc.state.set(State::Dead);
                self.recycle_stack(coro.into_stack());
                self.live.borrow_mut().remove(&proc.id);
                proc.joiners.wake_all();
            }
        }
    }

    /// Give every process that is ready now one time slice (the main
    /// process's turn at a safe point).
    fn run_round(&self) {
        self.fire_timers();
        self.poll_io(Some(Duration::ZERO));
        self.wake_poll_waiters();
        let n = self.ready.borrow().len();
        for _ in 0..n {
            if self.quit.get().is_some() {
                break;
            }
            let next = self.ready.borrow_mut().pop_front();
            match next {
                Some(p) => self.resume(p),
                None => break,
            }
        }
    }

    /// Run other processes until `done` holds. Err if nothing can ever
    /// make it hold (every process waits and nothing can wake them).
    /// `idle` runs each time the thread is about to sleep in the poll.
    fn run_until(&self, done: &dyn Fn() -> bool, idle: &mut dyn FnMut()) -> Result<(), Stuck> {
        loop {
            if done() || self.quit.get().is_some() {
                return Ok(());
            }
            self.fire_timers();
            self.wake_poll_waiters();
            let next = self.ready.borrow_mut().pop_front();
            if let Some(p) = next {
                let n = self.resumes.get() + 1;
                if n >= RESUMES_PER_POLL {
                    self.resumes.set(0);
                    self.poll_io(Some(Duration::ZERO));
                } else {
                    self.resumes.set(n);
                }
                self.resume(p);
                continue;
            }
            if done() || self.quit.get().is_some() {
                return Ok(());
            }
            let mut timeout = self
                .next_timer()
                .map(|t| t.saturating_duration_since(Instant::now()));
            if !self.poll_waiters.is_empty() {
                timeout = Some(timeout.map_or(POLL_INTERVAL, |t| t.min(POLL_INTERVAL)));
            }
            if timeout.is_none()
                && self.fds.borrow().is_empty()
                && self.external_pending.get() == 0
                && self.external.is_empty()
            {
                return Err(Stuck);
            }
            if timeout != Some(Duration::ZERO) {
                idle();
            }
            self.poll_io(timeout);
        }
    }

    /// Let PROCESS-WAIT predicates be re-checked after other processes ran.
    fn wake_poll_waiters(&self) {
        if self.ran_since_poll.replace(false) && !self.poll_waiters.is_empty() {
            self.poll_waiters.wake_all_as(Wake::Poll);
        }
    }

    // -----------------------------------------------------------------
    // Timers

    fn add_timer(&self, at: Instant, ev: TimerEvent) {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        self.timers.borrow_mut().push(Reverse((at, seq)));
        self.timer_events.borrow_mut().insert(seq, ev);
    }

    /// Schedule Lisp timer `timer` (generation `generation`) to fire at `at`.
    pub fn schedule_timer(&self, timer: &Value, generation: u64, at: Instant) {
        self.add_timer(at, TimerEvent::Fire(timer.clone(), generation));
    }

    fn next_timer(&self) -> Option<Instant> {
        self.timers.borrow().peek().map(|Reverse((t, _))| *t)
    }

    /// Handle every timer event that is due.
    fn fire_timers(&self) {
        let now = Instant::now();
        loop {
            let due = match self.timers.borrow().peek() {
                Some(Reverse((t, _))) => *t <= now,
                None => false,
            };
            if !due {
                return;
            }
            let Some(Reverse((_, seq))) = self.timers.borrow_mut().pop() else {
                return;
            };
            let ev = self.timer_events.borrow_mut().remove(&seq);
            match ev {
                Some(TimerEvent::Wake(p, token)) => {
                    wake(&p, token, Wake::Timeout);
                }
                Some(TimerEvent::Fire(timer, generation)) => super::timer::fire(&timer, generation),
                None => {}
            }
        }
    }

    // -----------------------------------------------------------------
    // I/O

    /// Register `fd` with mio for `w`'s interest (or drop it when nothing
    /// is wanted). A descriptor that was closed and reused behind the
    /// table's back is registered afresh.
    fn sync_fd(&self, fd: RawFd, w: &mut FdWait, was_registered: bool) -> bool {
        let poll = self.poll.borrow();
        let reg = poll.registry();
        match w.wanted() {
            None => {
                let _ = reg.deregister(&mut SourceFd(&fd));
                false
            }
            Some(want) if was_registered && want == w.interest => true,
            Some(want) => {
                w.interest = want;
                let r = if was_registered {
                    reg.reregister(&mut SourceFd(&fd), Token(fd as usize), want)
                } else {
                    reg.register(&mut SourceFd(&fd), Token(fd as usize), want)
                };
                match r {
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                        let _ = reg.register(&mut SourceFd(&fd), Token(fd as usize), want);
                    }
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                        let _ = reg.reregister(&mut SourceFd(&fd), Token(fd as usize), want);
                    }
                    _ => {}
                }
                true
            }
        }
    }

    /// Watch `fd` for readability (and writability with `write`) until
    /// [`Scheduler::unwatch_fd`], reporting to `sink`.
    pub fn watch_fd(&self, fd: RawFd, sink: &Rc<WatchSink>, write: bool) {
        let mut fds = self.fds.borrow_mut();
        let known = fds.contains_key(&fd);
        let w = fds.entry(fd).or_insert_with(|| FdWait {
            interest: Interest::READABLE,
            waiters: Vec::new(),
            watcher: None,
        });
        w.watcher = Some((sink.clone(), write));
        self.sync_fd(fd, w, known);
    }

    /// Stop watching `fd` (before it is closed).
    pub fn unwatch_fd(&self, fd: RawFd) {
        let mut fds = self.fds.borrow_mut();
        let Some(w) = fds.get_mut(&fd) else { return };
        w.watcher = None;
        if !self.sync_fd(fd, w, true) {
            fds.remove(&fd);
        }
    }

    /// Keep `fd`'s registration between waits; its owner calls
    /// [`Scheduler::forget_fd`] before closing it.
    pub fn cache_fd(&self, fd: RawFd) {
        self.cached.borrow_mut().insert(fd);
    }

    /// `fd` is about to be closed: drop its registration and waiters'
    /// entry (the number may be reused by the next descriptor).
    pub fn forget_fd(&self, fd: RawFd) {
        self.cached.borrow_mut().remove(&fd);
        if let Some(w) = self.fds.borrow_mut().remove(&fd) {
            let _ = self.poll.borrow().registry().deregister(&mut SourceFd(&fd));
            drop(w);
        }
    }

    fn add_fd_waiter(&self, fd: RawFd, p: &Value, token: u64, readable: bool) {
        let want = if readable {
            Interest::READABLE
        } else {
            Interest::WRITABLE
        };
        let mut fds = self.fds.borrow_mut();
        let poll = self.poll.borrow();
        match fds.get_mut(&fd) {
            Some(w) => {
                let idle = w.waiters.is_empty() && w.watcher.is_none();
                w.waiters.push((p.clone(), token, readable));
                let merged = w.interest.add(want);
                // A kept registration is re-armed: edge-triggered events
                // that came while nobody waited were dropped, and a
                // modification reports the descriptor's state now.
                if merged != w.interest || idle {
                    w.interest = merged;
                    let _ =
                        poll.registry()
                            .reregister(&mut SourceFd(&fd), Token(fd as usize), merged);
                }
            }
            None => {
                let _ = poll
                    .registry()
                    .register(&mut SourceFd(&fd), Token(fd as usize), want);
                fds.insert(
                    fd,
                    FdWait {
                        interest: want,
                        waiters: vec![(p.clone(), token, readable)],
                        watcher: None,
                    },
                );
            }
        }
    }

    fn remove_fd_waiter(&self, fd: RawFd, p: &Value) {
        let mut fds = self.fds.borrow_mut();
        let Some(w) = fds.get_mut(&fd) else { return };
        w.waiters.retain(|(x, _, _)| !x.eq(p));
        if w.waiters.is_empty() && w.watcher.is_none() && !self.cached.borrow().contains(&fd) {
            fds.remove(&fd);
            let _ = self.poll.borrow().registry().deregister(&mut SourceFd(&fd));
        }
    }

    /// Wait up to `timeout` for I/O readiness and external wake-ups, and
    /// wake the processes concerned.
    fn poll_io(&self, timeout: Option<Duration>) {
        let mut events = self.events.borrow_mut();
        let r = self.poll.borrow_mut().poll(&mut events, timeout);
        if r.is_err() {
            return;
        }
        for ev in events.iter() {
            if ev.token() == WAKE_TOKEN {
                self.drain_wake_fd();
                self.external.wake_all();
                if SIGINT.load(Ordering::SeqCst) {
                    let main = process(&self.main);
                    wake(&self.main, main.token.get(), Wake::Interrupt);
                }
                continue;
            }
            let fd = ev.token().0 as RawFd;
            let (rd, wr) = (
                ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                ev.is_writable() || ev.is_write_closed() || ev.is_error(),
            );
            let (ready, sink): (Vec<(Value, u64)>, Option<Rc<WatchSink>>) =
                match self.fds.borrow().get(&fd) {
                    Some(w) => (
                        w.waiters
                            .iter()
                            .filter(|(_, _, readable)| if *readable { rd } else { wr })
                            .map(|(p, t, _)| (p.clone(), *t))
                            .collect(),
                        w.watcher
                            .as_ref()
                            .filter(|(_, write)| rd || (wr && *write))
                            .map(|(s, _)| s.clone()),
                    ),
                    None => (Vec::new(), None),
                };
            for (p, t) in ready {
                wake(&p, t, Wake::Io);
            }
            if let Some(sink) = sink {
                sink.ready.borrow_mut().push(fd);
                if let Some((p, t)) = sink.waiter.borrow().clone() {
                    wake(&p, t, Wake::Io);
                }
            }
        }
    }

    fn drain_wake_fd(&self) {
        let mut buf = [0u8; 8];
        // SAFETY: reading 8 bytes from our own non-blocking eventfd.
        unsafe { libc::read(self.wake_fd, buf.as_mut_ptr().cast(), 8) };
    }

    /// A handle other threads use to wake this scheduler.
    pub fn notifier(&self) -> Notifier {
        Notifier { fd: self.wake_fd }
    }

    /// An external operation (another thread's work) has started; the
    /// scheduler will not report a deadlock while one is pending.
    pub fn external_begin(&self) {
        self.external_pending.set(self.external_pending.get() + 1);
    }

    /// An external operation has finished.
    pub fn external_end(&self) {
        self.external_pending
            .set(self.external_pending.get().saturating_sub(1));
    }
}

/// Every process is waiting and nothing (no timer, socket or other
/// thread) can ever wake one.
#[derive(Debug)]
pub struct Stuck;

/// Wakes a scheduler from another thread.
#[derive(Clone, Copy, Debug)]
pub struct Notifier {
    fd: RawFd,
}

impl Notifier {
    /// Wake the scheduler's event loop.
    pub fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writing 8 bytes to an eventfd; harmless if it is full.
        unsafe { libc::write(self.fd, (&one as *const u64).cast(), 8) };
    }
}

extern "C" fn on_sigint(_: libc::c_int) {
    SIGINT.store(true, Ordering::SeqCst);
    let fd = SIGINT_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: write(2) is async-signal-safe.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}

/// Make Ctrl-C interrupt the main process's current evaluation (the REPL)
/// instead of ending the program.
pub fn catch_sigint() {
    SIGINT_FD.store(sched().wake_fd, Ordering::SeqCst);
    // SAFETY: installing a handler that only touches atomics and write(2).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}

/// Whether Ctrl-C was pressed since the last call (clears the flag).
pub fn take_sigint() -> bool {
    SIGINT.swap(false, Ordering::SeqCst)
}

// ---------------------------------------------------------------------
// The process body

fn run_process(
    y: &corosensei::Yielder<(), Request>,
    me: Value,
    f: Value,
    args: Vec<Value>,
    stack_limit: usize,
) {
    let proc = process(&me);
    proc.yielder.set(y as *const _);
    let mut ctx = Ctx::new();
    ctx.is_main = false;
    ctx.stack_limit = stack_limit;
    ctx.hooks = Some(hooks());
    ctx.debugger = Some(process_debugger());
    ctx.bind_special(&super::current_process_symbol(), me.clone());
    let r = crate::eval::apply(&mut ctx, &f, &args);
    match r {
        Ok(v) => {
            let vals = ctx.take_values(v);
            *proc.result.borrow_mut() = vals;
            proc.normal_exit.set(true);
        }
        Err(e) if e == Exit::QUIT => sched().request_quit(ctx.quit_code),
        Err(_) => {}
    }
    ctx.unbind_to(0);
    proc.yielder.set(std::ptr::null());
}

/// An unhandled error in a process: report it with the process's name on
/// *ERROR-OUTPUT* and end the process; the others keep running.
fn process_debugger() -> crate::ctx::Debugger {
    Rc::new(|ctx: &mut Ctx, cond: &Value| {
        let name = process(&sched().current()).name.borrow().clone();
        // What the program printed so far comes before the report.
        crate::stream::flush_standard(ctx);
        let text = crate::conditions::describe_unhandled(ctx, cond);
        let msg = format!("Error in process {:?}:\n{}", name, text);
        let err = crate::world::w().s.error_output.value();
        let written = match &err {
            Value::Stream(s) => {
                crate::stream::write_str(ctx, s, &msg).is_ok()
                    && crate::stream::force_output(ctx, s).is_ok()
            }
            _ => false,
        };
        if !written {
            eprint!("{}", msg);
        }
        Exit::KILL
    })
}

// ---------------------------------------------------------------------
// Parking and waking

/// Wake process `p` if it still waits with `token`. Returns whether it did.
pub fn wake(p: &Value, token: u64, why: Wake) -> bool {
    let proc = process(p);
    if proc.state.get() != State::Blocked || proc.token.get() != token {
        return false;
    }
    proc.wake.set(why);
    proc.state.set(State::Ready);
    if !proc.is_main {
        sched().ready.borrow_mut().push_back(p.clone());
    }
    true
}

/// Park the current process (after [`Process::begin_wait`] and after
/// registering it wherever it waits) until it is woken or `deadline`
/// passes. Delivers kills and interrupts when it wakes.
pub fn park(ctx: &mut Ctx, deadline: Option<Instant>) -> R<Wake> {
    let s = sched();
    let p = s.current();
    let proc = process(&p);
    // Pending interrupts run now, unless the process blocks them (then it
    // parks like any other, and they run when it leaves that region).
    if proc.has_interrupts() && proc.no_preempt.get() == 0 {
        deliver_interrupts(ctx, proc)?;
        return Ok(Wake::Interrupt);
    }
    proc.state.set(State::Blocked);
    if let Some(d) = deadline {
        s.add_timer(d, TimerEvent::Wake(p.clone(), proc.token.get()));
    }
    switch_out(ctx, &p, Request::Block)?;
    deliver_interrupts(ctx, proc)?;
    Ok(proc.wake.get())
}

/// Leave the CPU: a coroutine suspends to the scheduler; the main process
/// runs the scheduler itself until it is woken.
fn switch_out(ctx: &mut Ctx, p: &Value, req: Request) -> R<()> {
    let s = sched();
    let proc = process(p);
    ctx.unwind_bindings();
    if proc.is_main {
        let stuck = match req {
            // Whatever the program printed shows before the whole thread
            // sleeps (a server waiting for its next client, say), as a
            // line-buffered stdout would show it, without a write per line.
            Request::Block => s
                .run_until(
                    &|| process(&s.main).state.get() != State::Blocked,
                    &mut || crate::stream::flush_standard(ctx),
                )
                .is_err(),
            Request::Yield => {
                s.run_round();
                false
            }
        };
        proc.state.set(State::Running);
        *s.current.borrow_mut() = p.clone();
        ctx.rewind_bindings();
        if stuck {
            return Err(crate::conditions::simple_error(
                ctx,
                "deadlock: the main process waits, and no other process, timer, socket or thread can wake it".into(),
            ));
        }
    } else {
        // SAFETY: set by run_process for the lifetime of the coroutine, which
        // is running (it is the current process).
        let y = unsafe { &*proc.yielder.get() };
        y.suspend(req);
        ctx.rewind_bindings();
    }
    if let Some(code) = s.quit.get() {
        ctx.quit_code = code;
        return Err(Exit::QUIT);
    }
    Ok(())
}

/// Run pending interrupts of the current process; a kill request unwinds
/// (nothing happens while the process blocks interrupts).
pub fn deliver_interrupts(ctx: &mut Ctx, proc: &Process) -> R<()> {
    if proc.no_preempt.get() > 0 {
        return Ok(());
    }
    if proc.kill.replace(false) {
        return Err(Exit::KILL);
    }
    if proc.is_main && take_sigint() {
        return Err(interrupt_main(ctx));
    }
    loop {
        let next = proc.interrupts.borrow_mut().pop_front();
        let Some((f, args)) = next else { return Ok(()) };
        crate::eval::apply(ctx, &f, &args)?;
    }
}

/// Ctrl-C in the main process: back to the REPL prompt (its ABORT restart).
fn interrupt_main(ctx: &mut Ctx) -> Exit {
    let abort = ctx
        .restarts
        .iter()
        .rev()
        .find(|r| matches!(&r.name, Value::Symbol(s) if s.name() == "ABORT"))
        .cloned();
    crate::stream::flush_standard(ctx);
    eprintln!("\n; Interrupted.");
    match abort {
        Some(r) => match crate::conditions::invoke(ctx, &r, vec![]) {
            Err(e) => e,
            Ok(_) => Exit::QUIT,
        },
        None => {
            ctx.quit_code = 130;
            Exit::QUIT
        }
    }
}

/// A safe point (the process's fuel ran out): deliver interrupts and give
/// other processes their turn.
pub fn safepoint(ctx: &mut Ctx) -> R<()> {
    let s = sched();
    let p = s.current();
    let proc = process(&p);
    if proc.no_preempt.get() > 0 {
        return Ok(());
    }
    if proc.is_main {
        s.ran_since_poll.set(true);
        if SIGINT.load(Ordering::Relaxed) {
            deliver_interrupts(ctx, proc)?;
        }
        s.fire_timers();
        s.poll_io(Some(Duration::ZERO));
        if !s.ready.borrow().is_empty() {
            switch_out(ctx, &p, Request::Yield)?;
        }
    } else {
        s.fire_timers();
        s.poll_io(Some(Duration::ZERO));
        let main_wants_cpu = process(&s.main).state.get() != State::Blocked;
        if main_wants_cpu || !s.ready.borrow().is_empty() {
            switch_out(ctx, &p, Request::Yield)?;
        }
    }
    if let Some(code) = s.quit.get() {
        ctx.quit_code = code;
        return Err(Exit::QUIT);
    }
    deliver_interrupts(ctx, proc)
}

/// Sleep for `secs` seconds; other processes run meanwhile.
pub fn sleep(ctx: &mut Ctx, secs: f64) -> R<()> {
    let deadline = Instant::now() + Duration::from_secs_f64(secs.max(0.0));
    let p = sched().current();
    let proc = process(&p);
    loop {
        if Instant::now() >= deadline {
            return Ok(());
        }
        proc.begin_wait("Sleeping");
        if park(ctx, Some(deadline))? == Wake::Timeout {
            return Ok(());
        }
    }
}

/// Give other ready processes a turn now.
pub fn yield_now(ctx: &mut Ctx) -> R<()> {
    let s = sched();
    let p = s.current();
    if !s.ready.borrow().is_empty() || !process(&p).is_main {
        switch_out(ctx, &p, Request::Yield)?;
    }
    deliver_interrupts(ctx, process(&p))
}

/// Wait until `fd` is readable (or writable) or the timeout passes;
/// false on timeout.
pub fn wait_fd(ctx: &mut Ctx, fd: RawFd, readable: bool, timeout: Option<f64>) -> R<bool> {
    wait_fds(ctx, &[fd], readable, timeout)
}

/// Wait until any of `fds` is readable (or writable) or the timeout
/// passes; false on timeout.
pub fn wait_fds(ctx: &mut Ctx, fds: &[RawFd], readable: bool, timeout: Option<f64>) -> R<bool> {
    let s = sched();
    let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)));
    let p = s.current();
    let proc = process(&p);
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
        let t = proc.begin_wait(if readable {
            "Waiting for input"
        } else {
            "Waiting for output"
        });
        for &fd in fds {
            s.add_fd_waiter(fd, &p, t, readable);
        }
        let w = park(ctx, deadline);
        for &fd in fds {
            s.remove_fd_waiter(fd, &p);
        }
        match w? {
            Wake::Io => return Ok(true),
            Wake::Timeout => return Ok(false),
            _ => {}
        }
    }
}

/// What a wait on a [`WatchSink`] ended with.
#[derive(Debug, PartialEq, Eq)]
pub enum IoWait {
    /// Some watched descriptors are ready (they are in the sink).
    Ready,
    /// Another process woke it with [`signal`].
    Signalled,
    /// The deadline passed.
    Timeout,
}

/// Park on `sink` until a watched descriptor is ready, another process
/// calls [`signal`] with the sink's waiter, or the deadline passes.
pub fn wait_watched(ctx: &mut Ctx, sink: &WatchSink, deadline: Option<Instant>) -> R<IoWait> {
    if !sink.ready.borrow().is_empty() {
        return Ok(IoWait::Ready);
    }
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Ok(IoWait::Timeout);
    }
    let s = sched();
    let p = s.current();
    let t = process(&p).begin_wait("Waiting for I/O");
    *sink.waiter.borrow_mut() = Some((p.clone(), t));
    let w = park(ctx, deadline);
    *sink.waiter.borrow_mut() = None;
    Ok(match w? {
        _ if !sink.ready.borrow().is_empty() => IoWait::Ready,
        Wake::Timeout => IoWait::Timeout,
        _ => IoWait::Signalled,
    })
}

/// Wake the process parked with `token` (no effect if it has stopped
/// waiting since).
pub fn signal(p: &Value, token: u64) -> bool {
    wake(p, token, Wake::Signal)
}

/// Wait until another thread notifies the scheduler (see
/// [`Scheduler::notifier`]) or the deadline passes.
pub fn wait_external(ctx: &mut Ctx, deadline: Option<Instant>) -> R<Wake> {
    let s = sched();
    let p = s.current();
    let t = process(&p).begin_wait("Waiting for an external event");
    s.external.add(&p, t);
    let w = park(ctx, deadline);
    s.external.remove(&p);
    w
}

/// PROCESS-WAIT: wait until `pred` applied to `args` is true (checked
/// whenever another process has run, and at least every 50 ms), or the
/// deadline passes. Returns whether the predicate became true.
pub fn process_wait(
    ctx: &mut Ctx,
    reason: &str,
    pred: &Value,
    args: &[Value],
    deadline: Option<Instant>,
) -> R<bool> {
    let s = sched();
    let p = s.current();
    let proc = process(&p);
    let result = (|| loop {
        if crate::eval::apply(ctx, pred, args)?.truthy() {
            return Ok(true);
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(false);
        }
        let t = proc.begin_wait(reason);
        proc.in_process_wait.set(true);
        s.poll_waiters.add(&p, t);
        let until = now + POLL_INTERVAL;
        let wake_at = Some(deadline.map_or(until, |d| d.min(until)));
        let w = park(ctx, wake_at);
        s.poll_waiters.remove(&p);
        w?;
    })();
    proc.in_process_wait.set(false);
    result
}

/// After the main script: run until every other process has finished.
/// Returns early if the program is asked to quit; if the remaining
/// processes can never run again, says so and returns.
pub fn finish_main(ctx: &mut Ctx) -> R<()> {
    let s = sched();
    let main = process(&s.main);
    if s.live.borrow().len() > 1 {
        ctx.unwind_bindings();
        main.state.set(State::Blocked);
        let r = s.run_until(&|| s.live.borrow().len() <= 1, &mut || {
            crate::stream::flush_standard(ctx)
        });
        main.state.set(State::Running);
        ctx.rewind_bindings();
        if r.is_err() {
            let n = s.live.borrow().len() - 1;
            crate::stream::flush_standard(ctx);
            eprintln!(
                "netlisp: {} process{} still waiting, and nothing can wake {}; exiting.",
                n,
                if n == 1 { " is" } else { "es are" },
                if n == 1 { "it" } else { "them" }
            );
        }
    }
    if let Some(code) = s.quit.get() {
        ctx.quit_code = code;
        return Err(Exit::QUIT);
    }
    Ok(())
}
