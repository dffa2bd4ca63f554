;;;; Bordeaux-threads (classic BT and BT2) on netlisp's MP processes.
;;;;
;;;; Threads are MP processes: green threads scheduled by netlisp, sharing
;;;; the heap and global values, each with its own special bindings.
;;;; Locks made by MAKE-LOCK are not recursive (as in BT); MAKE-RECURSIVE-LOCK
;;;; makes ones that are.

(defpackage "BORDEAUX-THREADS"
  (:nicknames "BT")
  (:use "COMMON-LISP")
  (:export
   "*SUPPORTS-THREADS-P*" "*DEFAULT-SPECIAL-BINDINGS*" "*STANDARD-IO-BINDINGS*"
   "MAKE-THREAD" "CURRENT-THREAD" "THREADP" "THREAD-NAME" "THREAD-ALIVE-P"
   "JOIN-THREAD" "DESTROY-THREAD" "INTERRUPT-THREAD" "ALL-THREADS" "THREAD-YIELD"
   "START-MULTIPROCESSING" "THREAD" "LOCK" "RECURSIVE-LOCK" "SEMAPHORE"
   "MAKE-LOCK" "MAKE-RECURSIVE-LOCK" "LOCK-P" "RECURSIVE-LOCK-P"
   "ACQUIRE-LOCK" "RELEASE-LOCK" "WITH-LOCK-HELD"
   "ACQUIRE-RECURSIVE-LOCK" "RELEASE-RECURSIVE-LOCK" "WITH-RECURSIVE-LOCK-HELD"
   "MAKE-CONDITION-VARIABLE" "CONDITION-WAIT" "CONDITION-NOTIFY" "CONDITION-BROADCAST"
   "MAKE-SEMAPHORE" "SIGNAL-SEMAPHORE" "WAIT-ON-SEMAPHORE" "SEMAPHORE-COUNT" "SEMAPHORE-P"
   "WITH-TIMEOUT" "TIMEOUT"))

(in-package "BORDEAUX-THREADS")

(defvar *supports-threads-p* t)

(defvar *default-special-bindings* '()
  "An alist of (SYMBOL . FORM): each new thread binds SYMBOL to FORM's value.")

(defvar *standard-io-bindings*
  '((*package* . (find-package :common-lisp-user))
    (*print-array* . t) (*print-base* . 10) (*print-case* . :upcase)
    (*print-circle* . nil) (*print-escape* . t) (*print-gensym* . t)
    (*print-length* . nil) (*print-level* . nil) (*print-lines* . nil)
    (*print-pretty* . nil) (*print-radix* . nil) (*print-readably* . nil)
    (*read-base* . 10) (*read-default-float-format* . 'single-float)
    (*read-eval* . t) (*read-suppress* . nil))
  "Bindings that give the standard I/O syntax (for *DEFAULT-SPECIAL-BINDINGS*).")

(define-condition timeout (serious-condition)
  ((length :initarg :length :initform nil :reader timeout-length))
  (:report (lambda (c s) (format s "A timeout set to ~a seconds occurred." (timeout-length c)))))

(defun start-multiprocessing () t)

