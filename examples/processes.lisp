;;;; Processes: a pool of workers fed through a mailbox, results gathered
;;;; under a lock, a ticker showing that everything runs at once, and a
;;;; worker that fails without taking the others down.
;;;;   netlisp examples/processes.lisp

(defvar *jobs* (mp:make-mailbox :name "jobs"))
(defvar *results* '())
(defvar *results-lock* (mp:make-lock :name "results"))

(defun slow-square (n)
  (sleep (/ (random 10) 100.0))         ; pretend to wait for the network
  (* n n))

(defun worker ()
  (loop for job = (mp:mailbox-read *jobs*)
        until (eq job :stop)
        do (let ((r (slow-square job)))
             (mp:with-lock (*results-lock*)
               (push (cons job r) *results*)))))

(let ((ticker (mp:process-run-function "ticker" '()
                (lambda () (loop (sleep 0.1) (format t "."))))))
  (let ((workers (loop for i below 4
                       collect (mp:process-run-function (format nil "worker ~D" i) '() #'worker))))
    (loop for n from 1 to 20 do (mp:mailbox-send *jobs* n))
    (dolist (w workers) (declare (ignore w)) (mp:mailbox-send *jobs* :stop))
    (dolist (w workers) (mp:process-join w)))
  (mp:process-kill ticker))

(format t "~%~D results; sum of squares ~D~%"
        (length *results*) (reduce #'+ *results* :key #'cdr))

;; An error ends only the process that signals it (reported on stderr).
(mp:process-join (mp:process-run-function "faulty" '() (lambda () (/ 1 0))))
(format t "still running: ~A~%" (mp:process-name mp:*current-process*))
