//! The evaluator: runs compiled [`Node`] trees, calls functions and binds
//! their arguments.

use crate::compiler::node::*;
use crate::compiler::{Compiler, Lambda, Node};
use crate::conditions;
use crate::ctx::{
    CallFrame, CatchFrame, Ctx, Exit, FrameFn, Handler, HandlerKind, Loc, Restart, RestartAction, R,
};
use crate::function::{Builtin, FnKind, Function, MV, RAW};
use crate::gc::Gc;
use crate::number;
use crate::symbol::Symbol;
use crate::value::{list_from, Value, VarCell};
use crate::world::w;
use smallvec::SmallVec;

/// Where an executing function keeps its variables.
pub struct Frame<'a> {
    /// Index of slot 0 on the value stack.
    pub base: usize,
    /// The closure's captured boxes.
    pub env: &'a [Gc<VarCell>],
}

/// Argument vectors small enough to live on the Rust stack.
pub type Args = SmallVec<[Value; 8]>;

/// Lengths of the dynamic-state stacks, to restore after a non-local exit.
#[derive(Clone, Copy)]
pub struct Mark {
    /// Value stack length.
    pub stack: usize,
    /// Call frames.
    pub frames: usize,
    /// Special bindings.
    pub dyn_binds: usize,
    /// Handlers.
    pub handlers: usize,
    /// Restarts.
    pub restarts: usize,
    /// Catch frames.
    pub catches: usize,
    /// Live exit points.
    pub live_exits: usize,
}

impl Mark {
    /// The current lengths.
    #[inline]
    pub fn of(ctx: &Ctx) -> Mark {
        Mark {
            stack: ctx.stack.len(),
            frames: ctx.frames.len(),
            dyn_binds: ctx.dyn_binds.len(),
            handlers: ctx.handlers.len(),
            restarts: ctx.restarts.len(),
            catches: ctx.catches.len(),
            live_exits: ctx.live_exits.len(),
        }
    }

    /// Truncate every stack back to this mark, undoing special bindings.
    pub fn restore(&self, ctx: &mut Ctx) {
        ctx.stack.truncate(self.stack);
        ctx.frames.truncate(self.frames);
        ctx.unbind_to(self.dyn_binds);
        ctx.handlers.truncate(self.handlers);
        ctx.restarts.truncate(self.restarts);
        ctx.catches.truncate(self.catches);
        ctx.live_exits.truncate(self.live_exits);
    }
}

#[inline]
fn bind(ctx: &mut Ctx, fr: &Frame, b: &Binder, v: Value) {
    match &b.kind {
        BindKind::Slot(s) => ctx.stack[fr.base + *s as usize] = v,
        BindKind::Box(s) => {
            ctx.stack[fr.base + *s as usize] = Value::Cell(Gc::new(VarCell::new(v)))
        }
        BindKind::Special(sym) => ctx.bind_special(sym, v),
        BindKind::Unresolved => unreachable!("unresolved binder"),
    }
}

/// The values carried by the exit that just arrived, as this
/// evaluation's values.
fn exit_result(ctx: &mut Ctx) -> Value {
    let vals = std::mem::take(&mut ctx.exit_values);
    ctx.set_values(vals)
}

/// Evaluate `node`, then return all its values.
#[inline]
fn eval_values(ctx: &mut Ctx, fr: &Frame, node: &Node) -> R<Vec<Value>> {
    let v = node.eval(ctx, fr)?;
    Ok(ctx.take_values(v))
}

/// A call of a builtin known at compile time. Up to three arguments are
/// passed in a local array, which spares building and dropping an
/// argument vector on the most common calls.
#[inline(never)]
fn call_builtin_node(ctx: &mut Ctx, fr: &Frame, c: &CallBuiltin) -> R {
    match &*c.args {
        [] => call_builtin(ctx, c.b, &[], c.loc),
        [a] => {
            let a = [a.operand(ctx, fr)?];
            call_builtin(ctx, c.b, &a, c.loc)
        }
        [a, b] => {
            let a = a.operand(ctx, fr)?;
            let ab = [a, b.operand(ctx, fr)?];
            call_builtin(ctx, c.b, &ab, c.loc)
        }
        [a, b, d] => {
            let a = a.operand(ctx, fr)?;
            let b = b.operand(ctx, fr)?;
            let abd = [a, b, d.operand(ctx, fr)?];
            call_builtin(ctx, c.b, &abd, c.loc)
        }
        args => {
            let args = eval_args(ctx, fr, args)?;
            call_builtin(ctx, c.b, &args, c.loc)
        }
    }
}

fn eval_args(ctx: &mut Ctx, fr: &Frame, args: &[Node]) -> R<Args> {
    let mut out = Args::new();
    for a in args {
        out.push(a.operand(ctx, fr)?);
    }
    Ok(out)
}

impl Node {
    /// An argument or operand: variables and constants are fetched here,
    /// without a call to [`Node::eval`].
    #[inline(always)]
    pub fn operand(&self, ctx: &mut Ctx, fr: &Frame) -> R {
        match self {
            Node::Const(v) => Ok(v.clone()),
            Node::Slot(i) => Ok(ctx.stack[fr.base + *i as usize].clone()),
            _ => self.eval(ctx, fr),
        }
    }

    /// The fixnum a constant or slot holds, looked at in place; for `1+`,
    /// `1-`, `+` and `-` of such operands, the fixnum result. The value
    /// stays in a register instead of going through memory as a Value.
    #[inline(always)]
    fn peek_fixnum(&self, ctx: &Ctx, fr: &Frame) -> Option<i64> {
        match self {
            Node::Const(_) | Node::Slot(_) => self.peek_leaf_fixnum(ctx, fr),
            Node::Op1(op @ (Op1::Inc | Op1::Dec), a) => {
                let n = a.peek_leaf_fixnum(ctx, fr)?;
                fixnum_in_range(if *op == Op1::Inc { n + 1 } else { n - 1 })
            }
            Node::Op2(op @ (Op2::Add | Op2::Sub), b) => {
                let x = b.0.peek_leaf_fixnum(ctx, fr)?;
                let y = b.1.peek_leaf_fixnum(ctx, fr)?;
                fixnum_in_range(if *op == Op2::Add { x + y } else { x - y })
            }
            _ => None,
        }
    }

    /// [`Node::peek_fixnum`] for constants and slots only.
    #[inline(always)]
    fn peek_leaf_fixnum(&self, ctx: &Ctx, fr: &Frame) -> Option<i64> {
        match self {
            Node::Const(Value::Fixnum(n)) => Some(*n),
            Node::Slot(i) => match ctx.stack[fr.base + *i as usize] {
                Value::Fixnum(n) => Some(n),
                _ => None,
            },
            _ => None,
        }
    }

