;;;; Shared by the conformance files in tests/lisp/cl/.
;;;;
;;;; (is FORM) prints FORM and every value it returns, or the standard
;;;; class of the error it signals, one line per check.  The same file runs
;;;; under `sbcl --script` to produce the expected output, so every check is
;;;; a result SBCL computed.  Error classes are reduced to the standard ones
;;;; because implementations signal their own subclasses.

(defvar *checks* 0)

(defparameter *standard-error-classes*
  '(unbound-slot unbound-variable undefined-function cell-error
    division-by-zero floating-point-overflow floating-point-underflow
    arithmetic-error type-error end-of-file reader-error parse-error
    package-error file-error stream-error control-error program-error
    print-not-readable simple-error error))

(defun error-class (c)
  (find-if (lambda (class) (typep c class)) *standard-error-classes*))

(defmacro is (form)
  `(progn
     (incf *checks*)
     (format t "~s => ~{~s~^ ; ~}~%" ',form
             (handler-case (multiple-value-list ,form)
               (error (c) (list (list 'error (error-class c))))))))

(defmacro section (name)
  `(format t "~%;;; ~a~%" ,name))

(defun done ()
  (format t "~%~d checks~%" *checks*))
