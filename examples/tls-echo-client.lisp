;;; A TLS client in the shape of LispWorks' talking-to-myself: connect with
;;; OPEN-TCP-STREAM :SSL-CTX, send each word as a line and print the
;;; replies. The server's certificate must chain to CAFILE (PEM) and name
;;; HOST; give "-" to trust the system's roots instead.
;;;
;;;   netlisp examples/tls-echo-client.lisp HOST PORT CAFILE WORD...
(require "comm")

(destructuring-bind (host port cafile &rest words) netlisp:*args*
  (let ((ctx (if (string= cafile "-")
                 t
                 (comm:create-ssl-client-context :openssl-trusted-file cafile))))
    (handler-case
        (with-open-stream (s (comm:open-tcp-stream host (parse-integer port) :ssl-ctx ctx
                                                   :errorp t :timeout 10 :read-timeout 10))
          (format t "connected with ~A~%" (comm:ssl-connection-protocol-version s))
          (dolist (w words)
            (write-line w s)
            (force-output s)
            (write-line (read-line s))))
      (comm:ssl-condition (c)
        (format t "TLS failed (~A): ~A~%" (comm:ssl-condition-reason c) c)
        (netlisp:exit :code 2)))))