    /// Evaluate as the test of a conditional: comparisons answer a Rust
    /// bool without making T or NIL.
    #[inline]
    pub fn eval_test(&self, ctx: &mut Ctx, fr: &Frame) -> R<bool> {
        match self {
            Node::Op2(op, b) if op.is_predicate() => {
                let (x, y) = match (b.0.peek_fixnum(ctx, fr), b.1.peek_fixnum(ctx, fr)) {
                    (Some(x), Some(y)) => (x, y),
                    _ => {
                        let x = b.0.operand(ctx, fr)?;
                        let y = b.1.operand(ctx, fr)?;
                        match (&x, &y) {
                            (Value::Fixnum(a), Value::Fixnum(b)) => (*a, *b),
                            _ => return Ok(op2_slow(ctx, *op, x, y)?.truthy()),
                        }
                    }
                };
                Ok(match op {
                    Op2::Lt => x < y,
                    Op2::Gt => x > y,
                    Op2::Le => x <= y,
                    Op2::Ge => x >= y,
                    _ => x == y,
                })
            }
            Node::Op1(Op1::Not, n) => Ok(!n.eval_test(ctx, fr)?),
            _ => Ok(self.eval(ctx, fr)?.truthy()),
        }
    }

    /// Evaluate in frame `fr`. The common nodes are handled here and the
    /// rest in [`Node::eval_cold`], which keeps this function's stack frame
    /// small: it is entered once per node, recursively.
    pub fn eval(&self, ctx: &mut Ctx, fr: &Frame) -> R {
        match self {
            Node::Const(v) => Ok(v.clone()),
            Node::Slot(i) => Ok(ctx.stack[fr.base + *i as usize].clone()),
            Node::Captured(i) => Ok(fr.env[*i as usize].get()),
            Node::If(b) => {
                if b.0.eval_test(ctx, fr)? {
                    b.1.eval(ctx, fr)
                } else {
                    b.2.eval(ctx, fr)
                }
            }
            Node::Call(c) => call_global(ctx, fr, c),
            Node::Single(n) => {
                let v = n.eval(ctx, fr)?;
                ctx.nvals = 1;
                Ok(v)
            }
            Node::Op1(op, a) => {
                if let (Op1::Inc | Op1::Dec, Some(n)) = (op, a.peek_fixnum(ctx, fr)) {
                    return Ok(Value::int(if *op == Op1::Inc { n + 1 } else { n - 1 }));
                }
                let v = a.operand(ctx, fr)?;
                op1(ctx, *op, v)
            }
            Node::Op2(op, b) => {
                if let (Some(x), Some(y)) = (b.0.peek_fixnum(ctx, fr), b.1.peek_fixnum(ctx, fr)) {
                    if let Some(v) = op2_fixnums(*op, x, y) {
                        return Ok(v);
                    }
                }
                let x = b.0.operand(ctx, fr)?;
                let y = b.1.operand(ctx, fr)?;
                op2(ctx, *op, x, y)
            }
            _ => self.eval_cold(ctx, fr),
        }
    }

