//! The printer: PRIN1, PRINC, PRINT and WRITE under the printer control
//! variables, with SBCL's pretty-print dispatch for lists and vectors so
//! that a script prints what SBCL prints.

pub mod pretty;

use crate::array::{Array, ArrayData};
use crate::clos::ClassKind;
use crate::ctx::{Ctx, R};
use crate::function::FnKind;
use crate::gc::Gc;
use crate::number;
use crate::package::Package;
use crate::symbol::Symbol;
use crate::value::Value;
use crate::world::{symbol_of, w};
use pretty::{IndentKind, NewlineKind, PrettyState};
use std::cell::RefCell;
use std::rc::Rc;

/// *PRINT-CASE*.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// :UPCASE
    Upcase,
    /// :DOWNCASE
    Downcase,
    /// :CAPITALIZE
    Capitalize,
}

/// Printer control settings.
#[derive(Clone)]
pub struct Opts {
    /// *PRINT-ESCAPE*
    pub escape: bool,
    /// *PRINT-READABLY*
    pub readably: bool,
    /// *PRINT-BASE*
    pub base: u32,
    /// *PRINT-RADIX*
    pub radix: bool,
    /// *PRINT-CASE*
    pub case: Case,
    /// *PRINT-PRETTY*
    pub pretty: bool,
    /// *PRINT-CIRCLE*
    pub circle: bool,
    /// *PRINT-LENGTH*
    pub length: Option<usize>,
    /// *PRINT-LEVEL*
    pub level: Option<usize>,
    /// *PRINT-LINES*
    pub lines: Option<usize>,
    /// *PRINT-RIGHT-MARGIN* (80 when NIL)
    pub right_margin: usize,
    /// *PRINT-MISER-WIDTH*
    pub miser_width: Option<usize>,
    /// *PRINT-ARRAY*
    pub array: bool,
    /// *PRINT-GENSYM*
    pub gensym: bool,
    /// *PACKAGE*
    pub package: Option<Rc<Package>>,
    /// *READ-DEFAULT-FLOAT-FORMAT* is SINGLE-FLOAT.
    pub single_default: bool,
}

fn opt_usize(v: Value) -> Option<usize> {
    match v {
        Value::Fixnum(n) if n >= 0 => Some(n as usize),
        _ => None,
    }
}

impl Opts {
    /// The settings in effect now.
    pub fn current() -> Opts {
        let s = &w().s;
        let truthy =
            |sym: &Gc<Symbol>| sym.value().truthy() && !matches!(sym.value(), Value::Unbound);
        let case = match s.print_case.value() {
            Value::Symbol(k) if k.name() == "DOWNCASE" => Case::Downcase,
            Value::Symbol(k) if k.name() == "CAPITALIZE" => Case::Capitalize,
            _ => Case::Upcase,
        };
        let base = match s.print_base.value() {
            Value::Fixnum(n) if (2..=36).contains(&n) => n as u32,
            _ => 10,
        };
        let package = match s.package.value() {
            Value::Package(p) => Some(p),
            _ => None,
        };
        let single_default = match s.read_default_float_format.value() {
            Value::Symbol(k) => !matches!(k.name(), "DOUBLE-FLOAT" | "LONG-FLOAT"),
            _ => true,
        };
        Opts {
            escape: truthy(&s.print_escape),
            readably: truthy(&s.print_readably),
            base,
            radix: truthy(&s.print_radix),
            case,
            pretty: truthy(&s.print_pretty),
            circle: truthy(&s.print_circle),
            length: opt_usize(s.print_length.value()),
            level: opt_usize(s.print_level.value()),
            lines: opt_usize(s.print_lines.value()),
            right_margin: opt_usize(s.print_right_margin.value()).unwrap_or(80),
            miser_width: opt_usize(s.print_miser_width.value()),
            array: truthy(&s.print_array),
            gensym: truthy(&s.print_gensym),
            package,
            single_default,
        }
    }

    /// Settings for PRIN1 (escape on).
    pub fn prin1() -> Opts {
        let mut o = Opts::current();
        o.escape = true;
        o
    }

    /// Settings for PRINC (escape and readably off).
    pub fn princ() -> Opts {
        let mut o = Opts::current();
        o.escape = false;
        o.readably = false;
        o
    }
}

enum Sink {
    Plain(String),
    Pretty(Rc<RefCell<PrettyState>>),
}

/// Prints objects into a string, plainly or through the XP engine.
pub struct Printer<'a> {
    ctx: Option<&'a mut Ctx>,
    /// Settings.
    pub o: Opts,
    sink: Sink,
    depth: usize,
    circle: Option<Circle>,
    /// The stack pointer when printing started (for printers without a
    /// context, whose stack use is bounded by `NO_CTX_STACK`).
    start_sp: usize,
    /// Set when the object nests too deeply for the stack: printing
    /// stops, and the callers with a context signal a STORAGE-CONDITION.
    too_deep: bool,
}

/// The stack a printer without a context (messages, describe) may use:
/// what a storage condition leaves its handlers. Deeper nesting is cut
/// short in those texts.
const NO_CTX_STACK: usize = crate::ctx::STACK_RESERVE;

fn stack_pointer() -> usize {
    let marker = 0u8;
    &marker as *const u8 as usize
}

struct Circle {
    /// Objects seen more than once, with their label once printed.
    shared: hashbrown::HashMap<usize, Option<usize>>,
    next: usize,
}

fn obj_addr(v: &Value) -> Option<usize> {
    match v {
        Value::Cons(c) => Some(c.addr()),
        Value::Array(a) if !a.is_string() => Some(a.addr()),
        Value::Instance(i) => Some(i.addr()),
        Value::Symbol(s) if s.is_uninterned() => Some(s.addr()),
        _ => None,
    }
}

/// How a list is printed in pretty mode.
#[derive(Clone, Copy)]
enum Style {
    Fill,
    FunCall,
    SpreadFunCall,
    Linear,
    Let,
    If,
    Block,
    Defun,
    Defmethod,
    Lambda,
    Flet,
    Quote,
    Progv,
    Prog2,
    Setq,
    Tagbody,
    Case,
    Typecase,
    Do,
    Dolist,
    Prog,
    Loop,
    DestructuringBind,
    Defpackage,
    MacroBody(usize),
}

impl<'a> Printer<'a> {
    /// A printer with the given settings, starting at `column`.
    pub fn new(ctx: Option<&'a mut Ctx>, o: Opts, column: usize) -> Printer<'a> {
        let sink = if o.pretty {
            Sink::Pretty(Rc::new(RefCell::new(PrettyState::new(
                column,
                o.right_margin,
                o.miser_width,
                o.lines,
                o.readably,
            ))))
        } else {
            Sink::Plain(String::new())
        };
        Printer {
            ctx,
            o,
            sink,
            depth: 0,
            circle: None,
            start_sp: stack_pointer(),
            too_deep: false,
        }
    }

    /// A printer that emits into an existing pretty stream.
    pub fn into_pretty(
        ctx: Option<&'a mut Ctx>,
        o: Opts,
        state: Rc<RefCell<PrettyState>>,
    ) -> Printer<'a> {
        Printer {
            ctx,
            o,
            sink: Sink::Pretty(state),
            depth: 0,
            circle: None,
            start_sp: stack_pointer(),
            too_deep: false,
        }
    }

