;;;; A short tour of netlisp: run with `netlisp examples/tour.lisp`.

;; Functions, closures and multiple values.
(defun make-counter (&key (start 0) (step 1))
  (let ((n start))
    (lambda () (prog1 n (incf n step)))))

(let ((c (make-counter :start 10 :step 5)))
  (format t "counter: ~{~a~^, ~}~%" (list (funcall c) (funcall c) (funcall c))))

(multiple-value-bind (q r) (floor 17 5)
  (format t "17 = 5*~a + ~a~%" q r))

;; Bignums, ratios and floats print as SBCL prints them.
(format t "2^100 = ~a, 1/3 + 1/6 = ~a, (sqrt 2) = ~a~%" (expt 2 100) (+ 1/3 1/6) (sqrt 2))

;; LOOP, hash tables and sorting.
(let ((counts (make-hash-table :test 'equal)))
  (dolist (word '("tcp" "udp" "tcp" "tls" "tcp" "udp"))
    (incf (gethash word counts 0)))
  (format t "~:{~a: ~a~%~}"
          (sort (loop for k being the hash-keys of counts using (hash-value v)
                      collect (list k v))
                #'> :key #'second)))

;; Structures and CLOS.
(defstruct endpoint host (port 80))
(defclass connection ()
  ((endpoint :initarg :endpoint :reader endpoint)
   (bytes :initform 0 :accessor bytes)))
(defmethod print-object ((c connection) stream)
  (print-unreadable-object (c stream :type t)
    (format stream "~a:~a" (endpoint-host (endpoint c)) (endpoint-port (endpoint c)))))
(defgeneric send (connection data))
(defmethod send ((c connection) (data string)) (incf (bytes c) (length data)))
(defmethod send :after ((c connection) data)
  (declare (ignore data))
  (format t "~a has sent ~a bytes~%" c (bytes c)))
(let ((c (make-instance 'connection :endpoint (make-endpoint :host "localhost" :port 8080))))
  (send c "GET / HTTP/1.0")
  (send c (format nil "~c~c" #\Return #\Newline)))

;; The condition system: handlers run before unwinding, restarts recover.
(define-condition connection-refused (error)
  ((port :initarg :port :reader port))
  (:report (lambda (c s) (format s "connection to port ~a refused" (port c)))))

(defun connect (port)
  (restart-case (error 'connection-refused :port port)
    (use-port (other) :report "Try another port." (format nil "connected to ~a" other))))

(format t "~a~%"
        (handler-bind ((connection-refused
                         (lambda (c)
                           (format t "handler saw: ~a~%" c)
                           (invoke-restart 'use-port (1+ (port c))))))
          (connect 8080)))

;; The network: a LispWorks COMM server on a port the OS picks, in its own
;; process, and a client talking to it, all on loopback.
(require "comm")
(defvar *port* nil)
(defvar *server*
 (comm:start-up-server
 :service 0 :address "127.0.0.1" :wait t
 :function (lambda (handle)
             (with-open-stream (s (make-instance 'comm:socket-stream :socket handle
                                                 :direction :io :element-type 'base-char))
               (format s "~:@(~A~)~%" (read-line s))))
 :announce (lambda (socket condition)
             (declare (ignore condition))
             (when socket (setf *port* (nth-value 1 (comm:get-socket-address socket)))))))
(with-open-stream (s (comm:open-tcp-stream "127.0.0.1" *port* :errorp t :read-timeout 5))
  (write-line "hello over tcp" s)
  (force-output s)
  (format t "server replied: ~a~%" (read-line s)))
(format t "refused: ~a~%" (nth-value 1 (comm:open-tcp-stream "127.0.0.1" 1)))
(comm:server-terminate *server*)            ; a script ends when its processes do

(format t "~&Done. ~a~%" (lisp-implementation-type))
