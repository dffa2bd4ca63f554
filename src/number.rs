//! The numeric tower: fixnums, bignums, ratios, single and double floats
//! and complexes, with CL contagion rules, reading and printing.

use crate::conditions;
use crate::ctx::{Ctx, R};
use crate::value::{Complex, Value};
use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use std::cmp::Ordering;
use std::rc::Rc;

/// A number decomposed for arithmetic.
#[derive(Clone, Debug)]
pub enum Num {
    /// Any rational (integers have denominator 1).
    Rat(BigRational),
    /// Single float.
    Single(f32),
    /// Double float.
    Double(f64),
    /// Complex (parts decomposed).
    Complex(Box<Num>, Box<Num>),
}

/// Decompose a number; None if `v` is not a number.
pub fn num(v: &Value) -> Option<Num> {
    Some(match v {
        Value::Fixnum(n) => Num::Rat(BigRational::from_integer(BigInt::from(*n))),
        Value::Bignum(b) => Num::Rat(BigRational::from_integer((**b).clone())),
        Value::Ratio(r) => Num::Rat((**r).clone()),
        Value::Single(f) => Num::Single(*f),
        Value::Double(f) => Num::Double(*f),
        Value::Complex(c) => Num::Complex(Box::new(num(&c.re)?), Box::new(num(&c.im)?)),
        _ => return None,
    })
}

/// Build a value from a rational, normalising to an integer when possible.
pub fn rat_value(r: BigRational) -> Value {
    if r.denom().is_one() {
        Value::bigint(r.numer().clone())
    } else {
        Value::Ratio(Rc::new(r))
    }
}

/// Build a value from a decomposed number.
pub fn num_value(n: Num) -> Value {
    match n {
        Num::Rat(r) => rat_value(r),
        Num::Single(f) => Value::Single(f),
        Num::Double(f) => Value::Double(f),
        Num::Complex(re, im) => make_complex(num_value(*re), num_value(*im)),
    }
}

/// A complex from parts, collapsing to a rational when the imaginary
/// part is an exact zero (CL canonicalization).
pub fn make_complex(re: Value, im: Value) -> Value {
    if let Value::Fixnum(0) = im {
        if re.is_integer() || matches!(re, Value::Ratio(_)) {
            return re;
        }
    }
    // Float contagion between the parts.
    let (re, im) = match (&re, &im) {
        (Value::Double(_), _) | (_, Value::Double(_)) => (
            Value::Double(to_f64(&re).unwrap_or(0.0)),
            Value::Double(to_f64(&im).unwrap_or(0.0)),
        ),
        (Value::Single(_), _) | (_, Value::Single(_)) => (
            Value::Single(to_f64(&re).unwrap_or(0.0) as f32),
            Value::Single(to_f64(&im).unwrap_or(0.0) as f32),
        ),
        _ => (re, im),
    };
    Value::Complex(Rc::new(Complex { re, im }))
}

/// A real as f64.
pub fn to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Fixnum(n) => Some(*n as f64),
        Value::Bignum(b) => b.to_f64(),
        Value::Ratio(r) => ratio_to_f64(r),
        Value::Single(f) => Some(*f as f64),
        Value::Double(f) => Some(*f),
        _ => None,
    }
}

fn ratio_to_f64(r: &BigRational) -> Option<f64> {
    let n = r.numer().to_f64()?;
    let d = r.denom().to_f64()?;
    if n.is_finite() && d.is_finite() {
        Some(n / d)
    } else {
        // Scale down huge parts.
        let bits = r.numer().bits().max(r.denom().bits()) as i64 - 1000;
        let shift = bits.max(0) as usize;
        let n = (r.numer() >> shift).to_f64()?;
        let d = (r.denom() >> shift).to_f64()?;
        Some(n / d)
    }
}

/// An integer as BigInt.
pub fn to_bigint(v: &Value) -> Option<BigInt> {
    match v {
        Value::Fixnum(n) => Some(BigInt::from(*n)),
        Value::Bignum(b) => Some((**b).clone()),
        _ => None,
    }
}

/// A rational (integer or ratio) as BigRational.
pub fn to_rational(v: &Value) -> Option<BigRational> {
    match v {
        Value::Fixnum(n) => Some(BigRational::from_integer(BigInt::from(*n))),
        Value::Bignum(b) => Some(BigRational::from_integer((**b).clone())),
        Value::Ratio(r) => Some((**r).clone()),
        _ => None,
    }
}

