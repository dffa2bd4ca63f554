//! Symbols: cells, property lists, GENSYM, and the runtime side of
//! DEFVAR / DEFCONSTANT / DEFINE-SYMBOL-MACRO / DEFTYPE / documentation.

use super::{opt, opt_nil, string_designator, symbol};
use crate::conditions as cond;
use crate::gc::Gc;
use crate::symbol::{self as sy, sym_value, Symbol};
use crate::value::Value;
use crate::world::{intern_exported, w};

fn doc_kind(v: &Value) -> String {
    match v {
        Value::Symbol(s) => s.name().to_string(),
        _ => "FUNCTION".into(),
    }
}

/// Set a documentation string.
pub fn set_documentation(s: &Gc<Symbol>, kind: &str, doc: Option<String>) {
    let mut e = s.extra_mut();
    e.docs.retain(|(k, _)| k != kind);
    if let Some(d) = doc {
        e.docs.push((kind.to_string(), d));
    }
}

/// A documentation string of a symbol.
pub fn documentation_of(s: &Gc<Symbol>, kind: &str) -> Option<String> {
    if let Some(e) = s.extra() {
        if let Some((_, d)) = e.docs.iter().find(|(k, _)| k == kind) {
            return Some(d.clone());
        }
    }
    if kind == "FUNCTION" {
        if let Value::Function(f) = s.function() {
            return f.doc();
        }
    }
    None
}

