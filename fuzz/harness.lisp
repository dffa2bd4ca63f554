;;;; The Lisp side of the fuzz targets (fuzz/fuzz_targets/*.rs). Each
;;;; target takes its input from FUZZ::*INPUT* (a string); every Lisp
;;;; condition is caught, and the standard streams are empty or discard
;;;; output, so nothing waits for a terminal and nothing is printed.

(defpackage "FUZZ" (:use "COMMON-LISP"))
(in-package "FUZZ")

(defvar *input* "")

(defmacro quietly (&body body)
  "Run BODY with empty input, discarded output, and every error caught."
  `(let* ((sink (make-broadcast-stream))
          (in (make-string-input-stream ""))
          (io (make-two-way-stream in sink))
          (*standard-input* in) (*standard-output* sink) (*error-output* sink)
          (*trace-output* sink) (*query-io* io) (*debug-io* io) (*terminal-io* io)
          (*read-eval* nil))
     (handler-case (progn ,@body)
       (serious-condition () nil))))

(defun read-forms (text &optional (limit 50))
  "Up to LIMIT objects read from TEXT (stopping at the first error)."
  (let ((forms '()))
    (handler-case
        (with-input-from-string (in text)
          (loop repeat limit
                for x = (read in nil in)
                until (eq x in)
                do (push x forms)))
      (serious-condition () nil))
    (nreverse forms)))

;;; reader: READ every object of the input, then again with
;;; *READ-SUPPRESS* and in another base.
(defun reader-target ()
  (quietly
    (read-forms *input*)
    (let ((*read-suppress* t)) (read-forms *input*))
    (let ((*read-base* 16)) (read-forms *input*))))

;;; printer: read the input, then print each object under the printer
;;; variables its first character picks.
(defun printer-target ()
  (let* ((flags (if (plusp (length *input*)) (char-code (char *input* 0)) 0))
         (forms (quietly (read-forms (subseq *input* (min 1 (length *input*)))))))
    (quietly
      (dolist (x forms)
        (let ((*print-pretty* (logbitp 0 flags))
              (*print-circle* (logbitp 1 flags))
              (*print-readably* (logbitp 2 flags))
              (*print-escape* (not (logbitp 3 flags)))
              (*print-base* (if (logbitp 4 flags) 16 10))
              (*print-radix* (logbitp 5 flags))
              (*print-level* (if (logbitp 6 flags) 3 nil))
              (*print-length* (if (logbitp 7 flags) 4 nil))
              (*print-right-margin* (if (logbitp 8 flags) 20 nil)))
          (quietly (prin1-to-string x))
          (quietly (princ-to-string x))
          (quietly (write-to-string x :pretty t)))))))

;;; format: the input up to the first newline is a control string, the
;;; rest is read as its arguments.
(defun format-target ()
  (let* ((nl (position #\Newline *input*))
         (control (subseq *input* 0 nl))
         (args (if nl (quietly (read-forms (subseq *input* (1+ nl)) 20)) '())))
    (quietly (apply #'format nil control args))
    (quietly (apply #'format nil (formatter-of control) args))))

(defun formatter-of (control)
  (handler-case (compile nil `(lambda (stream &rest args)
                                (apply (formatter ,control) stream args)))
    (serious-condition () "")))


;;; eval: calls of standard functions, chosen by the input's characters,
;;; on arguments from a pool that reaches edge cases.
(defparameter *denied*
  '(;; files, programs, the world outside
    load compile-file open delete-file rename-file directory ensure-directories-exist
    probe-file file-write-date file-author truename with-open-file
    ;; waiting, interaction
    sleep ed dribble inspect break invoke-debugger y-or-n-p yes-or-no-p
    ;; changes to the packages everything else depends on
    delete-package rename-package unintern unexport shadow shadowing-import
    use-package unuse-package import export make-package
    ;; global state the harness relies on
    set makunbound fmakunbound proclaim (setf symbol-function) (setf fdefinition)
    (setf macro-function) (setf symbol-value) (setf readtable-case)
    set-macro-character set-dispatch-macro-character set-syntax-from-char
    (setf logical-pathname-translations) provide require
    ;; unbounded by design
    eval funcall apply)
  "Functions the eval target never calls.")

(defparameter *functions*
  (let ((fns '()))
    (do-external-symbols (s "COMMON-LISP")
      (when (and (fboundp s) (not (macro-function s)) (not (special-operator-p s))
                 (not (member s *denied*)))
        (push s fns)))
    (coerce (sort fns #'string< :key #'symbol-name) 'vector))
  "The functions the eval target calls, in a stable order.")

(defun make-pool ()
  "Arguments the eval target chooses from (made afresh for each input, as
destructive functions change them)."
  (vector 0 1 -1 2 7 255 65536 most-positive-fixnum most-negative-fixnum
          (expt 2 100) (- (expt 2 70)) 1/3 -5/7 1.5 -0.0 1d300 1e-30 #c(1 2) #c(0.5 -1.5)
          #\a #\Space #\Nul "" "abc" "héllo wörld" (make-string 3 :initial-element #\z)
          nil t :key :test 'car 'foo (list 1 2 3) (cons 'a 'b) (list (cons 'a 1) (cons 'b 2)) (list nil)
          (vector) (vector 1 2 3) (make-array '(2 3) :initial-element 0)
          (make-array 4 :element-type 'bit :initial-contents '(1 0 1 1)) (make-array 0 :element-type 'bit)
          (make-array 5 :element-type '(unsigned-byte 8) :initial-element 9)
          (make-array 4 :adjustable t :fill-pointer 2 :initial-element 1)
          (make-hash-table) (make-hash-table :test 'equal)
          #'car #'+ #'identity (find-package "CL-USER") *readtable*
          (make-pathname :name "x" :type "lisp") (make-string-output-stream)
          'integer (list 'integer 0 10) (list 'or 'string 'null) 'simple-vector
          (list 'unsigned-byte 8)))

(defun eval-target ()
  (let ((codes (map 'vector #'char-code *input*))
        (pool (make-pool))
        (i 0))
    (flet ((next () (if (< i (length codes)) (prog1 (aref codes i) (incf i)) 0)))
      (loop while (< i (length codes))
            do (let* ((f (aref *functions* (mod (+ (* 256 (next)) (next)) (length *functions*))))
                      (n (mod (next) 5))
                      (args (loop repeat n collect (aref pool (mod (next) (length pool))))))
                 (quietly (apply f args)))))))

