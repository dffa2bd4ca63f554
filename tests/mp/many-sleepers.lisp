;;; 10,000 processes each sleep a random short time, then push their
;;; number onto a shared list under a lock.  The main script waits for
;;; all of them and checks the total.
(defvar *lock* (mp:make-lock :name "results"))
(defvar *results* '())
(defvar *count* 10000)

(let* ((start (get-internal-real-time))
       (processes
         (loop for i below *count*
               collect (mp:process-run-function
                        (format nil "sleeper ~D" i) '()
                        (lambda (n)
                          (sleep (random 0.5))
                          (mp:with-lock (*lock*) (push n *results*)))
                        i))))
  (dolist (p processes) (mp:process-join p :timeout 30))
  (format t "~D results, sum ~D, distinct ~D~%"
          (length *results*)
          (reduce #'+ *results*)
          (length (remove-duplicates *results*)))
  (format t "alive after join: ~D~%" (count-if #'mp:process-alive-p processes))
  (format *error-output* "elapsed-ms ~D~%"
          (round (* 1000 (- (get-internal-real-time) start))
                 internal-time-units-per-second)))