(deftype thread () 'mp:process)
(deftype lock () 'mp:lock)
(deftype recursive-lock () 'mp:lock)
(deftype semaphore () 'mp:semaphore)

(defun make-thread (function &key (name "Anonymous thread") (initial-bindings *default-special-bindings*))
  "Start a thread running FUNCTION with no arguments."
  (let ((symbols (mapcar #'car initial-bindings))
        (forms (mapcar #'cdr initial-bindings)))
    (mp:process-run-function name '()
      (lambda ()
        (progv symbols (mapcar #'eval forms)
          (funcall function))))))

(defun current-thread () mp:*current-process*)
(defun threadp (object) (mp:processp object))
(defun thread-name (thread) (mp:process-name thread))
(defun thread-alive-p (thread) (mp:process-alive-p thread))
(defun all-threads () (mp:list-all-processes))
(defun thread-yield () (mp:process-yield))
(defun destroy-thread (thread) (mp:process-kill thread) thread)

(defun interrupt-thread (thread function &rest arguments)
  (apply #'mp:process-interrupt thread function arguments)
  thread)

(defun join-thread (thread)
  "Wait for THREAD to finish; return the values its function returned."
  (mp:process-join thread)
  (netlisp-system::%process-result thread))

(defun make-lock (&optional name)
  (mp:make-lock :name (or name "Anonymous lock") :recursivep nil))

(defun make-recursive-lock (&optional name)
  (mp:make-lock :name (or name "Anonymous recursive lock")))

(defun lock-p (object) (mp:lockp object))
(defun recursive-lock-p (object) (mp:lockp object))

(defun acquire-lock (lock &optional (wait-p t))
  (mp:process-lock lock nil (if wait-p nil 0)))

(defun release-lock (lock) (mp:process-unlock lock) nil)
(defun acquire-recursive-lock (lock) (mp:process-lock lock))
(defun release-recursive-lock (lock) (mp:process-unlock lock))

(defmacro with-lock-held ((place) &body body)
  `(mp:with-lock (,place) ,@body))

(defmacro with-recursive-lock-held ((place) &body body)
  `(mp:with-lock (,place) ,@body))

(defun make-condition-variable (&key name)
  (mp:make-condition-variable :name (or name "Anonymous condition variable")))

(defun condition-wait (condition-variable lock &key timeout)
  (mp:condition-variable-wait condition-variable lock :timeout timeout))

(defun condition-notify (condition-variable)
  (mp:condition-variable-signal condition-variable))

(defun condition-broadcast (condition-variable)
  (mp:condition-variable-broadcast condition-variable))

(defun make-semaphore (&key name (count 0))
  (mp:make-semaphore :name (or name "Anonymous semaphore") :count count))

(defun semaphore-p (object) (typep object 'mp:semaphore))

(defun signal-semaphore (semaphore &key (count 1))
  (mp:semaphore-release semaphore :count count))

(defun wait-on-semaphore (semaphore &key timeout)
  "Decrement SEMAPHORE, waiting at most TIMEOUT seconds for it to be
positive; the new count (true) on success, NIL on timeout."
  (and (mp:semaphore-acquire semaphore :timeout timeout)
       (mp:semaphore-count semaphore)))

(defun semaphore-count (semaphore) (mp:semaphore-count semaphore))

(defun call-with-timeout (seconds function)
  (if (null seconds)
      (funcall function)
      (let* ((process mp:*current-process*)
             (timer (mp:make-named-timer
                     "with-timeout"
                     (lambda ()
                       (mp:process-interrupt process
                                             (lambda () (error 'timeout :length seconds)))))))
        (mp:schedule-timer-relative timer seconds)
        (unwind-protect (funcall function)
          (mp:unschedule-timer timer)))))

(defmacro with-timeout ((timeout) &body body)
  "Run BODY; signal TIMEOUT if it takes longer than TIMEOUT seconds."
  `(call-with-timeout ,timeout (lambda () ,@body)))

;;; BT2: the same operations with keyword arguments.

(defpackage "BORDEAUX-THREADS-2"
  (:nicknames "BT2")
  (:use "COMMON-LISP")
  (:import-from "BORDEAUX-THREADS"
   "*SUPPORTS-THREADS-P*" "*DEFAULT-SPECIAL-BINDINGS*" "*STANDARD-IO-BINDINGS*"
   "CURRENT-THREAD" "THREADP" "THREAD-NAME" "THREAD-ALIVE-P" "DESTROY-THREAD"
   "INTERRUPT-THREAD" "ALL-THREADS" "THREAD-YIELD" "LOCK-P" "RECURSIVE-LOCK-P"
   "RELEASE-RECURSIVE-LOCK" "CONDITION-NOTIFY" "CONDITION-BROADCAST"
   "MAKE-SEMAPHORE" "SIGNAL-SEMAPHORE" "WAIT-ON-SEMAPHORE" "SEMAPHORE-P"
   "WITH-TIMEOUT" "TIMEOUT" "CONDITION-WAIT" "MAKE-CONDITION-VARIABLE")
  (:export
   "*SUPPORTS-THREADS-P*" "*DEFAULT-SPECIAL-BINDINGS*" "*STANDARD-IO-BINDINGS*"
   "MAKE-THREAD" "JOIN-THREAD" "CURRENT-THREAD" "THREADP" "THREAD-NAME"
   "THREAD-ALIVE-P" "DESTROY-THREAD" "INTERRUPT-THREAD" "ALL-THREADS" "THREAD-YIELD"
   "ABNORMAL-EXIT" "ABNORMAL-EXIT-CONDITION"
   "MAKE-LOCK" "LOCK-P" "LOCKP" "ACQUIRE-LOCK" "RELEASE-LOCK" "WITH-LOCK-HELD"
   "MAKE-RECURSIVE-LOCK" "RECURSIVE-LOCK-P" "ACQUIRE-RECURSIVE-LOCK"
   "RELEASE-RECURSIVE-LOCK" "WITH-RECURSIVE-LOCK-HELD"
   "MAKE-CONDITION-VARIABLE" "CONDITION-WAIT" "CONDITION-NOTIFY" "CONDITION-BROADCAST"
   "MAKE-SEMAPHORE" "SIGNAL-SEMAPHORE" "WAIT-ON-SEMAPHORE" "SEMAPHORE-P"
   "WITH-TIMEOUT" "TIMEOUT"))

(in-package "BORDEAUX-THREADS-2")

(define-condition abnormal-exit (error)
  ((condition :initarg :condition :initform nil :reader abnormal-exit-condition))
  (:report (lambda (c s)
             (format s "The thread exited abnormally~@[: ~a~]" (abnormal-exit-condition c)))))

(defun make-thread (function &key (name "Anonymous thread")
                                  (initial-bindings *default-special-bindings*))
  (bordeaux-threads:make-thread function :name name :initial-bindings initial-bindings))

(defun join-thread (thread)
  "Wait for THREAD; return its function's values, or signal ABNORMAL-EXIT
if it did not return normally."
  (mp:process-join thread)
  (let ((values (multiple-value-list (netlisp-system::%process-result thread))))
    (if (netlisp-system::%process-normal-exit-p thread)
        (values-list values)
        (error 'abnormal-exit))))

(defun lockp (object) (mp:lockp object))

(defun release-lock (lock)
  "Release LOCK, held by this thread; return it."
  (mp:process-unlock lock)
  lock)

(defun make-lock (&key name)
  (mp:make-lock :name (or name "Anonymous lock") :recursivep nil))

(defun make-recursive-lock (&key name)
  (mp:make-lock :name (or name "Anonymous recursive lock")))

(defun acquire-lock (lock &key (wait t) timeout)
  (mp:process-lock lock nil (if wait timeout 0)))

(defun acquire-recursive-lock (lock &key (wait t) timeout)
  (mp:process-lock lock nil (if wait timeout 0)))

(defmacro with-lock-held ((place &key timeout) &body body)
  `(mp:with-lock (,place nil ,timeout) ,@body))

(defmacro with-recursive-lock-held ((place &key timeout) &body body)
  `(mp:with-lock (,place nil ,timeout) ,@body))
