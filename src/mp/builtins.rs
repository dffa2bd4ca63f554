//! The MP package: LispWorks' process functions, locks, mailboxes,
//! condition variables, semaphores and timers.

use super::process::{process, State};
use super::scheduler::{self, sched};
use super::sync::{lock_of, mailbox_of, CondVar, Lock, Mailbox, Semaphore};
use super::timer::{self, Timer};
use crate::builtins::macros::{cl, gensym, l, lt, need, progn};
use crate::builtins::{opt, opt_nil, string_designator};
use crate::conditions as cond;
use crate::ctx::{Ctx, Exit, R};
use crate::value::{list_from, Value};
use std::time::{Duration, Instant};

fn mp(name: &str) -> Value {
    crate::world::intern_value(name, &super::mp_package())
}

/// A process argument.
fn proc_arg(ctx: &mut Ctx, v: &Value) -> R<Value> {
    super::process_arg(ctx, v)
}

/// An optional process argument (default: the current process).
fn proc_opt(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Value> {
    match opt(a, i) {
        None | Some(Value::Nil) => Ok(sched().current()),
        Some(v) => proc_arg(ctx, v),
    }
}

/// Seconds (a non-negative real) or NIL.
fn seconds(ctx: &mut Ctx, v: Option<&Value>) -> R<Option<f64>> {
    match v {
        None | Some(Value::Nil) => Ok(None),
        Some(v) => {
            let s = crate::builtins::f64_of(ctx, v)?;
            if s < 0.0 || s.is_nan() {
                return Err(cond::type_error(ctx, v.clone(), "(REAL 0)"));
            }
            Ok(Some(s))
        }
    }
}

/// A timeout argument as a deadline.
fn deadline(ctx: &mut Ctx, v: Option<&Value>) -> R<Option<Instant>> {
    Ok(seconds(ctx, v)?.map(|s| Instant::now() + Duration::from_secs_f64(s)))
}

fn name_arg(ctx: &mut Ctx, v: Option<&Value>, default: &str) -> R<String> {
    match v {
        None | Some(Value::Nil) => Ok(default.to_string()),
        Some(v) if v.is_string() => Ok(crate::array::string_of(v).unwrap_or_default()),
        Some(v) => string_designator(ctx, v),
    }
}

fn whostate(ctx: &mut Ctx, v: Option<&Value>, default: &str) -> R<String> {
    name_arg(ctx, v, default)
}

/// An MP object of type `T` as an argument, or a type error naming `ty`.
fn mp_arg<'a, T: crate::foreign::ForeignObj>(ctx: &mut Ctx, v: &'a Value, ty: &str) -> R<&'a T> {
    match crate::foreign::get::<T>(v) {
        Some(x) => Ok(x),
        None => Err(cond::type_error(ctx, v.clone(), ty)),
    }
}

fn lock_arg<'a>(ctx: &mut Ctx, v: &'a Value) -> R<&'a Lock> {
    mp_arg(ctx, v, "MP:LOCK")
}

fn mailbox_arg<'a>(ctx: &mut Ctx, v: &'a Value) -> R<&'a Mailbox> {
    mp_arg(ctx, v, "MP:MAILBOX")
}

fn condvar_arg<'a>(ctx: &mut Ctx, v: &'a Value) -> R<&'a CondVar> {
    mp_arg(ctx, v, "MP:CONDITION-VARIABLE")
}

fn semaphore_arg<'a>(ctx: &mut Ctx, v: &'a Value) -> R<&'a Semaphore> {
    mp_arg(ctx, v, "MP:SEMAPHORE")
}

fn timer_arg<'a>(ctx: &mut Ctx, v: &'a Value) -> R<&'a Timer> {
    mp_arg(ctx, v, "MP:TIMER")
}

/// Start a process (shared by PROCESS-RUN-FUNCTION and BT:MAKE-THREAD).
pub fn run_function(
    ctx: &mut Ctx,
    name: String,
    options: &Value,
    f: Value,
    args: Vec<Value>,
) -> R<Value> {
    let f = crate::builtins::function(ctx, &f)?;
    let mut mailbox = Value::Nil;
    let mut priority = 0;
    let opts = options.list_to_vec();
    for pair in opts.chunks(2) {
        let (k, v) = (&pair[0], pair.get(1).cloned().unwrap_or(Value::Nil));
        let Value::Symbol(k) = k else { continue };
        match k.name() {
            "MAILBOX" => {
                mailbox = match &v {
                    Value::Nil => Value::Nil,
                    v if mailbox_of(v).is_some() => v.clone(),
                    _ => crate::foreign::make(Mailbox::new(format!("{} mailbox", name))),
                }
            }
            "PRIORITY" => priority = v.as_fixnum().unwrap_or(0),
            _ => {}
        }
    }
    let pv = sched().spawn(name, f, args);
    let p = process(&pv);
    *p.mailbox.borrow_mut() = mailbox;
    p.priority.set(priority);
    Ok(pv)
}

