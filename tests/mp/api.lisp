;;; The rest of the MP and BT2 API, each line a result that must hold.
(defmacro check (name form)
  `(format t "~A: ~S~%" ,name ,form))

;;; Timers: each fires in a process of its own, named after the timer.
(defvar *fired* '())
(let ((once (mp:make-named-timer "once" (lambda (x) (push (list x (mp:process-name mp:*current-process*)) *fired*)) :one))
      (never (mp:make-timer (lambda () (push :never *fired*))))
      (ticks 0)
      (repeating nil))
  (setf repeating (mp:make-timer (lambda () (incf ticks))))
  (mp:schedule-timer-relative once 0.02)
  (mp:schedule-timer-relative never 0.05)
  (mp:schedule-timer-relative-milliseconds repeating 10 10)
  (mp:unschedule-timer never)
  (sleep 0.1)
  (mp:unschedule-timer repeating)
  (let ((after ticks))
    (sleep 0.05)
    (check "one-shot timer" *fired*)
    (check "repeating timer ticked several times" (>= after 5))
    (check "and stopped when unscheduled" (= after ticks))
    (check "timer-expired-p" (mp:timer-expired-p once))
    (check "timer-name" (mp:timer-name once))))

;;; Per-process dynamic bindings; global values are shared.
(defvar *where* :global)
(let ((p (let ((*where* :main-binding))
           (mp:process-run-function "binder" '()
             (lambda ()
               (let ((*where* :process-binding))
                 (sleep 0.02)
                 (setf (mp:process-property :seen) *where*)))))))
  (sleep 0.01)
  (check "main sees its global while the process binds" *where*)
  (mp:process-join p)
  (check "the process saw its own binding" (mp:process-property :seen p)))

;;; Interrupts run in the target process, then it carries on.
(let* ((log '())
       (p (mp:process-run-function "interrupted" '()
            (lambda () (sleep 0.05) (push :finished log)))))
  (sleep 0.01)
  (mp:process-interrupt p (lambda (x) (push (list x (mp:process-name mp:*current-process*)) log)) :hi)
  (mp:process-join p :timeout 5)
  (check "interrupt ran, then the process finished" (reverse log)))

;;; Timeouts on every wait.
(let ((lock (mp:make-lock)) (mb (mp:make-mailbox)))
  (mp:process-run-function "holder" '() (lambda () (mp:with-lock (lock) (sleep 0.2))))
  (sleep 0.01)
  (check "with-lock timeout" (mp:with-lock (lock nil 0.02) :got-it))
  (check "process-lock timeout" (mp:process-lock lock nil 0.02))
  (check "mailbox-read timeout" (multiple-value-list (mp:mailbox-read mb "waiting" 0.02)))
  (check "process-wait-with-timeout" (mp:process-wait-with-timeout "never" 0.02 (lambda () nil)))
  (check "process-wait-with-timeout, true" (mp:process-wait-with-timeout "now" 0.02 (lambda (x) x) :yes))
  (check "process-join timeout"
         (mp:process-join (mp:process-run-function "slow" '() #'sleep 0.2) :timeout 0.02))
  (check "semaphore timeout" (mp:semaphore-acquire (mp:make-semaphore) :timeout 0.02))
  (check "condition-variable timeout"
         (mp:with-lock (lock) (mp:condition-variable-wait (mp:make-condition-variable) lock :timeout 0.02))))

;;; Mailboxes belonging to processes.
(let ((p (mp:process-run-function "receiver" '(:mailbox t)
           (lambda () (list (mp:mailbox-read (mp:process-mailbox mp:*current-process*))
                            (mp:mailbox-read (mp:process-mailbox mp:*current-process*)))))))
  (mp:process-send p :first)
  (mp:mailbox-send (mp:process-mailbox p) :second)
  (mp:process-join p)
  (check "process-send" (netlisp-system::%process-result p)))
(check "ensure-process-mailbox" (mp:mailboxp (mp:ensure-process-mailbox)))

;;; current-process-pause returns when its function says so, or on timeout.
(let ((flag nil))
  (mp:process-run-function "setter" '() (lambda () (sleep 0.01) (setf flag t)))
  (check "current-process-pause" (progn (mp:current-process-pause 5 (lambda () flag)) flag)))

;;; initialize-multiprocessing returns when the others have finished.
(let ((done '()))
  (setf mp:*initial-processes* (list (list "initial" '() (lambda () (sleep 0.02) (push :initial done)))))
  (mp:initialize-multiprocessing "main-args" '() (lambda () (push :main-args done)))
  (setf mp:*initial-processes* nil)
  (check "initialize-multiprocessing" (sort done #'string<)))

;;; without-preemption: no other process runs inside it.
(let ((other 0))
  (mp:process-run-function "counter" '() (lambda () (loop repeat 1000 do (incf other) (mp:process-yield))))
  (check "without-preemption" (mp:without-preemption (let ((before other)) (dotimes (i 100000)) (= before other)))))

;;; BT2.
(check "bt2 join values" (multiple-value-list (bt2:join-thread (bt2:make-thread (lambda () (values 1 2))))))
(check "bt2 abnormal exit"
       (handler-case (bt2:join-thread (bt2:make-thread (lambda () (mp:process-kill mp:*current-process*))))
         (bt2:abnormal-exit () :abnormal)))
(check "bt2 release-lock returns the lock"
       (let ((l (bt2:make-lock :name "x"))) (bt2:acquire-lock l) (eq l (bt2:release-lock l))))
(check "bt2 acquire-lock :wait nil on a held lock"
       (let ((l (bt2:make-lock)))
         (bt2:acquire-lock l)
         (bt2:join-thread (bt2:make-thread (lambda () (bt2:acquire-lock l :wait nil))))))
(check "bt2 with-lock-held :timeout"
       (let ((l (bt2:make-lock)))
         (bt2:acquire-lock l)
         (bt2:join-thread (bt2:make-thread (lambda () (bt2:with-lock-held (l :timeout 0.01) :got))))))
(check "bt2 condition-broadcast wakes every waiter"
       (let* ((l (bt2:make-lock)) (cv (bt2:make-condition-variable)) (ready nil) (woken 0)
              (threads (loop repeat 5 collect
                             (bt2:make-thread (lambda ()
                                                (bt2:with-lock-held (l)
                                                  (loop until ready do (bt2:condition-wait cv l))
                                                  (incf woken)))))))
         (sleep 0.02)
         (bt2:with-lock-held (l) (setf ready t) (bt2:condition-broadcast cv))
         (mapc #'bt2:join-thread threads)
         woken))
(check "semaphore-count" (let ((s (bt:make-semaphore :count 3))) (bt:wait-on-semaphore s) (bt:semaphore-count s)))

;;; without-interrupts: an interrupt or a kill that arrives while the
;;; process waits inside it takes effect when the region ends.
(let* ((log '())
       (p (mp:process-run-function "shielded" '()
            (lambda ()
              (mp:without-interrupts
                (push :start log)
                (mp:mailbox-read (mp:make-mailbox) "never" 0.05)
                (push :end log))
              (push :after log)))))
  (sleep 0.01)
  (mp:process-interrupt p (lambda () (push :interrupt log)))
  (mp:process-join p :timeout 5)
  (check "interrupt waits for without-interrupts" (reverse log)))
(let* ((log '())
       (p (mp:process-run-function "shielded-kill" '()
            (lambda ()
              (mp:without-interrupts (sleep 0.05) (push :finished-region log))
              (sleep 10)
              (push :never log)))))
  (sleep 0.01)
  (mp:process-kill p)
  (check "kill waits for without-interrupts" (list (mp:process-join p :timeout 5) log)))
