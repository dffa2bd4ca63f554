//! netlisp: a Common Lisp interpreter with a network toolkit.
//!
//! The library holds the whole interpreter; the `netlisp` binary is a thin
//! command-line front end. A Rust program embeds it like this:
//!
//! ```
//! use netlisp::Interpreter;
//!
//! let mut lisp = Interpreter::new();
//! lisp.define_function("ADD3", "(a b c)", "Add three numbers.", |_ctx, args| {
//!     let sum: i64 = args.iter().filter_map(|v| v.as_fixnum()).sum();
//!     Ok(netlisp::Value::int(sum))
//! });
//! let v = lisp.eval_str("(add3 1 2 (* 3 4))").unwrap();
//! assert_eq!(lisp.to_lisp_string(&v), "15");
//! ```

#![warn(missing_docs)]

pub mod array;
pub mod builtins;
pub mod chars;
pub mod cl_symbols;
pub mod clos;
pub mod comm;
pub mod compiler;
pub mod conditions;
pub mod ctx;
pub mod eval;
pub mod float_format;
pub mod foreign;
pub mod format;
pub mod function;
pub mod gc;
pub mod hashtable;
pub mod load;
pub mod modules;
pub mod mp;
pub mod net;
pub mod number;
pub mod package;
pub mod pathname;
pub mod printer;
pub mod reader;
pub mod repl;
pub mod stream;
pub mod symbol;
pub mod types;
pub mod value;
pub mod world;

pub use ctx::{Ctx, Exit, Loc, R};
pub use value::Value;

use function::{FnKind, Function, NativeFn};
use gc::Gc;
use std::rc::Rc;
use world::{w, World};

/// An error that escaped to the embedding program.
#[derive(Debug, Clone)]
pub struct LispError {
    /// The condition's report.
    pub message: String,
    /// The condition's type name.
    pub condition_type: String,
    /// Where it happened, if known.
    pub location: Option<String>,
}

impl std::fmt::Display for LispError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(l) => write!(f, "{} at {}: {}", self.condition_type, l, self.message),
            None => write!(f, "{}: {}", self.condition_type, self.message),
        }
    }
}

impl std::error::Error for LispError {}

/// An interpreter: the Lisp world of this thread plus a main process.
pub struct Interpreter {
    ctx: Box<Ctx>,
}

impl Default for Interpreter {
    fn default() -> Self {
        Self::new()
    }
}

fn init_world() {
    if world::exists() {
        return;
    }
    World::init();
    compiler::special::install();
    clos::install();
    conditions::install();
    net::install();
    builtins::install();
    for (place, b) in builtins::setters() {
        let s = match place.split_once(':') {
            Some((pkg, name)) => world::intern_exported(name, &w().ensure_package(pkg)),
            None => world::cl_sym(place),
        };
        s.extra_mut().setf_function = builtins::builtin_function(b);
    }
    builtins::numbers::install_constants();
    install_variables();
    builtins::clos::install_generics();
    mp::install();
    comm::install();
}

fn defvar(name: &str, v: Value) {
    let s = world::cl_sym(name);
    s.set_value(v);
    s.set_flag(symbol::SPECIAL);
}

