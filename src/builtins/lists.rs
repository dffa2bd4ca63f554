//! Conses and lists: accessors, construction, membership and association
//! with :TEST / :KEY, property lists, set operations, trees and mapping.

use super::{function, index, list, list_items, opt, opt_function};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::eval::apply;
use crate::value::{list_from, list_with_tail, ListBuilder, Value};

/// A :TEST / :TEST-NOT / :KEY combination.
pub struct Tester {
    test: Option<Value>,
    negate: bool,
    key: Option<Value>,
}

impl Tester {
    /// Build from the argument values (any may be absent).
    pub fn new(
        ctx: &mut Ctx,
        test: Option<&Value>,
        test_not: Option<&Value>,
        key: Option<&Value>,
    ) -> R<Tester> {
        let key = match key {
            None | Some(Value::Nil) => None,
            Some(k) => Some(function(ctx, k)?),
        };
        Ok(match (test, test_not) {
            (Some(t), _) if t.truthy() => Tester {
                test: Some(function(ctx, t)?),
                negate: false,
                key,
            },
            (_, Some(t)) if t.truthy() => Tester {
                test: Some(function(ctx, t)?),
                negate: true,
                key,
            },
            _ => Tester {
                test: None,
                negate: false,
                key,
            },
        })
    }

    /// Apply the key function.
    #[inline]
    pub fn key(&self, ctx: &mut Ctx, x: Value) -> R {
        match &self.key {
            None => Ok(x),
            Some(k) => apply(ctx, k, &[x]),
        }
    }

    /// Whether ITEM matches ELT (after the key).
    #[inline]
    pub fn matches(&self, ctx: &mut Ctx, item: &Value, elt: Value) -> R<bool> {
        let k = self.key(ctx, elt)?;
        let r = match &self.test {
            None => item.eql(&k),
            Some(t) => apply(ctx, t, &[item.clone(), k])?.truthy(),
        };
        Ok(r != self.negate)
    }
}

/// A predicate with an optional :KEY (for the -IF functions).
pub struct Pred {
    f: Value,
    negate: bool,
    key: Option<Value>,
}

impl Pred {
    /// Build from a predicate and key.
    pub fn new(ctx: &mut Ctx, f: &Value, negate: bool, key: Option<&Value>) -> R<Pred> {
        let key = match key {
            None | Some(Value::Nil) => None,
            Some(k) => Some(function(ctx, k)?),
        };
        Ok(Pred {
            f: function(ctx, f)?,
            negate,
            key,
        })
    }

    /// Whether the element satisfies the predicate.
    pub fn test(&self, ctx: &mut Ctx, elt: Value) -> R<bool> {
        let k = match &self.key {
            None => elt,
            Some(k) => apply(ctx, k, &[elt])?,
        };
        Ok(apply(ctx, &self.f, &[k])?.truthy() != self.negate)
    }
}

fn cxr(ctx: &mut Ctx, v: &Value, path: &str) -> R {
    // path read right to left: 'a' = car, 'd' = cdr
    let mut cur = v.clone();
    for c in path.chars().rev() {
        cur = match (&cur, c) {
            (Value::Cons(x), 'a') => x.car(),
            (Value::Cons(x), _) => x.cdr(),
            (Value::Nil, _) => Value::Nil,
            (other, _) => return Err(cond::type_error(ctx, other.clone(), "LIST")),
        };
    }
    Ok(cur)
}

fn set_cxr(ctx: &mut Ctx, new: &Value, v: &Value, path: &str) -> R {
    let (last, rest) = path.split_at(1);
    let target = cxr(ctx, v, rest)?;
    match &target {
        Value::Cons(c) => {
            if last == "a" {
                c.set_car(new.clone())
            } else {
                c.set_cdr(new.clone())
            }
            Ok(new.clone())
        }
        other => Err(cond::type_error(ctx, other.clone(), "CONS")),
    }
}

fn nth_cons(ctx: &mut Ctx, n: usize, l: &Value) -> R<Value> {
    let mut cur = l.clone();
    for _ in 0..n {
        cur = match &cur {
            Value::Cons(c) => c.cdr(),
            Value::Nil => return Ok(Value::Nil),
            other => return Err(cond::type_error(ctx, other.clone(), "LIST")),
        };
    }
    Ok(cur)
}

macro_rules! cxr_builtins {
    ($($id:ident $sid:ident $name:literal $setname:literal $path:literal),* $(,)?) => {
        /// C[AD]R accessors and their setters.
        pub static CXR_BUILTINS: &[&crate::function::Builtin] = &[$(&$id, &$sid),*];
        $(
            #[allow(non_upper_case_globals, missing_docs)]
            pub static $id: crate::function::Builtin = crate::function::Builtin::new(
                $name, "(list)", concat!("The ", $name, " of LIST (composed car/cdr)."),
                { fn f(ctx: &mut Ctx, a: &[Value]) -> R { cxr(ctx, &a[0], $path) } f },
                crate::function::Kind::Function, 0);
            #[allow(non_upper_case_globals, missing_docs)]
            pub static $sid: crate::function::Builtin = crate::function::Builtin::new(
                $setname, "(new-value list)", concat!("Store into the ", $name, " of LIST."),
                { fn f(ctx: &mut Ctx, a: &[Value]) -> R { set_cxr(ctx, &a[0], &a[1], $path) } f },
                crate::function::Kind::Function, 0);
        )*
        /// (place name, setter) pairs for SETF.
        pub static CXR_SETTERS: &[(&str, &crate::function::Builtin)] = &[$(($name, &$sid)),*];
    };
}

