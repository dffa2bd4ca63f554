//! MP timers: a function to call at a time, once or repeatedly.
//!
//! When a timer expires, its function runs in a new process named after
//! the timer, so it may block and an error in it ends only that process.
//! (The LispWorks manual does not say which process runs a timer
//! function; see docs/processes.md.)

use super::scheduler::sched;
use crate::foreign::ForeignObj;
use crate::gc::Tracer;
use crate::value::Value;
use std::cell::Cell;
use std::time::{Duration, Instant};

/// An MP:TIMER.
pub struct Timer {
    /// Its name (NIL for MAKE-TIMER timers).
    pub name: Value,
    function: Value,
    args: Vec<Value>,
    /// When it next expires, if scheduled.
    expires: Cell<Option<Instant>>,
    repeat: Cell<Option<Duration>>,
    /// Bumped on every (re)schedule, so stale heap entries are ignored.
    generation: Cell<u64>,
    fired: Cell<bool>,
}

impl ForeignObj for Timer {
    fn type_name(&self) -> &'static str {
        "TIMER"
    }
    fn trace(&self, t: &mut Tracer) {
        self.name.trace(t);
        self.function.trace(t);
        for a in &self.args {
            a.trace(t);
        }
    }
    fn describe(&self) -> String {
        let f = crate::printer::prin1_string(&self.function);
        if self.name.is_nil() {
            format!(": {}", f)
        } else {
            format!("{} : {}", crate::printer::princ_string(&self.name), f)
        }
    }
    fn class(&self) -> Option<crate::gc::Gc<crate::clos::Class>> {
        crate::clos::find_class(&crate::world::intern_value("TIMER", &super::mp_package()))
    }
}

impl Timer {
    /// A timer that will apply `function` to `args`.
    pub fn new(name: Value, function: Value, args: Vec<Value>) -> Timer {
        Timer {
            name,
            function,
            args,
            expires: Cell::new(None),
            repeat: Cell::new(None),
            generation: Cell::new(0),
            fired: Cell::new(false),
        }
    }

    /// Whether it has expired and is not scheduled again.
    pub fn expired(&self) -> bool {
        self.fired.get() && self.expires.get().is_none()
    }

    /// Cancel; returns whether it was scheduled.
    pub fn unschedule(&self) -> bool {
        self.generation.set(self.generation.get() + 1);
        self.expires.take().is_some()
    }
}

/// The timer inside a value.
pub fn timer_of(v: &Value) -> Option<&Timer> {
    crate::foreign::get::<Timer>(v)
}

/// (Re)schedule `tv` to expire after `delay` (None: keep the current
/// expiry and only change the repeat interval, per LispWorks).
pub fn schedule(tv: &Value, delay: Option<Duration>, repeat: Option<Duration>) {
    let Some(t) = timer_of(tv) else { return };
    t.repeat.set(repeat);
    let at = match (delay, t.expires.get(), repeat) {
        (Some(d), _, _) => Instant::now() + d,
        (None, Some(_), _) => return,
        (None, None, Some(r)) => Instant::now() + r,
        (None, None, None) => return,
    };
    let g = t.generation.get() + 1;
    t.generation.set(g);
    t.expires.set(Some(at));
    t.fired.set(false);
    sched().schedule_timer(tv, g, at);
}

/// Called by the scheduler when a timer entry is due.
pub fn fire(tv: &Value, generation: u64) {
    let Some(t) = timer_of(tv) else { return };
    if t.generation.get() != generation {
        return;
    }
    t.fired.set(true);
    t.expires.set(None);
    let name = if t.name.is_nil() {
        "Timer".to_string()
    } else {
        crate::printer::princ_string(&t.name)
    };
    sched().spawn(name, t.function.clone(), t.args.clone());
    if let Some(r) = t.repeat.get() {
        let g = generation + 1;
        t.generation.set(g);
        let at = Instant::now() + r;
        t.expires.set(Some(at));
        sched().schedule_timer(tv, g, at);
    }
}