/// An exact rational equal to a float.
pub fn float_to_rational(f: f64) -> Option<BigRational> {
    BigRational::from_float(f)
}

fn not_number(ctx: &mut Ctx, v: &Value) -> crate::ctx::Exit {
    conditions::type_error(ctx, v.clone(), "NUMBER")
}

fn num_checked(ctx: &mut Ctx, v: &Value) -> R<Num> {
    match num(v) {
        Some(n) => Ok(n),
        None => Err(not_number(ctx, v)),
    }
}

fn to_f64_num(n: &Num) -> f64 {
    match n {
        Num::Rat(r) => ratio_to_f64(r).unwrap_or(f64::NAN),
        Num::Single(f) => *f as f64,
        Num::Double(f) => *f,
        Num::Complex(re, _) => to_f64_num(re),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Rat,
    Single,
    Double,
}

fn level(n: &Num) -> Level {
    match n {
        Num::Rat(_) => Level::Rat,
        Num::Single(_) => Level::Single,
        Num::Double(_) => Level::Double,
        Num::Complex(re, im) => level(re).max(level(im)),
    }
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

fn real_op(op: Op, a: &Num, b: &Num) -> Result<Num, ()> {
    let lvl = level(a).max(level(b));
    match lvl {
        Level::Rat => {
            let (Num::Rat(x), Num::Rat(y)) = (a, b) else {
                unreachable!()
            };
            Ok(Num::Rat(match op {
                Op::Add => x + y,
                Op::Sub => x - y,
                Op::Mul => x * y,
                Op::Div => {
                    if y.is_zero() {
                        return Err(());
                    }
                    x / y
                }
            }))
        }
        Level::Single => {
            let (x, y) = (to_f64_num(a) as f32, to_f64_num(b) as f32);
            if let Op::Div = op {
                if y == 0.0 {
                    return Err(());
                }
            }
            Ok(Num::Single(match op {
                Op::Add => x + y,
                Op::Sub => x - y,
                Op::Mul => x * y,
                Op::Div => x / y,
            }))
        }
        Level::Double => {
            let (x, y) = (to_f64_num(a), to_f64_num(b));
            if let Op::Div = op {
                if y == 0.0 {
                    return Err(());
                }
            }
            Ok(Num::Double(match op {
                Op::Add => x + y,
                Op::Sub => x - y,
                Op::Mul => x * y,
                Op::Div => x / y,
            }))
        }
    }
}

fn zero_like(n: &Num) -> Num {
    match n {
        Num::Single(_) => Num::Single(0.0),
        Num::Double(_) => Num::Double(0.0),
        _ => Num::Rat(BigRational::zero()),
    }
}

fn parts(n: Num) -> (Num, Num) {
    match n {
        Num::Complex(re, im) => (*re, *im),
        other => {
            let z = Num::Rat(BigRational::zero());
            (other, z)
        }
    }
}

fn arith(op: Op, a: Num, b: Num) -> Result<Num, ()> {
    let complex = matches!(a, Num::Complex(..)) || matches!(b, Num::Complex(..));
    if !complex {
        return real_op(op, &a, &b);
    }
    let (ar, ai) = parts(a);
    let (br, bi) = parts(b);
    let (re, im) = match op {
        Op::Add => (real_op(Op::Add, &ar, &br)?, real_op(Op::Add, &ai, &bi)?),
        Op::Sub => (real_op(Op::Sub, &ar, &br)?, real_op(Op::Sub, &ai, &bi)?),
        Op::Mul => (
            real_op(
                Op::Sub,
                &real_op(Op::Mul, &ar, &br)?,
                &real_op(Op::Mul, &ai, &bi)?,
            )?,
            real_op(
                Op::Add,
                &real_op(Op::Mul, &ar, &bi)?,
                &real_op(Op::Mul, &ai, &br)?,
            )?,
        ),
        Op::Div => {
            let den = real_op(
                Op::Add,
                &real_op(Op::Mul, &br, &br)?,
                &real_op(Op::Mul, &bi, &bi)?,
            )?;
            let nr = real_op(
                Op::Add,
                &real_op(Op::Mul, &ar, &br)?,
                &real_op(Op::Mul, &ai, &bi)?,
            )?;
            let ni = real_op(
                Op::Sub,
                &real_op(Op::Mul, &ai, &br)?,
                &real_op(Op::Mul, &ar, &bi)?,
            )?;
            (real_op(Op::Div, &nr, &den)?, real_op(Op::Div, &ni, &den)?)
        }
    };
    let _ = zero_like;
    Ok(Num::Complex(Box::new(re), Box::new(im)))
}

fn binary(ctx: &mut Ctx, op: Op, a: &Value, b: &Value, name: &str) -> R {
    let x = num_checked(ctx, a)?;
    let y = num_checked(ctx, b)?;
    match arith(op, x, y) {
        Ok(n) => Ok(num_value(n)),
        Err(()) => Err(conditions::division_by_zero(
            ctx,
            name,
            &[a.clone(), b.clone()],
        )),
    }
}

/// a + b
pub fn add(ctx: &mut Ctx, a: &Value, b: &Value) -> R {
    if let (Value::Fixnum(x), Value::Fixnum(y)) = (a, b) {
        return Ok(Value::int(x + y));
    }
    binary(ctx, Op::Add, a, b, "+")
}

/// a - b
pub fn sub(ctx: &mut Ctx, a: &Value, b: &Value) -> R {
    if let (Value::Fixnum(x), Value::Fixnum(y)) = (a, b) {
        return Ok(Value::int(x - y));
    }
    binary(ctx, Op::Sub, a, b, "-")
}

/// a * b
pub fn mul(ctx: &mut Ctx, a: &Value, b: &Value) -> R {
    if let (Value::Fixnum(x), Value::Fixnum(y)) = (a, b) {
        if let Some(p) = x.checked_mul(*y) {
            return Ok(Value::int(p));
        }
    }
    binary(ctx, Op::Mul, a, b, "*")
}

/// a / b
pub fn div(ctx: &mut Ctx, a: &Value, b: &Value) -> R {
    if let (Value::Fixnum(x), Value::Fixnum(y)) = (a, b) {
        if *y != 0 && x % y == 0 {
            return Ok(Value::int(x / y));
        }
    }
    binary(ctx, Op::Div, a, b, "/")
}

/// -a
pub fn negate(ctx: &mut Ctx, a: &Value) -> R {
    sub(ctx, &Value::Fixnum(0), a).map(|v| match (a, &v) {
        // (- 0.0) is -0.0
        (Value::Single(x), _) => Value::Single(-x),
        (Value::Double(x), _) => Value::Double(-x),
        _ => v,
    })
}

/// Compare two reals.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Value::Fixnum(x), Value::Fixnum(y)) = (a, b) {
        return Some(x.cmp(y));
    }
    let x = num(a)?;
    let y = num(b)?;
    match (&x, &y) {
        (Num::Rat(p), Num::Rat(q)) => Some(p.cmp(q)),
        (Num::Complex(..), _) | (_, Num::Complex(..)) => None,
        _ => {
            // Compare exactly: floats are rationals.
            let fx = to_f64_num(&x);
            let fy = to_f64_num(&y);
            if fx.is_nan() || fy.is_nan() {
                return None;
            }
            match (&x, &y) {
                (Num::Rat(p), _) => float_to_rational(fy)
                    .map(|q| p.cmp(&q))
                    .or(fx.partial_cmp(&fy)),
                (_, Num::Rat(q)) => float_to_rational(fx)
                    .map(|p| p.cmp(q))
                    .or(fx.partial_cmp(&fy)),
                _ => fx.partial_cmp(&fy),
            }
        }
    }
}