cxr_builtins! {
    CAR SET_CAR "CAR" "NETLISP-SYSTEM:SETF-CAR" "a",
    CDR SET_CDR "CDR" "NETLISP-SYSTEM:SETF-CDR" "d",
    CAAR SET_CAAR "CAAR" "NETLISP-SYSTEM:SETF-CAAR" "aa",
    CADR SET_CADR "CADR" "NETLISP-SYSTEM:SETF-CADR" "ad",
    CDAR SET_CDAR "CDAR" "NETLISP-SYSTEM:SETF-CDAR" "da",
    CDDR SET_CDDR "CDDR" "NETLISP-SYSTEM:SETF-CDDR" "dd",
    CAAAR SET_CAAAR "CAAAR" "NETLISP-SYSTEM:SETF-CAAAR" "aaa",
    CAADR SET_CAADR "CAADR" "NETLISP-SYSTEM:SETF-CAADR" "aad",
    CADAR SET_CADAR "CADAR" "NETLISP-SYSTEM:SETF-CADAR" "ada",
    CADDR SET_CADDR "CADDR" "NETLISP-SYSTEM:SETF-CADDR" "add",
    CDAAR SET_CDAAR "CDAAR" "NETLISP-SYSTEM:SETF-CDAAR" "daa",
    CDADR SET_CDADR "CDADR" "NETLISP-SYSTEM:SETF-CDADR" "dad",
    CDDAR SET_CDDAR "CDDAR" "NETLISP-SYSTEM:SETF-CDDAR" "dda",
    CDDDR SET_CDDDR "CDDDR" "NETLISP-SYSTEM:SETF-CDDDR" "ddd",
    CAAAAR SET_CAAAAR "CAAAAR" "NETLISP-SYSTEM:SETF-CAAAAR" "aaaa",
    CAAADR SET_CAAADR "CAAADR" "NETLISP-SYSTEM:SETF-CAAADR" "aaad",
    CAADAR SET_CAADAR "CAADAR" "NETLISP-SYSTEM:SETF-CAADAR" "aada",
    CAADDR SET_CAADDR "CAADDR" "NETLISP-SYSTEM:SETF-CAADDR" "aadd",
    CADAAR SET_CADAAR "CADAAR" "NETLISP-SYSTEM:SETF-CADAAR" "adaa",
    CADADR SET_CADADR "CADADR" "NETLISP-SYSTEM:SETF-CADADR" "adad",
    CADDAR SET_CADDAR "CADDAR" "NETLISP-SYSTEM:SETF-CADDAR" "adda",
    CADDDR SET_CADDDR "CADDDR" "NETLISP-SYSTEM:SETF-CADDDR" "addd",
    CDAAAR SET_CDAAAR "CDAAAR" "NETLISP-SYSTEM:SETF-CDAAAR" "daaa",
    CDAADR SET_CDAADR "CDAADR" "NETLISP-SYSTEM:SETF-CDAADR" "daad",
    CDADAR SET_CDADAR "CDADAR" "NETLISP-SYSTEM:SETF-CDADAR" "dada",
    CDADDR SET_CDADDR "CDADDR" "NETLISP-SYSTEM:SETF-CDADDR" "dadd",
    CDDAAR SET_CDDAAR "CDDAAR" "NETLISP-SYSTEM:SETF-CDDAAR" "ddaa",
    CDDADR SET_CDDADR "CDDADR" "NETLISP-SYSTEM:SETF-CDDADR" "ddad",
    CDDDAR SET_CDDDAR "CDDDAR" "NETLISP-SYSTEM:SETF-CDDDAR" "ddda",
    CDDDDR SET_CDDDDR "CDDDDR" "NETLISP-SYSTEM:SETF-CDDDDR" "dddd",
    FIRST SET_FIRST "FIRST" "NETLISP-SYSTEM:SETF-FIRST" "a",
    SECOND SET_SECOND "SECOND" "NETLISP-SYSTEM:SETF-SECOND" "ad",
    THIRD SET_THIRD "THIRD" "NETLISP-SYSTEM:SETF-THIRD" "add",
    FOURTH SET_FOURTH "FOURTH" "NETLISP-SYSTEM:SETF-FOURTH" "addd",
    FIFTH SET_FIFTH "FIFTH" "NETLISP-SYSTEM:SETF-FIFTH" "adddd",
    SIXTH SET_SIXTH "SIXTH" "NETLISP-SYSTEM:SETF-SIXTH" "addddd",
    SEVENTH SET_SEVENTH "SEVENTH" "NETLISP-SYSTEM:SETF-SEVENTH" "adddddd",
    EIGHTH SET_EIGHTH "EIGHTH" "NETLISP-SYSTEM:SETF-EIGHTH" "addddddd",
    NINTH SET_NINTH "NINTH" "NETLISP-SYSTEM:SETF-NINTH" "adddddddd",
    TENTH SET_TENTH "TENTH" "NETLISP-SYSTEM:SETF-TENTH" "addddddddd",
    REST SET_REST "REST" "NETLISP-SYSTEM:SETF-REST" "d",
}

