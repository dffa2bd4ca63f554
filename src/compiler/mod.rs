//! The compiler: turns each form, once, into a [`Node`] tree.
//!
//! Analysis expands macros, resolves every variable to a frame slot, a
//! closure capture or a symbol, and inlines a few primitives. A second
//! pass ([`resolve`]) boxes exactly the variables that closures capture,
//! so uncaptured locals are plain slots on the process's value stack.

pub mod lambda_list;
pub mod node;
pub mod resolve;
pub mod special;

pub use node::{Lambda, Node};

use crate::conditions;
use crate::ctx::{Ctx, Loc, R};
use crate::function::{FnKind, Kind};
use crate::gc::Gc;
use crate::symbol::{self, Symbol};
use crate::value::Value;
use crate::world::{symbol_of, w};
use hashbrown::HashMap;
use node::*;
use std::rc::Rc;

/// Locations of the conses of forms read from source, by address. Valid
/// while the forms are alive.
#[derive(Default)]
pub struct SourceMap {
    map: HashMap<usize, Loc>,
}

impl SourceMap {
    /// Record the location of a cons.
    pub fn insert(&mut self, form: &Value, loc: Loc) {
        if let Value::Cons(c) = form {
            self.map.insert(c.addr(), loc);
        }
    }
    /// The location of a cons read from source.
    pub fn get(&self, form: &Value) -> Option<Loc> {
        match form {
            Value::Cons(c) => self.map.get(&c.addr()).copied(),
            _ => None,
        }
    }
    /// Forget everything.
    pub fn clear(&mut self) {
        self.map.clear()
    }
}

/// What the compiler knows about a lexical variable.
#[derive(Clone, Debug)]
pub struct VarInfo {
    /// Lambda nesting level that owns the variable.
    pub level: u32,
    /// Frame slot.
    pub slot: u32,
    /// Whether a closure captures it.
    pub captured: bool,
    /// For block variables: whether any RETURN-FROM names the block.
    pub used: bool,
}

/// A slot number not assigned yet (block variables get one only when a
/// closure needs the block's dynamic exit id).
pub const NO_SLOT: u32 = u32::MAX;

/// One entry of the lexical environment during compilation.
#[derive(Clone)]
pub enum Scope {
    /// A lexical variable.
    Var(Gc<Symbol>, VarId),
    /// A special binding or declaration.
    Special(Gc<Symbol>),
    /// A symbol macro.
    SymMacro(Gc<Symbol>, Value),
    /// A local function (FLET/LABELS), held in a variable.
    Fun(Value, VarId),
    /// A local macro (MACROLET).
    Macro(Gc<Symbol>, Value),
    /// A block: name, static id, id variable, level.
    Block(Value, u64, VarId, u32),
    /// A tagbody: tags, static id, id variable, level.
    Tags(Rc<[Value]>, u64, VarId, u32),
}

/// Compiles forms for one toplevel form (or one EVAL).
pub struct Compiler<'c> {
    /// The process running the compiler (macro expanders run in it).
    pub ctx: &'c mut Ctx,
    vars: Vec<VarInfo>,
    levels: Vec<u32>,
    scope: Vec<Scope>,
    loc: Loc,
    srcmap: Option<Rc<SourceMap>>,
    /// The named function being compiled, or the source file at top level:
    /// anonymous functions are named `(LAMBDA ll :IN enclosing)` as in SBCL.
    enclosing: Value,
}

/// The lexical environment given to macro expanders (&environment):
/// the local macros and symbol macros in scope, and the names that
/// shadow them.
pub struct MacroEnv {
    /// Innermost last.
    pub entries: Vec<Scope>,
}

impl crate::foreign::ForeignObj for MacroEnv {
    fn type_name(&self) -> &'static str {
        "LEXENV"
    }
    fn trace(&self, t: &mut crate::gc::Tracer) {
        for e in &self.entries {
            match e {
                Scope::SymMacro(_, v) | Scope::Macro(_, v) => v.trace(t),
                _ => {}
            }
        }
    }
}

impl<'c> Compiler<'c> {
    /// A compiler for code in the null lexical environment.
    pub fn new(ctx: &'c mut Ctx, srcmap: Option<Rc<SourceMap>>) -> Self {
        let loc = ctx.toplevel_loc;
        Compiler {
            ctx,
            vars: Vec::new(),
            levels: vec![0],
            scope: Vec::new(),
            loc,
            srcmap,
            enclosing: Value::Nil,
        }
    }

