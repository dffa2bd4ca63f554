;;; A process spinning in a loop without I/O must not starve a sleeping
;;; process: the sleeper wakes from each of its 100 sleeps and finishes
;;; while the spinner keeps running. Only the behaviour is checked here;
;;; how late the wake-ups are is measured by benches/fairness.lisp (a
;;; loaded machine moves those figures, not the code).
(defvar *spins* 0)
(defvar *wakeups* 0)

(let* ((spinner (mp:process-run-function "spinner" '()
                  (lambda () (loop (incf *spins*)))))
       (sleeper (mp:process-run-function "sleeper" '()
                  (lambda () (dotimes (i 100) (sleep 0.01) (incf *wakeups*))))))
  (mp:process-join sleeper :timeout 20)
  (let ((spins *spins*))
    (format t "sleeper finished: ~A~%" (and (not (mp:process-alive-p sleeper)) (= *wakeups* 100)))
    (sleep 0.05)
    (format t "spinner kept running: ~A~%" (and (mp:process-alive-p spinner) (> *spins* spins) (> spins 0))))
  (mp:process-kill spinner))
