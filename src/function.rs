//! Function objects and the builtin registry.
//!
//! Every builtin is one [`Builtin`] value: name, lambda list, docstring and
//! body side by side (see [`crate::defbuiltins`]). Arity and keyword errors,
//! `describe`, `documentation`, REPL completion and `docs/reference.md` all
//! read that one definition.

use crate::compiler::Lambda;
use crate::ctx::{Ctx, R};
use crate::gc::{Gc, Trace, Tracer};
use crate::value::{Value, VarCell};
use std::rc::Rc;
use std::sync::OnceLock;

/// Signature of a builtin's body.
pub type BuiltinFn = fn(&mut Ctx, &[Value]) -> R;

/// What a builtin is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An ordinary function.
    Function,
    /// A macro written in Rust: called with (form env), returns the expansion.
    Macro,
    /// A special operator, compiled directly (the body is never called).
    SpecialForm,
}

/// Builtin flag: the body sets `ctx.nvals` itself (returns multiple values
/// or passes through a callee's values).
pub const MV: u8 = 1;
/// Builtin flag: pass &key arguments through unparsed.
pub const RAW: u8 = 2;

/// Arity facts computed from a lambda list at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sig {
    /// Required arguments.
    pub req: u16,
    /// Optional arguments.
    pub opt: u16,
    /// Has &rest or &body.
    pub rest: bool,
    /// Has &key.
    pub key: bool,
    /// Has &allow-other-keys.
    pub allow_other_keys: bool,
}

impl Sig {
    /// Largest argument count accepted, or None if unbounded.
    pub fn max(&self) -> Option<usize> {
        if self.rest || self.key {
            None
        } else {
            Some((self.req + self.opt) as usize)
        }
    }
}

const fn word_is(b: &[u8], start: usize, end: usize, w: &[u8]) -> bool {
    if end - start != w.len() {
        return false;
    }
    let mut i = 0;
    while i < w.len() {
        let c = b[start + i];
        let c = if c >= b'a' && c <= b'z' { c - 32 } else { c };
        if c != w[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Compute the arity of a lambda list written as text, at compile time.
pub const fn parse_sig(ll: &str) -> Sig {
    let b = ll.as_bytes();
    let mut sig = Sig {
        req: 0,
        opt: 0,
        rest: false,
        key: false,
        allow_other_keys: false,
    };
    // mode: 0 required, 1 optional, 2 rest, 3 key, 4 aux
    let mut mode = 0;
    let mut depth = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'(' {
            if depth == 1 {
                // a parenthesised parameter spec counts as one element
                match mode {
                    0 => sig.req += 1,
                    1 => sig.opt += 1,
                    _ => {}
                }
            }
            depth += 1;
            i += 1;
        } else if c == b')' {
            depth -= 1;
            i += 1;
        } else if c == b' ' || c == b'\n' || c == b'\t' {
            i += 1;
        } else {
            let start = i;
            while i < b.len() && b[i] != b' ' && b[i] != b'(' && b[i] != b')' && b[i] != b'\n' {
                i += 1;
            }
            if depth != 1 {
                continue;
            }
            if b[start] == b'&' {
                if word_is(b, start, i, b"&OPTIONAL") {
                    mode = 1;
                } else if word_is(b, start, i, b"&REST") || word_is(b, start, i, b"&BODY") {
                    mode = 2;
                    sig.rest = true;
                } else if word_is(b, start, i, b"&KEY") {
                    mode = 3;
                    sig.key = true;
                } else if word_is(b, start, i, b"&ALLOW-OTHER-KEYS") {
                    sig.allow_other_keys = true;
                } else if word_is(b, start, i, b"&AUX") {
                    mode = 4;
                } else if word_is(b, start, i, b"&WHOLE") || word_is(b, start, i, b"&ENVIRONMENT") {
                    mode = 5;
                }
            } else {
                match mode {
                    0 => sig.req += 1,
                    1 => sig.opt += 1,
                    5 => mode = 0,
                    _ => {}
                }
            }
        }
    }
    sig
}

/// A function implemented in Rust.
pub struct Builtin {
    /// Symbol name, optionally package-qualified ("MP:PROCESS-NAME");
    /// unqualified names live in COMMON-LISP.
    pub name: &'static str,
    /// The lambda list, as Lisp text.
    pub lambda_list: &'static str,
    /// The docstring.
    pub doc: &'static str,
    /// The body.
    pub f: BuiltinFn,
    /// Arity.
    pub sig: Sig,
    /// Function, macro or special form.
    pub kind: Kind,
    /// Flags ([`MV`], [`RAW`]).
    pub flags: u8,
    /// Keyword names of &key parameters, parsed on first use.
    pub keys: OnceLock<Box<[Box<str>]>>,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#<builtin {}>", self.name)
    }
}

impl Builtin {
    /// A builtin definition (used by [`crate::defbuiltins`]).
    pub const fn new(
        name: &'static str,
        lambda_list: &'static str,
        doc: &'static str,
        f: BuiltinFn,
        kind: Kind,
        flags: u8,
    ) -> Builtin {
        Builtin {
            name,
            lambda_list,
            doc,
            f,
            sig: parse_sig(lambda_list),
            kind,
            flags,
            keys: OnceLock::new(),
        }
    }

    /// The package and symbol name.
    pub fn split_name(&self) -> (&'static str, &'static str) {
        match self.name.find(':') {
            Some(i) => (&self.name[..i], self.name[i + 1..].trim_start_matches(':')),
            None => ("COMMON-LISP", self.name),
        }
    }

    /// Whether the name is internal to its package ("COMM::CLOSE-SOCKET").
    pub fn is_internal(&self) -> bool {
        self.name.contains("::")
    }

    /// The symbol name without package.
    pub fn symbol_name(&self) -> &'static str {
        self.split_name().1
    }

    /// The docstring with the indentation of `///` comments removed.
    pub fn docstring(&self) -> String {
        self.doc
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string()
    }

    /// Keyword names of the &key parameters, in lambda-list order.
    pub fn key_names(&self) -> &[Box<str>] {
        self.keys.get_or_init(|| key_names_of(self.lambda_list))
    }
}

