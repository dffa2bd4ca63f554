//! REQUIRE and PROVIDE, bundled Lisp modules (compatibility layers written
//! in Lisp under `lisp/`), and loading them on demand when code mentions
//! one of their packages.

use crate::ctx::{Ctx, R};
use crate::value::Value;
use crate::world::w;
use std::cell::RefCell;

/// A Lisp module shipped inside the binary.
pub struct Module {
    /// Module names REQUIRE accepts (upper case).
    pub names: &'static [&'static str],
    /// Packages the module defines (for autoloading on first mention).
    pub packages: &'static [&'static str],
    /// The Lisp source.
    pub source: &'static str,
    /// File name shown in error locations.
    pub file: &'static str,
}

/// The bundled modules.
pub static MODULES: &[Module] = &[
    Module {
        names: &["BORDEAUX-THREADS", "BT", "BORDEAUX-THREADS-2", "BT2"],
        packages: &["BORDEAUX-THREADS", "BT", "BORDEAUX-THREADS-2", "BT2"],
        source: include_str!("../lisp/bordeaux-threads.lisp"),
        file: "lisp/bordeaux-threads.lisp",
    },
    Module {
        names: &["ASDF", "QUICKLISP", "QUICKLISP-CLIENT", "QL"],
        packages: &["ASDF", "ASDF/INTERFACE", "QUICKLISP-CLIENT", "QL"],
        source: include_str!("../lisp/asdf.lisp"),
        file: "lisp/asdf.lisp",
    },
    Module {
        names: &["USOCKET", "USOCKET-SERVER", "CL-USOCKET"],
        packages: &["USOCKET"],
        source: include_str!("../lisp/usocket.lisp"),
        file: "lisp/usocket.lisp",
    },
    Module {
        names: &["PORT", "PORT-NET", "CLOCC-PORT"],
        packages: &["PORT", "ORG.CONS.CLOCC/SDS/PORT"],
        source: include_str!("../lisp/port.lisp"),
        file: "lisp/port.lisp",
    },
    Module {
        names: &["SB-BSD-SOCKETS"],
        packages: &["SB-BSD-SOCKETS"],
        source: include_str!("../lisp/sb-bsd-sockets.lisp"),
        file: "lisp/sb-bsd-sockets.lisp",
    },
];

/// Modules that need nothing: their functionality is built in.
const BUILT_IN: &[&str] = &[
    "UIOP",
    "SB-POSIX",
    "SB-INTROSPECT",
    "SB-CLTL2",
    "NETLISP",
    "COMM+",
    "LISPWORKS-UDP",
];

thread_local! {
    static LOADED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn is_loaded(name: &str) -> bool {
    LOADED.with(|l| l.borrow().iter().any(|x| x == name))
}

/// Record a module as provided (also in *MODULES*).
pub fn provide(name: &str) {
    let up = name.to_uppercase();
    if is_loaded(&up) {
        return;
    }
    LOADED.with(|l| l.borrow_mut().push(up.clone()));
    let s = &w().s.modules;
    let cur = match s.value() {
        Value::Unbound => Value::Nil,
        v => v,
    };
    s.set_value(Value::cons(crate::array::Array::string(&up), cur));
}

fn load_module(ctx: &mut Ctx, m: &Module) -> R<()> {
    for n in m.names {
        provide(n);
    }
    crate::load::load_source(ctx, m.source, m.file, false)?;
    Ok(())
}

/// REQUIRE: load a bundled module once; accept built-in names silently.
pub fn require(ctx: &mut Ctx, name: &str) -> R<()> {
    let up = name.to_uppercase();
    if is_loaded(&up) {
        return Ok(());
    }
    if let Some(m) = MODULES.iter().find(|m| m.names.contains(&up.as_str())) {
        return load_module(ctx, m);
    }
    if BUILT_IN.contains(&up.as_str()) {
        provide(&up);
        return Ok(());
    }
    Err(crate::conditions::simple_error(
        ctx,
        format!("Don't know how to REQUIRE {}.", up),
    ))
}

/// Load the bundled module defining package `name`, if there is one.
pub fn autoload_package(ctx: &mut Ctx, name: &str) -> R<()> {
    let up = name.to_uppercase();
    if let Some(m) = MODULES.iter().find(|m| m.packages.contains(&up.as_str())) {
        if !m.names.iter().any(|n| is_loaded(n)) {
            return load_module(ctx, m);
        }
    }
    Ok(())
}

/// The names of the bundled modules (the first name of each), lower case.
pub fn bundled_names() -> Vec<String> {
    MODULES.iter().map(|m| m.names[0].to_lowercase()).collect()
}
