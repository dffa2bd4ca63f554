;;;; SBCL's sb-bsd-sockets on netlisp's network core.
;;;;
;;;; BSD-shaped sockets (MAKE-INSTANCE 'INET-SOCKET, then SOCKET-BIND,
;;;; SOCKET-LISTEN, SOCKET-ACCEPT or SOCKET-CONNECT) over COMM's objects.
;;;; One difference from SBCL, by design of the core: a stream socket gets
;;;; its descriptor when it listens or connects, so SOCKET-BIND on a
;;;; stream socket records the address and a port in use is reported by
;;;; SOCKET-LISTEN (or SOCKET-CONNECT); options set before then are
;;;; applied at that moment. Datagram sockets are made at once.

(defpackage "SB-BSD-SOCKETS"
  (:use "COMMON-LISP")
  (:export
   "SOCKET" "INET-SOCKET" "INET6-SOCKET" "LOCAL-SOCKET" "LOCAL-ABSTRACT-SOCKET"
   "SOCKET-BIND" "SOCKET-ACCEPT" "SOCKET-CONNECT" "SOCKET-PEERNAME" "SOCKET-NAME"
   "SOCKET-RECEIVE" "SOCKET-SEND" "SOCKET-LISTEN" "SOCKET-OPEN-P" "SOCKET-CLOSE"
   "SOCKET-SHUTDOWN" "SOCKET-MAKE-STREAM" "SOCKET-FILE-DESCRIPTOR" "SOCKET-FAMILY"
   "SOCKET-PROTOCOL" "SOCKET-TYPE" "NON-BLOCKING-MODE"
   "SOCKOPT-REUSE-ADDRESS" "SOCKOPT-REUSE-PORT" "SOCKOPT-KEEP-ALIVE" "SOCKOPT-TCP-NODELAY"
   "SOCKOPT-BROADCAST" "SOCKOPT-OOB-INLINE" "SOCKOPT-RECEIVE-BUFFER" "SOCKOPT-SEND-BUFFER"
   "SOCKOPT-RECEIVE-TIMEOUT" "SOCKOPT-SEND-TIMEOUT"
   "GET-HOST-BY-NAME" "GET-HOST-BY-ADDRESS" "HOST-ENT" "HOST-ENT-NAME" "HOST-ENT-ALIASES"
   "HOST-ENT-ADDRESS-TYPE" "HOST-ENT-ADDRESSES" "HOST-ENT-ADDRESS"
   "MAKE-INET-ADDRESS" "MAKE-INET6-ADDRESS" "GET-PROTOCOL-BY-NAME"
   "SOCKET-ERROR" "SOCKET-ERROR-ERRNO" "SOCKET-ERROR-SYSCALL" "SOCKET-ERROR-SYMBOL"
   "ADDRESS-IN-USE-ERROR" "ADDRESS-NOT-AVAILABLE-ERROR" "ACCESS-DENIED-ERROR"
   "BAD-FILE-DESCRIPTOR-ERROR" "CONNECTION-REFUSED-ERROR" "CONNECTION-RESET-ERROR"
   "INTERRUPTED-ERROR" "INVALID-ARGUMENT-ERROR" "NO-BUFFERS-ERROR"
   "OPERATION-NOT-SUPPORTED-ERROR" "OPERATION-NOT-PERMITTED-ERROR"
   "PROTOCOL-NOT-SUPPORTED-ERROR" "SOCKET-TYPE-NOT-SUPPORTED-ERROR"
   "NETWORK-UNREACHABLE-ERROR" "HOST-UNREACHABLE-ERROR" "OPERATION-TIMEOUT-ERROR"
   "NOT-CONNECTED-ERROR" "OPERATION-IN-PROGRESS" "BROKEN-PIPE-ERROR"
   "NAME-SERVICE-ERROR" "HOST-NOT-FOUND-ERROR" "TRY-AGAIN-ERROR" "NO-RECOVERY-ERROR"
   "NO-ADDRESS-ERROR" "UNKNOWN-PROTOCOL"))

(in-package "SB-BSD-SOCKETS")

;;; Conditions