/// The process's mailbox, made if it has none.
fn ensure_mailbox(pv: &Value) -> Value {
    let p = process(pv);
    let current = p.mailbox.borrow().clone();
    if current.is_nil() {
        let name = format!("{} mailbox", p.name.borrow());
        let m = crate::foreign::make(Mailbox::new(name));
        *p.mailbox.borrow_mut() = m.clone();
        m
    } else {
        current
    }
}

/// Kill `pv`: it unwinds (running UNWIND-PROTECT cleanups) at its next
/// safe point or as soon as it wakes.
pub fn kill(ctx: &mut Ctx, pv: &Value) -> R<Value> {
    let p = process(pv);
    if !p.alive() {
        return Ok(Value::Nil);
    }
    if pv.eq(&sched().current()) {
        return Err(Exit::KILL);
    }
    let _ = ctx;
    p.kill.set(true);
    scheduler::wake(pv, p.token.get(), super::process::Wake::Interrupt);
    Ok(Value::t())
}

/// Run FUNCTION with ARGS inside process `pv` at its next safe point.
pub fn interrupt(ctx: &mut Ctx, pv: &Value, f: Value, args: Vec<Value>) -> R<Value> {
    let p = process(pv);
    if !p.alive() {
        return Ok(Value::Nil);
    }
    if pv.eq(&sched().current()) {
        crate::eval::apply(ctx, &f, &args)?;
        return Ok(Value::t());
    }
    p.interrupts.borrow_mut().push_back((f, args));
    scheduler::wake(pv, p.token.get(), super::process::Wake::Interrupt);
    Ok(Value::t())
}

/// Wait for `pv` to finish; false on timeout.
pub fn join(ctx: &mut Ctx, pv: &Value, deadline: Option<Instant>) -> R<bool> {
    let p = process(pv);
    let me = sched().current();
    if pv.eq(&me) {
        return Err(cond::simple_error(
            ctx,
            "a process cannot join itself".into(),
        ));
    }
    loop {
        if !p.alive() {
            return Ok(true);
        }
        let w = p
            .joiners
            .wait(ctx, deadline, "Waiting for a process to finish")?;
        if w == super::process::Wake::Timeout {
            return Ok(!p.alive());
        }
    }
}