crate::defbuiltins! {
    /// The symbol's name.
    fn SYMBOL_NAME "SYMBOL-NAME" "(symbol)" (ctx, a) {
        Ok(super::str_value(symbol(ctx, &a[0])?.name()))
    }
    /// The symbol's home package, or NIL.
    fn SYMBOL_PACKAGE "SYMBOL-PACKAGE" "(symbol)" (ctx, a) {
        Ok(match symbol(ctx, &a[0])?.package() { Some(p) => Value::Package(p), None => Value::Nil })
    }
    /// The symbol's current dynamic value.
    fn SYMBOL_VALUE "SYMBOL-VALUE" "(symbol)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        match s.value() {
            Value::Unbound => Err(cond::unbound_variable(ctx, &s)),
            v => Ok(v),
        }
    }
    /// Set the symbol's current dynamic value.
    fn SET "SET" "(symbol value)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        if s.is_constant() {
            return Err(cond::program_error(ctx, format!("{} is a constant and thus can't be set", s.name())));
        }
        s.set_value(a[1].clone());
        Ok(a[1].clone())
    }
    /// Store NEW-VALUE as the symbol's value.
    fn SETF_SYMBOL_VALUE "NETLISP-SYSTEM:SETF-SYMBOL-VALUE" "(new-value symbol)" (ctx, a) {
        let s = symbol(ctx, &a[1])?;
        if s.is_constant() {
            return Err(cond::program_error(ctx, format!("{} is a constant and thus can't be set", s.name())));
        }
        s.set_value(a[0].clone());
        Ok(a[0].clone())
    }
    /// The symbol's global function (or macro expander).
    fn SYMBOL_FUNCTION "SYMBOL-FUNCTION" "(symbol)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        match s.function() {
            Value::Unbound => Err(cond::undefined_function(ctx, a[0].clone())),
            f => Ok(f),
        }
    }
    /// Store NEW-VALUE as the symbol's global function.
    fn SETF_SYMBOL_FUNCTION "NETLISP-SYSTEM:SETF-SYMBOL-FUNCTION" "(new-value symbol)" (ctx, a) {
        super::control::set_fdefinition(ctx, &a[1], a[0].clone())?;
        Ok(a[0].clone())
    }
    /// The symbol's property list.
    fn SYMBOL_PLIST "SYMBOL-PLIST" "(symbol)" (ctx, a) { Ok(symbol(ctx, &a[0])?.plist()) }
    /// Store NEW-VALUE as the symbol's property list.
    fn SETF_SYMBOL_PLIST "NETLISP-SYSTEM:SETF-SYMBOL-PLIST" "(new-value symbol)" (ctx, a) {
        symbol(ctx, &a[1])?.set_plist(a[0].clone());
        Ok(a[0].clone())
    }
    /// The value of INDICATOR on the symbol's property list, or DEFAULT.
    fn GET "GET" "(symbol indicator &optional default)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        Ok(super::lists::getf(&s.plist(), &a[1]).unwrap_or_else(|| opt_nil(a, 2)))
    }
    /// Store a property on the symbol's property list.
    fn SETF_GET "NETLISP-SYSTEM:SETF-GET" "(new-value symbol indicator &optional default)" (ctx, a) {
        let s = symbol(ctx, &a[1])?;
        let mut cur = s.plist();
        while let Value::Cons(c) = &cur {
            let rest = c.cdr();
            if c.car().eq(&a[2]) {
                if let Value::Cons(r) = &rest { r.set_car(a[0].clone()); }
                return Ok(a[0].clone());
            }
            cur = rest.rest();
        }
        s.set_plist(Value::cons(a[2].clone(), Value::cons(a[0].clone(), s.plist())));
        Ok(a[0].clone())
    }
    /// Remove INDICATOR from the symbol's property list.
    fn REMPROP "REMPROP" "(symbol indicator)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        let plist = s.plist();
        let mut prev: Option<Gc<crate::value::Cons>> = None;
        let mut cur = plist.clone();
        while let Value::Cons(c) = &cur {
            let rest = c.cdr();
            let after = rest.rest();
            if c.car().eq(&a[1]) {
                match &prev { Some(p) => p.set_cdr(after), None => s.set_plist(after) }
                return Ok(Value::t());
            }
            prev = rest.as_cons().cloned();
            cur = after;
        }
        Ok(Value::Nil)
    }
    /// Whether the symbol has a value.
    fn BOUNDP "BOUNDP" "(symbol)" (ctx, a) { Ok(Value::bool(a[0].is_nil() || symbol(ctx, &a[0])?.is_bound())) }
    /// Make the symbol unbound.
    fn MAKUNBOUND "MAKUNBOUND" "(symbol)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        if s.is_constant() {
            return Err(cond::program_error(ctx, format!("{} is a constant", s.name())));
        }
        s.set_value(Value::Unbound);
        Ok(a[0].clone())
    }
    /// Whether OBJECT is a symbol.
    fn SYMBOLP "SYMBOLP" "(object)" (ctx, a) { Ok(Value::bool(a[0].is_symbol())) }
    /// Whether OBJECT is a keyword.
    fn KEYWORDP "KEYWORDP" "(object)" (ctx, a) {
        Ok(Value::bool(matches!(&a[0], Value::Symbol(s) if s.home_is(&w().keyword))))
    }
    /// A new uninterned symbol named NAME.
    fn MAKE_SYMBOL "MAKE-SYMBOL" "(name)" (ctx, a) {
        let name = super::string_text(ctx, &a[0])?;
        Ok(Value::Symbol(Gc::new(Symbol::new(name.into()))))
    }
    /// A fresh uninterned symbol (G followed by *GENSYM-COUNTER*, or a given prefix).
    fn GENSYM "GENSYM" "(&optional x)" (ctx, a) {
        let ctr = w().s.gensym_counter.clone();
        let n = match ctr.value() { Value::Fixnum(n) => n, _ => 0 };
        let (prefix, num) = match opt(a, 0) {
            Some(Value::Fixnum(k)) => ("G".to_string(), *k),
            Some(v) => {
                let p = super::string_text(ctx, v)?;
                ctr.set_value(Value::int(n + 1));
                (p, n)
            }
            None => {
                ctr.set_value(Value::int(n + 1));
                ("G".to_string(), n)
            }
        };
        Ok(Value::Symbol(Gc::new(Symbol::new(format!("{}{}", prefix, num).into()))))
    }
    /// Intern a fresh symbol named PREFIX followed by a counter in PACKAGE.
    fn GENTEMP "GENTEMP" "(&optional (prefix \"T\") package)" (ctx, a) {
        let prefix = match opt(a, 0) { Some(v) => super::string_text(ctx, v)?, None => "T".into() };
        let pkg = match opt(a, 1) { Some(p) => super::package(ctx, p)?, None => crate::reader::current_package() };
        let ctr = intern_exported("*GENTEMP-COUNTER*", &w().sys);
        let mut n = match ctr.value() { Value::Fixnum(n) => n, _ => 0 };
        loop {
            n += 1;
            let name = format!("{}{}", prefix, n);
            if pkg.find(&name).is_none() {
                ctr.set_value(Value::Fixnum(n));
                return Ok(sym_value(&crate::world::intern(&name, &pkg).0));
            }
        }
    }
    /// A copy of SYMBOL (with its cells if COPY-PROPERTIES).
    fn COPY_SYMBOL "COPY-SYMBOL" "(symbol &optional copy-properties)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        let n = Gc::new(Symbol::new(s.name_rc()));
        if super::flag(a, 1) {
            n.set_value(s.value());
            if !matches!(s.function(), Value::Unbound) { n.set_function(s.function()); }
            n.set_plist(super::list_items(ctx, &s.plist()).map(crate::value::list_from)?);
        }
        Ok(Value::Symbol(n))
    }
    /// Whether the symbol names a constant variable.
    fn CONSTANTP "CONSTANTP" "(form &optional env)" (ctx, a) {
        Ok(Value::bool(match &a[0] {
            Value::Symbol(s) => s.is_constant(),
            Value::Cons(_) => a[0].first().eq(&Value::Symbol(w().s.quote.clone())),
            _ => true,
        }))
    }

    /// Mark NAME as a special variable (DEFVAR / DEFPARAMETER).
    fn DECLARE_SPECIAL "NETLISP-SYSTEM:%DECLARE-SPECIAL" "(name)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        s.set_flag(sy::SPECIAL);
        Ok(a[0].clone())
    }
    /// Define a constant (DEFCONSTANT).
    fn DEFCONSTANT_FN "NETLISP-SYSTEM:%DEFCONSTANT" "(name value)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        if s.is_constant() && s.is_bound() && !s.value().eql(&a[1]) && !s.value().equal(&a[1]) {
            return Err(cond::simple_error(ctx, format!(
                "The constant {} is being redefined (from {} to {})",
                s.name(),
                crate::printer::prin1_string(&s.value()),
                crate::printer::prin1_string(&a[1])
            )));
        }
        if !(s.is_constant() && s.is_bound()) {
            s.set_value(a[1].clone());
        }
        s.set_flag(sy::CONSTANT);
        Ok(a[0].clone())
    }
    /// Define a global symbol macro.
    fn DEFINE_SYMBOL_MACRO_FN "NETLISP-SYSTEM:%DEFINE-SYMBOL-MACRO" "(name expansion)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        if s.is_special() {
            return Err(cond::program_error(ctx, format!("{} is a special variable and cannot be a symbol macro", s.name())));
        }
        s.extra_mut().symbol_macro = a[1].clone();
        s.set_flag(sy::SYMBOL_MACRO);
        Ok(a[0].clone())
    }
    /// Define a type expander (DEFTYPE).
    fn DEFTYPE_FN "NETLISP-SYSTEM:%DEFTYPE" "(name expander)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        s.extra_mut().type_expander = a[1].clone();
        Ok(a[0].clone())
    }
    /// Record a documentation string.
    fn SET_DOCUMENTATION "NETLISP-SYSTEM:%SET-DOCUMENTATION" "(name kind doc)" (ctx, a) {
        let name = match &a[0] { Value::Cons(_) => a[0].second(), v => v.clone() };
        let s = symbol(ctx, &name)?;
        let doc = crate::array::string_of(&a[2]);
        set_documentation(&s, &doc_kind(&a[1]), doc);
        Ok(a[2].clone())
    }
    /// The documentation string of X of kind DOC-TYPE (FUNCTION, VARIABLE, TYPE, ...).
    fn DOCUMENTATION "DOCUMENTATION" "(x doc-type)" (ctx, a) {
        let kind = doc_kind(&a[1]);
        let doc = match &a[0] {
            Value::Function(f) => f.doc(),
            Value::Cons(_) => crate::world::symbol_of(&a[0].second()).and_then(|s| documentation_of(&s, "SETF")),
            Value::Class(c) => c.doc.borrow().clone(),
            Value::Package(p) => p.doc.borrow().clone(),
            other => {
                let s = symbol(ctx, other)?;
                let d = documentation_of(&s, &kind);
                if d.is_none() && matches!(kind.as_str(), "TYPE" | "STRUCTURE") {
                    crate::clos::find_class(other).and_then(|c| c.doc.borrow().clone())
                } else {
                    d
                }
            }
        };
        Ok(match doc { Some(d) => super::str_value(&d), None => Value::Nil })
    }
    /// Set a documentation string.
    fn SETF_DOCUMENTATION "NETLISP-SYSTEM:SETF-DOCUMENTATION" "(new-value x doc-type)" (ctx, a) {
        let kind = doc_kind(&a[2]);
        match &a[1] {
            Value::Class(c) => *c.doc.borrow_mut() = crate::array::string_of(&a[0]),
            Value::Package(p) => *p.doc.borrow_mut() = crate::array::string_of(&a[0]),
            other => {
                let s = symbol(ctx, other)?;
                set_documentation(&s, &kind, crate::array::string_of(&a[0]));
            }
        }
        Ok(a[0].clone())
    }
    /// Symbols whose names contain STRING (in PACKAGE, or all packages).
    fn APROPOS_LIST "APROPOS-LIST" "(string &optional package external-only)" (ctx, a) {
        let needle = string_designator(ctx, &a[0])?.to_uppercase();
        let pkgs = match opt(a, 1) {
            Some(Value::Nil) | None => w().all_packages(),
            Some(p) => vec![super::package(ctx, p)?],
        };
        let mut out: Vec<Gc<Symbol>> = Vec::new();
        for p in pkgs {
            for (s, _) in p.present_symbols() {
                if s.name().to_uppercase().contains(&needle) && !out.iter().any(|x| Gc::ptr_eq(x, &s)) {
                    out.push(s);
                }
            }
        }
        out.sort_by(|x, y| x.name().cmp(y.name()));
        Ok(crate::value::list_from(out.iter().map(sym_value)))
    }
    /// Print the symbols whose names contain STRING.
    fn APROPOS "APROPOS" "(string &optional package external-only)" (ctx, a) {
        let list = APROPOS_LIST.f;
        let syms = list(ctx, a)?;
        let out = super::out_stream(ctx, &[], 0)?;
        for s in syms.iter() {
            let mut line = crate::printer::prin1_string(&s);
            if let Some(sym) = crate::world::symbol_of(&s) {
                if sym.is_macro() { line.push_str(" (macro)"); }
                else if sym.is_fbound() { line.push_str(" (fbound)"); }
                if sym.is_bound() { line.push_str(" (bound)"); }
            }
            line.push('\n');
            crate::stream::write_str(ctx, &out, &line)?;
        }
        Ok(crate::value::Value::Nil)
    }
}

/// SETF functions defined here.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    vec![
        ("SYMBOL-VALUE", &SETF_SYMBOL_VALUE),
        ("SYMBOL-FUNCTION", &SETF_SYMBOL_FUNCTION),
        ("SYMBOL-PLIST", &SETF_SYMBOL_PLIST),
        ("GET", &SETF_GET),
        ("DOCUMENTATION", &SETF_DOCUMENTATION),
        ("FDEFINITION", &super::control::SETF_FDEFINITION),
    ]
}
