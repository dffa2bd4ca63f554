;;;; usocket 0.8.x on netlisp's network core.
;;;;
;;;; The exported API of usocket (and the usocket-server system's
;;;; SOCKET-SERVER), written over COMM: a usocket wraps a COMM socket
;;;; stream (connections), a listening handle (servers) or a
;;;; SOCKET-DATAGRAM (UDP). Errors from the core are COMM:SOCKET-ERRORs;
;;;; WITH-MAPPED-CONDITIONS turns them into usocket's classes by errno,
;;;; with upstream's Linux table (plus EACCES, as usocket 0.8.9 maps it).
;;;; Internal names the usocket test suite reaches for
;;;; (MAKE-STREAM-SOCKET, STATE, IGNORE-UNSUPPORTED-WARNINGS,
;;;; USOCKET-REAL-ERROR, ...) exist under the same names.

(defpackage "USOCKET"
  (:use "COMMON-LISP")
  (:export
   "*VERSION*" "*WILDCARD-HOST*" "*AUTO-PORT*" "+MAX-DATAGRAM-PACKET-SIZE+"
   "*IPV6-ONLY-P*" "*BACKEND*" "*DEFAULT-EVENT-BASE*"
   "SOCKET-CONNECT" "SOCKET-LISTEN" "SOCKET-ACCEPT" "SOCKET-CLOSE" "SOCKET-SHUTDOWN"
   "GET-LOCAL-ADDRESS" "GET-PEER-ADDRESS" "GET-LOCAL-PORT" "GET-PEER-PORT"
   "GET-LOCAL-NAME" "GET-PEER-NAME"
   "SOCKET-SEND" "SOCKET-RECEIVE"
   "WAIT-FOR-INPUT" "MAKE-WAIT-LIST" "ADD-WAITER" "REMOVE-WAITER" "REMOVE-ALL-WAITERS"
   "WITH-CONNECTED-SOCKET" "WITH-SERVER-SOCKET" "WITH-CLIENT-SOCKET" "WITH-SOCKET-LISTENER"
   "USOCKET" "STREAM-USOCKET" "STREAM-SERVER-USOCKET" "DATAGRAM-USOCKET"
   "SOCKET" "SOCKET-STREAM" "SOCKET-STATE"
   "USOCKET-P" "STREAM-USOCKET-P" "STREAM-SERVER-USOCKET-P" "DATAGRAM-USOCKET-P"
   "HOST-BYTE-ORDER" "HBO-TO-DOTTED-QUAD" "HBO-TO-VECTOR-QUAD"
   "VECTOR-QUAD-TO-DOTTED-QUAD" "DOTTED-QUAD-TO-VECTOR-QUAD"
   "VECTOR-TO-IPV6-HOST" "IPV6-HOST-TO-VECTOR" "IP=" "IP/="
   "INTEGER-TO-OCTET-BUFFER" "OCTET-BUFFER-TO-INTEGER" "PORT-TO-OCTET-BUFFER"
   "PORT-FROM-OCTET-BUFFER" "IP-TO-OCTET-BUFFER" "IP-FROM-OCTET-BUFFER"
   "WITH-MAPPED-CONDITIONS"
   "SOCKET-CONDITION" "NS-CONDITION" "SOCKET-ERROR" "NS-ERROR" "UNKNOWN-CONDITION"
   "NS-UNKNOWN-CONDITION" "UNKNOWN-ERROR" "NS-UNKNOWN-ERROR" "SOCKET-WARNING"
   "INSUFFICIENT-IMPLEMENTATION" "UNSUPPORTED" "UNIMPLEMENTED"
   "SOCKET-SERVER" "*REMOTE-HOST*" "*REMOTE-PORT*"
   "GET-HOST-BY-NAME" "GET-HOSTS-BY-NAME" "GET-RANDOM-HOST-BY-NAME" "GET-HOST-NAME"
   "NS-HOST-NOT-FOUND-ERROR" "NS-NO-RECOVERY-ERROR" "NS-TRY-AGAIN-ERROR"
   "NS-TRY-AGAIN-CONDITION"
   "DEFAULT-UDP-HANDLER" "DEFAULT-TCP-HANDLER" "ECHO-TCP-HANDLER"
   "HOST-TO-HOSTNAME" "HOST-OR-IP" "USOCKET-SOCKET"
   "ADDRESS-NOT-AVAILABLE-ERROR" "HOST-DOWN-ERROR" "OPERATION-NOT-SUPPORTED-ERROR"
   "SOCKET-OPTION" "NETWORK-DOWN-ERROR" "INVALID-SOCKET-ERROR"
   "SOCKET-TYPE-NOT-SUPPORTED-ERROR" "DEADLINE-TIMEOUT-ERROR" "SHUTDOWN-ERROR"
   "HOST-UNREACHABLE-ERROR" "NETWORK-UNREACHABLE-ERROR" "CONNECTION-ABORTED-ERROR"
   "BAD-FILE-DESCRIPTOR-ERROR" "PROTOCOL-NOT-SUPPORTED-ERROR" "CONNECTION-RESET-ERROR"
   "TIMEOUT-ERROR" "ADDRESS-IN-USE-ERROR" "NO-BUFFERS-ERROR"
   "INVALID-SOCKET-STREAM-ERROR" "INTERRUPTED-CONDITION" "INVALID-ARGUMENT-ERROR"
   "OPERATION-NOT-PERMITTED-ERROR" "NETWORK-RESET-ERROR" "CONNECTION-REFUSED-ERROR"
   "ALREADY-SHUTDOWN-ERROR" "OUT-OF-MEMORY-ERROR"))