crate::defbuiltins! {
    /// Start a new process running FUNCTION on ARGUMENTS; returns it.
    /// OPTIONS is a plist: :MAILBOX (T for a new one, or a mailbox) and
    /// :PRIORITY (recorded; every process gets equal time slices).
    fn PROCESS_RUN_FUNCTION "MP:PROCESS-RUN-FUNCTION" "(name options function &rest arguments)" (ctx, a) {
        let name = name_arg(ctx, Some(&a[0]), "Anonymous")?;
        run_function(ctx, name, &a[1], a[2].clone(), a[3..].to_vec())
    }
    /// The running process.
    fn GET_CURRENT_PROCESS "MP:GET-CURRENT-PROCESS" "()" (_ctx, _a) { Ok(sched().current()) }
    /// The main process (the script or the REPL).
    fn MAIN_PROCESS "MP:MAIN-PROCESS" "()" (_ctx, _a) { Ok(sched().main().clone()) }
    /// Whether OBJECT is a process.
    fn PROCESSP "MP:PROCESSP" "(object)" (_ctx, a) {
        Ok(Value::bool(crate::foreign::get::<super::process::Process>(&a[0]).is_some()))
    }
    /// The process's name.
    fn PROCESS_NAME "MP:PROCESS-NAME" "(process)" (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        let name = process(&pv).name.borrow().clone();
        Ok(crate::builtins::str_value(&name))
    }
    /// Rename a process.
    fn SETF_PROCESS_NAME "NETLISP-SYSTEM:SETF-PROCESS-NAME" "(name process)" (ctx, a) {
        let pv = proc_arg(ctx, &a[1])?;
        let n = name_arg(ctx, Some(&a[0]), "")?;
        *process(&pv).name.borrow_mut() = n;
        Ok(a[0].clone())
    }
    /// Whether the process has not finished.
    fn PROCESS_ALIVE_P "MP:PROCESS-ALIVE-P" "(process)" (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        Ok(Value::bool(process(&pv).alive()))
    }
    /// A description of what the process is doing ("Running", or what it waits for).
    fn PROCESS_WHOSTATE "MP:PROCESS-WHOSTATE" "(process)" (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        let p = process(&pv);
        let s = match p.state.get() {
            State::Blocked => p.whostate.borrow().clone(),
            _ if p.in_process_wait.get() => p.whostate.borrow().clone(),
            st => st.describe().to_string(),
        };
        Ok(crate::builtins::str_value(&s))
    }
    /// The process's priority (recorded; scheduling is round-robin).
    fn PROCESS_PRIORITY "MP:PROCESS-PRIORITY" "(process)" (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        Ok(Value::int(process(&pv).priority.get()))
    }
    /// Set the process's priority.
    fn SETF_PROCESS_PRIORITY "NETLISP-SYSTEM:SETF-PROCESS-PRIORITY" "(priority process)" (ctx, a) {
        let pv = proc_arg(ctx, &a[1])?;
        let n = crate::builtins::int(ctx, &a[0])?;
        process(&pv).priority.set(n);
        Ok(a[0].clone())
    }
    /// The process's mailbox (NIL if it has none).
    fn PROCESS_MAILBOX "MP:PROCESS-MAILBOX" "(process)" (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        let m = process(&pv).mailbox.borrow().clone();
        Ok(m)
    }
    /// Give the process a mailbox.
    fn SETF_PROCESS_MAILBOX "NETLISP-SYSTEM:SETF-PROCESS-MAILBOX" "(mailbox process)" (ctx, a) {
        let pv = proc_arg(ctx, &a[1])?;
        *process(&pv).mailbox.borrow_mut() = a[0].clone();
        Ok(a[0].clone())
    }
    /// The process's mailbox, made now if it has none.
    fn ENSURE_PROCESS_MAILBOX "MP:ENSURE-PROCESS-MAILBOX" "(&optional process)" (ctx, a) {
        let pv = proc_opt(ctx, a, 0)?;
        Ok(ensure_mailbox(&pv))
    }
    /// Send OBJECT to PROCESS's mailbox (made if needed), for MAILBOX-READ
    /// of (MP:PROCESS-MAILBOX) in that process.
    fn PROCESS_SEND "MP:PROCESS-SEND" "(process object)" (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        let m = ensure_mailbox(&pv);
        if let Some(m) = mailbox_of(&m) {
            m.send(a[1].clone());
        }
        Ok(a[1].clone())
    }
    /// The process's property list.
    fn PROCESS_PLIST "MP:PROCESS-PLIST" "(process)" (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        let p = process(&pv).plist.borrow().clone();
        Ok(p)
    }
    /// A property of a process (default the current one).
    fn PROCESS_PROPERTY "MP:PROCESS-PROPERTY" "(indicator &optional process default)" (ctx, a) {
        let pv = proc_opt(ctx, a, 1)?;
        let plist = process(&pv).plist.borrow().clone();
        Ok(crate::builtins::lists::getf(&plist, &a[0]).unwrap_or_else(|| opt_nil(a, 2)))
    }
    /// Set a property of a process.
    fn SETF_PROCESS_PROPERTY "NETLISP-SYSTEM:SETF-PROCESS-PROPERTY" "(value indicator &optional process default)" (ctx, a) {
        let pv = proc_opt(ctx, a, 2)?;
        let p = process(&pv);
        let mut items = p.plist.borrow().list_to_vec();
        match items.chunks(2).position(|kv| kv[0].eq(&a[1])) {
            Some(i) => items[2 * i + 1] = a[0].clone(),
            None => {
                items.push(a[1].clone());
                items.push(a[0].clone());
            }
        }
        *p.plist.borrow_mut() = list_from(items);
        Ok(a[0].clone())
    }
    /// Remove a property of a process.
    fn REMOVE_PROCESS_PROPERTY "MP:REMOVE-PROCESS-PROPERTY" "(indicator &optional process)" (ctx, a) {
        let pv = proc_opt(ctx, a, 1)?;
        let p = process(&pv);
        let items = p.plist.borrow().list_to_vec();
        let kept: Vec<Value> = items.chunks(2).filter(|kv| !kv[0].eq(&a[0])).flat_map(|kv| kv.to_vec()).collect();
        *p.plist.borrow_mut() = list_from(kept);
        Ok(Value::Nil)
    }
    /// Every process that has not finished.
    fn LIST_ALL_PROCESSES "MP:LIST-ALL-PROCESSES" "()" (_ctx, _a) { Ok(list_from(sched().live())) }
    /// Every process that has not finished (same as LIST-ALL-PROCESSES).
    fn ALL_PROCESSES "MP:ALL-PROCESSES" "()" (_ctx, _a) { Ok(list_from(sched().live())) }
    /// A live process with this name, or NIL.
    fn FIND_PROCESS_FROM_NAME "MP:FIND-PROCESS-FROM-NAME" "(name)" (ctx, a) {
        let n = name_arg(ctx, Some(&a[0]), "")?;
        Ok(sched().live().into_iter().find(|p| *process(p).name.borrow() == n).unwrap_or(Value::Nil))
    }
    /// Kill a process: it unwinds, running its cleanup forms. Returns T if it was alive.
    fn PROCESS_KILL "MP:PROCESS-KILL" "(process)" (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        kill(ctx, &pv)
    }
    /// Ask a process to end (it unwinds like PROCESS-KILL), then wait up to
    /// JOIN-TIMEOUT seconds (default 1) for it to finish.
    fn PROCESS_TERMINATE "MP:PROCESS-TERMINATE" "(process &key (join-timeout 1) force-timeout)" (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        if pv.eq(&sched().current()) { return Err(Exit::KILL); }
        kill(ctx, &pv)?;
        let d = deadline(ctx, Some(opt(a, 1).unwrap_or(&Value::Fixnum(1))))?;
        Ok(Value::bool(join(ctx, &pv, d)?))
    }
    /// Wait until PROCESS finishes or TIMEOUT seconds pass; T if it finished.
    fn PROCESS_JOIN "MP:PROCESS-JOIN" "(process &key timeout)" (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        let d = deadline(ctx, opt(a, 1))?;
        Ok(Value::bool(join(ctx, &pv, d)?))
    }
    /// Multiprocessing is always on in netlisp: start the processes in
    /// MP:*INITIAL-PROCESSES* (lists of PROCESS-RUN-FUNCTION arguments) and
    /// the one MAIN-PROCESS-ARGS describe, then wait until every other
    /// process has finished, as LispWorks does; returns NIL.
    fn INITIALIZE_MULTIPROCESSING "MP:INITIALIZE-MULTIPROCESSING" "(&rest main-process-args)" (ctx, a) {
        let initial = crate::world::intern_exported("*INITIAL-PROCESSES*", &super::mp_package());
        let mut specs = initial.value().list_to_vec();
        if !a.is_empty() {
            specs.push(list_from(a.to_vec()));
        }
        for spec in specs {
            let args = spec.list_to_vec();
            if args.len() < 3 {
                let shown = crate::printer::prin1_string(&spec);
                return Err(cond::simple_error(ctx, format!(
                    "{shown} is not a list of MP:PROCESS-RUN-FUNCTION arguments")));
            }
            let name = name_arg(ctx, Some(&args[0]), "Anonymous")?;
            run_function(ctx, name, &args[1], args[2].clone(), args[3..].to_vec())?;
        }
        let me = sched().current();
        while let Some(other) = sched().live().into_iter().find(|p| !p.eq(&me)) {
            join(ctx, &other, None)?;
        }
        Ok(Value::Nil)
    }
    /// Wait until FUNCTION applied to ARGUMENTS returns true.
    fn PROCESS_WAIT "MP:PROCESS-WAIT" "(wait-reason function &rest arguments)" (ctx, a) {
        let reason = whostate(ctx, Some(&a[0]), "Waiting")?;
        let f = crate::builtins::function(ctx, &a[1])?;
        scheduler::process_wait(ctx, &reason, &f, &a[2..], None)?;
        Ok(Value::t())
    }
    /// Like PROCESS-WAIT with a timeout in seconds; NIL if it timed out.
    /// Without FUNCTION it just waits TIMEOUT seconds.
    fn PROCESS_WAIT_WITH_TIMEOUT "MP:PROCESS-WAIT-WITH-TIMEOUT" "(wait-reason timeout &optional function &rest arguments)" (ctx, a) {
        let reason = whostate(ctx, Some(&a[0]), "Waiting")?;
        let d = deadline(ctx, Some(&a[1]))?;
        match opt(a, 2) {
            None | Some(Value::Nil) => {
                let secs = seconds(ctx, Some(&a[1]))?.unwrap_or(0.0);
                scheduler::sleep(ctx, secs)?;
                Ok(Value::Nil)
            }
            Some(f) => {
                let f = crate::builtins::function(ctx, f)?;
                Ok(Value::bool(scheduler::process_wait(ctx, &reason, &f, &a[3..], d)?))
            }
        }
    }
    /// Sleep TIME seconds, or until FUNCTION applied to ARGUMENTS is true;
    /// returns whether the function became true.
    fn CURRENT_PROCESS_PAUSE "MP:CURRENT-PROCESS-PAUSE" "(time &optional function &rest arguments)" (ctx, a) {
        let d = deadline(ctx, Some(&a[0]))?;
        match opt(a, 1) {
            None | Some(Value::Nil) => {
                let secs = seconds(ctx, Some(&a[0]))?.unwrap_or(0.0);
                scheduler::sleep(ctx, secs)?;
                Ok(Value::Nil)
            }
            Some(f) => {
                let f = crate::builtins::function(ctx, f)?;
                Ok(Value::bool(scheduler::process_wait(ctx, "Pausing", &f, &a[2..], d)?))
            }
        }
    }
    /// Let other processes run now.
    fn PROCESS_ALLOW_SCHEDULING "MP:PROCESS-ALLOW-SCHEDULING" "()" (ctx, _a) {
        scheduler::yield_now(ctx)?;
        Ok(Value::Nil)
    }
    /// Let other processes run now (same as PROCESS-ALLOW-SCHEDULING).
    fn PROCESS_YIELD "MP:PROCESS-YIELD" "()" (ctx, _a) {
        scheduler::yield_now(ctx)?;
        Ok(Value::Nil)
    }
    /// Run FUNCTION on ARGUMENTS inside PROCESS at its next safe point
    /// (waking it if it waits).
    fn PROCESS_INTERRUPT "MP:PROCESS-INTERRUPT" "(process function &rest arguments)" (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        let f = crate::builtins::function(ctx, &a[1])?;
        interrupt(ctx, &pv, f, a[2..].to_vec())
    }
    /// The values the process's function returned (NIL while it runs).
    fn PROCESS_RESULT "NETLISP-SYSTEM:%PROCESS-RESULT" "(process)" [mv] (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        let vals = process(&pv).result.borrow().clone();
        Ok(ctx.set_values(vals))
    }
    /// Whether the process's function returned normally (it did not error
    /// out or get killed).
    fn PROCESS_NORMAL_EXIT "NETLISP-SYSTEM:%PROCESS-NORMAL-EXIT-P" "(process)" (ctx, a) {
        let pv = proc_arg(ctx, &a[0])?;
        let n = process(&pv).normal_exit.get();
        Ok(Value::bool(n))
    }
    /// Call FUNCTION with no preemption and no interrupts.
    fn CALL_WITHOUT_PREEMPTION "NETLISP-SYSTEM:%CALL-WITHOUT-PREEMPTION" "(function)" [mv] (ctx, a) {
        let p = sched().current();
        let proc = process(&p);
        proc.no_preempt.set(proc.no_preempt.get() + 1);
        let r = crate::eval::apply(ctx, &a[0], &[]);
        let proc = process(&p);
        proc.no_preempt.set(proc.no_preempt.get() - 1);
        // Interrupts that arrived inside run as the region ends.
        if r.is_ok() && proc.no_preempt.get() == 0 && proc.has_interrupts() {
            let vals = ctx.take_values(r?);
            scheduler::deliver_interrupts(ctx, proc)?;
            return Ok(ctx.set_values(vals));
        }
        r
    }
    /// Number of process switches so far.
    fn SWITCH_COUNT "NETLISP-SYSTEM:%PROCESS-SWITCHES" "()" (_ctx, _a) { Ok(Value::int(sched().switches() as i64)) }

    /// Run BODY with no other process running in between.
    macro WITHOUT_PREEMPTION "MP:WITHOUT-PREEMPTION" "(&body body)" (_ctx, a) {
        Ok(l(vec![crate::builtins::macros::sys("%CALL-WITHOUT-PREEMPTION"), l(vec![cl("FUNCTION"), lt(vec![cl("LAMBDA"), Value::Nil], a[0].rest())])]))
    }
    /// Run BODY without other processes' interrupts (and without preemption).
    macro WITHOUT_INTERRUPTS "MP:WITHOUT-INTERRUPTS" "(&body body)" (_ctx, a) {
        Ok(l(vec![crate::builtins::macros::sys("%CALL-WITHOUT-PREEMPTION"), l(vec![cl("FUNCTION"), lt(vec![cl("LAMBDA"), Value::Nil], a[0].rest())])]))
    }

    /// A new lock. Locks are recursive (the holder may claim it again) unless :RECURSIVEP NIL.
    fn MAKE_LOCK "MP:MAKE-LOCK" "(&key name (recursivep t) important-p safep sharing)" (ctx, a) {
        let name = name_arg(ctx, opt(a, 0), "Lock")?;
        let recursive = opt(a, 1).is_none_or(|v| v.truthy());
        Ok(crate::foreign::make(Lock::new(name, recursive)))
    }
    /// Claim LOCK, waiting up to TIMEOUT seconds (forever if NIL); NIL on timeout.
    fn PROCESS_LOCK "MP:PROCESS-LOCK" "(lock &optional whostate timeout)" (ctx, a) {
        let lv = a[0].clone();
        let ws = whostate(ctx, opt(a, 1), "Waiting for a lock")?;
        let d = deadline(ctx, opt(a, 2))?;
        let lock = lock_arg(ctx, &lv)?;
        Ok(Value::bool(lock.acquire(ctx, d, &ws)?))
    }
    /// Release LOCK (an error if this process does not hold it, unless ERRORP is NIL).
    fn PROCESS_UNLOCK "MP:PROCESS-UNLOCK" "(lock &optional (errorp t))" (ctx, a) {
        let lv = a[0].clone();
        let lock = lock_arg(ctx, &lv)?;
        let errorp = opt(a, 1).is_none_or(|v| v.truthy());
        Ok(Value::bool(lock.release(ctx, errorp)?))
    }
    /// The process holding LOCK, or NIL.
    fn LOCK_OWNER "MP:LOCK-OWNER" "(lock)" (ctx, a) {
        let lv = a[0].clone();
        Ok(lock_arg(ctx, &lv)?.owner())
    }
    /// Whether LOCK is held by some process.
    fn LOCK_LOCKED_P "MP:LOCK-LOCKED-P" "(lock)" (ctx, a) {
        let lv = a[0].clone();
        Ok(Value::bool(lock_arg(ctx, &lv)?.owner().truthy()))
    }
    /// The lock's name.
    fn LOCK_NAME "MP:LOCK-NAME" "(lock)" (ctx, a) {
        let lv = a[0].clone();
        let n = lock_arg(ctx, &lv)?.name.clone();
        Ok(crate::builtins::str_value(&n))
    }
    /// Whether OBJECT is a lock.
    fn LOCKP "MP:LOCKP" "(object)" (_ctx, a) { Ok(Value::bool(lock_of(&a[0]).is_some())) }
    /// Run BODY holding LOCK (released however BODY exits). With a TIMEOUT
    /// that passes before the lock is free, BODY is skipped and the value is NIL.
    macro WITH_LOCK "MP:WITH-LOCK" "((lock &optional whostate timeout) &body body)" (ctx, a) {
        let rest = need(ctx, &a[0], 1, "WITH-LOCK")?;
        let spec = rest.first();
        let body = rest.rest();
        let g = gensym("LOCK");
        let args = spec.rest();
        Ok(l(vec![
            cl("LET"),
            l(vec![l(vec![g.clone(), spec.first()])]),
            l(vec![
                cl("WHEN"),
                lt(vec![mp("PROCESS-LOCK"), g.clone()], args),
                l(vec![cl("UNWIND-PROTECT"), progn(body), l(vec![mp("PROCESS-UNLOCK"), g])]),
            ]),
        ]))
    }

    /// A new mailbox.
    fn MAKE_MAILBOX "MP:MAKE-MAILBOX" "(&key size name lock-name)" (ctx, a) {
        let name = name_arg(ctx, opt(a, 1), "Mailbox")?;
        Ok(crate::foreign::make(Mailbox::new(name)))
    }
    /// Put OBJECT in MAILBOX, waking a reader.
    fn MAILBOX_SEND "MP:MAILBOX-SEND" "(mailbox object)" (ctx, a) {
        let mv = a[0].clone();
        mailbox_arg(ctx, &mv)?.send(a[1].clone());
        Ok(a[1].clone())
    }
    /// Take the oldest object from MAILBOX, waiting up to TIMEOUT seconds
    /// (forever if NIL). Values: the object and T, or NIL and NIL on timeout.
    fn MAILBOX_READ "MP:MAILBOX-READ" "(mailbox &optional wait-reason timeout)" [mv] (ctx, a) {
        let mv = a[0].clone();
        let ws = whostate(ctx, opt(a, 1), "Waiting for a message")?;
        let d = deadline(ctx, opt(a, 2))?;
        let m = mailbox_arg(ctx, &mv)?;
        Ok(match m.read(ctx, d, &ws)? {
            Some(v) => ctx.values2(v, Value::t()),
            None => ctx.values2(Value::Nil, Value::Nil),
        })
    }
    /// Wait until MAILBOX holds an object (without taking it); NIL on timeout.
    fn MAILBOX_WAIT "MP:MAILBOX-WAIT" "(mailbox &optional wait-reason timeout)" (ctx, a) {
        let mv = a[0].clone();
        let ws = whostate(ctx, opt(a, 1), "Waiting for a message")?;
        let d = deadline(ctx, opt(a, 2))?;
        let m = mailbox_arg(ctx, &mv)?;
        Ok(Value::bool(m.wait_nonempty(ctx, d, &ws)?))
    }
    /// The oldest object in MAILBOX without removing it. Values: object and T, or NIL and NIL.
    fn MAILBOX_PEEK "MP:MAILBOX-PEEK" "(mailbox)" [mv] (ctx, a) {
        let mv = a[0].clone();
        let p = mailbox_arg(ctx, &mv)?.peek();
        Ok(match p {
            Some(v) => ctx.values2(v, Value::t()),
            None => ctx.values2(Value::Nil, Value::Nil),
        })
    }
    /// Whether MAILBOX is empty.
    fn MAILBOX_EMPTY_P "MP:MAILBOX-EMPTY-P" "(mailbox)" (ctx, a) {
        let mv = a[0].clone();
        Ok(Value::bool(mailbox_arg(ctx, &mv)?.count() == 0))
    }
    /// Number of objects in MAILBOX.
    fn MAILBOX_COUNT "MP:MAILBOX-COUNT" "(mailbox)" (ctx, a) {
        let mv = a[0].clone();
        Ok(Value::int(mailbox_arg(ctx, &mv)?.count() as i64))
    }
    /// Whether OBJECT is a mailbox.
    fn MAILBOXP "MP:MAILBOXP" "(object)" (_ctx, a) { Ok(Value::bool(mailbox_of(&a[0]).is_some())) }

    /// A new condition variable.
    fn MAKE_CONDITION_VARIABLE "MP:MAKE-CONDITION-VARIABLE" "(&key name)" (ctx, a) {
        let name = name_arg(ctx, opt(a, 0), "Condition variable")?;
        Ok(crate::foreign::make(CondVar::new(name)))
    }
    /// Release LOCK, wait for CONDVAR to be signalled (or TIMEOUT seconds),
    /// claim LOCK again. True if signalled.
    fn CONDITION_VARIABLE_WAIT "MP:CONDITION-VARIABLE-WAIT" "(condvar lock &key timeout wait-reason)" (ctx, a) {
        let (cv, lv) = (a[0].clone(), a[1].clone());
        let d = deadline(ctx, opt(a, 2))?;
        let ws = whostate(ctx, opt(a, 3), "Waiting for a condition variable")?;
        let c = condvar_arg(ctx, &cv)?;
        let lock = lock_arg(ctx, &lv)?;
        Ok(Value::bool(c.wait(ctx, lock, d, &ws)?))
    }
    /// Wake one process waiting on CONDVAR; true if there was one.
    fn CONDITION_VARIABLE_SIGNAL "MP:CONDITION-VARIABLE-SIGNAL" "(condvar)" (ctx, a) {
        let cv = a[0].clone();
        Ok(Value::bool(condvar_arg(ctx, &cv)?.signal()))
    }
    /// Wake every process waiting on CONDVAR.
    fn CONDITION_VARIABLE_BROADCAST "MP:CONDITION-VARIABLE-BROADCAST" "(condvar)" (ctx, a) {
        let cv = a[0].clone();
        condvar_arg(ctx, &cv)?.broadcast();
        Ok(Value::Nil)
    }
    /// Number of processes waiting on CONDVAR.
    fn CONDITION_VARIABLE_WAIT_COUNT "MP:CONDITION-VARIABLE-WAIT-COUNT" "(condvar)" (ctx, a) {
        let cv = a[0].clone();
        Ok(Value::int(condvar_arg(ctx, &cv)?.waiting() as i64))
    }

    /// A new semaphore with COUNT units.
    fn MAKE_SEMAPHORE "MP:MAKE-SEMAPHORE" "(&key name (count 0))" (ctx, a) {
        let name = name_arg(ctx, opt(a, 0), "Semaphore")?;
        let n = match opt(a, 1) { Some(v) => crate::builtins::int(ctx, v)?, None => 0 };
        Ok(crate::foreign::make(Semaphore::new(name, n)))
    }
    /// Take COUNT units (default 1), waiting up to TIMEOUT seconds; NIL on timeout.
    fn SEMAPHORE_ACQUIRE "MP:SEMAPHORE-ACQUIRE" "(semaphore &key timeout wait-reason (count 1))" (ctx, a) {
        let sv = a[0].clone();
        let d = deadline(ctx, opt(a, 1))?;
        let ws = whostate(ctx, opt(a, 2), "Waiting for a semaphore")?;
        let n = match opt(a, 3) { Some(v) => crate::builtins::int(ctx, v)?, None => 1 };
        let s = semaphore_arg(ctx, &sv)?;
        Ok(Value::bool(s.acquire(ctx, n, d, &ws)?))
    }
    /// Give back COUNT units (default 1).
    fn SEMAPHORE_RELEASE "MP:SEMAPHORE-RELEASE" "(semaphore &key (count 1))" (ctx, a) {
        let sv = a[0].clone();
        let n = match opt(a, 1) { Some(v) => crate::builtins::int(ctx, v)?, None => 1 };
        semaphore_arg(ctx, &sv)?.release(n);
        Ok(Value::Nil)
    }
    /// The semaphore's current count.
    fn SEMAPHORE_COUNT "MP:SEMAPHORE-COUNT" "(semaphore)" (ctx, a) {
        let sv = a[0].clone();
        Ok(Value::int(semaphore_arg(ctx, &sv)?.count()))
    }

    /// A timer that applies FUNCTION to ARGUMENTS when it expires.
    fn MAKE_TIMER "MP:MAKE-TIMER" "(function &rest arguments)" (ctx, a) {
        let f = crate::builtins::function(ctx, &a[0])?;
        Ok(crate::foreign::make(Timer::new(Value::Nil, f, a[1..].to_vec())))
    }
    /// A named timer.
    fn MAKE_NAMED_TIMER "MP:MAKE-NAMED-TIMER" "(name function &rest arguments)" (ctx, a) {
        let f = crate::builtins::function(ctx, &a[1])?;
        Ok(crate::foreign::make(Timer::new(a[0].clone(), f, a[2..].to_vec())))
    }
    /// Make TIMER expire RELATIVE-EXPIRATION-TIME seconds from now (and every
    /// REPEAT-TIME seconds after, if given).
    fn SCHEDULE_TIMER_RELATIVE "MP:SCHEDULE-TIMER-RELATIVE" "(timer relative-expiration-time &optional repeat-time)" (ctx, a) {
        schedule(ctx, a, false, 1.0)
    }
    /// Like SCHEDULE-TIMER-RELATIVE, in milliseconds.
    fn SCHEDULE_TIMER_RELATIVE_MILLISECONDS "MP:SCHEDULE-TIMER-RELATIVE-MILLISECONDS" "(timer relative-expiration-time &optional repeat-time)" (ctx, a) {
        schedule(ctx, a, false, 0.001)
    }
    /// Make TIMER expire ABSOLUTE-EXPIRATION-TIME seconds after the program started.
    fn SCHEDULE_TIMER "MP:SCHEDULE-TIMER" "(timer absolute-expiration-time &optional repeat-time)" (ctx, a) {
        schedule(ctx, a, true, 1.0)
    }
    /// Like SCHEDULE-TIMER, in milliseconds.
    fn SCHEDULE_TIMER_MILLISECONDS "MP:SCHEDULE-TIMER-MILLISECONDS" "(timer absolute-expiration-time &optional repeat-time)" (ctx, a) {
        schedule(ctx, a, true, 0.001)
    }
    /// Cancel TIMER; true if it was scheduled.
    fn UNSCHEDULE_TIMER "MP:UNSCHEDULE-TIMER" "(timer)" (ctx, a) {
        let tv = a[0].clone();
        Ok(Value::bool(timer_arg(ctx, &tv)?.unschedule()))
    }
    /// Whether TIMER has expired (and is not scheduled again).
    fn TIMER_EXPIRED_P "MP:TIMER-EXPIRED-P" "(timer)" (ctx, a) {
        let tv = a[0].clone();
        Ok(Value::bool(timer_arg(ctx, &tv)?.expired()))
    }
    /// The timer's name.
    fn TIMER_NAME "MP:TIMER-NAME" "(timer)" (ctx, a) {
        let tv = a[0].clone();
        Ok(timer_arg(ctx, &tv)?.name.clone())
    }
}

fn schedule(ctx: &mut Ctx, a: &[Value], absolute: bool, unit: f64) -> R {
    let tv = a[0].clone();
    timer_arg(ctx, &tv)?;
    let when = seconds(ctx, opt(a, 1))?.map(|s| s * unit);
    let repeat = seconds(ctx, opt(a, 2))?.map(|s| Duration::from_secs_f64(s * unit));
    let delay = when.map(|s| {
        if absolute {
            let at = super::program_start() + Duration::from_secs_f64(s);
            at.saturating_duration_since(Instant::now())
        } else {
            Duration::from_secs_f64(s)
        }
    });
    timer::schedule(&tv, delay, repeat);
    Ok(tv)
}

/// The SETF functions of the MP package.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    vec![
        ("MP:PROCESS-NAME", &SETF_PROCESS_NAME),
        ("MP:PROCESS-PRIORITY", &SETF_PROCESS_PRIORITY),
        ("MP:PROCESS-MAILBOX", &SETF_PROCESS_MAILBOX),
        ("MP:PROCESS-PROPERTY", &SETF_PROCESS_PROPERTY),
    ]
}