    /// Whether printing stopped because the object nests too deeply.
    pub fn too_deep(&self) -> bool {
        self.too_deep
    }

    /// The STORAGE-CONDITION for a printer that stopped too deep, if it did.
    pub fn check(&mut self) -> R<()> {
        if !self.too_deep {
            return Ok(());
        }
        match self.ctx.as_deref_mut() {
            Some(ctx) => Err(crate::conditions::stack_exhausted(ctx)),
            None => Ok(()),
        }
    }

    /// Finish and return the text, or the STORAGE-CONDITION if the object
    /// nested too deeply to print.
    pub fn finish_checked(mut self) -> R<String> {
        self.check()?;
        Ok(self.finish())
    }

    /// Finish and return the text.
    pub fn finish(self) -> String {
        match self.sink {
            Sink::Plain(s) => s,
            Sink::Pretty(p) => p.borrow_mut().finish(),
        }
    }

    /// Emit text.
    pub fn text(&mut self, s: &str) {
        match &mut self.sink {
            Sink::Plain(out) => out.push_str(s),
            Sink::Pretty(p) => p.borrow_mut().write_str(s),
        }
    }

    fn start_block(&mut self, prefix: &str, suffix: &str) {
        match &mut self.sink {
            Sink::Plain(out) => out.push_str(prefix),
            Sink::Pretty(p) => p.borrow_mut().start_block(Some(prefix), false, suffix),
        }
    }

    fn end_block(&mut self, suffix: &str) {
        match &mut self.sink {
            Sink::Plain(out) => out.push_str(suffix),
            Sink::Pretty(p) => p.borrow_mut().end_block(),
        }
    }

    fn nl(&mut self, kind: NewlineKind) {
        if let Sink::Pretty(p) = &mut self.sink {
            p.borrow_mut().newline(kind);
        }
    }

    fn indent(&mut self, kind: IndentKind, n: i64) {
        if let Sink::Pretty(p) = &mut self.sink {
            p.borrow_mut().indent(kind, n);
        }
    }

    /// Print an object.
    pub fn print(&mut self, v: &Value) {
        // Every nested object comes through here: stop before the stack
        // runs out (a million nested lists used to abort the process).
        let exhausted = match &self.ctx {
            Some(c) => c.stack_exhausted(),
            None => self.start_sp.saturating_sub(stack_pointer()) > NO_CTX_STACK,
        };
        if exhausted || self.too_deep {
            if !self.too_deep {
                self.too_deep = true;
                self.text("...");
            }
            return;
        }
        if self.o.circle && self.circle.is_none() && self.depth == 0 {
            self.circle = Some(find_shared(v));
        }
        if let Some(addr) = obj_addr(v) {
            if let Some(c) = &mut self.circle {
                match c.shared.get(&addr).copied() {
                    Some(Some(label)) => {
                        self.text(&format!("#{}#", label));
                        return;
                    }
                    Some(None) => {
                        c.next += 1;
                        let label = c.next;
                        c.shared.insert(addr, Some(label));
                        self.text(&format!("#{}=", label));
                    }
                    None => {}
                }
            }
        }
        self.print_inner(v);
    }

    fn print_inner(&mut self, v: &Value) {
        match v {
            Value::Nil => self.symbol_name_value(None, "NIL", false),
            Value::Unbound => self.text("#<unbound>"),
            Value::Fixnum(_) | Value::Bignum(_) => self.integer(v),
            Value::Ratio(r) => {
                let mut s = String::new();
                if self.o.radix {
                    s.push_str(&radix_prefix(self.o.base));
                }
                s.push_str(&number::ratio_string(r, self.o.base));
                self.text(&s);
            }
            Value::Single(f) => self.text(&number::float_string(
                *f as f64,
                true,
                self.o.single_default,
            )),
            Value::Double(f) => self.text(&number::float_string(*f, false, self.o.single_default)),
            Value::Complex(c) => {
                self.text("#C(");
                let (re, im) = (c.re.clone(), c.im.clone());
                self.print(&re);
                self.text(" ");
                self.print(&im);
                self.text(")");
            }
            Value::Char(c) => self.character(*c),
            Value::Symbol(s) => self.symbol(s),
            Value::Cons(_) => self.list(v),
            Value::Array(a) => self.array(a),
            Value::Function(f) => {
                let name = f.name();
                match &f.kind {
                    FnKind::Generic(_) => {
                        let n = prin1_string(&name);
                        self.text(&format!("#<STANDARD-GENERIC-FUNCTION {}>", n))
                    }
                    FnKind::Closure { code, .. } if name.is_nil() => {
                        let ll = prin1_string(&code.lambda_list_form);
                        let ll = if code.lambda_list_form.is_nil() {
                            "()".to_string()
                        } else {
                            ll
                        };
                        self.text(&format!("#<FUNCTION (LAMBDA {}) {{{:X}}}>", ll, f.addr()))
                    }
                    // Anonymous and local functions: (LAMBDA (X) :IN F).
                    FnKind::Closure { .. } if name.is_cons() && !is_setf_name(&name) => {
                        // Printed like SBCL: the name as a (pretty) list,
                        // with () for an empty lambda list.
                        self.text("#<FUNCTION ");
                        let escape = std::mem::replace(&mut self.o.escape, true);
                        if name.second().is_nil()
                            && name.first().eq(&Value::Symbol(w().s.lambda.clone()))
                        {
                            self.text("(LAMBDA ()");
                            for x in name.rest().rest().iter() {
                                self.text(" ");
                                self.print(&x);
                            }
                            self.text(")");
                        } else if matches!(self.sink, Sink::Pretty(_)) && !name.second().is_list() {
                            // (FLET H :IN G) is not a FLET form: print it plainly.
                            self.depth += 1;
                            self.styled(Style::Linear, &name);
                            self.depth -= 1;
                        } else {
                            self.print(&name);
                        }
                        self.o.escape = escape;
                        self.text(&format!(" {{{:X}}}>", f.addr()))
                    }
                    _ => {
                        let n = prin1_string(&name);
                        self.text(&format!("#<FUNCTION {}>", n))
                    }
                }
            }
            Value::HashTable(h) => {
                let s = format!(
                    "#<HASH-TABLE :TEST {} :COUNT {} {{{:X}}}>",
                    h.test.name(),
                    h.count(),
                    h.addr()
                );
                self.text(&s)
            }
            Value::Package(p) => {
                let s = format!("#<PACKAGE \"{}\">", p.name());
                self.text(&s)
            }
            Value::Stream(s) => {
                let desc = match (&s.path, s.bytes()) {
                    (Some(p), _) => format!(" for \"file {}\"", p),
                    (None, Some(b)) => format!(" for \"{}\"", b.io.borrow().describe()),
                    _ => String::new(),
                };
                let name = match s.bytes().and_then(|b| b.io.borrow().class()) {
                    Some(c) => crate::printer::prin1_with_prefix(&c.name()),
                    None => s.type_name.to_string(),
                };
                let t = format!("#<{}{} {{{:X}}}>", name, desc, s.addr());
                self.text(&t)
            }
            Value::Instance(i) => self.instance(v, i),
            Value::Class(c) => {
                let kind = match c.kind {
                    ClassKind::BuiltIn => "BUILT-IN-CLASS",
                    ClassKind::Structure => "STRUCTURE-CLASS",
                    ClassKind::Condition => "CONDITION-CLASS",
                    ClassKind::Standard => "STANDARD-CLASS",
                };
                let t = format!("#<{} {}>", kind, c.name_string());
                self.text(&t)
            }
            Value::Cell(c) => {
                let inner = c.get();
                self.print(&inner)
            }
            Value::Foreign(f) => {
                if let Some(p) = crate::pathname::pathname_of(v) {
                    let t = if self.o.escape {
                        format!("#P{}", escape_string(&p))
                    } else {
                        p
                    };
                    self.text(&t);
                    return;
                }
                if !self.o.escape {
                    if let Some(ctx) = self.ctx.as_deref_mut() {
                        if let Some(t) = f.obj.princ_text(ctx) {
                            self.text(&t);
                            return;
                        }
                    }
                }
                let d = f.obj.describe();
                let t = if !f.obj.print_identity() {
                    format!("#<{} {}>", f.obj.type_name(), d)
                } else if d.is_empty() {
                    format!("#<{} {{{:X}}}>", f.obj.type_name(), f.addr())
                } else {
                    format!("#<{} {} {{{:X}}}>", f.obj.type_name(), d, f.addr())
                };
                self.text(&t)
            }
        }
    }