    /// Evaluate the less frequent nodes.
    #[inline(never)]
    fn eval_cold(&self, ctx: &mut Ctx, fr: &Frame) -> R {
        match self {
            Node::Const(v) => Ok(v.clone()),
            Node::Slot(i) => Ok(ctx.stack[fr.base + *i as usize].clone()),
            Node::BoxSlot(i) => match &ctx.stack[fr.base + *i as usize] {
                Value::Cell(c) => Ok(c.get()),
                other => Ok(other.clone()),
            },
            Node::Captured(i) => Ok(fr.env[*i as usize].get()),
            Node::Special(s) => {
                let v = s.value();
                if let Value::Unbound = v {
                    return Err(conditions::unbound_variable(ctx, s));
                }
                Ok(v)
            }
            Node::SetSlot(i, n) => {
                let v = n.eval(ctx, fr)?;
                ctx.stack[fr.base + *i as usize] = v.clone();
                Ok(v)
            }
            Node::SetBoxSlot(i, n) => {
                let v = n.eval(ctx, fr)?;
                if let Value::Cell(c) = &ctx.stack[fr.base + *i as usize] {
                    c.set(v.clone());
                }
                Ok(v)
            }
            Node::SetCaptured(i, n) => {
                let v = n.eval(ctx, fr)?;
                fr.env[*i as usize].set(v.clone());
                Ok(v)
            }
            Node::SetSpecial(s, n) => {
                let v = n.eval(ctx, fr)?;
                s.set_value(v.clone());
                Ok(v)
            }
            Node::If(b) => {
                if b.0.eval_test(ctx, fr)? {
                    b.1.eval(ctx, fr)
                } else {
                    b.2.eval(ctx, fr)
                }
            }
            Node::Progn(v) => {
                let (last, init) = v.split_last().unwrap();
                for n in init {
                    n.eval(ctx, fr)?;
                }
                last.eval(ctx, fr)
            }
            Node::Let(l) => eval_let(ctx, fr, l),
            Node::Call(c) => call_global(ctx, fr, c),
            Node::CallBuiltin(c) => call_builtin_node(ctx, fr, c),
            Node::Funcall(c) => {
                let f = c.f.eval(ctx, fr)?;
                call_value(ctx, fr, &f, &c.args, c.loc)
            }
            Node::FunctionRef(s, _) => match s.function() {
                Value::Function(f) if !s.is_macro() => Ok(Value::Function(f)),
                _ => Err(conditions::undefined_function(
                    ctx,
                    Value::Symbol(s.clone()),
                )),
            },
            Node::SetfFunctionRef(s, _) => match s.extra_field(|e| e.setf_function.clone()) {
                Value::Function(f) => Ok(Value::Function(f)),
                _ => {
                    let name = list_from([
                        Value::Symbol(w().s.setf.clone()),
                        crate::symbol::sym_value(s),
                    ]);
                    Err(conditions::undefined_function(ctx, name))
                }
            },
            Node::Closure(code) => Ok(make_closure(ctx, fr, code)),
            Node::SetfCall(c) => {
                let mut args = Args::new();
                args.push(Value::Nil);
                for a in c.args.iter() {
                    args.push(a.eval(ctx, fr)?);
                }
                let v = c.value.eval(ctx, fr)?;
                args[0] = v;
                let f = c.setter.eval(ctx, fr)?;
                let r = match &f {
                    Value::Function(fun) => call_function(ctx, fun, &args, c.loc)?,
                    _ => apply(ctx, &f, &args)?,
                };
                ctx.nvals = 1;
                Ok(r)
            }
            Node::Block(b) => eval_block(ctx, fr, b),
            Node::ReturnFrom(r) => {
                let id = target_id(ctx, fr, &r.target, "RETURN-FROM", &r.name)?;
                let v = r.value.eval(ctx, fr)?;
                ctx.exit_values = ctx.take_values(v);
                Err(Exit::to(id))
            }
            Node::Tagbody(t) => eval_tagbody(ctx, fr, t),
            Node::Go(g) => {
                let id = target_id(ctx, fr, &g.target, "GO", &g.tag)?;
                ctx.exit_tag = g.label;
                Err(Exit::to(id))
            }
            Node::Catch(b) => {
                let tag = b.0.eval(ctx, fr)?;
                let id = w().next_id();
                let mark = Mark::of(ctx);
                ctx.catches.push(CatchFrame { tag, id });
                let r = b.1.eval(ctx, fr);
                ctx.catches.truncate(mark.catches);
                match r {
                    Err(e) if e.is_to(id) => {
                        mark.restore(ctx);
                        Ok(exit_result(ctx))
                    }
                    other => other,
                }
            }
            Node::Throw(b) => {
                let tag = b.0.eval(ctx, fr)?;
                let found = ctx
                    .catches
                    .iter()
                    .rev()
                    .find(|c| c.tag.eq(&tag))
                    .map(|c| c.id);
                let Some(id) = found else {
                    return Err(conditions::control_error(
                        ctx,
                        format!(
                            "attempt to THROW to a tag that does not exist: {}",
                            crate::printer::prin1_string(&tag)
                        ),
                    ));
                };
                let v = b.1.eval(ctx, fr)?;
                ctx.exit_values = ctx.take_values(v);
                Err(Exit::to(id))
            }
            Node::UnwindProtect(b) => eval_unwind_protect(ctx, fr, &b.0, &b.1),
            Node::MvCall(b) => {
                let f = b.0.eval(ctx, fr)?;
                let mut args = Vec::new();
                for a in b.1.iter() {
                    args.extend(eval_values(ctx, fr, a)?);
                }
                apply(ctx, &f, &args)
            }
            Node::MvProg1(b) => {
                let v = b.0.eval(ctx, fr)?;
                let vals = ctx.take_values(v);
                b.1.eval(ctx, fr)?;
                Ok(ctx.set_values(vals))
            }
            Node::MvBind(m) => {
                let vals = eval_values(ctx, fr, &m.form)?;
                let mark = ctx.dyn_binds.len();
                for (i, b) in m.vars.iter().enumerate() {
                    bind(ctx, fr, b, vals.get(i).cloned().unwrap_or(Value::Nil));
                }
                let r = m.body.eval(ctx, fr);
                if m.has_special {
                    ctx.unbind_to(mark);
                }
                r
            }
            Node::Progv(b) => {
                let syms = b.0.eval(ctx, fr)?;
                let vals = b.1.eval(ctx, fr)?;
                let mark = ctx.dyn_binds.len();
                let mut vi = vals.iter();
                for s in syms.iter() {
                    let sym = match crate::world::symbol_of(&s) {
                        Some(x) => x,
                        None => {
                            ctx.unbind_to(mark);
                            return Err(conditions::type_error(ctx, s, "SYMBOL"));
                        }
                    };
                    let v = vi.next().unwrap_or(Value::Unbound);
                    ctx.bind_special(&sym, v);
                }
                let r = b.2.eval(ctx, fr);
                ctx.unbind_to(mark);
                r
            }
            Node::Destructure(d) => {
                let v = d.form.eval(ctx, fr)?;
                let mark = ctx.dyn_binds.len();
                let r = destructure(ctx, fr, &d.pattern, v.clone(), &v, &d.what)
                    .and_then(|_| d.body.eval(ctx, fr));
                ctx.unbind_to(mark);
                r
            }
            Node::HandlerBind(h) => {
                let mut fns: SmallVec<[Value; 4]> = SmallVec::new();
                for (_, f) in h.handlers.iter() {
                    fns.push(f.eval(ctx, fr)?);
                }
                let mark = ctx.handlers.len();
                for ((ty, _), f) in h.handlers.iter().zip(fns) {
                    ctx.handlers.push(Handler {
                        typespec: ty.clone(),
                        kind: HandlerKind::Bind(f),
                        cluster: mark,
                    });
                }
                let r = h.body.eval(ctx, fr);
                ctx.handlers.truncate(mark);
                r
            }
            Node::HandlerCase(c) => eval_handler_case(ctx, fr, c),
            Node::RestartCase(c) => eval_restart_case(ctx, fr, c),
            Node::Single(n) => {
                let v = n.eval(ctx, fr)?;
                ctx.nvals = 1;
                Ok(v)
            }
            Node::Op1(op, a) => {
                let v = a.eval(ctx, fr)?;
                op1(ctx, *op, v)
            }
            Node::Op2(op, b) => {
                let x = b.0.eval(ctx, fr)?;
                let y = b.1.eval(ctx, fr)?;
                op2(ctx, *op, x, y)
            }
            Node::Located(b) => b.0.eval(ctx, fr),
            Node::Lex(_) | Node::SetLex(..) => unreachable!("unresolved variable reference"),
        }
    }
}

fn op1(ctx: &mut Ctx, op: Op1, v: Value) -> R {
    match op {
        Op1::Car => match v {
            Value::Cons(c) => Ok(c.car()),
            Value::Nil => Ok(Value::Nil),
            other => Err(conditions::type_error(ctx, other, "LIST")),
        },
        Op1::Cdr => match v {
            Value::Cons(c) => Ok(c.cdr()),
            Value::Nil => Ok(Value::Nil),
            other => Err(conditions::type_error(ctx, other, "LIST")),
        },
        Op1::Not => Ok(Value::bool(v.is_nil())),
        Op1::Consp => Ok(Value::bool(v.is_cons())),
        Op1::Endp => match v {
            Value::Cons(_) => Ok(Value::Nil),
            Value::Nil => Ok(Value::t()),
            other => Err(conditions::type_error(ctx, other, "LIST")),
        },
        Op1::Inc => match v {
            Value::Fixnum(n) => Ok(Value::int(n + 1)),
            other => number::add(ctx, &other, &Value::Fixnum(1)),
        },
        Op1::Dec => match v {
            Value::Fixnum(n) => Ok(Value::int(n - 1)),
            other => number::sub(ctx, &other, &Value::Fixnum(1)),
        },
        Op1::Zerop => match v {
            Value::Fixnum(n) => Ok(Value::bool(n == 0)),
            other => number::zerop(ctx, &other).map(Value::bool),
        },
    }
}

