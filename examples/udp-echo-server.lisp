;;; A UDP echo server in the LispWorks-UDP style: START-UDP-SERVER calls
;;; the function with each datagram's octets and sends its result back to
;;; the sender (COMM+:*CLIENT-ADDRESS* and *CLIENT-PORT* say who that is).
;;;
;;;   netlisp examples/udp-echo-server.lisp [PORT]      (default 10245; 0 = any)
;;;   netlisp examples/udp-echo-client.lisp localhost 10245 hello world
(require "comm+")

(let ((port (if netlisp:*args* (parse-integer (first netlisp:*args*)) 10245)))
  (comm+:start-udp-server
   :function #'identity                 ; the reply is the datagram itself
   :service port
   :announce (lambda (socket condition)
               (declare (ignore condition))
               (format t "udp echo server listening on port ~D~%"
                       (nth-value 1 (comm:get-socket-address socket)))
               (force-output))))