    /// A compiler whose environment holds the given macro-level entries
    /// (for MACROLET expanders and macro environments).
    pub fn with_scope(ctx: &'c mut Ctx, scope: Vec<Scope>) -> Self {
        let mut c = Compiler::new(ctx, None);
        c.scope = scope
            .into_iter()
            .filter(|e| {
                matches!(
                    e,
                    Scope::Macro(..) | Scope::SymMacro(..) | Scope::Special(..)
                )
            })
            .collect();
        c
    }

    /// Compile a form as a function of no arguments (level 0).
    pub fn compile_toplevel(mut self, form: &Value) -> R<Rc<Lambda>> {
        if let Some(l) = self.form_loc(form) {
            self.loc = l;
        }
        let file = w().file_name(self.loc.file);
        if file.starts_with('/') || file.ends_with(".lisp") {
            self.enclosing = crate::array::Array::string(&file);
        }
        let body = self.comp(form)?.make_mv();
        let nslots = self.levels[0];
        let mut lam = Lambda {
            name: Value::Nil,
            lambda_list_form: Value::Nil,
            params: LambdaList::default(),
            nslots,
            body,
            captures: Vec::new(),
            doc: None,
            loc: self.loc,
            nreq: 0,
            simple: true,
            is_macro: false,
            single_valued: false,
            source_body: Value::Nil,
            block_name: None,
        };
        resolve::resolve_toplevel(&self.vars, &mut lam);
        Ok(Rc::new(lam))
    }

    /// Location recorded for a form, if it was read from source.
    fn form_loc(&self, form: &Value) -> Option<Loc> {
        self.srcmap.as_ref().and_then(|m| m.get(form))
    }

    /// The current location.
    pub fn loc(&self) -> Loc {
        self.loc
    }

    fn level(&self) -> u32 {
        (self.levels.len() - 1) as u32
    }

    /// Create a new lexical variable in the current function.
    pub fn new_var(&mut self) -> VarId {
        let level = self.level();
        let slot = *self.levels.last().unwrap();
        *self.levels.last_mut().unwrap() += 1;
        self.vars.push(VarInfo {
            level,
            slot,
            captured: false,
            used: false,
        });
        (self.vars.len() - 1) as VarId
    }

    /// A variable of the current level whose slot is assigned on demand
    /// ([`Compiler::ensure_slot`]).
    pub fn new_lazy_var(&mut self) -> VarId {
        let level = self.level();
        self.vars.push(VarInfo {
            level,
            slot: NO_SLOT,
            captured: false,
            used: false,
        });
        (self.vars.len() - 1) as VarId
    }

    /// Give a lazily created variable its slot in its own level's frame.
    pub fn ensure_slot(&mut self, id: VarId) {
        let v = &mut self.vars[id as usize];
        if v.slot == NO_SLOT {
            let counter = &mut self.levels[v.level as usize];
            v.slot = *counter;
            *counter += 1;
        }
    }

    /// A reference to a variable, noting captures from inner functions.
    pub fn ref_var(&mut self, id: VarId) -> Node {
        let lvl = self.level();
        let v = &mut self.vars[id as usize];
        if v.level != lvl {
            v.captured = true;
        }
        Node::Lex(id)
    }

    /// Push a scope entry.
    pub fn push_scope(&mut self, s: Scope) {
        self.scope.push(s)
    }

    /// Current scope depth (to restore with [`Compiler::pop_scope_to`]).
    pub fn scope_mark(&self) -> usize {
        self.scope.len()
    }

    /// Drop scope entries above `mark`.
    pub fn pop_scope_to(&mut self, mark: usize) {
        self.scope.truncate(mark)
    }

    /// The scope entries, innermost last.
    pub fn scope(&self) -> &[Scope] {
        &self.scope
    }

    /// Whether a symbol is special where it is referenced.
    pub fn is_special_here(&self, s: &Gc<Symbol>) -> bool {
        for e in self.scope.iter().rev() {
            match e {
                Scope::Var(n, _) | Scope::SymMacro(n, _) if Gc::ptr_eq(n, s) => return false,
                Scope::Special(n) if Gc::ptr_eq(n, s) => return true,
                _ => {}
            }
        }
        s.is_special()
    }

