//! Memory management: reference counting plus a cycle collector.
//!
//! Every heap object lives in a [`GcBox`]: a small header followed by the
//! value. Counting frees acyclic garbage at once. Objects that can hold
//! references ("tracked" ones) are also listed in a per-thread table, and
//! [`collect`] finds unreachable cycles among them by trial deletion, the
//! way CPython does: an object whose count is larger than the number of
//! references other tracked objects hold to it is referenced from outside
//! the heap (a Rust local, a process's value stack, compiled code), so it
//! and everything it reaches is live; whatever is left is garbage.
//!
//! Roots are found by counting, never by scanning stacks. That is what lets
//! every Lisp process run on its own native stack (a stackful coroutine):
//! values held in Rust frames of a parked process simply keep their counts.
//!
//! The collector runs only at safe points chosen by the evaluator (never
//! inside an allocation), so no object is ever half-updated while traced.

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

/// Index value of an object that is not in the tracked table.
const UNTRACKED: u32 = u32::MAX;
/// `gc_refs` value of an object proven reachable during a collection.
const REACHABLE: i32 = -1;
/// Smallest tracked-object count at which a collection is considered.
const MIN_THRESHOLD: usize = 50_000;

/// The header in front of every heap object.
#[repr(C)]
pub struct Header {
    rc: Cell<u32>,
    gc_refs: Cell<i32>,
    index: Cell<u32>,
    vtable: &'static VTable,
}

struct VTable {
    trace: unsafe fn(NonNull<Header>, &mut Tracer),
    clear: unsafe fn(NonNull<Header>),
    free: unsafe fn(NonNull<Header>),
}

#[repr(C)]
struct GcBox<T> {
    header: Header,
    value: T,
}

/// Visits the references an object holds, for the collector.
pub struct Tracer<'a> {
    f: &'a mut dyn FnMut(NonNull<Header>),
    failed: bool,
}

impl Tracer<'_> {
    /// Report one reference held by the object being traced.
    #[inline]
    pub fn gc<T: Trace>(&mut self, g: &Gc<T>) {
        (self.f)(g.header())
    }

    /// Report that the object's contents cannot be read right now (a
    /// `RefCell` is mutably borrowed). The collector then treats the object
    /// as live, which is always safe.
    pub fn fail(&mut self) {
        self.failed = true;
    }
}

/// Objects that live in the collected heap.
///
/// # Safety
/// `trace` must report exactly the `Gc` references the object owns (each
/// once per owned reference), or live objects could be freed.
pub unsafe trait Trace: 'static {
    /// Report every `Gc` this object holds directly.
    fn trace(&self, t: &mut Tracer);
    /// Drop the references this object holds (called only on garbage, to
    /// break cycles).
    fn clear(&self);
    /// Whether this object can hold references at all. Leaf objects are
    /// never in the tracked table and cost the collector nothing.
    fn is_tracked(&self) -> bool {
        true
    }
}

/// A counted pointer to a heap object. Not `Send`: the whole Lisp heap
/// belongs to one OS thread.
pub struct Gc<T: Trace> {
    ptr: NonNull<GcBox<T>>,
    _marker: PhantomData<GcBox<T>>,
}

struct Heap {
    tracked: RefCell<Vec<NonNull<Header>>>,
    freeing: Cell<bool>,
    pending: RefCell<Vec<NonNull<Header>>>,
    threshold: Cell<usize>,
    collections: Cell<u64>,
    reclaimed: Cell<u64>,
    collecting: Cell<bool>,
}

thread_local! {
    static HEAP: Heap = const {
        Heap {
            tracked: RefCell::new(Vec::new()),
            freeing: Cell::new(false),
            pending: RefCell::new(Vec::new()),
            threshold: Cell::new(MIN_THRESHOLD),
            collections: Cell::new(0),
            reclaimed: Cell::new(0),
            collecting: Cell::new(false),
        }
    };
}

impl Heap {
    fn track(&self, h: NonNull<Header>) {
        let mut t = self.tracked.borrow_mut();
        // SAFETY: h points at a live header we just allocated.
        unsafe { h.as_ref().index.set(t.len() as u32) };
        t.push(h);
    }

    fn untrack(&self, h: NonNull<Header>) {
        // SAFETY: h is a live header.
        let idx = unsafe { h.as_ref().index.get() };
        if idx == UNTRACKED {
            return;
        }
        let mut t = self.tracked.borrow_mut();
        let idx = idx as usize;
        t.swap_remove(idx);
        if idx < t.len() {
            // SAFETY: every entry of the table is a live header.
            unsafe { t[idx].as_ref().index.set(idx as u32) };
        }
        unsafe { h.as_ref().index.set(UNTRACKED) };
    }
}

unsafe fn trace_impl<T: Trace>(h: NonNull<Header>, t: &mut Tracer) {
    let b = h.cast::<GcBox<T>>();
    b.as_ref().value.trace(t)
}