/// `n` if it is in the fixnum range.
#[inline(always)]
fn fixnum_in_range(n: i64) -> Option<i64> {
    (crate::value::MOST_NEGATIVE_FIXNUM..=crate::value::MOST_POSITIVE_FIXNUM)
        .contains(&n)
        .then_some(n)
}

/// Two fixnums under the inline operators (None: needs the general path).
#[inline(always)]
fn op2_fixnums(op: Op2, a: i64, b: i64) -> Option<Value> {
    Some(match op {
        Op2::Add => Value::int(a + b),
        Op2::Sub => Value::int(a - b),
        Op2::Lt => Value::bool(a < b),
        Op2::Gt => Value::bool(a > b),
        Op2::Le => Value::bool(a <= b),
        Op2::Ge => Value::bool(a >= b),
        Op2::NumEq | Op2::Eq | Op2::Eql => Value::bool(a == b),
        _ => return None,
    })
}

#[inline(always)]
fn op2(ctx: &mut Ctx, op: Op2, x: Value, y: Value) -> R {
    if let (Value::Fixnum(a), Value::Fixnum(b)) = (&x, &y) {
        let (a, b) = (*a, *b);
        match op {
            Op2::Add => return Ok(Value::int(a + b)),
            Op2::Sub => return Ok(Value::int(a - b)),
            Op2::Lt => return Ok(Value::bool(a < b)),
            Op2::Gt => return Ok(Value::bool(a > b)),
            Op2::Le => return Ok(Value::bool(a <= b)),
            Op2::Ge => return Ok(Value::bool(a >= b)),
            Op2::NumEq | Op2::Eq | Op2::Eql => return Ok(Value::bool(a == b)),
            _ => {}
        }
    }
    op2_slow(ctx, op, x, y)
}

#[inline(never)]
fn op2_slow(ctx: &mut Ctx, op: Op2, x: Value, y: Value) -> R {
    if let (Value::Fixnum(a), Value::Fixnum(b), Op2::Mul) = (&x, &y, op) {
        if let Some(p) = a.checked_mul(*b) {
            return Ok(Value::int(p));
        }
    }
    match op {
        Op2::Add => number::add(ctx, &x, &y),
        Op2::Sub => number::sub(ctx, &x, &y),
        Op2::Mul => number::mul(ctx, &x, &y),
        Op2::Lt => number::compare_op(ctx, &x, &y, "<").map(|o| Value::bool(o.is_lt())),
        Op2::Gt => number::compare_op(ctx, &x, &y, ">").map(|o| Value::bool(o.is_gt())),
        Op2::Le => number::compare_op(ctx, &x, &y, "<=").map(|o| Value::bool(o.is_le())),
        Op2::Ge => number::compare_op(ctx, &x, &y, ">=").map(|o| Value::bool(o.is_ge())),
        Op2::NumEq => number::num_eq_checked(ctx, &x, &y).map(Value::bool),
        Op2::Eq => Ok(Value::bool(x.eq(&y))),
        Op2::Eql => Ok(Value::bool(x.eql(&y))),
        Op2::Cons => Ok(Value::cons(x, y)),
    }
}

fn eval_let(ctx: &mut Ctx, fr: &Frame, l: &Let) -> R {
    let mark = ctx.dyn_binds.len();
    let r = (|| {
        if l.has_special && !l.sequential {
            let mut vals: SmallVec<[Value; 8]> = SmallVec::new();
            for (_, init) in l.binds.iter() {
                vals.push(init.eval(ctx, fr)?);
            }
            for ((b, _), v) in l.binds.iter().zip(vals) {
                bind(ctx, fr, b, v);
            }
        } else {
            for (b, init) in l.binds.iter() {
                let v = init.eval(ctx, fr)?;
                bind(ctx, fr, b, v);
            }
        }
        l.body.eval(ctx, fr)
    })();
    if l.has_special {
        ctx.unbind_to(mark);
    }
    r
}

fn target_id(ctx: &mut Ctx, fr: &Frame, t: &Target, what: &str, name: &Value) -> R<u64> {
    match t {
        Target::Static(id) => Ok(*id),
        Target::Dynamic(n) => {
            let id = match n.eval(ctx, fr)? {
                Value::Fixnum(i) => i as u64,
                _ => 0,
            };
            if ctx.live_exits.contains(&id) {
                Ok(id)
            } else {
                Err(conditions::control_error(
                    ctx,
                    format!(
                        "attempt to {} to {} that no longer exists",
                        what,
                        crate::printer::prin1_string(name)
                    ),
                ))
            }
        }
    }
}

fn eval_block(ctx: &mut Ctx, fr: &Frame, b: &Block) -> R {
    let mark = Mark::of(ctx);
    let dyn_id = match &b.dynamic {
        Some(binder) => {
            let id = w().next_id();
            bind(ctx, fr, binder, Value::Fixnum(id as i64));
            ctx.live_exits.push(id);
            Some(id)
        }
        None => None,
    };
    let r = b.body.eval(ctx, fr);
    if dyn_id.is_some() {
        ctx.live_exits.truncate(mark.live_exits);
    }
    match r {
        Err(e) if e.is_to(b.id) || dyn_id.is_some_and(|d| e.is_to(d)) => {
            mark.restore(ctx);
            Ok(exit_result(ctx))
        }
        other => other,
    }
}

/// What one TAGBODY statement did.
enum Step {
    /// A GO to the statement with this label index of the same tagbody.
    Jump(usize),
    /// It ran (a GO from deeper inside comes back as an exit).
    Ran(R),
}

