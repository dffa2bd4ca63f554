//! Second compiler pass: decide where each lexical variable lives.
//!
//! After analysis the compiler knows which variables closures capture.
//! This pass rewrites variable references into slot, boxed-slot or
//! capture accesses and fills in each closure's capture list (flat
//! closures: a closure copies the boxes it needs when it is created).

use super::node::*;
use super::VarInfo;
use std::rc::Rc;

struct Resolver<'a> {
    vars: &'a [VarInfo],
    /// Capture lists of the functions being resolved, outermost first;
    /// the index is the lambda nesting level.
    levels: Vec<Vec<(VarId, CaptureSrc)>>,
}

/// Resolve a toplevel lambda (level 0) and everything inside it.
pub fn resolve_toplevel(vars: &[VarInfo], lam: &mut Lambda) {
    let mut r = Resolver {
        vars,
        levels: vec![Vec::new()],
    };
    r.lambda_list(&mut lam.params);
    r.node(&mut lam.body);
    lam.simple = !lam.is_macro && fast_params(&lam.params);
}

/// Whether arguments can be used in place: only required parameters,
/// each in the slot of its position, none boxed or special.
fn fast_params(ll: &LambdaList) -> bool {
    ll.is_simple()
        && ll.req.iter().enumerate().all(|(i, p)| {
            matches!(p, Param::Var(Binder { kind: BindKind::Slot(s), .. }) if *s as usize == i)
        })
}