    /// A binder for a variable being bound here: special if the symbol is
    /// globally special or declared special in `decls`, else a new lexical
    /// variable. The caller pushes the scope entry (see [`Compiler::enter_binder`]).
    pub fn make_binder(&mut self, s: &Gc<Symbol>, decls: &Decls) -> R<Binder> {
        if s.is_constant() {
            let name = symbol::sym_value(s);
            return Err(conditions::program_error(
                self.ctx,
                format!(
                    "{} names a constant and cannot be bound",
                    crate::printer::prin1_string(&name)
                ),
            ));
        }
        if s.is_special() || decls.is_special(s) {
            Ok(Binder {
                var: 0,
                kind: BindKind::Special(s.clone()),
            })
        } else {
            Ok(Binder {
                var: self.new_var(),
                kind: BindKind::Unresolved,
            })
        }
    }

    /// Make a bound variable visible to the code that follows.
    pub fn enter_binder(&mut self, s: &Gc<Symbol>, b: &Binder) {
        match b.kind {
            BindKind::Special(_) => self.scope.push(Scope::Special(s.clone())),
            _ => self.scope.push(Scope::Var(s.clone(), b.var)),
        }
    }

    /// Push free special declarations (those not binding anything in
    /// `bound`).
    pub fn enter_free_specials(&mut self, decls: &Decls, bound: &[Gc<Symbol>]) {
        for s in &decls.specials {
            if !bound.iter().any(|b| Gc::ptr_eq(b, s)) {
                self.scope.push(Scope::Special(s.clone()));
            }
        }
    }

    /// Compile one form.
    pub fn comp(&mut self, form: &Value) -> R<Node> {
        if self.ctx.stack_exhausted() {
            return Err(conditions::stack_exhausted(self.ctx));
        }
        match form {
            Value::Symbol(s) => self.comp_symbol(s),
            Value::Cons(_) => {
                let saved = self.loc;
                if let Some(l) = self.form_loc(form) {
                    self.loc = l;
                }
                let r = self.comp_compound_deferring_errors(form);
                self.loc = saved;
                r
            }
            Value::Nil => Ok(Node::nil()),
            other => Ok(Node::Const(other.clone())),
        }
    }

    /// Compile a compound form; an error while compiling it (a malformed
    /// special form, a macro expander that signals) is not signalled now
    /// but when the form runs, as SBCL does, so that the program's own
    /// handlers see it.
    fn comp_compound_deferring_errors(&mut self, form: &Value) -> R<Node> {
        let id = w().next_id();
        let mark = crate::eval::Mark::of(self.ctx);
        let (nscope, nlevels, enclosing) =
            (self.scope.len(), self.levels.len(), self.enclosing.clone());
        self.ctx.handlers.push(crate::ctx::Handler {
            typespec: Value::Symbol(w().s.error.clone()),
            kind: crate::ctx::HandlerKind::Case {
                target: id,
                clause: 0,
            },
            cluster: mark.handlers,
        });
        let r = self.comp_compound(form);
        self.ctx.handlers.truncate(mark.handlers);
        match r {
            Err(e) if e.is_to(id) => {
                mark.restore(self.ctx);
                self.scope.truncate(nscope);
                self.levels.truncate(nlevels);
                self.enclosing = enclosing;
                let cond = std::mem::take(&mut self.ctx.exit_values)
                    .into_iter()
                    .next()
                    .unwrap_or(Value::Nil);
                let quote = Value::Symbol(w().s.quote.clone());
                let raise = crate::value::list_from([
                    Value::Symbol(w().s.error.clone()),
                    crate::value::list_from([quote, cond]),
                ]);
                self.comp_compound(&raise)
            }
            r => r,
        }
    }

    /// Compile forms as an implicit PROGN.
    pub fn comp_body(&mut self, forms: &Value) -> R<Node> {
        let mut nodes = Vec::new();
        for f in forms.iter() {
            nodes.push(self.comp(&f)?);
        }
        Ok(progn(nodes))
    }