fn eval_tagbody(ctx: &mut Ctx, fr: &Frame, t: &Tagbody) -> R {
    let mark = Mark::of(ctx);
    let dyn_id = match &t.dynamic {
        Some(binder) => {
            let id = w().next_id();
            bind(ctx, fr, binder, Value::Fixnum(id as i64));
            ctx.live_exits.push(id);
            Some(id)
        }
        None => None,
    };
    let mut pc = 0;
    let r = loop {
        if pc >= t.stmts.len() {
            break Ok(Value::Nil);
        }
        // A GO to this tagbody straight from one of its statements (or
        // from the IF of `(if test (go tag))`) jumps without unwinding.
        let stmt = &t.stmts[pc];
        let local_go = |n: &Node| match n {
            Node::Go(g) if matches!(g.target, Target::Static(id) if id == t.id) => Some(g.label),
            _ => None,
        };
        let r = match stmt {
            Node::If(b) => match local_go(&b.1) {
                Some(label) => match b.0.eval_test(ctx, fr) {
                    Ok(true) => Step::Jump(label),
                    Ok(false) => Step::Ran(b.2.eval(ctx, fr)),
                    Err(e) => Step::Ran(Err(e)),
                },
                None => Step::Ran(stmt.eval(ctx, fr)),
            },
            _ => match local_go(stmt) {
                Some(label) => Step::Jump(label),
                None => Step::Ran(stmt.eval(ctx, fr)),
            },
        };
        let r = match r {
            Step::Jump(label) => {
                pc = t.labels[label];
                if let Err(e) = ctx.tick() {
                    break Err(e);
                }
                continue;
            }
            Step::Ran(r) => r,
        };
        match r {
            Ok(_) => pc += 1,
            Err(e) if e.is_to(t.id) || dyn_id.is_some_and(|d| e.is_to(d)) => {
                mark.restore(ctx);
                if let Some(d) = dyn_id {
                    ctx.live_exits.push(d);
                }
                pc = t.labels[ctx.exit_tag];
                if let Err(e) = ctx.tick() {
                    break Err(e);
                }
            }
            Err(e) => break Err(e),
        }
    };
    if dyn_id.is_some() {
        ctx.live_exits.truncate(mark.live_exits);
    }
    r
}

fn eval_unwind_protect(ctx: &mut Ctx, fr: &Frame, body: &Node, cleanup: &Node) -> R {
    let mark = Mark::of(ctx);
    let r = body.eval(ctx, fr);
    let saved_vals = match &r {
        Ok(v) => Some(ctx.take_values(v.clone())),
        Err(_) => {
            mark.restore(ctx);
            None
        }
    };
    let saved_exit = (std::mem::take(&mut ctx.exit_values), ctx.exit_tag);
    let quit_code = ctx.quit_code;
    cleanup.eval(ctx, fr)?;
    ctx.exit_values = saved_exit.0;
    ctx.exit_tag = saved_exit.1;
    ctx.quit_code = quit_code;
    match saved_vals {
        Some(vals) => Ok(ctx.set_values(vals)),
        None => r,
    }
}

fn eval_handler_case(ctx: &mut Ctx, fr: &Frame, c: &CaseForm) -> R {
    let id = w().next_id();
    let mark = Mark::of(ctx);
    for (i, cl) in c.clauses.iter().enumerate() {
        ctx.handlers.push(Handler {
            typespec: cl.spec.clone(),
            kind: HandlerKind::Case {
                target: id,
                clause: i,
            },
            cluster: mark.handlers,
        });
    }
    let r = c.body.eval(ctx, fr);
    ctx.handlers.truncate(mark.handlers);
    match r {
        Ok(v) => match &c.no_error {
            Some(ne) => {
                let vals = ctx.take_values(v);
                let f = ne.eval(ctx, fr)?;
                apply(ctx, &f, &vals)
            }
            None => Ok(v),
        },
        Err(e) if e.is_to(id) => {
            mark.restore(ctx);
            let clause = ctx.exit_tag;
            let cond = std::mem::take(&mut ctx.exit_values);
            let f = c.clauses[clause].func.eval(ctx, fr)?;
            apply(ctx, &f, &cond)
        }
        Err(e) => Err(e),
    }
}

fn eval_restart_case(ctx: &mut Ctx, fr: &Frame, c: &CaseForm) -> R {
    let id = w().next_id();
    let mark = Mark::of(ctx);
    for (i, cl) in c.clauses.iter().enumerate() {
        let report = match &cl.report {
            Some(n) => n.eval(ctx, fr)?,
            None => Value::Nil,
        };
        let interactive = match &cl.interactive {
            Some(n) => n.eval(ctx, fr)?,
            None => Value::Nil,
        };
        let test = match &cl.test {
            Some(n) => n.eval(ctx, fr)?,
            None => Value::Nil,
        };
        ctx.restarts.push(Restart {
            id: w().next_id(),
            name: cl.spec.clone(),
            action: RestartAction::Unwind {
                target: id,
                clause: i,
            },
            report,
            interactive,
            test,
            conditions: Vec::new(),
        });
    }
    // Restarts established here, innermost first, as the CLHS orders them.
    ctx.restarts[mark.restarts..].reverse();
    let r = c.body.eval(ctx, fr);
    ctx.restarts.truncate(mark.restarts);
    match r {
        Err(e) if e.is_to(id) => {
            mark.restore(ctx);
            let clause = ctx.exit_tag;
            let args = std::mem::take(&mut ctx.exit_values);
            let f = c.clauses[clause].func.eval(ctx, fr)?;
            apply(ctx, &f, &args)
        }
        other => other,
    }
}

fn make_closure(ctx: &mut Ctx, fr: &Frame, code: &std::rc::Rc<Lambda>) -> Value {
    let env: Box<[Gc<VarCell>]> = code
        .captures
        .iter()
        .map(|src| match src {
            CaptureSrc::Slot(s) => match &ctx.stack[fr.base + *s as usize] {
                Value::Cell(c) => c.clone(),
                // A variable captured before its binding form ran (LABELS
                // sets its functions after creating them): give it a box.
                other => {
                    let c = Gc::new(VarCell::new(other.clone()));
                    ctx.stack[fr.base + *s as usize] = Value::Cell(c.clone());
                    c
                }
            },
            CaptureSrc::Capture(i) => fr.env[*i as usize].clone(),
        })
        .collect();
    Value::Function(Gc::new(Function {
        kind: FnKind::Closure {
            code: code.clone(),
            env,
        },
    }))
}

#[inline(never)]
fn call_global(ctx: &mut Ctx, fr: &Frame, c: &Call) -> R {
    // Hold the function (a plain count increment) so that redefining it
    // during the call cannot free the running code.
    let fun = c.sym.with_function(|f| match f {
        Value::Function(g) => Some(g.clone()),
        _ => None,
    });
    match fun {
        Some(fun) if !c.sym.is_macro() => match &fun.kind {
            FnKind::Closure { code, env } => {
                for a in c.args.iter() {
                    if let Some(n) = a.peek_fixnum(ctx, fr) {
                        ctx.stack.push(Value::Fixnum(n));
                        continue;
                    }
                    let v = a.operand(ctx, fr)?;
                    ctx.stack.push(v);
                }
                invoke_closure(ctx, &fun, code, env, c.args.len(), c.loc)
            }
            _ => {
                let args = eval_args(ctx, fr, &c.args)?;
                call_function(ctx, &fun, &args, c.loc)
            }
        },
        Some(_) => Err(conditions::program_error(
            ctx,
            format!("{} is a macro, not a function", c.sym.name()),
        )),
        None => {
            let name = crate::symbol::sym_value(&c.sym);
            let args = eval_args(ctx, fr, &c.args)?;
            let f = conditions::undefined_function_restartable(ctx, name)?;
            apply(ctx, &f, &args)
        }
    }
}