/// Walk several lists in parallel for the mapping functions; returns the
/// argument vectors until the shortest list ends.
fn map_args(lists: &[Value], on_cells: bool) -> Vec<Vec<Value>> {
    let mut cur: Vec<Value> = lists.to_vec();
    let mut out = Vec::new();
    loop {
        let mut args = Vec::with_capacity(cur.len());
        for c in cur.iter_mut() {
            match c.clone() {
                Value::Cons(cell) => {
                    args.push(if on_cells { c.clone() } else { cell.car() });
                    *c = cell.cdr();
                }
                _ => return out,
            }
        }
        out.push(args);
    }
}

fn mapper(ctx: &mut Ctx, a: &[Value], on_cells: bool, collect: u8) -> R {
    // collect: 0 = none (return first list), 1 = list, 2 = nconc
    let f = function(ctx, &a[0])?;
    for l in &a[1..] {
        list(ctx, l)?;
    }
    let mut b = ListBuilder::new();
    let mut results = Vec::new();
    if a.len() == 2 && !on_cells {
        // One list: walk it directly.
        let mut cur = a[1].clone();
        while let Value::Cons(c) = cur {
            let v = apply(ctx, &f, &[c.car()])?;
            match collect {
                1 => b.push(v),
                2 => results.push(v),
                _ => {}
            }
            cur = c.cdr();
        }
    } else {
        for args in map_args(&a[1..], on_cells) {
            let v = apply(ctx, &f, &args)?;
            match collect {
                1 => b.push(v),
                2 => results.push(v),
                _ => {}
            }
        }
    }
    Ok(match collect {
        0 => a[1].clone(),
        1 => b.finish(),
        _ => nconc_values(ctx, results)?,
    })
}

/// The last cons of a list; None for a circular one (found by Brent's
/// cycle check, so a circular argument is an error, not a hang).
pub fn last_cons(v: &Value) -> Option<crate::gc::Gc<crate::value::Cons>> {
    let mut cur = v.clone();
    let mut last = None;
    let (mut mark, mut power, mut steps) = (v.clone(), 1usize, 0usize);
    while let Value::Cons(c) = cur {
        cur = c.cdr();
        last = Some(c);
        steps += 1;
        if cur.eq(&mark) && cur.is_cons() {
            return None;
        }
        if steps == power {
            mark = cur.clone();
            power *= 2;
            steps = 0;
        }
    }
    last
}

/// NCONC of a vector of lists.
pub fn nconc_values(ctx: &mut Ctx, lists: Vec<Value>) -> R {
    let mut result = Value::Nil;
    let mut tail: Option<crate::gc::Gc<crate::value::Cons>> = None;
    let n = lists.len();
    for (i, l) in lists.into_iter().enumerate() {
        match &l {
            Value::Nil => continue,
            Value::Cons(_) => {
                match &tail {
                    Some(t) => t.set_cdr(l.clone()),
                    None => result = l.clone(),
                }
                // The last list's end is never needed: (nconc x x) makes
                // a circular list and returns, as in SBCL.
                if i + 1 < n {
                    tail = match last_cons(&l) {
                        Some(t) => Some(t),
                        None => return Err(cond::type_error(ctx, l.clone(), "LIST")),
                    };
                }
            }
            other => {
                if i + 1 == n {
                    match &tail {
                        Some(t) => t.set_cdr(other.clone()),
                        None => result = other.clone(),
                    }
                } else {
                    return Err(cond::type_error(ctx, other.clone(), "LIST"));
                }
            }
        }
    }
    Ok(result)
}

/// APPEND: copies all but the last list.
pub fn append_values(ctx: &mut Ctx, lists: &[Value]) -> R {
    if lists.is_empty() {
        return Ok(Value::Nil);
    }
    let mut b = ListBuilder::new();
    for l in &lists[..lists.len() - 1] {
        let mut it = l.iter();
        for x in it.by_ref() {
            b.push(x);
        }
        if !it.tail().is_nil() {
            return Err(cond::type_error(ctx, l.clone(), "LIST"));
        }
    }
    b.set_tail(lists[lists.len() - 1].clone());
    Ok(b.finish())
}

/// GETF on a property list.
pub fn getf(plist: &Value, ind: &Value) -> Option<Value> {
    let mut cur = plist.clone();
    while let Value::Cons(c) = cur {
        let rest = c.cdr();
        if c.car().eq(ind) {
            return Some(rest.first());
        }
        cur = rest.rest();
    }
    None
}

fn subst_tree(
    ctx: &mut Ctx,
    new: &Value,
    tree: &Value,
    pred: &mut dyn FnMut(&mut Ctx, &Value) -> R<bool>,
) -> R {
    if pred(ctx, tree)? {
        return Ok(new.clone());
    }
    match tree {
        Value::Cons(c) => {
            let a = subst_tree(ctx, new, &c.car(), pred)?;
            let d = subst_tree(ctx, new, &c.cdr(), pred)?;
            if a.eq(&c.car()) && d.eq(&c.cdr()) {
                Ok(tree.clone())
            } else {
                Ok(Value::cons(a, d))
            }
        }
        _ => Ok(tree.clone()),
    }
}

/// SUBST and NSUBST: (new old tree &key key test test-not).
fn subst_impl(ctx: &mut Ctx, a: &[Value]) -> R {
    let t = Tester::new(ctx, opt(a, 4), opt(a, 5), opt(a, 3))?;
    let old = a[1].clone();
    subst_tree(ctx, &a[0], &a[2], &mut |ctx, x| {
        t.matches(ctx, &old, x.clone())
    })
}