/// Compare reals, signalling a type error for non-reals.
pub fn compare_op(ctx: &mut Ctx, a: &Value, b: &Value, _op: &str) -> R<Ordering> {
    match compare(a, b) {
        Some(o) => Ok(o),
        None => {
            let bad = if a.is_real() { b } else { a };
            Err(conditions::type_error(ctx, bad.clone(), "REAL"))
        }
    }
}

/// `=` without errors (false for non-numbers).
pub fn num_eq(a: &Value, b: &Value) -> bool {
    match (num(a), num(b)) {
        (Some(Num::Complex(ar, ai)), Some(y)) | (Some(y), Some(Num::Complex(ar, ai))) => {
            let (br, bi) = parts(y);
            num_eq(&num_value(*ar), &num_value(br)) && num_eq(&num_value(*ai), &num_value(bi))
        }
        (Some(_), Some(_)) => compare(a, b) == Some(Ordering::Equal),
        _ => false,
    }
}

/// `=` with type checking.
pub fn num_eq_checked(ctx: &mut Ctx, a: &Value, b: &Value) -> R<bool> {
    if !a.is_number() {
        return Err(not_number(ctx, a));
    }
    if !b.is_number() {
        return Err(not_number(ctx, b));
    }
    Ok(num_eq(a, b))
}

