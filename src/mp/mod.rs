//! Lisp processes (green threads) and the scheduler.

pub mod builtins;

use crate::ctx::{Ctx, R};
use std::os::fd::RawFd;

/// Wait until `fd` is readable (or writable), or the timeout (seconds)
/// passes. Returns false on timeout. Under the scheduler this parks only
/// the calling process; otherwise it blocks the thread.
pub fn wait_fd(ctx: &mut Ctx, fd: RawFd, readable: bool, timeout: Option<f64>) -> R<bool> {
    if let Some(h) = ctx.hooks.clone() {
        return h.wait_fd(ctx, fd, readable, timeout);
    }
    let mut p = libc::pollfd {
        fd,
        events: if readable {
            libc::POLLIN
        } else {
            libc::POLLOUT
        },
        revents: 0,
    };
    let ms = match timeout {
        Some(t) => (t * 1000.0).ceil().max(0.0) as i32,
        None => -1,
    };
    loop {
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return Ok(n > 0);
    }
}

/// Install the MP and BT packages.
pub fn install() {}

/// After the main script: keep running while other processes are alive.
pub fn finish_main(_ctx: &mut Ctx) -> R<()> {
    Ok(())
}