    fn comp_symbol(&mut self, s: &Gc<Symbol>) -> R<Node> {
        if s.is_constant() {
            return Ok(Node::Const(s.value()));
        }
        for i in (0..self.scope.len()).rev() {
            match &self.scope[i] {
                Scope::Var(n, id) if Gc::ptr_eq(n, s) => {
                    let id = *id;
                    return Ok(self.ref_var(id));
                }
                Scope::Special(n) if Gc::ptr_eq(n, s) => return Ok(Node::Special(s.clone())),
                Scope::SymMacro(n, exp) if Gc::ptr_eq(n, s) => {
                    let exp = exp.clone();
                    // The expansion is compiled outside the symbol macro's
                    // own entry, so a macro can mention an outer binding.
                    return self.comp(&exp);
                }
                _ => {}
            }
        }
        if s.has(symbol::SYMBOL_MACRO) {
            let exp = s.extra_field(|e| e.symbol_macro.clone());
            return self.comp(&exp);
        }
        Ok(Node::Special(s.clone()))
    }

    /// Find a local function or macro binding for `name`.
    pub fn local_function(&self, name: &Value) -> Option<Scope> {
        for e in self.scope.iter().rev() {
            match e {
                Scope::Fun(n, _) if n.equal(name) => return Some(e.clone()),
                Scope::Macro(n, _) if matches!(name, Value::Symbol(s) if Gc::ptr_eq(s, n)) => {
                    return Some(e.clone())
                }
                _ => {}
            }
        }
        None
    }

    /// The environment object for macro expanders: NIL when no local
    /// macros or symbol macros are in scope.
    pub fn macro_env(&self) -> Value {
        if !self
            .scope
            .iter()
            .any(|e| matches!(e, Scope::Macro(..) | Scope::SymMacro(..)))
        {
            return Value::Nil;
        }
        let entries = self
            .scope
            .iter()
            .filter(|e| !matches!(e, Scope::Block(..) | Scope::Tags(..)))
            .cloned()
            .collect();
        crate::foreign::make(MacroEnv { entries })
    }

    fn comp_compound(&mut self, form: &Value) -> R<Node> {
        let head = form.first();
        let args = form.rest();
        match &head {
            Value::Symbol(s) => {
                let name = Value::Symbol(s.clone());
                if let Some(local) = self.local_function(&name) {
                    match local {
                        Scope::Fun(_, id) => {
                            let f = self.ref_var(id);
                            return self.comp_call_node(f, &args);
                        }
                        Scope::Macro(_, exp) => {
                            let env = self.macro_env();
                            let expansion = expand_with(self.ctx, &exp, form, env)?;
                            return self.comp(&expansion);
                        }
                        _ => unreachable!(),
                    }
                }
                if s.has(symbol::SPECIAL_OPERATOR) {
                    if let Some(f) = special::handler(s) {
                        return f(self, form);
                    }
                }
                if s.is_macro() {
                    let exp = s.function();
                    let env = self.macro_env();
                    let expansion = expand_with(self.ctx, &exp, form, env)?;
                    return self.comp(&expansion);
                }
                self.comp_global_call(s, &args)
            }
            Value::Cons(_) if head.first().eq(&Value::Symbol(w().s.lambda.clone())) => {
                let f = special::comp_function_form(self, &head)?;
                self.comp_call_node(f, &args)
            }
            _ => Err(conditions::program_error(
                self.ctx,
                format!(
                    "illegal function call: {}",
                    crate::printer::prin1_string(form)
                ),
            )),
        }
    }

    /// Compile argument forms.
    pub fn comp_args(&mut self, args: &Value) -> R<Box<[Node]>> {
        let mut v = Vec::new();
        for a in args.iter() {
            v.push(self.comp(&a)?);
        }
        Ok(v.into_boxed_slice())
    }

    fn comp_call_node(&mut self, f: Node, args: &Value) -> R<Node> {
        let args = self.comp_args(args)?;
        Ok(Node::Funcall(Box::new(Funcall {
            f,
            args,
            loc: self.loc,
        })))
    }

    fn comp_global_call(&mut self, s: &Gc<Symbol>, args: &Value) -> R<Node> {
        let nargs = args.list_length().unwrap_or(0);
        if s.has(symbol::LOCKED) {
            if let Some(n) = self.inline_op(s, args, nargs)? {
                return Ok(n);
            }
            let builtin = s.with_function(|f| match f {
                Value::Function(fun) => match &fun.kind {
                    FnKind::Builtin(b) if b.kind == Kind::Function => Some(*b),
                    _ => None,
                },
                _ => None,
            });
            if let Some(b) = builtin {
                let args = self.comp_args(args)?;
                return Ok(Node::CallBuiltin(Box::new(node::CallBuiltin {
                    b,
                    args,
                    loc: self.loc,
                })));
            }
        }
        let args = self.comp_args(args)?;
        Ok(Node::Call(Box::new(Call {
            sym: s.clone(),
            args,
            loc: self.loc,
        })))
    }