unsafe fn clear_impl<T: Trace>(h: NonNull<Header>) {
    let b = h.cast::<GcBox<T>>();
    b.as_ref().value.clear()
}

unsafe fn free_impl<T: Trace>(h: NonNull<Header>) {
    drop(Box::from_raw(h.cast::<GcBox<T>>().as_ptr()));
}

struct VTableOf<T>(PhantomData<T>);
impl<T: Trace> VTableOf<T> {
    const VTABLE: VTable = VTable {
        trace: trace_impl::<T>,
        clear: clear_impl::<T>,
        free: free_impl::<T>,
    };
}

impl<T: Trace> Gc<T> {
    /// Allocate a new object with a count of one.
    pub fn new(value: T) -> Gc<T> {
        let tracked = value.is_tracked();
        let b = Box::new(GcBox {
            header: Header {
                rc: Cell::new(1),
                gc_refs: Cell::new(0),
                index: Cell::new(UNTRACKED),
                vtable: &VTableOf::<T>::VTABLE,
            },
            value,
        });
        let ptr = NonNull::from(Box::leak(b));
        if tracked {
            HEAP.with(|h| h.track(ptr.cast()));
        }
        Gc {
            ptr,
            _marker: PhantomData,
        }
    }

    #[inline]
    fn header(&self) -> NonNull<Header> {
        self.ptr.cast()
    }

    /// Whether two pointers name the same object.
    #[inline]
    pub fn ptr_eq(a: &Gc<T>, b: &Gc<T>) -> bool {
        a.ptr == b.ptr
    }

    /// The object's address, stable for its lifetime (used for EQ hashing
    /// and printed identities).
    #[inline]
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// The current reference count.
    pub fn strong_count(&self) -> usize {
        unsafe { self.ptr.as_ref().header.rc.get() as usize }
    }
}

impl<T: Trace> std::fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#<gc {:#x}>", self.addr())
    }
}

impl<T: Trace> Deref for Gc<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the count keeps the box alive while this Gc exists.
        unsafe { &self.ptr.as_ref().value }
    }
}

impl<T: Trace> Clone for Gc<T> {
    #[inline]
    fn clone(&self) -> Self {
        let h = unsafe { &self.ptr.as_ref().header };
        let n = h.rc.get().wrapping_add(1);
        if n == 0 {
            std::process::abort();
        }
        h.rc.set(n);
        Gc {
            ptr: self.ptr,
            _marker: PhantomData,
        }
    }
}

impl<T: Trace> Drop for Gc<T> {
    #[inline]
    fn drop(&mut self) {
        unsafe { dec(self.header()) }
    }
}

#[inline]
unsafe fn dec(h: NonNull<Header>) {
    let hd = h.as_ref();
    let n = hd.rc.get() - 1;
    hd.rc.set(n);
    if n == 0 {
        release(h);
    }
}

/// Free an object whose count reached zero. Freeing can release further
/// objects; those are queued and freed in a loop, so dropping a long list
/// or a deep tree never recurses deeply.
#[cold]
unsafe fn release(h: NonNull<Header>) {
    let freed_here = HEAP.try_with(|heap| {
        if heap.freeing.get() {
            heap.pending.borrow_mut().push(h);
            return;
        }
        heap.freeing.set(true);
        free_now(heap, h);
        loop {
            let next = heap.pending.borrow_mut().pop();
            match next {
                Some(p) => free_now(heap, p),
                None => break,
            }
        }
        heap.freeing.set(false);
    });
    // If the thread's heap is already gone (thread exit), the object leaks,
    // which is harmless at that point.
    let _ = freed_here;
}

unsafe fn free_now(heap: &Heap, h: NonNull<Header>) {
    heap.untrack(h);
    (h.as_ref().vtable.free)(h);
}

/// Statistics about the heap of the current thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct GcStats {
    /// Objects currently in the tracked table.
    pub tracked: usize,
    /// Collections run so far.
    pub collections: u64,
    /// Objects freed by the cycle collector so far.
    pub reclaimed: u64,
    /// Tracked count at which the next collection is due.
    pub threshold: usize,
}

/// Current heap statistics.
pub fn stats() -> GcStats {
    HEAP.with(|h| GcStats {
        tracked: h.tracked.borrow().len(),
        collections: h.collections.get(),
        reclaimed: h.reclaimed.get(),
        threshold: h.threshold.get(),
    })
}

/// Whether enough tracked objects accumulated that a collection is due.
#[inline]
pub fn collection_due() -> bool {
    HEAP.with(|h| h.tracked.borrow().len() >= h.threshold.get())
}