/// ZEROP.
pub fn zerop(ctx: &mut Ctx, a: &Value) -> R<bool> {
    match a {
        Value::Fixnum(n) => Ok(*n == 0),
        Value::Bignum(_) | Value::Ratio(_) => Ok(false),
        Value::Single(f) => Ok(*f == 0.0),
        Value::Double(f) => Ok(*f == 0.0),
        Value::Complex(c) => Ok(zerop(ctx, &c.re)? && zerop(ctx, &c.im)?),
        _ => Err(not_number(ctx, a)),
    }
}

/// Sign of a real: -1, 0 or 1.
pub fn signum_real(a: &Value) -> Option<i32> {
    Some(match a {
        Value::Fixnum(n) => n.signum() as i32,
        Value::Bignum(b) => match b.sign() {
            Sign::Minus => -1,
            Sign::NoSign => 0,
            Sign::Plus => 1,
        },
        Value::Ratio(r) => {
            if r.is_negative() {
                -1
            } else {
                1
            }
        }
        Value::Single(f) => {
            if *f > 0.0 {
                1
            } else if *f < 0.0 {
                -1
            } else {
                0
            }
        }
        Value::Double(f) => {
            if *f > 0.0 {
                1
            } else if *f < 0.0 {
                -1
            } else {
                0
            }
        }
        _ => return None,
    })
}

/// Which rounding a division uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// Toward negative infinity.
    Floor,
    /// Toward positive infinity.
    Ceiling,
    /// Toward zero.
    Truncate,
    /// To nearest, ties to even.
    Round,
}

fn round_rational(q: &BigRational, mode: Rounding) -> BigInt {
    match mode {
        Rounding::Floor => q.floor().to_integer(),
        Rounding::Ceiling => q.ceil().to_integer(),
        Rounding::Truncate => q.trunc().to_integer(),
        Rounding::Round => {
            let fl = q.floor();
            let diff = q - &fl;
            let half = BigRational::new(BigInt::one(), BigInt::from(2));
            let fi = fl.to_integer();
            match diff.cmp(&half) {
                Ordering::Less => fi,
                Ordering::Greater => fi + 1,
                Ordering::Equal => {
                    if fi.is_even() {
                        fi
                    } else {
                        fi + 1
                    }
                }
            }
        }
    }
}

fn round_f64(x: f64, mode: Rounding) -> f64 {
    match mode {
        Rounding::Floor => x.floor(),
        Rounding::Ceiling => x.ceil(),
        Rounding::Truncate => x.trunc(),
        Rounding::Round => {
            let r = x.round();
            if (x - x.trunc()).abs() == 0.5 {
                // ties to even
                let t = x.trunc();
                if (t as i64) % 2 == 0 {
                    t
                } else {
                    r
                }
            } else {
                r
            }
        }
    }
}