/// The SUBST-IF family: (new predicate tree &key key), NEGATE for -IF-NOT.
fn subst_if_impl(ctx: &mut Ctx, a: &[Value], negate: bool) -> R {
    let p = Pred::new(ctx, &a[1], negate, opt(a, 3))?;
    subst_tree(ctx, &a[0], &a[2], &mut |ctx, x| p.test(ctx, x.clone()))
}

/// SUBLIS and NSUBLIS: (alist tree &key key test test-not).
fn sublis_impl(ctx: &mut Ctx, a: &[Value]) -> R {
    let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 2))?;
    let alist = list_items(ctx, &a[0])?;
    fn walk(ctx: &mut Ctx, t: &Tester, alist: &[Value], tree: &Value) -> R {
        let k = t.key(ctx, tree.clone())?;
        for p in alist {
            if let Value::Cons(c) = p {
                let ok = match &t.test {
                    None => c.car().eql(&k),
                    Some(f) => apply(ctx, f, &[c.car(), k.clone()])?.truthy(),
                } != t.negate;
                if ok {
                    return Ok(c.cdr());
                }
            }
        }
        match tree {
            Value::Cons(c) => {
                let x = walk(ctx, t, alist, &c.car())?;
                let y = walk(ctx, t, alist, &c.cdr())?;
                if x.eq(&c.car()) && y.eq(&c.cdr()) {
                    Ok(tree.clone())
                } else {
                    Ok(Value::cons(x, y))
                }
            }
            _ => Ok(tree.clone()),
        }
    }
    walk(ctx, &t, &alist, &a[1])
}

fn member_of(ctx: &mut Ctx, t: &Tester, item: &Value, l: &Value) -> R<bool> {
    let mut cur = l.clone();
    while let Value::Cons(c) = cur {
        if t.matches(ctx, item, c.car())? {
            return Ok(true);
        }
        cur = c.cdr();
    }
    Ok(false)
}

/// Key an item for set functions: the key of the item from list 1.
fn set_member(ctx: &mut Ctx, t: &Tester, x: &Value, l: &Value) -> R<bool> {
    let kx = t.key(ctx, x.clone())?;
    member_of(ctx, t, &kx, l)
}