/// Extract &key parameter keyword names from a textual lambda list.
fn key_names_of(ll: &str) -> Box<[Box<str>]> {
    let up = ll.to_ascii_uppercase();
    let Some(k) = up.find("&KEY") else {
        return Box::new([]);
    };
    let mut out = Vec::new();
    let rest = &up[k + 4..];
    let mut depth = 0i32;
    let mut chars = rest.char_indices().peekable();
    let bytes = rest.as_bytes();
    let mut i = 0;
    let _ = &mut chars;
    while i < bytes.len() {
        let c = bytes[i] as char;
        match c {
            '(' => {
                depth += 1;
                if depth == 1 {
                    // (var default) or ((:kw var) default)
                    let j = i + 1;
                    if bytes.get(j) == Some(&b'(') {
                        let end = rest[j + 1..]
                            .find([' ', ')'])
                            .map(|e| e + j + 1)
                            .unwrap_or(rest.len());
                        out.push(rest[j + 1..end].trim_start_matches(':').into());
                    } else {
                        let end = rest[j..]
                            .find([' ', ')'])
                            .map(|e| e + j)
                            .unwrap_or(rest.len());
                        out.push(rest[j..end].into());
                    }
                }
                i += 1;
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    break;
                }
                i += 1;
            }
            ' ' | '\n' | '\t' => i += 1,
            _ => {
                let end = rest[i..]
                    .find([' ', ')', '(', '\n'])
                    .map(|e| e + i)
                    .unwrap_or(rest.len());
                let word = &rest[i..end];
                if depth == 0 {
                    if word.starts_with('&') {
                        if word != "&ALLOW-OTHER-KEYS" {
                            break;
                        }
                    } else {
                        out.push(word.into());
                    }
                }
                i = end;
            }
        }
    }
    out.into_boxed_slice()
}

/// A function written in Rust and registered at run time (embedding).
pub struct NativeFn {
    /// The function's name.
    pub name: String,
    /// Lambda list text.
    pub lambda_list: String,
    /// Docstring.
    pub doc: String,
    /// Arity.
    pub sig: Sig,
    /// The body.
    pub f: NativeBody,
}

/// The Rust body of a native function.
pub type NativeBody = Box<dyn Fn(&mut Ctx, &[Value]) -> R>;

/// The different kinds of functions.
pub enum FnKind {
    /// A builtin from the static registry.
    Builtin(&'static Builtin),
    /// A function registered at run time from Rust.
    Native(Rc<NativeFn>),
    /// An interpreted function with its captured variables.
    Closure {
        /// The compiled code.
        code: Rc<Lambda>,
        /// Captured variable boxes.
        env: Box<[Gc<VarCell>]>,
    },
    /// A CLOS generic function.
    Generic(Box<crate::clos::Generic>),
    /// A function written in Rust that closes over Lisp values
    /// (CONSTANTLY, COMPLEMENT, accessors made by DEFSTRUCT, ...).
    Bound(Box<BoundFn>),
}

/// Body of a [`BoundFn`]: context, captured values, arguments.
pub type BoundFnPtr = fn(&mut Ctx, &[Value], &[Value]) -> R;

/// A Rust function with captured Lisp values.
pub struct BoundFn {
    /// Name shown when printed.
    pub name: Value,
    /// Captured values.
    pub env: Vec<Value>,
    /// The body.
    pub f: BoundFnPtr,
    /// Argument counts accepted: at least `.0`, at most `.1` if given.
    /// The body may index `args` within these bounds.
    pub arity: (usize, Option<usize>),
}

/// A function object.
pub struct Function {
    /// What kind of function, with its data.
    pub kind: FnKind,
}

impl Function {
    /// The function's name (a symbol, a `(setf name)` list, or NIL).
    pub fn name(&self) -> Value {
        match &self.kind {
            FnKind::Builtin(b) => crate::builtins::builtin_symbol(b),
            FnKind::Native(n) => crate::reader::read_symbol_name(&n.name),
            FnKind::Closure { code, .. } => code.name.clone(),
            FnKind::Generic(g) => g.name.clone(),
            FnKind::Bound(b) => b.name.clone(),
        }
    }

