#![no_main]
//! Fuzz target: see fuzz/harness.lisp, FUZZ::FORMAT.
use libfuzzer_sys::fuzz_target;

#[path = "harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::run("format", data));
