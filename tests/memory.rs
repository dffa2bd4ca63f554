//! Cycles must not leak (DESIGN.md section 2): closures that reach
//! themselves, objects that point at each other, handlers stored in tables
//! they close over. Each test builds many such cycles, drops every
//! reference to them, collects, and checks that the heap's tracked-object
//! count is back where it started.

use netlisp::{gc, Interpreter};

/// Tracked objects after a full collection.
fn live_after_collect() -> usize {
    gc::collect();
    gc::collect();
    gc::stats().tracked
}

fn assert_reclaimed(lisp: &mut Interpreter, setup: &str, make_garbage: &str) {
    lisp.eval_str(setup).unwrap();
    // Warm up once so that one-time allocations (interned symbols, compiled
    // code constants) are part of the baseline.
    lisp.eval_str(make_garbage).unwrap();
    let before = live_after_collect();
    for _ in 0..5 {
        lisp.eval_str(make_garbage).unwrap();
    }
    let after = live_after_collect();
    assert!(
        after <= before + 50,
        "cycles leaked: {before} tracked objects before, {after} after running {make_garbage}"
    );
}

#[test]
fn recursive_labels_closures_are_reclaimed() {
    let mut lisp = Interpreter::new();
    assert_reclaimed(
        &mut lisp,
        "(defun make-walker (n)
           (labels ((walk (k) (if (> k 0) (walk (1- k)) n)))
             #'walk))",
        "(dotimes (i 20000) (funcall (make-walker i) 3))",
    );
}

#[test]
fn closures_stored_in_tables_they_close_over_are_reclaimed() {
    let mut lisp = Interpreter::new();
    assert_reclaimed(
        &mut lisp,
        "(defun make-connection (id)
           (let ((handlers (make-hash-table)))
             (setf (gethash :close handlers) (lambda () (remhash :close handlers) id))
             handlers))",
        "(dotimes (i 20000) (make-connection i))",
    );
}

#[test]
fn mutually_referencing_objects_are_reclaimed() {
    let mut lisp = Interpreter::new();
    assert_reclaimed(
        &mut lisp,
        "(defclass peer () ((other :accessor other :initform nil)))
         (defstruct node next)
         (defun make-pair ()
           (let ((a (make-instance 'peer)) (b (make-instance 'peer)))
             (setf (other a) b (other b) a)
             (let ((n (make-node)))
               (setf (node-next n) n)
               (list a n))))",
        "(dotimes (i 20000) (make-pair))",
    );
}

#[test]
fn circular_lists_and_self_referencing_vectors_are_reclaimed() {
    let mut lisp = Interpreter::new();
    assert_reclaimed(
        &mut lisp,
        "(defun make-ring (n)
           (let ((l (make-list n)))
             (setf (cdr (last l)) l)
             (let ((v (make-array 2)))
               (setf (aref v 0) v (aref v 1) l)
               v)))",
        "(dotimes (i 5000) (make-ring 5))",
    );
}

#[test]
fn live_cycles_survive_collection() {
    let mut lisp = Interpreter::new();
    lisp.eval_str(
        "(defvar *keep* (let ((l (list 1 2 3))) (setf (cdr (last l)) l) l))
         (defvar *counter* (let ((n 0)) (labels ((next () (incf n))) #'next)))",
    )
    .unwrap();
    gc::collect();
    let v = lisp
        .eval_str("(list (third *keep*) (fourth *keep*) (funcall *counter*) (funcall *counter*))")
        .unwrap();
    assert_eq!(lisp.to_lisp_string(&v), "(3 1 1 2)");
}
