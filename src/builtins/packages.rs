//! Packages: lookup and creation, interning, export/import/shadowing,
//! USE-PACKAGE and DEFPACKAGE.

use super::macros::{cl, l, quote, sys};
use super::{opt, package, string_designator, symbol};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::gc::Gc;
use crate::package::{Package, Status};
use crate::symbol::{sym_value, Symbol};
use crate::value::{list_from, Value};
use crate::world::{intern, keyword, w};
use std::rc::Rc;

fn status_value(s: Option<Status>) -> Value {
    match s {
        Some(Status::Internal) => keyword("INTERNAL"),
        Some(Status::External) => keyword("EXTERNAL"),
        Some(Status::Inherited) => keyword("INHERITED"),
        None => Value::Nil,
    }
}

fn pkg_arg(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Rc<Package>> {
    match opt(a, i) {
        Some(p) => package(ctx, p),
        None => Ok(crate::reader::current_package()),
    }
}

fn symbols_arg(ctx: &mut Ctx, v: &Value) -> R<Vec<Gc<Symbol>>> {
    let items = if v.is_list() {
        v.list_to_vec()
    } else {
        vec![v.clone()]
    };
    items.iter().map(|x| symbol(ctx, x)).collect()
}

fn names_arg(ctx: &mut Ctx, v: &Value) -> R<Vec<String>> {
    let items = if v.is_list() {
        v.list_to_vec()
    } else {
        vec![v.clone()]
    };
    items.iter().map(|x| string_designator(ctx, x)).collect()
}

/// Export symbols from a package, checking for conflicts in users.
pub fn export(ctx: &mut Ctx, p: &Rc<Package>, syms: &[Gc<Symbol>]) -> R<()> {
    for s in syms {
        match p.find(s.name()) {
            Some((found, st)) if Gc::ptr_eq(&found, s) => {
                if st == Status::Inherited {
                    p.add_internal(s.clone());
                }
                p.add_external(s.clone());
            }
            Some(_) | None => {
                if p.find(s.name()).is_none() {
                    // Not accessible: import it first (SBCL signals a correctable error).
                    p.add_internal(s.clone());
                    p.add_external(s.clone());
                } else {
                    return Err(cond::package_error(
                        ctx,
                        Value::Package(p.clone()),
                        format!(
                            "The symbol {} is not accessible in package {}.",
                            crate::printer::prin1_string(&sym_value(s)),
                            p.name()
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Import symbols into a package.
pub fn import(ctx: &mut Ctx, p: &Rc<Package>, syms: &[Gc<Symbol>]) -> R<()> {
    for s in syms {
        match p.find_present(s.name()) {
            Some((found, _)) if Gc::ptr_eq(&found, s) => {}
            Some(_) => {
                return Err(cond::package_error(
                    ctx,
                    Value::Package(p.clone()),
                    format!(
                        "Importing {} into {} would conflict with an existing symbol.",
                        s.name(),
                        p.name()
                    ),
                ))
            }
            None => {
                p.add_internal(s.clone());
                if s.package().is_none() {
                    s.set_package(Some(p.clone()));
                }
            }
        }
    }
    Ok(())
}

/// Make `p` use each package in `uses`.
pub fn use_packages(ctx: &mut Ctx, p: &Rc<Package>, uses: &[Rc<Package>]) -> R<()> {
    for u in uses {
        // Conflicts: an inherited external that differs from a present
        // symbol that is not shadowing.
        for s in u.external_symbols() {
            if let Some((found, _)) = p.find(s.name()) {
                if !Gc::ptr_eq(&found, &s)
                    && !p.shadowing_symbols().iter().any(|x| Gc::ptr_eq(x, &found))
                {
                    return Err(cond::package_error(
                        ctx,
                        Value::Package(p.clone()),
                        format!(
                            "Using package {} results in name conflicts for these symbols: {}",
                            u.name(),
                            s.name()
                        ),
                    ));
                }
            }
        }
        p.use_package(u);
    }
    Ok(())
}

/// Create a package.
pub fn make_package(
    ctx: &mut Ctx,
    name: &str,
    nicknames: Vec<String>,
    uses: Vec<Rc<Package>>,
) -> R<Rc<Package>> {
    if w().find_package(name).is_some() {
        return Err(cond::package_error(
            ctx,
            super::str_value(name),
            format!("A package named {} already exists", name),
        ));
    }
    let p = Rc::new(Package::new(name));
    p.set_nicknames(nicknames.into_iter().map(|n| n.into()).collect());
    w().register_package(p.clone());
    use_packages(ctx, &p, &uses)?;
    Ok(p)
}

crate::defbuiltins! {
    /// The package named NAME, or NIL.
    fn FIND_PACKAGE "FIND-PACKAGE" "(name)" (ctx, a) {
        if let Value::Package(p) = &a[0] { return Ok(Value::Package(p.clone())); }
        let name = string_designator(ctx, &a[0])?;
        Ok(match crate::reader::find_or_autoload_package(ctx, &name)? { Some(p) => Value::Package(p), None => Value::Nil })
    }
    /// The package named NAME, or an error.
    fn FIND_PACKAGE_OR_LOSE "NETLISP-SYSTEM:%FIND-PACKAGE-OR-LOSE" "(name)" (ctx, a) {
        Ok(Value::Package(package(ctx, &a[0])?))
    }
    /// Create a package.
    fn MAKE_PACKAGE "MAKE-PACKAGE" "(name &key nicknames use)" (ctx, a) {
        let name = string_designator(ctx, &a[0])?;
        let nicks = match opt(a, 1) { Some(v) => names_arg(ctx, v)?, None => vec![] };
        let uses = match opt(a, 2) {
            Some(v) => { let mut r = vec![]; for u in v.iter() { r.push(package(ctx, &u)?); } r }
            None => vec![w().cl.clone()],
        };
        Ok(Value::Package(make_package(ctx, &name, nicks, uses)?))
    }
    /// Delete a package.
    fn DELETE_PACKAGE "DELETE-PACKAGE" "(package)" (ctx, a) {
        let p = package(ctx, &a[0])?;
        for user in p.used_by() { user.unuse_package(&p); }
        w().unregister_package(&p);
        Ok(Value::t())
    }
    /// Rename a package.
    fn RENAME_PACKAGE "RENAME-PACKAGE" "(package new-name &optional new-nicknames)" (ctx, a) {
        let p = package(ctx, &a[0])?;
        let name = string_designator(ctx, &a[1])?;
        let nicks = match opt(a, 2) { Some(v) => names_arg(ctx, v)?, None => vec![] };
        w().unregister_package(&p);
        p.set_name(&name);
        p.set_nicknames(nicks.into_iter().map(|n| n.into()).collect());
        w().register_package(p.clone());
        Ok(Value::Package(p))
    }
    /// The package's name.
    fn PACKAGE_NAME "PACKAGE-NAME" "(package)" (ctx, a) { Ok(super::str_value(&package(ctx, &a[0])?.name())) }
    /// The package's nicknames.
    fn PACKAGE_NICKNAMES "PACKAGE-NICKNAMES" "(package)" (ctx, a) {
        Ok(list_from(package(ctx, &a[0])?.nicknames().iter().map(|n| super::str_value(n))))
    }
    /// The packages PACKAGE uses.
    fn PACKAGE_USE_LIST "PACKAGE-USE-LIST" "(package)" (ctx, a) {
        Ok(list_from(package(ctx, &a[0])?.uses().into_iter().map(Value::Package)))
    }
    /// The packages that use PACKAGE.
    fn PACKAGE_USED_BY_LIST "PACKAGE-USED-BY-LIST" "(package)" (ctx, a) {
        Ok(list_from(package(ctx, &a[0])?.used_by().into_iter().map(Value::Package)))
    }
    /// The package's shadowing symbols.
    fn PACKAGE_SHADOWING_SYMBOLS "PACKAGE-SHADOWING-SYMBOLS" "(package)" (ctx, a) {
        Ok(list_from(package(ctx, &a[0])?.shadowing_symbols().iter().map(sym_value)))
    }
    /// All packages.
    fn LIST_ALL_PACKAGES "LIST-ALL-PACKAGES" "()" (ctx, a) {
        Ok(list_from(w().all_packages().into_iter().map(Value::Package)))
    }
    /// Whether OBJECT is a package.
    fn PACKAGEP "PACKAGEP" "(object)" (ctx, a) { Ok(Value::bool(matches!(a[0], Value::Package(_)))) }
    /// Find or create the symbol named STRING in PACKAGE; second value: how it was found.
    fn INTERN "INTERN" "(string &optional package)" [mv] (ctx, a) {
        let name = super::string_text(ctx, &a[0])?;
        let p = pkg_arg(ctx, a, 1)?;
        let (s, st) = intern(&name, &p);
        Ok(ctx.values2(sym_value(&s), status_value(st)))
    }
    /// The symbol named STRING accessible in PACKAGE, and how; NIL NIL if none.
    fn FIND_SYMBOL "FIND-SYMBOL" "(string &optional package)" [mv] (ctx, a) {
        let name = super::string_text(ctx, &a[0])?;
        let p = pkg_arg(ctx, a, 1)?;
        Ok(match p.find(&name) {
            Some((s, st)) => ctx.values2(sym_value(&s), status_value(Some(st))),
            None => ctx.values2(Value::Nil, Value::Nil),
        })
    }
    /// Remove SYMBOL from PACKAGE.
    fn UNINTERN "UNINTERN" "(symbol &optional package)" (ctx, a) {
        let s = symbol(ctx, &a[0])?;
        let p = pkg_arg(ctx, a, 1)?;
        match p.find_present(s.name()) {
            Some((f, _)) if Gc::ptr_eq(&f, &s) => {
                p.remove(s.name());
                if s.home_is(&p) { s.set_package(None); }
                Ok(Value::t())
            }
            _ => Ok(Value::Nil),
        }
    }
    /// Make symbols external in PACKAGE.
    fn EXPORT "EXPORT" "(symbols &optional package)" (ctx, a) {
        let syms = symbols_arg(ctx, &a[0])?;
        let p = pkg_arg(ctx, a, 1)?;
        export(ctx, &p, &syms)?;
        Ok(Value::t())
    }
    /// Make symbols internal in PACKAGE.
    fn UNEXPORT "UNEXPORT" "(symbols &optional package)" (ctx, a) {
        let syms = symbols_arg(ctx, &a[0])?;
        let p = pkg_arg(ctx, a, 1)?;
        for s in syms { p.unexport(s.name()); }
        Ok(Value::t())
    }
    /// Make symbols present in PACKAGE.
    fn IMPORT "IMPORT" "(symbols &optional package)" (ctx, a) {
        let syms = symbols_arg(ctx, &a[0])?;
        let p = pkg_arg(ctx, a, 1)?;
        import(ctx, &p, &syms)?;
        Ok(Value::t())
    }
    /// Create shadowing symbols with the given names in PACKAGE.
    fn SHADOW "SHADOW" "(symbol-names &optional package)" (ctx, a) {
        let names = names_arg(ctx, &a[0])?;
        let p = pkg_arg(ctx, a, 1)?;
        for n in names {
            let s = match p.find_present(&n) {
                Some((s, _)) => s,
                None => {
                    let s = Gc::new(Symbol::new(n.as_str().into()));
                    s.set_package(Some(p.clone()));
                    p.add_internal(s.clone());
                    s
                }
            };
            p.add_shadowing(s);
        }
        Ok(Value::t())
    }
    /// Import symbols, shadowing any conflicting ones.
    fn SHADOWING_IMPORT "SHADOWING-IMPORT" "(symbols &optional package)" (ctx, a) {
        let syms = symbols_arg(ctx, &a[0])?;
        let p = pkg_arg(ctx, a, 1)?;
        for s in syms {
            p.remove(s.name());
            p.add_internal(s.clone());
            p.add_shadowing(s);
        }
        Ok(Value::t())
    }
    /// Make PACKAGE inherit the external symbols of PACKAGES-TO-USE.
    fn USE_PACKAGE "USE-PACKAGE" "(packages-to-use &optional package)" (ctx, a) {
        let items = if a[0].is_list() { a[0].list_to_vec() } else { vec![a[0].clone()] };
        let mut uses = vec![];
        for u in items { uses.push(package(ctx, &u)?); }
        let p = pkg_arg(ctx, a, 1)?;
        use_packages(ctx, &p, &uses)?;
        Ok(Value::t())
    }
    /// Stop PACKAGE inheriting from PACKAGES-TO-UNUSE.
    fn UNUSE_PACKAGE "UNUSE-PACKAGE" "(packages-to-unuse &optional package)" (ctx, a) {
        let items = if a[0].is_list() { a[0].list_to_vec() } else { vec![a[0].clone()] };
        let p = pkg_arg(ctx, a, 1)?;
        for u in items { let u = package(ctx, &u)?; p.unuse_package(&u); }
        Ok(Value::t())
    }
    /// Every symbol named STRING in any package.
    fn FIND_ALL_SYMBOLS "FIND-ALL-SYMBOLS" "(string)" (ctx, a) {
        let name = string_designator(ctx, &a[0])?;
        let mut out: Vec<Gc<Symbol>> = vec![];
        for p in w().all_packages() {
            if let Some((s, _)) = p.find_present(&name) {
                if !out.iter().any(|x| Gc::ptr_eq(x, &s)) { out.push(s); }
            }
        }
        Ok(list_from(out.iter().map(sym_value)))
    }
    /// Symbols of a package (for DO-SYMBOLS): KIND is :ALL, :EXTERNAL or :EVERY.
    fn PACKAGE_SYMBOLS "NETLISP-SYSTEM:%PACKAGE-SYMBOLS" "(package kind)" (ctx, a) {
        let kind = match &a[1] { Value::Symbol(s) => s.name().to_string(), _ => "ALL".into() };
        let mut out: Vec<Gc<Symbol>> = vec![];
        let pkgs = if kind == "EVERY" { w().all_packages() } else {
            vec![if a[0].is_nil() { crate::reader::current_package() } else { package(ctx, &a[0])? }]
        };
        for p in &pkgs {
            if kind == "EXTERNAL" {
                out.extend(p.external_symbols());
            } else {
                out.extend(p.present_symbols().into_iter().map(|(s, _)| s));
                if kind == "ALL" {
                    for u in p.uses() { out.extend(u.external_symbols()); }
                }
            }
        }
        Ok(list_from(out.iter().map(sym_value)))
    }
    /// An iterator over package symbols (WITH-PACKAGE-ITERATOR).
    fn PACKAGE_ITERATOR "NETLISP-SYSTEM:%PACKAGE-ITERATOR" "(packages types)" (ctx, a) {
        let pkgs = if a[0].is_list() { a[0].list_to_vec() } else { vec![a[0].clone()] };
        let types: Vec<String> = a[1].iter().filter_map(|t| crate::world::symbol_of(&t).map(|s| s.name().to_string())).collect();
        let mut entries = vec![];
        for pv in pkgs {
            let p = package(ctx, &pv)?;
            for (s, ext) in p.present_symbols() {
                let st = if ext { "EXTERNAL" } else { "INTERNAL" };
                if types.iter().any(|t| t == st) {
                    entries.push(list_from([sym_value(&s), keyword(st), Value::Package(p.clone())]));
                }
            }
            if types.iter().any(|t| t == "INHERITED") {
                for u in p.uses() {
                    for s in u.external_symbols() {
                        entries.push(list_from([sym_value(&s), keyword("INHERITED"), Value::Package(p.clone())]));
                    }
                }
            }
        }
        let cell = crate::value::Value::Cell(Gc::new(crate::value::VarCell::new(list_from(entries))));
        Ok(crate::eval::make_native_closure("PACKAGE-ITERATOR", vec![cell], |ctx, env, _| {
            let Value::Cell(c) = &env[0] else { return Ok(Value::Nil) };
            let cur = c.get();
            match cur {
                Value::Cons(x) => {
                    c.set(x.cdr());
                    let e = x.car();
                    Ok(ctx.set_values(vec![Value::t(), e.first(), e.second(), e.third()]))
                }
                _ => Ok(ctx.set_values(vec![Value::Nil])),
            }
        }))
    }

    /// Define or update a package.
    macro DEFPACKAGE "DEFPACKAGE" "(name &rest options)" (ctx, a) {
        let rest = a[0].rest();
        let name = string_designator(ctx, &rest.first())?;
        let mut opts = vec![cl("LIST")];
        for o in rest.rest().iter() {
            if !o.is_cons() {
                return Err(cond::program_error(ctx, format!("bad DEFPACKAGE option: {}", crate::printer::prin1_string(&o))));
            }
            opts.push(quote(o));
        }
        Ok(l(vec![sys("%DEFPACKAGE"), super::str_value(&name), l(opts)]))
    }

    /// The runtime side of DEFPACKAGE.
    fn DEFPACKAGE_FN "NETLISP-SYSTEM:%DEFPACKAGE" "(name options)" (ctx, a) {
        let name = super::string_text(ctx, &a[0])?;
        let opts = a[1].list_to_vec();
        let opt_names = |k: &str| -> Vec<Value> {
            opts.iter().filter(|o| matches!(o.first(), Value::Symbol(s) if s.name() == k)).flat_map(|o| o.rest().list_to_vec()).collect()
        };
        let mut nicks = vec![];
        for n in opt_names("NICKNAMES") { nicks.push(string_designator(ctx, &n)?); }
        let p = match w().find_package(&name) {
            Some(p) => {
                w().unregister_package(&p);
                p.set_nicknames(nicks.iter().map(|n| n.as_str().into()).collect());
                w().register_package(p.clone());
                p
            }
            None => make_package(ctx, &name, nicks, vec![])?,
        };
        if let Some(doc) = opt_names("DOCUMENTATION").first() {
            *p.doc.borrow_mut() = crate::array::string_of(doc);
        }
        // Shadows first, then shadowing imports, uses, imports, exports.
        for n in opt_names("SHADOW") {
            let nm = string_designator(ctx, &n)?;
            (SHADOW.f)(ctx, &[super::str_value(&nm), Value::Package(p.clone())])?;
        }
        for o in opts.iter().filter(|o| matches!(o.first(), Value::Symbol(s) if s.name() == "SHADOWING-IMPORT-FROM")) {
            let from = package(ctx, &o.second())?;
            for n in o.rest().rest().iter() {
                let nm = string_designator(ctx, &n)?;
                let s = from.find(&nm).map(|x| x.0).ok_or_else(|| cond::package_error(ctx, Value::Package(from.clone()), format!("symbol {} not found in {}", nm, from.name())))?;
                p.remove(s.name());
                p.add_internal(s.clone());
                p.add_shadowing(s);
            }
        }
        let use_opts: Vec<&Value> = opts.iter().filter(|o| matches!(o.first(), Value::Symbol(s) if s.name() == "USE")).collect();
        let uses = if use_opts.is_empty() { vec![w().cl.clone()] } else {
            let mut r = vec![];
            for o in use_opts { for u in o.rest().iter() { r.push(package(ctx, &u)?); } }
            r
        };
        use_packages(ctx, &p, &uses)?;
        for o in opts.iter().filter(|o| matches!(o.first(), Value::Symbol(s) if s.name() == "IMPORT-FROM")) {
            let from = package(ctx, &o.second())?;
            let mut syms = vec![];
            for n in o.rest().rest().iter() {
                let nm = string_designator(ctx, &n)?;
                match from.find(&nm) {
                    Some((s, _)) => syms.push(s),
                    None => return Err(cond::package_error(ctx, Value::Package(from.clone()), format!("symbol {} not found in {}", nm, from.name()))),
                }
            }
            import(ctx, &p, &syms)?;
        }
        for n in opt_names("INTERN") {
            let nm = string_designator(ctx, &n)?;
            intern(&nm, &p);
        }
        let mut exports = vec![];
        for n in opt_names("EXPORT") {
            let nm = string_designator(ctx, &n)?;
            exports.push(intern(&nm, &p).0);
        }
        export(ctx, &p, &exports)?;
        Ok(Value::Package(p))
    }
}
