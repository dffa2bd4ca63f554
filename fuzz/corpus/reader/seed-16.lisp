;;;; TRACE and UNTRACE: the call and value lines on *TRACE-OUTPUT* (stdout
;;;; here, as in SBCL), nesting, values, non-local exits, untracing.
(load (merge-pathnames "../harness.lisp" *load-truename*))

(defun fact (n) (if (< n 2) 1 (* n (fact (1- n)))))
(defun two (x) (values x (list x "two")))
(defun greet (name &key (greeting "hello")) (format nil "~a, ~a" greeting name))
(defun thrower (x) (throw 'out x))
(defun none () (values))

(section "trace")
(is (trace fact two greet thrower none))
(is (fact 3))
(is (two 'a))
(is (greet "you" :greeting "hi"))
(is (catch 'out (thrower 7)))
(is (multiple-value-list (none)))
(is (mapcar #'fact '(1 2)))
(is (funcall 'two 1))
(is (sort (copy-list (trace)) #'string<))

(section "untrace")
(is (progn (untrace fact) (fact 2)))
(is (sort (copy-list (trace)) #'string<))
(is (progn (untrace) (trace)))
(is (two 5))
(is (progn (trace fact) (defun fact (n) (* n 10)) (fact 2)))
(untrace)

(done)