(in-package "USOCKET")

(defparameter *version* "0.8.9" "The usocket API version this layer implements.")
(defparameter *wildcard-host* #(0 0 0 0) "The host meaning every interface.")
(defparameter *auto-port* 0 "The port meaning: let the system choose.")
(defconstant +max-datagram-packet-size+ 65507 "The largest UDP payload over IPv4.")
(defvar *ipv6-only-p* nil "When true, name lookups return IPv6 addresses only.")
(defvar *backend* :native)
(defvar *default-event-base* nil)
(defvar *remote-host* nil "The peer's address, bound around SOCKET-SERVER handlers.")
(defvar *remote-port* nil "The peer's port, bound around SOCKET-SERVER handlers.")

;;; Conditions

(define-condition insufficient-implementation (error)
  ((feature :initarg :feature :initform nil :reader feature)
   (context :initarg :context :initform nil :reader context))
  (:documentation "A feature usocket offers that this implementation cannot."))

(define-condition unsupported (insufficient-implementation)
  ((minimum :initarg :minimum :initform nil :reader minimum))
  (:report (lambda (c s)
             (format s "~A in ~A is unsupported~@[ (at least ~A is needed)~]."
                     (feature c) (context c) (minimum c)))))

(define-condition unimplemented (insufficient-implementation) ()
  (:report (lambda (c s)
             (format s "~A in ~A is not implemented." (feature c) (context c)))))

(define-condition socket-condition (condition)
  ((socket :initarg :socket :initform nil :accessor usocket-socket)
   ;; netlisp: the core's condition, whose text the report shows.
   (cause :initarg :cause :initform nil :reader condition-cause))
  (:report (lambda (c s) (report-cause c s))))

(defun report-cause (c s)
  (if (condition-cause c)
      (format s "~A: ~A" (type-of c) (condition-cause c))
      (format s "~A~@[ on ~A~]" (type-of c) (usocket-socket c))))

(define-condition socket-error (socket-condition error) ()
  (:report (lambda (c s) (report-cause c s))))

(define-condition ns-condition (condition)
  ((host-or-ip :initarg :host-or-ip :initform nil :accessor host-or-ip)
   (cause :initarg :cause :initform nil :reader condition-cause))
  (:report (lambda (c s)
             (format s "~A for ~S~@[: ~A~]" (type-of c) (host-or-ip c) (condition-cause c)))))

(define-condition ns-error (ns-condition error)
  ((socket :initarg :socket :initform nil :accessor usocket-socket))
  (:report (lambda (c s)
             (format s "~A for ~S~@[: ~A~]" (type-of c) (host-or-ip c) (condition-cause c)))))

(defmacro define-condition-classes (parent &rest names)
  `(progn ,@(mapcar (lambda (n) `(define-condition ,n (,parent) ())) names)))

(define-condition-classes socket-condition interrupted-condition)
(define-condition-classes ns-condition ns-try-again-condition)
(define-condition socket-warning (socket-condition warning) ())

(define-condition unknown-condition (socket-condition)
  ((real-condition :initarg :real-condition :accessor usocket-real-condition)))

(define-condition-classes socket-error
  address-in-use-error address-not-available-error already-shutdown-error
  bad-file-descriptor-error connection-refused-error connection-aborted-error
  connection-reset-error invalid-argument-error no-buffers-error
  operation-not-supported-error operation-not-permitted-error
  protocol-not-supported-error socket-type-not-supported-error
  network-unreachable-error network-down-error network-reset-error
  host-down-error host-unreachable-error out-of-memory-error shutdown-error
  timeout-error deadline-timeout-error invalid-socket-error invalid-socket-stream-error)

