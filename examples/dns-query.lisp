;;; Ask a DNS server for the IPv4 addresses of a name, over UDP: build the
;;; query packet in an octet vector, send it, and take the answer apart
;;; (RFC 1035). Point it at the fake server in dns-server.lisp.
;;;
;;;   netlisp examples/dns-query.lisp SERVER PORT NAME
(require "comm+")

(defun query-packet (id name)
  (let ((out (make-array 0 :element-type '(unsigned-byte 8) :adjustable t :fill-pointer 0)))
    (flet ((put16 (n) (vector-push-extend (ldb (byte 8 8) n) out)
             (vector-push-extend (ldb (byte 8 0) n) out)))
      (put16 id) (put16 #x0100)                 ; recursion desired
      (put16 1) (put16 0) (put16 0) (put16 0)   ; one question
      (let ((start 0))
        (loop for dot = (position #\. name :start start)
              for label = (subseq name start dot)
              do (vector-push-extend (length label) out)
                 (loop for c across label do (vector-push-extend (char-code c) out))
                 (if dot (setf start (1+ dot)) (return))))
      (vector-push-extend 0 out)
      (put16 1) (put16 1))                      ; type A, class IN
    out))

(defun u16 (p i) (logior (ash (aref p i) 8) (aref p (1+ i))))

(defun skip-name (p i)
  "The index after the (possibly compressed) name at I."
  (loop for len = (aref p i)
        do (cond ((zerop len) (return (1+ i)))
                 ((>= len #xC0) (return (+ i 2)))
                 (t (incf i (1+ len))))))

(defun addresses (p id)
  "The A records of response P, or the keyword naming what went wrong."
  (cond ((/= (u16 p 0) id) :wrong-id)
        ((/= (logand (u16 p 2) 15) 0) (if (= (logand (u16 p 2) 15) 3) :no-such-name :server-failure))
        (t (let ((i (skip-name p 12)))
             (incf i 4)                         ; past the question's type and class
             (loop repeat (u16 p 6)
                   for start = (skip-name p i)
                   for type = (u16 p start)
                   for len = (u16 p (+ start 8))
                   when (and (= type 1) (= len 4))
                     collect (format nil "~{~D~^.~}" (coerce (subseq p (+ start 10) (+ start 14)) 'list))
                   do (setf i (+ start 10 len)))))))

(destructuring-bind (server port name) netlisp:*args*
  (let ((id (random 65536 (make-random-state t))))
    (comm+:with-connected-udp-socket (s server (parse-integer port) :errorp t :read-timeout 2)
      (comm+:send-message s (query-packet id name))
      (multiple-value-bind (reply length) (comm+:receive-message s)
        (let ((result (if reply (addresses (subseq reply 0 length) id) :timeout)))
          (if (listp result)
              (dolist (a result) (format t "~A has address ~A~%" name a))
              (format t "~A: ~(~A~)~%" name result)))))))
