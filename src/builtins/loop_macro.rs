//! LOOP: the simple loop and the full extended loop, expanded into a
//! BLOCK around LET* bindings and a TAGBODY.

use super::macros::{cl, gensym, l, lt, progn, quote};
use crate::conditions as cond;
use crate::ctx::{Ctx, Exit, R};
use crate::value::{list_from, Value};

struct Loop<'c> {
    ctx: &'c mut Ctx,
    toks: Vec<Value>,
    pos: usize,
    whole: Value,
    name: Value,
    binds: Vec<Value>,
    initially: Vec<Value>,
    finally: Vec<Value>,
    /// Per-iteration actions in clause order (tests, sets, main clauses).
    body: Vec<Value>,
    /// End-of-iteration steps.
    steps: Vec<Value>,
    /// The default accumulator, if any.
    result: Option<Value>,
    /// Result when the loop ends normally without an accumulator.
    default_result: Value,
    end_tag: Value,
    /// Accumulators created for INTO variables: (var, tail var).
    tails: Vec<(Value, Value)>,
}

fn kw(v: &Value, names: &[&str]) -> bool {
    match v {
        Value::Symbol(s) => names.contains(&s.name()),
        _ => false,
    }
}

/// The words that start a LOOP clause.
pub const CLAUSE_WORDS: &[&str] = &[
    "FOR",
    "AS",
    "WITH",
    "DO",
    "DOING",
    "RETURN",
    "COLLECT",
    "COLLECTING",
    "APPEND",
    "APPENDING",
    "NCONC",
    "NCONCING",
    "COUNT",
    "COUNTING",
    "SUM",
    "SUMMING",
    "MAXIMIZE",
    "MAXIMIZING",
    "MINIMIZE",
    "MINIMIZING",
    "IF",
    "WHEN",
    "UNLESS",
    "ELSE",
    "END",
    "AND",
    "WHILE",
    "UNTIL",
    "REPEAT",
    "ALWAYS",
    "NEVER",
    "THEREIS",
    "INITIALLY",
    "FINALLY",
    "NAMED",
];