(define-condition unknown-error (socket-error)
  ((real-error :initarg :real-error :initform nil :accessor usocket-real-error)
   (errno :initarg :errno :initform nil :reader usocket-errno))
  (:report (lambda (c s)
             (format s "Unknown socket error~@[ (errno ~A)~]: ~A"
                     (usocket-errno c) (usocket-real-error c)))))

(define-condition-classes ns-error ns-host-not-found-error ns-no-recovery-error ns-try-again-error)

(define-condition ns-unknown-condition (ns-condition)
  ((real-condition :initarg :real-condition :accessor ns-real-condition)))

(define-condition ns-unknown-error (ns-error)
  ((real-error :initarg :real-error :accessor ns-real-error)))

(defparameter +errno-error-map+
  '((98 . address-in-use-error) (99 . address-not-available-error)
    (9 . bad-file-descriptor-error) (111 . connection-refused-error)
    (104 . connection-reset-error) (103 . connection-aborted-error)
    (22 . invalid-argument-error) (105 . no-buffers-error) (12 . out-of-memory-error)
    (95 . operation-not-supported-error) (1 . operation-not-permitted-error)
    (13 . operation-not-permitted-error) (92 . protocol-not-supported-error)
    (93 . socket-type-not-supported-error) (101 . network-unreachable-error)
    (100 . network-down-error) (102 . network-reset-error) (108 . already-shutdown-error)
    (110 . timeout-error) (112 . host-down-error) (113 . host-unreachable-error))
  "Linux errno -> usocket error class, as upstream's table (EACCES as in 0.8.9).")

(defparameter +comm-error-map+
  '((comm:connect-timeout-error . timeout-error) (comm:io-timeout-error . timeout-error)
    (comm:connection-refused-error . connection-refused-error)
    (comm:connection-reset-error . connection-reset-error)
    (comm:broken-pipe-error . connection-reset-error)
    (comm:address-in-use-error . address-in-use-error)
    (comm:address-not-available-error . address-not-available-error)
    (comm:permission-denied-error . operation-not-permitted-error)
    (comm:network-unreachable-error . network-unreachable-error)
    (comm:host-unreachable-error . host-unreachable-error)
    (comm:out-of-resources-error . no-buffers-error))
  "COMM condition class -> usocket class, for errors that carry no errno.")