/// FLOOR / CEILING / TRUNCATE / ROUND of a by b: (quotient, remainder).
pub fn divide(
    ctx: &mut Ctx,
    a: &Value,
    b: &Value,
    mode: Rounding,
    name: &str,
) -> R<(Value, Value)> {
    if let (Value::Fixnum(x), Value::Fixnum(y)) = (a, b) {
        let (x, y) = (*x, *y);
        if y == 0 {
            return Err(conditions::division_by_zero(
                ctx,
                name,
                &[a.clone(), b.clone()],
            ));
        }
        let t = x / y;
        let exact = x % y == 0;
        let q = match mode {
            Rounding::Truncate => t,
            Rounding::Floor if !exact && ((x < 0) != (y < 0)) => t - 1,
            Rounding::Ceiling if !exact && ((x < 0) == (y < 0)) => t + 1,
            Rounding::Floor | Rounding::Ceiling => t,
            Rounding::Round => round_rational(
                &BigRational::new(BigInt::from(x), BigInt::from(y)),
                Rounding::Round,
            )
            .to_i64()
            .unwrap(),
        };
        return Ok((Value::int(q), Value::int(x - q * y)));
    }
    let (Some(x), Some(y)) = (num(a), num(b)) else {
        let bad = if a.is_real() { b } else { a };
        return Err(conditions::type_error(ctx, bad.clone(), "REAL"));
    };
    if matches!(x, Num::Complex(..)) || matches!(y, Num::Complex(..)) {
        let bad = if matches!(x, Num::Complex(..)) { a } else { b };
        return Err(conditions::type_error(ctx, bad.clone(), "REAL"));
    }
    match level(&x).max(level(&y)) {
        Level::Rat => {
            let (Num::Rat(p), Num::Rat(q)) = (x, y) else {
                unreachable!()
            };
            if q.is_zero() {
                return Err(conditions::division_by_zero(
                    ctx,
                    name,
                    &[a.clone(), b.clone()],
                ));
            }
            let quo = round_rational(&(&p / &q), mode);
            let rem = p - BigRational::from_integer(quo.clone()) * q;
            Ok((Value::bigint(quo), rat_value(rem)))
        }
        lvl => {
            let (fx, fy) = (to_f64_num(&x), to_f64_num(&y));
            if fy == 0.0 {
                return Err(conditions::division_by_zero(
                    ctx,
                    name,
                    &[a.clone(), b.clone()],
                ));
            }
            let q = round_f64(fx / fy, mode);
            let r = fx - q * fy;
            let qv = match float_to_rational(q) {
                Some(r) => Value::bigint(r.to_integer()),
                None => Value::Double(q),
            };
            let rv = if lvl == Level::Single {
                Value::Single(r as f32)
            } else {
                Value::Double(r)
            };
            Ok((qv, rv))
        }
    }
}

/// Convert a real to a float of the same format as `proto` (single if none).
pub fn to_float(ctx: &mut Ctx, v: &Value, double: bool) -> R {
    match to_f64(v) {
        Some(f) => Ok(if double {
            Value::Double(f)
        } else {
            Value::Single(f as f32)
        }),
        None => Err(conditions::type_error(ctx, v.clone(), "REAL")),
    }
}

/// Exponentiation.
pub fn expt(ctx: &mut Ctx, base: &Value, power: &Value) -> R {
    if let Some(p) = to_bigint(power) {
        if let Some(b) = to_rational(base) {
            let neg = p.is_negative();
            let e = p.abs().to_u32();
            let Some(e) = e else {
                if b.is_one() {
                    return Ok(Value::Fixnum(1));
                }
                return Err(conditions::simple_error(ctx, "exponent too large".into()));
            };
            if neg && b.is_zero() {
                return Err(conditions::division_by_zero(
                    ctx,
                    "EXPT",
                    &[base.clone(), power.clone()],
                ));
            }
            let r = num_traits::pow::pow(b, e as usize);
            return Ok(rat_value(if neg { r.recip() } else { r }));
        }
        if let Some(e) = p.to_i32() {
            match base {
                Value::Single(f) => return Ok(Value::Single(f.powi(e))),
                Value::Double(f) => return Ok(Value::Double(f.powi(e))),
                _ => {}
            }
        }
        if let Value::Complex(c) = base {
            if to_rational(&c.re).is_some() && to_rational(&c.im).is_some() {
                // Exact: square and multiply (the exponent may be large).
                let Some(mut e) = p.abs().to_u64() else {
                    return Err(conditions::simple_error(ctx, "exponent too large".into()));
                };
                let (mut acc, mut sq) = (Value::Fixnum(1), base.clone());
                while e > 0 {
                    if e & 1 == 1 {
                        acc = mul(ctx, &acc, &sq)?;
                    }
                    e >>= 1;
                    if e > 0 {
                        sq = mul(ctx, &sq, &sq)?;
                    }
                }
                return if p.is_negative() {
                    div(ctx, &Value::Fixnum(1), &acc)
                } else {
                    Ok(acc)
                };
            }
        }
    }
    if matches!(base, Value::Complex(_)) || matches!(power, Value::Complex(_)) {
        return crate::builtins::irrational::expt_complex(ctx, base, power);
    }
    let (Some(b), Some(p)) = (to_f64(base), to_f64(power)) else {
        let bad = if base.is_number() { power } else { base };
        return Err(conditions::type_error(ctx, bad.clone(), "NUMBER"));
    };
    let double = matches!(base, Value::Double(_)) || matches!(power, Value::Double(_));
    if b < 0.0 && p.fract() != 0.0 {
        // Complex result.
        let (r, theta) = (b.abs().powf(p), std::f64::consts::PI * p);
        let re = r * theta.cos();
        let im = r * theta.sin();
        return Ok(if double {
            make_complex(Value::Double(re), Value::Double(im))
        } else {
            make_complex(Value::Single(re as f32), Value::Single(im as f32))
        });
    }
    let r = b.powf(p);
    Ok(if double {
        Value::Double(r)
    } else {
        Value::Single(r as f32)
    })
}