    fn inline_op(&mut self, s: &Gc<Symbol>, args: &Value, nargs: usize) -> R<Option<Node>> {
        let op1 = match (s.name(), nargs) {
            ("CAR", 1) | ("FIRST", 1) => Some(Op1::Car),
            ("CDR", 1) | ("REST", 1) => Some(Op1::Cdr),
            ("NOT", 1) | ("NULL", 1) => Some(Op1::Not),
            ("CONSP", 1) => Some(Op1::Consp),
            ("ENDP", 1) => Some(Op1::Endp),
            ("1+", 1) => Some(Op1::Inc),
            ("1-", 1) => Some(Op1::Dec),
            ("ZEROP", 1) => Some(Op1::Zerop),
            _ => None,
        };
        if let Some(op) = op1 {
            let a = self.comp(&args.first())?;
            return Ok(Some(Node::Op1(op, Box::new(a))));
        }
        let op2 = match (s.name(), nargs) {
            ("+", 2) => Some(Op2::Add),
            ("-", 2) => Some(Op2::Sub),
            ("*", 2) => Some(Op2::Mul),
            ("<", 2) => Some(Op2::Lt),
            (">", 2) => Some(Op2::Gt),
            ("<=", 2) => Some(Op2::Le),
            (">=", 2) => Some(Op2::Ge),
            ("=", 2) => Some(Op2::NumEq),
            ("EQ", 2) => Some(Op2::Eq),
            ("EQL", 2) => Some(Op2::Eql),
            ("CONS", 2) => Some(Op2::Cons),
            _ => None,
        };
        if let Some(op) = op2 {
            let a = self.comp(&args.first())?;
            let b = self.comp(&args.second())?;
            return Ok(Some(Node::Op2(op, Box::new((a, b)))));
        }
        Ok(None)
    }

    /// Compile a lambda expression's parts into a function. `block_name`
    /// names the implicit block (DEFUN), if any.
    pub fn comp_lambda(
        &mut self,
        name: Value,
        lambda_list: &Value,
        body: &Value,
        block_name: Option<Value>,
        is_macro: bool,
    ) -> R<Rc<Lambda>> {
        let lam_loc = self.loc;
        let outer_enclosing = self.enclosing.clone();
        let name = if name.is_nil() && !is_macro {
            self.display_name(Value::Symbol(w().s.lambda.clone()), lambda_list.clone())
        } else {
            name
        };
        // Closures inside a named function are "in" it; for (SETF F) and
        // (METHOD F) SBCL says just F.
        match &name {
            Value::Symbol(_) => self.enclosing = name.clone(),
            Value::Cons(c)
                if symbol_of(&c.car()).is_some_and(|s| matches!(s.name(), "SETF" | "METHOD")) =>
            {
                self.enclosing = name.second();
            }
            _ => {}
        }
        let r = self.comp_lambda_inner(name, lambda_list, body, block_name, is_macro, lam_loc);
        self.enclosing = outer_enclosing;
        r
    }

    /// `(KIND what :IN enclosing)`, SBCL's name for an anonymous or local
    /// function.
    pub fn display_name(&self, kind: Value, what: Value) -> Value {
        if self.enclosing.is_nil() {
            crate::value::list_from([kind, what])
        } else {
            crate::value::list_from([
                kind,
                what,
                crate::world::keyword("IN"),
                self.enclosing.clone(),
            ])
        }
    }

    fn comp_lambda_inner(
        &mut self,
        name: Value,
        lambda_list: &Value,
        body: &Value,
        block_name: Option<Value>,
        is_macro: bool,
        lam_loc: Loc,
    ) -> R<Rc<Lambda>> {
        self.levels.push(0);
        let mark = self.scope.len();
        let (doc, decls, body_forms) = parse_body(self.ctx, body, true)?;
        let params = if is_macro {
            lambda_list::parse_macro(self, lambda_list, &decls)?
        } else {
            lambda_list::parse_ordinary(self, lambda_list, &decls)?
        };
        let bound = params_symbols(lambda_list);
        self.enter_free_specials(&decls, &bound);
        let block_name_kept = block_name.clone();
        let body_node = match block_name {
            Some(bn) => special::comp_block_body(self, bn, &body_forms)?,
            None => self.comp_body(&body_forms)?,
        };
        self.scope.truncate(mark);
        let nslots = self.levels.pop().unwrap();
        let simple = params.is_simple() && !is_macro;
        let nreq = params.req.len() as u32;
        let single_valued = body_node.never_reports();
        let body_code = if single_valued {
            body_node
        } else {
            body_node.make_mv()
        };
        Ok(Rc::new(Lambda {
            name,
            lambda_list_form: lambda_list.clone(),
            params,
            nslots,
            body: body_code,
            single_valued,
            captures: Vec::new(),
            doc,
            loc: lam_loc,
            nreq,
            simple,
            is_macro,
            source_body: body.clone(),
            block_name: block_name_kept,
        }))
    }

