;;;; ASDF and Quicklisp entry points for the systems netlisp bundles.
;;;;
;;;; netlisp has no ASDF or Quicklisp: the libraries scripts load that way
;;;; (usocket, bordeaux-threads, ...) are built in, so LOAD-SYSTEM,
;;;; QUICKLOAD and friends load the bundled module of that name, and name
;;;; the bundled ones when asked for a system netlisp does not have.

(defpackage "ASDF"
  (:use "COMMON-LISP")
  (:nicknames "ASDF/INTERFACE")
  (:export "LOAD-SYSTEM" "REQUIRE-SYSTEM" "OPERATE" "OOS" "MAKE" "LOAD-OP"
           "COMPILE-OP" "TEST-OP" "FIND-SYSTEM" "COMPONENT-VERSION" "*CENTRAL-REGISTRY*"))

(defpackage "QUICKLISP-CLIENT"
  (:use "COMMON-LISP")
  (:nicknames "QL")
  (:export "QUICKLOAD" "REGISTER-LOCAL-PROJECTS" "*LOCAL-PROJECT-DIRECTORIES*"))

(in-package "ASDF")

(defvar *central-registry* '())

(defun system-module-name (system)
  (string-upcase (if (symbolp system) (symbol-name system) (string system))))

(defun load-system (system &rest keys)
  "Load the bundled system SYSTEM (a symbol or string); T."
  (declare (ignore keys))
  (let ((name (system-module-name system)))
    (handler-case (require name)
      (error ()
        (error "netlisp bundles no system named ~S (bundled: ~{~A~^, ~})."
               (string-downcase name) (netlisp-system::%bundled-modules))))
    t))

(defun require-system (system &rest keys) (apply #'load-system system keys))
(defun make (system &rest keys) (apply #'load-system system keys))

(defun operate (operation system &rest keys)
  (declare (ignore operation))
  (apply #'load-system system keys))

(defun oos (operation system &rest keys) (apply #'operate operation system keys))

(defun find-system (system &optional (error-p t))
  (let ((name (system-module-name system)))
    (cond ((member name (netlisp-system::%bundled-modules) :test #'string-equal) name)
          (error-p (error "netlisp bundles no system named ~S." (string-downcase name)))
          (t nil))))

(defun component-version (system)
  (declare (ignore system))
  nil)

(in-package "QUICKLISP-CLIENT")

(defvar *local-project-directories* '())
(defun register-local-projects () nil)

(defun quickload (systems &key verbose silent prompt explain)
  "Load each of SYSTEMS (one or a list) from the bundled ones; the list."
  (declare (ignore verbose silent prompt explain))
  (let ((list (if (listp systems) systems (list systems))))
    (dolist (s list list) (asdf:load-system s))))
