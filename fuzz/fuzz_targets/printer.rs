#![no_main]
//! Fuzz target: see fuzz/harness.lisp, FUZZ::PRINTER.
use libfuzzer_sys::fuzz_target;

#[path = "harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::run("printer", data));