fn install_variables() {
    let wd = w();
    let kw = world::keyword;
    let out = builtins::streams::std_stream(1);
    let err = builtins::streams::std_stream(2);
    let inp = builtins::streams::std_stream(0);
    let terminal = stream::Stream::new(
        stream::StreamKind::TwoWay(inp.clone(), out.clone()),
        "TWO-WAY-STREAM",
    )
    .into_value();
    defvar("*STANDARD-OUTPUT*", out.clone());
    defvar("*STANDARD-INPUT*", inp);
    defvar("*ERROR-OUTPUT*", err);
    defvar("*TERMINAL-IO*", terminal.clone());
    defvar("*QUERY-IO*", terminal.clone());
    defvar("*DEBUG-IO*", terminal);
    defvar("*TRACE-OUTPUT*", out);
    defvar("*PACKAGE*", Value::Package(wd.cl_user.clone()));
    defvar("*PRINT-ESCAPE*", Value::t());
    defvar("*PRINT-READABLY*", Value::Nil);
    defvar("*PRINT-BASE*", Value::Fixnum(10));
    defvar("*PRINT-RADIX*", Value::Nil);
    defvar("*PRINT-CASE*", kw("UPCASE"));
    defvar("*PRINT-PRETTY*", Value::t());
    defvar("*PRINT-CIRCLE*", Value::Nil);
    defvar("*PRINT-LENGTH*", Value::Nil);
    defvar("*PRINT-LEVEL*", Value::Nil);
    defvar("*PRINT-LINES*", Value::Nil);
    defvar("*PRINT-RIGHT-MARGIN*", Value::Nil);
    // SBCL leaves miser style off: *PRINT-MISER-WIDTH* is NIL there.
    defvar("*PRINT-MISER-WIDTH*", Value::Nil);
    defvar("*PRINT-ARRAY*", Value::t());
    defvar("*PRINT-GENSYM*", Value::t());
    defvar("*PRINT-PPRINT-DISPATCH*", Value::Nil);
    defvar("*READ-BASE*", Value::Fixnum(10));
    defvar("*READ-EVAL*", Value::t());
    defvar("*READ-SUPPRESS*", Value::Nil);
    defvar(
        "*READ-DEFAULT-FLOAT-FORMAT*",
        Value::Symbol(wd.s.single_float.clone()),
    );
    defvar("*READTABLE*", reader::readtable::standard());
    defvar("*FEATURES*", builtins::system::features());
    defvar("*MODULES*", Value::Nil);
    defvar("*GENSYM-COUNTER*", Value::Fixnum(1));
    defvar(
        "*MACROEXPAND-HOOK*",
        Value::Symbol(world::cl_sym("FUNCALL")),
    );
    defvar("*LOAD-PATHNAME*", Value::Nil);
    defvar("*LOAD-TRUENAME*", Value::Nil);
    defvar("*LOAD-VERBOSE*", Value::Nil);
    defvar("*LOAD-PRINT*", Value::Nil);
    defvar("*COMPILE-FILE-PATHNAME*", Value::Nil);
    defvar("*COMPILE-FILE-TRUENAME*", Value::Nil);
    defvar("*COMPILE-VERBOSE*", Value::Nil);
    defvar("*COMPILE-PRINT*", Value::Nil);
    defvar("*BREAK-ON-SIGNALS*", Value::Nil);
    defvar("*DEBUGGER-HOOK*", Value::Nil);
    defvar(
        "*RANDOM-STATE*",
        builtins::numbers::RandomState::new_value(0x853c_49e6_748f_ea9b),
    );
    let cwd = std::env::current_dir()
        .map(|p| {
            let mut s = p.to_string_lossy().to_string();
            if !s.ends_with('/') {
                s.push('/');
            }
            s
        })
        .unwrap_or_else(|_| "/".into());
    defvar(
        "*DEFAULT-PATHNAME-DEFAULTS*",
        pathname::Pathname::parse(&cwd).into_value(),
    );
    for n in ["*", "**", "***", "+", "++", "+++", "/", "//", "///", "-"] {
        defvar(n, Value::Nil);
    }
    let args = world::intern_exported("*ARGS*", &wd.ext);
    args.set_value(Value::Nil);
    args.set_flag(symbol::SPECIAL);
    let script = world::intern_exported("*SCRIPT*", &wd.ext);
    script.set_value(Value::Nil);
    script.set_flag(symbol::SPECIAL);
}

/// Native stack kept free in each process for handlers of stack
/// exhaustion and for Rust frames between safety checks.
pub const STACK_MARGIN: usize = 512 * 1024;

impl Interpreter {
    /// Create an interpreter. All interpreters of one OS thread share one
    /// Lisp world (packages, global definitions).
    pub fn new() -> Interpreter {
        init_world();
        let mut ctx = Box::new(Ctx::new());
        ctx.stack_limit = current_stack_limit();
        mp::attach_main(&mut ctx);
        Interpreter { ctx }
    }

    /// The main process's context (for calling library functions).
    pub fn ctx(&mut self) -> &mut Ctx {
        &mut self.ctx
    }

    fn error_of(&mut self, e: Exit) -> LispError {
        let message = if e == Exit::QUIT {
            format!("exit with code {}", self.ctx.quit_code)
        } else if e == Exit::KILL {
            "process killed".into()
        } else {
            "non-local exit out of the evaluation".into()
        };
        LispError {
            message: self.ctx.last_error.take().unwrap_or(message),
            condition_type: self
                .ctx
                .last_error_type
                .take()
                .unwrap_or_else(|| "ERROR".into()),
            location: None,
        }
    }