    fn integer(&mut self, v: &Value) {
        let mut s = String::new();
        if self.o.radix && self.o.base != 10 {
            s.push_str(&radix_prefix(self.o.base));
        }
        s.push_str(&number::integer_string(v, self.o.base));
        if self.o.radix && self.o.base == 10 {
            s.push('.');
        }
        self.text(&s);
    }

    fn character(&mut self, c: char) {
        if !self.o.escape {
            let mut b = [0u8; 4];
            self.text(c.encode_utf8(&mut b));
            return;
        }
        let readable_name = if self.o.readably {
            crate::chars::unicode_name(c)
        } else {
            None
        };
        let s = if let Some(n) = readable_name {
            // SBCL spells characters out under *PRINT-READABLY*.
            format!("#\\{}", n)
        } else if crate::chars::is_graphic(c) {
            format!("#\\{}", c)
        } else {
            format!(
                "#\\{}",
                crate::chars::char_name(c).unwrap_or_else(|| format!("U+{:04X}", c as u32))
            )
        };
        self.text(&s);
    }

    fn symbol(&mut self, s: &Gc<Symbol>) {
        let pkg = s.package();
        self.symbol_name_value(Some(s), s.name(), pkg.is_none());
    }

    fn symbol_name_value(&mut self, sym: Option<&Gc<Symbol>>, name: &str, uninterned: bool) {
        if !self.o.escape {
            let t = apply_case(name, self.o.case);
            self.text(&t);
            return;
        }
        let mut out = String::new();
        let wd = w();
        match sym {
            Some(s) if s.home_is(&wd.keyword) => out.push(':'),
            Some(s) if uninterned || s.is_uninterned() => {
                if self.o.gensym || self.o.readably {
                    out.push_str("#:");
                }
            }
            Some(s) => {
                let accessible = match &self.o.package {
                    Some(p) => p.find(name).is_some_and(|(f, _)| Gc::ptr_eq(&f, s)),
                    None => false,
                };
                if !accessible {
                    if let Some(home) = s.package() {
                        out.push_str(&escape_symbol_name(&home.name(), self.o.case));
                        let external = home.find_external(name).is_some_and(|f| Gc::ptr_eq(&f, s));
                        out.push_str(if external { ":" } else { "::" });
                    }
                }
            }
            None => {
                // NIL: accessible unless the current package shadows it.
                if let Some(p) = &self.o.package {
                    if !p
                        .find("NIL")
                        .is_some_and(|(f, _)| crate::world::is_nil_symbol(&f))
                    {
                        out.push_str("COMMON-LISP:");
                    }
                }
            }
        }
        out.push_str(&escape_symbol_name(name, self.o.case));
        self.text(&out);
    }

    fn list(&mut self, v: &Value) {
        if let Some(level) = self.o.level {
            if self.depth >= level {
                self.text("#");
                return;
            }
        }
        // Quote forms and backquote syntax.
        let head = v.first();
        if let Value::Symbol(h) = &head {
            let rest = v.rest();
            if rest.is_cons() && rest.rest().is_nil() {
                let wd = w();
                // Without *PRINT-PRETTY*, SBCL writes (QUOTE X) in full;
                // backquote syntax always prints as written.
                let pretty = matches!(self.sink, Sink::Pretty(_)) || self.o.pretty;
                let sugar = if Gc::ptr_eq(h, &wd.s.quote) && pretty {
                    Some("'")
                } else if Gc::ptr_eq(h, &wd.s.function) && pretty {
                    Some("#'")
                } else if Gc::ptr_eq(h, &wd.s.quasiquote) {
                    Some("`")
                } else if Gc::ptr_eq(h, &wd.s.unquote) {
                    Some(",")
                } else if Gc::ptr_eq(h, &wd.s.unquote_splicing) {
                    Some(",@")
                } else if Gc::ptr_eq(h, &wd.s.unquote_nsplicing) {
                    Some(",.")
                } else {
                    None
                };
                if let Some(sg) = sugar {
                    self.text(sg);
                    let x = rest.first();
                    self.print(&x);
                    return;
                }
            }
        }
        self.depth += 1;
        if matches!(self.sink, Sink::Pretty(_)) {
            let style = style_for(&head);
            self.styled(style, v);
        } else {
            self.plain_list(v);
        }
        self.depth -= 1;
    }

    fn plain_list(&mut self, v: &Value) {
        self.text("(");
        let mut cur = v.clone();
        let mut n = 0;
        loop {
            match &cur {
                Value::Cons(c) => {
                    if n > 0 {
                        self.text(" ");
                    }
                    if self.o.length.is_some_and(|l| n >= l) {
                        self.text("...");
                        break;
                    }
                    if n > 0 && (self.is_circular_tail(&cur) || is_unquote_form(&cur)) {
                        self.text(". ");
                        self.print(&cur);
                        break;
                    }
                    let item = c.car();
                    self.print(&item);
                    n += 1;
                    let next = c.cdr();
                    cur = next;
                }
                Value::Nil => break,
                other => {
                    let o = other.clone();
                    self.text(" . ");
                    self.print(&o);
                    break;
                }
            }
        }
        self.text(")");
    }

    fn is_circular_tail(&self, v: &Value) -> bool {
        match (&self.circle, obj_addr(v)) {
            (Some(c), Some(a)) => c.shared.contains_key(&a),
            _ => false,
        }
    }

    // ----- pretty list styles (SBCL's pprint dispatch) -----

    /// PPRINT-POP: the next element, or None after printing ". tail" or
    /// "..." (the block must end).
    fn pop(&mut self, cur: &mut Value, n: &mut usize) -> Option<Value> {
        match cur.clone() {
            Value::Cons(c) => {
                if self.o.length.is_some_and(|l| *n >= l) {
                    self.text("...");
                    return None;
                }
                if *n > 0 && (self.is_circular_tail(cur) || is_unquote_form(cur)) {
                    self.text(". ");
                    let x = cur.clone();
                    self.print(&x);
                    return None;
                }
                *n += 1;
                *cur = c.cdr();
                Some(c.car())
            }
            Value::Nil => None,
            other => {
                self.text(". ");
                self.print(&other);
                None
            }
        }
    }

