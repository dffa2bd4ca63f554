//! Locks, mailboxes, condition variables and semaphores. Each blocking
//! operation parks only the calling process and takes an optional
//! deadline.

use super::process::{process, WaitQueue, Wake};
use super::scheduler::{park, sched};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::foreign::ForeignObj;
use crate::gc::Tracer;
use crate::value::Value;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::time::Instant;

fn class_named(name: &str) -> Option<crate::gc::Gc<crate::clos::Class>> {
    crate::clos::find_class(&crate::world::intern_value(name, &super::mp_package()))
}

// ---------------------------------------------------------------------
// Locks

/// MP:LOCK. Recursive by default, as in LispWorks.
pub struct Lock {
    /// The lock's name.
    pub name: String,
    owner: RefCell<Value>,
    depth: Cell<u32>,
    recursive: bool,
    waiters: WaitQueue,
}

impl ForeignObj for Lock {
    fn type_name(&self) -> &'static str {
        "LOCK"
    }
    fn holds_values(&self) -> bool {
        false
    }
    fn describe(&self) -> String {
        let owner = self.owner.borrow();
        if owner.is_nil() {
            format!("{:?} unlocked", self.name)
        } else {
            format!(
                "{:?} locked by {:?}",
                self.name,
                process(&owner).name.borrow()
            )
        }
    }
    fn class(&self) -> Option<crate::gc::Gc<crate::clos::Class>> {
        class_named("LOCK")
    }
}

impl Lock {
    /// A new unlocked lock.
    pub fn new(name: String, recursive: bool) -> Lock {
        Lock {
            name,
            owner: RefCell::new(Value::Nil),
            depth: Cell::new(0),
            recursive,
            waiters: WaitQueue::default(),
        }
    }

    /// The owning process, or NIL.
    pub fn owner(&self) -> Value {
        self.owner.borrow().clone()
    }

    /// Claim the lock for the current process, waiting until `deadline`.
    /// Returns false on timeout.
    pub fn acquire(&self, ctx: &mut Ctx, deadline: Option<Instant>, whostate: &str) -> R<bool> {
        let me = sched().current();
        loop {
            let owner = self.owner();
            if owner.is_nil() {
                *self.owner.borrow_mut() = me;
                self.depth.set(1);
                return Ok(true);
            }
            if owner.eq(&me) {
                if !self.recursive {
                    return Err(cond::simple_error(
                        ctx,
                        format!(
                            "lock {:?} is already held by this process and is not recursive",
                            self.name
                        ),
                    ));
                }
                self.depth.set(self.depth.get() + 1);
                return Ok(true);
            }
            if self.waiters.wait(ctx, deadline, whostate)? == Wake::Timeout {
                return Ok(false);
            }
        }
    }

    /// Release one level of the current process's claim. Signals an error
    /// when the process does not hold the lock (unless `errorp` is false).
    pub fn release(&self, ctx: &mut Ctx, errorp: bool) -> R<bool> {
        let me = sched().current();
        if !self.owner().eq(&me) {
            if errorp {
                return Err(cond::simple_error(
                    ctx,
                    format!(
                        "process {:?} does not hold lock {:?}",
                        process(&me).name.borrow(),
                        self.name
                    ),
                ));
            }
            return Ok(false);
        }
        let d = self.depth.get() - 1;
        self.depth.set(d);
        if d == 0 {
            *self.owner.borrow_mut() = Value::Nil;
            self.waiters.wake_one();
        }
        Ok(true)
    }

    /// Release every level (before waiting on a condition variable);
    /// returns the depth to restore.
    fn release_all(&self) -> u32 {
        let d = self.depth.replace(0);
        *self.owner.borrow_mut() = Value::Nil;
        self.waiters.wake_one();
        d
    }

    fn restore_depth(&self, d: u32) {
        self.depth.set(d.max(1));
    }
}

/// The lock inside a value.
pub fn lock_of(v: &Value) -> Option<&Lock> {
    crate::foreign::get::<Lock>(v)
}

// ---------------------------------------------------------------------
// Mailboxes

/// MP:MAILBOX: a FIFO queue that readers wait on.
pub struct Mailbox {
    /// The mailbox's name.
    pub name: String,
    items: RefCell<VecDeque<Value>>,
    readers: WaitQueue,
}

impl ForeignObj for Mailbox {
    fn type_name(&self) -> &'static str {
        "MAILBOX"
    }
    fn trace(&self, t: &mut Tracer) {
        match self.items.try_borrow() {
            Ok(items) => {
                for v in items.iter() {
                    v.trace(t);
                }
            }
            Err(_) => t.fail(),
        }
    }
    fn clear(&self) {
        self.items.borrow_mut().clear();
    }
    fn describe(&self) -> String {
        format!("{:?} ({} items)", self.name, self.items.borrow().len())
    }
    fn class(&self) -> Option<crate::gc::Gc<crate::clos::Class>> {
        class_named("MAILBOX")
    }
}

impl Mailbox {
    /// A new empty mailbox.
    pub fn new(name: String) -> Mailbox {
        Mailbox {
            name,
            items: RefCell::new(VecDeque::new()),
            readers: WaitQueue::default(),
        }
    }

    /// Add an object and wake a reader.
    pub fn send(&self, v: Value) {
        self.items.borrow_mut().push_back(v);
        self.readers.wake_one();
    }

