;;;; Calls that used to crash netlisp (issue 13): each must be an error of
;;;; the standard class SBCL signals, or SBCL's result. Structure functions
;;;; are called through FUNCALL so SBCL's compiler does not reject them.
(load (merge-pathnames "../harness.lisp" *load-truename*))

(defstruct pt x)
(defstruct (lpt (:type list)) a b)

(section "structure functions with the wrong arguments")
(is (funcall 'pt-x))
(is (funcall 'pt-x (make-pt) 2))
(is (funcall 'pt-x 5))
(is (funcall 'pt-p))
(is (funcall 'pt-p 1 2))
(is (funcall 'copy-pt))
(is (funcall 'copy-pt 5))
(is (funcall #'(setf pt-x) 1))
(is (funcall #'(setf pt-x) 1 (make-pt) 3))
(is (funcall 'lpt-a))
(is (funcall 'lpt-b (list 1 2)))
(is (pt-x (make-pt :x 3)))

(section "format parameters out of range")
(is (format nil "~-5D" 3))
(is (format nil "~5,-3A|" 3))
(is (format nil "~v,3D" -2 7))
(is (format nil "~-3%x"))
(is (format nil "~0%x"))
(is (funcall (formatter "~A")))
(is (with-output-to-string (s) (funcall (formatter "~A") s 1)))

(section "circular lists and non-generic functions")
(is (let ((x (list 1 2))) (eq (nconc x x) (cddr x))))
(is (find-method #'print-object '() (list (find-class 'fixnum) (find-class 't)) nil))

(section "pprint-pop ends the block after a dotted tail or *print-length*")
(is (with-output-to-string (s) (pprint-logical-block (s '(1 2 . 3)) (loop repeat 5 do (write (pprint-pop) :stream s)))))
(is (let ((*print-length* 2)) (with-output-to-string (s) (pprint-logical-block (s '(1 2 3 4)) (loop (pprint-exit-if-list-exhausted) (write (pprint-pop) :stream s))))))
(is (with-output-to-string (s) (pprint-logical-block (s '(a b)) (write (list (pprint-pop) (pprint-pop) (pprint-pop)) :stream s))))
(is (let ((*print-circle* t) (x (list 1 2))) (setf (cddr x) x) (with-output-to-string (s) (pprint-fill s x))))
(is (with-output-to-string (s) (pprint-fill s '(1 2 . 3))))

(section "sizes from arguments found by the fuzz targets")
(is (handler-case (format nil "~vR" 0 3) (error () :error)))
(is (format nil "~vR" 2 5))
(is (digit-char-p #\1 40))
(is (digit-char 1 99))
(is (parse-integer "12" :radix 1))
(is (with-output-to-string (s) (pprint-tab :line 5 1 s) (princ "x" s)))