    fn out(&mut self, cur: &mut Value, n: &mut usize) -> Option<()> {
        let x = self.pop(cur, n)?;
        self.print(&x);
        Some(())
    }

    fn exhausted(cur: &Value) -> Option<()> {
        if cur.is_nil() {
            None
        } else {
            Some(())
        }
    }

    /// Print `arg` as a parenthesised logical block with `body`, or with
    /// plain WRITE if it is not a list (the ~:< rule).
    fn sub_block(
        &mut self,
        arg: &Value,
        body: impl FnOnce(&mut Self, &mut Value, &mut usize) -> Option<()>,
    ) {
        if !arg.is_list() {
            self.print(arg);
            return;
        }
        if let Some(level) = self.o.level {
            if self.depth >= level {
                self.text("#");
                return;
            }
        }
        self.depth += 1;
        self.start_block("(", ")");
        let mut cur = arg.clone();
        let mut n = 0;
        let _ = body(self, &mut cur, &mut n);
        self.end_block(")");
        self.depth -= 1;
    }

    fn fill_body(&mut self, cur: &mut Value, n: &mut usize, kind: NewlineKind) -> Option<()> {
        Self::exhausted(cur)?;
        loop {
            self.out(cur, n)?;
            Self::exhausted(cur)?;
            self.text(" ");
            self.nl(kind);
        }
    }

    fn rest_linear(&mut self, cur: &mut Value, n: &mut usize) -> Option<()> {
        // ~@{ ~_~W~}
        while !cur.is_nil() {
            self.text(" ");
            self.nl(NewlineKind::Linear);
            self.out(cur, n)?;
        }
        Some(())
    }

    fn rest_w_linear(&mut self, cur: &mut Value, n: &mut usize) -> Option<()> {
        // ~@{~W~^ ~_~}
        while !cur.is_nil() {
            self.out(cur, n)?;
            Self::exhausted(cur)?;
            self.text(" ");
            self.nl(NewlineKind::Linear);
        }
        Some(())
    }

    fn lambda_list(&mut self, ll: &Value) {
        if !ll.is_list() {
            self.print(ll);
            return;
        }
        self.sub_block(ll, |p, cur, n| {
            let mut state = 0; // 0 required, 1 optional, 2 key
            let mut first = true;
            loop {
                Self::exhausted(cur)?;
                if !first {
                    p.text(" ");
                }
                let arg = p.pop(cur, n)?;
                let name = match &arg {
                    Value::Symbol(s) => s.name().to_string(),
                    _ => String::new(),
                };
                match name.as_str() {
                    "&OPTIONAL" | "&AUX" => {
                        state = 1;
                        p.nl(NewlineKind::Linear);
                    }
                    "&REST" | "&BODY" => {
                        state = 0;
                        p.nl(NewlineKind::Linear);
                    }
                    "&KEY" => {
                        state = 2;
                        p.nl(NewlineKind::Linear);
                    }
                    _ => p.nl(NewlineKind::Fill),
                }
                if state == 0 {
                    p.sub_block(&arg, |p, c2, n2| p.fill_body(c2, n2, NewlineKind::Linear));
                } else {
                    let key = state == 2;
                    p.sub_block(&arg, |p, c2, n2| {
                        Self::exhausted(c2)?;
                        if key {
                            let first = p.pop(c2, n2)?;
                            p.sub_block(&first, |p, c3, n3| {
                                Self::exhausted(c3)?;
                                p.out(c3, n3)?;
                                Self::exhausted(c3)?;
                                p.text(" ");
                                p.nl(NewlineKind::Fill);
                                p.out(c3, n3)?;
                                loop {
                                    Self::exhausted(c3)?;
                                    p.text(" ");
                                    p.nl(NewlineKind::Fill);
                                    p.out(c3, n3)?;
                                }
                            });
                        } else {
                            p.out(c2, n2)?;
                        }
                        loop {
                            Self::exhausted(c2)?;
                            p.text(" ");
                            p.nl(NewlineKind::Linear);
                            p.out(c2, n2)?;
                        }
                    });
                }
                first = false;
            }
        });
    }

