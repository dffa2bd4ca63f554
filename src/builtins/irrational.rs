//! The irrational and transcendental functions (CLHS 12.2): EXP, EXPT on
//! complex and float arguments, LOG, SQRT, the circular and hyperbolic
//! functions and their inverses, SIGNUM and CIS, on reals and complexes.
//!
//! Reals inside a function's real domain give reals. Everything else is
//! computed on complex doubles with the formulas the standard defines each
//! function by, and reals outside the domain (ASIN 2, ACOSH 0.5, ATANH 2,
//! LOG -1) take the value on the side of the branch cut the standard
//! names, as SBCL does. Single-float arguments give single-float results.

use super::opt;
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::number as num;
use crate::value::Value;
use num_complex::Complex64 as C;
use std::f64::consts::{FRAC_PI_2, PI};

/// A number argument as a complex double, and whether results are
/// double-floats (a double-float part anywhere makes them so).
fn complex_arg(ctx: &mut Ctx, v: &Value) -> R<(C, bool)> {
    match v {
        Value::Complex(c) => {
            let (Some(re), Some(im)) = (num::to_f64(&c.re), num::to_f64(&c.im)) else {
                return Err(cond::type_error(ctx, v.clone(), "NUMBER"));
            };
            let double = matches!(c.re, Value::Double(_)) || matches!(c.im, Value::Double(_));
            Ok((C::new(re, im), double))
        }
        v => match num::to_f64(v) {
            Some(x) => Ok((C::new(x, 0.0), matches!(v, Value::Double(_)))),
            None => Err(cond::type_error(ctx, v.clone(), "NUMBER")),
        },
    }
}

fn float(x: f64, double: bool) -> Value {
    if double {
        Value::Double(x)
    } else {
        Value::Single(x as f32)
    }
}

/// A complex float result (a float complex stays complex even when its
/// imaginary part is zero).
fn complex(z: C, double: bool) -> Value {
    num::make_complex(float(z.re, double), float(z.im, double))
}

/// The real argument as a double, if the argument is real.
fn real_arg(v: &Value) -> Option<(f64, bool)> {
    match v {
        Value::Complex(_) => None,
        v => num::to_f64(v).map(|x| (x, matches!(v, Value::Double(_)))),
    }
}

/// Apply a function that maps the reals into the reals (EXP, SIN, ...):
/// `real` on reals, `cplx` on complexes.
fn total(ctx: &mut Ctx, v: &Value, real: fn(f64) -> f64, cplx: fn(C) -> C) -> R {
    if let Some((x, double)) = real_arg(v) {
        return Ok(float(real(x), double));
    }
    let (z, double) = complex_arg(ctx, v)?;
    Ok(complex(cplx(z), double))
}

/// Apply a function whose real values need `in_domain`: `real` there,
/// `on_cut` for other reals (the value the standard's branch cut gives),
/// `cplx` on complexes.
fn partial(
    ctx: &mut Ctx,
    v: &Value,
    in_domain: fn(f64) -> bool,
    real: fn(f64) -> f64,
    on_cut: fn(f64) -> C,
    cplx: fn(C) -> C,
) -> R {
    if let Some((x, double)) = real_arg(v) {
        return Ok(if in_domain(x) {
            float(real(x), double)
        } else {
            complex(on_cut(x), double)
        });
    }
    let (z, double) = complex_arg(ctx, v)?;
    Ok(complex(cplx(z), double))
}

const I: C = C::new(0.0, 1.0);
const ONE: C = C::new(1.0, 0.0);

// The defining formulas (CLHS ASIN, ACOS, ATAN, ASINH, ACOSH, ATANH).
fn c_asin(z: C) -> C {
    -I * (I * z + (ONE - z * z).sqrt()).ln()
}
fn c_acos(z: C) -> C {
    C::new(FRAC_PI_2, 0.0) - c_asin(z)
}
fn c_atan(z: C) -> C {
    ((ONE + I * z).ln() - (ONE - I * z).ln()) / (2.0 * I)
}
fn c_asinh(z: C) -> C {
    (z + (ONE + z * z).sqrt()).ln()
}
fn c_acosh(z: C) -> C {
    2.0 * (((z + ONE) / 2.0).sqrt() + ((z - ONE) / 2.0).sqrt()).ln()
}
fn c_atanh(z: C) -> C {
    ((ONE + z).ln() - (ONE - z).ln()) / 2.0
}

