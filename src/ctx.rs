//! The dynamic state of one Lisp process: value stack, multiple values,
//! special bindings, handlers, restarts, catch tags and the call trace.
//!
//! Non-local exits (RETURN-FROM, GO, THROW, a handler transferring
//! control, process kill, QUIT) travel as `Err(Exit)` through Rust frames;
//! each frame that established dynamic state restores it by truncating the
//! stacks here to the length it saw on entry.

use crate::gc::Gc;
use crate::symbol::Symbol;
use crate::value::Value;
use crate::world::w;
use std::rc::Rc;

/// A non-local transfer of control in progress: unwinding to the frame
/// with a given id (values travel in [`Ctx::exit_values`], a GO label or
/// clause index in [`Ctx::exit_tag`]), or one of the two reserved ids
/// [`Exit::KILL`] and [`Exit::QUIT`].
///
/// A plain `u64` newtype keeps `Result<Value, Exit>` at 16 bytes, so
/// evaluation results come back in registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit(u64);

impl Exit {
    /// The process was killed: unwind everything, running cleanups.
    pub const KILL: Exit = Exit(1);
    /// The program is exiting: unwind everything, running cleanups.
    pub const QUIT: Exit = Exit(2);

    /// Unwind to the frame with id `id` (ids start above the reserved ones).
    #[inline]
    pub fn to(id: u64) -> Exit {
        Exit(id)
    }

    /// Whether this exit targets frame `id`.
    #[inline]
    pub fn is_to(&self, id: u64) -> bool {
        self.0 == id
    }

    /// Whether this is a transfer to a frame (not a kill or quit).
    pub fn is_transfer(&self) -> bool {
        self.0 > 2
    }
}

/// Result of evaluating Lisp code.
pub type R<T = Value> = Result<T, Exit>;

/// A source location: file index (see [`crate::world::World::file_id`]),
/// line and column, both counted from 1. Line 0 means "unknown".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Loc {
    /// Index of the file name in the world's file table.
    pub file: u32,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub col: u32,
}

impl Loc {
    /// Whether the location is known.
    pub fn is_known(&self) -> bool {
        self.line != 0
    }
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", w().file_name(self.file), self.line, self.col)
    }
}