(define-condition socket-error (error)
  ((errno :initarg :errno :initform nil :reader socket-error-errno)
   (symbol :initarg :symbol :initform nil :reader socket-error-symbol)
   (syscall :initarg :syscall :initform "" :reader socket-error-syscall)
   ;; netlisp: the core's condition, for the report.
   (cause :initarg :cause :initform nil :reader socket-error-cause))
  (:report (lambda (c s)
             (if (socket-error-cause c)
                 (format s "Socket error in \"~A\": ~A" (socket-error-syscall c) (socket-error-cause c))
                 (format s "Socket error in \"~A\"~@[ (errno ~A)~]"
                         (socket-error-syscall c) (socket-error-errno c))))))

(defmacro define-errno-conditions (&rest pairs)
  `(progn ,@(loop for (name errno) on pairs by #'cddr
                  collect `(define-condition ,name (socket-error) ())
                  collect `(setf (get ',name 'errno) ,errno))))

(define-errno-conditions
  address-in-use-error 98 address-not-available-error 99 access-denied-error 13
  bad-file-descriptor-error 9 connection-refused-error 111 connection-reset-error 104
  interrupted-error 4 invalid-argument-error 22 no-buffers-error 105
  operation-not-supported-error 95 operation-not-permitted-error 1
  protocol-not-supported-error 93 socket-type-not-supported-error 94
  network-unreachable-error 101 host-unreachable-error 113 operation-timeout-error 110
  not-connected-error 107 operation-in-progress 115 broken-pipe-error 32)

(defparameter +errno-conditions+
  (let ((table '()))
    (do-symbols (s "SB-BSD-SOCKETS" table)
      (when (and (eq (symbol-package s) (find-package "SB-BSD-SOCKETS")) (get s 'errno))
        (push (cons (get s 'errno) s) table))))
  "errno -> condition class.")

(define-condition name-service-error (error)
  ((errno :initarg :errno :initform nil :reader name-service-error-errno)
   (error-code :initarg :error-code :initform nil)
   (syscall :initarg :syscall :initform "getaddrinfo" :reader name-service-error-syscall)
   (cause :initarg :cause :initform nil :reader name-service-error-cause))
  (:report (lambda (c s)
             (format s "Name service error in \"~A\"~@[: ~A~]"
                     (name-service-error-syscall c) (name-service-error-cause c)))))

(define-condition host-not-found-error (name-service-error) ())
(define-condition no-address-error (name-service-error) ())
(define-condition try-again-error (name-service-error) ())
(define-condition no-recovery-error (name-service-error) ())
(define-condition unknown-protocol (error)
  ((name :initarg :name :reader unknown-protocol-name))
  (:report (lambda (c s) (format s "Protocol not found: ~S" (unknown-protocol-name c)))))

(defun socket-condition-for (c syscall)
  (typecase c
    (comm:host-not-found-error
     (make-condition (if (search "temporary" (princ-to-string c)) 'try-again-error 'host-not-found-error)
                     :syscall "getaddrinfo" :cause c))
    (comm:socket-error
     (let* ((errno (comm:socket-error-code c))
            (class (or (cdr (assoc errno +errno-conditions+))
                       (typecase c
                         (comm:connect-timeout-error 'operation-timeout-error)
                         (comm:io-timeout-error 'operation-timeout-error)
                         (comm:connection-refused-error 'connection-refused-error)
                         (comm:address-in-use-error 'address-in-use-error)
                         (comm:permission-denied-error 'access-denied-error)
                         (t 'socket-error)))))
       (make-condition class :errno errno :syscall syscall :cause c)))
    (t nil)))

(defmacro with-socket-errors ((syscall) &body body)
  "Run BODY, signalling the core's network errors as this package's."
  (let ((c (gensym "C")))
    `(handler-bind ((error (lambda (,c)
                             (let ((m (socket-condition-for ,c ,syscall)))
                               (when m (error m))))))
       ,@body)))

;;; Sockets