fn call_value(ctx: &mut Ctx, fr: &Frame, f: &Value, args: &[Node], loc: Loc) -> R {
    match f {
        Value::Function(fun) => match &fun.kind {
            FnKind::Closure { code, env } => {
                for a in args.iter() {
                    let v = a.eval(ctx, fr)?;
                    ctx.stack.push(v);
                }
                invoke_closure(ctx, fun, code, env, args.len(), loc)
            }
            _ => {
                let a = eval_args(ctx, fr, args)?;
                call_function(ctx, fun, &a, loc)
            }
        },
        _ => {
            let a = eval_args(ctx, fr, args)?;
            apply(ctx, f, &a)
        }
    }
}

/// Call a function designator (function or symbol) with arguments.
pub fn apply(ctx: &mut Ctx, f: &Value, args: &[Value]) -> R {
    match f {
        Value::Function(fun) => call_function(ctx, fun, args, Loc::default()),
        Value::Symbol(_) | Value::Nil => {
            let sym = crate::world::symbol_of(f).unwrap();
            match sym.function() {
                Value::Function(fun) if !sym.is_macro() => {
                    call_function(ctx, &fun, args, Loc::default())
                }
                _ => {
                    let g = conditions::undefined_function_restartable(ctx, f.clone())?;
                    apply(ctx, &g, args)
                }
            }
        }
        other => Err(conditions::type_error(
            ctx,
            other.clone(),
            "(OR FUNCTION SYMBOL)",
        )),
    }
}

/// Call a function object.
pub fn call_function(ctx: &mut Ctx, fun: &Gc<Function>, args: &[Value], loc: Loc) -> R {
    match &fun.kind {
        FnKind::Builtin(b) => call_builtin(ctx, b, args, loc),
        FnKind::Closure { code, env } => {
            ctx.stack.extend_from_slice(args);
            invoke_closure(ctx, fun, code, env, args.len(), loc)
        }
        FnKind::Native(n) => {
            check_arity(ctx, &n.sig, args.len(), &Value::Function(fun.clone()))?;
            let fmark = ctx.frames.len();
            ctx.frames.push(CallFrame {
                func: FrameFn::of(fun),
                loc,
            });
            ctx.nvals = 1;
            let r = (n.f)(ctx, args);
            ctx.frames.truncate(fmark);
            r
        }
        FnKind::Generic(_) => crate::clos::call_generic(ctx, fun, args),
        FnKind::Bound(b) => {
            let (min, max) = b.arity;
            if args.len() < min || max.is_some_and(|m| args.len() > m) {
                return Err(conditions::arity_error(
                    ctx,
                    &Value::Function(fun.clone()),
                    args.len(),
                ));
            }
            let fmark = ctx.frames.len();
            ctx.frames.push(CallFrame {
                func: FrameFn::of(fun),
                loc,
            });
            ctx.nvals = 1;
            let r = (b.f)(ctx, &b.env, args);
            ctx.frames.truncate(fmark);
            r
        }
    }
}

/// A function implemented by `f` over captured values `env`.
/// It checks no argument count: for internal protocols (method functions)
/// whose callers fix the arguments.
pub fn make_native_closure(name: &str, env: Vec<Value>, f: crate::function::BoundFnPtr) -> Value {
    make_native_closure_arity(name, (0, None), env, f)
}

/// [`make_native_closure`] for a function Lisp code calls: a call with
/// fewer than `arity.0` or more than `arity.1` arguments is a
/// PROGRAM-ERROR before `f` runs.
pub fn make_native_closure_arity(
    name: &str,
    arity: (usize, Option<usize>),
    env: Vec<Value>,
    f: crate::function::BoundFnPtr,
) -> Value {
    let name = crate::reader::read_symbol_name(name);
    Value::Function(Gc::new(Function {
        kind: FnKind::Bound(Box::new(crate::function::BoundFn {
            name,
            env,
            f,
            arity,
        })),
    }))
}

fn check_arity(ctx: &mut Ctx, sig: &crate::function::Sig, n: usize, f: &Value) -> R<()> {
    if n < sig.req as usize || sig.max().is_some_and(|m| n > m) {
        return Err(conditions::arity_error(ctx, f, n));
    }
    Ok(())
}

/// Call a builtin with evaluated arguments.
pub fn call_builtin(ctx: &mut Ctx, b: &'static Builtin, args: &[Value], loc: Loc) -> R {
    // Macro expanders take (form env); their lambda list describes the form.
    let bad_arity = if b.kind == crate::function::Kind::Macro {
        args.is_empty() || args.len() > 2
    } else {
        args.len() < b.sig.req as usize || b.sig.max().is_some_and(|m| args.len() > m)
    };
    if bad_arity {
        let f = crate::builtins::builtin_function(b);
        return Err(conditions::arity_error(ctx, &f, args.len()));
    }
    let fmark = ctx.frames.len();
    ctx.frames.push(CallFrame {
        func: FrameFn::Builtin(b),
        loc,
    });
    let r = if b.sig.key && b.flags & RAW == 0 && b.kind == crate::function::Kind::Function {
        match normalize_keys(ctx, b, args) {
            Ok(norm) => (b.f)(ctx, &norm),
            Err(e) => Err(e),
        }
    } else {
        (b.f)(ctx, args)
    };
    ctx.frames.truncate(fmark);
    if b.flags & MV == 0 {
        ctx.nvals = 1;
    }
    r
}

