;;;; The same line-echo client and server written in each dialect (COMM,
;;;; PORT, usocket, sb-bsd-sockets), every server talking to a client of
;;;; another dialect over loopback. COMM has no oracle but its manual, so
;;;; the expected output is written by hand: each client sends a line and
;;;; prints the server's reply, "<dialect of server>: <line>".
(require "comm") (require :usocket) (require "port") (require :sb-bsd-sockets)

(defun serve-lines (stream who)
  (let ((line (read-line stream nil)))
    (when line
      (format stream "~A: ~A~%" who line)
      (force-output stream))))

;;; Servers: each returns its port and serves connections in a process.

(defun comm-server ()
  (let ((ready (mp:make-mailbox)))
    (comm:start-up-server :service 0 :address "127.0.0.1" :wait t
                          :announce (lambda (h c) (declare (ignore c))
                                      (when h (mp:mailbox-send ready (nth-value 1 (comm:get-socket-address h)))))
                          :function (lambda (h)
                                      (let ((s (make-instance 'comm:socket-stream :socket h :direction :io
                                                                                  :element-type 'base-char)))
                                        (unwind-protect (serve-lines s "comm") (close s)))))
    (mp:mailbox-read ready)))

(defun usocket-server ()
  (let ((l (usocket:socket-listen "127.0.0.1" 0 :reuse-address t)))
    (mp:process-run-function "usocket server" '()
      (lambda () (loop (let ((c (usocket:socket-accept l)))
                         (unwind-protect (serve-lines (usocket:socket-stream c) "usocket")
                           (usocket:socket-close c))))))
    (usocket:get-local-port l)))

(defun port-server ()
  (let ((srv (port:open-socket-server)))
    (port:make-process "port server"
      (lambda () (loop (let ((s (port:socket-accept srv)))
                         (unwind-protect (serve-lines s "port") (close s))))))
    (nth-value 1 (port:socket-server-host/port srv))))

(defun bsd-server ()
  (let ((l (make-instance 'sb-bsd-sockets:inet-socket :type :stream :protocol :tcp)))
    (setf (sb-bsd-sockets:sockopt-reuse-address l) t)
    (sb-bsd-sockets:socket-bind l #(127 0 0 1) 0)
    (sb-bsd-sockets:socket-listen l 5)
    (mp:process-run-function "bsd server" '()
      (lambda () (loop (let ((c (sb-bsd-sockets:socket-accept l)))
                         (unwind-protect (serve-lines (sb-bsd-sockets:socket-make-stream c :input t :output t)
                                                      "sb-bsd-sockets")
                           (sb-bsd-sockets:socket-close c))))))
    (nth-value 1 (sb-bsd-sockets:socket-name l))))

;;; Clients: each sends LINE to PORT and returns the reply.

(defun comm-client (port line)
  (with-open-stream (s (comm:open-tcp-stream "127.0.0.1" port))
    (write-line line s) (force-output s) (read-line s)))

(defun usocket-client (port line)
  (usocket:with-client-socket (c s "127.0.0.1" port)
    (write-line line s) (force-output s) (read-line s)))

(defun port-client (port line)
  (let ((s (port:open-socket "127.0.0.1" port)))
    (unwind-protect (progn (write-line line s) (force-output s) (read-line s))
      (close s))))

(defun bsd-client (port line)
  (let ((c (make-instance 'sb-bsd-sockets:inet-socket :type :stream :protocol :tcp)))
    (sb-bsd-sockets:socket-connect c (sb-bsd-sockets:make-inet-address "127.0.0.1") port)
    (let ((s (sb-bsd-sockets:socket-make-stream c :input t :output t)))
      (unwind-protect (progn (write-line line s) (force-output s) (read-line s))
        (sb-bsd-sockets:socket-close c)))))

(let ((servers (list (cons "comm" (comm-server)) (cons "usocket" (usocket-server))
                     (cons "port" (port-server)) (cons "sb-bsd-sockets" (bsd-server))))
      (clients (list (cons "comm" #'comm-client) (cons "usocket" #'usocket-client)
                     (cons "port" #'port-client) (cons "sb-bsd-sockets" #'bsd-client))))
  (dolist (server servers)
    (dolist (client clients)
      (format t "~A client -> ~A~%" (car client)
              (funcall (cdr client) (cdr server) (format nil "from ~A" (car client)))))))
(quit)
