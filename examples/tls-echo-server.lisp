;;; A TLS echo server in the shape of LispWorks' ssl/ssl-server.lisp:
;;; START-UP-SERVER hands each socket handle to a new process, which wraps
;;; it with MAKE-INSTANCE 'COMM:SOCKET-STREAM :SSL-CTX and answers each
;;; line with "You sent: '...'". With CERT and KEY (PEM files) it serves
;;; that certificate; without, a throw-away self-signed one for localhost,
;;; whose PEM it writes to tls-echo-server.pem for clients to trust.
;;;
;;;   netlisp examples/tls-echo-server.lisp PORT [CERT KEY]
;;;   openssl s_client -connect localhost:PORT -CAfile tls-echo-server.pem
;;;   netlisp examples/tls-echo-client.lisp localhost PORT tls-echo-server.pem hello
(require "comm")

(defun server-context (args)
  (if (second args)
      (comm:create-ssl-server-context :cert-file (second args) :key-file (third args))
      (multiple-value-bind (ctx pem) (comm:create-self-signed-ssl-server-context)
        (with-open-file (out "tls-echo-server.pem" :direction :output :if-exists :supersede)
          (write-string pem out))
        ctx)))

(defvar *ctx* (server-context netlisp:*args*))

(defun make-stream-and-talk (handle)
  (handler-case
      (with-open-stream (s (make-instance 'comm:socket-stream :socket handle :direction :io
                                          :element-type 'base-char :ssl-ctx *ctx*
                                          :handshake-timeout 10))
        (loop for line = (read-line s nil nil)
              while line
              do (format s "You sent: '~A'~%" (string-right-trim '(#\Return) line))
                 (force-output s)))
    ;; A client that fails the handshake or goes away ends only its process.
    (comm:socket-error (c) (format *error-output* "tls-echo: ~A~%" c))))

(comm:start-up-server
 :service (if netlisp:*args* (parse-integer (first netlisp:*args*)) 10244)
 :function (lambda (handle)
             (mp:process-run-function "tls echo" '() 'make-stream-and-talk handle))
 :announce (lambda (socket condition)
             (if socket
                 (format t "tls echo server listening on port ~D~%"
                         (nth-value 1 (comm:get-socket-address socket)))
                 (when condition (format t "tls echo server failed: ~A~%" condition)))
             (force-output)))
