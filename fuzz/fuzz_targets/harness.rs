//! What every fuzz target shares: one interpreter per fuzzing process
//! with the Lisp side of the targets (fuzz/harness.lisp) loaded, and a
//! call that hands it the input as a string. A Lisp error is an answer,
//! not a finding; a Rust panic, an abort, a hang (libFuzzer's -timeout)
//! or running out of memory (-rss_limit_mb) is.

use netlisp::Interpreter;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

/// The interpreter, made on the first input and never dropped. It lives
/// behind a global rather than a thread-local because the main thread's
/// thread-locals are destroyed at exit: dropping the interpreter then
/// leaves the cycles between its packages, symbols and functions for the
/// cycle collector that no longer runs, and LeakSanitizer reports them as
/// a leak of the last (empty) input. Only libFuzzer's one thread uses it.
static LISP: AtomicPtr<Interpreter> = AtomicPtr::new(null_mut());

/// Run the harness function FUZZ::`name`-TARGET on `input` (lossily decoded as UTF-8).
pub fn run(name: &str, input: &[u8]) {
    let text = String::from_utf8_lossy(input).into_owned();
    let mut ptr = LISP.load(Ordering::Acquire);
    if ptr.is_null() {
        let mut l = Interpreter::new();
        l.eval_str(include_str!("../harness.lisp"))
            .expect("fuzz/harness.lisp loads");
        ptr = Box::into_raw(Box::new(l));
        LISP.store(ptr, Ordering::Release);
    }
    // SAFETY: `ptr` came from Box::into_raw above, is never freed, and
    // libFuzzer calls the target from one thread, so no other reference
    // to the interpreter exists while this one does.
    let lisp = unsafe { &mut *ptr };
    lisp.set_var("FUZZ::*INPUT*", netlisp::array::Array::string(&text));
    let _ = lisp.call(&format!("FUZZ::{}-TARGET", name.to_uppercase()), &[]);
}