    fn styled(&mut self, style: Style, v: &Value) {
        self.depth -= 1;
        let v = v.clone();
        match style {
            Style::Fill => self.sub_block(&v, |p, c, n| p.fill_body(c, n, NewlineKind::Fill)),
            Style::Linear => self.sub_block(&v, |p, c, n| p.fill_body(c, n, NewlineKind::Linear)),
            Style::FunCall | Style::SpreadFunCall => {
                let k = if matches!(style, Style::FunCall) {
                    NewlineKind::Fill
                } else {
                    NewlineKind::Mandatory
                };
                self.sub_block(&v, |p, c, n| {
                    Self::exhausted(c)?;
                    p.out(c, n)?;
                    Self::exhausted(c)?;
                    p.text(" ");
                    p.nl(NewlineKind::Fill);
                    p.indent(IndentKind::Current, 0);
                    loop {
                        p.out(c, n)?;
                        Self::exhausted(c)?;
                        p.text(" ");
                        p.nl(k);
                    }
                })
            }
            Style::If => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.text(" ");
                p.indent(IndentKind::Current, 0);
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.text(" ");
                p.nl(NewlineKind::Mandatory);
                loop {
                    p.out(c, n)?;
                    Self::exhausted(c)?;
                    p.text(" ");
                    p.nl(NewlineKind::Mandatory);
                }
            }),
            Style::Let => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.text(" ");
                p.nl(NewlineKind::Miser);
                let bindings = p.pop(c, n)?;
                p.sub_block(&bindings, |p, c2, n2| {
                    while !c2.is_nil() {
                        let b = p.pop(c2, n2)?;
                        p.sub_block(&b, |p, c3, n3| {
                            Self::exhausted(c3)?;
                            p.out(c3, n3)?;
                            p.rest_linear(c3, n3)
                        });
                        Self::exhausted(c2)?;
                        p.text(" ");
                        p.nl(NewlineKind::Linear);
                    }
                    Some(())
                });
                p.indent(IndentKind::Block, 1);
                Self::exhausted(c)?;
                p.nl(NewlineKind::Mandatory);
                p.rest_w_linear(c, n)
            }),
            Style::Block => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.indent(IndentKind::Block, 3);
                p.text(" ");
                p.nl(NewlineKind::Fill);
                p.out(c, n)?;
                p.indent(IndentKind::Block, 1);
                p.rest_linear(c, n)
            }),
            Style::Defun | Style::Defmethod => self.sub_block(&v, |p, c, n| {
                let qualifier = matches!(style, Style::Defmethod) && !v.third().is_list();
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.text(" ");
                p.nl(NewlineKind::Miser);
                p.indent(IndentKind::Current, 0);
                p.out(c, n)?;
                Self::exhausted(c)?;
                if qualifier {
                    p.text(" ");
                    p.out(c, n)?;
                    Self::exhausted(c)?;
                }
                p.text(" ");
                p.nl(NewlineKind::Fill);
                let ll = p.pop(c, n)?;
                p.lambda_list(&ll);
                p.indent(IndentKind::Block, 1);
                p.rest_linear(c, n)
            }),
            Style::Lambda => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.indent(IndentKind::Block, 3);
                p.text(" ");
                p.nl(NewlineKind::Fill);
                let ll = p.pop(c, n)?;
                p.lambda_list(&ll);
                p.indent(IndentKind::Block, 1);
                p.rest_linear(c, n)
            }),
            Style::Flet => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.text(" ");
                p.nl(NewlineKind::Miser);
                let defs = p.pop(c, n)?;
                p.sub_block(&defs, |p, c2, n2| {
                    while !c2.is_nil() {
                        let d = p.pop(c2, n2)?;
                        p.sub_block(&d, |p, c3, n3| {
                            Self::exhausted(c3)?;
                            p.out(c3, n3)?;
                            Self::exhausted(c3)?;
                            p.indent(IndentKind::Block, 3);
                            p.text(" ");
                            p.nl(NewlineKind::Fill);
                            let ll = p.pop(c3, n3)?;
                            p.lambda_list(&ll);
                            p.indent(IndentKind::Block, 1);
                            p.nl(NewlineKind::Mandatory);
                            p.rest_w_linear(c3, n3)
                        });
                        Self::exhausted(c2)?;
                        p.text(" ");
                        p.nl(NewlineKind::Linear);
                    }
                    Some(())
                });
                p.indent(IndentKind::Block, 1);
                p.nl(NewlineKind::Mandatory);
                p.rest_w_linear(c, n)
            }),
            Style::Quote => self.sub_block(&v, |p, c, n| p.fill_body(c, n, NewlineKind::Fill)),
            Style::Progv => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.indent(IndentKind::Block, 3);
                p.text(" ");
                p.nl(NewlineKind::Linear);
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.text(" ");
                p.nl(NewlineKind::Linear);
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.indent(IndentKind::Block, 1);
                p.rest_linear(c, n)
            }),
            Style::Prog2 | Style::DestructuringBind => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.indent(IndentKind::Block, 3);
                p.text(" ");
                if matches!(style, Style::DestructuringBind) {
                    p.nl(NewlineKind::Linear);
                    let ll = p.pop(c, n)?;
                    p.lambda_list(&ll);
                } else {
                    p.nl(NewlineKind::Fill);
                    p.out(c, n)?;
                }
                Self::exhausted(c)?;
                p.text(" ");
                p.nl(NewlineKind::Linear);
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.indent(IndentKind::Block, 1);
                p.rest_linear(c, n)
            }),
            Style::Setq => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.text(" ");
                if !c.rest().is_list() {
                    p.text(". ");
                }
                p.nl(NewlineKind::Miser);
                let rest = c.clone();
                p.start_block("", "");
                let mut c2 = rest;
                let mut n2 = *n;
                let _ = (|| -> Option<()> {
                    loop {
                        p.indent(IndentKind::Block, 2);
                        p.out(&mut c2, &mut n2)?;
                        Self::exhausted(&c2)?;
                        p.text(" ");
                        p.nl(NewlineKind::Fill);
                        p.indent(IndentKind::Block, 0);
                        p.out(&mut c2, &mut n2)?;
                        Self::exhausted(&c2)?;
                        p.text(" ");
                        p.nl(NewlineKind::Mandatory);
                    }
                })();
                p.end_block("");
                Some(())
            }),
            Style::Tagbody => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                p.tagbody_guts(c, n)
            }),
            Style::Case | Style::Typecase => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.text(" ");
                p.indent(IndentKind::Block, 3);
                p.nl(NewlineKind::Fill);
                p.out(c, n)?;
                p.indent(IndentKind::Block, 1);
                while !c.is_nil() {
                    p.text(" ");
                    p.nl(NewlineKind::Linear);
                    let clause = p.pop(c, n)?;
                    let is_case = matches!(style, Style::Case);
                    p.sub_block(&clause, |p, c2, n2| {
                        Self::exhausted(c2)?;
                        if is_case {
                            let keys = p.pop(c2, n2)?;
                            if keys.is_list() {
                                p.sub_block(&keys, |p, c3, n3| {
                                    p.fill_body(c3, n3, NewlineKind::Fill)
                                });
                            } else {
                                p.print(&keys);
                            }
                        } else {
                            p.out(c2, n2)?;
                        }
                        Self::exhausted(c2)?;
                        p.rest_linear(c2, n2)
                    });
                }
                Some(())
            }),
            Style::Do => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.text(" ");
                p.indent(IndentKind::Current, 0);
                let vars = p.pop(c, n)?;
                p.sub_block(&vars, |p, c2, n2| {
                    while !c2.is_nil() {
                        let b = p.pop(c2, n2)?;
                        p.sub_block(&b, |p, c3, n3| {
                            Self::exhausted(c3)?;
                            p.out(c3, n3)?;
                            Self::exhausted(c3)?;
                            p.text(" ");
                            p.nl(NewlineKind::Miser);
                            p.indent(IndentKind::Current, 0);
                            p.out(c3, n3)?;
                            p.rest_linear(c3, n3)
                        });
                        Self::exhausted(c2)?;
                        p.nl(NewlineKind::Mandatory);
                    }
                    Some(())
                });
                Self::exhausted(c)?;
                p.text(" ");
                p.nl(NewlineKind::Linear);
                let end = p.pop(c, n)?;
                p.sub_block(&end, |p, c2, n2| p.fill_body(c2, n2, NewlineKind::Linear));
                p.tagbody_guts(c, n)
            }),
            Style::Dolist => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.indent(IndentKind::Block, 3);
                p.text(" ");
                p.nl(NewlineKind::Fill);
                let spec = p.pop(c, n)?;
                p.sub_block(&spec, |p, c2, n2| {
                    Self::exhausted(c2)?;
                    p.out(c2, n2)?;
                    Self::exhausted(c2)?;
                    p.text(" ");
                    p.nl(NewlineKind::Fill);
                    p.indent(IndentKind::Current, 0);
                    p.out(c2, n2)?;
                    p.rest_linear(c2, n2)
                });
                p.tagbody_guts(c, n)
            }),
            Style::Prog => self.sub_block(&v, |p, c, n| {
                Self::exhausted(c)?;
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.text(" ");
                p.nl(NewlineKind::Miser);
                let vars = p.pop(c, n)?;
                p.sub_block(&vars, |p, c2, n2| p.fill_body(c2, n2, NewlineKind::Fill));
                p.tagbody_guts(c, n)
            }),
            Style::Loop => {
                let clauses = v.rest();
                if !clauses.is_cons() || clauses.first().is_cons() {
                    self.styled_again(Style::SpreadFunCall, &v);
                } else {
                    self.sub_block(&v, |p, c, n| {
                        p.out(c, n)?;
                        Self::exhausted(c)?;
                        p.text(" ");
                        p.indent(IndentKind::Current, 0);
                        p.out(c, n)?;
                        Self::exhausted(c)?;
                        p.text(" ");
                        loop {
                            let thing = p.pop(c, n)?;
                            if let Value::Symbol(s) = &thing {
                                if starts_loop_line(s.name()) {
                                    p.nl(NewlineKind::Mandatory);
                                }
                            }
                            p.print(&thing);
                            Self::exhausted(c)?;
                            p.text(" ");
                        }
                    });
                }
            }
            Style::Defpackage => self.sub_block(&v, |p, c, n| {
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.text(" ");
                p.indent(IndentKind::Block, 3);
                p.nl(NewlineKind::Fill);
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.indent(IndentKind::Block, 1);
                while !c.is_nil() {
                    p.nl(NewlineKind::Mandatory);
                    let opt = p.pop(c, n)?;
                    p.sub_block(&opt, |p, c2, n2| {
                        Self::exhausted(c2)?;
                        p.out(c2, n2)?;
                        Self::exhausted(c2)?;
                        p.text(" ");
                        p.indent(IndentKind::Current, 0);
                        p.nl(NewlineKind::Miser);
                        p.rest_w_linear(c2, n2)
                    });
                }
                Some(())
            }),
            Style::MacroBody(nargs) => self.sub_block(&v, |p, c, n| {
                p.out(c, n)?;
                Self::exhausted(c)?;
                p.text(" ");
                for i in 0..nargs {
                    if i == 0 {
                        p.out(c, n)?;
                        Self::exhausted(c)?;
                    } else {
                        p.indent(IndentKind::Block, 3);
                        p.nl(NewlineKind::Mandatory);
                        p.out(c, n)?;
                        Self::exhausted(c)?;
                    }
                }
                p.indent(IndentKind::Block, 1);
                p.nl(NewlineKind::Mandatory);
                loop {
                    p.out(c, n)?;
                    Self::exhausted(c)?;
                    p.nl(NewlineKind::Mandatory);
                }
            }),
        }
        self.depth += 1;
    }

    fn styled_again(&mut self, style: Style, v: &Value) {
        self.depth += 1;
        self.styled(style, v);
        self.depth -= 1;
    }

    fn tagbody_guts(&mut self, cur: &mut Value, n: &mut usize) -> Option<()> {
        loop {
            Self::exhausted(cur)?;
            self.text(" ");
            let peek = cur.first();
            self.indent(IndentKind::Block, if peek.is_cons() { 1 } else { 0 });
            self.nl(NewlineKind::Linear);
            self.out(cur, n)?;
        }
    }

    fn array(&mut self, a: &Gc<Array>) {
        if a.is_string() {
            let s = a.to_rust_string();
            if self.o.escape {
                let e = escape_string(&s);
                self.text(&e);
            } else {
                self.text(&s);
            }
            return;
        }
        if !self.o.array && !self.o.readably {
            let t = format!(
                "#<{} {{{:X}}}>",
                prin1_string(&crate::types::type_of(&Value::Array(a.clone()))),
                a.addr()
            );
            self.text(&t);
            return;
        }
        if a.is_bit_vector() {
            let bits: String = a
                .to_vec()
                .iter()
                .map(|b| if b.as_fixnum() == Some(1) { '1' } else { '0' })
                .collect();
            self.text(&format!("#*{}", bits));
            return;
        }
        if let Some(level) = self.o.level {
            if self.depth >= level {
                self.text("#");
                return;
            }
        }
        self.depth += 1;
        if a.is_vector() {
            let items = a.to_vec();
            self.start_block("#(", ")");
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    self.text(" ");
                    self.nl(NewlineKind::Fill);
                }
                if self.o.length.is_some_and(|l| i >= l) {
                    self.text("...");
                    break;
                }
                self.print(it);
            }
            self.end_block(")");
        } else {
            let dims = a.dimensions();
            let data = a.to_vec();
            self.text(&format!("#{}A", dims.len()));
            self.multi_dim(&data, 0, &dims);
        }
        self.depth -= 1;
    }

    fn multi_dim(&mut self, data: &[Value], index: usize, dims: &[usize]) {
        if dims.is_empty() {
            if let Some(v) = data.get(index) {
                let v = v.clone();
                self.print(&v);
            }
            return;
        }
        let dim = dims[0];
        let rest = &dims[1..];
        let step: usize = rest.iter().product();
        self.start_block("(", ")");
        for i in 0..dim {
            if i > 0 {
                self.text(" ");
                self.nl(if rest.is_empty() {
                    NewlineKind::Fill
                } else {
                    NewlineKind::Linear
                });
            }
            if self.o.length.is_some_and(|l| i >= l) {
                self.text("...");
                break;
            }
            self.multi_dim(data, index + i * step, rest);
        }
        self.end_block(")");
    }

    fn instance(&mut self, v: &Value, i: &Gc<crate::clos::Instance>) {
        let class = i.class();
        // User printing (PRINT-OBJECT methods, :PRINT-FUNCTION).
        if self.ctx.is_some() {
            if let Some(text) = self.user_print(v) {
                self.text(&text);
                return;
            }
        }
        match class.kind {
            ClassKind::Structure => self.structure(i),
            ClassKind::Condition => {
                if self.o.escape {
                    let control = crate::conditions::slot(v, "FORMAT-CONTROL");
                    let t = if crate::clos::instance_of(
                        v,
                        &crate::conditions::condition_class("SIMPLE-CONDITION"),
                    ) && control.truthy()
                    {
                        format!(
                            "#<{} {} {{{:X}}}>",
                            class.name_string(),
                            prin1_string(&control),
                            i.addr()
                        )
                    } else if crate::clos::instance_of(
                        v,
                        &crate::conditions::condition_class("TYPE-ERROR"),
                    ) {
                        format!(
                            "#<{} expected-type: {} datum: {}>",
                            class.name_string(),
                            prin1_string(&crate::conditions::slot(v, "EXPECTED-TYPE")),
                            prin1_string(&crate::conditions::slot(v, "DATUM"))
                        )
                    } else if crate::clos::instance_of(
                        v,
                        &crate::conditions::condition_class("CELL-ERROR"),
                    ) {
                        format!(
                            "#<{} {} {{{:X}}}>",
                            class.name_string(),
                            prin1_string(&crate::conditions::slot(v, "NAME")),
                            i.addr()
                        )
                    } else {
                        format!("#<{} {{{:X}}}>", class.name_string(), i.addr())
                    };
                    self.text(&t);
                } else {
                    let text = match self.ctx.as_deref_mut() {
                        Some(ctx) => crate::conditions::report_string(ctx, v).unwrap_or_default(),
                        None => {
                            let mut c = Ctx::new();
                            crate::conditions::report_string(&mut c, v).unwrap_or_default()
                        }
                    };
                    self.text(&text);
                }
            }
            _ => {
                let t = format!("#<{} {{{:X}}}>", class.name_string(), i.addr());
                self.text(&t);
            }
        }
    }

    fn structure(&mut self, i: &Gc<crate::clos::Instance>) {
        let class = i.class();
        if let Some(level) = self.o.level {
            if self.depth >= level {
                self.text("#");
                return;
            }
        }
        self.depth += 1;
        let slots = class.slots.borrow().clone();
        let vals = i.slots.borrow().clone();
        self.start_block("#S(", ")");
        let name = class.name();
        self.print(&name);
        for (k, s) in slots.iter().enumerate() {
            self.text(" ");
            self.nl(NewlineKind::Linear);
            if self.o.length.is_some_and(|l| k >= l) {
                self.text("...");
                break;
            }
            let sname = match &s.name {
                Value::Symbol(sym) => sym.name().to_string(),
                other => prin1_string(other),
            };
            let kw = crate::world::keyword(&sname);
            // Slot names keep their colon under PRINC too, as in SBCL.
            if !self.o.escape {
                self.text(":");
            }
            self.print(&kw);
            self.text(" ");
            self.nl(NewlineKind::Miser);
            let val = match &s.alloc {
                crate::clos::SlotAlloc::Instance(ix) => {
                    vals.get(*ix).cloned().unwrap_or(Value::Nil)
                }
                crate::clos::SlotAlloc::Class(c) => c.get(),
            };
            self.print(&val);
        }
        self.end_block(")");
        self.depth -= 1;
    }

    fn user_print(&mut self, v: &Value) -> Option<String> {
        let ctx = self.ctx.as_deref_mut()?;
        crate::clos::user_print_object(ctx, v, &self.o)
            .ok()
            .flatten()
    }
}