    /// Take the oldest object, waiting until `deadline`; None on timeout.
    pub fn read(
        &self,
        ctx: &mut Ctx,
        deadline: Option<Instant>,
        whostate: &str,
    ) -> R<Option<Value>> {
        self.wait(ctx, deadline, whostate, true)
    }

    /// Wait until the mailbox is not empty (without taking anything);
    /// false on timeout.
    pub fn wait_nonempty(
        &self,
        ctx: &mut Ctx,
        deadline: Option<Instant>,
        whostate: &str,
    ) -> R<bool> {
        Ok(self.wait(ctx, deadline, whostate, false)?.is_some())
    }

    fn wait(
        &self,
        ctx: &mut Ctx,
        deadline: Option<Instant>,
        whostate: &str,
        take: bool,
    ) -> R<Option<Value>> {
        loop {
            let head = if take {
                self.items.borrow_mut().pop_front()
            } else {
                self.items.borrow().front().cloned()
            };
            if let Some(v) = head {
                // Another reader may be waiting for what is left.
                if !self.items.borrow().is_empty() {
                    self.readers.wake_one();
                }
                return Ok(Some(v));
            }
            if self.readers.wait(ctx, deadline, whostate)? == Wake::Timeout {
                return Ok(None);
            }
        }
    }

    /// The oldest object without removing it.
    pub fn peek(&self) -> Option<Value> {
        self.items.borrow().front().cloned()
    }

    /// Number of objects waiting.
    pub fn count(&self) -> usize {
        self.items.borrow().len()
    }
}

/// The mailbox inside a value.
pub fn mailbox_of(v: &Value) -> Option<&Mailbox> {
    crate::foreign::get::<Mailbox>(v)
}

// ---------------------------------------------------------------------
// Condition variables

/// MP:CONDITION-VARIABLE.
pub struct CondVar {
    /// The name.
    pub name: String,
    waiters: WaitQueue,
}

impl ForeignObj for CondVar {
    fn type_name(&self) -> &'static str {
        "CONDITION-VARIABLE"
    }
    fn holds_values(&self) -> bool {
        false
    }
    fn describe(&self) -> String {
        format!("{:?}", self.name)
    }
    fn class(&self) -> Option<crate::gc::Gc<crate::clos::Class>> {
        class_named("CONDITION-VARIABLE")
    }
}

impl CondVar {
    /// A new condition variable.
    pub fn new(name: String) -> CondVar {
        CondVar {
            name,
            waiters: WaitQueue::default(),
        }
    }

    /// Release `lock`, wait for a signal (or the deadline), claim `lock`
    /// again. Returns whether it was signalled.
    pub fn wait(
        &self,
        ctx: &mut Ctx,
        lock: &Lock,
        deadline: Option<Instant>,
        whostate: &str,
    ) -> R<bool> {
        let me = sched().current();
        if !lock.owner().eq(&me) {
            return Err(cond::simple_error(
                ctx,
                format!(
                    "CONDITION-VARIABLE-WAIT: lock {:?} is not held by this process",
                    lock.name
                ),
            ));
        }
        let t = process(&me).begin_wait(whostate);
        self.waiters.add(&me, t);
        let depth = lock.release_all();
        let w = park(ctx, deadline);
        if !matches!(w, Ok(Wake::Signal)) {
            self.waiters.remove(&me);
        }
        // Claim the lock again whatever happened (also when unwinding).
        let relock = lock.acquire(ctx, None, whostate);
        lock.restore_depth(depth);
        relock?;
        Ok(w? == Wake::Signal)
    }

    /// Wake one waiter; whether there was one.
    pub fn signal(&self) -> bool {
        self.waiters.wake_one()
    }

    /// Wake every waiter.
    pub fn broadcast(&self) {
        self.waiters.wake_all()
    }

    /// Number of processes waiting.
    pub fn waiting(&self) -> usize {
        self.waiters.len()
    }
}

// ---------------------------------------------------------------------
// Semaphores

/// MP:SEMAPHORE: a counter that ACQUIRE decrements, waiting while it is
/// too small.
pub struct Semaphore {
    /// The name.
    pub name: String,
    count: Cell<i64>,
    waiters: WaitQueue,
}

impl ForeignObj for Semaphore {
    fn type_name(&self) -> &'static str {
        "SEMAPHORE"
    }
    fn holds_values(&self) -> bool {
        false
    }
    fn describe(&self) -> String {
        format!("{:?} count {}", self.name, self.count.get())
    }
    fn class(&self) -> Option<crate::gc::Gc<crate::clos::Class>> {
        class_named("SEMAPHORE")
    }
}

impl Semaphore {
    /// A semaphore with an initial count.
    pub fn new(name: String, count: i64) -> Semaphore {
        Semaphore {
            name,
            count: Cell::new(count),
            waiters: WaitQueue::default(),
        }
    }

    /// Take `n` units, waiting until `deadline`; false on timeout.
    pub fn acquire(
        &self,
        ctx: &mut Ctx,
        n: i64,
        deadline: Option<Instant>,
        whostate: &str,
    ) -> R<bool> {
        loop {
            if self.count.get() >= n {
                self.count.set(self.count.get() - n);
                return Ok(true);
            }
            if self.waiters.wait(ctx, deadline, whostate)? == Wake::Timeout {
                return Ok(false);
            }
        }
    }

    /// Give back `n` units and wake waiters.
    pub fn release(&self, n: i64) {
        self.count.set(self.count.get() + n);
        self.waiters.wake_all();
    }

    /// The current count.
    pub fn count(&self) -> i64 {
        self.count.get()
    }
}