/// The function of an active call.
#[derive(Clone)]
pub enum FrameFn {
    /// A builtin (kept without allocating a function object).
    Builtin(&'static crate::function::Builtin),
    /// Any other function. Not reference-counted: whoever makes the call
    /// holds the function for as long as the frame exists.
    Function(std::ptr::NonNull<crate::function::Function>),
}

impl FrameFn {
    /// The frame of a call to `f`.
    #[inline(always)]
    pub fn of(f: &crate::gc::Gc<crate::function::Function>) -> FrameFn {
        FrameFn::Function(std::ptr::NonNull::from(&**f))
    }
}

/// One active call, for backtraces and error locations.
#[derive(Clone)]
pub struct CallFrame {
    /// The function called.
    pub func: FrameFn,
    /// Where the call form is.
    pub loc: Loc,
}

/// What a handler does when its type matches.
#[derive(Clone)]
pub enum HandlerKind {
    /// HANDLER-BIND: call the function with the condition; it may decline.
    Bind(Value),
    /// HANDLER-CASE: unwind to `target` and run clause `clause`.
    Case {
        /// Frame to unwind to.
        target: u64,
        /// Index of the clause to run.
        clause: usize,
    },
}

/// One handler established by HANDLER-BIND or HANDLER-CASE.
#[derive(Clone)]
pub struct Handler {
    /// Type specifier to match.
    pub typespec: Value,
    /// What to do.
    pub kind: HandlerKind,
    /// Index of the first handler of the same cluster (one HANDLER-BIND
    /// or HANDLER-CASE form); while one of them runs, the whole cluster
    /// and everything above it is disabled.
    pub cluster: usize,
}

/// A restart established by RESTART-CASE, RESTART-BIND or the runtime.
#[derive(Clone)]
pub struct Restart {
    /// Unique identity (restart objects refer to it).
    pub id: u64,
    /// The restart's name (a symbol, or NIL).
    pub name: Value,
    /// What invoking it does.
    pub action: RestartAction,
    /// Report: a string, a function of a stream, or NIL.
    pub report: Value,
    /// Interactive argument function, or NIL.
    pub interactive: Value,
    /// Test function of a condition, or NIL.
    pub test: Value,
    /// Conditions this restart is associated with (WITH-CONDITION-RESTARTS).
    pub conditions: Vec<Value>,
}

/// What invoking a restart does.
#[derive(Clone)]
pub enum RestartAction {
    /// RESTART-BIND: call the function with the arguments.
    Call(Value),
    /// RESTART-CASE: unwind to the frame and run the clause with the
    /// arguments.
    Unwind {
        /// Frame id.
        target: u64,
        /// Clause index.
        clause: usize,
    },
}

/// A CATCH frame.
#[derive(Clone)]
pub struct CatchFrame {
    /// The catch tag (compared with EQ).
    pub tag: Value,
    /// The frame id to unwind to.
    pub id: u64,
}

/// Hooks a process needs from the scheduler (implemented by `mp`).
pub trait ProcessHooks {
    /// Called at safe points when fuel runs out: may deliver interrupts
    /// or switch to another process.
    fn safepoint(&self, ctx: &mut Ctx) -> R<()>;
    /// Park the process until one of `fds` is ready or the timeout
    /// (seconds) passes; false on timeout.
    fn wait_fds(
        &self,
        ctx: &mut Ctx,
        fds: &[std::os::fd::RawFd],
        readable: bool,
        timeout: Option<f64>,
    ) -> R<bool>;
    /// Park the process for `secs` seconds.
    fn sleep(&self, ctx: &mut Ctx, secs: f64) -> R<()>;
}

/// Native stack kept in reserve below the limit, so that handlers of a
/// stack-exhaustion condition can run.
pub const STACK_RESERVE: usize = 256 * 1024;

/// Fuel given to a process for one time slice (calls and loop
/// iterations).
pub const FUEL: u32 = 20_000;

/// Handles an unhandled error: returns the exit that ends the evaluation.
pub type Debugger = Rc<dyn Fn(&mut Ctx, &Value) -> Exit>;

/// The dynamic state of one Lisp process.
pub struct Ctx {
    /// Frame slots of interpreted functions.
    pub stack: Vec<Value>,
    /// How many values the last multiple-value evaluation produced.
    pub nvals: usize,
    /// All the values when `nvals` is not 1.
    pub mv: Vec<Value>,
    /// Values carried by an [`Exit::To`].
    pub exit_values: Vec<Value>,
    /// GO label index or handler/restart clause index of an [`Exit::To`].
    pub exit_tag: usize,
    /// Special bindings: the symbol and the value it had outside.
    pub dyn_binds: Vec<(Gc<Symbol>, Value)>,
    /// Active handlers, innermost last.
    pub handlers: Vec<Handler>,
    /// Active restarts, innermost last.
    pub restarts: Vec<Restart>,
    /// Active catch tags, innermost last.
    pub catches: Vec<CatchFrame>,
    /// Ids of dynamic exit points (blocks and tagbodies closures can
    /// reach) that are still active.
    pub live_exits: Vec<u64>,
    /// Active calls, for backtraces.
    pub frames: Vec<CallFrame>,
    /// Fuel left in this time slice.
    pub fuel: u32,
    /// Lowest native stack address this process may use before it must
    /// signal stack exhaustion.
    pub stack_limit: usize,
    /// Exit code for [`Exit::Quit`].
    pub quit_code: i32,
    /// Location of the toplevel form being evaluated.
    pub toplevel_loc: Loc,
    /// Depth of nested debugger levels (REPL).
    pub debug_level: usize,
    /// Scheduler hooks, when running under the process scheduler.
    pub hooks: Option<Rc<dyn ProcessHooks>>,
    /// Whether this is the program's main (or REPL) process.
    pub is_main: bool,
    /// Whether the toplevel is an interactive REPL.
    pub interactive: bool,
    /// What to do with an unhandled error (the REPL's debugger, a
    /// process's reporter). None: report and exit the program.
    pub debugger: Option<Debugger>,
    /// Report of the last error captured for an embedding program.
    pub last_error: Option<String>,
    /// Type of the last error captured for an embedding program.
    pub last_error_type: Option<String>,
}

impl Default for Ctx {
    fn default() -> Self {
        Self::new()
    }
}

impl Ctx {
    /// A fresh context with empty stacks.
    pub fn new() -> Ctx {
        Ctx {
            stack: Vec::with_capacity(1024),
            nvals: 1,
            mv: Vec::new(),
            exit_values: Vec::new(),
            exit_tag: 0,
            dyn_binds: Vec::new(),
            handlers: Vec::new(),
            restarts: Vec::new(),
            catches: Vec::new(),
            live_exits: Vec::new(),
            frames: Vec::new(),
            fuel: FUEL,
            stack_limit: 0,
            quit_code: 0,
            toplevel_loc: Loc::default(),
            debug_level: 0,
            hooks: None,
            is_main: true,
            interactive: false,
            debugger: None,
            last_error: None,
            last_error_type: None,
        }
    }

