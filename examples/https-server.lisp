;;; A tiny HTTPS/1.0 server: examples/http-server.lisp with TLS. Every GET
;;; gets a small page naming the path. With CERT and KEY (PEM files) it
;;; serves that certificate; without, a self-signed one for localhost,
;;; written to https-server.pem.
;;;
;;;   netlisp examples/https-server.lisp PORT [CERT KEY]
;;;   curl --cacert https-server.pem https://localhost:PORT/hi
(require "comm")

(defvar *ctx*
  (destructuring-bind (&optional port cert key) netlisp:*args*
    (declare (ignore port))
    (if cert
        (comm:create-ssl-server-context :cert-file cert :key-file key :alpn "http/1.1")
        (multiple-value-bind (ctx pem) (comm:create-self-signed-ssl-server-context :alpn "http/1.1")
          (with-open-file (out "https-server.pem" :direction :output :if-exists :supersede)
            (write-string pem out))
          ctx))))

(defun serve-https (handle)
  (handler-case
      (with-open-stream (s (make-instance 'comm:socket-stream :socket handle :direction :io
                                          :ssl-ctx *ctx* :handshake-timeout 10 :read-timeout 30))
        (let* ((request (string-right-trim '(#\Return) (or (read-line s nil nil) "")))
               (start (position #\Space request))
               (path (and start (subseq request (1+ start) (position #\Space request :start (1+ start))))))
          ;; Headers are read and dropped.
          (loop for line = (read-line s nil nil)
                while (and line (string/= (string-right-trim '(#\Return) line) "")))
          (let ((body (format nil "Hello from netlisp over ~A: ~A~%"
                              (comm:ssl-connection-protocol-version s) (or path "?"))))
            (format s "HTTP/1.0 200 OK~C~CContent-Type: text/plain~C~CContent-Length: ~D~C~C~C~C~A"
                    #\Return #\Newline #\Return #\Newline (length body)
                    #\Return #\Newline #\Return #\Newline body)
            (force-output s))))
    (comm:socket-error (c) (format *error-output* "https: ~A~%" c))))

(comm:start-up-server
 :service (if netlisp:*args* (parse-integer (first netlisp:*args*)) 8443)
 :function (lambda (handle) (mp:process-run-function "https" '() 'serve-https handle))
 :announce (lambda (socket condition)
             (declare (ignore condition))
             (when socket
               (format t "https server listening on port ~D~%"
                       (nth-value 1 (comm:get-socket-address socket)))
               (force-output))))
