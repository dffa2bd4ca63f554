//! The Lisp world of one OS thread: the package registry and the symbols
//! the runtime refers to by name.
//!
//! All Lisp processes of an interpreter run on one OS thread (green
//! threads), so the world is a per-thread singleton that any code can
//! reach without threading a context through (printing, T, NIL).

use crate::gc::Gc;
use crate::package::{Package, Status};
use crate::symbol::{self, sym_value, Symbol};
use crate::value::Value;
use hashbrown::HashMap;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Name of the implementation's own package.
pub const EXT: &str = "NETLISP";
/// Name of the internal package (compiler and runtime helpers).
pub const SYS: &str = "NETLISP-SYSTEM";

struct Pkgs {
    cl: Rc<Package>,
    keyword: Rc<Package>,
    ext: Rc<Package>,
    sys: Rc<Package>,
}

macro_rules! define_syms {
    ($( $field:ident = $pkg:ident $name:literal ),* $(,)?) => {
        /// Symbols the runtime refers to directly.
        #[allow(missing_docs)]
        pub struct Syms { $(pub $field: Gc<Symbol>,)* }
        impl Syms {
            fn create(p: &Pkgs) -> Syms {
                Syms { $($field: intern_external(&p.$pkg, $name),)* }
            }
        }
    };
}

