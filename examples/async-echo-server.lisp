;;; An echo server on LispWorks asynchronous I/O: one wait-state
;;; collection (one process) serves every connection through callbacks,
;;; with no process per client. Each round of input is written back;
;;; :QUEUE-OUTPUT lets a write start while the previous one is still
;;; going, and the close is queued behind the last write.
;;;
;;;   netlisp examples/async-echo-server.lisp [PORT [CERT KEY]]   (default 10246; 0 = any)
;;;   netlisp examples/echo-client.lisp localhost 10246 hello world
;;; With CERT and KEY (PEM files) every connection speaks TLS
;;; (:SSL-CTX on the accepting handle):
;;;   netlisp examples/tls-echo-client.lisp localhost 10246 CAFILE hello
(require "comm")

(defun close-when-written (state)
  (comm:async-io-state-write-buffer
   state (make-array 0 :element-type '(unsigned-byte 8))
   (lambda (state buffer n)
     (declare (ignore buffer n))
     (comm:close-async-io-state state))))

(defun echo (state)
  (comm:async-io-state-read-with-checking
   state
   (lambda (state buffer end)
     (when (plusp end)
       (comm:async-io-state-write-buffer state (subseq buffer 0 end)
                                         (lambda (state buffer n) (declare (ignore state buffer n))))
       (comm:async-io-state-discard state end))
     (when (comm:async-io-state-read-status state) ; :EOF, :TIMEOUT or an error
       (close-when-written state)))
   :element-type '(unsigned-byte 8)))

(let* ((port (if netlisp:*args* (parse-integer (first netlisp:*args*)) 10246))
       (cert (second netlisp:*args*))
       (collection (comm:create-and-run-wait-state-collection "echo")))
  (comm:accept-tcp-connections-creating-async-io-states
   collection port
   (lambda (handle state) (declare (ignore handle)) (echo state))
   :queue-output t
   :ssl-ctx (and cert (comm:create-ssl-server-context :cert-file cert
                                                      :key-file (third netlisp:*args*)))
   :init-function (lambda (socket)
                    (format t "async echo server listening on port ~D~%"
                            (nth-value 1 (comm:get-socket-address socket)))
                    (force-output))))
