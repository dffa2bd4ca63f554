;;; COMM API checks on loopback, IPv4 and IPv6. There is no COMM oracle
;;; (LispWorks is not runnable here): the expected output in
;;; comm-api.expected follows the LispWorks manual, and docs/comm.md
;;; records each choice where the manual is silent.
(require "comm")

(defmacro check (name form)
  `(progn (format t "~A: ~S~%" ,name (handler-case ,form
                                       (error (c) (list :error (type-of c)))))
          (finish-output)))

;;; Addresses
(check "dotted->int" (comm:get-host-entry "204.71.177.75" :fields '(:address)))
(check "int->dotted" (comm:ip-address-string #xCC47B14B))
(check "string-ip v4" (comm:string-ip-address "127.0.0.1"))
(check "string-ip v6" (comm:ip-address-string (comm:string-ip-address "0:0::1")))
(check "string-ip name" (comm:string-ip-address "localhost"))
(check "ipv6 print" (comm:parse-ipv6-address "  fe80::1%2/64  "))
(check "ipv6 scope" (comm:ipv6-address-scope-id (comm:parse-ipv6-address "fe80::1%eth0")))
(check "ipv6 string" (comm:ipv6-address-string (comm:parse-ipv6-address "fe80::1%2")))
(check "ipv6 no trim" (comm:parse-ipv6-address " ::1" :trim-whitespace nil))
(check "ipv6 bounds" (comm:ipv6-address-string (comm:parse-ipv6-address "[::1]" :start 1 :end 4)))
(check "ipv6 bad" (comm:parse-ipv6-address "::g"))
(check "ipv6-p" (list (comm:ipv6-address-p (comm:string-ip-address "::1")) (comm:ipv6-address-p 1)))
(check "localhost v4" (comm:ip-address-string (comm:get-host-entry "localhost" :ipv6 nil)))
(check "::1 v6" (comm:ipv6-address-string (comm:get-host-entry "::1" :ipv6 t)))
(check "fields" (multiple-value-list
                 (comm:get-host-entry "127.0.0.1" :fields '(:ipv4-address :ipv6-addresses :addresses))))
(check "reverse name" (comm:get-host-entry 2130706433 :fields '(:name)))
(check "unknown host" (comm:get-host-entry "no-such-host.invalid"))
(check "bad hostspec" (comm:get-host-entry 1.5))
(check "service name" (comm:get-service-entry "http" "tcp"))
(check "service port" (multiple-value-list (comm:get-service-entry 25 nil :fields '(:name :aliases :protocol))))
(check "service alias" (comm:get-service-entry "mail" nil))
(check "service none" (comm:get-service-entry "no-such-service" "tcp"))

;;; A server on an OS-chosen port, for each family
(defvar *port* nil)
(defun serve-upcase (handle)
  (mp:process-run-function "upcase" '()
    (lambda ()
      (with-open-stream (s (make-instance 'comm:socket-stream :socket handle
                                          :direction :io :element-type 'base-char))
        (handler-case
            (loop for line = (read-line s nil nil)
                  while line
                  do (write-line (string-upcase line) s) (force-output s))
          (comm:socket-error () nil))))))

(multiple-value-bind (proc condition)
    (comm:start-up-server :function 'serve-upcase :service 0 :address "127.0.0.1" :wait t
                          :announce (lambda (socket c)
                                      (when socket
                                        (setf *port* (nth-value 1 (comm:get-socket-address socket))))
                                      (when c (print c))))
  (check "server" (list (typep proc (quote mp:process)) condition (integerp *port*) (> *port* 0))))

(with-open-stream (s (comm:open-tcp-stream "127.0.0.1" *port* :errorp t))
  (check "class" (list (type-of s) (typep s 'comm:socket-stream) (streamp s)
                       (input-stream-p s) (output-stream-p s) (open-stream-p s)))
  (check "element-type" (stream-element-type s))
  (write-line "hello" s)
  (check "no output before force" (listen s))
  (force-output s)
  (check "read-line" (read-line s))
  (check "peer" (multiple-value-bind (a p) (comm:socket-stream-peer-address s)
                  (list (comm:ip-address-string a) (= p *port*))))
  (check "local" (comm:ip-address-string (comm:socket-stream-address s)))
  (check "handle" (integerp (comm:socket-stream-socket s)))
  (check "same as get-socket-address"
         (equal (multiple-value-list (comm:get-socket-address (comm:socket-stream-socket s)))
                (multiple-value-list (comm:socket-stream-address s))))
  ;; Bivalent: octets and characters on one base-char stream.
  (write-sequence (map '(vector (unsigned-byte 8)) #'char-code "octets") s)
  (write-byte 10 s)
  (force-output s)
  (check "read-byte" (read-byte s))
  (check "read-char" (read-char s))
  (let ((buf (make-string 4)))
    (check "read-sequence string" (list (read-sequence buf s) buf)))
  (check "newline left" (read-char s))
  (format s "peek~%")
  (finish-output s)
  (check "peek-char" (peek-char nil s))
  (check "unread" (let ((c (read-char s))) (unread-char c s) (read-line s)))
  (write-line "latin-1 é" s) (force-output s)
  (check "latin-1 roundtrip" (read-line s))
  (check "read-char-no-hang" (read-char-no-hang s nil :eof))
  (setf (stream:stream-read-timeout s) 0.2)
  (check "read-timeout value" (stream:stream-read-timeout s))
  (check "read timeout" (handler-case (read-line s)
                          (comm:io-timeout-error (c)
                            (list :timeout (typep c 'comm:socket-io-error) (typep c 'timeout-error)))))
  (setf (stream:stream-read-timeout s) nil)
  (check "wait none" (sys:wait-for-input-streams (list s) :timeout 0))
  (write-line "x" s) (force-output s)
  (check "wait ready" (eq (sys:wait-for-input-streams-returning-first (list s) :timeout 2) s))
  (check "after wait" (read-line s))
  (comm:socket-stream-shutdown s :output)
  (check "eof after half-close" (read-line s nil :eof)))

;;; The same over IPv6
(defvar *port6* nil)
(comm:start-up-server :function 'serve-upcase :service 0 :address "::1" :wait t
                      :announce (lambda (socket c)
                                  (declare (ignore c))
                                  (when socket
                                    (setf *port6* (nth-value 1 (comm:get-socket-address socket))))))
(with-open-stream (s (comm:open-tcp-stream "::1" *port6* :errorp t :ipv6 t))
  (write-line "six" s) (force-output s)
  (check "ipv6 read-line" (read-line s))
  (check "ipv6 peer" (comm:ipv6-address-string (comm:socket-stream-peer-address s))))
(with-open-stream (s (comm:open-tcp-stream (comm:string-ip-address "::1") *port6* :errorp t))
  (write-line "object" s) (force-output s)
  (check "ipv6 object hostspec" (read-line s)))

;;; A handle from CONNECT-TO-TCP-SERVER, made into a stream
(let ((h (comm:connect-to-tcp-server "localhost" *port* :errorp t :ipv6 nil)))
  (check "handle type" (integerp h))
  (let ((s (make-instance 'comm:socket-stream :socket h :direction :io
                                             :element-type '(unsigned-byte 8))))
    (check "octet element-type" (stream-element-type s))
    (write-line "binary stream text" s) (force-output s)
    (check "chars on octet stream" (read-line s))
    (check "handle taken" (handler-case (make-instance 'comm:socket-stream :socket h)
                            (error () :error)))
    (check "replace" (eql (comm:replace-socket-stream-socket s nil) h))
    (check "no socket" (comm:socket-stream-socket s))
    (close s)
    (let ((s2 (make-instance 'comm:socket-stream :socket h :direction :io)))
      (write-line "again" s2) (force-output s2)
      (check "handle reused" (read-line s2))
      (close s2))))

;;; Failures
(check "refused, errorp nil" (multiple-value-bind (s c) (comm:open-tcp-stream "127.0.0.1" 1)
                               (list s (type-of c) (comm:socket-error-code c)
                                     (typep c 'comm:socket-connect-error))))
(check "refused, errorp t" (handler-case (comm:open-tcp-stream "127.0.0.1" 1 :errorp t)
                             (comm:connection-refused-error (c)
                               (list (comm:socket-error-operation c) (comm:socket-error-host c)
                                     (comm:socket-error-port c)))))
(check "refused report" (handler-case (comm:open-tcp-stream "127.0.0.1" 1 :errorp t)
                          (error (c) (princ-to-string c))))
(check "unknown host" (multiple-value-bind (s c) (comm:open-tcp-stream "no-such-host.invalid" 80)
                        (list s (type-of c) (typep c 'comm:socket-connect-error))))
(check "unknown service" (multiple-value-bind (s c) (comm:open-tcp-stream "localhost" "no-such-service")
                           (list s (type-of c))))
(check "named service" (multiple-value-bind (s c) (comm:open-tcp-stream "127.0.0.1" "tcpmux")
                         (list s (type-of c))))
(check "port range" (comm:open-tcp-stream "localhost" 70000))
(check "bad port type" (comm:open-tcp-stream "localhost" 'http))
(check "bad direction" (comm:open-tcp-stream "localhost" *port* :direction :sideways))
(check "address in use" (multiple-value-bind (p c) (comm:start-up-server :function 'identity :service *port*
                                                                         :address "127.0.0.1" :error nil)
                          (list p (type-of c) (typep c 'comm:socket-create-error))))
(check "in use, error t" (handler-case (comm:start-up-server :function 'identity :service *port*
                                                             :address "127.0.0.1" :error t)
                           (comm:address-in-use-error (c) (comm:socket-error-code c))))
(check "in use, announce" (let (seen)
                            (comm:start-up-server :function 'identity :service *port* :address "127.0.0.1"
                                                  :announce (lambda (s c) (setf seen (list s (type-of c)))))
                            seen))
(check "bind not local" (multiple-value-bind (p c) (comm:start-up-server :function 'identity :service 0
                                                                         :address "192.0.2.1" :error nil)
                          (list p (type-of c))))
(check "connect timeout" (let ((start (get-internal-real-time)))
                           (multiple-value-bind (s c) (comm:open-tcp-stream "localhost" *port* :timeout 0)
                             (list s (type-of c) (typep c 'timeout-error)
                                   (< (- (get-internal-real-time) start) internal-time-units-per-second)))))
(check "closed stream" (let ((s (comm:open-tcp-stream "127.0.0.1" *port* :errorp t)))
                         (close s)
                         (handler-case (read-line s) (stream-error () :stream-error))))

;;; Server termination
(let* ((events '())
       (proc (comm:start-up-server :function 'identity :service 0 :address "127.0.0.1"
                                   :announce (lambda (s c) (push (list (integerp s) c) events))
                                   :wait t)))
  (check "terminate" (comm:server-terminate proc))
  (mp:process-join proc)
  (check "terminate again" (comm:server-terminate proc))
  (check "announce events" (reverse events))
  (check "process ended" (mp:process-alive-p proc)))
(let* ((p nil)
       (proc (comm:start-up-server :service 0 :address "127.0.0.1" :wait t
                                   :function (lambda (h) (comm::close-socket h) (comm:server-terminate))
                                   :announce (lambda (s c) (declare (ignore c))
                                               (when s (setf p (nth-value 1 (comm:get-socket-address s))))))))
  (close (comm:open-tcp-stream "127.0.0.1" p :errorp t))
  (mp:process-join proc :timeout 5)
  (check "terminate from inside" (mp:process-alive-p proc)))

;;; A server function that signals: reported on *ERROR-OUTPUT*, the server goes on
(defvar *stderr* *error-output*)
(setf *error-output* (make-string-output-stream)) ; global: the server is another process
(let* ((p nil) (n 0)
       (proc (comm:start-up-server
              :service 0 :address "127.0.0.1" :wait t :process-name "flaky"
              :function (lambda (h)
                          (with-open-stream (s (make-instance 'comm:socket-stream :socket h
                                                              :direction :io :element-type 'base-char))
                            (when (= (incf n) 1) (error "bad connection ~D" n))
                            (write-line "second is fine" s)))
              :announce (lambda (s c) (declare (ignore c))
                          (when s (setf p (nth-value 1 (comm:get-socket-address s))))))))
  (check "first connection" (with-open-stream (c (comm:open-tcp-stream "127.0.0.1" p :errorp t :read-timeout 5))
                              (read-line c nil :eof)))
  (check "second connection" (with-open-stream (c (comm:open-tcp-stream "127.0.0.1" p :errorp t :read-timeout 5))
                               (read-line c nil :eof)))
  (check "error reported" (get-output-stream-string *error-output*))
  (comm:server-terminate proc))
(setf *error-output* *stderr*)

;;; The built-in Lisp listener
(let* ((lp nil))
  (comm:start-up-server :service 0 :wait t
                        :announce (lambda (s c) (declare (ignore c))
                                    (when s (setf lp (nth-value 1 (comm:get-socket-address s))))))
  (with-open-stream (s (comm:open-tcp-stream "127.0.0.1" lp :errorp t :read-timeout 5))
    (format s "(+ 1 2)~%(values :a \"b\")~%(car 1)~%") (force-output s)
    (comm:socket-stream-shutdown s :output)
    (check "listener" (loop for line = (read-line s nil nil) while line collect line))))

(check "live sockets are listed" (every (lambda (p) (getf p :handle)) (netlisp:sockets)))
(quit)
