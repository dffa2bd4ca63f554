;;; Send each argument as one datagram to a UDP echo server and print the
;;; replies. A datagram can be lost, and a server that is not up yet
;;; answers with ICMP port unreachable (a CONNECTION-REFUSED-ERROR on
;;; this connected socket): each message is tried up to 5 times.
;;;   netlisp examples/udp-echo-client.lisp HOST PORT MESSAGE...
(require "comm+")

(defun octets (string) (map '(vector (unsigned-byte 8)) #'char-code string))

(destructuring-bind (host port &rest messages) netlisp:*args*
  (comm+:with-connected-udp-socket (s host (parse-integer port) :errorp t :read-timeout 1)
    (dolist (m messages)
      (loop repeat 5
            do (handler-case
                   (progn
                     (comm+:send-message s (octets m))
                     (multiple-value-bind (buffer length) (comm+:receive-message s)
                       (when buffer
                         (format t "~A~%" (map 'string #'code-char (subseq buffer 0 length)))
                         (return))))
                 (comm:connection-refused-error () (sleep 0.2)))
            finally (format t "no answer for ~S~%" m)))))
