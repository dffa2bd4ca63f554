//! The executable form of Lisp code: a tree of nodes produced once per
//! form by the compiler, with variables resolved to frame slots, closure
//! captures or symbols, and macros already expanded.

use crate::ctx::Loc;
use crate::function::Builtin;
use crate::gc::Gc;
use crate::symbol::Symbol;
use crate::value::Value;
use std::rc::Rc;

/// Index of a variable in the compiler's variable table.
pub type VarId = u32;

/// Where a bound variable lives at run time.
#[derive(Clone, Debug)]
pub enum BindKind {
    /// Not yet resolved (only during compilation).
    Unresolved,
    /// A plain frame slot.
    Slot(u32),
    /// A frame slot holding a box, because a closure captures it.
    Box(u32),
    /// A special variable, bound dynamically.
    Special(Gc<Symbol>),
}

/// A variable being bound.
#[derive(Clone, Debug)]
pub struct Binder {
    /// The compiler's variable id (unused for specials).
    pub var: VarId,
    /// Where the value goes.
    pub kind: BindKind,
}

/// A parameter: a variable, or a nested pattern in destructuring lists.
#[derive(Debug)]
pub enum Param {
    /// A variable.
    Var(Binder),
    /// A nested destructuring pattern.
    Pattern(Box<LambdaList>),
}

/// An &optional parameter.
#[derive(Debug)]
pub struct OptParam {
    /// The variable or pattern.
    pub param: Param,
    /// Default form (NIL if absent).
    pub init: Option<Node>,
    /// The supplied-p variable.
    pub supplied: Option<Binder>,
}

/// A &key parameter.
#[derive(Debug)]
pub struct KeyParam {
    /// The keyword symbol that names it in calls.
    pub keyword: Value,
    /// The variable or pattern.
    pub param: Param,
    /// Default form (NIL if absent).
    pub init: Option<Node>,
    /// The supplied-p variable.
    pub supplied: Option<Binder>,
}

/// A parsed lambda list (ordinary, macro or destructuring).
#[derive(Debug, Default)]
pub struct LambdaList {
    /// &whole variable (macro and destructuring lists).
    pub whole: Option<Param>,
    /// &environment variable (macro lists).
    pub env: Option<Binder>,
    /// Required parameters.
    pub req: Vec<Param>,
    /// &optional parameters.
    pub opt: Vec<OptParam>,
    /// &rest / &body parameter (also a dotted tail).
    pub rest: Option<Param>,
    /// &key parameters, if &key was present.
    pub key: Option<Vec<KeyParam>>,
    /// &allow-other-keys was present.
    pub allow_other_keys: bool,
    /// &aux variables.
    pub aux: Vec<(Binder, Option<Node>)>,
}

impl LambdaList {
    /// Whether only plain required parameters appear (the fast path).
    pub fn is_simple(&self) -> bool {
        self.whole.is_none()
            && self.env.is_none()
            && self.opt.is_empty()
            && self.rest.is_none()
            && self.key.is_none()
            && self.aux.is_empty()
            && self
                .req
                .iter()
                .all(|p| matches!(p, Param::Var(b) if !matches!(b.kind, BindKind::Special(_))))
    }
}

/// Where a closure gets one captured variable box from, when created.
#[derive(Clone, Copy, Debug)]
pub enum CaptureSrc {
    /// A boxed slot of the creating frame.
    Slot(u32),
    /// A capture of the creating closure.
    Capture(u32),
}

