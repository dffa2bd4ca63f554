;;; process-kill ends a process wherever it is blocked, and its
;;; unwind-protect cleanups run.
(defvar *cleaned* '())
(defvar *lock* (mp:make-lock :name "held"))
(defvar *mailbox* (mp:make-mailbox))
(defvar *condvar* (mp:make-condition-variable))
(defvar *semaphore* (mp:make-semaphore :count 0))

(defun blocked (name thunk)
  (mp:process-run-function name '()
    (lambda ()
      (unwind-protect (funcall thunk)
        (mp:with-lock (*lock*) nil)   ; may not run: the main process holds it
        (push name *cleaned*)))))

(defvar *blockers*
  (list (blocked "process-wait" (lambda () (mp:process-wait "never" (lambda () nil))))
        (blocked "wait-with-timeout"
                 (lambda () (mp:process-wait-with-timeout "never" 100 (lambda () nil))))
        (blocked "mailbox-read" (lambda () (mp:mailbox-read *mailbox*)))
        (blocked "sleep" (lambda () (sleep 100)))
        (blocked "join" (lambda () (mp:process-join (mp:process-run-function "forever" '() #'sleep 100))))
        (blocked "semaphore" (lambda () (mp:semaphore-acquire *semaphore*)))
        (blocked "condition-variable"
                 (lambda () (let ((l (mp:make-lock)))
                              (mp:with-lock (l) (mp:condition-variable-wait *condvar* l)))))))

(sleep 0.1)
(dolist (p *blockers*)
  (format t "~A: ~A~%" (mp:process-name p) (mp:process-whostate p)))
(mp:with-lock (*lock*)
  (mp:process-run-function "lock" '()
    (lambda () (unwind-protect (mp:with-lock (*lock*) (sleep 100))
                 (push "lock" *cleaned*))))
  (sleep 0.05)
  (let ((p (find "lock" (mp:list-all-processes) :key #'mp:process-name :test #'string=)))
    (format t "lock: ~A~%" (mp:process-whostate p))
    (mp:process-kill p)
    (format t "lock joined: ~A~%" (mp:process-join p :timeout 5))))
(dolist (p *blockers*) (mp:process-kill p))
(dolist (p *blockers*)
  (format t "~A joined: ~A, alive ~A~%"
          (mp:process-name p) (mp:process-join p :timeout 5) (mp:process-alive-p p)))
(format t "cleanups ran: ~{~A~^, ~}~%" (sort (copy-list *cleaned*) #'string<))
(mp:process-kill (find "forever" (mp:list-all-processes) :key #'mp:process-name :test #'string=))
;; process-terminate is the polite form of the same thing.
(let ((p (mp:process-run-function "terminated" '() #'sleep 100)))
  (sleep 0.01)
  (mp:process-terminate p)
  (format t "terminated joined: ~A~%" (mp:process-join p :timeout 5)))
(format t "processes left: ~{~A~^, ~}~%" (mapcar #'mp:process-name (mp:list-all-processes)))