crate::defbuiltins! {
    /// A new cons of CAR and CDR.
    fn CONS "CONS" "(car cdr)" (ctx, a) { Ok(Value::cons(a[0].clone(), a[1].clone())) }
    /// A list of the arguments.
    fn LIST "LIST" "(&rest objects)" (ctx, a) { Ok(list_from(a.iter().cloned())) }
    /// A list of the arguments, the last being the tail.
    fn LIST_STAR "LIST*" "(object &rest objects)" (ctx, a) {
        let (last, init) = a.split_last().unwrap();
        Ok(list_with_tail(init.iter().cloned(), last.clone()))
    }
    /// A list of SIZE elements, each INITIAL-ELEMENT.
    fn MAKE_LIST "MAKE-LIST" "(size &key initial-element)" (ctx, a) {
        let n = index(ctx, &a[0])?;
        // A cons is two values plus its collector header.
        super::check_alloc(ctx, "a list", n, 2 * std::mem::size_of::<Value>() + 32)?;
        let init = super::opt_nil(a, 1);
        let mut l = Value::Nil;
        for _ in 0..n {
            l = Value::cons(init.clone(), l);
        }
        Ok(l)
    }
    /// Whether OBJECT is a cons.
    fn CONSP "CONSP" "(object)" (ctx, a) { Ok(Value::bool(a[0].is_cons())) }
    /// Whether OBJECT is a list.
    fn LISTP "LISTP" "(object)" (ctx, a) { Ok(Value::bool(a[0].is_list())) }
    /// Whether OBJECT is not a cons.
    fn ATOM "ATOM" "(object)" (ctx, a) { Ok(Value::bool(!a[0].is_cons())) }
    /// Whether LIST is empty (it must be a list).
    fn ENDP "ENDP" "(list)" (ctx, a) {
        match &a[0] {
            Value::Nil => Ok(Value::t()),
            Value::Cons(_) => Ok(Value::Nil),
            other => Err(cond::type_error(ctx, other.clone(), "LIST")),
        }
    }
    /// The Nth element of LIST (from zero).
    fn NTH "NTH" "(n list)" (ctx, a) {
        let n = index(ctx, &a[0])?;
        Ok(nth_cons(ctx, n, &a[1])?.first())
    }
    /// Store NEW-VALUE as the Nth element of LIST.
    fn SETF_NTH "NETLISP-SYSTEM:SETF-NTH" "(new-value n list)" (ctx, a) {
        let n = index(ctx, &a[1])?;
        match nth_cons(ctx, n, &a[2])? {
            Value::Cons(c) => { c.set_car(a[0].clone()); Ok(a[0].clone()) }
            other => Err(cond::type_error(ctx, other, "CONS")),
        }
    }
    /// The tail of LIST after N cdrs.
    fn NTHCDR "NTHCDR" "(n list)" (ctx, a) {
        let n = index(ctx, &a[0])?;
        nth_cons(ctx, n, &a[1])
    }
    /// The last N conses of LIST (default 1).
    fn LAST "LAST" "(list &optional (n 1))" (ctx, a) {
        let n = match opt(a, 1) { Some(v) => index(ctx, v)?, None => 1 };
        let l = list(ctx, &a[0])?;
        let len = l.iter().count();
        nth_cons(ctx, len.saturating_sub(n), &l)
    }
    /// A copy of LIST without its last N elements.
    fn BUTLAST "BUTLAST" "(list &optional (n 1))" (ctx, a) {
        let n = match opt(a, 1) { Some(v) => index(ctx, v)?, None => 1 };
        let items = list(ctx, &a[0])?.list_to_vec();
        let keep = items.len().saturating_sub(n);
        Ok(list_from(items.into_iter().take(keep)))
    }
    /// LIST without its last N elements (destructively).
    fn NBUTLAST "NBUTLAST" "(list &optional (n 1))" (ctx, a) {
        let n = match opt(a, 1) { Some(v) => index(ctx, v)?, None => 1 };
        let l = list(ctx, &a[0])?;
        let len = l.iter().count();
        if len <= n {
            return Ok(Value::Nil);
        }
        if let Value::Cons(c) = nth_cons(ctx, len - n - 1, &l)? {
            c.set_cdr(Value::Nil);
        }
        Ok(l)
    }
    /// Number of elements of a proper list, or NIL if it is circular.
    fn LIST_LENGTH "LIST-LENGTH" "(list)" (ctx, a) {
        let l = list(ctx, &a[0])?;
        Ok(match l.list_length() { Some(n) => Value::int(n as i64), None => Value::Nil })
    }
    /// A fresh copy of the top level of LIST.
    fn COPY_LIST "COPY-LIST" "(list)" (ctx, a) {
        let l = list(ctx, &a[0])?;
        let mut it = l.iter();
        let items: Vec<Value> = it.by_ref().collect();
        Ok(list_with_tail(items, it.tail().clone()))
    }
    /// A copy of an association list (fresh conses for each pair).
    fn COPY_ALIST "COPY-ALIST" "(alist)" (ctx, a) {
        let items = list_items(ctx, &a[0])?;
        Ok(list_from(items.into_iter().map(|p| match &p {
            Value::Cons(c) => Value::cons(c.car(), c.cdr()),
            _ => p,
        })))
    }
    /// A copy of a tree of conses.
    fn COPY_TREE "COPY-TREE" "(tree)" (ctx, a) {
        fn copy(v: &Value) -> Value {
            match v {
                Value::Cons(c) => Value::cons(copy(&c.car()), copy(&c.cdr())),
                other => other.clone(),
            }
        }
        Ok(copy(&a[0]))
    }
    /// A new list of the elements of LISTS (the last is shared).
    fn APPEND "APPEND" "(&rest lists)" (ctx, a) { append_values(ctx, a) }
    /// Destructively join LISTS.
    fn NCONC "NCONC" "(&rest lists)" (ctx, a) { nconc_values(ctx, a.to_vec()) }
    /// (append (reverse list) tail).
    fn REVAPPEND "REVAPPEND" "(list tail)" (ctx, a) {
        let mut acc = a[1].clone();
        for x in list(ctx, &a[0])?.iter() {
            acc = Value::cons(x, acc);
        }
        Ok(acc)
    }
    /// (nconc (nreverse list) tail).
    fn NRECONC "NRECONC" "(list tail)" (ctx, a) {
        let mut acc = a[1].clone();
        for x in list(ctx, &a[0])?.iter() {
            acc = Value::cons(x, acc);
        }
        Ok(acc)
    }
    /// Replace the car of CONS.
    fn RPLACA "RPLACA" "(cons object)" (ctx, a) {
        match &a[0] { Value::Cons(c) => { c.set_car(a[1].clone()); Ok(a[0].clone()) } other => Err(cond::type_error(ctx, other.clone(), "CONS")) }
    }
    /// Replace the cdr of CONS.
    fn RPLACD "RPLACD" "(cons object)" (ctx, a) {
        match &a[0] { Value::Cons(c) => { c.set_cdr(a[1].clone()); Ok(a[0].clone()) } other => Err(cond::type_error(ctx, other.clone(), "CONS")) }
    }
    /// The tail of LIST beginning with an element matching ITEM, or NIL.
    fn MEMBER "MEMBER" "(item list &key key test test-not)" (ctx, a) {
        let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 2))?;
        let mut cur = list(ctx, &a[1])?;
        while let Value::Cons(c) = &cur {
            if t.matches(ctx, &a[0], c.car())? {
                return Ok(cur);
            }
            let n = c.cdr();
            cur = n;
        }
        Ok(Value::Nil)
    }
    /// The tail of LIST beginning with an element satisfying PREDICATE.
    fn MEMBER_IF "MEMBER-IF" "(predicate list &key key)" (ctx, a) {
        let p = Pred::new(ctx, &a[0], false, opt(a, 2))?;
        let mut cur = list(ctx, &a[1])?;
        while let Value::Cons(c) = &cur {
            if p.test(ctx, c.car())? { return Ok(cur); }
            let n = c.cdr();
            cur = n;
        }
        Ok(Value::Nil)
    }
    /// The tail of LIST beginning with an element not satisfying PREDICATE.
    fn MEMBER_IF_NOT "MEMBER-IF-NOT" "(predicate list &key key)" (ctx, a) {
        let p = Pred::new(ctx, &a[0], true, opt(a, 2))?;
        let mut cur = list(ctx, &a[1])?;
        while let Value::Cons(c) = &cur {
            if p.test(ctx, c.car())? { return Ok(cur); }
            let n = c.cdr();
            cur = n;
        }
        Ok(Value::Nil)
    }
    /// The first pair of ALIST whose car matches ITEM.
    fn ASSOC "ASSOC" "(item alist &key key test test-not)" (ctx, a) {
        let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 2))?;
        for p in list(ctx, &a[1])?.iter() {
            if let Value::Cons(c) = &p {
                if t.matches(ctx, &a[0], c.car())? { return Ok(p); }
            }
        }
        Ok(Value::Nil)
    }
    /// The first pair of ALIST whose car satisfies PREDICATE.
    fn ASSOC_IF "ASSOC-IF" "(predicate alist &key key)" (ctx, a) {
        let p = Pred::new(ctx, &a[0], false, opt(a, 2))?;
        for x in list(ctx, &a[1])?.iter() {
            if let Value::Cons(c) = &x { if p.test(ctx, c.car())? { return Ok(x); } }
        }
        Ok(Value::Nil)
    }
    /// The first pair of ALIST whose car does not satisfy PREDICATE.
    fn ASSOC_IF_NOT "ASSOC-IF-NOT" "(predicate alist &key key)" (ctx, a) {
        let p = Pred::new(ctx, &a[0], true, opt(a, 2))?;
        for x in list(ctx, &a[1])?.iter() {
            if let Value::Cons(c) = &x { if p.test(ctx, c.car())? { return Ok(x); } }
        }
        Ok(Value::Nil)
    }
    /// The first pair of ALIST whose cdr matches ITEM.
    fn RASSOC "RASSOC" "(item alist &key key test test-not)" (ctx, a) {
        let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 2))?;
        for p in list(ctx, &a[1])?.iter() {
            if let Value::Cons(c) = &p { if t.matches(ctx, &a[0], c.cdr())? { return Ok(p); } }
        }
        Ok(Value::Nil)
    }
    /// The first pair of ALIST whose cdr satisfies PREDICATE.
    fn RASSOC_IF "RASSOC-IF" "(predicate alist &key key)" (ctx, a) {
        let p = Pred::new(ctx, &a[0], false, opt(a, 2))?;
        for x in list(ctx, &a[1])?.iter() {
            if let Value::Cons(c) = &x { if p.test(ctx, c.cdr())? { return Ok(x); } }
        }
        Ok(Value::Nil)
    }
    /// The first pair of ALIST whose cdr does not satisfy PREDICATE.
    fn RASSOC_IF_NOT "RASSOC-IF-NOT" "(predicate alist &key key)" (ctx, a) {
        let p = Pred::new(ctx, &a[0], true, opt(a, 2))?;
        for x in list(ctx, &a[1])?.iter() {
            if let Value::Cons(c) = &x { if p.test(ctx, c.cdr())? { return Ok(x); } }
        }
        Ok(Value::Nil)
    }
    /// ALIST with (KEY . DATUM) added in front.
    fn ACONS "ACONS" "(key datum alist)" (ctx, a) { Ok(Value::cons(Value::cons(a[0].clone(), a[1].clone()), a[2].clone())) }
    /// An alist pairing KEYS with DATA, in front of ALIST.
    fn PAIRLIS "PAIRLIS" "(keys data &optional alist)" (ctx, a) {
        let k = list_items(ctx, &a[0])?;
        let d = list_items(ctx, &a[1])?;
        if k.len() != d.len() {
            return Err(cond::simple_error(ctx, "the lists of keys and data are of unequal length".into()));
        }
        let mut acc = super::opt_nil(a, 2);
        for (x, y) in k.into_iter().zip(d) {
            acc = Value::cons(Value::cons(x, y), acc);
        }
        Ok(acc)
    }
    /// The value of INDICATOR in the property list PLIST, or DEFAULT.
    fn GETF "GETF" "(plist indicator &optional default)" (ctx, a) {
        Ok(getf(&a[0], &a[1]).unwrap_or_else(|| super::opt_nil(a, 2)))
    }
    /// The first indicator of PLIST among INDICATORS: indicator, value, and the tail.
    fn GET_PROPERTIES "GET-PROPERTIES" "(plist indicators)" [mv] (ctx, a) {
        let inds = list_items(ctx, &a[1])?;
        let mut cur = a[0].clone();
        while let Value::Cons(c) = &cur {
            let ind = c.car();
            if inds.iter().any(|i| i.eq(&ind)) {
                let v = c.cdr().first();
                return Ok(ctx.set_values(vec![ind, v, cur.clone()]));
            }
            let next = c.cdr().rest();
            cur = next;
        }
        Ok(ctx.set_values(vec![Value::Nil, Value::Nil, Value::Nil]))
    }
    /// PLIST with INDICATOR set to VALUE (destructive when present).
    fn PUTF "NETLISP-SYSTEM:%PUTF" "(plist indicator value)" (ctx, a) {
        let mut cur = a[0].clone();
        while let Value::Cons(c) = &cur {
            let rest = c.cdr();
            if c.car().eq(&a[1]) {
                if let Value::Cons(r) = &rest { r.set_car(a[2].clone()); }
                return Ok(a[0].clone());
            }
            cur = rest.rest();
        }
        Ok(Value::cons(a[1].clone(), Value::cons(a[2].clone(), a[0].clone())))
    }
    /// PLIST without INDICATOR, and whether it was present.
    fn REMF_FN "NETLISP-SYSTEM:%REMF" "(plist indicator)" [mv] (ctx, a) {
        let mut prev: Option<crate::gc::Gc<crate::value::Cons>> = None;
        let mut cur = a[0].clone();
        while let Value::Cons(c) = &cur {
            let rest = c.cdr();
            let after = rest.rest();
            if c.car().eq(&a[1]) {
                let newl = match &prev {
                    Some(p) => { p.set_cdr(after); a[0].clone() }
                    None => after,
                };
                return Ok(ctx.values2(newl, Value::t()));
            }
            prev = rest.as_cons().cloned();
            cur = after;
        }
        Ok(ctx.values2(a[0].clone(), Value::Nil))
    }
    /// Whether OBJECT is a tail of LIST.
    fn TAILP "TAILP" "(object list)" (ctx, a) {
        let mut cur = a[1].clone();
        loop {
            if cur.eql(&a[0]) { return Ok(Value::t()); }
            match &cur {
                Value::Cons(c) => { let n = c.cdr(); cur = n; }
                _ => return Ok(Value::Nil),
            }
        }
    }
    /// The part of LIST before the tail OBJECT.
    fn LDIFF "LDIFF" "(list object)" (ctx, a) {
        let mut b = ListBuilder::new();
        let mut cur = a[0].clone();
        loop {
            if cur.eql(&a[1]) { return Ok(b.finish()); }
            match &cur {
                Value::Cons(c) => { b.push(c.car()); let n = c.cdr(); cur = n; }
                other => { if !other.is_nil() { b.set_tail(other.clone()); } return Ok(b.finish()); }
            }
        }
    }
    /// A copy of TREE with subtrees matching OLD replaced by NEW.
    fn SUBST "SUBST" "(new old tree &key key test test-not)" (ctx, a) { subst_impl(ctx, a) }
    /// A copy of TREE with subtrees satisfying PREDICATE replaced by NEW.
    fn SUBST_IF "SUBST-IF" "(new predicate tree &key key)" (ctx, a) { subst_if_impl(ctx, a, false) }
    /// A copy of TREE with subtrees not satisfying PREDICATE replaced by NEW.
    fn SUBST_IF_NOT "SUBST-IF-NOT" "(new predicate tree &key key)" (ctx, a) { subst_if_impl(ctx, a, true) }
    /// Like SUBST (netlisp copies rather than modifying, which the standard allows).
    fn NSUBST "NSUBST" "(new old tree &key key test test-not)" (ctx, a) { subst_impl(ctx, a) }
    /// Like SUBST-IF (netlisp copies rather than modifying).
    fn NSUBST_IF "NSUBST-IF" "(new predicate tree &key key)" (ctx, a) { subst_if_impl(ctx, a, false) }
    /// Like SUBST-IF-NOT (netlisp copies rather than modifying).
    fn NSUBST_IF_NOT "NSUBST-IF-NOT" "(new predicate tree &key key)" (ctx, a) { subst_if_impl(ctx, a, true) }
    /// A copy of TREE with subtrees replaced by the ALIST entries they match.
    fn SUBLIS "SUBLIS" "(alist tree &key key test test-not)" (ctx, a) { sublis_impl(ctx, a) }
    /// Like SUBLIS (netlisp copies rather than modifying).
    fn NSUBLIS "NSUBLIS" "(alist tree &key key test test-not)" (ctx, a) { sublis_impl(ctx, a) }
    /// Whether two trees have the same shape and matching leaves.
    fn TREE_EQUAL "TREE-EQUAL" "(tree-1 tree-2 &key test test-not)" (ctx, a) {
        let t = Tester::new(ctx, opt(a, 2), opt(a, 3), None)?;
        fn eqt(ctx: &mut Ctx, t: &Tester, x: &Value, y: &Value) -> R<bool> {
            match (x, y) {
                (Value::Cons(p), Value::Cons(q)) => Ok(eqt(ctx, t, &p.car(), &q.car())? && eqt(ctx, t, &p.cdr(), &q.cdr())?),
                (Value::Cons(_), _) | (_, Value::Cons(_)) => Ok(false),
                _ => t.matches(ctx, x, y.clone()),
            }
        }
        Ok(Value::bool(eqt(ctx, &t, &a[0], &a[1])?))
    }
    /// LIST with ITEM in front unless already a member.
    fn ADJOIN "ADJOIN" "(item list &key key test test-not)" (ctx, a) {
        let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 2))?;
        if set_member(ctx, &t, &a[0], &a[1])? { Ok(a[1].clone()) } else { Ok(Value::cons(a[0].clone(), a[1].clone())) }
    }
    /// Elements in either list. Like SBCL, the elements of the longer list
    /// that the shorter lacks are pushed onto the shorter one.
    fn UNION "UNION" "(list-1 list-2 &key key test test-not)" (ctx, a) { union(ctx, a) }
    /// Like UNION (may reuse the lists).
    fn NUNION "NUNION" "(list-1 list-2 &key key test test-not)" (ctx, a) { union(ctx, a) }
    /// Elements of LIST-1 that are in LIST-2 (in reverse order, as SBCL).
    fn INTERSECTION "INTERSECTION" "(list-1 list-2 &key key test test-not)" (ctx, a) {
        let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 2))?;
        Ok(list_from(pushed(filter_members(ctx, &t, &a[0], &a[1], true)?)))
    }
    /// Like INTERSECTION (may reuse LIST-1).
    fn NINTERSECTION "NINTERSECTION" "(list-1 list-2 &key key test test-not)" (ctx, a) {
        let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 2))?;
        Ok(list_from(pushed(filter_members(ctx, &t, &a[0], &a[1], true)?)))
    }
    /// Elements of LIST-1 not in LIST-2 (in reverse order, as SBCL).
    fn SET_DIFFERENCE "SET-DIFFERENCE" "(list-1 list-2 &key key test test-not)" (ctx, a) { set_difference(ctx, a) }
    /// Like SET-DIFFERENCE (may reuse LIST-1).
    fn NSET_DIFFERENCE "NSET-DIFFERENCE" "(list-1 list-2 &key key test test-not)" (ctx, a) { set_difference(ctx, a) }
    /// Elements in exactly one of the lists.
    fn SET_EXCLUSIVE_OR "SET-EXCLUSIVE-OR" "(list-1 list-2 &key key test test-not)" (ctx, a) { set_exclusive_or(ctx, a) }
    /// Like SET-EXCLUSIVE-OR (may reuse the lists).
    fn NSET_EXCLUSIVE_OR "NSET-EXCLUSIVE-OR" "(list-1 list-2 &key key test test-not)" (ctx, a) { set_exclusive_or(ctx, a) }
    /// Whether every element of LIST-1 is in LIST-2.
    fn SUBSETP "SUBSETP" "(list-1 list-2 &key key test test-not)" (ctx, a) {
        let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 2))?;
        for x in list_items(ctx, &a[0])? {
            if !set_member(ctx, &t, &x, &a[1])? { return Ok(Value::Nil); }
        }
        Ok(Value::t())
    }
    /// Apply FUNCTION to successive elements; return the list of results.
    fn MAPCAR "MAPCAR" "(function list &rest more-lists)" (ctx, a) { mapper(ctx, a, false, 1) }
    /// Apply FUNCTION to successive elements; return the first list.
    fn MAPC "MAPC" "(function list &rest more-lists)" (ctx, a) { mapper(ctx, a, false, 0) }
    /// Apply FUNCTION to successive elements; NCONC the results.
    fn MAPCAN "MAPCAN" "(function list &rest more-lists)" (ctx, a) { mapper(ctx, a, false, 2) }
    /// Apply FUNCTION to successive tails; return the list of results.
    fn MAPLIST "MAPLIST" "(function list &rest more-lists)" (ctx, a) { mapper(ctx, a, true, 1) }
    /// Apply FUNCTION to successive tails; return the first list.
    fn MAPL "MAPL" "(function list &rest more-lists)" (ctx, a) { mapper(ctx, a, true, 0) }
    /// Apply FUNCTION to successive tails; NCONC the results.
    fn MAPCON "MAPCON" "(function list &rest more-lists)" (ctx, a) { mapper(ctx, a, true, 2) }
}

