;;; A tiny HTTP/1.0 server: one process per connection, answers every GET
;;; with a small page naming the path, 404 for /missing, closes after each.
;;;   netlisp examples/http-server.lisp [PORT]     then: curl http://localhost:PORT/hi
(require "comm")

(defun read-request (stream)
  "The request line, after reading (and dropping) the headers."
  (let ((request (read-line stream nil nil)))
    (loop for line = (read-line stream nil nil)
          while (and line (> (length (string-right-trim '(#\Return) line)) 0)))
    (and request (string-right-trim '(#\Return) request))))

(defun respond (stream status body)
  (format stream "HTTP/1.0 ~A~C~CContent-Type: text/plain~C~CContent-Length: ~D~C~C~C~C~A"
          status #\Return #\Newline #\Return #\Newline (length body)
          #\Return #\Newline #\Return #\Newline body)
  (force-output stream))

(defun serve-http (stream)
  (unwind-protect
       (handler-case
           (let* ((request (read-request stream))
                  (path (and request (second (uiop-split request)))))
             (cond ((null path) (respond stream "400 Bad Request" "bad request"))
                   ((string= path "/missing") (respond stream "404 Not Found" "not found"))
                   (t (respond stream "200 OK" (format nil "Hello from netlisp: ~A~%" path)))))
         (comm:socket-error () nil))
    (close stream)))

(defun uiop-split (line)
  (loop with start = 0
        for pos = (position #\Space line :start start)
        collect (subseq line start pos)
        while pos do (setf start (1+ pos))))

(let ((port (if netlisp:*args* (parse-integer (first netlisp:*args*)) 8080)))
  (comm:start-up-server
   :service port
   :create-stream t
   :function (lambda (stream)
               (mp:process-run-function "http" '() 'serve-http stream))
   :announce (lambda (socket condition)
               (declare (ignore condition))
               (when socket
                 (format t "http server listening on port ~D~%"
                         (nth-value 1 (comm:get-socket-address socket)))
                 (force-output)))))
