;;; 100,000 messages from a producer process to a consumer process
;;; through a mailbox, then the reply back through a second mailbox.
(defvar *count* 100000)
(defvar *to-consumer* (mp:make-mailbox :name "to consumer"))
(defvar *replies* (mp:make-mailbox :name "replies"))

(let ((start (get-internal-real-time)))
  (mp:process-run-function "consumer" '()
    (lambda ()
      (let ((sum 0) (n 0) (in-order t) (previous 0))
        (loop for message = (mp:mailbox-read *to-consumer*)
              until (eq message :done)
              do (incf sum message)
                 (incf n)
                 (unless (= message (1+ previous)) (setf in-order nil))
                 (setf previous message))
        (mp:mailbox-send *replies* (list n sum in-order)))))
  (mp:process-run-function "producer" '()
    (lambda ()
      (loop for i from 1 to *count* do (mp:mailbox-send *to-consumer* i))
      (mp:mailbox-send *to-consumer* :done)))
  (destructuring-bind (n sum in-order) (mp:mailbox-read *replies* "waiting for the consumer" 60)
    (format t "received ~D messages, sum ~D, in order ~A~%" n sum in-order))
  (format t "mailboxes empty: ~A ~A~%"
          (mp:mailbox-empty-p *to-consumer*) (mp:mailbox-empty-p *replies*))
  (format *error-output* "elapsed-ms ~D~%"
          (round (* 1000 (- (get-internal-real-time) start))
                 internal-time-units-per-second)))

;;; Ping-pong: every message waits for its answer, so each one is a pair
;;; of context switches.
(defvar *ping* (mp:make-mailbox))
(defvar *pong* (mp:make-mailbox))
(mp:process-run-function "echo" '()
  (lambda () (loop for m = (mp:mailbox-read *ping*)
                   do (mp:mailbox-send *pong* m)
                   until (eq m :stop))))
(let ((start (get-internal-real-time)) (ok 0))
  (dotimes (i 20000)
    (mp:mailbox-send *ping* i)
    (when (eql (mp:mailbox-read *pong*) i) (incf ok)))
  (mp:mailbox-send *ping* :stop)
  (format t "ping-pong answers: ~D~%" ok)
  (format *error-output* "ping-pong-ms ~D~%"
          (round (* 1000 (- (get-internal-real-time) start))
                 internal-time-units-per-second)))
