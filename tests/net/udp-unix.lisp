;;; UDP and Unix-domain sockets through the LispWorks-UDP names (COMM+,
;;; also reachable from COMM), on loopback and in a temporary directory.
;;; There is no runnable oracle: the expected output in udp-unix.expected
;;; follows lispworks-udp 4.x and docs/comm.md, where each choice made
;;; beyond it is written down.
(require "comm")

(defmacro check (name form)
  `(progn (format t "~A: ~S~%" ,name (handler-case ,form
                                       (error (c) (list :error (type-of c)))))
          (finish-output)))

(defun octets (string) (map '(vector (unsigned-byte 8)) #'char-code string))
(defun text (octets &optional (n (length octets)))
  (map 'string #'code-char (subseq octets 0 n)))
(defun port-of (socket) (nth-value 1 (comm:get-socket-address socket)))

;;; Packages and classes
(check "same symbols" (eq 'comm+:open-udp-socket 'comm:open-udp-socket))
(check "comm+ uses comm" (not (null (member (find-package "COMM") (package-use-list "COMM+")))))
(check "require" (progn (require "comm+") (require :lispworks-udp) t))

;;; Unconnected sockets: port 0 means any, one datagram per receive
(defvar *a* (comm+:open-udp-socket :local-address "127.0.0.1" :local-port 0 :read-timeout 5))
(defvar *b* (comm+:open-udp-socket :local-address "127.0.0.1" :local-port 0 :read-timeout 5))
(check "class" (list (typep *a* 'comm+:socket-datagram) (typep *a* 'comm+:inet-datagram)
                     (subtypep 'comm+:unix-datagram 'comm+:socket-datagram)))
(check "port chosen" (plusp (port-of *a*)))
(check "handle" (integerp (comm+:socket-datagram-socket *a*)))
(check "send" (comm+:send-message *b* (octets "hello") :host "127.0.0.1" :service (port-of *a*)))
(check "receive" (multiple-value-bind (buf n addr port) (comm+:receive-message *a*)
                   (list (text buf n) n addr (= port (port-of *b*)))))
(check "boundaries" (progn
                      (dolist (m '("one" "two!" "" "three"))
                        (comm+:send-message *b* (octets m) :host "127.0.0.1" :service (port-of *a*)))
                      (loop repeat 4 collect (multiple-value-bind (buf n) (comm+:receive-message *a*)
                                               (text buf n)))))
(check "optional form" (progn
                         (comm+:send-message *b* (octets "abcdef") 3 "127.0.0.1" (port-of *a*))
                         (let ((buf (make-array 10 :element-type '(unsigned-byte 8))))
                           (multiple-value-bind (b n) (comm+:receive-message *a* buf 10)
                             (list (eq b buf) n (text b n))))))
(check "string buffer" (progn
                         (comm+:send-message *b* "latin-1 text" :host "127.0.0.1" :service (port-of *a*))
                         (let ((s (make-string 20 :initial-element #\.)))
                           (comm+:receive-message *a* :buffer s)
                           s)))
(check "largest datagram" (let ((big (make-array 65507 :element-type '(unsigned-byte 8) :initial-element 7)))
                            (comm+:send-message *b* big :host "127.0.0.1" :service (port-of *a*))
                            (multiple-value-bind (buf n) (comm+:receive-message *a*)
                              (list n (every (lambda (x) (= x 7)) (subseq buf 0 n))))))
(check "too large" (comm+:send-message *b* (make-array 65508 :element-type '(unsigned-byte 8))
                                       :host "127.0.0.1" :service (port-of *a*)))
(check "too large text" (handler-case
                            (comm+:send-message *b* (make-array 65508 :element-type '(unsigned-byte 8))
                                                :host "127.0.0.1" :service (port-of *a*))
                          (comm:socket-error (e) (not (null (search "65508 bytes" (princ-to-string e)))))))
(check "truncated" (let ((small (make-array 4 :element-type '(unsigned-byte 8))))
                     (comm+:send-message *b* (octets "0123456789") :host "127.0.0.1" :service (port-of *a*))
                     (handler-case (comm+:receive-message *a* :buffer small)
                       (comm+:message-truncated-error (e)
                         (list (text small) (not (null (search "10 bytes" (princ-to-string e)))))))))
(check "timeout" (multiple-value-list (comm+:receive-message *a* :read-timeout 0.05)))
(check "timeout kept" (comm+:get-socket-receive-timeout *a*))
(check "set timeout" (progn (comm+:set-socket-receive-timeout *a* 5) (comm+:get-socket-receive-timeout *a*)))
(check "no destination" (comm+:send-message *b* (octets "x")))
(check "half destination" (comm+:send-message *b* (octets "x") :host "127.0.0.1"))
(check "bad buffer" (comm+:send-message *b* 42 :host "127.0.0.1" :service 9))
(check "bad octets" (comm+:send-message *b* '(1 2 300) :host "127.0.0.1" :service 9))
(check "not a datagram" (comm+:receive-message "nope"))
(check "broadcast option" (comm+:set-datagram-option *b* :broadcast t))
(check "multicast" (list (comm+:set-datagram-option *b* :join-group '("239.1.2.3" "127.0.0.1"))
                         (comm+:set-datagram-option *b* :multicast-ttl 1)
                         (comm+:set-datagram-option *b* :leave-group '("239.1.2.3" "127.0.0.1"))))
(check "not a group" (handler-case (comm+:set-datagram-option *b* :join-group "10.0.0.1")
                       (comm:socket-error (e) (princ-to-string e))))
(check "unknown option" (comm+:set-datagram-option *b* :no-such-option t))
(check "listed" (count :udp (netlisp:sockets) :key (lambda (p) (getf p :protocol))))
(check "close" (list (comm+:close-datagram *a*) (comm+:close-datagram *b*)))
(check "closed receive" (comm+:receive-message *a*))
(check "listed after close" (count :udp (netlisp:sockets) :key (lambda (p) (getf p :protocol))))

;;; Connected sockets: ICMP port unreachable is connection refused
(defvar *dead-port* (comm+:with-udp-socket (s :local-address "127.0.0.1" :local-port 0) (port-of s)))
(check "refused" (comm+:with-connected-udp-socket (s "127.0.0.1" *dead-port* :read-timeout 5)
                   (comm+:send-message s (octets "anyone?"))
                   (comm+:receive-message s)))
(check "with closes" (count :udp (netlisp:sockets) :key (lambda (p) (getf p :protocol))))

;;; IPv6
(check "ipv6" (comm+:with-udp-socket (a :local-address "::1" :local-port 0 :read-timeout 5)
                (comm+:with-connected-udp-socket (c "::1" (port-of a) :read-timeout 5)
                  (comm+:send-message c (octets "six"))
                  (multiple-value-bind (buf n addr port) (comm+:receive-message a)
                    (comm+:send-message a (reverse (subseq buf 0 n)) :host addr :service port)
                    (list (text buf n) addr
                          (multiple-value-bind (b2 n2) (comm+:receive-message c) (text b2 n2)))))))

;;; A UDP stream: lines out as datagrams, datagrams in as bytes
(check "udp stream" (comm+:with-udp-socket (srv :local-address "127.0.0.1" :local-port 0 :read-timeout 5)
                      (comm+:with-udp-stream (s "127.0.0.1" (port-of srv) :read-timeout 5)
                        (write-line "ping" s)
                        (force-output s)
                        (multiple-value-bind (buf n addr port) (comm+:receive-message srv)
                          (comm+:send-message srv (octets (format nil "pong~%")) :host addr :service port)
                          (list (text buf n)
                                (not (null (sys:wait-for-input-streams (list s) :timeout 5)))
                                (read-line s))))))

;;; START-UDP-SERVER: the reply protocol
(defvar *port* nil)
(defvar *server*
  (comm+:start-udp-server
   :function (lambda (data prefix)
               (when (string= (text data) "boom") (error "boom requested"))
               (octets (format nil "~A~A ~A" prefix (reverse (text data))
                               (and (integerp comm+:*client-address*) (integerp comm+:*client-port*)))))
   :arguments '(">")
   :address "127.0.0.1" :service 0
   :announce (lambda (handle condition)
               (declare (ignore condition))
               (when handle (setf *port* (port-of handle))))))
(check "server process" (mp:process-name *server*))
(check "server replies"
       (comm+:with-connected-udp-socket (c "127.0.0.1" *port* :read-timeout 5)
         (loop for m in '("abc" "boom" "xyz")
               do (comm+:send-message c (octets m))
               collect (multiple-value-bind (buf n) (comm+:receive-message c :read-timeout 0.5)
                         (and buf (text buf n))))))
(check "stop" (comm+:stop-udp-server *server* :wait t))
(check "stopped" (list (mp:process-alive-p *server*) (comm+:stop-udp-server *server*)))

;;; Unix-domain stream sockets: a server on a path, a process per connection
(defvar *dir* (format nil "/tmp/netlisp-unix-~36R/" (random (expt 36 8) (make-random-state t))))
(ensure-directories-exist *dir*)
(defun in-dir (name) (concatenate 'string *dir* name))
(defvar *path* (in-dir "echo.sock"))
(defun serve-echo (handle)
  (with-open-stream (s (make-instance 'comm:socket-stream :socket handle :direction :io))
    (loop for line = (read-line s nil)
          while line do (write-line (string-upcase line) s) (force-output s))))
(defvar *unix-server* (comm:start-up-server :path *path* :function 'serve-echo :wait t))
(check "socket file" (not (null (probe-file *path*))))
(check "unix stream" (comm+:with-unix-stream (s *path* :read-timeout 5)
                       (write-line "over a path" s)
                       (force-output s)
                       (list (read-line s)
                             (equal (comm+:get-socket-peer-pathname s) *path*)
                             (comm+:get-socket-pathname s)
                             (every #'integerp (multiple-value-list (comm+:get-socket-peer-credentials s))))))
(check "unix wait for input"
       (comm+:with-unix-stream (s *path* :read-timeout 5)
         (list (sys:wait-for-input-streams (list s) :timeout 0.05)
               (progn (write-line "x" s) (force-output s)
                      (not (null (sys:wait-for-input-streams (list s) :timeout 5))))
               (read-line s))))
(check "handle connect" (let ((h (comm+:connect-to-unix-path *path* :protocol :stream)))
                          (with-open-stream (s (make-instance 'comm:socket-stream :socket h))
                            (write-line "handle" s) (force-output s) (read-line s))))
(check "listed" (count :unix-stream (netlisp:sockets) :key (lambda (p) (getf p :protocol))))
(check "in use" (comm:start-up-server :path *path* :function 'serve-echo :error t))
(check "live kept" (comm:start-up-server :path *path* :function 'serve-echo :error t :remove-stale t))
(check "terminate" (comm:server-terminate *unix-server*))
(sleep 0.2)
(check "file removed" (probe-file *path*))
(check "missing path" (comm+:open-unix-stream (in-dir "nobody.sock") :errorp t))
(check "missing path text" (handler-case (comm+:open-unix-stream (in-dir "nobody.sock") :errorp t)
                             (comm:socket-error (e) (not (null (search "nobody.sock" (princ-to-string e)))))))
(check "missing dir" (comm:start-up-server :path (in-dir "no/such/dir.sock") :function 'serve-echo :error t))
(check "too long" (comm+:open-unix-stream (in-dir (make-string 120 :initial-element #\x)) :errorp t))
(check "regular file" (progn (with-open-file (f (in-dir "plain") :direction :output :if-exists :supersede)
                               (write-line "data" f))
                             (comm:start-up-server :path (in-dir "plain") :function 'serve-echo
                                                   :error t :remove-stale t)))
(check "regular file kept" (not (null (probe-file (in-dir "plain")))))
(check "errorp nil" (let ((r (multiple-value-list (comm+:open-unix-stream (in-dir "nobody.sock")))))
                      (list (first r) (typep (second r) 'comm:socket-error))))

;;; Unix datagrams: replies reach an unbound client through its automatic name
(check "unix datagram"
       (let ((srv (comm+:open-unix-socket :path (in-dir "dgram.sock") :read-timeout 5)))
         (unwind-protect
              (let ((cli (comm+:connect-to-unix-path (in-dir "dgram.sock") :read-timeout 5)))
                (unwind-protect
                     (progn
                       (comm+:send-message cli (octets "via unix"))
                       (multiple-value-bind (buf n from port) (comm+:receive-message srv)
                         (comm+:send-message srv (octets "answered") :path from)
                         (list (text buf n) (char= (char from 0) #\Nul) port
                               (typep cli 'comm+:unix-datagram)
                               (multiple-value-bind (b2 n2) (comm+:receive-message cli) (text b2 n2)))))
                  (comm+:close-datagram cli)))
           (comm+:close-datagram srv))))
(check "dgram file removed" (probe-file (in-dir "dgram.sock")))
(check "abstract name"
       (let* ((name (format nil "~Cnetlisp-test-~D" #\Nul (random 1000000 (make-random-state t))))
              (srv (comm+:open-unix-socket :path name :read-timeout 5))
              (cli (comm+:open-unix-socket :read-timeout 5)))
         (unwind-protect
              (progn
                (comm+:send-message cli (octets "abstract") :path name)
                (multiple-value-bind (buf n) (comm+:receive-message srv)
                  (list (text buf n) (string= (comm+:get-socket-pathname srv) name))))
           (comm+:close-datagram cli)
           (comm+:close-datagram srv))))
(check "closed and gone" (let ((s (comm+:open-unix-socket :path (in-dir "gone.sock"))))
                        ;; Closing removed the file (tests/net.rs makes a stale one).
                        (comm+:close-datagram s)
                        (comm+:connect-to-unix-path (in-dir "gone.sock") :errorp t)))
(check "sockets left" (length (netlisp:sockets)))
(delete-file (in-dir "plain"))