    /// Compile a MACROLET expander (or any code in the macro environment)
    /// and evaluate it to a function, now.
    pub fn eval_in_macro_env(&mut self, form: &Value) -> R<Value> {
        let scope = self.scope.clone();
        let lam = {
            let mut c = Compiler::with_scope(self.ctx, scope);
            c.loc = self.loc;
            c.compile_toplevel(form)?
        };
        crate::eval::run_toplevel(self.ctx, &lam)
    }

    /// Signal a program error about a malformed form.
    pub fn malformed(&mut self, what: &str, form: &Value) -> crate::ctx::Exit {
        conditions::program_error(
            self.ctx,
            format!("malformed {}: {}", what, crate::printer::prin1_string(form)),
        )
    }
}

/// Call a macro expander with (form env) through *MACROEXPAND-HOOK*.
pub fn expand_with(ctx: &mut Ctx, expander: &Value, form: &Value, env: Value) -> R<Value> {
    let hook = w().s.macroexpand_hook.value();
    match &hook {
        Value::Symbol(s) if s.name() == "FUNCALL" && s.home_is(&w().cl) => {
            crate::eval::apply(ctx, expander, &[form.clone(), env])
        }
        Value::Unbound | Value::Nil => crate::eval::apply(ctx, expander, &[form.clone(), env]),
        _ => crate::eval::apply(ctx, &hook, &[expander.clone(), form.clone(), env]),
    }
}

/// Declarations collected from the head of a body.
#[derive(Default)]
pub struct Decls {
    /// Symbols declared special.
    pub specials: Vec<Gc<Symbol>>,
}

impl Decls {
    /// Whether `s` is declared special.
    pub fn is_special(&self, s: &Gc<Symbol>) -> bool {
        self.specials.iter().any(|x| Gc::ptr_eq(x, s))
    }
}

/// Split a body into docstring (if `allow_doc`), declarations and forms.
pub fn parse_body(
    ctx: &mut Ctx,
    body: &Value,
    allow_doc: bool,
) -> R<(Option<String>, Decls, Value)> {
    let mut doc = None;
    let mut decls = Decls::default();
    let mut cur = body.clone();
    let decl_sym = Value::Symbol(w().s.declare.clone());
    while let Value::Cons(c) = &cur {
        let f = c.car();
        if allow_doc && doc.is_none() && f.is_string() && cur.rest().is_cons() {
            doc = crate::array::string_of(&f);
            cur = cur.rest();
            continue;
        }
        if f.is_cons() && f.first().eq(&decl_sym) {
            for spec in f.rest().iter() {
                let head = spec.first();
                if let Value::Symbol(h) = &head {
                    if Gc::ptr_eq(h, &w().s.special) {
                        for v in spec.rest().iter() {
                            match symbol_of(&v) {
                                Some(s) => decls.specials.push(s),
                                None => {
                                    return Err(conditions::program_error(
                                        ctx,
                                        format!(
                                            "malformed special declaration: {}",
                                            crate::printer::prin1_string(&spec)
                                        ),
                                    ))
                                }
                            }
                        }
                    }
                }
            }
            cur = cur.rest();
            continue;
        }
        break;
    }
    Ok((doc, decls, cur))
}

/// The variable symbols a lambda list binds (for free-declaration checks).
fn params_symbols(ll: &Value) -> Vec<Gc<Symbol>> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<Gc<Symbol>>) {
        match v {
            Value::Symbol(s) if !s.name().starts_with('&') => out.push(s.clone()),
            Value::Symbol(_) => {}
            Value::Cons(c) => {
                walk(&c.car(), out);
                walk(&c.cdr(), out);
            }
            _ => {}
        }
    }
    walk(ll, &mut out);
    out
}