/// SETF functions defined by this module.
pub fn setters() -> Vec<(&'static str, &'static crate::function::Builtin)> {
    let mut v: Vec<(&'static str, &'static crate::function::Builtin)> = CXR_SETTERS.to_vec();
    v.push(("NTH", &SETF_NTH));
    v
}

/// Is `opt_function` used here? (kept for other modules).
pub fn optional_function(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Option<Value>> {
    opt_function(ctx, a, i)
}

/// The elements of `list` that are (`keep_members`) or are not members of
/// `other`, in order.
fn filter_members(
    ctx: &mut Ctx,
    t: &Tester,
    list: &Value,
    other: &Value,
    keep_members: bool,
) -> R<Vec<Value>> {
    let mut out = Vec::new();
    for x in list_items(ctx, list)? {
        if set_member(ctx, t, &x, other)? == keep_members {
            out.push(x);
        }
    }
    Ok(out)
}

/// Items in the order PUSHing them one by one would leave them.
fn pushed(mut items: Vec<Value>) -> Vec<Value> {
    items.reverse();
    items
}

fn union(ctx: &mut Ctx, a: &[Value]) -> R {
    let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 2))?;
    if a[0].is_nil() {
        return Ok(a[1].clone());
    }
    if a[1].is_nil() {
        return Ok(a[0].clone());
    }
    let (n1, n2) = (list_items(ctx, &a[0])?.len(), list_items(ctx, &a[1])?.len());
    let (short, long) = if n1 < n2 {
        (&a[0], &a[1])
    } else {
        (&a[1], &a[0])
    };
    let mut out = pushed(filter_members(ctx, &t, long, short, false)?);
    out.extend(short.iter());
    Ok(list_from(out))
}

fn set_difference(ctx: &mut Ctx, a: &[Value]) -> R {
    let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 2))?;
    if a[1].is_nil() {
        return Ok(a[0].clone());
    }
    Ok(list_from(pushed(filter_members(
        ctx, &t, &a[0], &a[1], false,
    )?)))
}

fn set_exclusive_or(ctx: &mut Ctx, a: &[Value]) -> R {
    let t = Tester::new(ctx, opt(a, 3), opt(a, 4), opt(a, 2))?;
    let mut out = pushed(filter_members(ctx, &t, &a[1], &a[0], false)?);
    out.extend(pushed(filter_members(ctx, &t, &a[0], &a[1], false)?));
    Ok(list_from(out))
}
