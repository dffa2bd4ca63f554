;;; Bulk transfer through loopback: a receiver process and a sender in one
;;; netlisp, 64 KiB READ-SEQUENCE / WRITE-SEQUENCE on octet vectors.
;;; Prints the megabytes per second. Arguments: [MIB] (default 256) and
;;; "unix" to go through a Unix-domain socket in /tmp instead of TCP, or
;;; "tls" for TCP with TLS (a self-signed certificate made in memory), or
;;; "usocket" for TCP with both ends written in usocket.
(require "comm")
(require :usocket)

(defvar *mib* (if netlisp:*args* (parse-integer (first netlisp:*args*)) 256))
(defvar *unix* (equal (second netlisp:*args*) "unix"))
(defvar *tls* (equal (second netlisp:*args*) "tls"))
(defvar *usocket* (equal (second netlisp:*args*) "usocket"))
(defvar *server-ctx* nil)
(defvar *client-ctx* nil)
(when *tls*
  (multiple-value-bind (ctx pem) (comm:create-self-signed-ssl-server-context)
    (setf *server-ctx* ctx
          *client-ctx* (comm:create-ssl-client-context :trusted-certificates pem))))
(defvar *path* (format nil "/tmp/netlisp-bulk-~D.sock" (random 1000000 (make-random-state t))))
(defvar *port* nil)
(defvar *received* 0)
(defvar *done* (mp:make-semaphore))

(defun sink (handle)
  (mp:process-run-function "sink" '()
    (lambda ()
      (with-open-stream (s (make-instance 'comm:socket-stream :socket handle :direction :io
                                          :element-type '(unsigned-byte 8) :ssl-ctx *server-ctx*))
        (let ((buf (make-array 65536 :element-type '(unsigned-byte 8))))
          (loop for n = (read-sequence buf s)
                do (incf *received* n)
                while (= n 65536))))
      (mp:semaphore-release *done*))))

(defun usocket-sink (listener)
  (mp:process-run-function "usocket sink" '()
    (lambda ()
      (let* ((c (usocket:socket-accept listener :element-type '(unsigned-byte 8)))
             (s (usocket:socket-stream c))
             (buf (make-array 65536 :element-type '(unsigned-byte 8))))
        (loop for n = (read-sequence buf s)
              do (incf *received* n)
              while (= n 65536))
        (usocket:socket-close c))
      (mp:semaphore-release *done*))))

(defvar *listener*
  (when *usocket*
    (let ((l (usocket:socket-listen "127.0.0.1" 0 :element-type '(unsigned-byte 8))))
      (setf *port* (usocket:get-local-port l))
      (usocket-sink l)
      l)))

(defvar *server*
  (unless *usocket*
   (comm:start-up-server :function 'sink :wait t
                        :path (and *unix* *path*)
                        :service 0 :address "127.0.0.1"
                        :announce (lambda (s c) (declare (ignore c))
                                    (when s (setf *port* (nth-value 1 (comm:get-socket-address s))))))))

(let ((buf (make-array 65536 :element-type '(unsigned-byte 8) :initial-element 7))
      (start (get-internal-real-time)))
  (with-open-stream (s (cond (*unix*
                              (comm+:open-unix-stream *path* :errorp t :element-type '(unsigned-byte 8)))
                             (*usocket*
                              (usocket:socket-stream
                               (usocket:socket-connect "127.0.0.1" *port* :element-type '(unsigned-byte 8))))
                             (t (comm:open-tcp-stream "127.0.0.1" *port* :errorp t :ssl-ctx *client-ctx*
                                                      :element-type '(unsigned-byte 8)))))
    (dotimes (i (* *mib* 16)) (write-sequence buf s)))
  (mp:semaphore-acquire *done*)
  (let ((secs (/ (- (get-internal-real-time) start) internal-time-units-per-second)))
    (assert (= *received* (* *mib* 1024 1024)))
    (format t "~,1F~%" (/ *mib* secs))))
(if *server* (comm:server-terminate *server*) (usocket:socket-close *listener*))
