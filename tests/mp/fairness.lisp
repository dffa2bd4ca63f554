;;; A process spinning in a loop without I/O must not delay a sleeping
;;; process's wake-up by more than a scheduling quantum.  The sleeper
;;; measures how late each of its 100 wake-ups from a 10 ms sleep is,
;;; with and without the spinner running.
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
  (format *error-output* "idle: worst ~,2F ms, mean ~,3F ms~%" worst mean))

(let ((spinner (mp:process-run-function "spinner" '()
                 (lambda () (loop (incf *spins*))))))
  ;; The sleeper is a process of its own, like a connection handler.
  (let ((sleeper (mp:process-run-function "sleeper" '()
                   (lambda ()
                                 (setf *sleeper-result*
                                       (multiple-value-list (lateness-ms 100)))))))
    (mp:process-join sleeper :timeout 20)
    (destructuring-bind (worst mean) *sleeper-result*
      (format *error-output* "with spinner: worst ~,2F ms, mean ~,3F ms~%" worst mean)
      (format t "sleeper finished: ~A~%" (not (mp:process-alive-p sleeper)))
      (format t "spinner kept running: ~A~%" (> *spins* 100000))
      ;; A time slice is about 1 ms of work.  The bounds leave room for a
      ;; loaded test machine (the OS preempts netlisp itself); without
      ;; preemption the sleeper would never wake at all.
      (format t "mean wake-up under 10 ms, worst under 100 ms: ~A~%"
              (and (< mean 10) (< worst 100)))))
  (mp:process-kill spinner))