/// ln(|x| + sqrt(x² - 1)) for |x| >= 1: the size of the imaginary (or
/// real) part the inverse functions take beyond their real domain.
fn beyond(x: f64) -> f64 {
    let a = x.abs();
    (a + (a * a - 1.0).sqrt()).ln()
}

// Reals outside the real domain, on the side of the cut the standard
// gives: ASIN continuous with quadrant IV right of 1 and II left of -1;
// ACOS = pi/2 - ASIN; ACOSH continuous with quadrant I between -1 and 1
// and II left of -1; ATANH as SBCL (below).
fn cut_asin(x: f64) -> C {
    if x > 0.0 {
        C::new(FRAC_PI_2, -beyond(x))
    } else {
        C::new(-FRAC_PI_2, beyond(x))
    }
}
fn cut_acos(x: f64) -> C {
    C::new(FRAC_PI_2, 0.0) - cut_asin(x)
}
fn cut_acosh(x: f64) -> C {
    if x >= -1.0 {
        C::new(0.0, x.acos())
    } else {
        C::new(beyond(x), PI)
    }
}
fn cut_atanh(x: f64) -> C {
    // SBCL gives +pi/2 on both pieces of the cut (the standard's
    // quadrant III continuity would give -pi/2 left of -1); the oracle wins.
    C::new(0.5 * ((x + 1.0) / (x - 1.0)).ln(), FRAC_PI_2)
}

/// The natural logarithm of `v` as a complex or real value.
fn ln_value(ctx: &mut Ctx, v: &Value) -> R {
    if let Some((x, double)) = real_arg(v) {
        if x == 0.0 && !matches!(v, Value::Single(_) | Value::Double(_)) {
            return Err(cond::division_by_zero(ctx, "LOG", std::slice::from_ref(v)));
        }
        return Ok(if x < 0.0 {
            complex(C::new((-x).ln(), PI), double)
        } else {
            float(x.ln(), double)
        });
    }
    let (z, double) = complex_arg(ctx, v)?;
    Ok(complex(z.ln(), double))
}

/// BASE to a POWER that is not an exact integer with a rational base (the
/// exact cases are `num::expt`): e^(POWER log BASE) on complex doubles.
pub fn expt_complex(ctx: &mut Ctx, base: &Value, power: &Value) -> R {
    let (b, bd) = complex_arg(ctx, base)?;
    let (p, pd) = complex_arg(ctx, power)?;
    let double = bd || pd;
    if b == C::new(0.0, 0.0) {
        // 0 to a power with a positive real part is 0.
        return if p.re > 0.0 {
            Ok(complex(C::new(0.0, 0.0), double))
        } else {
            Err(cond::division_by_zero(
                ctx,
                "EXPT",
                &[base.clone(), power.clone()],
            ))
        };
    }
    Ok(complex((p * b.ln()).exp(), double))
}

