;;; An echo server in the LispWorks style: START-UP-SERVER calls
;;; MAKE-STREAM-AND-TALK with each connection's socket handle, which hands
;;; it to a process of its own. Every line a client sends comes back.
;;;
;;;   netlisp examples/echo-server.lisp [PORT]      (default 10244; 0 = any)
;;;   netlisp examples/echo-client.lisp localhost 10244 hello world
(require "comm")

(defun talk-on-stream (handle)
  (let ((stream (make-instance 'comm:socket-stream :socket handle
                               :direction :io :element-type 'base-char)))
    (unwind-protect
         (handler-case
             (loop for line = (read-line stream nil nil)
                   while line
                   do (write-line line stream)
                      (force-output stream))
           ;; A client that resets or vanishes ends only its own process.
           (comm:socket-error () nil))
      (close stream))))

(defun make-stream-and-talk (handle)
  (mp:process-run-function (format nil "echo ~D" handle) '()
                           'talk-on-stream handle))

(let ((port (if netlisp:*args* (parse-integer (first netlisp:*args*)) 10244)))
  (comm:start-up-server
   :function 'make-stream-and-talk
   :service port
   :announce (lambda (socket condition)
               (if socket
                   (format t "echo server listening on port ~D~%"
                           (nth-value 1 (comm:get-socket-address socket)))
                   (when condition (format t "echo server failed: ~A~%" condition)))
               (force-output))))
