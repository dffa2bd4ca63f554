;;; Send each argument as a line to an echo server and print the replies.
;;;   netlisp examples/echo-client.lisp HOST PORT LINE...
(require "comm")

(destructuring-bind (host port &rest lines) netlisp:*args*
  (with-open-stream (s (comm:open-tcp-stream host (parse-integer port)
                                             :errorp t :timeout 5 :read-timeout 5))
    (dolist (line lines)
      (write-line line s)
      (force-output s)
      (format t "~A~%" (read-line s)))))
