;;; A chat server: every line a client sends goes to every other client.
;;; Each connection has a reader process and a writer process; the writer
;;; drains the client's mailbox, and a broadcaster process takes lines
;;; from its own mailbox and posts them to every client's.
;;;   netlisp examples/chat-server.lisp [PORT]     then: ncat localhost PORT
(require "comm")

(defvar *clients* '() "Mailboxes of the connected clients.")
(defvar *clients-lock* (mp:make-lock :name "clients"))
(defvar *hub* (mp:make-mailbox :name "hub"))

(defun broadcaster ()
  (loop (destructuring-bind (from . line) (mp:mailbox-read *hub*)
          (dolist (box (mp:with-lock (*clients-lock*) (copy-list *clients*)))
            (unless (eq box from) (mp:mailbox-send box line))))))

(defun client-writer (stream box)
  (handler-case
      (loop for line = (mp:mailbox-read box)
            until (eq line :quit)
            do (write-line line stream) (force-output stream))
    (comm:socket-error () nil)))

(defun serve-client (stream)
  (let* ((box (mp:make-mailbox))
         (name (format nil "~A:~D" (comm:ip-address-string (comm:socket-stream-peer-address stream))
                       (nth-value 1 (comm:socket-stream-peer-address stream))))
         (writer (mp:process-run-function "chat writer" '() 'client-writer stream box)))
    (mp:with-lock (*clients-lock*) (push box *clients*))
    (unwind-protect
         (handler-case
             (loop for line = (read-line stream nil nil)
                   while line
                   do (mp:mailbox-send *hub* (cons box (format nil "~A: ~A" name
                                                              (string-right-trim '(#\Return) line)))))
           (comm:socket-error () nil))
      (mp:with-lock (*clients-lock*) (setf *clients* (remove box *clients*)))
      (mp:mailbox-send box :quit)
      (mp:process-join writer)
      (close stream))))

(mp:process-run-function "chat hub" '() 'broadcaster)
(let ((port (if netlisp:*args* (parse-integer (first netlisp:*args*)) 10245)))
  (comm:start-up-server
   :service port :create-stream t
   :function (lambda (stream) (mp:process-run-function "chat client" '() 'serve-client stream))
   :announce (lambda (socket condition)
               (declare (ignore condition))
               (when socket
                 (format t "chat server listening on port ~D~%"
                         (nth-value 1 (comm:get-socket-address socket)))
                 (force-output)))))
