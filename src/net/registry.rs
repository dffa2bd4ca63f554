//! Every socket netlisp has open, by descriptor. A raw handle (the
//! integer COMM passes to server functions) is owned here until a stream
//! takes it; a stream's socket is only watched here, so a stream that
//! becomes garbage closes its socket and leaves the table.

use super::socket::SocketCore;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::rc::{Rc, Weak};

enum Entry {
    /// A raw handle: the table owns the socket.
    Handle(Rc<SocketCore>),
    /// Owned by a stream (or other object); the table only watches it.
    Owned(Weak<SocketCore>),
}

thread_local! {
    static SOCKETS: RefCell<BTreeMap<RawFd, Entry>> = const { RefCell::new(BTreeMap::new()) };
}

/// Record a socket as a raw handle owned by the table.
pub fn adopt(core: SocketCore) -> Rc<SocketCore> {
    let rc = Rc::new(core);
    SOCKETS.with(|t| t.borrow_mut().insert(rc.fd, Entry::Handle(rc.clone())));
    rc
}

/// Record a socket owned elsewhere (a stream made directly).
pub fn watch(core: SocketCore) -> Rc<SocketCore> {
    let rc = Rc::new(core);
    SOCKETS.with(|t| {
        t.borrow_mut()
            .insert(rc.fd, Entry::Owned(Rc::downgrade(&rc)))
    });
    rc
}

/// The socket behind a raw handle or stream, if it is open.
pub fn get(fd: RawFd) -> Option<Rc<SocketCore>> {
    SOCKETS.with(|t| match t.borrow().get(&fd) {
        Some(Entry::Handle(rc)) => Some(rc.clone()),
        Some(Entry::Owned(w)) => w.upgrade(),
        None => None,
    })
}

/// Whether `fd` is a raw handle the table owns.
pub fn is_handle(fd: RawFd) -> bool {
    SOCKETS.with(|t| matches!(t.borrow().get(&fd), Some(Entry::Handle(_))))
}

/// Hand a raw handle's ownership to the caller (a stream); the table
/// keeps watching it. None if `fd` is not a raw handle.
pub fn take_handle(fd: RawFd) -> Option<Rc<SocketCore>> {
    SOCKETS.with(|t| {
        let mut t = t.borrow_mut();
        match t.get(&fd) {
            Some(Entry::Handle(rc)) => {
                let rc = rc.clone();
                t.insert(fd, Entry::Owned(Rc::downgrade(&rc)));
                Some(rc)
            }
            _ => None,
        }
    })
}

/// Give a socket back to the table as a raw handle (a stream let go of
/// it without closing it).
pub fn return_handle(core: Rc<SocketCore>) {
    SOCKETS.with(|t| t.borrow_mut().insert(core.fd, Entry::Handle(core)));
}

/// Remove a descriptor (its socket was closed).
pub fn forget(fd: RawFd) {
    // The entry may be dropped while the table is borrowed (a Handle's
    // last reference): take it out first, drop it after.
    // At thread exit the table itself is being destroyed: nothing to do.
    let old = SOCKETS
        .try_with(|t| t.try_borrow_mut().ok().and_then(|mut t| t.remove(&fd)))
        .ok()
        .flatten();
    drop(old);
}

/// Every open socket, by descriptor, with whether the table owns it.
pub fn live() -> Vec<(Rc<SocketCore>, bool)> {
    SOCKETS.with(|t| {
        t.borrow()
            .values()
            .filter_map(|e| match e {
                Entry::Handle(rc) => Some((rc.clone(), true)),
                Entry::Owned(w) => w.upgrade().map(|rc| (rc, false)),
            })
            .collect()
    })
}

/// How many sockets are open.
pub fn count() -> usize {
    live().len()
}