fn is_setf_name(name: &Value) -> bool {
    matches!(name.first(), Value::Symbol(s) if s.name() == "SETF" && s.home_is(&w().cl))
}

/// `(UNQUOTE x)` in a list tail prints as `. ,x`, the way it was read.
fn is_unquote_form(v: &Value) -> bool {
    let Value::Cons(c) = v else { return false };
    let s = &w().s;
    matches!(c.car(), Value::Symbol(h) if Gc::ptr_eq(&h, &s.unquote) || Gc::ptr_eq(&h, &s.unquote_splicing) || Gc::ptr_eq(&h, &s.unquote_nsplicing))
        && matches!(c.cdr(), Value::Cons(d) if d.cdr().is_nil())
}

/// LOOP keywords that start a new line when a LOOP form is pretty-printed
/// (SBCL's set: the clause words, less those that continue a clause).
fn starts_loop_line(name: &str) -> bool {
    crate::builtins::loop_macro::CLAUSE_WORDS.contains(&name)
        && !matches!(name, "AS" | "RETURN" | "ELSE" | "NAMED")
}

fn style_for(head: &Value) -> Style {
    let Value::Symbol(s) = head else {
        return Style::Fill;
    };
    if s.home_is(&w().cl) {
        let st = match s.name() {
            "LAMBDA" => Some(Style::Lambda),
            "DECLARE" | "DECLAIM" => Some(Style::SpreadFunCall),
            "BLOCK"
            | "CATCH"
            | "RETURN-FROM"
            | "THROW"
            | "EVAL-WHEN"
            | "MULTIPLE-VALUE-CALL"
            | "MULTIPLE-VALUE-PROG1"
            | "UNWIND-PROTECT" => Some(Style::Block),
            "FLET" | "LABELS" | "MACROLET" => Some(Style::Flet),
            "FUNCTION" | "QUOTE" => Some(Style::Quote),
            "IF" => Some(Style::If),
            "LET" | "LET*" | "SYMBOL-MACROLET" => Some(Style::Let),
            "LOCALLY" | "PROGN" => Some(Style::Linear),
            "PROGV" => Some(Style::Progv),
            "SETQ" | "PSETQ" | "SETF" | "PSETF" => Some(Style::Setq),
            "TAGBODY" => Some(Style::Tagbody),
            "CASE" | "CCASE" | "ECASE" => Some(Style::Case),
            "CTYPECASE" | "ETYPECASE" | "TYPECASE" => Some(Style::Typecase),
            "DEFCONSTANT" | "DEFPARAMETER" | "DEFSTRUCT" | "DEFVAR" => Some(Style::Block),
            "DEFINE-MODIFY-MACRO"
            | "DEFINE-SETF-EXPANDER"
            | "DEFMACRO"
            | "DEFSETF"
            | "DEFTYPE"
            | "DEFUN" => Some(Style::Defun),
            "DEFMETHOD" => Some(Style::Defmethod),
            "DEFPACKAGE" => Some(Style::Defpackage),
            "DESTRUCTURING-BIND" => Some(Style::DestructuringBind),
            "DO" | "DO*" => Some(Style::Do),
            "DO-ALL-SYMBOLS" | "DO-EXTERNAL-SYMBOLS" | "DO-SYMBOLS" | "DOLIST" | "DOTIMES" => {
                Some(Style::Dolist)
            }
            "LOOP" => Some(Style::Loop),
            "MULTIPLE-VALUE-BIND" | "PROG2" => Some(Style::Prog2),
            "MULTIPLE-VALUE-SETQ"
            | "PROG1"
            | "PPRINT-LOGICAL-BLOCK"
            | "PRINT-UNREADABLE-OBJECT" => Some(Style::Block),
            "PROG" | "PROG*" => Some(Style::Prog),
            "STEP" | "TIME" => Some(Style::Linear),
            "UNLESS" | "WHEN" => Some(Style::Block),
            "WITH-COMPILATION-UNIT"
            | "WITH-SIMPLE-RESTART"
            | "WITH-HASH-TABLE-ITERATOR"
            | "WITH-PACKAGE-ITERATOR"
            | "WITH-INPUT-FROM-STRING"
            | "WITH-OUTPUT-TO-STRING"
            | "WITH-OPEN-FILE"
            | "WITH-OPEN-STREAM" => Some(Style::Block),
            "WITH-STANDARD-IO-SYNTAX" => Some(Style::Linear),
            _ => None,
        };
        if let Some(st) = st {
            return st;
        }
    }
    if s.is_special_quasi() {
        return Style::Quote;
    }
    if s.is_fbound() {
        if s.is_macro() {
            if let Some(n) = macro_body_position(s) {
                return Style::MacroBody(n);
            }
        }
        return Style::FunCall;
    }
    Style::Fill
}

