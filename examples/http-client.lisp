;;; Fetch a URL path over HTTP/1.0 and print the status line and body.
;;;   netlisp examples/http-client.lisp HOST PORT [PATH]
(require "comm")

(destructuring-bind (host port &optional (path "/")) netlisp:*args*
  (with-open-stream (s (comm:open-tcp-stream host (parse-integer port)
                                             :errorp t :timeout 5 :read-timeout 5))
    (format s "GET ~A HTTP/1.0~C~CHost: ~A~C~C~C~C" path
            #\Return #\Newline host #\Return #\Newline #\Return #\Newline)
    (force-output s)
    (let ((status (read-line s nil "")))
      (format t "~A~%" (string-right-trim '(#\Return) status)))
    ;; Skip the headers, then copy the body.
    (loop for line = (read-line s nil nil)
          while (and line (> (length (string-right-trim '(#\Return) line)) 0)))
    (loop for line = (read-line s nil nil)
          while line do (write-line line))))
