;;; TLS through COMM's SSL interface, netlisp server to netlisp client on
;;; loopback, with the test PKI that tests/tls/make-pki.sh makes in the
;;; directory $NETLISP_PKI. There is no runnable oracle for COMM: the
;;; expected output in tls.expected follows the LispWorks manual and
;;; docs/comm.md (section "TLS"), where the choices beyond it are written
;;; down. The same servers and clients meet OpenSSL and curl in
;;; tests/tls.rs.
(require "comm")

(defmacro check (name form)
  `(progn (format t "~A: ~S~%" ,name (handler-case ,form
                                       (error (c) (list :error (type-of c)))))
          (finish-output)))

(defvar *pki* (netlisp:getenv "NETLISP_PKI"))
(defun pki (name) (concatenate 'string *pki* "/" name))

;;; A server as in LispWorks' ssl-server.lisp: START-UP-SERVER hands each
;;; handle to a process that wraps it with MAKE-INSTANCE :SSL-CTX.
(defun start-server (function)
  "Serve FUNCTION on a port of 127.0.0.1 chosen by the system; the port."
  (let (port)
    (comm:start-up-server
     :service 0 :address "127.0.0.1" :wait t :function function
     :announce (lambda (socket c) (declare (ignore c))
                 (when socket (setf port (nth-value 1 (comm:get-socket-address socket))))))
    port))

(defvar *server-errors* '())
(defun serve-with (ctx &rest initargs)
  (start-server (lambda (handle)
                 (mp:process-run-function "tls echo" '()
                   (lambda ()
                     (handler-case
                         (with-open-stream (s (apply #'make-instance 'comm:socket-stream
                                                     :socket handle :direction :io
                                                     :element-type 'base-char :ssl-ctx ctx initargs))
                           (loop for line = (read-line s nil nil)
                                 while line
                                 do (format s "~A ~A~%" (string-upcase line)
                                            (comm:ssl-connection-protocol-version s))
                                    (force-output s)))
                       (comm:socket-error (c)
                         (push (list (type-of c) (comm:ssl-condition-reason c)) *server-errors*))))))))

(defun round-trip (port line &rest args)
  ;; ARGS first: the first of duplicate keywords wins.
  (with-open-stream (s (apply #'comm:open-tcp-stream "localhost" port
                              (append args '(:errorp t :read-timeout 10 :handshake-timeout 10))))
    (write-line line s)
    (force-output s)
    (read-line s)))

(defun failure (port &rest args)
  "The class and reason of the SSL condition connecting to PORT signals."
  (handler-case (progn (apply #'round-trip port "x" args) :connected)
    (comm:ssl-condition (c)
      (list (type-of c) (comm:ssl-condition-reason c)
            (typep c 'comm:socket-error) (eql (comm:socket-error-port c) port)))))

(defvar *ca-client* (comm:create-ssl-client-context :openssl-trusted-file (pki "ca.pem")))
(defvar *server-ctx* (comm:create-ssl-server-context :cert-file (pki "server.pem")
                                                     :key-file (pki "server.key")))
(defvar *port* (serve-with *server-ctx*))

;;; Clients verify the chain and the name by default
(check "trusted" (round-trip *port* "hello" :ssl-ctx *ca-client*))
(check "by address" (with-open-stream (s (comm:open-tcp-stream "127.0.0.1" *port* :errorp t
                                                                :ssl-ctx *ca-client*))
                      (write-line "ip" s) (force-output s) (read-line s)))
(check "system roots" (failure *port* :ssl-ctx t))
(check "errorp nil" (multiple-value-bind (s c) (comm:open-tcp-stream "localhost" *port* :ssl-ctx t)
                      (list s (type-of c) (comm:ssl-condition-reason c))))
(check "wrong name" (failure *port* :ssl-ctx *ca-client* :tlsext-host-name "other.example"))
(check "context name" (failure *port* :ssl-ctx (comm:create-ssl-client-context
                                                 :openssl-trusted-file (pki "ca.pem")
                                                 :tlsext-host-name "www.example")))
(check "trusted text" (round-trip *port* "pem" :ssl-ctx (comm:create-ssl-client-context
                                                         :trusted-certificates
                                                         (with-open-file (f (pki "ca.pem"))
                                                           (let ((s (make-string (file-length f))))
                                                             (subseq s 0 (read-sequence s f)))))))

;;; Certificates that must be refused, each with its reason
(dolist (name '("expired" "wrongname" "selfsigned"))
  (let ((port (serve-with (comm:create-ssl-server-context :cert-file (pki (format nil "~A.pem" name))
                                                          :key-file (pki (format nil "~A.key" name))))))
    (check name (failure port :ssl-ctx *ca-client*))))
(check "message" (handler-case (round-trip (serve-with (comm:create-ssl-server-context
                                                        :cert-file (pki "expired.pem")
                                                        :key-file (pki "expired.key")))
                                           "x" :ssl-ctx *ca-client*)
                   (comm:ssl-condition (c)
                     (let ((text (format nil "~A" c)))
                       (list (subseq text 0 (position #\: text))
                             (subseq text (search ": the peer" text)))))))

;;; Verification off is explicit, and warns once per context
(defvar *unverified* (let ((*error-output* (make-string-output-stream)))
                       (list (comm:create-ssl-client-context :verify nil)
                             (get-output-stream-string *error-output*))))
(check "warning" (search "verification is OFF" (second *unverified*)))
(check "unverified" (round-trip *port* "anyway" :ssl-ctx (first *unverified*)))
(check "verify after" (with-open-stream (s (comm:open-tcp-stream "localhost" *port*
                                                                  :ssl-ctx (first *unverified*)))
                        (multiple-value-list (comm:ssl-connection-verify s))))
(check "verify trusted" (with-open-stream (s (comm:open-tcp-stream "localhost" *port* :ssl-ctx *ca-client*))
                          (multiple-value-list (comm:ssl-connection-verify s))))
(check "mode off" (let ((ctx (comm:make-ssl-ctx :ssl-side :client))
                        (*error-output* (make-string-output-stream)))
                    (list (comm:get-verification-mode ctx)
                          (comm:set-verification-mode ctx :client :never)
                          (round-trip *port* "never" :ssl-ctx ctx)
                          (search "OFF" (get-output-stream-string *error-output*)))))

;;; Protocol versions
(check "tls 1.2" (round-trip *port* "v12" :ssl-ctx (comm:create-ssl-client-context
                                                    :openssl-trusted-file (pki "ca.pem")
                                                    :protocol-version :tls-v1-2)))
(check "1.3 only vs 1.2 only"
       (failure (serve-with (comm:create-ssl-server-context :cert-file (pki "server.pem")
                                                            :key-file (pki "server.key")
                                                            :protocol-version :tls-v1-3))
                :ssl-ctx (comm:create-ssl-client-context :openssl-trusted-file (pki "ca.pem")
                                                         :protocol-version :tls-v1-2)))
(check "old protocol" (handler-case (comm:make-ssl-ctx :ssl-ctx :tls-v1 :ssl-side :client)
                        (comm:ssl-error (c) (search "TLS 1.2 and 1.3" (format nil "~A" c)))))

;;; The stream and what the connection negotiated
(with-open-stream (s (comm:open-tcp-stream "localhost" *port* :ssl-ctx *ca-client* :errorp t))
  (check "ssl" (eq (comm:socket-stream-ssl s) s))
  (check "ctx" (eq (comm:socket-stream-ctx s) *ca-client*))
  (check "version" (comm:ssl-connection-protocol-version s))
  (check "suite" (not (null (search "TLS13_" (comm:ssl-connection-cipher-suite s)))))
  (check "peer chain" (let ((c (comm:ssl-connection-peer-certificates s)))
                        (list (length c) (subseq (first c) 0 27))))
  (check "no alpn" (comm:ssl-connection-alpn-protocol s))
  (check "handshake again" (comm:socket-stream-handshake s))
  (check "bivalent" (progn (write-byte 104 s) (write-byte 105 s) (terpri s) (force-output s)
                           (read-line s)))
  (check "big" (let ((line (make-string 100000 :initial-element #\a)))
                 (write-line line s) (force-output s)
                 (length (read-line s))))
  (check "listen" (progn (write-line "l" s) (force-output s)
                         (loop repeat 200 until (listen s) do (sleep 0.01))
                         (list (listen s) (read-line s) (listen s))))
  (check "plain stream" (comm:socket-stream-ssl (comm:open-tcp-stream "localhost" *port*))))

;;; ALPN
(defvar *alpn-port* (serve-with (comm:create-ssl-server-context :cert-file (pki "server.pem")
                                                                :key-file (pki "server.key")
                                                                :alpn '("h2" "http/1.1"))))
(check "alpn" (with-open-stream (s (comm:open-tcp-stream
                                    "localhost" *alpn-port* :errorp t
                                    :ssl-ctx (comm:create-ssl-client-context
                                              :openssl-trusted-file (pki "ca.pem") :alpn "http/1.1")))
                (comm:ssl-connection-alpn-protocol s)))

;;; Client certificates
(defvar *mtls-ctx* (comm:create-ssl-server-context :cert-file (pki "server.pem")
                                                   :key-file (pki "server.key")
                                                   :openssl-trusted-file (pki "ca.pem")
                                                   :verify-mode '(:verify-peer :fail-if-no-peer-cert)))
(check "server mode" (comm:get-verification-mode *mtls-ctx*))
(defvar *mtls-port* (serve-with *mtls-ctx*))
(defvar *client-with-cert* (comm:create-ssl-client-context :openssl-trusted-file (pki "ca.pem")
                                                           :cert-file (pki "client.pem")
                                                           :key-file (pki "client.key")))
(check "client cert" (round-trip *mtls-port* "mtls" :ssl-ctx *client-with-cert*))
(check "no client cert" (handler-case (round-trip *mtls-port* "none" :ssl-ctx *ca-client*)
                          (comm:socket-error (c) (list (typep c 'comm:ssl-condition)))))
(check "optional" (let ((ctx (comm:create-ssl-server-context :cert-file (pki "server.pem")
                                                             :key-file (pki "server.key")
                                                             :openssl-trusted-file (pki "ca.pem"))))
                    (list (comm:set-verification-mode ctx :server :always)
                          (round-trip (serve-with ctx) "opt" :ssl-ctx *ca-client*))))

;;; ATTACH-SSL on a plain stream, DETACH-SSL back to plain (STARTTLS style)
(defvar *starttls-port*
  (start-server (lambda (handle)
                 (mp:process-run-function "starttls" '()
                   (lambda ()
                     (with-open-stream (s (make-instance 'comm:socket-stream :socket handle
                                                         :direction :io))
                       (write-line (read-line s) s) (force-output s)      ; plain
                       (comm:attach-ssl s :ssl-ctx *server-ctx*)
                       (write-line (string-upcase (read-line s)) s) (force-output s) ; TLS
                       (comm:detach-ssl s)
                       (write-line (read-line s) s) (force-output s))))))) ; plain again
(check "starttls" (with-open-stream (s (comm:open-tcp-stream "localhost" *starttls-port* :errorp t
                                                              :read-timeout 10))
                    (write-line "plain" s) (force-output s)
                    (let ((a (read-line s)))
                      (comm:attach-ssl s :ssl-ctx *ca-client* :ssl-side :client
                                         :tlsext-host-name "localhost")
                      (write-line "secret" s) (force-output s)
                      (let ((b (read-line s))
                            (v (comm:ssl-connection-protocol-version s)))
                        (comm:detach-ssl s)
                        (write-line "plain again" s) (force-output s)
                        (list a b v (read-line s) (comm:socket-stream-ssl s))))))
(check "attach twice" (with-open-stream (s (comm:open-tcp-stream "localhost" *port* :ssl-ctx *ca-client*))
                        (handler-case (comm:attach-ssl s :ssl-ctx t :ssl-side :client)
                          (comm:ssl-error (c) (format nil "~A" c)))))
(check "detach plain" (with-open-stream (s (comm:open-tcp-stream "localhost" *port*))
                        (comm:detach-ssl s)))

;;; Callbacks and CREATE-SSL-SOCKET-STREAM
(check "callbacks" (let (seen)
                     (round-trip *port* "cb" :ssl-ctx *ca-client*
                                 :ctx-configure-callback (lambda (c) (push (type-of c) seen))
                                 :ssl-configure-callback (lambda (s) (push (streamp s) seen)))
                     (reverse seen)))
(check "create-ssl-socket-stream"
       (let ((h (comm:connect-to-tcp-server "localhost" *port* :errorp t)))
         (let ((s (comm:create-ssl-socket-stream h *ca-client* :ssl-side :client
                                                 :tlsext-host-name "localhost" :errorp t)))
           (write-line "css" s) (force-output s)
           (prog1 (read-line s) (close s)))))
(check "create failing" (let ((h (comm:connect-to-tcp-server "localhost" *port* :errorp t)))
                          (multiple-value-bind (s c)
                              (comm:create-ssl-socket-stream h t :ssl-side :client
                                                             :tlsext-host-name "localhost")
                            (list s (type-of c)))))

;;; A self-signed throw-away server in one line, trusted through its PEM
(multiple-value-bind (ctx pem) (comm:create-self-signed-ssl-server-context)
  (let ((port (serve-with ctx)))
    (check "self-signed pem" (subseq pem 0 27))
    (check "self-signed untrusted" (failure port :ssl-ctx *ca-client*))
    (check "self-signed trusted" (round-trip port "local" :ssl-ctx (comm:create-ssl-client-context
                                                                    :trusted-certificates pem)))))

;;; Peers that do not speak TLS, or say nothing
(defvar *plain-port* (start-server (lambda (handle)
                                    (mp:process-run-function "plain" '()
                                      (lambda ()
                                        (with-open-stream (s (make-instance 'comm:socket-stream
                                                                            :socket handle :direction :io))
                                          (write-line "220 not TLS at all" s) (force-output s)
                                          (read-line s nil nil)))))))
(defvar *silent-port* (start-server (lambda (h) (declare (ignore h)))))
(check "not tls" (failure *plain-port* :ssl-ctx *ca-client*))
(check "handshake timeout"
       (let ((start (get-internal-real-time)))
         (list (failure *silent-port* :ssl-ctx *ca-client* :handshake-timeout 0.3)
               (< (- (get-internal-real-time) start) (* 5 internal-time-units-per-second)))))
(check "plain client to tls server" (with-open-stream (s (comm:open-tcp-stream "localhost" *port* :errorp t
                                                                                :read-timeout 5))
                                      (write-line "GET / HTTP/1.0" s) (force-output s)
                                      (list :alert-record (read-byte s))))
(sleep 0.2)
(check "server saw" (list (not (null (member 'comm:ssl-failure *server-errors* :key #'first)))
                          (every (lambda (e) (subtypep (first e) 'comm:ssl-condition)) *server-errors*)))

;;; Bad settings are SSL-ERRORs naming what is wrong
(defun without-pki (text)
  "TEXT with the PKI directory written as $PKI, so the output is the same everywhere."
  (let ((at (search *pki* text)))
    (if at
        (without-pki (concatenate 'string (subseq text 0 at) "$PKI" (subseq text (+ at (length *pki*)))))
        text)))
(defmacro setting (name form)
  `(check ,name (handler-case ,form (comm:ssl-error (c) (without-pki (format nil "~A" c))))))
