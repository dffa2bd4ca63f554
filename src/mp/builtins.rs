//! The MP and BT packages (LispWorks processes, bordeaux-threads).

crate::defbuiltins! {}