/// For a macro with &BODY, the number of arguments before the body.
fn macro_body_position(s: &Gc<Symbol>) -> Option<usize> {
    let f = s.function();
    let text = match &f {
        Value::Function(fun) => match &fun.kind {
            FnKind::Closure { code, .. } => Some(code.lambda_list_form.clone()),
            FnKind::Builtin(b) => return builtin_body_position(b.lambda_list),
            _ => None,
        },
        _ => None,
    }?;
    let mut n = 0;
    let mut cur = text;
    loop {
        match &cur {
            Value::Cons(c) => {
                let item = c.car();
                if let Value::Symbol(k) = &item {
                    match k.name() {
                        "&BODY" => return Some(n),
                        "&OPTIONAL" => {}
                        "&WHOLE" | "&ENVIRONMENT" => {
                            let next = c.cdr().rest();
                            cur = next;
                            continue;
                        }
                        _ => n += 1,
                    }
                } else {
                    n += 1;
                }
                let next = c.cdr();
                cur = next;
            }
            Value::Nil => return None,
            _ => return Some(n),
        }
    }
}

/// The &BODY position in a builtin macro's lambda list text, counting
/// the top-level parameters before it.
fn builtin_body_position(text: &str) -> Option<usize> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (mut depth, mut n, mut tok) = (0, 0, String::new());
    let flush = |tok: &mut String, n: &mut usize| -> Option<bool> {
        if tok.is_empty() {
            return Some(false);
        }
        let t = std::mem::take(tok).to_ascii_uppercase();
        match t.as_str() {
            "&BODY" => return Some(true),
            "&OPTIONAL" | "&WHOLE" | "&ENVIRONMENT" => {}
            t if t.starts_with('&') => return None,
            _ => *n += 1,
        }
        Some(false)
    };
    for c in inner.chars() {
        match c {
            '(' => {
                depth += 1;
                tok.push(c);
            }
            ')' => {
                depth -= 1;
                tok.push(c);
            }
            c if c.is_whitespace() && depth == 0 => {
                if flush(&mut tok, &mut n)? {
                    return Some(n);
                }
            }
            c => tok.push(c),
        }
    }
    if flush(&mut tok, &mut n)? {
        return Some(n);
    }
    None
}