impl Resolver<'_> {
    fn level(&self) -> u32 {
        (self.levels.len() - 1) as u32
    }

    fn capture_index(&mut self, level: u32, id: VarId) -> u32 {
        let caps = &self.levels[level as usize];
        if let Some(i) = caps.iter().position(|(v, _)| *v == id) {
            return i as u32;
        }
        let home = self.vars[id as usize].level;
        let src = if home + 1 == level {
            CaptureSrc::Slot(self.vars[id as usize].slot)
        } else {
            CaptureSrc::Capture(self.capture_index(level - 1, id))
        };
        let caps = &mut self.levels[level as usize];
        caps.push((id, src));
        (caps.len() - 1) as u32
    }

    fn var_ref(&mut self, id: VarId) -> Node {
        let v = &self.vars[id as usize];
        if v.level == self.level() {
            if v.captured {
                Node::BoxSlot(v.slot)
            } else {
                Node::Slot(v.slot)
            }
        } else {
            Node::Captured(self.capture_index(self.level(), id))
        }
    }

    fn binder(&mut self, b: &mut Binder) {
        if matches!(b.kind, BindKind::Unresolved) {
            let v = &self.vars[b.var as usize];
            b.kind = if v.captured {
                BindKind::Box(v.slot)
            } else {
                BindKind::Slot(v.slot)
            };
        }
    }

    fn param(&mut self, p: &mut Param) {
        match p {
            Param::Var(b) => self.binder(b),
            Param::Pattern(ll) => self.lambda_list(ll),
        }
    }

    fn lambda_list(&mut self, ll: &mut LambdaList) {
        if let Some(w) = &mut ll.whole {
            self.param(w);
        }
        if let Some(e) = &mut ll.env {
            self.binder(e);
        }
        for p in &mut ll.req {
            self.param(p);
        }
        for o in &mut ll.opt {
            if let Some(i) = &mut o.init {
                self.node(i);
            }
            self.param(&mut o.param);
            if let Some(s) = &mut o.supplied {
                self.binder(s);
            }
        }
        if let Some(r) = &mut ll.rest {
            self.param(r);
        }
        if let Some(keys) = &mut ll.key {
            for k in keys {
                if let Some(i) = &mut k.init {
                    self.node(i);
                }
                self.param(&mut k.param);
                if let Some(s) = &mut k.supplied {
                    self.binder(s);
                }
            }
        }
        for (b, init) in &mut ll.aux {
            if let Some(i) = init {
                self.node(i);
            }
            self.binder(b);
        }
    }

    fn target(&mut self, t: &mut Target) {
        if let Target::Dynamic(n) = t {
            self.node(n);
        }
    }

    fn nodes(&mut self, v: &mut [Node]) {
        for n in v {
            self.node(n);
        }
    }

    fn node(&mut self, n: &mut Node) {
        match n {
            Node::Lex(id) => {
                let id = *id;
                *n = self.var_ref(id);
            }
            Node::SetLex(id, val) => {
                let id = *id;
                self.node(val);
                let val = std::mem::replace(&mut **val, Node::nil());
                *n = match self.var_ref(id) {
                    Node::Slot(s) => Node::SetSlot(s, Box::new(val)),
                    Node::BoxSlot(s) => Node::SetBoxSlot(s, Box::new(val)),
                    Node::Captured(i) => Node::SetCaptured(i, Box::new(val)),
                    _ => unreachable!(),
                };
            }
            Node::Const(_)
            | Node::Slot(_)
            | Node::BoxSlot(_)
            | Node::Captured(_)
            | Node::Special(_)
            | Node::FunctionRef(..)
            | Node::SetfFunctionRef(..) => {}
            Node::SetSlot(_, v)
            | Node::SetBoxSlot(_, v)
            | Node::SetCaptured(_, v)
            | Node::SetSpecial(_, v) => self.node(v),
            Node::If(b) => {
                self.node(&mut b.0);
                self.node(&mut b.1);
                self.node(&mut b.2);
            }
            Node::Progn(v) => self.nodes(v),
            Node::Let(l) => {
                for (b, init) in l.binds.iter_mut() {
                    self.node(init);
                    self.binder(b);
                }
                self.node(&mut l.body);
            }
            Node::Call(c) => self.nodes(&mut c.args),
            Node::CallBuiltin(c) => self.nodes(&mut c.args),
            Node::Funcall(f) => {
                self.node(&mut f.f);
                self.nodes(&mut f.args);
            }
            Node::SetfCall(f) => {
                self.node(&mut f.setter);
                self.nodes(&mut f.args);
                self.node(&mut f.value);
            }
            Node::Closure(rc) => {
                let lam = Rc::get_mut(rc).expect("closure code is shared during compilation");
                self.levels.push(Vec::new());
                self.lambda_list(&mut lam.params);
                self.node(&mut lam.body);
                let caps = self.levels.pop().unwrap();
                lam.captures = caps.into_iter().map(|(_, s)| s).collect();
                lam.simple = !lam.is_macro && fast_params(&lam.params);
            }
            Node::Block(b) => {
                if let Some(d) = &mut b.dynamic {
                    self.binder(d);
                }
                self.node(&mut b.body);
            }
            Node::ReturnFrom(r) => {
                self.target(&mut r.target);
                self.node(&mut r.value);
            }
            Node::Tagbody(t) => {
                if let Some(d) = &mut t.dynamic {
                    self.binder(d);
                }
                self.nodes(&mut t.stmts);
            }
            Node::Go(g) => self.target(&mut g.target),
            Node::Catch(b) | Node::Throw(b) | Node::UnwindProtect(b) | Node::MvProg1(b) => {
                self.node(&mut b.0);
                self.node(&mut b.1);
            }
            Node::MvCall(b) => {
                self.node(&mut b.0);
                self.nodes(&mut b.1);
            }
            Node::MvBind(m) => {
                self.node(&mut m.form);
                for b in m.vars.iter_mut() {
                    self.binder(b);
                }
                self.node(&mut m.body);
            }
            Node::Progv(b) => {
                self.node(&mut b.0);
                self.node(&mut b.1);
                self.node(&mut b.2);
            }
            Node::Destructure(d) => {
                self.node(&mut d.form);
                self.lambda_list(&mut d.pattern);
                self.node(&mut d.body);
            }
            Node::HandlerBind(h) => {
                for (_, f) in h.handlers.iter_mut() {
                    self.node(f);
                }
                self.node(&mut h.body);
            }
            Node::HandlerCase(c) | Node::RestartCase(c) => {
                self.node(&mut c.body);
                for cl in c.clauses.iter_mut() {
                    self.node(&mut cl.func);
                    for o in [&mut cl.report, &mut cl.interactive, &mut cl.test]
                        .into_iter()
                        .flatten()
                    {
                        self.node(o);
                    }
                }
                if let Some(ne) = &mut c.no_error {
                    self.node(ne);
                }
            }
            Node::Single(b) => self.node(b),
            Node::Op1(_, a) => self.node(a),
            Node::Op2(_, b) => {
                self.node(&mut b.0);
                self.node(&mut b.1);
            }
            Node::Located(b) => self.node(&mut b.0),
        }
    }
}