define_syms! {
    t = cl "T",
    quote = cl "QUOTE",
    function = cl "FUNCTION",
    lambda = cl "LAMBDA",
    setf = cl "SETF",
    declare = cl "DECLARE",
    special = cl "SPECIAL",
    optional = cl "&OPTIONAL",
    rest = cl "&REST",
    body = cl "&BODY",
    key = cl "&KEY",
    aux = cl "&AUX",
    whole = cl "&WHOLE",
    environment = cl "&ENVIRONMENT",
    allow_other_keys = cl "&ALLOW-OTHER-KEYS",
    progn = cl "PROGN",
    and = cl "AND",
    or = cl "OR",
    not = cl "NOT",
    member = cl "MEMBER",
    satisfies = cl "SATISFIES",
    eql = cl "EQL",
    values = cl "VALUES",
    otherwise = cl "OTHERWISE",
    ignore = cl "IGNORE",
    ignorable = cl "IGNORABLE",
    dynamic_extent = cl "DYNAMIC-EXTENT",
    type_ = cl "TYPE",
    ftype = cl "FTYPE",
    inline = cl "INLINE",
    notinline = cl "NOTINLINE",
    optimize = cl "OPTIMIZE",
    list = cl "LIST",
    list_star = cl "LIST*",
    append = cl "APPEND",
    cons = cl "CONS",
    vector = cl "VECTOR",
    apply = cl "APPLY",
    funcall = cl "FUNCALL",
    compile = cl "COMPILE",
    load = cl "LOAD",
    eval = cl "EVAL",
    error = cl "ERROR",
    block = cl "BLOCK",
    let_ = cl "LET",
    let_star = cl "LET*",
    flet = cl "FLET",
    labels = cl "LABELS",
    macrolet = cl "MACROLET",
    symbol_macrolet = cl "SYMBOL-MACROLET",
    tagbody = cl "TAGBODY",
    go = cl "GO",
    return_from = cl "RETURN-FROM",
    if_ = cl "IF",
    setq = cl "SETQ",
    locally = cl "LOCALLY",
    eval_when = cl "EVAL-WHEN",
    the = cl "THE",
    progv = cl "PROGV",
    catch = cl "CATCH",
    throw = cl "THROW",
    unwind_protect = cl "UNWIND-PROTECT",
    multiple_value_call = cl "MULTIPLE-VALUE-CALL",
    multiple_value_prog1 = cl "MULTIPLE-VALUE-PROG1",
    load_time_value = cl "LOAD-TIME-VALUE",
    compile_toplevel = keyword "COMPILE-TOPLEVEL",
    load_toplevel = keyword "LOAD-TOPLEVEL",
    execute = keyword "EXECUTE",
    k_compile_toplevel = cl "COMPILE",
    k_load = cl "LOAD",
    k_eval = cl "EVAL",
    // printer and reader variables
    package = cl "*PACKAGE*",
    print_escape = cl "*PRINT-ESCAPE*",
    print_readably = cl "*PRINT-READABLY*",
    print_base = cl "*PRINT-BASE*",
    print_radix = cl "*PRINT-RADIX*",
    print_case = cl "*PRINT-CASE*",
    print_pretty = cl "*PRINT-PRETTY*",
    print_circle = cl "*PRINT-CIRCLE*",
    print_length = cl "*PRINT-LENGTH*",
    print_level = cl "*PRINT-LEVEL*",
    print_lines = cl "*PRINT-LINES*",
    print_right_margin = cl "*PRINT-RIGHT-MARGIN*",
    print_miser_width = cl "*PRINT-MISER-WIDTH*",
    print_array = cl "*PRINT-ARRAY*",
    print_gensym = cl "*PRINT-GENSYM*",
    print_pprint_dispatch = cl "*PRINT-PPRINT-DISPATCH*",
    read_base = cl "*READ-BASE*",
    read_eval = cl "*READ-EVAL*",
    read_suppress = cl "*READ-SUPPRESS*",
    read_default_float_format = cl "*READ-DEFAULT-FLOAT-FORMAT*",
    readtable = cl "*READTABLE*",
    features = cl "*FEATURES*",
    modules = cl "*MODULES*",
    standard_output = cl "*STANDARD-OUTPUT*",
    standard_input = cl "*STANDARD-INPUT*",
    error_output = cl "*ERROR-OUTPUT*",
    terminal_io = cl "*TERMINAL-IO*",
    trace_output = cl "*TRACE-OUTPUT*",
    query_io = cl "*QUERY-IO*",
    debug_io = cl "*DEBUG-IO*",
    gensym_counter = cl "*GENSYM-COUNTER*",
    macroexpand_hook = cl "*MACROEXPAND-HOOK*",
    load_pathname = cl "*LOAD-PATHNAME*",
    load_truename = cl "*LOAD-TRUENAME*",
    compile_file_pathname = cl "*COMPILE-FILE-PATHNAME*",
    compile_file_truename = cl "*COMPILE-FILE-TRUENAME*",
    default_pathname_defaults = cl "*DEFAULT-PATHNAME-DEFAULTS*",
    break_on_signals = cl "*BREAK-ON-SIGNALS*",
    debugger_hook = cl "*DEBUGGER-HOOK*",
    random_state = cl "*RANDOM-STATE*",
    star = cl "*",
    star2 = cl "**",
    star3 = cl "***",
    plus = cl "+",
    plus2 = cl "++",
    plus3 = cl "+++",
    slash = cl "/",
    slash2 = cl "//",
    slash3 = cl "///",
    minus = cl "-",
    // type names used by the runtime
    integer = cl "INTEGER",
    fixnum = cl "FIXNUM",
    bignum = cl "BIGNUM",
    ratio = cl "RATIO",
    rational = cl "RATIONAL",
    real = cl "REAL",
    number = cl "NUMBER",
    float = cl "FLOAT",
    single_float = cl "SINGLE-FLOAT",
    double_float = cl "DOUBLE-FLOAT",
    short_float = cl "SHORT-FLOAT",
    long_float = cl "LONG-FLOAT",
    complex = cl "COMPLEX",
    character = cl "CHARACTER",
    base_char = cl "BASE-CHAR",
    standard_char = cl "STANDARD-CHAR",
    string = cl "STRING",
    simple_string = cl "SIMPLE-STRING",
    base_string = cl "BASE-STRING",
    symbol = cl "SYMBOL",
    keyword = cl "KEYWORD",
    null = cl "NULL",
    sequence = cl "SEQUENCE",
    array = cl "ARRAY",
    simple_array = cl "SIMPLE-ARRAY",
    simple_vector = cl "SIMPLE-VECTOR",
    bit_vector = cl "BIT-VECTOR",
    simple_bit_vector = cl "SIMPLE-BIT-VECTOR",
    bit = cl "BIT",
    unsigned_byte = cl "UNSIGNED-BYTE",
    signed_byte = cl "SIGNED-BYTE",
    hash_table = cl "HASH-TABLE",
    package_ = cl "PACKAGE",
    stream = cl "STREAM",
    pathname = cl "PATHNAME",
    boolean = cl "BOOLEAN",
    atom = cl "ATOM",
    mod_ = cl "MOD",
    star_sym = cl "*",
    structure_object = cl "STRUCTURE-OBJECT",
    standard_object = cl "STANDARD-OBJECT",
    condition = cl "CONDITION",
    compiled_function = cl "COMPILED-FUNCTION",
    // keywords
    k_test = keyword "TEST",
    k_test_not = keyword "TEST-NOT",
    k_key = keyword "KEY",
    k_start = keyword "START",
    k_end = keyword "END",
    k_from_end = keyword "FROM-END",
    k_count = keyword "COUNT",
    k_allow_other_keys = keyword "ALLOW-OTHER-KEYS",
    k_upcase = keyword "UPCASE",
    k_downcase = keyword "DOWNCASE",
    k_capitalize = keyword "CAPITALIZE",
    k_preserve = keyword "PRESERVE",
    k_invert = keyword "INVERT",
    k_internal = keyword "INTERNAL",
    k_external = keyword "EXTERNAL",
    k_inherited = keyword "INHERITED",
    k_netlisp = keyword "NETLISP",
    k_common_lisp = keyword "COMMON-LISP",
    k_input = keyword "INPUT",
    k_output = keyword "OUTPUT",
    k_io = keyword "IO",
    k_probe = keyword "PROBE",
    k_error = keyword "ERROR",
    k_format_control = keyword "FORMAT-CONTROL",
    k_format_arguments = keyword "FORMAT-ARGUMENTS",
    k_datum = keyword "DATUM",
    k_expected_type = keyword "EXPECTED-TYPE",
    k_name = keyword "NAME",
    k_operands = keyword "OPERANDS",
    k_operation = keyword "OPERATION",
    k_stream = keyword "STREAM",
    k_pathname = keyword "PATHNAME",
    k_package = keyword "PACKAGE",
    k_line = keyword "LINE",
    k_column = keyword "COLUMN",
    k_file = keyword "FILE",
    k_instance = keyword "INSTANCE",
    k_wild = keyword "WILD",
    k_newest = keyword "NEWEST",
    k_absolute = keyword "ABSOLUTE",
    k_relative = keyword "RELATIVE",
    k_up = keyword "UP",
    k_back = keyword "BACK",
    k_unspecific = keyword "UNSPECIFIC",
    // internal helpers
    quasiquote = sys "QUASIQUOTE",
    unquote = sys "UNQUOTE",
    unquote_splicing = sys "UNQUOTE-SPLICING",
    unquote_nsplicing = sys "UNQUOTE-NSPLICING",
    args = ext "*ARGS*",
    script = ext "*SCRIPT*",
}

