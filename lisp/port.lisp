;;;; CLOCC PORT (net.lisp, proc.lisp and the conditions of ext.lisp) on
;;;; netlisp's network core: the library the Common Lisp Cookbook's first
;;;; sockets chapter (2002-2017) taught.
;;;;
;;;; As in PORT, the socket is the stream: OPEN-SOCKET and SOCKET-ACCEPT
;;;; return COMM socket streams, which CLOSE closes, and the network
;;;; functions let the core's COMM:SOCKET-ERRORs through unchanged.
;;;; SOCKET-ACCEPT :WAIT waits at most that long (PORT's documented
;;;; meaning, not the sleep of its SBCL branch).

(defpackage "PORT"
  (:use "COMMON-LISP")
  (:nicknames "ORG.CONS.CLOCC/SDS/PORT")
  (:export
   ;; net.lisp
   "RESOLVE-HOST-IPADDR" "IPADDR-TO-DOTTED" "DOTTED-TO-IPADDR" "IPADDR-CLOSURE"
   "HOSTENT" "HOSTENT-NAME" "HOSTENT-ALIASES" "HOSTENT-ADDR-LIST" "HOSTENT-ADDR-TYPE"
   "SOCKET" "OPEN-SOCKET" "SOCKET-HOST/PORT" "SOCKET-STRING" "SOCKET-SERVER"
   "SET-SOCKET-STREAM-FORMAT"
   "SOCKET-ACCEPT" "OPEN-SOCKET-SERVER" "SOCKET-SERVER-CLOSE" "SOCKET-SERVER-HOST/PORT"
   "SOCKET-SERVICE-PORT" "SERVENT-NAME" "SERVENT-ALIASES" "SERVENT-PORT" "SERVENT-PROTO"
   "SERVENT-P" "SERVENT" "NETWORK" "TIMEOUT" "LOGIN" "NET-PATH"
   ;; ext.lisp conditions
   "CODE" "CASE-ERROR" "NOT-IMPLEMENTED" "CODE-PROC" "CODE-MESG" "CODE-ARGS"
   ;; proc.lisp
   "+THREADS-P+" "MAKE-PROCESS" "PROCESS-WAIT" "PROCESS-WAIT-WITH-TIMEOUT"
   "WITH-TIMEOUT" "WITHOUT-SCHEDULING" "PROCESS-YIELD" "KILL-PROCESS"
   "INTERRUPT-PROCESS" "RESTART-PROCESS" "PROCESSP" "PROCESS-NAME" "PROCESS-ACTIVE-P"
   "PROCESS-WHOSTATE" "CURRENT-PROCESS" "ALL-PROCESSES" "SHOW-PROCESSES"
   "MAKE-LOCK" "GET-LOCK" "GIVEUP-LOCK" "WITH-LOCK"))

(in-package "PORT")

;;; Conditions

(define-condition code (error)
  ((proc :initarg :proc :initform nil :reader code-proc)
   (mesg :initarg :mesg :initform nil :reader code-mesg)
   (args :initarg :args :initform nil :reader code-args))
  (:documentation "An error in the user code.")
  (:report (lambda (c s)
             (format s "[~S]~@[ ~?~]" (code-proc c) (code-mesg c) (code-args c)))))

(define-condition case-error (code)
  ((mesg :initform "`~s' evaluated to `~s', not one of [~@{`~s'~^ ~}]")))

(define-condition not-implemented (code)
  ((mesg :initform "not implemented for ~a [~a]")
   (args :initform (list (lisp-implementation-type) (lisp-implementation-version)))))

(define-condition network (error)
  ((proc :initarg :proc :initform nil :reader net-proc)
   (host :initarg :host :initform "" :reader net-host)
   (port :initarg :port :initform 0 :reader net-port)
   (mesg :initarg :mesg :initform "" :reader net-mesg)
   (args :initarg :args :initform nil :reader net-args))
  (:report (lambda (c s)
             (format s "[~S] ~A:~D ~?" (net-proc c) (net-host c) (net-port c)
                     (net-mesg c) (net-args c)))))

(define-condition timeout (network)
  ((time :initarg :time :initform nil :reader timeout-time))
  (:report (lambda (c s)
             (format s "[~S] ~A:~D ~?~@[ [timeout ~A sec]~]" (net-proc c) (net-host c)
                     (net-port c) (net-mesg c) (net-args c) (timeout-time c)))))

(define-condition login (network) ())
(define-condition net-path (network) ())

;;; Addresses

