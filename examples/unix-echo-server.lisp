;;; An echo server on a Unix-domain socket: START-UP-SERVER with :PATH (a
;;; netlisp extension) serves a socket file instead of a TCP port, a
;;; process per connection as for TCP. Only this user may connect (mode
;;; #o600); a socket file left by a crashed run is replaced (:REMOVE-STALE),
;;; and the file is removed when the server stops.
;;;
;;;   netlisp examples/unix-echo-server.lisp PATH
;;;   netlisp examples/unix-echo-client.lisp PATH hello world
(require "comm")

(defun echo-lines (handle)
  (with-open-stream (s (make-instance 'comm:socket-stream :socket handle :direction :io))
    (handler-case
        (loop for line = (read-line s nil nil)
              while line
              do (write-line line s)
                 (force-output s))
      (comm:socket-error () nil))))

(let ((path (first netlisp:*args*)))
  (comm:start-up-server
   :path path :mode #o600 :remove-stale t
   :function (lambda (handle) (mp:process-run-function "unix echo" '() 'echo-lines handle))
   :announce (lambda (socket condition)
               (if socket
                   (format t "unix echo server listening on ~A~%" (comm+:get-socket-pathname socket))
                   (when condition (format t "unix echo server failed: ~A~%" condition)))
               (force-output))))