(defun usocket-condition-for (c socket host)
  "The usocket condition for the core's condition C (NIL: leave C alone)."
  (typecase c
    (comm:host-not-found-error
     (make-condition (if (search "temporary" (princ-to-string c))
                         'ns-try-again-error
                         'ns-host-not-found-error)
                     :host-or-ip (or host (comm:socket-error-host c)) :socket socket :cause c))
    (comm:socket-error
     (let* ((errno (comm:socket-error-code c))
            (class (or (cdr (assoc errno +errno-error-map+))
                       (cdr (assoc-if (lambda (k) (typep c k)) +comm-error-map+)))))
       (if class
           (make-condition class :socket socket :cause c)
           (make-condition 'unknown-error :socket socket :real-error c :errno errno :cause c))))
    (netlisp-system::timeout-error (make-condition 'timeout-error :socket socket :cause c))
    (t nil)))

(defmacro with-mapped-conditions ((&optional socket host-or-ip) &body body)
  "Run BODY, turning the network core's conditions into usocket's."
  (let ((c (gensym "C")))
    `(handler-bind ((error (lambda (,c)
                             (let ((mapped (usocket-condition-for ,c ,socket ,host-or-ip)))
                               (when mapped (error mapped))))))
       ,@body)))

(defmacro ignore-unsupported-warnings (&body body)
  "Run BODY, continuing past every UNSUPPORTED (signalled with CERROR)."
  `(handler-bind ((unsupported (lambda (c) (declare (ignore c)) (continue))))
     ,@body))

(defun unsupported (feature context &key minimum)
  (cerror "Ignore it and continue" 'unsupported :feature feature :context context :minimum minimum))

(defun unimplemented (feature context)
  (signal 'unimplemented :feature feature :context context))

;;; Socket objects

(defclass usocket ()
  ((socket :initarg :socket :accessor socket
           :documentation "The COMM object: a socket stream, listening handle or SOCKET-DATAGRAM.")
   (wait-list :initform nil :accessor wait-list)
   (state :initform nil :accessor state
          :documentation "NIL, or :READ after WAIT-FOR-INPUT found it ready."))
  (:documentation "A socket."))

(defclass stream-usocket (usocket)
  ((stream :initarg :stream :accessor socket-stream))
  (:documentation "A connected stream socket; SOCKET-STREAM is its Lisp stream."))

(defclass stream-server-usocket (usocket)
  ((element-type :initarg :element-type :initform 'character :reader element-type))
  (:documentation "A listening socket; SOCKET-ACCEPT returns its connections."))

(defclass datagram-usocket (usocket)
  ((connected-p :initarg :connected-p :initform nil :accessor connected-p))
  (:documentation "A UDP (or Unix datagram) socket."))

(defgeneric socket-state (socket)
  (:documentation "NIL, or :READ when the last WAIT-FOR-INPUT found SOCKET ready."))
(defmethod socket-state ((socket usocket)) (state socket))

(defmethod print-object ((s usocket) stream)
  (print-unreadable-object (s stream :type t :identity t)
    (let ((sock (and (slot-boundp s 'socket) (socket s))))
      (if (comm::socket-open-p sock)
          (multiple-value-bind (host port) (ignore-errors (get-local-name s))
            (format stream "~@[~A~]~@[:~A~]" (and host (host-to-hostname host)) port))
          (princ "closed" stream)))))

(defun usocket-p (x) (typep x 'usocket))
(defun stream-usocket-p (x) (typep x 'stream-usocket))
(defun stream-server-usocket-p (x) (typep x 'stream-server-usocket))
(defun datagram-usocket-p (x) (typep x 'datagram-usocket))

(defun make-socket (&key socket) (make-instance 'usocket :socket socket))
(defun make-stream-socket (&key socket stream)
  (make-instance 'stream-usocket :socket socket :stream stream))
(defun make-stream-server-socket (socket &key (element-type 'character))
  (make-instance 'stream-server-usocket :socket socket :element-type element-type))
(defun make-datagram-socket (socket &key connected-p)
  (make-instance 'datagram-usocket :socket socket :connected-p connected-p))

;;; Addresses

(defun hbo-to-dotted-quad (integer)
  (format nil "~D.~D.~D.~D" (ldb (byte 8 24) integer) (ldb (byte 8 16) integer)
          (ldb (byte 8 8) integer) (ldb (byte 8 0) integer)))

(defun hbo-to-vector-quad (integer)
  (let ((v (make-array 4 :element-type '(unsigned-byte 8))))
    (dotimes (i 4 v) (setf (aref v i) (ldb (byte 8 (* 8 (- 3 i))) integer)))))

(defun vector-quad-to-dotted-quad (vector)
  (format nil "~D.~D.~D.~D" (aref vector 0) (aref vector 1) (aref vector 2) (aref vector 3)))

(defun dotted-quad-to-vector-quad (string)
  (let ((v (comm::ip-octets string)))
    (unless (and v (= (length v) 4))
      (error 'type-error :datum string :expected-type '(satisfies dotted-quad-p)))
    v))

(defgeneric host-byte-order (address)
  (:documentation "An IPv4 address (dotted string, 4-octet vector or integer) as an integer."))
(defmethod host-byte-order ((s string)) (host-byte-order (dotted-quad-to-vector-quad s)))
(defmethod host-byte-order ((v vector))
  (reduce (lambda (acc octet) (+ (* acc 256) octet)) v :end 4 :initial-value 0))
(defmethod host-byte-order ((n integer)) n)

(defun vector-to-ipv6-host (vector)
  (comm:ip-address-string (comm::octets-ip (coerce vector '(vector (unsigned-byte 8))))))

(defun ipv6-host-to-vector (string)
  (let ((v (comm::ip-octets string)))
    (unless (and v (= (length v) 16))
      (error "~S is not an IPv6 address." string))
    v))

(defun host-to-vector-quad (host)
  "Any host designator as an octet vector (resolving a name)."
  (etypecase host
    (string (or (comm::ip-octets host) (get-host-by-name host)))
    (vector (coerce host '(vector (unsigned-byte 8))))
    (integer (hbo-to-vector-quad host))))

(defun host-to-hostname (host)
  "HOST (a string, octet vector, integer or NIL) as text."
  (etypecase host
    (null (if *ipv6-only-p* "::" "0.0.0.0"))
    (string host)
    (pathname (namestring host))
    (vector (if (= (length host) 16) (vector-to-ipv6-host host) (vector-quad-to-dotted-quad host)))
    (integer (hbo-to-dotted-quad host))))

(defun ip= (ip1 ip2)
  (equalp (host-to-vector-quad ip1) (host-to-vector-quad ip2)))
(defun ip/= (ip1 ip2) (not (ip= ip1 ip2)))

(defun integer-to-octet-buffer (integer buffer octets &key (start 0))
  (do ((i (1- octets) (1- i)) (pos start (1+ pos)))
      ((< i 0) buffer)
    (setf (aref buffer pos) (ldb (byte 8 (* 8 i)) integer))))

(defun octet-buffer-to-integer (buffer octets &key (start 0))
  (let ((n 0))
    (dotimes (i octets n) (setf n (+ (* n 256) (aref buffer (+ start i)))))))

(defmacro port-to-octet-buffer (port buffer &key (start 0))
  `(integer-to-octet-buffer ,port ,buffer 2 :start ,start))
(defmacro ip-to-octet-buffer (ip buffer &key (start 0))
  `(integer-to-octet-buffer (host-byte-order ,ip) ,buffer 4 :start ,start))
(defmacro port-from-octet-buffer (buffer &key (start 0))
  `(octet-buffer-to-integer ,buffer 2 :start ,start))
(defmacro ip-from-octet-buffer (buffer &key (start 0))
  `(octet-buffer-to-integer ,buffer 4 :start ,start))

(defun get-hosts-by-name (name)
  "Every address of NAME as octet vectors, IPv4 first."
  (multiple-value-bind (v4 v6)
      (with-mapped-conditions (nil name)
        (comm:get-host-entry name :fields '(:ipv4-addresses :ipv6-addresses)))
    (let ((all (append (unless *ipv6-only-p* (mapcar #'comm::ip-octets v4))
                       (mapcar #'comm::ip-octets v6))))
      (or all (error 'ns-host-not-found-error :host-or-ip name)))))

(defun get-host-by-name (name)
  "The first IPv4 address of NAME as an octet vector (IPv6 if it has none)."
  (first (get-hosts-by-name name)))

(defun get-random-host-by-name (name)
  (let ((all (get-hosts-by-name name)))
    (nth (random (length all)) all)))

(defun get-host-by-address (address)
  (comm:get-host-entry (comm::octets-ip address) :fields '(:name)))

(defun get-host-name () (machine-instance))

(defun comm-host (host)
  "A usocket host designator as a COMM hostspec (NIL: none)."
  (etypecase host
    (null nil)
    (string host)
    (pathname host)
    (vector (comm::octets-ip (coerce host '(vector (unsigned-byte 8)))))
    (integer host)))

(defun listen-host (host)
  (if (or (null host) (equalp host *wildcard-host*) (equal host "0.0.0.0"))
      nil
      (comm-host host)))

;;; Connecting and listening

(defun stream-arguments (element-type)
  "COMM's :ELEMENT-TYPE and :EXTERNAL-FORMAT for a usocket element type."
  (cond ((eq element-type :default) (list :element-type :default :external-format :utf-8))
        ((subtypep element-type 'character) (list :element-type element-type :external-format :utf-8))
        (t (list :element-type element-type))))

(defun socket-connect (host port &key (protocol :stream) (element-type 'character)
                                   timeout deadline (nodelay t nodelay-p)
                                   local-host local-port
                                   (connection-timeout timeout) (read-timeout timeout))
  "Connect to PORT on HOST and return a STREAM-USOCKET, or with PROTOCOL
:DATAGRAM a DATAGRAM-USOCKET (connected when HOST and PORT are given,
bound to LOCAL-HOST / LOCAL-PORT when those are). HOST is a name, dotted
or IPv6 text, an octet vector, an integer, or a pathname (Unix domain).
TIMEOUT covers connecting and each read; :TIMEOUT 0 gives up at once."
  (when deadline (unsupported 'deadline 'socket-connect))
  (when (and nodelay-p (eq nodelay :if-supported)) (setf nodelay t))
  (ecase protocol
    (:stream
     (when (and connection-timeout (zerop connection-timeout))
       (error 'timeout-error :cause "a connect timeout of 0 seconds"))
     (let ((stream
             (with-mapped-conditions (nil host)
               (if (pathnamep host)
                   (apply #'comm:open-unix-stream (namestring host) :errorp t
                          :read-timeout read-timeout :timeout connection-timeout
                          (stream-arguments element-type))
                   (apply #'comm:open-tcp-stream (comm-host host) port :errorp t
                          :timeout connection-timeout :read-timeout read-timeout
                          :nodelay (and nodelay t)
                          :local-address (comm-host local-host) :local-port local-port
                          (stream-arguments element-type))))))
       (make-stream-socket :socket stream :stream stream)))
    (:datagram
     (with-mapped-conditions (nil host)
       (if (and host port)
           (make-datagram-socket
            (comm:connect-to-udp-server (comm-host host) port :errorp t
                                        :local-address (comm-host local-host)
                                        :local-port local-port :read-timeout read-timeout)
            :connected-p t)
           (make-datagram-socket
            (comm:open-udp-socket :errorp t :local-address (comm-host local-host)
                                  :local-port (or local-port (and local-host 0))
                                  :read-timeout read-timeout)))))))

(defun socket-listen (host port &key reuseaddress (reuse-address nil reuse-address-p)
                                  (backlog 5) (element-type 'character))
  "Listen on PORT (0: any) at HOST (NIL or *WILDCARD-HOST*: every
interface; a pathname: a Unix-domain socket) and return a
STREAM-SERVER-USOCKET whose connections SOCKET-ACCEPT returns."
  (let ((reuse (if reuse-address-p reuse-address reuseaddress)))
    (with-mapped-conditions (nil host)
      (make-stream-server-socket
       (if (pathnamep host)
           (comm::create-tcp-socket-for-service nil :path (namestring host) :backlog backlog)
           (comm::create-tcp-socket-for-service port :address (listen-host host)
                                                     :backlog backlog :reuse-address reuse
                                                     :ipv6 (if (and (vectorp host) (= (length host) 16)) t :any)))
       :element-type element-type))))

(defgeneric socket-accept (socket &key element-type)
  (:documentation "Wait for a connection on SOCKET and return it as a STREAM-USOCKET."))

(defmethod socket-accept ((server stream-server-usocket) &key element-type)
  (let* ((et (or element-type (element-type server)))
         (handle (with-mapped-conditions (server)
                   (comm::accept-connection (socket server))))
         (stream (apply #'make-instance 'comm:socket-stream :socket handle :direction :io
                        (stream-arguments et))))
    (make-stream-socket :socket stream :stream stream)))

(defgeneric socket-close (usocket)
  (:documentation "Close USOCKET (and its stream)."))

(defmethod socket-close :before ((s usocket))
  (when (wait-list s) (remove-waiter (wait-list s) s)))

(defmethod socket-close ((s usocket))
  (with-mapped-conditions (s)
    (comm::close-any-socket (socket s)))
  nil)

(defmethod socket-close ((s stream-usocket))
  (with-mapped-conditions (s)
    (close (socket-stream s)))
  nil)

(defgeneric socket-shutdown (usocket direction)
  (:documentation "Shut USOCKET down for :INPUT, :OUTPUT or :IO."))

(defmethod socket-shutdown ((s stream-usocket) direction)
  (with-mapped-conditions (s)
    (comm:socket-stream-shutdown (socket-stream s) direction)))

(defmethod socket-shutdown ((s usocket) direction)
  (declare (ignore direction))
  (unsupported "shutdown" 'socket-shutdown))

;;; Endpoint names

(defun address-vector (ip)
  (if (stringp ip) (or (comm::ip-octets ip) ip) (and ip (comm::ip-octets ip))))

(defgeneric get-local-name (socket))
(defgeneric get-peer-name (socket))
(defgeneric get-local-address (socket))
(defgeneric get-peer-address (socket))
(defgeneric get-local-port (socket))
(defgeneric get-peer-port (socket))

(defmethod get-local-name ((s usocket))
  (multiple-value-bind (ip port) (with-mapped-conditions (s) (comm:get-socket-address (socket s)))
    (values (address-vector ip) port)))

(defmethod get-peer-name ((s usocket))
  (multiple-value-bind (ip port) (with-mapped-conditions (s) (comm:get-socket-peer-address (socket s)))
    (values (address-vector ip) port)))

(defmethod get-local-address ((s usocket)) (values (get-local-name s)))
(defmethod get-peer-address ((s usocket)) (values (get-peer-name s)))
(defmethod get-local-port ((s usocket)) (nth-value 1 (get-local-name s)))
(defmethod get-peer-port ((s usocket)) (nth-value 1 (get-peer-name s)))

;;; Datagrams

(defgeneric socket-send (usocket buffer length &key host port offset)
  (:documentation "Send LENGTH octets of BUFFER (from OFFSET) as one datagram; the count sent."))

(defmethod socket-send ((s datagram-usocket) buffer length &key host port (offset 0))
  (let ((data (if (and (zerop offset) (typep buffer '(vector (unsigned-byte 8))))
                  buffer
                  (coerce (subseq buffer offset (+ offset length)) '(vector (unsigned-byte 8))))))
    (with-mapped-conditions (s host)
      (if (and host port (not (connected-p s)))
          (comm:send-message (socket s) data :length length :host (comm-host host) :service port)
          (comm:send-message (socket s) data :length length)))))

(defgeneric socket-receive (usocket buffer length &key element-type)
  (:documentation "Receive one datagram into BUFFER (NIL: a fresh one); returns the
buffer, the octet count, the sender's address (an octet vector) and port."))

(defmethod socket-receive ((s datagram-usocket) buffer length &key element-type)
  (declare (ignore element-type))
  (let ((buffer (or buffer (make-array (or length +max-datagram-packet-size+)
                                       :element-type '(unsigned-byte 8)))))
    (multiple-value-bind (buf n host port)
        (with-mapped-conditions (s)
          (comm:receive-message (socket s) :buffer buffer
                                           :length (min (or length (length buffer)) (length buffer))))
      (declare (ignore buf))
      (values buffer n (address-vector host) port))))

;;; Waiting

(defstruct (wait-list (:constructor %make-wait-list))
  (waiters '()))

(defun make-wait-list (waiters)
  "A wait list holding WAITERS (usockets), for WAIT-FOR-INPUT."
  (let ((wl (%make-wait-list)))
    (dolist (w waiters wl) (add-waiter wl w))))

(defun add-waiter (wait-list input)
  (setf (wait-list input) wait-list)
  (pushnew input (wait-list-waiters wait-list))
  wait-list)

(defun remove-waiter (wait-list input)
  (setf (wait-list-waiters wait-list) (remove input (wait-list-waiters wait-list)))
  (setf (wait-list input) nil)
  wait-list)

(defun remove-all-waiters (wait-list)
  (dolist (w (wait-list-waiters wait-list)) (setf (wait-list w) nil))
  (setf (wait-list-waiters wait-list) '())
  wait-list)

(defun waitable (s)
  (if (stream-usocket-p s) (socket-stream s) (socket s)))

(defun wait-for-input (socket-or-sockets &key timeout ready-only)
  "Wait until one of SOCKET-OR-SOCKETS (a usocket, a list of them or a
wait list) has input or a connection to accept, or TIMEOUT seconds pass
(NIL: no limit, 0: just look). Each socket's SOCKET-STATE becomes :READ
or NIL. Returns the argument (with READY-ONLY: a list of the ready
sockets) and the seconds left of TIMEOUT (NIL when it ran out)."
  (let* ((sockets (cond ((wait-list-p socket-or-sockets) (wait-list-waiters socket-or-sockets))
                        ((listp socket-or-sockets) socket-or-sockets)
                        (t (list socket-or-sockets))))
         (start (get-internal-real-time))
         (ready (with-mapped-conditions ()
                  (comm::wait-for-sockets (mapcar #'waitable sockets) timeout)))
         (left (when timeout
                 (let ((elapsed (/ (- (get-internal-real-time) start)
                                   internal-time-units-per-second)))
                   (when (< elapsed timeout) (- timeout elapsed))))))
    (dolist (s sockets)
      (setf (state s) (if (member (waitable s) ready) :read nil)))
    (values (if ready-only (remove-if-not #'state sockets) socket-or-sockets)
            left)))

;;; Options

(defgeneric socket-option (socket option &key)
  (:documentation "The value of OPTION (:RECEIVE-TIMEOUT :SEND-TIMEOUT :REUSE-ADDRESS
:BROADCAST :TCP-KEEPALIVE :TCP-NODELAY) on SOCKET; SETF-able."))

(defgeneric (setf socket-option) (value socket option &key))

(defparameter +option-names+
  '((:reuse-address . :reuse-address) (:broadcast . :broadcast)
    (:tcp-keepalive . :keepalive) (:tcp-nodelay . :nodelay) (:tcp-no-delay . :nodelay))
  "usocket option -> the core's option name.")

(defun option-check (option)
  (unless (keywordp option)
    (error 'type-error :datum option :expected-type 'keyword)))

(defmethod socket-option ((s usocket) option &key)
  (option-check option)
  (let ((sock (socket s)))
    (case option
      (:receive-timeout
       (if (datagram-usocket-p s)
           (comm:get-socket-receive-timeout sock)
           (stream:stream-read-timeout (waitable s))))
      (:send-timeout
       (if (datagram-usocket-p s) nil (stream:stream-write-timeout (waitable s))))
      (t (let ((name (cdr (assoc option +option-names+))))
           (if name
               (with-mapped-conditions (s) (comm::socket-option (waitable s) name))
               (unimplemented option 'socket-option)))))))

(defmethod (setf socket-option) (value (s usocket) option &key)
  (option-check option)
  (let ((sock (socket s)))
    (case option
      (:receive-timeout
       (if (datagram-usocket-p s)
           (comm:set-socket-receive-timeout sock value)
           (setf (stream:stream-read-timeout (waitable s)) value)))
      (:send-timeout
       (unless (datagram-usocket-p s)
         (setf (stream:stream-write-timeout (waitable s)) value)))
      (t (let ((name (cdr (assoc option +option-names+))))
           (if name
               (with-mapped-conditions (s) (comm::set-socket-option (waitable s) name value))
               (unimplemented option '(setf socket-option))))))
    value))

;;; Convenience macros

(defmacro with-connected-socket ((var socket) &body body)
  "Bind VAR to SOCKET, run BODY when it is non-NIL, and close it on exit."
  `(let ((,var ,socket))
     (unwind-protect
          (when ,var (with-mapped-conditions (,var) ,@body))
       (when ,var (socket-close ,var)))))

(defmacro with-client-socket ((socket-var stream-var &rest socket-connect-args) &body body)
  "Connect with SOCKET-CONNECT-ARGS; bind the socket and its stream around BODY."
  `(with-connected-socket (,socket-var (socket-connect ,@socket-connect-args))
     ,(if (and stream-var (not (eq stream-var '_)))
          `(let ((,stream-var (socket-stream ,socket-var))) ,@body)
          `(progn ,@body))))

(defmacro with-server-socket ((var server-socket) &body body)
  `(with-connected-socket (,var ,server-socket) ,@body))

(defmacro with-socket-listener ((socket-var &rest socket-listen-args) &body body)
  `(with-server-socket (,socket-var (socket-listen ,@socket-listen-args)) ,@body))

(defmacro with-accepted-connection ((var server &rest socket-accept-args) &body body)
  `(with-connected-socket (,var (socket-accept ,server ,@socket-accept-args)) ,@body))

;;; SOCKET-SERVER (the usocket-server system)

(defun default-tcp-handler (stream)
  (format stream "Hello world!~%"))

(defun echo-tcp-handler (stream)
  (loop for line = (read-line stream nil)
        while line
        do (write-line line stream) (force-output stream)))

(defun default-udp-handler (buffer) buffer)

(defun tcp-event-loop (server function arguments element-type multi-threading)
  (flet ((serve (client)
           (unwind-protect
                (multiple-value-bind (*remote-host* *remote-port*) (get-peer-name client)
                  (apply function (socket-stream client) arguments))
             (socket-close client))))
    (unwind-protect
         (loop (let ((client (socket-accept server :element-type element-type)))
                 (if multi-threading
                     (mp:process-run-function "usocket client" '() #'serve client)
                     (serve client))))
      (socket-close server))))

(defun udp-event-loop (socket function arguments timeout max-buffer-size)
  (let ((buffer (make-array max-buffer-size :element-type '(unsigned-byte 8))))
    (unwind-protect
         (loop (when (wait-for-input socket :timeout timeout :ready-only t)
                 (multiple-value-bind (buf size host port) (socket-receive socket buffer max-buffer-size)
                   (declare (ignore buf))
                   (let ((reply (let ((*remote-host* host) (*remote-port* port))
                                  (apply function (subseq buffer 0 size) arguments))))
                     (when reply
                       (socket-send socket reply (length reply) :host host :port port))))))
      (socket-close socket))))

(defun socket-server (host port function &optional arguments
                      &key in-new-thread (protocol :stream) (timeout 1)
                        (max-buffer-size +max-datagram-packet-size+)
                        element-type (reuse-address t) multi-threading name)
  "Serve PORT on HOST: with PROTOCOL :STREAM call FUNCTION with each
connection's stream (and ARGUMENTS), *REMOTE-HOST* and *REMOTE-PORT*
bound, then close it (each in its own process with MULTI-THREADING);
with :DATAGRAM call it with each datagram's octets and send a non-NIL
result back. With IN-NEW-THREAD it runs in a new process and returns
that process and the listening socket; otherwise it never returns."
  (let* ((real-host (or host *wildcard-host*))
         (socket (ecase protocol
                   (:stream (socket-listen real-host port :reuse-address reuse-address
                                                          :element-type (or element-type 'character)))
                   (:datagram (socket-connect nil nil :protocol :datagram
                                                      :local-host (listen-host real-host)
                                                      :local-port port))))
         (loop-fn (lambda ()
                    (ecase protocol
                      (:stream (tcp-event-loop socket function arguments
                                               (or element-type 'character) multi-threading))
                      (:datagram (udp-event-loop socket function arguments timeout max-buffer-size))))))
    (if in-new-thread
        (values (mp:process-run-function (or name (format nil "USOCKET Server on port ~A"
                                                          (get-local-port socket)))
                                         '() loop-fn)
                socket)
        (funcall loop-fn))))

(pushnew :usocket *features*)