/// Compiled code of a function.
#[derive(Debug)]
pub struct Lambda {
    /// The function's name (symbol, (setf name) list, or NIL).
    pub name: Value,
    /// The lambda list as written, for printing and `describe`.
    pub lambda_list_form: Value,
    /// Parameters.
    pub params: LambdaList,
    /// Frame size.
    pub nslots: u32,
    /// The body (its values are the function's values).
    pub body: Node,
    /// How to build the closure's environment.
    pub captures: Vec<CaptureSrc>,
    /// Docstring.
    pub doc: Option<String>,
    /// Where the lambda was written.
    pub loc: Loc,
    /// Required parameter count, for the fast path.
    pub nreq: u32,
    /// Only simple required parameters.
    pub simple: bool,
    /// Whether this is a macro expander (arguments: form, env).
    pub is_macro: bool,
    /// The body never reports multiple values in a tail position: it runs
    /// unwrapped and the caller sets `nvals` to one afterwards.
    pub single_valued: bool,
    /// The body forms as written, for FUNCTION-LAMBDA-EXPRESSION.
    pub source_body: Value,
    /// The BLOCK name wrapped around the body (named functions).
    pub block_name: Option<Value>,
}

impl Lambda {
    /// The lambda expression this function was made from, the way SBCL
    /// reports it: `(LAMBDA ll decls... (BLOCK name forms...))`.
    pub fn lambda_expression(&self) -> Value {
        use crate::value::list_from;
        let w = crate::world::w();
        let lambda = Value::Symbol(w.s.lambda.clone());
        let mut items = vec![lambda, self.lambda_list_form.clone()];
        match &self.block_name {
            Some(b) => {
                let mut forms = Vec::new();
                for f in self.source_body.iter() {
                    let is_decl = matches!(f.first(), Value::Symbol(s) if s.name() == "DECLARE");
                    if is_decl || (f.is_string() && forms.is_empty() && items.len() == 2) {
                        items.push(f);
                    } else {
                        forms.push(f);
                    }
                }
                let block = Value::Symbol(crate::world::intern_exported("BLOCK", &w.cl));
                let mut blk = vec![block, b.clone()];
                blk.extend(forms);
                items.push(list_from(blk));
            }
            None => items.extend(self.source_body.iter()),
        }
        list_from(items)
    }
}

/// A call of a global function through its symbol.
#[derive(Debug)]
pub struct Call {
    /// The function's name.
    pub sym: Gc<Symbol>,
    /// Argument forms.
    pub args: Box<[Node]>,
    /// Where the call is.
    pub loc: Loc,
}

/// A direct call of a builtin (the name is a locked CL symbol).
#[derive(Debug)]
pub struct CallBuiltin {
    /// The builtin.
    pub b: &'static Builtin,
    /// Argument forms.
    pub args: Box<[Node]>,
    /// Where the call is.
    pub loc: Loc,
}

/// A call of a computed function (FUNCALL, local functions).
#[derive(Debug)]
pub struct Funcall {
    /// The function form.
    pub f: Node,
    /// Argument forms.
    pub args: Box<[Node]>,
    /// Where the call is.
    pub loc: Loc,
}

/// A SETF of a function-call place: arguments, then the value, then the
/// setter is called with (value . arguments).
#[derive(Debug)]
pub struct SetfCall {
    /// The setter function form.
    pub setter: Node,
    /// Place argument forms.
    pub args: Box<[Node]>,
    /// The new value form.
    pub value: Node,
    /// Where the form is.
    pub loc: Loc,
}

/// LET and LET*.
#[derive(Debug)]
pub struct Let {
    /// Variables and their init forms.
    pub binds: Box<[(Binder, Node)]>,
    /// LET* semantics.
    pub sequential: bool,
    /// Whether any binding is special.
    pub has_special: bool,
    /// The body.
    pub body: Node,
}

/// BLOCK.
#[derive(Debug)]
pub struct Block {
    /// Id used by RETURN-FROM forms in the same function.
    pub id: u64,
    /// When closures return from this block: the variable holding the
    /// dynamic id of this activation.
    pub dynamic: Option<Binder>,
    /// The body.
    pub body: Node,
}

/// How RETURN-FROM and GO find their target.
#[derive(Debug)]
pub enum Target {
    /// Same function: the static id.
    Static(u64),
    /// From a closure: a variable holding the activation's id.
    Dynamic(Node),
}