/// Find and free unreachable cycles. Returns the number of objects freed
/// by the collector itself. Must be called only where no `RefCell` of a
/// heap object is held across the call by the caller's own frames in a way
/// that matters: a borrowed object simply survives this collection.
pub fn collect() -> usize {
    let objs: Vec<NonNull<Header>> = HEAP.with(|h| {
        if h.collecting.get() {
            return Vec::new();
        }
        h.collecting.set(true);
        h.tracked.borrow().clone()
    });
    if objs.is_empty() {
        HEAP.with(|h| h.collecting.set(false));
        return 0;
    }
    unsafe {
        // 1. Start from each object's count.
        for &h in &objs {
            let hd = h.as_ref();
            hd.gc_refs.set(hd.rc.get().min(i32::MAX as u32) as i32);
        }
        // 2. Subtract references held by tracked objects.
        let mut untraceable = Vec::new();
        for &h in &objs {
            let mut dec_child = |c: NonNull<Header>| {
                let ch = c.as_ref();
                if ch.index.get() != UNTRACKED {
                    ch.gc_refs.set(ch.gc_refs.get() - 1);
                }
            };
            let mut t = Tracer {
                f: &mut dec_child,
                failed: false,
            };
            (h.as_ref().vtable.trace)(h, &mut t);
            if t.failed {
                untraceable.push(h);
            }
        }
        for h in untraceable {
            h.as_ref().gc_refs.set(i32::MAX);
        }
        // 3. Whatever is referenced from outside, and all it reaches, lives.
        let mut work: Vec<NonNull<Header>> = Vec::new();
        for &h in &objs {
            let hd = h.as_ref();
            if hd.gc_refs.get() > 0 {
                hd.gc_refs.set(REACHABLE);
                work.push(h);
            }
        }
        while let Some(h) = work.pop() {
            let mut mark = |c: NonNull<Header>| {
                let ch = c.as_ref();
                if ch.index.get() != UNTRACKED && ch.gc_refs.get() != REACHABLE {
                    ch.gc_refs.set(REACHABLE);
                    work.push(c);
                }
            };
            let mut t = Tracer {
                f: &mut mark,
                failed: false,
            };
            (h.as_ref().vtable.trace)(h, &mut t);
        }
        // 4. The rest is garbage: hold it, break its references, release.
        let garbage: Vec<NonNull<Header>> = objs
            .iter()
            .copied()
            .filter(|h| h.as_ref().gc_refs.get() != REACHABLE)
            .collect();
        drop(objs);
        for &g in &garbage {
            let hd = g.as_ref();
            hd.rc.set(hd.rc.get() + 1);
        }
        for &g in &garbage {
            (g.as_ref().vtable.clear)(g);
        }
        let n = garbage.len();
        for g in garbage {
            dec(g);
        }
        HEAP.with(|h| {
            h.collections.set(h.collections.get() + 1);
            h.reclaimed.set(h.reclaimed.get() + n as u64);
            let live = h.tracked.borrow().len();
            h.threshold.set((live * 2).max(MIN_THRESHOLD));
            h.collecting.set(false);
        });
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Node {
        next: RefCell<Option<Gc<Node>>>,
        payload: Vec<u8>,
    }

    unsafe impl Trace for Node {
        fn trace(&self, t: &mut Tracer) {
            match self.next.try_borrow() {
                Ok(n) => {
                    if let Some(g) = &*n {
                        t.gc(g)
                    }
                }
                Err(_) => t.fail(),
            }
        }
        fn clear(&self) {
            if let Ok(mut n) = self.next.try_borrow_mut() {
                *n = None;
            }
        }
    }

    fn node() -> Gc<Node> {
        Gc::new(Node {
            next: RefCell::new(None),
            payload: vec![0; 16],
        })
    }

    #[test]
    fn acyclic_objects_are_freed_by_counting() {
        let before = stats().tracked;
        {
            let a = node();
            let b = node();
            *a.next.borrow_mut() = Some(b.clone());
            assert_eq!(b.strong_count(), 2);
        }
        assert_eq!(stats().tracked, before);
    }

    #[test]
    fn cycles_are_collected_and_live_ones_kept() {
        let before = stats().tracked;
        let live = node();
        {
            let a = node();
            let b = node();
            *a.next.borrow_mut() = Some(b.clone());
            *b.next.borrow_mut() = Some(a.clone());
            // A live cycle, referenced from this frame.
            let c = node();
            *live.next.borrow_mut() = Some(c.clone());
            *c.next.borrow_mut() = Some(live.clone());
        }
        assert_eq!(stats().tracked, before + 4);
        let freed = collect();
        assert_eq!(freed, 2);
        assert_eq!(stats().tracked, before + 2);
        assert_eq!(live.payload.len(), 16);
        *live.next.borrow_mut() = None;
        drop(live);
        assert_eq!(stats().tracked, before);
    }

    #[test]
    fn long_chains_drop_without_deep_recursion() {
        let head = node();
        let mut cur = head.clone();
        for _ in 0..1_000_000 {
            let n = node();
            *cur.next.borrow_mut() = Some(n.clone());
            cur = n;
        }
        drop(cur);
        drop(head);
    }
}
