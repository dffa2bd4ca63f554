;;; A fake DNS server for tests: answers A queries for the names in
;;; *ZONE* over UDP, NXDOMAIN for the others, and ignores what is not a
;;; query. The packet is taken apart and built with octet vectors (RFC 1035).
;;;
;;;   netlisp examples/dns-server.lisp [PORT]       (default 10053; 0 = any)
;;;   netlisp examples/dns-query.lisp 127.0.0.1 10053 www.example.test
;;;   dig @127.0.0.1 -p 10053 www.example.test
(require "comm+")

(defparameter *zone*
  '(("www.example.test" 192 0 2 10)
    ("mail.example.test" 192 0 2 25)
    ("localhost.test" 127 0 0 1)))

(defun u16 (octets i) (logior (ash (aref octets i) 8) (aref octets (1+ i))))

(defun read-name (octets start)
  "The dotted name at START and the index after it (no compression in queries)."
  (let ((labels '()) (i start))
    (loop for len = (aref octets i)
          until (zerop len)
          do (when (> len 63) (error "compressed or bad label"))
             (push (map 'string #'code-char (subseq octets (1+ i) (+ i 1 len))) labels)
             (incf i (1+ len)))
    (values (format nil "~{~A~^.~}" (reverse labels)) (1+ i))))

(defun answer (query)
  "The response to QUERY, or NIL for a packet that is not a standard query."
  (when (< (length query) 12) (return-from answer nil))
  (let ((flags (u16 query 2)))
    (unless (and (zerop (logand flags #x8000)) (= (u16 query 4) 1))
      (return-from answer nil))
    (multiple-value-bind (name end) (read-name query 12)
      (let* ((qtype (u16 query end))
             (question (subseq query 12 (+ end 4)))
             (entry (assoc name *zone* :test #'string-equal))
             (found (and entry (member qtype '(1 255))))
             (out (make-array 0 :element-type '(unsigned-byte 8) :adjustable t :fill-pointer 0)))
        (flet ((put (&rest bytes) (dolist (b bytes) (vector-push-extend b out)))
               (put16 (n) (vector-push-extend (ldb (byte 8 8) n) out)
                 (vector-push-extend (ldb (byte 8 0) n) out)))
          (put16 (u16 query 0))                           ; the query's id
          (put16 (logior #x8400 (logand flags #x0100)     ; response, authoritative, RD echoed
                         (if entry 0 3)))                 ; NOERROR or NXDOMAIN
          (put16 1) (put16 (if found 1 0)) (put16 0) (put16 0)
          (loop for b across question do (put b))
          (when found
            (put #xC0 12)                                 ; the name: a pointer to the question
            (put16 1) (put16 1)                           ; type A, class IN
            (put 0 0 1 44)                                ; TTL 300 seconds
            (put16 4)
            (apply #'put (rest entry))))
        (coerce out '(simple-array (unsigned-byte 8) (*)))))))

(let ((port (if netlisp:*args* (parse-integer (first netlisp:*args*)) 10053)))
  (comm+:start-udp-server
   :function (lambda (query) (ignore-errors (answer query)))
   :address "127.0.0.1" :service port
   :announce (lambda (socket condition)
               (declare (ignore condition))
               (format t "dns server listening on port ~D~%"
                       (nth-value 1 (comm:get-socket-address socket)))
               (force-output))))
