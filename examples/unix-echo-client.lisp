;;; Send each argument as a line over a Unix-domain socket and print the
;;; replies.
;;;   netlisp examples/unix-echo-client.lisp PATH LINE...
(require "comm+")

(destructuring-bind (path &rest lines) netlisp:*args*
  (comm+:with-unix-stream (s path :errorp t :read-timeout 5)
    (dolist (line lines)
      (write-line line s)
      (force-output s)
      (format t "~A~%" (read-line s)))))
