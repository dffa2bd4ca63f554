//! The environment: time, sleep, exit, LOAD, REQUIRE, DESCRIBE, the
//! garbage collector, and facts about the implementation.

use super::{opt, opt_nil, symbol};
use crate::array::Array;
use crate::conditions as cond;
use crate::ctx::{Ctx, Exit, R};
use crate::eval::apply;
use crate::value::{list_from, Value};
use crate::world::{keyword, w};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seconds from 1900-01-01 (universal time zero) to 1970-01-01.
pub const UNIX_TO_UNIVERSAL: i64 = 2_208_988_800;

thread_local! {
    static START: Instant = Instant::now();
}

/// Microseconds since the interpreter started.
pub fn internal_real_time() -> i64 {
    START.with(|s| s.elapsed().as_micros() as i64)
}

fn run_time_micros() -> i64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let us = |t: libc::timeval| t.tv_sec * 1_000_000 + t.tv_usec;
    us(ru.ru_utime) + us(ru.ru_stime)
}

fn universal_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        + UNIX_TO_UNIVERSAL
}

/// Break a universal time into (sec min hour date month year dow dst zone)
/// for time zone `tz` (hours west, None: local).
fn decode(ut: i64, tz: Option<f64>) -> Vec<Value> {
    let unix = ut - UNIX_TO_UNIVERSAL;
    let (secs, zone, dst) = match tz {
        Some(z) => (unix - (z * 3600.0) as i64, z, false),
        None => {
            let t = unix as libc::time_t;
            let mut tm: libc::tm = unsafe { std::mem::zeroed() };
            unsafe { libc::localtime_r(&t, &mut tm) };
            let off = tm.tm_gmtoff as i64;
            let dst = tm.tm_isdst > 0;
            (
                unix + off,
                -((off - if dst { 3600 } else { 0 }) as f64) / 3600.0,
                dst,
            )
        }
    };
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    let dow = (days + 3).rem_euclid(7); // Monday = 0
    let zone_v = if zone.fract() == 0.0 {
        Value::int(zone as i64)
    } else {
        crate::number::rat_value(num_rational::BigRational::from_float(zone).unwrap())
    };
    vec![
        Value::int(s),
        Value::int(m),
        Value::int(h),
        Value::int(d),
        Value::int(mo),
        Value::int(y),
        Value::int(dow),
        Value::bool(dst),
        zone_v,
    ]
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Sleep for `secs` seconds (parks the process under the scheduler).
pub fn sleep(ctx: &mut Ctx, secs: f64) -> R<()> {
    if let Some(h) = ctx.hooks.clone() {
        return h.sleep(ctx, secs);
    }
    std::thread::sleep(Duration::from_secs_f64(secs.max(0.0)));
    Ok(())
}

/// The text DESCRIBE prints for an object.
pub fn describe_text(ctx: &mut Ctx, v: &Value) -> String {
    if let Some(text) = crate::comm::inspect::describe(v) {
        return text;
    }
    let mut s = String::new();
    let p = |v: &Value| crate::printer::prin1_string(v);
    match v {
        Value::Symbol(_) | Value::Nil => {
            let sym = crate::world::symbol_of(v).unwrap();
            let pkgname = sym.package().map(|p| p.name().to_string());
            s.push_str(&match &pkgname {
                Some(pn) if pn.as_str() != "KEYWORD" => {
                    format!("{}:{}\n  [symbol]\n", pn, sym.name())
                }
                _ => format!("{}\n  [symbol]\n", p(v)),
            });
            if sym.is_bound() {
                let kind = if sym.is_constant() {
                    "constant"
                } else if sym.is_special() {
                    "special variable"
                } else {
                    "variable"
                };
                s.push_str(&format!(
                    "\n{} names a {}:\n  Value: {}\n",
                    sym.name(),
                    kind,
                    p(&sym.value())
                ));
                if let Some(d) = super::symbols::documentation_of(&sym, "VARIABLE") {
                    s.push_str(&format!(
                        "  Documentation:\n    {}\n",
                        d.replace('\n', "\n    ")
                    ));
                }
            }
            if sym.has(crate::symbol::SPECIAL_OPERATOR) {
                s.push_str(&format!("\n{} names a special operator:\n", sym.name()));
                if let Some(b) = super::builtin_of(&sym) {
                    s.push_str(&format!(
                        "  Lambda-list: {}\n  Documentation:\n    {}\n",
                        b.lambda_list.to_uppercase(),
                        b.docstring().replace('\n', "\n    ")
                    ));
                }
            } else if sym.is_fbound() {
                let f = sym.function();
                let kind = if sym.is_macro() {
                    "macro"
                } else if matches!(&f, Value::Function(g) if matches!(g.kind, crate::function::FnKind::Generic(_)))
                {
                    "generic function"
                } else {
                    "compiled function"
                };
                s.push_str(&format!("\n{} names a {}:\n", sym.name(), kind));
                if let Value::Function(fun) = &f {
                    if let Some(ll) = fun.lambda_list_text() {
                        s.push_str(&format!("  Lambda-list: {}\n", ll.to_uppercase()));
                    }
                    if let Some(d) = fun.doc() {
                        s.push_str(&format!(
                            "  Documentation:\n    {}\n",
                            d.replace('\n', "\n    ")
                        ));
                    }
                }
            }
            if let Some(c) = crate::clos::find_class(v) {
                s.push_str(&format!(
                    "\n{} names the {}:\n",
                    sym.name(),
                    p(
                        &Value::Class(crate::clos::class_of(&Value::Class(c.clone())))
                            .as_class_name()
                    )
                ));
                let slots: Vec<String> = c.slots.borrow().iter().map(|sl| p(&sl.name)).collect();
                if !slots.is_empty() {
                    s.push_str(&format!("  Slots: {}\n", slots.join(" ")));
                }
                if let Some(d) = c.doc.borrow().clone() {
                    s.push_str(&format!("  Documentation:\n    {}\n", d));
                }
            }
        }
        Value::Function(f) => {
            s.push_str(&format!("{}\n  [compiled function]\n", p(v)));
            if let Some(ll) = f.lambda_list_text() {
                s.push_str(&format!("\n  Lambda-list: {}\n", ll.to_uppercase()));
            }
            if let Some(d) = f.doc() {
                s.push_str(&format!("  Documentation:\n    {}\n", d));
            }
        }
        Value::Instance(i) => {
            s.push_str(&format!(
                "{}\n  [{}]\n\nSlots:\n",
                p(v),
                i.class().name_string().to_lowercase()
            ));
            for sl in i.class().slots.borrow().iter() {
                let val = crate::clos::slot_value_raw(i, &sl.name).unwrap_or(Value::Unbound);
                let shown = if matches!(val, Value::Unbound) {
                    "#<unbound slot>".to_string()
                } else {
                    p(&val)
                };
                s.push_str(&format!("  {} = {}\n", p(&sl.name), shown));
            }
        }
        other => {
            let ty = crate::types::type_of(other);
            s.push_str(&format!(
                "{}\n  [{}]\n",
                p(other),
                crate::printer::princ_string(&ty).to_lowercase()
            ));
        }
    }
    let _ = ctx;
    s
}

impl Value {
    fn as_class_name(&self) -> Value {
        match self {
            Value::Class(c) => c.name(),
            v => v.clone(),
        }
    }
}

crate::defbuiltins! {
    /// End the program at once with CODE (default 0); cleanup forms still run.
    fn QUIT "NETLISP:QUIT" "(&optional (code 0))" (ctx, a) {
        ctx.quit_code = match opt(a, 0) { Some(Value::Fixnum(n)) => *n as i32, _ => 0 };
        Err(Exit::QUIT)
    }
    /// End the program with :CODE (default 0); :ABORT T skips cleanup forms.
    fn EXIT "NETLISP:EXIT" "(&key (code 0) abort timeout)" (ctx, a) {
        ctx.quit_code = match opt(a, 0) { Some(Value::Fixnum(n)) => *n as i32, _ => 0 };
        if super::flag(a, 1) {
            crate::stream::flush_standard(ctx);
            std::process::exit(ctx.quit_code);
        }
        Err(Exit::QUIT)
    }
    /// Wait SECONDS (other processes keep running).
    fn SLEEP "SLEEP" "(seconds)" (ctx, a) {
        let s = super::f64_of(ctx, &a[0])?;
        if s < 0.0 { return Err(cond::type_error(ctx, a[0].clone(), "(REAL 0)")); }
        sleep(ctx, s)?;
        Ok(Value::Nil)
    }
    /// Seconds since 1900-01-01 00:00 UTC.
    fn GET_UNIVERSAL_TIME "GET-UNIVERSAL-TIME" "()" (ctx, a) { Ok(Value::int(universal_now())) }
    /// The current time decoded in the local time zone (nine values).
    fn GET_DECODED_TIME "GET-DECODED-TIME" "()" [mv] (ctx, a) { Ok(ctx.set_values(decode(universal_now(), None))) }
    /// Decode a universal time (nine values: sec min hour date month year day daylight-p zone).
    fn DECODE_UNIVERSAL_TIME "DECODE-UNIVERSAL-TIME" "(universal-time &optional time-zone)" [mv] (ctx, a) {
        let ut = super::int(ctx, &a[0])?;
        let tz = match opt(a, 1) { Some(v) => Some(super::f64_of(ctx, v)?), None => None };
        Ok(ctx.set_values(decode(ut, tz)))
    }
    /// Encode a date and time as a universal time.
    fn ENCODE_UNIVERSAL_TIME "ENCODE-UNIVERSAL-TIME" "(second minute hour date month year &optional time-zone)" (ctx, a) {
        let mut v = [0i64; 6];
        for (i, x) in v.iter_mut().enumerate() { *x = super::int(ctx, &a[i])?; }
        let days = days_from_civil(v[5], v[4], v[3]);
        let local = days * 86400 + v[2] * 3600 + v[1] * 60 + v[0];
        let offset = match opt(a, 6) {
            Some(z) => (super::f64_of(ctx, z)? * 3600.0) as i64,
            None => {
                let t = local as libc::time_t;
                let mut tm: libc::tm = unsafe { std::mem::zeroed() };
                unsafe { libc::localtime_r(&t, &mut tm) };
                -(tm.tm_gmtoff as i64)
            }
        };
        Ok(Value::int(local + offset + UNIX_TO_UNIVERSAL))
    }
    /// Elapsed real time in internal time units (microseconds).
    fn GET_INTERNAL_REAL_TIME "GET-INTERNAL-REAL-TIME" "()" (ctx, a) { Ok(Value::int(internal_real_time())) }
    /// CPU time used in internal time units (microseconds).
    fn GET_INTERNAL_RUN_TIME "GET-INTERNAL-RUN-TIME" "()" (ctx, a) { Ok(Value::int(run_time_micros())) }
    /// Run THUNK and report its real and run time on *TRACE-OUTPUT*.
    fn TIME_FN "NETLISP-SYSTEM:%TIME" "(thunk)" [mv] (ctx, a) {
        let t0 = Instant::now();
        let r0 = run_time_micros();
        let gc0 = crate::gc::stats();
        let v = apply(ctx, &a[0], &[])?;
        let vals = ctx.take_values(v);
        let real = t0.elapsed().as_secs_f64();
        let run = (run_time_micros() - r0) as f64 / 1e6;
        let gc1 = crate::gc::stats();
        let text = format!(
            "Evaluation took:\n  {:.3} seconds of real time\n  {:.6} seconds of total run time\n  {} cycle collections, {} objects reclaimed\n",
            real, run, gc1.collections - gc0.collections, gc1.reclaimed - gc0.reclaimed
        );
        let s = crate::stream::output_designator(ctx, &w().s.trace_output.value())?;
        crate::stream::fresh_line(ctx, &s)?;
        crate::stream::write_str(ctx, &s, &text)?;
        Ok(ctx.set_values(vals))
    }
    /// Describe OBJECT on STREAM.
    fn DESCRIBE "DESCRIBE" "(object &optional stream)" [mv] (ctx, a) {
        let s = super::out_stream(ctx, a, 1)?;
        let f = Value::Symbol(crate::world::cl_sym("DESCRIBE-OBJECT"));
        crate::stream::fresh_line(ctx, &s)?;
        apply(ctx, &f, &[a[0].clone(), Value::Stream(s)])?;
        Ok(ctx.set_values(vec![]))
    }
    /// Print memory statistics.
    fn ROOM "ROOM" "(&optional x)" [mv] (ctx, a) {
        let st = crate::gc::stats();
        let rss = rss_kib();
        let text = format!(
            "Tracked heap objects: {}\nNext collection at:   {}\nCollections:          {}\nObjects reclaimed:    {}\nResident set size:    {} KiB\n",
            st.tracked, st.threshold, st.collections, st.reclaimed, rss
        );
        let s = super::out_stream(ctx, &[], 0)?;
        crate::stream::write_str(ctx, &s, &text)?;
        Ok(ctx.set_values(vec![]))
    }
    /// Collect unreachable cycles now; returns the number of objects freed.
    fn GC "NETLISP:GC" "(&key full)" (ctx, a) { Ok(Value::int(crate::gc::collect() as i64)) }
    /// Heap statistics: tracked objects, collections, objects reclaimed.
    fn GC_STATS "NETLISP:GC-STATS" "()" [mv] (ctx, a) {
        let st = crate::gc::stats();
        Ok(ctx.set_values(vec![Value::int(st.tracked as i64), Value::int(st.collections as i64), Value::int(st.reclaimed as i64)]))
    }
    /// The resident memory of the process in KiB.
    fn RSS "NETLISP:RSS-KIB" "()" (ctx, a) { Ok(Value::int(rss_kib())) }
    /// The value of environment variable NAME, or NIL.
    fn GETENV "NETLISP:GETENV" "(name)" (ctx, a) {
        let n = super::string_designator(ctx, &a[0])?;
        Ok(std::env::var(n).map(|v| Array::string(&v)).unwrap_or(Value::Nil))
    }
    /// Load a file of Lisp code, evaluating each form.
    fn LOAD "LOAD" "(filespec &key verbose print (if-does-not-exist t) external-format)" (ctx, a) {
        let path = super::files::native_path(ctx, &a[0])?;
        if !std::path::Path::new(&path).exists() {
            if opt(a, 3).is_some_and(|v| v.is_nil()) { return Ok(Value::Nil); }
            return Err(cond::file_error(ctx, crate::pathname::Pathname::parse(&path).into_value(), format!("can't load {}: file does not exist", path)));
        }
        crate::load::load_file(ctx, &path, super::flag(a, 1), super::flag(a, 2))?;
        Ok(Value::t())
    }
    /// Load MODULE unless already provided (bundled modules and no-op names are known).
    fn REQUIRE "REQUIRE" "(module-name &optional pathnames)" (ctx, a) {
        let name = super::string_designator(ctx, &a[0])?;
        crate::modules::require(ctx, &name)?;
        Ok(Value::Nil)
    }
    /// The bundled modules REQUIRE (and ASDF:LOAD-SYSTEM) can load, as strings.
    fn BUNDLED_MODULES "NETLISP-SYSTEM:%BUNDLED-MODULES" "()" (ctx, a) {
        Ok(crate::value::list_from(crate::modules::bundled_names().iter().map(|n| Array::string(n)).collect::<Vec<_>>()))
    }
    /// Note that MODULE has been loaded.
    fn PROVIDE "PROVIDE" "(module-name)" (ctx, a) {
        let name = super::string_designator(ctx, &a[0])?;
        crate::modules::provide(&name);
        Ok(Value::t())
    }
    /// "netlisp".
    fn LISP_IMPLEMENTATION_TYPE "LISP-IMPLEMENTATION-TYPE" "()" (ctx, a) { Ok(Array::string("netlisp")) }
    /// The netlisp version.
    fn LISP_IMPLEMENTATION_VERSION "LISP-IMPLEMENTATION-VERSION" "()" (ctx, a) { Ok(Array::string(env!("CARGO_PKG_VERSION"))) }
    /// The machine type.
    fn MACHINE_TYPE "MACHINE-TYPE" "()" (ctx, a) { Ok(Array::string(std::env::consts::ARCH)) }
    /// The machine version (NIL: not known).
    fn MACHINE_VERSION "MACHINE-VERSION" "()" (ctx, a) { Ok(Value::Nil) }
    /// The host name.
    fn MACHINE_INSTANCE "MACHINE-INSTANCE" "()" (ctx, a) {
        let mut buf = [0u8; 256];
        let r = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
        if r != 0 { return Ok(Value::Nil); }
        let n = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        Ok(Array::string(&String::from_utf8_lossy(&buf[..n])))
    }
    /// The operating system type.
    fn SOFTWARE_TYPE "SOFTWARE-TYPE" "()" (ctx, a) { Ok(Array::string(if cfg!(target_os = "linux") { "Linux" } else { std::env::consts::OS })) }
    /// The operating system version (NIL: not known).
    fn SOFTWARE_VERSION "SOFTWARE-VERSION" "()" (ctx, a) { Ok(Value::Nil) }
    /// The site name (NIL).
    fn SHORT_SITE_NAME "SHORT-SITE-NAME" "()" (ctx, a) { Ok(Value::Nil) }
    /// The site name (NIL).
    fn LONG_SITE_NAME "LONG-SITE-NAME" "()" (ctx, a) { Ok(Value::Nil) }
    /// Print a named value's documentation and arguments (for the REPL).
    fn ARGLIST "NETLISP:ARGLIST" "(function-designator)" (ctx, a) {
        let f = match &a[0] { Value::Function(_) => a[0].clone(), v => symbol(ctx, v)?.function() };
        match &f {
            Value::Function(fun) => Ok(fun.lambda_list_text().map(|t| crate::reader::read_symbol_name(&t)).unwrap_or(Value::Nil)),
            _ => Ok(Value::Nil),
        }
    }
    /// The command-line arguments after the script name.
    fn ARGV "NETLISP:ARGV" "()" (ctx, a) { Ok(w().s.args.value()) }
    /// Run a program; returns its exit code and output (when :OUTPUT :STRING).
    fn RUN_PROGRAM "NETLISP:RUN-PROGRAM" "(program &optional args &key output error-output input)" [mv] (ctx, a) {
        let prog = super::string_designator(ctx, &a[0])?;
        let mut args = vec![];
        for x in opt_nil(a, 1).iter() { args.push(super::string_designator(ctx, &x)?); }
        let capture = matches!(opt(a, 2), Some(Value::Symbol(s)) if s.name() == "STRING");
        let mut cmd = std::process::Command::new(&prog);
        cmd.args(&args);
        if !capture { cmd.stdout(std::process::Stdio::inherit()); }
        crate::stream::flush_standard(ctx);
        match cmd.output() {
            Ok(out) => {
                let text = if capture { Array::string(&String::from_utf8_lossy(&out.stdout)) } else { Value::Nil };
                Ok(ctx.values2(Value::int(out.status.code().unwrap_or(-1) as i64), text))
            }
            Err(e) => Err(cond::simple_error(ctx, format!("can't run {}: {}", prog, e))),
        }
    }
}

/// Resident set size of this process in KiB.
pub fn rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// The initial *FEATURES*.
pub fn features() -> Value {
    list_from(
        [
            "NETLISP",
            "COMMON-LISP",
            "ANSI-CL",
            "X86-64",
            "64-BIT",
            "LITTLE-ENDIAN",
            "UNIX",
            "LINUX",
            "IEEE-FLOATING-POINT",
        ]
        .iter()
        .filter(|f| **f != "X86-64" || cfg!(target_arch = "x86_64"))
        .map(|f| keyword(f)),
    )
}