    /// Bind a special variable dynamically.
    #[inline]
    pub fn bind_special(&mut self, sym: &Gc<Symbol>, v: Value) {
        let old = sym.swap_value(v);
        self.dyn_binds.push((sym.clone(), old));
    }

    /// Undo special bindings down to `mark` entries.
    #[inline]
    pub fn unbind_to(&mut self, mark: usize) {
        while self.dyn_binds.len() > mark {
            let (s, old) = self.dyn_binds.pop().unwrap();
            s.set_value(old);
        }
    }

    /// Restore the global values of every symbol this process binds (when
    /// it is switched out). Returns nothing; see [`Ctx::rewind_bindings`].
    pub fn unwind_bindings(&mut self) {
        for i in (0..self.dyn_binds.len()).rev() {
            let (s, outer) = &mut self.dyn_binds[i];
            let inner = s.swap_value(std::mem::take(outer));
            *outer = inner;
        }
    }

    /// Re-install this process's bindings after it is switched back in
    /// (the inverse of [`Ctx::unwind_bindings`]).
    pub fn rewind_bindings(&mut self) {
        for i in 0..self.dyn_binds.len() {
            let (s, inner) = &mut self.dyn_binds[i];
            let outer = s.swap_value(std::mem::take(inner));
            *inner = outer;
        }
    }

    /// The current value of a special variable, or NIL if unbound.
    #[inline]
    pub fn special(&self, sym: &Gc<Symbol>) -> Value {
        match sym.value() {
            Value::Unbound => Value::Nil,
            v => v,
        }
    }

    /// Set the values of the last evaluation to `vals`, returning the
    /// primary value.
    pub fn set_values(&mut self, vals: Vec<Value>) -> Value {
        self.nvals = vals.len();
        let primary = vals.first().cloned().unwrap_or(Value::Nil);
        if self.nvals != 1 {
            self.mv = vals;
        }
        primary
    }

    /// Return two values.
    #[inline]
    pub fn values2(&mut self, a: Value, b: Value) -> Value {
        self.nvals = 2;
        self.mv.clear();
        self.mv.push(a.clone());
        self.mv.push(b);
        a
    }

    /// Take the values produced by the last evaluation (whose primary
    /// value is `primary`) as a vector.
    pub fn take_values(&mut self, primary: Value) -> Vec<Value> {
        match self.nvals {
            1 => vec![primary],
            0 => Vec::new(),
            _ => {
                self.nvals = 1;
                std::mem::take(&mut self.mv)
            }
        }
    }

    /// Charge one unit of fuel; at zero, run the safe point (garbage
    /// collection, interrupts, preemption).
    #[inline]
    pub fn tick(&mut self) -> R<()> {
        if self.fuel == 0 {
            return self.safepoint();
        }
        self.fuel -= 1;
        Ok(())
    }

    #[cold]
    fn safepoint(&mut self) -> R<()> {
        self.fuel = FUEL;
        if crate::gc::collection_due() {
            crate::gc::collect();
        }
        if let Some(h) = self.hooks.clone() {
            h.safepoint(self)?;
        }
        Ok(())
    }

    /// Whether the native stack is close to its limit.
    #[inline]
    pub fn stack_exhausted(&self) -> bool {
        let marker = 0u8;
        let sp = &marker as *const u8 as usize;
        sp < self.stack_limit
    }
}