/// Integer square root.
pub fn isqrt(n: &BigInt) -> BigInt {
    n.sqrt()
}

/// Square root (complex for negative reals).
pub fn sqrt(ctx: &mut Ctx, v: &Value) -> R {
    let double = matches!(v, Value::Double(_));
    let Some(f) = to_f64(v) else {
        if let Value::Complex(c) = v {
            let (re, im) = (to_f64(&c.re).unwrap_or(0.0), to_f64(&c.im).unwrap_or(0.0));
            let m = (re * re + im * im).sqrt();
            let sr = ((m + re) / 2.0).sqrt();
            let si = ((m - re) / 2.0).sqrt() * if im < 0.0 { -1.0 } else { 1.0 };
            let d = matches!(c.re, Value::Double(_));
            return Ok(if d {
                make_complex(Value::Double(sr), Value::Double(si))
            } else {
                make_complex(Value::Single(sr as f32), Value::Single(si as f32))
            });
        }
        return Err(conditions::type_error(ctx, v.clone(), "NUMBER"));
    };
    if f < 0.0 {
        let r = (-f).sqrt();
        return Ok(if double {
            make_complex(Value::Double(0.0), Value::Double(r))
        } else {
            make_complex(Value::Single(0.0), Value::Single(r as f32))
        });
    }
    Ok(if double {
        Value::Double(f.sqrt())
    } else {
        Value::Single((f as f32).sqrt())
    })
}

// ---------------------------------------------------------------------
// Reading

fn digit_val(c: char, base: u32) -> Option<u32> {
    c.to_digit(36).filter(|d| *d < base)
}

/// Parse a token as a number in `base` (the reader's syntax). `single`
/// says whether unmarked floats are single-floats.
pub fn parse_number(tok: &str, base: u32, single_default: bool) -> Option<Value> {
    let bytes: Vec<char> = tok.chars().collect();
    if bytes.is_empty() {
        return None;
    }
    let (neg, body) = match bytes[0] {
        '+' => (false, &bytes[1..]),
        '-' => (true, &bytes[1..]),
        _ => (false, &bytes[..]),
    };
    if body.is_empty() {
        return None;
    }
    // Integer in base, optionally with a trailing decimal point (decimal).
    if body.iter().all(|c| digit_val(*c, base).is_some()) {
        let s: String = body.iter().collect();
        let n = BigInt::parse_bytes(s.as_bytes(), base)?;
        return Some(Value::bigint(if neg { -n } else { n }));
    }
    if body.len() > 1
        && body[body.len() - 1] == '.'
        && body[..body.len() - 1].iter().all(|c| c.is_ascii_digit())
    {
        let s: String = body[..body.len() - 1].iter().collect();
        let n = BigInt::parse_bytes(s.as_bytes(), 10)?;
        return Some(Value::bigint(if neg { -n } else { n }));
    }
    // Ratio.
    if let Some(slash) = body.iter().position(|c| *c == '/') {
        let (n, d) = (&body[..slash], &body[slash + 1..]);
        if !n.is_empty()
            && !d.is_empty()
            && n.iter().all(|c| digit_val(*c, base).is_some())
            && d.iter().all(|c| digit_val(*c, base).is_some())
        {
            let n = BigInt::parse_bytes(n.iter().collect::<String>().as_bytes(), base)?;
            let d = BigInt::parse_bytes(d.iter().collect::<String>().as_bytes(), base)?;
            if d.is_zero() {
                return None;
            }
            let r = BigRational::new(if neg { -n } else { n }, d);
            return Some(rat_value(r));
        }
        return None;
    }
    parse_float(neg, body, single_default)
}

