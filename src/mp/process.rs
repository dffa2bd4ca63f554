//! The process object: one green thread, its state, and the queues
//! processes wait in.

use super::scheduler::Request;
use crate::foreign::ForeignObj;
use crate::gc::Tracer;
use crate::value::Value;
use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, Yielder};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

/// A process's coroutine: resumed with nothing, yields a [`Request`].
pub type Coro = Coroutine<(), Request, (), DefaultStack>;

/// Where a process is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    /// Waiting in the ready queue for its turn.
    Ready,
    /// Running now.
    Running,
    /// Parked until something wakes it (a lock, a mailbox, a timer, I/O).
    Blocked,
    /// Finished: returned, errored out or killed.
    Dead,
}

impl State {
    /// How PROCESS-WHOSTATE and the printer describe the state.
    pub fn describe(self) -> &'static str {
        match self {
            State::Ready => "Ready",
            State::Running => "Running",
            State::Blocked => "Waiting",
            State::Dead => "Dead",
        }
    }
}

/// Why a parked process was woken.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wake {
    /// Not woken yet.
    None,
    /// Another process signalled what it waits for.
    Signal,
    /// Its deadline passed.
    Timeout,
    /// Its file descriptor became ready.
    Io,
    /// An external event (REPL input, a helper thread) arrived.
    External,
    /// Someone wants it to re-check a PROCESS-WAIT predicate.
    Poll,
    /// It has a kill request or an interrupt to run.
    Interrupt,
}

/// A Lisp process.
pub struct Process {
    /// Unique number, in creation order.
    pub id: u64,
    /// The name given to PROCESS-RUN-FUNCTION.
    pub name: RefCell<String>,
    /// Current state.
    pub state: Cell<State>,
    /// Generation of the current wait: wake-ups carrying an older token
    /// are stale (the process has since woken and parked again).
    pub token: Cell<u64>,
    /// Why it was last woken.
    pub wake: Cell<Wake>,
    /// A kill was requested.
    pub kill: Cell<bool>,
    /// Functions to run in the process at its next safe point.
    pub interrupts: RefCell<VecDeque<(Value, Vec<Value>)>>,
    /// The values its function returned.
    pub result: RefCell<Vec<Value>>,
    /// Whether its function returned (rather than erroring out or being killed).
    pub normal_exit: Cell<bool>,
    /// PROCESS-PLIST.
    pub plist: RefCell<Value>,
    /// The process's mailbox, if it has one.
    pub mailbox: RefCell<Value>,
    /// PROCESS-PRIORITY (recorded; all processes get equal time slices).
    pub priority: Cell<i64>,
    /// What it is waiting for, while blocked.
    pub whostate: RefCell<String>,
    /// Inside PROCESS-WAIT: the whostate holds even while the process is
    /// briefly ready to re-test its predicate.
    pub in_process_wait: Cell<bool>,
    /// The coroutine (None for the main process, and while it runs).
    pub coroutine: RefCell<Option<Coro>>,
    /// The coroutine's yielder, valid while the coroutine is alive.
    pub yielder: Cell<*const Yielder<(), Request>>,
    /// Processes waiting for this one to finish.
    pub joiners: WaitQueue,
    /// Whether this is the program's main process (the script or REPL).
    pub is_main: bool,
    /// Nesting depth of WITHOUT-PREEMPTION / WITHOUT-INTERRUPTS.
    pub no_preempt: Cell<u32>,
}

impl Process {
    /// A new process object (not yet scheduled).
    pub fn new(id: u64, name: String, is_main: bool) -> Process {
        Process {
            id,
            name: RefCell::new(name),
            state: Cell::new(if is_main {
                State::Running
            } else {
                State::Ready
            }),
            token: Cell::new(0),
            wake: Cell::new(Wake::None),
            kill: Cell::new(false),
            interrupts: RefCell::new(VecDeque::new()),
            result: RefCell::new(Vec::new()),
            normal_exit: Cell::new(false),
            plist: RefCell::new(Value::Nil),
            mailbox: RefCell::new(Value::Nil),
            priority: Cell::new(0),
            whostate: RefCell::new(String::new()),
            in_process_wait: Cell::new(false),
            coroutine: RefCell::new(None),
            yielder: Cell::new(std::ptr::null()),
            joiners: WaitQueue::default(),
            is_main,
            no_preempt: Cell::new(0),
        }
    }

