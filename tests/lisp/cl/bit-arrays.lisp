;;;; Bit arrays (issue 13, gap 3): the eleven bit-wise functions on
;;;; vectors, multi-dimensional and zero-dimensional arrays, with OPT-ARG
;;;; NIL, T and a third array, and the errors for other arrays (a crash
;;;; the eval fuzz target found: BIT-NOT of an octet vector).
(load (merge-pathnames "../harness.lisp" *load-truename*))

(defparameter *a* #*1100)
(defparameter *b* #*1010)

(section "each function on bit vectors")
(is (bit-and *a* *b*))
(is (bit-ior *a* *b*))
(is (bit-xor *a* *b*))
(is (bit-eqv *a* *b*))
(is (bit-nand *a* *b*))
(is (bit-nor *a* *b*))
(is (bit-andc1 *a* *b*))
(is (bit-andc2 *a* *b*))
(is (bit-orc1 *a* *b*))
(is (bit-orc2 *a* *b*))
(is (bit-not *a*))
(is (list *a* *b*))

(section "opt-arg: T stores into the first array, an array into that one")
(is (let ((x (copy-seq #*1100))) (list (eq x (bit-and x #*0110 t)) x)))
(is (let ((x (copy-seq #*1100)) (r (make-array 4 :element-type 'bit)))
      (list (eq r (bit-xor x #*0110 r)) r x)))
(is (let ((x (copy-seq #*10))) (list (eq x (bit-not x t)) x)))
(is (let ((r (make-array 2 :element-type 'bit))) (list (eq r (bit-not #*10 r)) r)))

(section "multi-dimensional and zero-dimensional bit arrays")
(defparameter *m1* (make-array '(2 3) :element-type 'bit :initial-contents '((1 0 1) (0 1 1))))
(defparameter *m2* (make-array '(2 3) :element-type 'bit :initial-contents '((1 1 0) (0 0 1))))
(is (bit-and *m1* *m2*))
(is (bit-ior *m1* *m2*))
(is (array-dimensions (bit-nor *m1* *m2*)))
(is (bit-not *m1*))
(is (aref (bit-xor *m1* *m2*) 1 2))
(is (bit-not (make-array '() :element-type 'bit :initial-element 1)))
(is (aref (bit-ior (make-array '() :element-type 'bit :initial-element 0)
                   (make-array '() :element-type 'bit :initial-element 1))))
(is (bit (bit-eqv *m1* *m2*) 0 1))

(section "errors")
(is (bit-not (make-array 2 :element-type '(unsigned-byte 8) :initial-element 9)))
(is (bit-and #*10 #(1 0)))
(is (bit-and #*10 #*101))
(is (bit-not 5))
(is (bit-and *m1* #*101010))