    /// The lambda list as text, if known.
    pub fn lambda_list_text(&self) -> Option<String> {
        match &self.kind {
            FnKind::Builtin(b) => Some(b.lambda_list.to_string()),
            FnKind::Native(n) => Some(n.lambda_list.clone()),
            FnKind::Closure { code, .. } => {
                Some(crate::printer::princ_string(&code.lambda_list_form))
            }
            FnKind::Generic(g) => Some(crate::printer::princ_string(&g.lambda_list.borrow())),
            FnKind::Bound(_) => None,
        }
    }

    /// The docstring, if any.
    pub fn doc(&self) -> Option<String> {
        match &self.kind {
            FnKind::Builtin(b) => Some(b.docstring()).filter(|d| !d.is_empty()),
            FnKind::Native(n) => Some(n.doc.clone()).filter(|d| !d.is_empty()),
            FnKind::Closure { code, .. } => code.doc.clone(),
            FnKind::Generic(g) => g.doc.borrow().clone(),
            FnKind::Bound(_) => None,
        }
    }

    /// Wrap a static builtin.
    pub fn builtin(b: &'static Builtin) -> Value {
        Value::Function(Gc::new(Function {
            kind: FnKind::Builtin(b),
        }))
    }
}

unsafe impl Trace for Function {
    fn trace(&self, t: &mut Tracer) {
        match &self.kind {
            FnKind::Closure { env, .. } => {
                for c in env.iter() {
                    t.gc(c);
                }
            }
            FnKind::Generic(g) => g.trace(t),
            FnKind::Bound(b) => {
                b.name.trace(t);
                for v in &b.env {
                    v.trace(t);
                }
            }
            _ => {}
        }
    }
    fn clear(&self) {
        match &self.kind {
            FnKind::Closure { env, .. } => {
                for c in env.iter() {
                    c.set(Value::Nil);
                }
            }
            FnKind::Generic(g) => g.clear(),
            _ => {}
        }
    }
    fn is_tracked(&self) -> bool {
        matches!(
            &self.kind,
            FnKind::Closure { .. } | FnKind::Generic(_) | FnKind::Bound(_)
        )
    }
}

/// Define builtins: each is a docstring, `fn IDENT "NAME" "(lambda list)"`,
/// optional flags in brackets, the context and argument names, and a body.
/// Also defines `pub static BUILTINS`, the module's registration table.
///
/// ```ignore
/// defbuiltins! {
///     /// Return the car of LIST.
///     fn CAR "CAR" "(list)" (ctx, a) { ... }
/// }
/// ```
#[macro_export]
macro_rules! defbuiltins {
    ($( $(#[doc = $doc:literal])* $kind:ident $id:ident $name:literal $ll:literal
        $([$($flag:ident),*])? ($ctx:ident, $args:ident) $body:block )*) => {
        $(
            #[allow(non_upper_case_globals, missing_docs)]
            pub static $id: $crate::function::Builtin = $crate::function::Builtin::new(
                $name,
                $ll,
                concat!($($doc, "\n"),*),
                {
                    #[allow(unused_variables, unused_mut, clippy::needless_return)]
                    fn f($ctx: &mut $crate::ctx::Ctx, $args: &[$crate::value::Value])
                        -> $crate::ctx::R $body
                    f
                },
                $crate::defbuiltins!(@kind $kind),
                0 $($(| $crate::defbuiltins!(@flag $flag))*)?,
            );
        )*
        /// This module's builtins, for registration.
        pub static BUILTINS: &[&$crate::function::Builtin] = &[$(&$id),*];
    };
    (@kind fn) => { $crate::function::Kind::Function };
    (@kind macro) => { $crate::function::Kind::Macro };
    (@kind special) => { $crate::function::Kind::SpecialForm };
    (@flag mv) => { $crate::function::MV };
    (@flag raw) => { $crate::function::RAW };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_computed_from_lambda_lists() {
        assert_eq!(parse_sig("(list)").req, 1);
        let s = parse_sig("(a &optional (b 1) c &rest r)");
        assert_eq!((s.req, s.opt, s.rest, s.key), (1, 2, true, false));
        let s = parse_sig("(item list &key key (test #'eql) test-not)");
        assert_eq!((s.req, s.opt, s.key), (2, 0, true));
        assert_eq!(parse_sig("()").max(), Some(0));
        let s = parse_sig("(&whole w name &body body)");
        assert_eq!((s.req, s.rest), (1, true));
    }

    #[test]
    fn key_names_are_extracted() {
        let k = key_names_of("(item list &key key (test #'eql) ((:foo bar) 1) test-not)");
        let k: Vec<&str> = k.iter().map(|s| &**s).collect();
        assert_eq!(k, vec!["KEY", "TEST", "FOO", "TEST-NOT"]);
        let k = key_names_of("(x &key a &allow-other-keys)");
        assert_eq!(k.len(), 1);
    }
}