impl Symbol {
    fn is_special_quasi(&self) -> bool {
        self.home_is(&w().sys) && self.name() == "QUASIQUOTE"
    }
}

fn radix_prefix(base: u32) -> String {
    match base {
        2 => "#b".into(),
        8 => "#o".into(),
        16 => "#x".into(),
        b => format!("#{}r", b),
    }
}

/// A string in double quotes with `"` and `\` escaped.
pub fn escape_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn apply_case(name: &str, case: Case) -> String {
    match case {
        Case::Upcase => name.to_string(),
        Case::Downcase => name
            .chars()
            .map(|c| {
                if c.is_uppercase() {
                    crate::chars::char_downcase(c)
                } else {
                    c
                }
            })
            .collect(),
        Case::Capitalize => {
            let mut out = String::new();
            let mut word_start = true;
            for c in name.chars() {
                if c.is_alphanumeric() {
                    if word_start {
                        out.push(c);
                    } else if c.is_uppercase() {
                        out.push(crate::chars::char_downcase(c));
                    } else {
                        out.push(c);
                    }
                    word_start = false;
                } else {
                    out.push(c);
                    word_start = true;
                }
            }
            out
        }
    }
}

/// Whether a symbol name needs |...| to read back as the same symbol.
fn needs_escape(name: &str) -> bool {
    if name.is_empty() {
        return true;
    }
    if name.chars().all(|c| c == '.') {
        return true;
    }
    for c in name.chars() {
        if c.is_whitespace()
            || matches!(
                c,
                '(' | ')' | '\'' | '"' | ';' | '`' | ',' | '|' | '\\' | ':'
            )
            || crate::chars::is_lower(c)
            || !crate::chars::is_graphic(c)
        {
            return true;
        }
    }
    if name.starts_with('#') {
        return true;
    }
    // Tokens that would read as numbers.
    number::parse_number(name, 10, true).is_some() || potential_number(name)
}

fn potential_number(name: &str) -> bool {
    // A conservative check for CLHS 2.3.1.1 potential numbers: starts
    // with a digit or sign/dot followed by a digit, only digits, signs,
    // ratio markers, decimal points, extension characters and letters
    // used as exponent markers.
    let b: Vec<char> = name.chars().collect();
    let first_ok = b[0].is_ascii_digit()
        || (matches!(b[0], '+' | '-' | '.' | '^' | '_')
            && b.get(1).is_some_and(|c| c.is_ascii_digit()));
    if !first_ok {
        return false;
    }
    if name.ends_with('+') || name.ends_with('-') {
        return false;
    }
    let letters = b.iter().filter(|c| c.is_alphabetic()).count();
    b.iter().all(|c| {
        c.is_ascii_digit() || matches!(c, '+' | '-' | '/' | '.' | '^' | '_') || c.is_alphabetic()
    }) && letters <= 1
}

fn escape_symbol_name(name: &str, case: Case) -> String {
    if needs_escape(name) {
        let mut out = String::from("|");
        for c in name.chars() {
            if c == '|' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('|');
        out
    } else {
        apply_case(name, case)
    }
}

fn find_shared(v: &Value) -> Circle {
    let mut seen: hashbrown::HashMap<usize, u32> = hashbrown::HashMap::new();
    let mut stack = vec![v.clone()];
    while let Some(x) = stack.pop() {
        let Some(a) = obj_addr(&x) else { continue };
        let n = seen.entry(a).or_insert(0);
        *n += 1;
        if *n > 1 {
            continue;
        }
        match &x {
            Value::Cons(c) => {
                stack.push(c.cdr());
                stack.push(c.car());
            }
            Value::Array(a) => {
                let n = a.total_size();
                a.with_data(|d, off| {
                    if let ArrayData::T(items) = d {
                        stack.extend(items[off..off + n].iter().cloned());
                    }
                });
            }
            Value::Instance(i) => stack.extend(i.slots.borrow().iter().cloned()),
            _ => {}
        }
    }
    Circle {
        shared: seen
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(a, _)| (a, None))
            .collect(),
        next: 0,
    }
}

/// Print with the given settings to a string (no user methods run).
pub fn to_string_with(v: &Value, o: Opts) -> String {
    let mut p = Printer::new(None, o, 0);
    p.print(v);
    p.finish()
}

/// PRIN1-TO-STRING with the current settings (no user methods run).
pub fn prin1_string(v: &Value) -> String {
    if !crate::world::exists() {
        return "#<value>".into();
    }
    to_string_with(v, Opts::prin1())
}

/// A symbol (or any object) printed with its package prefix always, as
/// SBCL's PRINT-SYMBOL-WITH-PREFIX does in condition reports.
pub fn prin1_with_prefix(v: &Value) -> String {
    if !crate::world::exists() {
        return "#<value>".into();
    }
    let mut o = Opts::prin1();
    o.package = Some(crate::world::w().keyword.clone());
    to_string_with(v, o)
}

/// PRINC-TO-STRING with the current settings (no user methods run).
pub fn princ_string(v: &Value) -> String {
    if !crate::world::exists() {
        return "#<value>".into();
    }
    to_string_with(v, Opts::princ())
}

/// A representation for Rust debugging.
pub fn debug_string(v: &Value) -> String {
    if !crate::world::exists() {
        return "#<value>".into();
    }
    let mut o = Opts::prin1();
    o.pretty = false;
    to_string_with(v, o)
}

/// Print `v` to a Lisp stream with settings `o` (user print methods run).
pub fn write_to_stream(
    ctx: &mut Ctx,
    v: &Value,
    stream: &Gc<crate::stream::Stream>,
    o: Opts,
) -> R<()> {
    if let Some(state) = crate::stream::pretty_state(stream) {
        let mut p = Printer::into_pretty(Some(ctx), o, state);
        p.print(v);
        return p.check();
    }
    let col = stream.column();
    let text = {
        let mut p = Printer::new(Some(ctx), o, col);
        p.print(v);
        p.finish_checked()?
    };
    crate::stream::write_str(ctx, stream, &text)
}

/// Print `v` to a string with settings `o`, running user print methods
/// (a STORAGE-CONDITION if it nests too deeply for the stack).
pub fn to_string_ctx(ctx: &mut Ctx, v: &Value, o: Opts) -> R<String> {
    let mut p = Printer::new(Some(ctx), o, 0);
    p.print(v);
    p.finish_checked()
}

/// The symbol named by text like "FOO" or "PKG:FOO", for messages.
pub fn symbol_text(s: &Value) -> String {
    match symbol_of(s) {
        Some(sym) => sym.name().to_string(),
        None => prin1_string(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_names_escape_like_sbcl() {
        assert!(needs_escape("a b"));
        assert!(needs_escape("123"));
        assert!(needs_escape(""));
        assert!(needs_escape("."));
        assert!(needs_escape("aBc"));
        assert!(needs_escape("A:B"));
        assert!(!needs_escape("FOO"));
        assert!(!needs_escape("1+"));
        assert!(!needs_escape("+"));
        assert!(!needs_escape("*PRINT-BASE*"));
        assert!(!needs_escape("&OPTIONAL"));
        assert_eq!(apply_case("FOO-BAR", Case::Capitalize), "Foo-Bar");
        assert_eq!(apply_case("FOO", Case::Downcase), "foo");
    }
}