/// Everything shared by all processes of the interpreter on this thread.
pub struct World {
    packages: RefCell<HashMap<Rc<str>, Rc<Package>>>,
    /// COMMON-LISP.
    pub cl: Rc<Package>,
    /// COMMON-LISP-USER.
    pub cl_user: Rc<Package>,
    /// KEYWORD.
    pub keyword: Rc<Package>,
    /// NETLISP: the implementation's extensions.
    pub ext: Rc<Package>,
    /// NETLISP-SYSTEM: internals.
    pub sys: Rc<Package>,
    /// The symbol object behind NIL.
    pub nil_sym: Gc<Symbol>,
    /// Well-known symbols.
    pub s: Syms,
    /// T as a value (cloned often).
    pub t_value: Value,
    /// Source file names, indexed by `Loc::file`.
    pub files: RefCell<Vec<Rc<str>>>,
    next_id: Cell<u64>,
}

thread_local! {
    static WORLD: Cell<Option<&'static World>> = const { Cell::new(None) };
}

/// The world of this thread. Panics if none was created (create one with
/// [`crate::Interpreter::new`]).
#[inline]
pub fn w() -> &'static World {
    WORLD
        .with(|c| c.get())
        .expect("no Lisp world on this thread: create an Interpreter first")
}

/// Whether this thread has a world.
pub fn exists() -> bool {
    WORLD.with(|c| c.get().is_some())
}

/// The symbol T.
#[inline]
pub fn t() -> Value {
    w().t_value.clone()
}

/// Whether `s` is the symbol object behind NIL.
#[inline]
pub fn is_nil_symbol(s: &Gc<Symbol>) -> bool {
    Gc::ptr_eq(s, &w().nil_sym)
}

fn intern_external(p: &Rc<Package>, name: &str) -> Gc<Symbol> {
    if let Some((s, _)) = p.find_present(name) {
        if p.find_external(name).is_none() {
            p.add_external(s.clone());
        }
        return s;
    }
    let s = Gc::new(Symbol::new(name.into()));
    s.set_package(Some(p.clone()));
    if p.name().as_ref() == "KEYWORD" {
        s.set_value(Value::Symbol(s.clone()));
        s.set_flag(symbol::CONSTANT);
    }
    p.add_external(s.clone());
    s
}

