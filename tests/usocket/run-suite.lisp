;;;; Runs usocket's own RT test suite, unchanged from Debian's cl-usocket
;;;; package, with Debian's cl-rt, on netlisp's usocket layer. The
;;;; directories come from the command line (see run-suite.sh, which
;;;; gives the suite the network it expects).

(destructuring-bind (rt-dir suite-dir) netlisp:*args*
  (load (merge-pathnames "rt.lisp" rt-dir))
  (require :usocket)
  (dolist (f '("package" "test-usocket" "test-condition" "test-datagram" "wait-for-input"))
    (load (merge-pathnames (concatenate 'string f ".lisp") suite-dir))))

;; Every test of the suite is expected to pass on netlisp (in usocket
;; 0.8.3, socket-failure.1 accepts a correct CONNECTION-REFUSED-ERROR).
(defparameter *expected-failures* '())

(let* ((all-passed (regression-test:do-tests))
       (failed (regression-test:pending-tests))
       (unexpected (set-difference failed *expected-failures* :test #'string-equal)))
  (declare (ignore all-passed))
  (format t "~&netlisp: ~D tests, ~D failed~@[ ~S~], ~D unexpected.~%"
          (length (rest regression-test::*entries*)) (length failed) failed (length unexpected))
  (finish-output)
  (netlisp:quit (if unexpected 1 0)))
