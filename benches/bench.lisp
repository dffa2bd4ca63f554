;;;; Interpreter micro-benchmarks, the same program for every Common Lisp.
;;;; Usage: IMPL bench.lisp NAME   (NAME: nop fib25 fib30 tak list hash str)
;;;; Prints the in-process time of the benchmark in milliseconds on stdout.

(defun bench-arg ()
  (car (last #+sbcl sb-ext:*posix-argv*
             #+clisp ext:*args*
             #+netlisp netlisp:*args*)))

(defun now-us ()
  #+sbcl (multiple-value-bind (s us) (sb-ext:get-time-of-day) (+ (* s 1000000) us))
  #-sbcl (round (* (get-internal-real-time) 1000000) internal-time-units-per-second))

(defun fib (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))

(defun tak (x y z)
  (if (not (< y x)) z (tak (tak (1- x) y z) (tak (1- y) z x) (tak (1- z) x y))))

(defun build-and-sum (n)
  (let ((l nil))
    (dotimes (i n) (push i l))
    (let ((s 0)) (dolist (x l) (incf s x)) s)))

(defun hash-fill-and-read (n)
  (let ((h (make-hash-table)))
    (dotimes (i n) (setf (gethash i h) i))
    (let ((s 0)) (dotimes (i n) (incf s (gethash i h))) s)))

(defun format-into-string (n)
  (length (with-output-to-string (out)
            (dotimes (i n) (format out "item~D," i)))))

(let* ((name (bench-arg))
       (start (now-us))
       (result (cond ((string= name "nop") 0)
                     ((string= name "fib25") (fib 25))
                     ((string= name "fib30") (fib 30))
                     ((string= name "tak") (dotimes (i 10) (tak 18 12 6)))
                     ((string= name "list") (build-and-sum 1000000))
                     ((string= name "hash") (hash-fill-and-read 1000000))
                     ((string= name "str") (format-into-string 100000))
                     (t (error "unknown benchmark ~a" name))))
       (ms (/ (- (now-us) start) 1000.0)))
  (declare (ignorable result))
  (format t "~,3f~%" ms))
