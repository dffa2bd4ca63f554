;;;; Run bench.lisp under SBCL's interpreter (sb-eval) instead of its compiler.
(setf sb-ext:*evaluator-mode* :interpret)
(load (merge-pathnames "bench.lisp" *load-truename*))
