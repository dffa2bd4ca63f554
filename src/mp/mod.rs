//! Lisp processes (green threads): the LispWorks MP package, and the
//! scheduler the rest of netlisp parks on. See docs/processes.md.
//!
//! * [`process`]: the process object and wait queues;
//! * [`scheduler`]: coroutines, the ready queue, timers, the event loop;
//! * [`sync`]: locks, mailboxes, condition variables, semaphores;
//! * [`timer`]: MP timers;
//! * [`builtins`]: the MP package's functions and macros.
//!
//! Bordeaux-threads (`BT`, `BT2`) is a thin layer in `lisp/`.

pub mod builtins;
pub mod process;
pub mod scheduler;
pub mod sync;
pub mod timer;

use crate::clos::ClassKind;
use crate::ctx::{Ctx, R};
use crate::gc::Gc;
use crate::package::Package;
use crate::symbol::Symbol;
use crate::value::Value;
use crate::world::{intern_exported, w};
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Instant;

pub use scheduler::{finish_main, sched, wait_external, Notifier};

/// The MP package.
pub fn mp_package() -> Rc<Package> {
    w().ensure_package("MP")
}

/// MP:*CURRENT-PROCESS*.
pub fn current_process_symbol() -> Gc<Symbol> {
    intern_exported("*CURRENT-PROCESS*", &mp_package())
}

/// The name of the running process.
pub fn current_process_name() -> String {
    process::process(&sched().current()).name.borrow().clone()
}

/// When the program started (SCHEDULE-TIMER counts from here).
pub fn program_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Wait until `fd` is readable (or writable), or the timeout (seconds)
/// passes. Returns false on timeout. Under the scheduler this parks only
/// the calling process; otherwise it blocks the thread.
pub fn wait_fd(ctx: &mut Ctx, fd: RawFd, readable: bool, timeout: Option<f64>) -> R<bool> {
    wait_fds(ctx, &[fd], readable, timeout)
}

/// Wait until any of `fds` is readable (or writable), or the timeout
/// passes; false on timeout.
pub fn wait_fds(ctx: &mut Ctx, fds: &[RawFd], readable: bool, timeout: Option<f64>) -> R<bool> {
    if let Some(h) = ctx.hooks.clone() {
        return h.wait_fds(ctx, fds, readable, timeout);
    }
    let events = if readable {
        libc::POLLIN
    } else {
        libc::POLLOUT
    };
    let mut ps: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events,
            revents: 0,
        })
        .collect();
    let ms = match timeout {
        Some(t) => (t * 1000.0).ceil().max(0.0) as i32,
        None => -1,
    };
    loop {
        // SAFETY: a valid array of pollfds.
        let n = unsafe { libc::poll(ps.as_mut_ptr(), ps.len() as libc::nfds_t, ms) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return Ok(n > 0);
    }
}

/// Create the MP package's classes and variables (the functions come from
/// the builtin registry).
pub fn install() {
    let mp = mp_package();
    if !mp.nicknames().iter().any(|n| &**n == "MULTIPROCESSING") {
        mp.set_nicknames(vec!["MULTIPROCESSING".into()]);
        w().register_package(mp.clone());
    }
    for name in [
        "PROCESS",
        "LOCK",
        "MAILBOX",
        "CONDITION-VARIABLE",
        "SEMAPHORE",
        "TIMER",
    ] {
        crate::clos::define_builtin_class(intern_exported(name, &mp), &["T"], ClassKind::BuiltIn);
    }
    program_start();
    let s = sched();
    let cur = current_process_symbol();
    cur.set_value(s.main().clone());
    cur.set_flag(crate::symbol::SPECIAL);
    let bg = intern_exported("*BACKGROUND-STANDARD-OUTPUT*", &mp);
    bg.set_flag(crate::symbol::SPECIAL);
    bg.set_value(w().s.standard_output.value());
    let initial = intern_exported("*INITIAL-PROCESSES*", &mp);
    initial.set_flag(crate::symbol::SPECIAL);
    initial.set_value(Value::Nil);
}

/// Prepare the main context to run under the scheduler.
pub fn attach_main(ctx: &mut Ctx) {
    ctx.hooks = Some(scheduler::hooks());
    ctx.is_main = true;
}

/// A process as a value, or a type error.
pub fn process_arg(ctx: &mut Ctx, v: &Value) -> R<Value> {
    if crate::foreign::get::<process::Process>(v).is_some() {
        Ok(v.clone())
    } else {
        Err(crate::conditions::type_error(ctx, v.clone(), "MP:PROCESS"))
    }
}