fn parse_float(neg: bool, body: &[char], single_default: bool) -> Option<Value> {
    // digits* [. digits*] [exp]
    let mut i = 0;
    let mut int_digits = String::new();
    while i < body.len() && body[i].is_ascii_digit() {
        int_digits.push(body[i]);
        i += 1;
    }
    let mut frac_digits = String::new();
    let mut has_point = false;
    if i < body.len() && body[i] == '.' {
        has_point = true;
        i += 1;
        while i < body.len() && body[i].is_ascii_digit() {
            frac_digits.push(body[i]);
            i += 1;
        }
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    let mut marker = None;
    let mut exp = String::new();
    if i < body.len() {
        let m = body[i].to_ascii_lowercase();
        if !"esfdl".contains(m) {
            return None;
        }
        marker = Some(m);
        i += 1;
        if i < body.len() && (body[i] == '+' || body[i] == '-') {
            exp.push(body[i]);
            i += 1;
        }
        let start = exp.len();
        while i < body.len() && body[i].is_ascii_digit() {
            exp.push(body[i]);
            i += 1;
        }
        if exp.len() == start {
            return None;
        }
    }
    if i != body.len() {
        return None;
    }
    if !has_point && marker.is_none() {
        return None;
    }
    if has_point && frac_digits.is_empty() && marker.is_none() {
        // "1." is an integer, handled earlier.
        return None;
    }
    let text = format!(
        "{}{}.{}e{}",
        if neg { "-" } else { "" },
        if int_digits.is_empty() {
            "0"
        } else {
            &int_digits
        },
        if frac_digits.is_empty() {
            "0"
        } else {
            &frac_digits
        },
        if exp.is_empty() { "0" } else { &exp }
    );
    let single = match marker {
        None | Some('e') => single_default,
        Some('s') | Some('f') => true,
        _ => false,
    };
    if single {
        text.parse::<f32>().ok().map(Value::Single)
    } else {
        text.parse::<f64>().ok().map(Value::Double)
    }
}

// ---------------------------------------------------------------------
// Printing

/// Print an integer in a base (digits above 9 in upper case).
pub fn integer_string(v: &Value, base: u32) -> String {
    // Callers check the base; a bad one must still not panic.
    let base = if (2..=36).contains(&base) { base } else { 10 };
    match v {
        Value::Fixnum(n) => {
            if base == 10 {
                n.to_string()
            } else {
                BigInt::from(*n).to_str_radix(base).to_uppercase()
            }
        }
        Value::Bignum(b) => b.to_str_radix(base).to_uppercase(),
        _ => String::new(),
    }
}

/// Shortest round-trip digits and decimal exponent of a positive finite
/// float: value = 0.DIGITS × 10^exp.
fn float_digits(f: f64, single: bool) -> (String, i32) {
    let subnormal = if single {
        (f as f32).is_subnormal()
    } else {
        f.is_subnormal()
    };
    if subnormal {
        // SBCL decodes subnormals as if they had full precision, so they
        // print with more digits than the shortest round trip.
        return crate::float_format::shortest_digits(f, single);
    }
    let s = if single {
        format!("{:e}", f as f32)
    } else {
        format!("{:e}", f)
    };
    split_exp_digits(&s)
}

/// Digits and decimal exponent (value = 0.DIGITS × 10^exp) of Rust's
/// `{:e}` rendering, trailing zeros removed.
fn split_exp_digits(s: &str) -> (String, i32) {
    // Forms like "1.2345e8" or "5e-324".
    let (mant, exp) = s.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0').to_string();
    let digits = if digits.is_empty() {
        "0".to_string()
    } else {
        digits
    };
    (digits, exp + 1)
}

/// Print a float as SBCL does: fixed notation between 1e-3 and 1e7,
/// otherwise an exponent; a marker when the format differs from
/// *READ-DEFAULT-FLOAT-FORMAT* (single).
pub fn float_string(f: f64, single: bool, default_single: bool) -> String {
    let marker_needed = single != default_single;
    let marker = if single { 'f' } else { 'd' };
    if f.is_nan() {
        return if single {
            "#<SINGLE-FLOAT quiet NaN>".into()
        } else {
            "#<DOUBLE-FLOAT quiet NaN>".into()
        };
    }
    if f.is_infinite() {
        let name = match (single, f > 0.0) {
            (true, true) => "SINGLE-FLOAT-POSITIVE-INFINITY",
            (true, false) => "SINGLE-FLOAT-NEGATIVE-INFINITY",
            (false, true) => "DOUBLE-FLOAT-POSITIVE-INFINITY",
            (false, false) => "DOUBLE-FLOAT-NEGATIVE-INFINITY",
        };
        return format!("#.SB-EXT:{}", name);
    }
    let neg = f.is_sign_negative();
    let a = f.abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if a == 0.0 {
        out.push_str("0.0");
        if marker_needed {
            out.push(marker);
            out.push('0');
        }
        return out;
    }
    let (digits, exp) = float_digits(a, single);
    if (1e-3..1e7).contains(&a) {
        // Fixed notation.
        if exp <= 0 {
            out.push_str("0.");
            for _ in 0..(-exp) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let e = exp as usize;
            if digits.len() <= e {
                out.push_str(&digits);
                for _ in 0..(e - digits.len()) {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..e]);
                out.push('.');
                out.push_str(&digits[e..]);
            }
        }
        if marker_needed {
            out.push(marker);
            out.push('0');
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        if digits.len() > 1 {
            out.push_str(&digits[1..]);
        } else {
            out.push('0');
        }
        out.push(if marker_needed { marker } else { 'e' });
        out.push_str(&(exp - 1).to_string());
    }
    out
}

/// Print a ratio in a base.
pub fn ratio_string(r: &BigRational, base: u32) -> String {
    format!(
        "{}/{}",
        r.numer().to_str_radix(base).to_uppercase(),
        r.denom().to_str_radix(base).to_uppercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_sbcl() {
        assert_eq!(float_string(1.5, true, true), "1.5");
        assert_eq!(float_string(1.5, false, true), "1.5d0");
        assert_eq!(float_string(1e7, true, true), "1.0e7");
        assert_eq!(float_string(1234567.0, true, true), "1234567.0");
        assert_eq!(float_string(0.001f32 as f64, true, true), "0.001");
        assert_eq!(float_string(0.0001f32 as f64, true, true), "1.0e-4");
        assert_eq!(
            float_string(123456789.0f32 as f64, true, true),
            "1.2345679e8"
        );
        assert_eq!(float_string(100.0, true, true), "100.0");
        assert_eq!(float_string(1e22, false, true), "1.0d22");
        assert_eq!(
            float_string(2f64.sqrt(), false, true),
            "1.4142135623730951d0"
        );
        assert_eq!(float_string(-0.0, true, true), "-0.0");
        assert_eq!(
            float_string((1.0f32 / 3.0) as f64, true, true),
            "0.33333334"
        );
    }

    #[test]
    fn numbers_parse_per_cl_syntax() {
        assert!(matches!(
            parse_number("12", 10, true),
            Some(Value::Fixnum(12))
        ));
        assert!(matches!(
            parse_number("-12.", 10, true),
            Some(Value::Fixnum(-12))
        ));
        assert!(matches!(
            parse_number("FF", 16, true),
            Some(Value::Fixnum(255))
        ));
        assert!(matches!(
            parse_number("1.5", 10, true),
            Some(Value::Single(_))
        ));
        assert!(matches!(
            parse_number("1.5d0", 10, true),
            Some(Value::Double(_))
        ));
        assert!(matches!(
            parse_number("1e3", 10, true),
            Some(Value::Single(_))
        ));
        assert!(matches!(
            parse_number("2/4", 10, true),
            Some(Value::Ratio(_))
        ));
        assert!(matches!(
            parse_number("4/2", 10, true),
            Some(Value::Fixnum(2))
        ));
        assert!(parse_number("1+", 10, true).is_none());
        assert!(parse_number("-", 10, true).is_none());
        assert!(parse_number(".", 10, true).is_none());
        assert!(parse_number("1.2.3", 10, true).is_none());
    }
}