(defclass socket ()
  ((type :initarg :type :initform :stream :reader socket-type)
   (protocol :initarg :protocol :initform 0 :reader socket-protocol)
   (family :initform nil :reader socket-family)
   (comm :initform nil :initarg comm
         :documentation "The COMM object: a handle, a socket stream or a SOCKET-DATAGRAM.")
   (bound :initform nil :documentation "The address and port given to SOCKET-BIND.")
   (stream :initform nil :documentation "The stream SOCKET-MAKE-STREAM made.")
   (options :initform '() :documentation "Options set before the descriptor exists.")
   (non-blocking :initform nil :accessor non-blocking-mode))
  (:documentation "A BSD socket."))

(defclass inet-socket (socket) ((family :initform :inet)))
(defclass inet6-socket (socket) ((family :initform :inet6)))
(defclass local-socket (socket) ((family :initform :local)))
(defclass local-abstract-socket (local-socket) ())

(defmethod initialize-instance :after ((s socket) &key type protocol &allow-other-keys)
  (unless (member type '(:stream :datagram))
    (error 'type-error :datum type :expected-type '(member :stream :datagram)))
  (when (and (eq type :datagram) (typep s '(or inet-socket inet6-socket)) (not (slot-value s 'comm)))
    ;; A datagram socket exists at once (unbound until SOCKET-BIND or a send).
    (setf (slot-value s 'comm)
          (with-socket-errors ("socket")
            (comm:open-udp-socket :errorp t :ipv6 (typep s 'inet6-socket)))))
  (when (and (eq protocol :tcp) (eq type :datagram))
    (error 'protocol-not-supported-error :syscall "socket")))

(defmethod print-object ((s socket) stream)
  (print-unreadable-object (s stream :type t :identity t)
    (format stream "~:[closed~;descriptor ~:*~A~]" (socket-file-descriptor s))))

(defun comm-object (socket)
  (or (slot-value socket 'stream) (slot-value socket 'comm)))

(defun live (socket syscall)
  (or (comm-object socket)
      (error 'not-connected-error :syscall syscall :errno 107)))

(defun socket-file-descriptor (socket)
  (let ((o (comm-object socket))) (and o (comm::socket-file-descriptor o))))

(defun socket-open-p (socket)
  (let ((o (comm-object socket))) (and o (comm::socket-open-p o) t)))

(defun address-octets (address)
  (cond ((null address) nil)
        ((and (vectorp address) (not (stringp address))) (comm::octets-ip address))
        (t address)))

(defun apply-options (socket)
  (dolist (o (reverse (slot-value socket 'options)))
    (ignore-errors (set-option socket (car o) (cdr o) t)))
  (setf (slot-value socket 'options) '()))

(defgeneric socket-bind (socket &rest address)
  (:documentation "Bind SOCKET to ADDRESS: an octet vector and a port (inet), or a path (local)."))

(defmethod socket-bind ((s socket) &rest address)
  (setf (slot-value s 'bound) address)
  (when (eq (socket-type s) :datagram)
    (let ((old (slot-value s 'comm)))
      (when old (comm:close-datagram old))
      (setf (slot-value s 'comm)
            (with-socket-errors ("bind")
              (if (typep s 'local-socket)
                  (comm:open-unix-socket :errorp t :path (first address))
                  (comm:open-udp-socket :errorp t :local-address (address-octets (first address))
                                        :local-port (second address)
                                        :ipv6 (typep s 'inet6-socket)
                                        :reuse-address (cdr (assoc :reuse-address (slot-value s 'options)))))))
      (apply-options s)))
  t)

(defgeneric socket-listen (socket backlog)
  (:documentation "Listen on SOCKET (bound with SOCKET-BIND) with BACKLOG."))

(defmethod socket-listen ((s socket) backlog)
  (let ((bound (slot-value s 'bound))
        (reuse (let ((o (assoc :reuse-address (slot-value s 'options)))) (if o (cdr o) nil))))
    (setf (slot-value s 'comm)
          (with-socket-errors ("listen")
            (if (typep s 'local-socket)
                (comm::create-tcp-socket-for-service nil :path (first bound) :backlog (max backlog 1))
                (comm::create-tcp-socket-for-service (or (second bound) 0)
                                                     :address (address-octets (first bound))
                                                     :backlog (max backlog 1) :reuse-address reuse
                                                     :ipv6 (typep s 'inet6-socket)))))
    (apply-options s)
    t))

(defgeneric socket-accept (socket)
  (:documentation "Accept a connection: a new socket and the peer's address (NIL
at once in non-blocking mode when none is queued)."))

(defmethod socket-accept ((s socket))
  (let ((handle (with-socket-errors ("accept")
                  (comm::accept-connection (live s "accept")
                                           :timeout (and (non-blocking-mode s) 0)))))
    (when handle
      (let ((new (make-instance (class-of s) :type :stream 'comm handle)))
        (values new (socket-peername new))))))

(defgeneric socket-connect (socket &rest address)
  (:documentation "Connect SOCKET to ADDRESS (an octet vector and a port, or a path)."))

(defmethod socket-connect ((s socket) &rest address)
  (let ((bound (slot-value s 'bound)))
    (with-socket-errors ("connect")
      (cond ((typep s 'local-socket)
             (setf (slot-value s 'comm)
                   (comm:connect-to-unix-path (first address) :errorp t :protocol (socket-type s))))
            ((eq (socket-type s) :datagram)
             (let ((old (slot-value s 'comm)))
               (multiple-value-bind (lhost lport) (and old (comm:get-socket-address old))
                 (when old (comm:close-datagram old))
                 (setf (slot-value s 'comm)
                       (comm:connect-to-udp-server (address-octets (first address)) (second address)
                                                   :errorp t
                                                   :local-address (and bound lhost)
                                                   :local-port (and bound lport))))))
            (t
             (setf (slot-value s 'comm)
                   (comm:connect-to-tcp-server (address-octets (first address)) (second address)
                                               :errorp t
                                               :local-address (address-octets (first bound))
                                               :local-port (second bound)
                                               :ipv6 (if (typep s 'inet6-socket) t nil))))))
    (apply-options s)
    s))

(defun address-values (ip port)
  (values (if (stringp ip) (comm::ip-octets ip) (and ip (comm::ip-octets ip))) port))

(defgeneric socket-name (socket)
  (:documentation "The local address and port (a path for a local socket)."))
(defgeneric socket-peername (socket)
  (:documentation "The peer's address and port (a path for a local socket)."))

(defmethod socket-name ((s socket))
  (let ((o (comm-object s)))
    (cond ((typep s 'local-socket) (and o (comm:get-socket-pathname o)))
          (o (multiple-value-call #'address-values (comm:get-socket-address o)))
          (t (values (first (slot-value s 'bound)) (second (slot-value s 'bound)))))))

(defmethod socket-peername ((s socket))
  (let ((o (live s "getpeername")))
    (if (typep s 'local-socket)
        (comm:get-socket-peer-pathname o)
        (multiple-value-call #'address-values (comm:get-socket-peer-address o)))))

(defgeneric socket-make-stream (socket &key input output element-type buffering
                                         external-format timeout auto-close serve-events)
  (:documentation "A Lisp stream on SOCKET (made once and cached)."))

(defmethod socket-make-stream ((s socket) &key input output (element-type 'character)
                                            buffering (external-format :utf-8) timeout
                                            auto-close serve-events)
  (declare (ignore buffering auto-close serve-events))
  (or (slot-value s 'stream)
      (let* ((handle (live s "socket-make-stream"))
             (direction (cond ((and input (not output)) :input)
                              ((and output (not input)) :output)
                              (t :io)))
             (stream (make-instance 'comm:socket-stream
                                    :socket handle :direction direction
                                    :element-type element-type
                                    :external-format (if (eq external-format :default) :utf-8 external-format)
                                    :read-timeout timeout)))
        (setf (slot-value s 'stream) stream))))

(defgeneric socket-send (socket buffer length &key address external-format)
  (:documentation "Send LENGTH elements of BUFFER (to ADDRESS, a list of an octet
vector and a port, for an unconnected datagram socket); the count sent."))

(defmethod socket-send ((s socket) buffer length &key address external-format)
  (declare (ignore external-format))
  (let ((o (live s "send"))
        (octets (if (stringp buffer) (map '(vector (unsigned-byte 8)) #'char-code buffer) buffer)))
    (with-socket-errors ("send")
      (cond ((eq (socket-type s) :datagram)
             (if address
                 (comm:send-message o octets :length (or length (length octets))
                                    :host (address-octets (first address)) :service (second address))
                 (comm:send-message o octets :length (or length (length octets)))))
            (t (let ((stream (socket-make-stream s :element-type :default)))
                 (write-sequence octets stream :end length)
                 (force-output stream)
                 length))))))

(defgeneric socket-receive (socket buffer length &key oob peek waitall dontwait element-type)
  (:documentation "Receive up to LENGTH octets into BUFFER (NIL: a fresh one):
the buffer, the count, and the sender's address and port."))

(defmethod socket-receive ((s socket) buffer length &key oob peek waitall dontwait (element-type 'character))
  (declare (ignore oob peek))
  (if (and (null buffer) (subtypep element-type 'character))
      ;; As SBCL: with no buffer, characters unless asked for octets.
      (multiple-value-bind (octets n addr port)
          (socket-receive s (make-array length :element-type '(unsigned-byte 8)) length
                          :waitall waitall :dontwait dontwait)
        (values (and octets (map 'string #'code-char octets)) n addr port))
      (receive-octets s buffer length waitall dontwait)))

(defun receive-octets (s buffer length waitall dontwait)
  (let* ((o (live s "recvfrom"))
         (length (or length (length buffer)))
         (buffer (or buffer (make-array length :element-type '(unsigned-byte 8)))))
    (with-socket-errors ("recvfrom")
      (if (eq (socket-type s) :datagram)
          (multiple-value-bind (buf n host port)
              (comm:receive-message o :buffer buffer :length (min length (length buffer))
                                      :read-timeout (and (or dontwait (non-blocking-mode s)) 0))
            (declare (ignore buf))
            (if (eql n -1)
                (values nil 0 nil nil)
                (multiple-value-call #'values buffer n (address-values host port))))
          (let ((stream (socket-make-stream s :element-type :default)))
            (if (and (or dontwait (non-blocking-mode s)) (not (listen stream)))
                (values nil 0)
                (let ((n (if waitall
                             (read-sequence buffer stream :end length)
                             ;; Like recv(2): wait for the first octet, then take what is there.
                             (loop for i from 0 below length
                                   while (or (zerop i) (listen stream))
                                   do (let ((b (read-byte stream nil nil)))
                                        (unless b (return i))
                                        (setf (aref buffer i) b))
                                   finally (return i)))))
                  ;; As recvfrom(2) on a connected stream socket: no sender address.
                  (values buffer n (make-array 4 :element-type '(unsigned-byte 8) :initial-element 0) 0))))))))

(defgeneric socket-close (socket &key abort)
  (:documentation "Close SOCKET (and its stream)."))

(defmethod socket-close ((s socket) &key abort)
  (let ((o (comm-object s)))
    (when o
      (if (streamp o) (close o :abort abort) (comm::close-any-socket o abort)))
    (setf (slot-value s 'stream) nil (slot-value s 'comm) nil)
    t))

(defgeneric socket-shutdown (socket &key direction)
  (:documentation "shutdown(2) SOCKET in DIRECTION :INPUT, :OUTPUT or :IO."))

(defmethod socket-shutdown ((s socket) &key (direction :io))
  (with-socket-errors ("shutdown")
    (comm:socket-stream-shutdown (socket-make-stream s :element-type :default) direction))
  nil)

;;; Options

(defparameter +options+
  '((:reuse-address . :reuse-address) (:reuse-port . :reuse-port) (:keep-alive . :keepalive)
    (:tcp-nodelay . :nodelay) (:broadcast . :broadcast) (:oob-inline . :oob-inline)
    (:receive-buffer . :receive-buffer) (:send-buffer . :send-buffer)))

(defun get-option (socket name)
  (let ((o (comm-object socket)))
    (cond ((member name '(:receive-timeout :send-timeout))
           (let ((stream (slot-value socket 'stream)))
             (cond ((null stream) (cdr (assoc name (slot-value socket 'options))))
                   ((eq name :receive-timeout) (stream:stream-read-timeout stream))
                   (t (stream:stream-write-timeout stream)))))
          ((null o) (cdr (assoc name (slot-value socket 'options))))
          (t (with-socket-errors ("getsockopt")
               (comm::socket-option o (cdr (assoc name +options+))))))))

(defun set-option (socket name value &optional now)
  (let ((o (comm-object socket)))
    (cond ((member name '(:receive-timeout :send-timeout))
           (let ((stream (slot-value socket 'stream)))
             (if stream
                 (if (eq name :receive-timeout)
                     (setf (stream:stream-read-timeout stream) value)
                     (setf (stream:stream-write-timeout stream) value))
                 (push (cons name value) (slot-value socket 'options)))))
          ((and (null o) (not now)) (push (cons name value) (slot-value socket 'options)))
          (o (with-socket-errors ("setsockopt")
               (comm::set-socket-option o (cdr (assoc name +options+)) value))))
    value))

(defmacro define-sockopts (&rest names)
  `(progn
     ,@(loop for name in names
             for fn = (intern (format nil "SOCKOPT-~A" name))
             for key = (intern (string name) "KEYWORD")
             collect `(defun ,fn (socket) (get-option socket ,key))
             collect `(defun (setf ,fn) (value socket) (set-option socket ,key value)))))

(define-sockopts reuse-address reuse-port keep-alive tcp-nodelay broadcast oob-inline
  receive-buffer send-buffer receive-timeout send-timeout)

;;; Names

(defclass host-ent ()
  ((name :initarg :name :reader host-ent-name)
   (aliases :initarg :aliases :initform '() :reader host-ent-aliases)
   (address-type :initarg :type :initform 2 :reader host-ent-address-type)
   (addresses :initarg :addresses :initform '() :reader host-ent-addresses))
  (:documentation "A host's name, aliases and addresses (octet vectors)."))

(defmethod print-object ((h host-ent) stream)
  (print-unreadable-object (h stream :type t :identity t)
    (format stream "~A" (host-ent-name h))))

(defun host-ent-address (host-ent) (first (host-ent-addresses host-ent)))

(defun get-host-by-name (name)
  "NAME's addresses: a HOST-ENT of its IPv4 addresses and one of its IPv6
addresses (NIL where it has none of a family)."
  (multiple-value-bind (cname aliases v4 v6)
      (with-socket-errors ("getaddrinfo")
        (comm:get-host-entry name :fields '(:name :aliases :ipv4-addresses :ipv6-addresses)))
    (unless (or v4 v6)
      (error 'host-not-found-error :cause (format nil "unknown host ~S" name)))
    (flet ((ent (addresses type)
             (and addresses
                  (make-instance 'host-ent :name (or cname name) :aliases aliases :type type
                                           :addresses (mapcar #'comm::ip-octets addresses)))))
      (values (or (ent v4 2) (ent v6 10)) (and v4 (ent v6 10))))))

(defun get-host-by-address (address)
  "A HOST-ENT for ADDRESS (an octet vector), named by reverse lookup."
  (let* ((ip (comm::octets-ip address))
         (name (with-socket-errors ("getnameinfo") (comm:get-host-entry ip :fields '(:name)))))
    (unless name
      (error 'host-not-found-error :cause (format nil "no name for ~A" (comm:ip-address-string ip))))
    (make-instance 'host-ent :name name :type (if (= (length address) 16) 10 2)
                             :addresses (list (coerce address '(vector (unsigned-byte 8)))))))

(defun make-inet-address (dotted-quads)
  "The octet vector of dotted text."
  (let ((v (comm::ip-octets dotted-quads)))
    (unless (and v (= (length v) 4)) (error "~S is not a dotted IPv4 address." dotted-quads))
    v))

(defun make-inet6-address (string)
  "The 16-octet vector of IPv6 text."
  (let ((v (comm::ip-octets string)))
    (unless (and v (= (length v) 16)) (error "~S is not an IPv6 address." string))
    v))

(defun get-protocol-by-name (name)
  "The protocol number of NAME (\"tcp\", \"udp\", ...)."
  (let ((n (cdr (assoc name '(("ip" . 0) ("icmp" . 1) ("tcp" . 6) ("udp" . 17) ("ipv6" . 41))
                       :test #'string-equal))))
    (or n (error 'unknown-protocol :name name))))
