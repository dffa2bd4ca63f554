;;; An error in one process ends that process only: it is reported on
;;; *error-output* with the process name, and the others keep running.
(defvar *ticks* 0)
(defvar *ticker*
  (mp:process-run-function "ticker" '()
    (lambda () (loop repeat 30 do (incf *ticks*) (sleep 0.005)))))
(defvar *crasher*
  (mp:process-run-function "crasher" '()
    (lambda () (sleep 0.02) (error "crasher gives up after ~D ticks" 3))))
(defvar *divider*
  (mp:process-run-function "divider" '() (lambda (x) (/ 1 x)) 0))
(mp:process-join *crasher* :timeout 5)
(mp:process-join *divider* :timeout 5)
(format t "crasher alive: ~A, divider alive: ~A~%"
        (mp:process-alive-p *crasher*) (mp:process-alive-p *divider*))
(mp:process-join *ticker* :timeout 5)
(format t "ticker finished all its ticks: ~A~%" (= *ticks* 30))
;; A handler inside the process sees the error first, as usual.
(defvar *caught* (mp:make-mailbox))
(mp:process-run-function "careful" '()
  (lambda () (handler-case (car 5)
               (type-error (e) (mp:mailbox-send *caught* (type-error-datum e))))))
(format t "careful caught datum: ~S~%" (mp:mailbox-read *caught* "" 5))
(format t "main still here~%")
