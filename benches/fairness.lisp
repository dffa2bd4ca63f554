;;; Benchmark: how late a sleeping process wakes while another process
;;; spins in a loop without I/O (preemption by fuel should keep it near
;;; one time slice). The sleeper measures each of its 100 wake-ups from a
;;; 10 ms sleep, with and without the spinner running.
;;;   netlisp benches/fairness.lisp
;;; (tests/processes.rs checks the behaviour with tests/mp/fairness.lisp;
;;; the figures live here, since a loaded machine moves them.)
(defun lateness-ms (rounds)
  "Sleep 10 ms ROUNDS times; return the worst and the mean lateness in ms."
  (let ((worst 0) (total 0))
    (dotimes (i rounds)
      (let ((start (get-internal-real-time)))
        (sleep 0.01)
        (let ((late (- (/ (- (get-internal-real-time) start)
                          (/ internal-time-units-per-second 1000.0))
                       10)))
          (setf worst (max worst late))
          (incf total late))))
    (values worst (/ total rounds))))

(defvar *spins* 0)
(defvar *sleeper-result* nil)

(multiple-value-bind (worst mean) (lateness-ms 100)
  (format t "idle: worst ~,2F ms, mean ~,3F ms~%" worst mean))

(let ((spinner (mp:process-run-function "spinner" '()
                 (lambda () (loop (incf *spins*))))))
  ;; The sleeper is a process of its own, like a connection handler.
  (let ((sleeper (mp:process-run-function "sleeper" '()
                   (lambda ()
                                 (setf *sleeper-result*
                                       (multiple-value-list (lateness-ms 100)))))))
    (mp:process-join sleeper :timeout 20)
    (destructuring-bind (worst mean) *sleeper-result*
      (format t "with spinner: worst ~,2F ms, mean ~,3F ms (~D spins)~%" worst mean *spins*)))
  (mp:process-kill spinner))
