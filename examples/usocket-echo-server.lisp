;;; The echo server of examples/echo-server.lisp written with usocket, as
;;; the current Common Lisp Cookbook teaches it: SOCKET-LISTEN, then
;;; SOCKET-ACCEPT in a loop, a process per connection. Every line a client
;;; sends comes back.
;;;
;;;   netlisp examples/usocket-echo-server.lisp [PORT]   (default 10245; 0 = any)
(ql:quickload "usocket")

(defun echo-lines (connection)
  (let ((stream (usocket:socket-stream connection)))
    (unwind-protect
         (handler-case
             (loop for line = (read-line stream nil nil)
                   while line
                   do (write-line line stream)
                      (force-output stream))
           ;; A client that resets or vanishes ends only its own process.
           (usocket:socket-error () nil))
      (usocket:socket-close connection))))

(let* ((port (if netlisp:*args* (parse-integer (first netlisp:*args*)) 10245))
       (listener (usocket:socket-listen usocket:*wildcard-host* port
                                        :reuse-address t :backlog 128)))
  (format t "usocket echo server listening on port ~D~%" (usocket:get-local-port listener))
  (force-output)
  (loop (let ((connection (usocket:socket-accept listener)))
          (mp:process-run-function "usocket echo" '() #'echo-lines connection))))