/// RETURN-FROM.
#[derive(Debug)]
pub struct ReturnFrom {
    /// The block.
    pub target: Target,
    /// Value form (values travel with the exit).
    pub value: Node,
    /// Block name, for errors.
    pub name: Value,
}

/// TAGBODY.
#[derive(Debug)]
pub struct Tagbody {
    /// Id used by GO forms in the same function.
    pub id: u64,
    /// Variable holding the dynamic id, when closures GO into it.
    pub dynamic: Option<Binder>,
    /// Statement index of each tag, by tag number.
    pub labels: Box<[usize]>,
    /// The statements (tags removed).
    pub stmts: Box<[Node]>,
}

/// GO.
#[derive(Debug)]
pub struct Go {
    /// The tagbody.
    pub target: Target,
    /// Tag number.
    pub label: usize,
    /// The tag, for errors.
    pub tag: Value,
}

/// MULTIPLE-VALUE-BIND.
#[derive(Debug)]
pub struct MvBind {
    /// Variables.
    pub vars: Box<[Binder]>,
    /// Values form.
    pub form: Node,
    /// Whether any variable is special.
    pub has_special: bool,
    /// The body.
    pub body: Node,
}

/// DESTRUCTURING-BIND and macro lambda lists.
#[derive(Debug)]
pub struct Destructure {
    /// The pattern.
    pub pattern: LambdaList,
    /// The form giving the list to destructure.
    pub form: Node,
    /// The body.
    pub body: Node,
    /// Name used in error messages.
    pub what: Value,
}

/// HANDLER-BIND.
#[derive(Debug)]
pub struct HandlerBind {
    /// (type, handler function form) pairs.
    pub handlers: Box<[(Value, Node)]>,
    /// The body.
    pub body: Node,
}

/// One HANDLER-CASE or RESTART-CASE clause.
#[derive(Debug)]
pub struct CaseClause {
    /// Condition type (HANDLER-CASE) or restart name (RESTART-CASE).
    pub spec: Value,
    /// Function receiving the condition or the restart arguments.
    pub func: Node,
    /// RESTART-CASE :report (string or function form).
    pub report: Option<Node>,
    /// RESTART-CASE :interactive function form.
    pub interactive: Option<Node>,
    /// RESTART-CASE :test function form.
    pub test: Option<Node>,
}

/// HANDLER-CASE or RESTART-CASE.
#[derive(Debug)]
pub struct CaseForm {
    /// The protected form.
    pub body: Node,
    /// The clauses.
    pub clauses: Box<[CaseClause]>,
    /// HANDLER-CASE :no-error function.
    pub no_error: Option<Node>,
}

/// A primitive operation with one argument, compiled inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op1 {
    /// CAR
    Car,
    /// CDR
    Cdr,
    /// NOT / NULL
    Not,
    /// CONSP
    Consp,
    /// ENDP (NIL for a cons, T for NIL, a type error otherwise)
    Endp,
    /// 1+
    Inc,
    /// 1-
    Dec,
    /// ZEROP
    Zerop,
}

/// A primitive operation with two arguments, compiled inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op2 {
    /// Binary +
    Add,
    /// Binary -
    Sub,
    /// Binary *
    Mul,
    /// Binary <
    Lt,
    /// Binary >
    Gt,
    /// Binary <=
    Le,
    /// Binary >=
    Ge,
    /// Binary =
    NumEq,
    /// EQ
    Eq,
    /// EQL
    Eql,
    /// CONS
    Cons,
}

impl Op2 {
    /// Whether the operation is a comparison (its value is T or NIL).
    pub fn is_predicate(self) -> bool {
        matches!(
            self,
            Op2::Lt | Op2::Gt | Op2::Le | Op2::Ge | Op2::NumEq | Op2::Eq | Op2::Eql
        )
    }
}