impl Loop<'_> {
    fn err(&mut self, msg: &str) -> Exit {
        cond::program_error(
            self.ctx,
            format!(
                "{} in LOOP: {}",
                msg,
                crate::printer::prin1_string(&self.whole)
            ),
        )
    }

    fn peek(&self) -> Option<&Value> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> R<Value> {
        match self.toks.get(self.pos) {
            Some(v) => {
                self.pos += 1;
                Ok(v.clone())
            }
            None => Err(self.err("unexpected end")),
        }
    }

    fn at(&self, names: &[&str]) -> bool {
        self.peek().is_some_and(|v| kw(v, names))
    }

    fn accept(&mut self, names: &[&str]) -> bool {
        if self.at(names) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Forms up to the next loop keyword (for DO, INITIALLY, FINALLY).
    fn compound_forms(&mut self) -> Vec<Value> {
        let mut out = vec![];
        while let Some(v) = self.peek() {
            if matches!(v, Value::Symbol(_)) && kw(v, CLAUSE_WORDS) {
                break;
            }
            out.push(v.clone());
            self.pos += 1;
        }
        out
    }

    fn skip_type(&mut self) {
        if self.accept(&["OF-TYPE"]) {
            self.pos += 1;
        } else if self.at(&[
            "FIXNUM",
            "FLOAT",
            "T",
            "INTEGER",
            "NUMBER",
            "SINGLE-FLOAT",
            "DOUBLE-FLOAT",
            "STRING",
            "CHARACTER",
            "SYMBOL",
            "LIST",
        ]) {
            // A simple type spec after a variable, unless it is the next clause word.
            self.pos += 1;
        } else if matches!(self.peek(), Some(Value::Nil)) && self.pos > 0 {
            // NIL as a type: ignore only if followed by something that makes sense.
        }
    }

    /// Bind a (possibly destructuring) variable pattern to NIL and return
    /// forms that set it from VALUE.
    fn bind_pattern(&mut self, pat: &Value, value: Value, out: &mut Vec<Value>) {
        match pat {
            Value::Nil => {}
            Value::Symbol(_) => {
                if !self.binds.iter().any(|b| b.first().eq(pat)) {
                    self.binds.push(l(vec![pat.clone(), Value::Nil]));
                }
                out.push(l(vec![cl("SETQ"), pat.clone(), value]));
            }
            Value::Cons(c) => {
                let tmp = gensym("D");
                self.binds.push(l(vec![tmp.clone(), Value::Nil]));
                out.push(l(vec![cl("SETQ"), tmp.clone(), value]));
                self.bind_pattern(&c.car(), l(vec![cl("CAR"), tmp.clone()]), out);
                self.bind_pattern(&c.cdr(), l(vec![cl("CDR"), tmp]), out);
            }
            _ => {}
        }
    }

    fn simple_var(&self, v: &Value) -> bool {
        matches!(v, Value::Symbol(_))
    }

    fn for_clause(&mut self) -> R<()> {
        // Clauses joined by AND step in parallel: their THEN forms are
        // evaluated into temporaries before any of the group's steps.
        let group_steps_start = self.steps.len();
        let mut then_cursor = group_steps_start;
        let mut in_group = false;
        loop {
            let var = self.next()?;
            self.skip_type();
            let word = self.next()?;
            let w = match &word {
                Value::Symbol(s) => s.name().to_string(),
                _ => return Err(self.err("expected a FOR keyword")),
            };
            match w.as_str() {
                "IN" | "ON" => {
                    let list = self.next()?;
                    let step_fn = if self.accept(&["BY"]) {
                        Some(self.next()?)
                    } else {
                        None
                    };
                    let tail = gensym("TAIL");
                    self.binds.push(l(vec![tail.clone(), list]));
                    let test = if w == "IN" {
                        l(vec![cl("ENDP"), tail.clone()])
                    } else {
                        l(vec![cl("ATOM"), tail.clone()])
                    };
                    self.body.push(l(vec![
                        cl("WHEN"),
                        test,
                        l(vec![cl("GO"), self.end_tag.clone()]),
                    ]));
                    let val = if w == "IN" {
                        l(vec![cl("CAR"), tail.clone()])
                    } else {
                        tail.clone()
                    };
                    let mut sets = vec![];
                    if self.simple_var(&var) {
                        self.binds.push(l(vec![var.clone(), Value::Nil]));
                        sets.push(l(vec![cl("SETQ"), var, val]));
                    } else {
                        self.bind_pattern(&var, val, &mut sets);
                    }
                    self.body.extend(sets);
                    let advance = match step_fn {
                        Some(f) => l(vec![cl("FUNCALL"), f, tail.clone()]),
                        None => l(vec![cl("CDR"), tail.clone()]),
                    };
                    self.steps.push(l(vec![cl("SETQ"), tail, advance]));
                }
                "=" => {
                    let first = self.next()?;
                    if self.accept(&["THEN"]) {
                        let mut then = self.next()?;
                        if in_group || self.at(&["AND"]) {
                            let tmp = gensym("THEN");
                            self.binds.push(l(vec![tmp.clone(), Value::Nil]));
                            self.steps
                                .insert(then_cursor, l(vec![cl("SETQ"), tmp.clone(), then]));
                            then_cursor += 1;
                            then = tmp;
                        }
                        let flag = gensym("FIRST");
                        self.binds.push(l(vec![flag.clone(), cl("T")]));
                        let mut s1 = vec![];
                        let mut s2 = vec![];
                        if self.simple_var(&var) {
                            self.binds.push(l(vec![var.clone(), Value::Nil]));
                            s1.push(l(vec![cl("SETQ"), var.clone(), first]));
                            s2.push(l(vec![cl("SETQ"), var, then]));
                        } else {
                            self.bind_pattern(&var, first, &mut s1);
                            self.bind_pattern(&var, then, &mut s2);
                        }
                        self.body.push(l(vec![
                            cl("IF"),
                            flag.clone(),
                            Value::cons(cl("PROGN"), list_from(s1)),
                            Value::cons(cl("PROGN"), list_from(s2)),
                        ]));
                        self.body.push(l(vec![cl("SETQ"), flag, Value::Nil]));
                    } else {
                        let mut s = vec![];
                        if self.simple_var(&var) {
                            self.binds.push(l(vec![var.clone(), Value::Nil]));
                            s.push(l(vec![cl("SETQ"), var, first]));
                        } else {
                            self.bind_pattern(&var, first, &mut s);
                        }
                        self.body.extend(s);
                    }
                }
                "ACROSS" => {
                    let vec = self.next()?;
                    let v = gensym("VECTOR");
                    let i = gensym("INDEX");
                    self.binds.push(l(vec![v.clone(), vec]));
                    self.binds.push(l(vec![i.clone(), Value::Fixnum(0)]));
                    self.body.push(l(vec![
                        cl("WHEN"),
                        l(vec![cl(">="), i.clone(), l(vec![cl("LENGTH"), v.clone()])]),
                        l(vec![cl("GO"), self.end_tag.clone()]),
                    ]));
                    let val = l(vec![cl("AREF"), v, i.clone()]);
                    let mut s = vec![];
                    if self.simple_var(&var) {
                        self.binds.push(l(vec![var.clone(), Value::Nil]));
                        s.push(l(vec![cl("SETQ"), var, val]));
                    } else {
                        self.bind_pattern(&var, val, &mut s);
                    }
                    self.body.extend(s);
                    self.steps
                        .push(l(vec![cl("SETQ"), i.clone(), l(vec![cl("1+"), i])]));
                }
                "BEING" => {
                    self.accept(&["EACH", "THE"]);
                    let kind = self.next()?;
                    let k = match &kind {
                        Value::Symbol(s) => s.name().to_string(),
                        _ => String::new(),
                    };
                    if !self.accept(&["IN", "OF"]) {
                        return Err(self.err("expected IN or OF"));
                    }
                    let src = self.next()?;
                    let mut other = None;
                    if self.accept(&["USING"]) {
                        let u = self.next()?;
                        other = Some(u.second());
                    }
                    let entries = match k.as_str() {
                        "HASH-KEY" | "HASH-KEYS" | "HASH-VALUE" | "HASH-VALUES" => {
                            l(vec![crate::builtins::macros::sys("%HASH-ENTRIES"), src])
                        }
                        "SYMBOL" | "SYMBOLS" | "PRESENT-SYMBOL" | "PRESENT-SYMBOLS"
                        | "EXTERNAL-SYMBOL" | "EXTERNAL-SYMBOLS" => {
                            let kk = if k.starts_with("EXTERNAL") {
                                "EXTERNAL"
                            } else if k.starts_with("PRESENT") {
                                "PRESENT"
                            } else {
                                "ALL"
                            };
                            l(vec![
                                crate::builtins::macros::sys("%PACKAGE-SYMBOLS"),
                                src,
                                quote(crate::world::keyword(kk)),
                            ])
                        }
                        "ELEMENT" | "ELEMENTS" => l(vec![cl("COERCE"), src, quote(cl("LIST"))]),
                        _ => return Err(self.err("unknown BEING iteration")),
                    };
                    let tail = gensym("TAIL");
                    self.binds.push(l(vec![tail.clone(), entries]));
                    self.body.push(l(vec![
                        cl("WHEN"),
                        l(vec![cl("ENDP"), tail.clone()]),
                        l(vec![cl("GO"), self.end_tag.clone()]),
                    ]));
                    let cur = l(vec![cl("CAR"), tail.clone()]);
                    let (main, alt) = match k.as_str() {
                        "HASH-KEY" | "HASH-KEYS" => {
                            (l(vec![cl("CAR"), cur.clone()]), l(vec![cl("CDR"), cur]))
                        }
                        "HASH-VALUE" | "HASH-VALUES" => {
                            (l(vec![cl("CDR"), cur.clone()]), l(vec![cl("CAR"), cur]))
                        }
                        _ => (cur.clone(), cur),
                    };
                    let mut s = vec![];
                    self.bind_pattern(&var, main, &mut s);
                    if let Some(o) = other {
                        self.bind_pattern(&o, alt, &mut s);
                    }
                    self.body.extend(s);
                    self.steps
                        .push(l(vec![cl("SETQ"), tail.clone(), l(vec![cl("CDR"), tail])]));
                }
                "FROM" | "UPFROM" | "DOWNFROM" | "TO" | "UPTO" | "BELOW" | "DOWNTO" | "ABOVE"
                | "BY" => {
                    self.pos -= 1;
                    self.arithmetic(var)?;
                }
                _ => return Err(self.err(&format!("unknown FOR keyword {}", w))),
            }
            if !self.accept(&["AND"]) {
                return Ok(());
            }
            in_group = true;
        }
    }

    fn arithmetic(&mut self, var: Value) -> R<()> {
        let mut from = None;
        let mut to = None;
        let mut by = None;
        let mut down = false;
        let mut inclusive = true;
        loop {
            let Some(w) = self.peek().cloned() else { break };
            let name = match &w {
                Value::Symbol(s) => s.name().to_string(),
                _ => break,
            };
            match name.as_str() {
                "FROM" | "UPFROM" | "DOWNFROM" => {
                    self.pos += 1;
                    from = Some(self.next()?);
                    if name == "DOWNFROM" {
                        down = true;
                    }
                }
                "TO" | "UPTO" | "BELOW" | "DOWNTO" | "ABOVE" => {
                    self.pos += 1;
                    to = Some(self.next()?);
                    if name == "DOWNTO" || name == "ABOVE" {
                        down = true;
                    }
                    if name == "BELOW" || name == "ABOVE" {
                        inclusive = false;
                    }
                }
                "BY" => {
                    self.pos += 1;
                    by = Some(self.next()?);
                }
                _ => break,
            }
        }
        let var = if var.is_nil() { gensym("I") } else { var };
        self.binds
            .push(l(vec![var.clone(), from.unwrap_or(Value::Fixnum(0))]));
        let step = match by {
            Some(b) if b.is_cons() || b.is_symbol() => {
                let g = gensym("BY");
                self.binds.push(l(vec![g.clone(), b]));
                g
            }
            Some(b) => b,
            None => Value::Fixnum(1),
        };
        if let Some(t) = to {
            let limit = if t.is_cons() || (t.is_symbol() && !t.is_nil()) {
                let g = gensym("LIMIT");
                self.binds.push(l(vec![g.clone(), t]));
                g
            } else {
                t
            };
            let op = match (down, inclusive) {
                (false, true) => ">",
                (false, false) => ">=",
                (true, true) => "<",
                (true, false) => "<=",
            };
            self.body.push(l(vec![
                cl("WHEN"),
                l(vec![cl(op), var.clone(), limit]),
                l(vec![cl("GO"), self.end_tag.clone()]),
            ]));
        }
        let op = if down { "-" } else { "+" };
        self.steps
            .push(l(vec![cl("SETQ"), var.clone(), l(vec![cl(op), var, step])]));
        Ok(())
    }

    fn with_clause(&mut self) -> R<()> {
        loop {
            let var = self.next()?;
            self.skip_type();
            let init = if self.accept(&["="]) {
                Some(self.next()?)
            } else {
                None
            };
            match &var {
                Value::Cons(_) => {
                    let mut sets = vec![];
                    self.bind_pattern(&var, init.unwrap_or(Value::Nil), &mut sets);
                    self.initially.splice(0..0, sets);
                }
                _ => self.binds.push(l(vec![var, init.unwrap_or(Value::Nil)])),
            }
            if !self.accept(&["AND"]) {
                return Ok(());
            }
        }
    }

    fn accum_var(&mut self, into: Option<Value>, init: Value) -> Value {
        match into {
            Some(v) => {
                if !self.binds.iter().any(|b| b.first().eq(&v)) {
                    self.binds.push(l(vec![v.clone(), init]));
                }
                v
            }
            None => {
                if let Some(r) = &self.result {
                    return r.clone();
                }
                let g = gensym("RESULT");
                self.binds.push(l(vec![g.clone(), init]));
                self.result = Some(g.clone());
                g
            }
        }
    }

    fn tail_of(&mut self, var: &Value) -> Value {
        if let Some((_, t)) = self.tails.iter().find(|(v, _)| v.eq(var)) {
            return t.clone();
        }
        let t = gensym("TAIL");
        self.binds.push(l(vec![t.clone(), Value::Nil]));
        self.tails.push((var.clone(), t.clone()));
        t
    }

    /// One selectable clause (DO, RETURN, accumulation, conditional).
    fn selectable(&mut self, it: &Option<Value>) -> R<Vec<Value>> {
        let w = self.next()?;
        let name = match &w {
            Value::Symbol(s) => s.name().to_string(),
            _ => return Err(self.err("expected a clause")),
        };
        let value_form = |this: &mut Self| -> R<Value> {
            let v = this.next()?;
            if kw(&v, &["IT"]) {
                if let Some(i) = it {
                    return Ok(i.clone());
                }
            }
            Ok(v)
        };
        match name.as_str() {
            "DO" | "DOING" => Ok(self.compound_forms()),
            "RETURN" => {
                let v = value_form(self)?;
                Ok(vec![l(vec![cl("RETURN-FROM"), self.name.clone(), v])])
            }
            "COLLECT" | "COLLECTING" | "APPEND" | "APPENDING" | "NCONC" | "NCONCING" => {
                let v = value_form(self)?;
                let into = if self.accept(&["INTO"]) {
                    Some(self.next()?)
                } else {
                    None
                };
                let var = self.accum_var(into, Value::Nil);
                let tail = self.tail_of(&var);
                let c = gensym("NEW");
                let newcells = match name.as_str() {
                    "COLLECT" | "COLLECTING" => l(vec![cl("LIST"), v]),
                    "APPEND" | "APPENDING" => l(vec![cl("COPY-LIST"), v]),
                    _ => v,
                };
                Ok(vec![l(vec![
                    cl("LET"),
                    l(vec![l(vec![c.clone(), newcells])]),
                    l(vec![
                        cl("WHEN"),
                        c.clone(),
                        l(vec![
                            cl("IF"),
                            tail.clone(),
                            l(vec![cl("RPLACD"), tail.clone(), c.clone()]),
                            l(vec![cl("SETQ"), var, c.clone()]),
                        ]),
                        l(vec![cl("SETQ"), tail, l(vec![cl("LAST"), c])]),
                    ]),
                ])])
            }
            "COUNT" | "COUNTING" | "SUM" | "SUMMING" | "MAXIMIZE" | "MAXIMIZING" | "MINIMIZE"
            | "MINIMIZING" => {
                let v = value_form(self)?;
                let into = if self.accept(&["INTO"]) {
                    Some(self.next()?)
                } else {
                    None
                };
                self.skip_type();
                // Like SBCL, an empty MAXIMIZE/MINIMIZE gives 0.
                let var = self.accum_var(into, Value::Fixnum(0));
                Ok(vec![match name.as_str() {
                    "COUNT" | "COUNTING" => l(vec![
                        cl("WHEN"),
                        v,
                        l(vec![cl("SETQ"), var.clone(), l(vec![cl("1+"), var])]),
                    ]),
                    "SUM" | "SUMMING" => l(vec![cl("SETQ"), var.clone(), l(vec![cl("+"), var, v])]),
                    _ => {
                        let g = gensym("V");
                        let seen = gensym("SEEN");
                        self.binds.push(l(vec![seen.clone(), Value::Nil]));
                        let op = if name.starts_with("MAX") {
                            "MAX"
                        } else {
                            "MIN"
                        };
                        l(vec![
                            cl("LET"),
                            l(vec![l(vec![g.clone(), v])]),
                            l(vec![
                                cl("IF"),
                                seen.clone(),
                                l(vec![
                                    cl("SETQ"),
                                    var.clone(),
                                    l(vec![cl(op), var.clone(), g.clone()]),
                                ]),
                                l(vec![cl("SETQ"), var, g, seen, cl("T")]),
                            ]),
                        ])
                    }
                }])
            }
            "IF" | "WHEN" | "UNLESS" => self.conditional(&name),
            _ => Err(self.err(&format!("{} is not a selectable clause", name))),
        }
    }

    fn conditional(&mut self, which: &str) -> R<Vec<Value>> {
        let test = self.next()?;
        let itv = gensym("IT");
        let it = Some(itv.clone());
        let mut then = self.selectable(&it)?;
        while self.accept(&["AND"]) {
            then.extend(self.selectable(&it)?);
        }
        let mut els = vec![];
        if self.accept(&["ELSE"]) {
            els = self.selectable(&it)?;
            while self.accept(&["AND"]) {
                els.extend(self.selectable(&it)?);
            }
        }
        self.accept(&["END"]);
        let test = if which == "UNLESS" {
            l(vec![cl("NOT"), test])
        } else {
            test
        };
        Ok(vec![l(vec![
            cl("LET"),
            l(vec![l(vec![itv, test])]),
            l(vec![
                cl("IF"),
                gensym_ref(&it),
                progn(list_from(then)),
                progn(list_from(els)),
            ]),
        ])])
    }

    fn parse(&mut self) -> R<()> {
        if self.accept(&["NAMED"]) {
            self.name = self.next()?;
        }
        while let Some(w) = self.peek().cloned() {
            let name = match &w {
                Value::Symbol(s) => s.name().to_string(),
                _ => {
                    return Err(self.err(&format!(
                        "expected a loop keyword, got {}",
                        crate::printer::prin1_string(&w)
                    )))
                }
            };
            self.pos += 1;
            match name.as_str() {
                "FOR" | "AS" => self.for_clause()?,
                "WITH" => self.with_clause()?,
                "INITIALLY" => {
                    let f = self.compound_forms();
                    self.initially.extend(f);
                }
                "FINALLY" => {
                    let f = self.compound_forms();
                    self.finally.extend(f);
                }
                "WHILE" => {
                    let t = self.next()?;
                    self.body.push(l(vec![
                        cl("UNLESS"),
                        t,
                        l(vec![cl("GO"), self.end_tag.clone()]),
                    ]));
                }
                "UNTIL" => {
                    let t = self.next()?;
                    self.body.push(l(vec![
                        cl("WHEN"),
                        t,
                        l(vec![cl("GO"), self.end_tag.clone()]),
                    ]));
                }
                "REPEAT" => {
                    let n = self.next()?;
                    let g = gensym("COUNT");
                    self.binds.push(l(vec![g.clone(), n]));
                    self.body.push(l(vec![
                        cl("WHEN"),
                        l(vec![cl("<="), g.clone(), Value::Fixnum(0)]),
                        l(vec![cl("GO"), self.end_tag.clone()]),
                    ]));
                    self.body
                        .push(l(vec![cl("SETQ"), g.clone(), l(vec![cl("1-"), g])]));
                }
                "ALWAYS" | "NEVER" => {
                    let t = self.next()?;
                    let t = if name == "NEVER" {
                        t
                    } else {
                        l(vec![cl("NOT"), t])
                    };
                    self.body.push(l(vec![
                        cl("WHEN"),
                        t,
                        l(vec![cl("RETURN-FROM"), self.name.clone(), Value::Nil]),
                    ]));
                    self.default_result = cl("T");
                }
                "THEREIS" => {
                    let t = self.next()?;
                    let g = gensym("V");
                    self.body.push(l(vec![
                        cl("LET"),
                        l(vec![l(vec![g.clone(), t])]),
                        l(vec![
                            cl("WHEN"),
                            g.clone(),
                            l(vec![cl("RETURN-FROM"), self.name.clone(), g]),
                        ]),
                    ]));
                }
                _ => {
                    self.pos -= 1;
                    let forms = self.selectable(&None)?;
                    self.body.extend(forms);
                }
            }
        }
        Ok(())
    }

    fn expand(self) -> Value {
        let top = gensym("NEXT-LOOP");
        let end = self.end_tag.clone();
        let result = match &self.result {
            Some(r) => r.clone(),
            None => self.default_result.clone(),
        };
        let mut tb = vec![cl("TAGBODY")];
        tb.extend(self.initially);
        tb.push(top.clone());
        tb.extend(self.body);
        tb.extend(self.steps);
        tb.push(l(vec![cl("GO"), top]));
        tb.push(end.clone());
        tb.extend(self.finally);
        tb.push(l(vec![cl("RETURN-FROM"), self.name.clone(), result]));
        let body = l(vec![
            cl("MACROLET"),
            l(vec![l(vec![
                cl("LOOP-FINISH"),
                Value::Nil,
                quote(l(vec![cl("GO"), end])),
            ])]),
            l(tb),
        ]);
        l(vec![
            cl("BLOCK"),
            self.name.clone(),
            l(vec![cl("LET*"), list_from(self.binds), body]),
        ])
    }
}