(setting "no file" (comm:create-ssl-server-context :cert-file (pki "missing.pem")))
(setting "not pem" (comm:create-ssl-server-context :cert-file (pki "plain.pem")))
(setting "encrypted key" (comm:create-ssl-server-context :cert-file (pki "server.pem")
                                                         :key-file (pki "server-enc.key")))
(setting "wrong password" (comm:create-ssl-server-context :cert-file (pki "server.pem")
                                                          :key-file (pki "server-enc.key")
                                                          :password "guess"))
(check "password" (round-trip (serve-with (comm:create-ssl-server-context
                                           :cert-file (pki "server.pem")
                                           :key-file (pki "server-enc.key") :password "secret"))
                              "decrypted" :ssl-ctx *ca-client*))
(check "password callback" (let (asked)
                             (round-trip (serve-with (comm:create-ssl-server-context
                                                      :cert-file (pki "server.pem")
                                                      :key-file (pki "server-enc.key")
                                                      :password-callback (lambda (file)
                                                                           (setf asked (stringp file))
                                                                           "secret")))
                                         "cb" :ssl-ctx *ca-client*)
                             asked))
(setting "no certificate" (with-open-stream (s (comm:open-tcp-stream "localhost" *port*))
                            (comm:attach-ssl s :ssl-ctx t)))
(setting "dh file" (comm:create-ssl-server-context :dh-file "dh.pem"))
(setting "cipher list" (comm:set-cipher-list *ca-client* "HIGH:!aNULL"))
(check "udp" (handler-case (comm:attach-ssl (comm+:open-udp-stream "127.0.0.1" 9) :ssl-ctx t :ssl-side :client)
               (comm:ssl-error (c) (format nil "~A" c))))
(check "type" (handler-case (comm:get-verification-mode 42) (type-error () :type-error)))
(check "classes" (list (subtypep 'comm:ssl-verification-failure 'comm:ssl-condition)
                       (subtypep 'comm:ssl-condition 'comm:socket-error)
                       (subtypep 'comm:ssl-handshake-timeout 'timeout-error)
                       (subtypep 'comm:ssl-closed 'comm:ssl-condition)))
(check "no-ops" (list (comm:ensure-ssl) (comm:do-rand-seed) (comm:destroy-ssl-ctx *ca-client*)
                      (not (null (search "rustls" (comm:openssl-version))))))
(quit)