/// A node of compiled code.
#[derive(Debug)]
pub enum Node {
    /// A constant.
    Const(Value),
    /// A lexical variable before resolution.
    Lex(VarId),
    /// A frame slot.
    Slot(u32),
    /// A boxed frame slot.
    BoxSlot(u32),
    /// A closure capture.
    Captured(u32),
    /// A special or global variable.
    Special(Gc<Symbol>),
    /// Assignment to a lexical variable before resolution.
    SetLex(VarId, Box<Node>),
    /// Assignment to a frame slot.
    SetSlot(u32, Box<Node>),
    /// Assignment to a boxed frame slot.
    SetBoxSlot(u32, Box<Node>),
    /// Assignment to a closure capture.
    SetCaptured(u32, Box<Node>),
    /// Assignment to a special or global variable.
    SetSpecial(Gc<Symbol>, Box<Node>),
    /// IF.
    If(Box<(Node, Node, Node)>),
    /// PROGN.
    Progn(Box<[Node]>),
    /// LET / LET*.
    Let(Box<Let>),
    /// Global function call.
    Call(Box<Call>),
    /// Direct builtin call.
    CallBuiltin(Box<CallBuiltin>),
    /// Computed function call.
    Funcall(Box<Funcall>),
    /// #'name of a global function.
    FunctionRef(Gc<Symbol>, Loc),
    /// #'(setf name) of a global setf function.
    SetfFunctionRef(Gc<Symbol>, Loc),
    /// Closure creation.
    Closure(Rc<Lambda>),
    /// SETF of a function-call place.
    SetfCall(Box<SetfCall>),
    /// BLOCK.
    Block(Box<Block>),
    /// RETURN-FROM.
    ReturnFrom(Box<ReturnFrom>),
    /// TAGBODY.
    Tagbody(Box<Tagbody>),
    /// GO.
    Go(Box<Go>),
    /// CATCH (tag, body).
    Catch(Box<(Node, Node)>),
    /// THROW (tag, value).
    Throw(Box<(Node, Node)>),
    /// UNWIND-PROTECT (protected, cleanup).
    UnwindProtect(Box<(Node, Node)>),
    /// MULTIPLE-VALUE-CALL.
    MvCall(Box<(Node, Box<[Node]>)>),
    /// MULTIPLE-VALUE-PROG1 (first, rest).
    MvProg1(Box<(Node, Node)>),
    /// MULTIPLE-VALUE-BIND.
    MvBind(Box<MvBind>),
    /// PROGV (symbols, values, body).
    Progv(Box<(Node, Node, Node)>),
    /// DESTRUCTURING-BIND.
    Destructure(Box<Destructure>),
    /// HANDLER-BIND.
    HandlerBind(Box<HandlerBind>),
    /// HANDLER-CASE.
    HandlerCase(Box<CaseForm>),
    /// RESTART-CASE.
    RestartCase(Box<CaseForm>),
    /// Evaluate and report exactly one value.
    Single(Box<Node>),
    /// Inline one-argument primitive.
    Op1(Op1, Box<Node>),
    /// Inline two-argument primitive.
    Op2(Op2, Box<(Node, Node)>),
    /// THE with a type to check is compiled to its form; kept for
    /// symmetry with code walkers.
    Located(Box<(Node, Loc)>),
}

impl Node {
    /// NIL.
    pub fn nil() -> Node {
        Node::Const(Value::Nil)
    }