    fn with_error_capture<T>(&mut self, f: impl FnOnce(&mut Ctx) -> R<T>) -> Result<T, LispError> {
        let prev = self.ctx.debugger.take();
        self.ctx.debugger = Some(Rc::new(|ctx: &mut Ctx, c: &Value| {
            let text = conditions::report_string(ctx, c).unwrap_or_default();
            ctx.last_error = Some(text);
            ctx.last_error_type = Some(match c {
                Value::Instance(i) => i.class().name_string(),
                _ => "ERROR".into(),
            });
            Exit::QUIT
        }));
        let r = f(&mut self.ctx);
        self.ctx.debugger = prev;
        r.map_err(|e| self.error_of(e))
    }

    /// Evaluate every form in `src`, returning the last value.
    pub fn eval_str(&mut self, src: &str) -> Result<Value, LispError> {
        let src = src.to_string();
        self.with_error_capture(move |ctx| load::load_source(ctx, &src, "<string>", false))
    }

    /// Load a file of Lisp code.
    pub fn load_file(&mut self, path: &str) -> Result<(), LispError> {
        let p = path.to_string();
        self.with_error_capture(move |ctx| load::load_file(ctx, &p, false, false))
    }

    /// Call a global function by name with arguments.
    pub fn call(&mut self, name: &str, args: &[Value]) -> Result<Value, LispError> {
        let f = reader::read_symbol_name(name);
        let args = args.to_vec();
        self.with_error_capture(move |ctx| eval::apply(ctx, &f, &args))
    }

    /// Define a global function implemented in Rust, with its lambda list
    /// (as Lisp text) and docstring; arity errors come from the lambda list.
    pub fn define_function(
        &mut self,
        name: &str,
        lambda_list: &str,
        doc: &str,
        f: impl Fn(&mut Ctx, &[Value]) -> R + 'static,
    ) {
        let sig = function::parse_sig(lambda_list);
        let native = NativeFn {
            name: name.to_string(),
            lambda_list: lambda_list.to_string(),
            doc: doc.to_string(),
            sig,
            f: Box::new(f),
        };
        let fun = Value::Function(Gc::new(Function {
            kind: FnKind::Native(Rc::new(native)),
        }));
        if let Some(s) = world::symbol_of(&reader::read_symbol_name(name)) {
            s.set_function(fun);
        }
    }

    /// Set a global (special) variable.
    pub fn set_var(&mut self, name: &str, v: Value) {
        if let Some(s) = world::symbol_of(&reader::read_symbol_name(name)) {
            s.set_flag(symbol::SPECIAL);
            s.set_value(v);
        }
    }

    /// The value of a global variable, if bound.
    pub fn get_var(&self, name: &str) -> Option<Value> {
        let s = world::symbol_of(&reader::read_symbol_name(name))?;
        match s.value() {
            Value::Unbound => None,
            v => Some(v),
        }
    }

    /// The printed (PRIN1) representation of a value.
    pub fn to_lisp_string(&mut self, v: &Value) -> String {
        // Too deep to print in full: the text printed up to there.
        printer::to_string_ctx(&mut self.ctx, v, printer::Opts::prin1())
            .unwrap_or_else(|_| printer::prin1_string(v))
    }

    /// Flush standard output and error.
    pub fn flush(&mut self) {
        stream::flush_standard(&mut self.ctx);
    }
}

/// The stack limit for code running on the current thread's stack.
pub fn current_stack_limit() -> usize {
    let marker = 0u8;
    let sp = &marker as *const u8 as usize;
    let size = thread_stack_size();
    sp.saturating_sub(size.saturating_sub(STACK_MARGIN))
}

thread_local! {
    static STACK_SIZE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Declare the stack size of the current thread (for threads spawned with
/// an explicit size).
pub fn set_thread_stack_size(size: usize) {
    STACK_SIZE.with(|s| s.set(size));
}

fn thread_stack_size() -> usize {
    let s = STACK_SIZE.with(|s| s.get());
    if s != 0 {
        return s;
    }
    // The main thread: use the soft stack limit, at most 8 MiB assumed.
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut rl) };
    let cur = rl.rlim_cur as usize;
    if cur == 0 || cur > 64 << 20 {
        8 << 20
    } else {
        cur
    }
}