crate::defbuiltins! {
    /// e raised to NUMBER.
    fn EXP "EXP" "(number)" (ctx, a) { total(ctx, &a[0], f64::exp, |z| z.exp()) }
    /// Logarithm of NUMBER in BASE (natural logarithm by default); a
    /// complex for negative reals and complex arguments.
    fn LOG "LOG" "(number &optional base)" (ctx, a) {
        let Some(base) = opt(a, 1) else { return ln_value(ctx, &a[0]) };
        if let (Some((x, xd)), Some((b, bd))) = (real_arg(&a[0]), real_arg(base)) {
            if x > 0.0 && b > 0.0 {
                return Ok(float(x.ln() / b.ln(), xd || bd));
            }
        }
        let (z, zd) = complex_arg(ctx, &a[0])?;
        let (b, bd) = complex_arg(ctx, base)?;
        Ok(complex(z.ln() / b.ln(), zd || bd))
    }
    /// Sine.
    fn SIN "SIN" "(radians)" (ctx, a) { total(ctx, &a[0], f64::sin, |z| z.sin()) }
    /// Cosine.
    fn COS "COS" "(radians)" (ctx, a) { total(ctx, &a[0], f64::cos, |z| z.cos()) }
    /// Tangent.
    fn TAN "TAN" "(radians)" (ctx, a) { total(ctx, &a[0], f64::tan, |z| z.tan()) }
    /// Arc sine (a complex beyond -1..1).
    fn ASIN "ASIN" "(number)" (ctx, a) {
        partial(ctx, &a[0], |x| (-1.0..=1.0).contains(&x), f64::asin, cut_asin, c_asin)
    }
    /// Arc cosine (a complex beyond -1..1).
    fn ACOS "ACOS" "(number)" (ctx, a) {
        partial(ctx, &a[0], |x| (-1.0..=1.0).contains(&x), f64::acos, cut_acos, c_acos)
    }
    /// Arc tangent of Y, or of Y/X with the quadrant from both signs.
    fn ATAN "ATAN" "(y &optional x)" (ctx, a) {
        let Some(xv) = opt(a, 1) else {
            return total(ctx, &a[0], f64::atan, c_atan);
        };
        let (Some((y, yd)), Some((x, xd))) = (real_arg(&a[0]), real_arg(xv)) else {
            let bad = if real_arg(&a[0]).is_none() { &a[0] } else { xv };
            return Err(cond::type_error(ctx, bad.clone(), "REAL"));
        };
        Ok(float(y.atan2(x), yd || xd))
    }
    /// Hyperbolic sine.
    fn SINH "SINH" "(number)" (ctx, a) { total(ctx, &a[0], f64::sinh, |z| z.sinh()) }
    /// Hyperbolic cosine.
    fn COSH "COSH" "(number)" (ctx, a) { total(ctx, &a[0], f64::cosh, |z| z.cosh()) }
    /// Hyperbolic tangent.
    fn TANH "TANH" "(number)" (ctx, a) { total(ctx, &a[0], f64::tanh, |z| z.tanh()) }
    /// Inverse hyperbolic sine.
    fn ASINH "ASINH" "(number)" (ctx, a) { total(ctx, &a[0], f64::asinh, c_asinh) }
    /// Inverse hyperbolic cosine (a complex below 1).
    fn ACOSH "ACOSH" "(number)" (ctx, a) {
        partial(ctx, &a[0], |x| x >= 1.0, f64::acosh, cut_acosh, c_acosh)
    }
    /// Inverse hyperbolic tangent (a complex beyond -1..1; an error at -1 and 1).
    fn ATANH "ATANH" "(number)" (ctx, a) {
        if let Some((x, _)) = real_arg(&a[0]) {
            if x.abs() == 1.0 {
                return Err(cond::division_by_zero(ctx, "ATANH", &[a[0].clone()]));
            }
        }
        partial(ctx, &a[0], |x| x.abs() < 1.0, f64::atanh, cut_atanh, c_atanh)
    }
    /// The sign of a real (-1, 0 or 1 in its type), or the complex of
    /// modulus 1 in the direction of a complex.
    fn SIGNUM "SIGNUM" "(number)" (ctx, a) {
        match &a[0] {
            Value::Single(f) => Ok(Value::Single(if *f == 0.0 { *f } else { f.signum() })),
            Value::Double(f) => Ok(Value::Double(if *f == 0.0 { *f } else { f.signum() })),
            Value::Complex(_) => {
                let (z, double) = complex_arg(ctx, &a[0])?;
                Ok(complex(z / z.norm(), double))
            }
            v => num::signum_real(v).map(|s| Value::Fixnum(s as i64)).ok_or_else(|| cond::type_error(ctx, v.clone(), "NUMBER")),
        }
    }
}