/// Lay out a builtin's &key arguments positionally, in lambda-list order,
/// with `Value::Unbound` for those not supplied.
pub(crate) fn normalize_keys(ctx: &mut Ctx, b: &'static Builtin, args: &[Value]) -> R<Args> {
    let npos = (b.sig.req + b.sig.opt) as usize;
    let keys = b.key_names();
    let mut out = Args::new();
    for i in 0..npos {
        out.push(args.get(i).cloned().unwrap_or(Value::Unbound));
    }
    for _ in 0..keys.len() {
        out.push(Value::Unbound);
    }
    let rest = if args.len() > npos {
        &args[npos..]
    } else {
        &[][..]
    };
    if !rest.len().is_multiple_of(2) {
        let f = crate::builtins::builtin_function(b);
        return Err(conditions::program_error(
            ctx,
            format!(
                "odd number of &KEY arguments in call to {}",
                crate::printer::prin1_string(&f.as_function_name())
            ),
        ));
    }
    let kw_pkg = &w().keyword;
    let mut allow = b.sig.allow_other_keys;
    for p in rest.chunks(2) {
        if let Value::Symbol(s) = &p[0] {
            if s.name() == "ALLOW-OTHER-KEYS" && s.home_is(kw_pkg) && p[1].truthy() {
                allow = true;
            }
        }
    }
    for p in rest.chunks(2) {
        let idx = match &p[0] {
            Value::Symbol(s) if s.home_is(kw_pkg) => keys.iter().position(|k| &**k == s.name()),
            _ => None,
        };
        match idx {
            Some(i) => {
                if let Value::Unbound = out[npos + i] {
                    out[npos + i] = p[1].clone();
                }
            }
            None => {
                let is_aok = matches!(&p[0], Value::Symbol(s) if s.name() == "ALLOW-OTHER-KEYS" && s.home_is(kw_pkg));
                if !allow && !is_aok {
                    let known: Vec<String> = keys.iter().map(|k| format!(":{}", k)).collect();
                    return Err(conditions::program_error(
                        ctx,
                        format!(
                            "unknown &KEY argument: {}; expected one of {}",
                            crate::printer::prin1_string(&p[0]),
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Run a closure whose `nargs` arguments were pushed on the value stack.
pub fn invoke_closure(
    ctx: &mut Ctx,
    fun: &Gc<Function>,
    code: &Lambda,
    env: &[Gc<VarCell>],
    nargs: usize,
    loc: Loc,
) -> R {
    let base = ctx.stack.len() - nargs;
    let fmark = ctx.frames.len();
    let dmark = ctx.dyn_binds.len();
    ctx.frames.push(CallFrame {
        func: FrameFn::of(fun),
        loc,
    });
    let fr = Frame { base, env };
    let r = (|| {
        if ctx.stack_exhausted() {
            return Err(conditions::stack_exhausted(ctx));
        }
        ctx.tick()?;
        if code.simple {
            if nargs != code.nreq as usize {
                return Err(conditions::arity_error(
                    ctx,
                    &Value::Function(fun.clone()),
                    nargs,
                ));
            }
            if code.nslots as usize > nargs {
                ctx.stack.resize(base + code.nslots as usize, Value::Nil);
            }
        } else {
            bind_general_args(ctx, &fr, &Value::Function(fun.clone()), code, nargs)?;
        }
        let v = code.body.eval(ctx, &fr)?;
        if code.single_valued {
            ctx.nvals = 1;
        }
        Ok(v)
    })();
    if ctx.dyn_binds.len() > dmark {
        ctx.unbind_to(dmark);
    }
    ctx.frames.truncate(fmark);
    truncate_values(&mut ctx.stack, base);
    r
}

/// Drop the values above `len`, calling drop code only for heap objects.
#[inline(always)]
pub fn truncate_values(stack: &mut Vec<Value>, len: usize) {
    if len >= stack.len() {
        return;
    }
    for v in &mut stack[len..] {
        if !v.is_immediate() {
            // SAFETY: each value is dropped once; the length is cut below.
            unsafe { std::ptr::drop_in_place(v) };
        }
    }
    // SAFETY: the elements past `len` were dropped (or need no drop).
    unsafe { stack.set_len(len) };
}

/// Bind arguments for lambda lists other than plain required parameters
/// (and for macro expanders).
#[inline(never)]
fn bind_general_args(
    ctx: &mut Ctx,
    fr: &Frame,
    fval: &Value,
    code: &Lambda,
    nargs: usize,
) -> R<()> {
    let base = fr.base;
    let args: Args = ctx.stack.drain(base..).collect();
    debug_assert_eq!(args.len(), nargs);
    ctx.stack.resize(base + code.nslots as usize, Value::Nil);
    if code.is_macro {
        let form = args.first().cloned().unwrap_or(Value::Nil);
        let envv = args.get(1).cloned().unwrap_or(Value::Nil);
        if args.len() != 2 {
            return Err(conditions::arity_error(ctx, fval, args.len()));
        }
        bind_macro_args(ctx, fr, &code.params, form, envv, &code.name)
    } else {
        bind_args(ctx, fr, &code.params, &args, fval)
    }
}

fn bind_param(ctx: &mut Ctx, fr: &Frame, p: &Param, v: Value, what: &Value) -> R<()> {
    match p {
        Param::Var(b) => {
            bind(ctx, fr, b, v);
            Ok(())
        }
        Param::Pattern(ll) => destructure(ctx, fr, ll, v.clone(), &v, what),
    }
}

fn bind_args(ctx: &mut Ctx, fr: &Frame, ll: &LambdaList, args: &[Value], f: &Value) -> R<()> {
    let nreq = ll.req.len();
    let nopt = ll.opt.len();
    if args.len() < nreq || (ll.rest.is_none() && ll.key.is_none() && args.len() > nreq + nopt) {
        return Err(conditions::arity_error(ctx, f, args.len()));
    }
    for (p, a) in ll.req.iter().zip(args) {
        bind_param(ctx, fr, p, a.clone(), f)?;
    }
    let mut i = nreq;
    for o in &ll.opt {
        if i < args.len() {
            bind_param(ctx, fr, &o.param, args[i].clone(), f)?;
            if let Some(sp) = &o.supplied {
                bind(ctx, fr, sp, Value::t());
            }
            i += 1;
        } else {
            let v = match &o.init {
                Some(n) => n.eval(ctx, fr)?,
                None => Value::Nil,
            };
            bind_param(ctx, fr, &o.param, v, f)?;
            if let Some(sp) = &o.supplied {
                bind(ctx, fr, sp, Value::Nil);
            }
        }
    }
    let rest = if i < args.len() { &args[i..] } else { &[][..] };
    if let Some(r) = &ll.rest {
        bind_param(ctx, fr, r, list_from(rest.iter().cloned()), f)?;
    }
    if let Some(keys) = &ll.key {
        bind_keys(ctx, fr, ll, keys, rest, f)?;
    }
    bind_aux(ctx, fr, ll)
}

fn bind_aux(ctx: &mut Ctx, fr: &Frame, ll: &LambdaList) -> R<()> {
    for (b, init) in &ll.aux {
        let v = match init {
            Some(n) => n.eval(ctx, fr)?,
            None => Value::Nil,
        };
        bind(ctx, fr, b, v);
    }
    Ok(())
}

fn bind_keys(
    ctx: &mut Ctx,
    fr: &Frame,
    ll: &LambdaList,
    keys: &[KeyParam],
    rest: &[Value],
    f: &Value,
) -> R<()> {
    if !rest.len().is_multiple_of(2) {
        return Err(conditions::program_error(
            ctx,
            format!(
                "odd number of &KEY arguments in call to {}",
                crate::printer::prin1_string(&f.as_function_name())
            ),
        ));
    }
    let aok = crate::world::keyword("ALLOW-OTHER-KEYS");
    let mut allow = ll.allow_other_keys;
    if !allow {
        for p in rest.chunks(2) {
            if p[0].eq(&aok) {
                allow = p[1].truthy();
                break;
            }
        }
    }
    if !allow {
        for p in rest.chunks(2) {
            if !p[0].eq(&aok) && !keys.iter().any(|k| k.keyword.eq(&p[0])) {
                let known: Vec<String> = keys
                    .iter()
                    .map(|k| crate::printer::prin1_string(&k.keyword))
                    .collect();
                return Err(conditions::program_error(
                    ctx,
                    format!(
                        "unknown &KEY argument: {}; expected one of {}",
                        crate::printer::prin1_string(&p[0]),
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    for k in keys {
        let found = rest
            .chunks(2)
            .find(|p| p[0].eq(&k.keyword))
            .map(|p| p[1].clone());
        match found {
            Some(v) => {
                bind_param(ctx, fr, &k.param, v, f)?;
                if let Some(sp) = &k.supplied {
                    bind(ctx, fr, sp, Value::t());
                }
            }
            None => {
                let v = match &k.init {
                    Some(n) => n.eval(ctx, fr)?,
                    None => Value::Nil,
                };
                bind_param(ctx, fr, &k.param, v, f)?;
                if let Some(sp) = &k.supplied {
                    bind(ctx, fr, sp, Value::Nil);
                }
            }
        }
    }
    Ok(())
}

fn bind_macro_args(
    ctx: &mut Ctx,
    fr: &Frame,
    ll: &LambdaList,
    form: Value,
    env: Value,
    name: &Value,
) -> R<()> {
    if let Some(e) = &ll.env {
        bind(ctx, fr, e, env);
    }
    if let Some(wh) = &ll.whole {
        bind_param(ctx, fr, wh, form.clone(), name)?;
    }
    let args = form.rest();
    destructure_list(ctx, fr, ll, args, &form, name)
}

/// Bind a destructuring lambda list to a list value.
pub fn destructure(
    ctx: &mut Ctx,
    fr: &Frame,
    ll: &LambdaList,
    list: Value,
    whole: &Value,
    what: &Value,
) -> R<()> {
    if let Some(wh) = &ll.whole {
        bind_param(ctx, fr, wh, list.clone(), what)?;
    }
    if let Some(e) = &ll.env {
        bind(ctx, fr, e, Value::Nil);
    }
    destructure_list(ctx, fr, ll, list, whole, what)
}

fn destructure_error(ctx: &mut Ctx, what: &Value, whole: &Value, msg: &str) -> Exit {
    conditions::destructuring_error(
        ctx,
        format!(
            "error while parsing arguments to {}: {} in {}",
            crate::printer::prin1_string(what),
            msg,
            crate::printer::prin1_string(whole)
        ),
    )
}

fn destructure_list(
    ctx: &mut Ctx,
    fr: &Frame,
    ll: &LambdaList,
    list: Value,
    whole: &Value,
    what: &Value,
) -> R<()> {
    let mut cur = list;
    for p in &ll.req {
        match cur {
            Value::Cons(c) => {
                bind_param(ctx, fr, p, c.car(), what)?;
                cur = c.cdr();
            }
            _ => return Err(destructure_error(ctx, what, whole, "too few elements")),
        }
    }
    for o in &ll.opt {
        match cur.clone() {
            Value::Cons(c) => {
                bind_param(ctx, fr, &o.param, c.car(), what)?;
                if let Some(sp) = &o.supplied {
                    bind(ctx, fr, sp, Value::t());
                }
                cur = c.cdr();
            }
            _ => {
                let v = match &o.init {
                    Some(n) => n.eval(ctx, fr)?,
                    None => Value::Nil,
                };
                bind_param(ctx, fr, &o.param, v, what)?;
                if let Some(sp) = &o.supplied {
                    bind(ctx, fr, sp, Value::Nil);
                }
            }
        }
    }
    if let Some(r) = &ll.rest {
        bind_param(ctx, fr, r, cur.clone(), what)?;
    }
    if let Some(keys) = &ll.key {
        let Some(items) = proper_list(&cur) else {
            return Err(destructure_error(
                ctx,
                what,
                whole,
                "malformed keyword list",
            ));
        };
        bind_keys(ctx, fr, ll, keys, &items, what)?;
    } else if ll.rest.is_none() && !cur.is_nil() {
        return Err(destructure_error(ctx, what, whole, "too many elements"));
    }
    bind_aux(ctx, fr, ll)
}

fn proper_list(v: &Value) -> Option<Vec<Value>> {
    let mut it = v.iter();
    let items: Vec<Value> = it.by_ref().collect();
    if it.tail().is_nil() {
        Some(items)
    } else {
        None
    }
}

/// Run compiled toplevel code (a lambda of no arguments).
pub fn run_toplevel(ctx: &mut Ctx, lam: &Lambda) -> R {
    let base = ctx.stack.len();
    ctx.stack.resize(base + lam.nslots as usize, Value::Nil);
    let fr = Frame { base, env: &[] };
    let r = lam.body.eval(ctx, &fr);
    ctx.stack.truncate(base);
    r
}

/// Evaluate a form in the null lexical environment.
pub fn eval(ctx: &mut Ctx, form: &Value) -> R {
    let lam = Compiler::new(ctx, None).compile_toplevel(form)?;
    run_toplevel(ctx, &lam)
}

/// Call a symbol's global function by name (convenience for Rust code).
pub fn call_symbol(ctx: &mut Ctx, sym: &Gc<Symbol>, args: &[Value]) -> R {
    apply(ctx, &Value::Symbol(sym.clone()), args)
}

impl Value {
    /// The name to show for a function value in messages.
    pub fn as_function_name(&self) -> Value {
        match self {
            Value::Function(f) => f.name(),
            other => other.clone(),
        }
    }
}
