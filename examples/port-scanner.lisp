;;; Scan a port range on a host and list the open ports. Each probe runs in
;;; its own process with a short connect timeout, so a filtered port does
;;; not hold up the others.
;;;   netlisp examples/port-scanner.lisp HOST FIRST LAST
(require "comm")

(destructuring-bind (host first last) netlisp:*args*
  (let* ((first (parse-integer first))
         (last (parse-integer last))
         (open '())
         (lock (mp:make-lock))
         (probes
           (loop for port from first to last
                 collect (let ((port port))
                           (mp:process-run-function
                            (format nil "probe ~D" port) '()
                            (lambda ()
                              (let ((s (comm:open-tcp-stream host port :timeout 2)))
                                (when s
                                  (close s)
                                  (mp:with-lock (lock) (push port open))))))))))
    (mapc #'mp:process-join probes)
    (format t "~D ports scanned, open: ~{~D~^ ~}~%" (1+ (- last first)) (sort open #'<))))