(defstruct hostent
  "A host entry, as gethostbyname(3) gives it; addresses are dotted strings."
  (name "" :type simple-string)
  (aliases '() :type list)
  (addr-list '() :type list)
  (addr-type 2 :type fixnum))

(defun ipaddr-to-dotted (ipaddr)
  "The dotted text of an (UNSIGNED-BYTE 32) address."
  (format nil "~D.~D.~D.~D" (ldb (byte 8 24) ipaddr) (ldb (byte 8 16) ipaddr)
          (ldb (byte 8 8) ipaddr) (ldb (byte 8 0) ipaddr)))

(defun dotted-to-ipaddr (dotted)
  "The (UNSIGNED-BYTE 32) address of dotted text \"a.b.c.d\"."
  (let ((octets (comm::ip-octets dotted)))
    (unless (and octets (= (length octets) 4))
      (error 'code :proc 'dotted-to-ipaddr :mesg "~S is not a dotted IPv4 address"
                   :args (list dotted)))
    (reduce (lambda (n o) (+ (* n 256) o)) octets :initial-value 0)))

(defun address-text (a)
  (if (integerp a) (ipaddr-to-dotted a) (comm:ip-address-string a)))

(defun resolve-host-ipaddr (host)
  "Look HOST up (a name, dotted text or an integer address) and return a
HOSTENT; an address is looked up in reverse for its name."
  (multiple-value-bind (name aliases v4 v6)
      (comm:get-host-entry host :fields '(:name :aliases :ipv4-addresses :ipv6-addresses))
    (unless (or v4 v6)
      (error 'network :proc 'resolve-host-ipaddr :host host :mesg "unknown host"))
    (make-hostent :name (coerce (or name (if (stringp host) host (address-text host))) 'simple-string)
                  :aliases aliases
                  :addr-list (mapcar #'address-text (or v4 v6))
                  :addr-type (if v4 2 10))))

(defun ipaddr-closure (address)
  "Two EQUALP tables, name -> HOSTENT and address -> HOSTENT, closed under
every name, alias and address reachable from ADDRESS."
  (let ((he2a (make-hash-table :test 'equalp))
        (a2he (make-hash-table :test 'equalp)))
    (labels ((visit (key)
               (unless (or (gethash key he2a) (gethash key a2he))
                 (let ((he (ignore-errors (resolve-host-ipaddr key))))
                   (when he
                     (setf (gethash (hostent-name he) he2a) he)
                     (dolist (a (hostent-aliases he)) (setf (gethash a he2a) he))
                     (dolist (a (hostent-addr-list he))
                       (unless (gethash a a2he)
                         (setf (gethash a a2he) he)
                         (visit a)))
                     (dolist (n (cons (hostent-name he) (hostent-aliases he)))
                       (unless (equalp n key) (visit n))))))))
      (visit address))
    (values he2a a2he)))

;;; Sockets

(deftype socket () 'comm:socket-stream)

(defun open-socket (host port &optional bin)
  "Connect to PORT on HOST and return a bidirectional socket stream: of
characters, or of (UNSIGNED-BYTE 8) with BIN."
  (comm:open-tcp-stream (if (integerp host) (ipaddr-to-dotted host) host) port
                        :errorp t :element-type (if bin '(unsigned-byte 8) 'base-char)))

(defun set-socket-stream-format (socket format)
  "Nothing to do: netlisp's socket streams carry characters and bytes alike."
  (declare (ignore socket format))
  nil)

(defun socket-host/port (sock)
  "Four values: the peer's address (dotted text), its port, the local
address and the local port."
  (multiple-value-bind (rhost rport) (comm:socket-stream-peer-address sock)
    (multiple-value-bind (lhost lport) (comm:socket-stream-address sock)
      (values (and rhost (address-text rhost)) rport (and lhost (address-text lhost)) lport))))

(defun socket-string (sock)
  "A description of SOCK's endpoints."
  (with-output-to-string (s)
    (print-unreadable-object (sock s :type t :identity t)
      (multiple-value-bind (host port my-host my-port) (socket-host/port sock)
        (format s "[local: ~A:~D] [peer: ~S:~D]" my-host my-port host port)))))

;;; Servers

(defstruct (socket-server (:constructor make-socket-server (handle)))
  "A listening socket."
  handle)

(defmethod print-object ((server socket-server) out)
  (print-unreadable-object (server out :type t :identity t)
    (multiple-value-bind (host port) (socket-server-host/port server)
      (format out "~A:~D" host port))))

(defun open-socket-server (&optional port)
  "Listen on PORT (NIL: any free port) on every interface, with address
reuse and a backlog of 15, and return a SOCKET-SERVER."
  (make-socket-server (comm::create-tcp-socket-for-service (or port 0) :backlog 15)))

(defun socket-accept (serv &key bin wait)
  "Wait for a connection on SERV and return its socket stream; with WAIT
(seconds), NIL when none arrives in that time."
  (let ((handle (comm::accept-connection (socket-server-handle serv)
                                         :timeout (and wait (max wait 0)))))
    (and handle
         (make-instance 'comm:socket-stream :socket handle :direction :io
                        :element-type (if bin '(unsigned-byte 8) 'base-char)))))

(defun socket-server-close (server)
  "Stop listening."
  (comm::close-any-socket (socket-server-handle server))
  nil)

(defun socket-server-host/port (server)
  "The address (dotted text) and port SERVER listens on."
  (multiple-value-bind (host port) (comm:get-socket-address (socket-server-handle server))
    (values (and host (address-text host)) port)))

;;; Services

(defstruct servent
  "A services database entry."
  (name "" :type simple-string)
  (aliases '() :type list)
  (port -1 :type fixnum)
  (proto :tcp :type symbol))

(defun read-services ()
  (with-open-file (in "/etc/services" :if-does-not-exist nil)
    (and in
         (loop for line = (read-line in nil)
               while line
               for text = (subseq line 0 (or (position #\# line) (length line)))
               for words = (loop with start = 0
                                 for i = (position-if-not (lambda (c) (member c '(#\Space #\Tab))) text :start start)
                                 while i
                                 for j = (or (position-if (lambda (c) (member c '(#\Space #\Tab))) text :start i)
                                             (length text))
                                 collect (subseq text i j)
                                 do (setf start j))
               for slash = (and (second words) (position #\/ (second words)))
               when slash
                 collect (make-servent :name (coerce (first words) 'simple-string)
                                       :aliases (cddr words)
                                       :port (parse-integer (second words) :end slash)
                                       :proto (intern (string-upcase (subseq (second words) (1+ slash)))
                                                      "KEYWORD"))))))

(defun socket-service-port (&optional service (protocol "tcp"))
  "The SERVENT of SERVICE (a name or port) for PROTOCOL, from
/etc/services; with no SERVICE, every entry."
  (let ((all (read-services))
        (proto (intern (string-upcase protocol) "KEYWORD")))
    (if (null service)
        all
        (or (find-if (lambda (s)
                       (and (eq (servent-proto s) proto)
                            (if (integerp service)
                                (= service (servent-port s))
                                (or (string-equal service (servent-name s))
                                    (member service (servent-aliases s) :test #'string-equal)))))
                     all)
            (error "~S: service ~S is not found for protocol ~S"
                   'socket-service-port service protocol)))))

;;; Processes (proc.lisp)

(defconstant +threads-p+ t "Whether processes run in one address space (always on netlisp).")

(defun make-process (name function &rest args)
  "Start a process running FUNCTION on ARGS."
  (apply #'mp:process-run-function name '() function args))

(defun process-wait (whostate predicate &rest args)
  (apply #'mp:process-wait whostate predicate args))

(defun process-wait-with-timeout (timeout whostate predicate &rest args)
  (apply #'mp:process-wait-with-timeout whostate timeout predicate args))

(defmacro with-timeout ((seconds &body timeout-forms) &body body)
  "Run BODY; after SECONDS, abandon it and run TIMEOUT-FORMS instead."
  (let ((done (gensym "DONE")) (tag (gensym "TIMEOUT")) (process (gensym "PROCESS")))
    `(block ,tag
       (let ((,done nil) (,process mp:*current-process*))
         (mp:process-run-function "Timeout monitor" '()
           (lambda ()
             (sleep ,seconds)
             (unless ,done
               (mp:process-interrupt ,process
                 (lambda () (unless ,done (return-from ,tag (progn ,@timeout-forms))))))))
         (unwind-protect (progn ,@body)
           (setf ,done t))))))

(defmacro without-scheduling (&body body) `(mp:without-interrupts ,@body))
(defun process-yield () (mp:process-yield))
(defun kill-process (process) (mp:process-kill process))
(defun interrupt-process (process function &rest args)
  (apply #'mp:process-interrupt process function args))
(defun restart-process (process)
  (declare (ignore process))
  (error 'not-implemented :proc (list 'restart-process)))
(defun processp (object) (mp:processp object))
(defun process-name (process) (mp:process-name process))
(defun process-active-p (process) (mp:process-alive-p process))
(defun process-whostate (process) (mp:process-whostate process))
(defun current-process () mp:*current-process*)
(defun all-processes () (mp:list-all-processes))
(defun show-processes (&key (stream *standard-output*))
  (format stream "~&~{~A~%~}" (mapcar #'mp:process-name (all-processes))))
(defun make-lock (&key name) (mp:make-lock :name name))
(defun get-lock (lock) (mp:process-lock lock))
(defun giveup-lock (lock) (mp:process-unlock lock))
(defmacro with-lock ((lock) &body body) `(mp:with-lock (,lock) ,@body))