    /// Whether evaluating this node leaves `ctx.nvals` describing its
    /// values (otherwise it produces exactly one value and says nothing).
    pub fn reports_values(&self) -> bool {
        match self {
            Node::Call(_)
            | Node::CallBuiltin(_)
            | Node::Funcall(_)
            | Node::MvCall(_)
            | Node::Single(_)
            | Node::Block(_)
            | Node::Catch(_)
            | Node::HandlerCase(_)
            | Node::RestartCase(_) => true,
            Node::If(b) => b.1.reports_values() && b.2.reports_values(),
            Node::Progn(v) => v.last().is_some_and(|n| n.reports_values()),
            Node::Let(l) => l.body.reports_values(),
            Node::MvBind(m) => m.body.reports_values(),
            Node::Destructure(d) => d.body.reports_values(),
            Node::HandlerBind(h) => h.body.reports_values(),
            Node::UnwindProtect(b) => b.0.reports_values(),
            Node::MvProg1(b) => b.0.reports_values(),
            Node::Progv(b) => b.2.reports_values(),
            Node::Located(b) => b.0.reports_values(),
            // These never return normally.
            Node::ReturnFrom(_) | Node::Go(_) | Node::Throw(_) => true,
            _ => false,
        }
    }

    /// Whether no tail position of this node reports its values (all of
    /// them yield exactly one value without setting `nvals`).
    pub fn never_reports(&self) -> bool {
        match self {
            Node::If(b) => b.1.never_reports() && b.2.never_reports(),
            Node::Progn(v) => v.last().is_none_or(|n| n.never_reports()),
            Node::Let(l) => l.body.never_reports(),
            Node::Located(b) => b.0.never_reports(),
            Node::MvBind(_)
            | Node::Destructure(_)
            | Node::HandlerBind(_)
            | Node::UnwindProtect(_)
            | Node::MvProg1(_)
            | Node::Progv(_) => false,
            other => !other.reports_values(),
        }
    }

    /// Make this node report its values: wrap tail positions that produce
    /// a single value silently in [`Node::Single`].
    pub fn make_mv(self) -> Node {
        if self.reports_values() {
            return self;
        }
        match self {
            Node::If(b) => {
                let (c, t, e) = *b;
                Node::If(Box::new((c, t.make_mv(), e.make_mv())))
            }
            Node::Progn(v) => {
                let mut v = v.into_vec();
                if let Some(last) = v.pop() {
                    v.push(last.make_mv());
                }
                Node::Progn(v.into_boxed_slice())
            }
            Node::Let(mut l) => {
                l.body = std::mem::replace(&mut l.body, Node::nil()).make_mv();
                Node::Let(l)
            }
            Node::MvBind(mut m) => {
                m.body = std::mem::replace(&mut m.body, Node::nil()).make_mv();
                Node::MvBind(m)
            }
            Node::Destructure(mut d) => {
                d.body = std::mem::replace(&mut d.body, Node::nil()).make_mv();
                Node::Destructure(d)
            }
            Node::HandlerBind(mut h) => {
                h.body = std::mem::replace(&mut h.body, Node::nil()).make_mv();
                Node::HandlerBind(h)
            }
            Node::UnwindProtect(b) => {
                let (p, c) = *b;
                Node::UnwindProtect(Box::new((p.make_mv(), c)))
            }
            Node::MvProg1(b) => {
                let (p, c) = *b;
                Node::MvProg1(Box::new((p.make_mv(), c)))
            }
            Node::Progv(b) => {
                let (s, v, body) = *b;
                Node::Progv(Box::new((s, v, body.make_mv())))
            }
            Node::Located(b) => {
                let (n, l) = *b;
                Node::Located(Box::new((n.make_mv(), l)))
            }
            other => Node::Single(Box::new(other)),
        }
    }

    /// Whether the node is a constant, and which.
    pub fn as_const(&self) -> Option<&Value> {
        match self {
            Node::Const(v) => Some(v),
            _ => None,
        }
    }
}

/// Build a PROGN node from a list of nodes (collapsing trivial cases).
pub fn progn(mut nodes: Vec<Node>) -> Node {
    match nodes.len() {
        0 => Node::nil(),
        1 => nodes.pop().unwrap(),
        _ => Node::Progn(nodes.into_boxed_slice()),
    }
}
