;;; LispWorks asynchronous I/O on loopback: a wait-state collection run by
;;; its own process, states for accepted, connected and UDP sockets, and
;;; each operation's callbacks, statuses and errors. No runnable oracle:
;;; async-io.expected follows the LispWorks manual (section 25.7) and
;;; docs/comm.md.
(require "comm")

(defmacro check (name form)
  `(progn (format t "~A: ~S~%" ,name (handler-case ,form
                                       (error (c) (list :error (type-of c)))))
          (finish-output)))

(defun wait-until (fn &optional (limit 5))
  "Wait (bounded) until FN returns true; its value, or :TIMED-OUT."
  (loop with end = (+ (get-internal-real-time) (* limit internal-time-units-per-second))
        for v = (funcall fn)
        when v return v
        when (> (get-internal-real-time) end) return :timed-out
        do (sleep 0.005)))

(defun octets (s) (map '(vector (unsigned-byte 8)) #'char-code s))
(defun text (v &optional (n (length v))) (map 'string #'code-char (subseq v 0 n)))

(defvar *coll* (comm:create-and-run-wait-state-collection "test"))
(check "collection" (list (typep *coll* 'comm:wait-state-collection)
                          (comm:wait-state-collection-alive-p *coll*)))
(check "runs in its process"
       (let ((box nil))
         (comm:apply-in-wait-state-collection-process
          *coll* (lambda (x) (setf box (list x (mp:process-name mp:*current-process*)))) 42)
         (wait-until (lambda () box))))

;;; A server: read exactly 5 bytes, answer, then read with checking
(defvar *events* '())
(defun note (x) (push x *events*))
(defvar *server-state* nil)
(defvar *accepting*
  (comm:accept-tcp-connections-creating-async-io-states
   *coll* 0
   (lambda (handle state)
     (declare (ignore handle))
     (setf *server-state* state)
     (setf (comm:async-io-state-user-info state) :accepted)
     (comm:async-io-state-read-buffer
      state (make-array 5 :element-type '(unsigned-byte 8))
      (lambda (st buf n)
        (note (list :read (text buf n) (comm:async-io-state-read-status st)))
        (comm:async-io-state-write-buffer
         st (octets (format nil "got ~A~%" (text buf n)))
         (lambda (st buf n) (declare (ignore st buf)) (note (list :wrote n)))))))
   :address "127.0.0.1" :queue-output t))
(defvar *port* (comm:accepting-handle-local-port *accepting*))
(check "accepting" (list (typep *accepting* 'comm:accepting-handle)
                         (plusp *port*)
                         (eq (comm:accepting-handle-collection *accepting*) *coll*)
                         (integerp (comm:accepting-handle-socket *accepting*))))
(defvar *client* (comm:open-tcp-stream "127.0.0.1" *port* :read-timeout 5))
(write-string "hello, world" *client*)
(force-output *client*)
(check "reply" (read-line *client*))
(check "events" (progn (wait-until (lambda () (= (length *events*) 2))) (reverse *events*)))
(check "state slots" (list (comm:async-io-state-user-info *server-state*)
                           (eq (comm:async-io-state-collection *server-state*) *coll*)
                           (integerp (comm:async-io-state-object *server-state*))
                           (= (nth-value 1 (comm:async-io-state-address *server-state*)) *port*)))
(check "read with checking"
       (let ((seen '()))
         (comm:apply-in-wait-state-collection-process
          *coll*
          (lambda ()
            (comm:async-io-state-read-with-checking
             *server-state*
             (lambda (st buf end)
               (push (list (subseq buf 0 end) (comm:async-io-state-read-status st)) seen)
               (comm:async-io-state-discard st end)))))
         (wait-until (lambda () seen) 1)
         (write-line "more" *client*)
         (force-output *client*)
         (wait-until (lambda () (= (length seen) 2)))
         (close *client*)
         (wait-until (lambda () (= (length seen) 3)))
         (reverse seen)))
(check "closed by peer" (comm:close-async-io-state *server-state*))

;;; Connecting without waiting
(defvar *connected* nil)
(defvar *cstate*
  (comm:create-async-io-state-and-connected-tcp-socket
   *coll* "127.0.0.1" *port*
   (lambda (state failure) (setf *connected* (list :connected (eq state *cstate*) failure)))
   :name "client" :queue-output t))
(check "connect" (wait-until (lambda () *connected*)))
(check "name" (comm:async-io-state-name *cstate*))
(check "write and read back"
       (let ((answer nil))
         (comm:apply-in-wait-state-collection-process
          *coll*
          (lambda ()
            (comm:async-io-state-write-buffer *cstate* (octets "abcdeXYZ") (lambda (s b n) (declare (ignore s b n))))
            (comm:async-io-state-read-buffer
             *cstate* (make-string 9)
             (lambda (s buf n) (declare (ignore s)) (setf answer (subseq buf 0 n))))))
         (wait-until (lambda () answer))))
(check "second read refused"
       (let ((r nil))
         (comm:apply-in-wait-state-collection-process
          *coll*
          (lambda ()
            (comm:async-io-state-read-buffer *cstate* (make-string 100) (lambda (s b n) (declare (ignore s b n))))
            (setf r (handler-case (comm:async-io-state-read-buffer *cstate* (make-string 1) 'identity)
                      (error (e) (type-of e))))))
         (wait-until (lambda () r))))
(check "abort" (let ((args nil))
                 (comm:async-io-state-abort *cstate* (lambda (&rest a) (setf args (length a))) :input)
                 (wait-until (lambda () args))))
(check "read timeout"
       (let ((r nil))
         (comm:apply-in-wait-state-collection-process
          *coll*
          (lambda ()
            (comm:async-io-state-read-buffer
             *cstate* (make-string 10)
             (lambda (s b n) (declare (ignore b)) (setf r (list n (comm:async-io-state-read-status s))))
             :timeout 0.1)))
         (wait-until (lambda () r))))
(check "timeout slot" (comm:async-io-state-read-timeout *cstate*))
(check "close state" (comm:close-async-io-state *cstate*))

(defvar *refused* nil)
(defvar *dead-port* (let ((h (comm:accept-tcp-connections-creating-async-io-states
                              *coll* 0 'identity :address "127.0.0.1")))
                      (prog1 (comm:accepting-handle-local-port h) (comm:close-accepting-handle h))))
(comm:create-async-io-state-and-connected-tcp-socket
 *coll* "127.0.0.1" *dead-port*
 (lambda (state failure)
   (setf *refused* (list (consp failure) (type-of (comm:async-io-state-write-status state))))))
(check "refused" (wait-until (lambda () *refused*)))

;;; UDP: receive with the sender's address, answer it
(defvar *udp* (comm:create-async-io-state-and-udp-socket *coll* :local-address "127.0.0.1" :local-port 0))
(defun serve-datagram (state)
  (comm:async-io-state-receive-message
   state (make-array 100 :element-type '(unsigned-byte 8))
   (lambda (st buf n addr port)
     (comm:async-io-state-send-message-to-address
      st addr port (reverse (subseq buf 0 n))
      (lambda (st) (serve-datagram st))))
   :needs-address t))
(comm:apply-in-wait-state-collection-process *coll* 'serve-datagram *udp*)
(check "udp"
       (comm+:with-connected-udp-socket (c "127.0.0.1" (nth-value 1 (comm:async-io-state-address *udp*))
                                           :read-timeout 5)
         (loop for m in '("one" "two")
               collect (progn (comm+:send-message c (octets m))
                              (multiple-value-bind (b n) (comm+:receive-message c) (text b n))))))

;;; Errors in callbacks are reported; the loop goes on
(check "callback error"
       (let ((after nil))
         (comm:apply-in-wait-state-collection-process *coll* (lambda () (error "a callback failed")))
         (comm:apply-in-wait-state-collection-process *coll* (lambda () (setf after t)))
         (wait-until (lambda () after))))

;;; Bad arguments
(check "not a state" (comm:async-io-state-read-buffer 42 (make-string 1) 'identity))
(check "bad range" (comm:async-io-state-read-buffer *udp* (make-string 4) 'identity :start 3 :end 9))
(check "bad element type" (comm:async-io-state-read-with-checking *udp* 'identity :element-type 'fixnum))

;;; Closing the collection closes everything in it
(check "close collection" (progn (comm:close-wait-state-collection *coll*)
                                 (comm:wait-state-collection-alive-p *coll*)))
(check "loop ended" (wait-until (lambda () (not (find "Loop Collection test" (mp:list-all-processes)
                                                      :key #'mp:process-name :test #'string=)))))
(check "sockets left" (progn (wait-until (lambda () (null (netlisp:sockets))) 2) (length (netlisp:sockets))))