fn gensym_ref(it: &Option<Value>) -> Value {
    it.clone().unwrap_or(Value::Nil)
}

crate::defbuiltins! {
    /// Iterate: the simple form repeats its body forever (exit with RETURN);
    /// the extended form is driven by FOR, WITH, WHILE, COLLECT, ... clauses.
    macro LOOP "LOOP" "(&rest clauses)" (ctx, a) {
        let toks = a[0].rest().list_to_vec();
        if toks.iter().all(|t| t.is_cons()) {
            let top = gensym("TOP");
            let mut tb = vec![cl("TAGBODY"), top.clone()];
            tb.extend(toks);
            tb.push(l(vec![cl("GO"), top]));
            return Ok(l(vec![cl("BLOCK"), Value::Nil, l(tb)]));
        }
        let mut lp = Loop {
            ctx,
            toks,
            pos: 0,
            whole: a[0].clone(),
            name: Value::Nil,
            binds: vec![],
            initially: vec![],
            finally: vec![],
            body: vec![],
            steps: vec![],
            result: None,
            default_result: Value::Nil,
            end_tag: gensym("END-LOOP"),
            tails: vec![],
        };
        lp.parse()?;
        Ok(lp.expand())
    }
    /// Outside LOOP, LOOP-FINISH is an error.
    macro LOOP_FINISH "LOOP-FINISH" "()" (ctx, a) {
        Err(cond::program_error(ctx, "LOOP-FINISH used outside LOOP".into()))
    }
    /// The entries of a hash table as (key . value) conses (for LOOP).
    fn HASH_ENTRIES "NETLISP-SYSTEM:%HASH-ENTRIES" "(hash-table)" (ctx, a) {
        let h = super::hash_table(ctx, &a[0])?;
        Ok(list_from(h.entries().into_iter().map(|(k, v)| Value::cons(k, v))))
    }
}

#[allow(dead_code)]
fn _lt() -> Value {
    lt(vec![], Value::Nil)
}
