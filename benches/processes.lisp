;;;; Process (thread) benchmarks: netlisp's green processes against SBCL's
;;;; native threads, the same program through a few portable wrappers.
;;;; Usage: IMPL processes.lisp NAME   (NAME: spawn pingpong sleepers)
;;;; Prints the in-process time in milliseconds on stdout.

(defun bench-arg ()
  (car (last #+sbcl sb-ext:*posix-argv* #+netlisp netlisp:*args*)))

(defun now-us ()
  #+sbcl (multiple-value-bind (s us) (sb-ext:get-time-of-day) (+ (* s 1000000) us))
  #-sbcl (round (* (get-internal-real-time) 1000000) internal-time-units-per-second))

(defun spawn (function)
  #+sbcl (sb-thread:make-thread function)
  #+netlisp (mp:process-run-function "worker" '() function))

(defun join (process)
  #+sbcl (sb-thread:join-thread process :default nil)
  #+netlisp (mp:process-join process))

(defun make-sem ()
  #+sbcl (sb-thread:make-semaphore)
  #+netlisp (mp:make-semaphore))

(defun sem-signal (s)
  #+sbcl (sb-thread:signal-semaphore s)
  #+netlisp (mp:semaphore-release s))

(defun sem-wait (s)
  #+sbcl (sb-thread:wait-on-semaphore s)
  #+netlisp (mp:semaphore-acquire s))

(defun spawn-and-join (n)
  "Create N processes that return at once, joining each: creation + teardown."
  (dotimes (i n) (join (spawn (lambda () i)))))

(defun ping-pong (n)
  "N round trips between two processes through two semaphores: 2N switches."
  (let* ((ping (make-sem)) (pong (make-sem))
         (partner (spawn (lambda () (dotimes (i n) (sem-wait ping) (sem-signal pong))))))
    (dotimes (i n) (sem-signal ping) (sem-wait pong))
    (join partner)))

(defun concurrent-sleepers (n)
  "N processes alive at once, each sleeping 0.1 s, then all joined."
  (mapc #'join (loop repeat n collect (spawn (lambda () (sleep 0.1))))))

(let* ((name (bench-arg))
       (start (now-us)))
  (cond ((string= name "spawn") (spawn-and-join 10000))
        ((string= name "pingpong") (ping-pong 100000))
        ((string= name "sleepers") (concurrent-sleepers 10000))
        (t (error "unknown benchmark ~a" name)))
  (format t "~,3f~%" (/ (- (now-us) start) 1000.0)))
