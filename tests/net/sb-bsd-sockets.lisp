;;;; sb-bsd-sockets on loopback. The oracle is SBCL's own sb-bsd-sockets:
;;;; `sbcl --script` on this file prints tests/net/sb-bsd-sockets.expected
;;;; (ports are chosen by the system and never printed).
(require :sb-bsd-sockets)
(defpackage "BSD-TEST" (:use "CL" "SB-BSD-SOCKETS"))
(in-package "BSD-TEST")

(defmacro check (name form)
  `(format t "~A => ~S~%" ,name (handler-case ,form (error (e) (list :error (type-of e))))))

(defun octets (&rest xs) (coerce xs '(vector (unsigned-byte 8))))

;; A listener, a client, a stream each way, and recv semantics.
(let ((l (make-instance 'inet-socket :type :stream :protocol :tcp)))
  (setf (sockopt-reuse-address l) t)
  (socket-bind l #(127 0 0 1) 0)
  (socket-listen l 5)
  (check "reuse-address" (sockopt-reuse-address l))
  (check "listener name" (socket-name l))
  (check "port is a number" (integerp (nth-value 1 (socket-name l))))
  (let ((port (nth-value 1 (socket-name l)))
        (c (make-instance 'inet-socket :type :stream :protocol :tcp)))
    (check "connect returns the socket" (eq c (socket-connect c #(127 0 0 1) port)))
    (multiple-value-bind (s peer) (socket-accept l)
      (check "accepted" (list (type-of s) peer))
      (check "peer of client is the listener's port" (= port (nth-value 1 (socket-peername c))))
      (check "local of accepted is the port" (= port (nth-value 1 (socket-name s))))
      (check "nodelay settable" (progn (setf (sockopt-tcp-nodelay c) t) (sockopt-tcp-nodelay c)))
      (let ((out (socket-make-stream c :output t :input t :element-type 'character)))
        (format out "hi there~%") (finish-output out)
        (check "same stream again" (eq out (socket-make-stream c :output t :input t))))
      (check "read-line" (read-line (socket-make-stream s :input t :output t)))
      (check "send" (socket-send s (octets 112 111 110 103) 4))
      (check "receive" (multiple-value-list
                        (socket-receive c (make-array 6 :element-type '(unsigned-byte 8)) 6)))
      (socket-close s)
      (check "end of file" (read-line (socket-make-stream c) nil :eof))
      (socket-close c)
      (socket-close l)
      (check "closed" (list (socket-open-p l) (socket-open-p c))))))

;; Errors as classes.
(check "refused"
       (handler-case (socket-connect (make-instance 'inet-socket :type :stream :protocol :tcp)
                                     #(127 0 0 1) 9)
         (connection-refused-error (e) (list (type-of e) (sb-bsd-sockets::socket-error-errno e)))))
(let ((a (make-instance 'inet-socket :type :stream :protocol :tcp))
      (b (make-instance 'inet-socket :type :stream :protocol :tcp)))
  (socket-bind a #(127 0 0 1) 0)
  (socket-listen a 1)
  (check "in use"
         (handler-case (progn (socket-bind b #(127 0 0 1) (nth-value 1 (socket-name a)))
                              (socket-listen b 1))
           (address-in-use-error (e) (type-of e))))
  (socket-close a) (socket-close b))

;; UDP: unconnected send to a bound socket, the sender's address, a reply.
(let ((u (make-instance 'inet-socket :type :datagram :protocol :udp))
      (v (make-instance 'inet-socket :type :datagram :protocol :udp)))
  (socket-bind u #(127 0 0 1) 0)
  (socket-bind v #(127 0 0 1) 0)
  (let ((uport (nth-value 1 (socket-name u))) (vport (nth-value 1 (socket-name v))))
    (socket-send v (octets 1 2 3) 3 :address (list #(127 0 0 1) uport))
    (multiple-value-bind (buf n addr port) (socket-receive u nil 16)
      (check "datagram" (list (subseq buf 0 n) n addr (= port vport))))
    (socket-send u (octets 9 8) 2 :address (list #(127 0 0 1) vport))
    (check "reply" (subseq (multiple-value-list (socket-receive v (make-array 8 :element-type '(unsigned-byte 8)) 8)) 1 3)))
  (socket-close u) (socket-close v))

;; Names.
(check "localhost" (host-ent-address (get-host-by-name "localhost")))
(check "address type" (host-ent-address-type (get-host-by-name "localhost")))
(check "make-inet-address" (make-inet-address "10.1.2.3"))
(check "unknown host" (handler-case (get-host-by-name "no.such.host.invalid")
                        (host-not-found-error () :host-not-found)))
(check "tcp protocol" (get-protocol-by-name "tcp"))