impl World {
    /// Create this thread's world if it does not exist yet and return it.
    pub fn init() -> &'static World {
        if let Some(w) = WORLD.with(|c| c.get()) {
            return w;
        }
        let cl = Rc::new(Package::new("COMMON-LISP"));
        cl.set_nicknames(vec!["CL".into()]);
        let keyword = Rc::new(Package::new("KEYWORD"));
        let ext = Rc::new(Package::new(EXT));
        let sys = Rc::new(Package::new(SYS));
        let cl_user = Rc::new(Package::new("COMMON-LISP-USER"));
        cl_user.set_nicknames(vec!["CL-USER".into()]);
        let nil_sym = intern_external(&cl, "NIL");
        for name in crate::cl_symbols::CL_SYMBOLS {
            intern_external(&cl, name);
        }
        nil_sym.set_flag(symbol::CONSTANT);
        let pk = Pkgs {
            cl: cl.clone(),
            keyword: keyword.clone(),
            ext: ext.clone(),
            sys: sys.clone(),
        };
        let s = Syms::create(&pk);
        s.t.set_flag(symbol::CONSTANT);
        let t_value = Value::Symbol(s.t.clone());
        s.t.set_value(t_value.clone());
        cl.locked.set(true);
        ext.use_package(&cl);
        sys.use_package(&cl);
        sys.use_package(&ext);
        cl_user.use_package(&cl);
        cl_user.use_package(&ext);
        let world = World {
            packages: RefCell::new(HashMap::new()),
            cl,
            cl_user,
            keyword,
            ext,
            sys,
            nil_sym,
            s,
            t_value,
            files: RefCell::new(vec!["<unknown>".into()]),
            next_id: Cell::new(1 << 32),
        };
        for p in [
            &world.cl,
            &world.cl_user,
            &world.keyword,
            &world.ext,
            &world.sys,
        ] {
            world.register_package(p.clone());
        }
        let leaked: &'static World = Box::leak(Box::new(world));
        WORLD.with(|c| c.set(Some(leaked)));
        leaked
    }

    /// Add a package to the registry under its name and nicknames.
    pub fn register_package(&self, p: Rc<Package>) {
        let mut m = self.packages.borrow_mut();
        m.insert(p.name(), p.clone());
        for n in p.nicknames() {
            m.insert(n, p.clone());
        }
    }

    /// Remove a package from the registry.
    pub fn unregister_package(&self, p: &Rc<Package>) {
        self.packages.borrow_mut().retain(|_, v| !Rc::ptr_eq(v, p));
    }

    /// Find a package by name or nickname.
    pub fn find_package(&self, name: &str) -> Option<Rc<Package>> {
        self.packages.borrow().get(name).cloned()
    }

    /// All packages, each once, in creation-independent but stable order.
    pub fn all_packages(&self) -> Vec<Rc<Package>> {
        let m = self.packages.borrow();
        let mut v: Vec<Rc<Package>> = Vec::new();
        for p in m.values() {
            if !v.iter().any(|q| Rc::ptr_eq(q, p)) {
                v.push(p.clone());
            }
        }
        v.sort_by_key(|p| p.name());
        v
    }

    /// Find or create a package with the given name.
    pub fn ensure_package(&self, name: &str) -> Rc<Package> {
        if let Some(p) = self.find_package(name) {
            return p;
        }
        let p = Rc::new(Package::new(name));
        self.register_package(p.clone());
        p
    }

    /// A fresh identifier (for dynamic block and catch frames).
    #[inline]
    pub fn next_id(&self) -> u64 {
        let n = self.next_id.get();
        self.next_id.set(n + 1);
        n
    }

    /// Register a source file name, returning its index for locations.
    pub fn file_id(&self, name: &str) -> u32 {
        let mut f = self.files.borrow_mut();
        if let Some(i) = f.iter().position(|x| &**x == name) {
            return i as u32;
        }
        f.push(name.into());
        (f.len() - 1) as u32
    }

    /// The name of a registered source file.
    pub fn file_name(&self, id: u32) -> Rc<str> {
        self.files
            .borrow()
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| "<unknown>".into())
    }
}

/// Intern `name` in `pkg`, returning the symbol and how it was found
/// (None when newly created).
pub fn intern(name: &str, pkg: &Rc<Package>) -> (Gc<Symbol>, Option<Status>) {
    if let Some((s, st)) = pkg.find(name) {
        return (s, Some(st));
    }
    let s = Gc::new(Symbol::new(name.into()));
    s.set_package(Some(pkg.clone()));
    if Rc::ptr_eq(pkg, &w().keyword) {
        s.set_value(Value::Symbol(s.clone()));
        s.set_flag(symbol::CONSTANT);
        pkg.add_external(s.clone());
    } else {
        pkg.add_internal(s.clone());
    }
    (s, None)
}

/// Intern and return the symbol as a value.
pub fn intern_value(name: &str, pkg: &Rc<Package>) -> Value {
    sym_value(&intern(name, pkg).0)
}

/// Intern an external symbol of `pkg` (creating and exporting it if need be).
pub fn intern_exported(name: &str, pkg: &Rc<Package>) -> Gc<Symbol> {
    intern_external(pkg, name)
}

/// The keyword with the given name.
pub fn keyword(name: &str) -> Value {
    intern_value(name, &w().keyword)
}

/// A symbol of COMMON-LISP, by name (interned as external if missing).
pub fn cl_sym(name: &str) -> Gc<Symbol> {
    intern_external(&w().cl, name)
}

/// The symbol object of a symbol value (NIL included).
#[inline]
pub fn symbol_of(v: &Value) -> Option<Gc<Symbol>> {
    match v {
        Value::Symbol(s) => Some(s.clone()),
        Value::Nil => Some(w().nil_sym.clone()),
        _ => None,
    }
}