    /// Whether the process has not finished.
    pub fn alive(&self) -> bool {
        self.state.get() != State::Dead
    }

    /// Start a new wait: returns the token wake-ups must carry.
    pub fn begin_wait(&self, whostate: &str) -> u64 {
        let t = self.token.get() + 1;
        self.token.set(t);
        self.wake.set(Wake::None);
        whostate.clone_into(&mut self.whostate.borrow_mut());
        t
    }

    /// Whether a kill or an interrupt is pending.
    pub fn has_interrupts(&self) -> bool {
        self.kill.get() || !self.interrupts.borrow().is_empty()
    }
}

impl ForeignObj for Process {
    fn type_name(&self) -> &'static str {
        "PROCESS"
    }
    fn trace(&self, t: &mut Tracer) {
        match (
            self.plist.try_borrow(),
            self.mailbox.try_borrow(),
            self.result.try_borrow(),
        ) {
            (Ok(p), Ok(m), Ok(r)) => {
                p.trace(t);
                m.trace(t);
                for v in r.iter() {
                    v.trace(t);
                }
            }
            _ => t.fail(),
        }
    }
    fn clear(&self) {
        *self.plist.borrow_mut() = Value::Nil;
        *self.mailbox.borrow_mut() = Value::Nil;
        self.result.borrow_mut().clear();
    }
    fn describe(&self) -> String {
        format!("{:?} {}", self.name.borrow(), self.state.get().describe())
    }
    fn class(&self) -> Option<crate::gc::Gc<crate::clos::Class>> {
        crate::clos::find_class(&crate::world::intern_value("PROCESS", &super::mp_package()))
    }
}

/// The process object inside a value.
pub fn process(v: &Value) -> &Process {
    crate::foreign::get::<Process>(v).expect("a process value")
}

/// Processes waiting for something, oldest first. Entries whose token is
/// stale (the process already woke for another reason) are skipped.
#[derive(Default)]
pub struct WaitQueue {
    q: RefCell<VecDeque<(Value, u64)>>,
}

impl WaitQueue {
    /// Add a process waiting with `token`.
    pub fn add(&self, p: &Value, token: u64) {
        self.q.borrow_mut().push_back((p.clone(), token));
    }

    /// Remove a process's entries (it stopped waiting, e.g. timed out).
    pub fn remove(&self, p: &Value) {
        self.q.borrow_mut().retain(|(x, _)| !x.eq(p));
    }

    /// Park the current process in this queue until it is woken, or the
    /// deadline passes (`Wake::Timeout`, also returned at once if the
    /// deadline has already passed).
    pub fn wait(
        &self,
        ctx: &mut crate::ctx::Ctx,
        deadline: Option<std::time::Instant>,
        whostate: &str,
    ) -> crate::ctx::R<Wake> {
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Ok(Wake::Timeout);
        }
        let me = super::scheduler::sched().current();
        let t = process(&me).begin_wait(whostate);
        self.add(&me, t);
        let w = super::scheduler::park(ctx, deadline);
        if !matches!(w, Ok(Wake::Signal)) {
            self.remove(&me);
        }
        w
    }

    /// Wake the first process still waiting; false if there is none.
    pub fn wake_one(&self) -> bool {
        loop {
            let entry = self.q.borrow_mut().pop_front();
            let Some((p, token)) = entry else {
                return false;
            };
            if super::scheduler::wake(&p, token, Wake::Signal) {
                return true;
            }
        }
    }

    /// Wake every waiting process.
    pub fn wake_all(&self) {
        self.wake_all_as(Wake::Signal)
    }

    /// Wake every waiting process, giving `why` as the reason.
    pub fn wake_all_as(&self, why: Wake) {
        let all: Vec<(Value, u64)> = self.q.borrow_mut().drain(..).collect();
        for (p, token) in all {
            super::scheduler::wake(&p, token, why);
        }
    }

    /// Whether no process waits.
    pub fn is_empty(&self) -> bool {
        self.q.borrow().is_empty()
    }

    /// Number of entries (some may be stale).
    pub fn len(&self) -> usize {
        self.q.borrow().len()
    }
}
