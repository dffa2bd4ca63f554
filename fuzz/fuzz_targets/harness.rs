//! What every fuzz target shares: one interpreter per fuzzing process
//! with the Lisp side of the targets (fuzz/harness.lisp) loaded, and a
//! call that hands it the input as a string. A Lisp error is an answer,
//! not a finding; a Rust panic, an abort, a hang (libFuzzer's -timeout)
//! or running out of memory (-rss_limit_mb) is.

use netlisp::Interpreter;
use std::cell::RefCell;

thread_local! {
    static LISP: RefCell<Option<Interpreter>> = const { RefCell::new(None) };
}

/// Run the harness function FUZZ::`name`-TARGET on `input` (lossily decoded as UTF-8).
pub fn run(name: &str, input: &[u8]) {
    let text = String::from_utf8_lossy(input).into_owned();
    LISP.with(|cell| {
        let mut slot = cell.borrow_mut();
        let lisp = slot.get_or_insert_with(|| {
            let mut l = Interpreter::new();
            l.eval_str(include_str!("../harness.lisp"))
                .expect("fuzz/harness.lisp loads");
            l
        });
        lisp.set_var("FUZZ::*INPUT*", netlisp::array::Array::string(&text));
        let _ = lisp.call(&format!("FUZZ::{}-TARGET", name.to_uppercase()), &[]);
    });
}
