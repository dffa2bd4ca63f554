//! Numbers: arithmetic with contagion, comparison, rounding, integer and
//! bit operations, PARSE-INTEGER and RANDOM (the transcendental
//! functions are in `irrational`).

use super::{f64_of, index, int, number, opt, real};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::number::{self as num, Rounding};
use crate::value::{Value, MOST_NEGATIVE_FIXNUM, MOST_POSITIVE_FIXNUM};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};
use std::cell::Cell;
use std::cmp::Ordering;

fn integer(ctx: &mut Ctx, v: &Value) -> R<BigInt> {
    num::to_bigint(v).ok_or_else(|| cond::type_error(ctx, v.clone(), "INTEGER"))
}

fn compare_chain(ctx: &mut Ctx, a: &[Value], ok: fn(Ordering) -> bool, name: &str) -> R {
    if a.len() == 1 {
        real(ctx, &a[0])?;
    }
    for w in a.windows(2) {
        if !ok(num::compare_op(ctx, &w[0], &w[1], name)?) {
            // Still type-check the rest, as SBCL does.
            for v in a {
                real(ctx, v)?;
            }
            return Ok(Value::Nil);
        }
    }
    Ok(Value::t())
}

fn round_op(ctx: &mut Ctx, a: &[Value], mode: Rounding, name: &str, float_result: bool) -> R {
    let n = &a[0];
    let d = opt(a, 1).cloned().unwrap_or(Value::Fixnum(1));
    let (q, r) = num::divide(ctx, n, &d, mode, name)?;
    let q = if float_result {
        let double = matches!(n, Value::Double(_)) || matches!(d, Value::Double(_));
        num::to_float(ctx, &q, double)?
    } else {
        q
    };
    Ok(ctx.values2(q, r))
}

fn logop(
    ctx: &mut Ctx,
    a: &[Value],
    init: i64,
    f: fn(&BigInt, &BigInt) -> BigInt,
    fi: fn(i64, i64) -> i64,
) -> R {
    let mut fix = init;
    let mut big: Option<BigInt> = None;
    for v in a {
        match (v, &big) {
            (Value::Fixnum(n), None) => fix = fi(fix, *n),
            _ => {
                let x = integer(ctx, v)?;
                let acc = big.take().unwrap_or_else(|| BigInt::from(fix));
                big = Some(f(&acc, &x));
            }
        }
    }
    Ok(match big {
        Some(b) => Value::bigint(b),
        None => Value::int(fix),
    })
}

fn byte_spec(ctx: &mut Ctx, v: &Value) -> R<(u64, u64)> {
    match v {
        Value::Cons(c) => {
            let size = index(ctx, &c.car())? as u64;
            let pos = index(ctx, &c.cdr())? as u64;
            Ok((size, pos))
        }
        other => Err(cond::type_error(ctx, other.clone(), "CONS")),
    }
}

fn mask(size: u64) -> BigInt {
    (BigInt::one() << size) - 1
}

/// A RANDOM-STATE: a splitmix64 generator (small, fast, and good enough
/// for RANDOM; not for cryptography).
pub struct RandomState {
    state: Cell<u64>,
}

impl RandomState {
    /// A random state object with the given seed.
    pub fn new_value(seed: u64) -> Value {
        crate::foreign::make(RandomState {
            state: Cell::new(seed),
        })
    }

    /// The next pseudo-random 64-bit number.
    pub fn next(&self) -> u64 {
        let mut z = self.state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl crate::foreign::ForeignObj for RandomState {
    fn type_name(&self) -> &'static str {
        "RANDOM-STATE"
    }
    fn holds_values(&self) -> bool {
        false
    }
    fn class(&self) -> Option<crate::gc::Gc<crate::clos::Class>> {
        Some(crate::clos::cl_class("RANDOM-STATE"))
    }
}

/// The random state argument `i` (default *RANDOM-STATE*).
fn random_state_arg(ctx: &mut Ctx, a: &[Value], i: usize) -> R<Value> {
    let v = opt(a, i)
        .cloned()
        .unwrap_or_else(|| crate::world::w().s.random_state.value());
    match crate::foreign::get::<RandomState>(&v) {
        Some(_) => Ok(v),
        None => Err(cond::type_error(ctx, v, "RANDOM-STATE")),
    }
}

/// The next number from *RANDOM-STATE*.
pub fn next_random() -> u64 {
    let v = crate::world::w().s.random_state.value();
    crate::foreign::get::<RandomState>(&v)
        .map(|r| r.next())
        .unwrap_or(4)
}

fn float_like(proto: &Value, x: f64) -> Value {
    match proto {
        Value::Double(_) => Value::Double(x),
        _ => Value::Single(x as f32),
    }
}

crate::defbuiltins! {
    /// The sum of NUMBERS.
    fn PLUS "+" "(&rest numbers)" (ctx, a) {
        let mut acc = Value::Fixnum(0);
        for v in a {
            acc = num::add(ctx, &acc, v)?;
        }
        if a.len() == 1 { number(ctx, &a[0])?; }
        Ok(acc)
    }

    /// Subtract the rest of the numbers from the first, or negate a single number.
    fn MINUS "-" "(number &rest more-numbers)" (ctx, a) {
        if a.len() == 1 {
            return num::negate(ctx, &a[0]);
        }
        let mut acc = a[0].clone();
        for v in &a[1..] {
            acc = num::sub(ctx, &acc, v)?;
        }
        Ok(acc)
    }

    /// The product of NUMBERS.
    fn TIMES "*" "(&rest numbers)" (ctx, a) {
        let mut acc = Value::Fixnum(1);
        for v in a {
            acc = num::mul(ctx, &acc, v)?;
        }
        if a.len() == 1 { number(ctx, &a[0])?; }
        Ok(acc)
    }

    /// Divide the first number by the rest, or take the reciprocal of a single number.
    fn DIVIDE "/" "(number &rest more-numbers)" (ctx, a) {
        if a.len() == 1 {
            return num::div(ctx, &Value::Fixnum(1), &a[0]);
        }
        let mut acc = a[0].clone();
        for v in &a[1..] {
            acc = num::div(ctx, &acc, v)?;
        }
        Ok(acc)
    }

    /// NUMBER plus one.
    fn ONE_PLUS "1+" "(number)" (ctx, a) { num::add(ctx, &a[0], &Value::Fixnum(1)) }
    /// NUMBER minus one.
    fn ONE_MINUS "1-" "(number)" (ctx, a) { num::sub(ctx, &a[0], &Value::Fixnum(1)) }

    /// True if all numbers are equal.
    fn NUM_EQ "=" "(number &rest more-numbers)" (ctx, a) {
        for v in a { number(ctx, v)?; }
        Ok(Value::bool(a.windows(2).all(|w| num::num_eq(&w[0], &w[1]))))
    }
    /// True if no two numbers are equal.
    fn NUM_NE "/=" "(number &rest more-numbers)" (ctx, a) {
        for v in a { number(ctx, v)?; }
        for i in 0..a.len() {
            for j in i + 1..a.len() {
                if num::num_eq(&a[i], &a[j]) {
                    return Ok(Value::Nil);
                }
            }
        }
        Ok(Value::t())
    }
    /// True if the numbers increase.
    fn LT "<" "(number &rest more-numbers)" (ctx, a) { compare_chain(ctx, a, |o| o.is_lt(), "<") }
    /// True if the numbers decrease.
    fn GT ">" "(number &rest more-numbers)" (ctx, a) { compare_chain(ctx, a, |o| o.is_gt(), ">") }
    /// True if the numbers do not decrease.
    fn LE "<=" "(number &rest more-numbers)" (ctx, a) { compare_chain(ctx, a, |o| o.is_le(), "<=") }
    /// True if the numbers do not increase.
    fn GE ">=" "(number &rest more-numbers)" (ctx, a) { compare_chain(ctx, a, |o| o.is_ge(), ">=") }

    /// The largest of the reals.
    fn MAX "MAX" "(real &rest more-reals)" (ctx, a) {
        let mut best = real(ctx, &a[0])?;
        for v in &a[1..] {
            if num::compare_op(ctx, v, &best, "MAX")?.is_gt() {
                best = v.clone();
            }
        }
        Ok(best)
    }
    /// The smallest of the reals.
    fn MIN "MIN" "(real &rest more-reals)" (ctx, a) {
        let mut best = real(ctx, &a[0])?;
        for v in &a[1..] {
            if num::compare_op(ctx, v, &best, "MIN")?.is_lt() {
                best = v.clone();
            }
        }
        Ok(best)
    }

    /// Whether NUMBER is zero.
    fn ZEROP "ZEROP" "(number)" (ctx, a) { num::zerop(ctx, &a[0]).map(Value::bool) }
    /// Whether REAL is positive.
    fn PLUSP "PLUSP" "(real)" (ctx, a) {
        num::signum_real(&a[0]).map(|s| Value::bool(s > 0)).ok_or_else(|| cond::type_error(ctx, a[0].clone(), "REAL"))
    }
    /// Whether REAL is negative.
    fn MINUSP "MINUSP" "(real)" (ctx, a) {
        num::signum_real(&a[0]).map(|s| Value::bool(s < 0)).ok_or_else(|| cond::type_error(ctx, a[0].clone(), "REAL"))
    }
    /// Whether INTEGER is odd.
    fn ODDP "ODDP" "(integer)" (ctx, a) { Ok(Value::bool(integer(ctx, &a[0])?.is_odd())) }
    /// Whether INTEGER is even.
    fn EVENP "EVENP" "(integer)" (ctx, a) { Ok(Value::bool(integer(ctx, &a[0])?.is_even())) }
    /// Whether OBJECT is a number.
    fn NUMBERP "NUMBERP" "(object)" (ctx, a) { Ok(Value::bool(a[0].is_number())) }
    /// Whether OBJECT is an integer.
    fn INTEGERP "INTEGERP" "(object)" (ctx, a) { Ok(Value::bool(a[0].is_integer())) }
    /// Whether OBJECT is a rational.
    fn RATIONALP "RATIONALP" "(object)" (ctx, a) { Ok(Value::bool(matches!(a[0], Value::Fixnum(_) | Value::Bignum(_) | Value::Ratio(_)))) }
    /// Whether OBJECT is a real.
    fn REALP "REALP" "(object)" (ctx, a) { Ok(Value::bool(a[0].is_real())) }
    /// Whether OBJECT is a float.
    fn FLOATP "FLOATP" "(object)" (ctx, a) { Ok(Value::bool(matches!(a[0], Value::Single(_) | Value::Double(_)))) }
    /// Whether OBJECT is a complex number.
    fn COMPLEXP "COMPLEXP" "(object)" (ctx, a) { Ok(Value::bool(matches!(a[0], Value::Complex(_)))) }

    /// Quotient rounded toward negative infinity, and remainder.
    fn FLOOR "FLOOR" "(number &optional (divisor 1))" [mv] (ctx, a) { round_op(ctx, a, Rounding::Floor, "FLOOR", false) }
    /// Quotient rounded toward positive infinity, and remainder.
    fn CEILING "CEILING" "(number &optional (divisor 1))" [mv] (ctx, a) { round_op(ctx, a, Rounding::Ceiling, "CEILING", false) }
    /// Quotient rounded toward zero, and remainder.
    fn TRUNCATE "TRUNCATE" "(number &optional (divisor 1))" [mv] (ctx, a) { round_op(ctx, a, Rounding::Truncate, "TRUNCATE", false) }
    /// Quotient rounded to the nearest integer (ties to even), and remainder.
    fn ROUND "ROUND" "(number &optional (divisor 1))" [mv] (ctx, a) { round_op(ctx, a, Rounding::Round, "ROUND", false) }
    /// FLOOR returning a float quotient.
    fn FFLOOR "FFLOOR" "(number &optional (divisor 1))" [mv] (ctx, a) { round_op(ctx, a, Rounding::Floor, "FFLOOR", true) }
    /// CEILING returning a float quotient.
    fn FCEILING "FCEILING" "(number &optional (divisor 1))" [mv] (ctx, a) { round_op(ctx, a, Rounding::Ceiling, "FCEILING", true) }
    /// TRUNCATE returning a float quotient.
    fn FTRUNCATE "FTRUNCATE" "(number &optional (divisor 1))" [mv] (ctx, a) { round_op(ctx, a, Rounding::Truncate, "FTRUNCATE", true) }
    /// ROUND returning a float quotient.
    fn FROUND "FROUND" "(number &optional (divisor 1))" [mv] (ctx, a) { round_op(ctx, a, Rounding::Round, "FROUND", true) }

    /// NUMBER modulo DIVISOR (result has the divisor's sign).
    fn MOD "MOD" "(number divisor)" (ctx, a) {
        if let (Value::Fixnum(x), Value::Fixnum(y)) = (&a[0], &a[1]) {
            if *y != 0 {
                return Ok(Value::int(x.mod_floor(y)));
            }
        }
        Ok(num::divide(ctx, &a[0], &a[1], Rounding::Floor, "MOD")?.1)
    }
    /// Remainder of truncating division (result has the number's sign).
    fn REM "REM" "(number divisor)" (ctx, a) {
        if let (Value::Fixnum(x), Value::Fixnum(y)) = (&a[0], &a[1]) {
            if *y != 0 {
                return Ok(Value::int(x % y));
            }
        }
        Ok(num::divide(ctx, &a[0], &a[1], Rounding::Truncate, "REM")?.1)
    }

    /// Absolute value.
    fn ABS "ABS" "(number)" (ctx, a) {
        match &a[0] {
            Value::Fixnum(n) => Ok(Value::int(n.abs())),
            Value::Bignum(b) => Ok(Value::bigint(b.abs())),
            Value::Ratio(r) => Ok(num::rat_value(r.abs())),
            Value::Single(f) => Ok(Value::Single(f.abs())),
            Value::Double(f) => Ok(Value::Double(f.abs())),
            Value::Complex(c) => {
                let (re, im) = (num::to_f64(&c.re).unwrap_or(0.0), num::to_f64(&c.im).unwrap_or(0.0));
                Ok(float_like(&c.re, re.hypot(im)))
            }
            other => Err(cond::type_error(ctx, other.clone(), "NUMBER")),
        }
    }

    /// Greatest common divisor.
    fn GCD "GCD" "(&rest integers)" (ctx, a) {
        let mut acc = BigInt::zero();
        for v in a {
            acc = acc.gcd(&integer(ctx, v)?);
        }
        Ok(Value::bigint(acc))
    }
    /// Least common multiple.
    fn LCM "LCM" "(&rest integers)" (ctx, a) {
        let mut acc = BigInt::one();
        for v in a {
            let x = integer(ctx, v)?;
            if x.is_zero() {
                return Ok(Value::Fixnum(0));
            }
            acc = acc.lcm(&x);
        }
        Ok(Value::bigint(acc))
    }

    /// BASE raised to POWER.
    fn EXPT "EXPT" "(base power)" (ctx, a) { num::expt(ctx, &a[0], &a[1]) }
    /// Square root (a complex for negative reals).
    fn SQRT "SQRT" "(number)" (ctx, a) { num::sqrt(ctx, &a[0]) }
    /// Integer square root of a non-negative integer.
    fn ISQRT "ISQRT" "(natural)" (ctx, a) {
        let n = integer(ctx, &a[0])?;
        if n.is_negative() {
            return Err(cond::type_error(ctx, a[0].clone(), "UNSIGNED-BYTE"));
        }
        Ok(Value::bigint(num::isqrt(&n)))
    }

    /// Convert a real to a float (of PROTOTYPE's format, single by default).
    fn FLOAT "FLOAT" "(number &optional prototype)" (ctx, a) {
        match (&a[0], opt(a, 1)) {
            (Value::Single(_), None) | (Value::Double(_), None) => Ok(a[0].clone()),
            (v, p) => {
                let double = matches!(p, Some(Value::Double(_)));
                num::to_float(ctx, v, double)
            }
        }
    }
    /// The exact rational value of a real.
    fn RATIONAL "RATIONAL" "(number)" (ctx, a) {
        match &a[0] {
            Value::Single(f) => Ok(num::float_to_rational(*f as f64).map(num::rat_value).unwrap_or(Value::Fixnum(0))),
            Value::Double(f) => Ok(num::float_to_rational(*f).map(num::rat_value).unwrap_or(Value::Fixnum(0))),
            v if v.is_real() => Ok(v.clone()),
            v => Err(cond::type_error(ctx, v.clone(), "REAL")),
        }
    }
    /// A simple rational approximating a real.
    fn RATIONALIZE "RATIONALIZE" "(number)" (ctx, a) {
        match &a[0] {
            Value::Single(f) => Ok(rationalize(*f as f64, f32::EPSILON as f64)),
            Value::Double(f) => Ok(rationalize(*f, f64::EPSILON)),
            v if v.is_real() => Ok(v.clone()),
            v => Err(cond::type_error(ctx, v.clone(), "REAL")),
        }
    }
    /// Numerator of a rational.
    fn NUMERATOR "NUMERATOR" "(rational)" (ctx, a) {
        match &a[0] {
            Value::Ratio(r) => Ok(Value::bigint(r.numer().clone())),
            v if v.is_integer() => Ok(v.clone()),
            v => Err(cond::type_error(ctx, v.clone(), "RATIONAL")),
        }
    }
    /// Denominator of a rational.
    fn DENOMINATOR "DENOMINATOR" "(rational)" (ctx, a) {
        match &a[0] {
            Value::Ratio(r) => Ok(Value::bigint(r.denom().clone())),
            v if v.is_integer() => Ok(Value::Fixnum(1)),
            v => Err(cond::type_error(ctx, v.clone(), "RATIONAL")),
        }
    }
    /// A complex number from parts (a rational when IMAGPART is an exact zero).
    fn COMPLEX "COMPLEX" "(realpart &optional imagpart)" (ctx, a) {
        let re = real(ctx, &a[0])?;
        let im = match opt(a, 1) {
            Some(v) => real(ctx, v)?,
            None => match re {
                Value::Single(_) => Value::Single(0.0),
                Value::Double(_) => Value::Double(0.0),
                _ => Value::Fixnum(0),
            },
        };
        Ok(num::make_complex(re, im))
    }
    /// Real part.
    fn REALPART "REALPART" "(number)" (ctx, a) {
        match &a[0] {
            Value::Complex(c) => Ok(c.re.clone()),
            v => Ok(number(ctx, v)?),
        }
    }
    /// Imaginary part.
    fn IMAGPART "IMAGPART" "(number)" (ctx, a) {
        match &a[0] {
            Value::Complex(c) => Ok(c.im.clone()),
            Value::Single(_) => Ok(Value::Single(0.0)),
            Value::Double(_) => Ok(Value::Double(0.0)),
            v => { number(ctx, v)?; Ok(Value::Fixnum(0)) }
        }
    }
    /// Complex conjugate.
    fn CONJUGATE "CONJUGATE" "(number)" (ctx, a) {
        match &a[0] {
            Value::Complex(c) => {
                let im = num::negate(ctx, &c.im)?;
                Ok(num::make_complex(c.re.clone(), im))
            }
            v => number(ctx, v),
        }
    }
    /// Angle of a number in the complex plane.
    fn PHASE "PHASE" "(number)" (ctx, a) {
        match &a[0] {
            Value::Complex(c) => {
                let (re, im) = (num::to_f64(&c.re).unwrap_or(0.0), num::to_f64(&c.im).unwrap_or(0.0));
                Ok(float_like(&c.re, im.atan2(re)))
            }
            v => {
                let x = f64_of(ctx, v)?;
                Ok(float_like(v, if x < 0.0 { std::f64::consts::PI } else { 0.0 }))
            }
        }
    }
    /// e^(i×RADIANS).
    fn CIS "CIS" "(radians)" (ctx, a) {
        let x = f64_of(ctx, &a[0])?;
        Ok(num::make_complex(float_like(&a[0], x.cos()), float_like(&a[0], x.sin())))
    }

    /// Bitwise AND of integers.
    fn LOGAND "LOGAND" "(&rest integers)" (ctx, a) { logop(ctx, a, -1, |x, y| x & y, |x, y| x & y) }
    /// Bitwise inclusive OR of integers.
    fn LOGIOR "LOGIOR" "(&rest integers)" (ctx, a) { logop(ctx, a, 0, |x, y| x | y, |x, y| x | y) }
    /// Bitwise exclusive OR of integers.
    fn LOGXOR "LOGXOR" "(&rest integers)" (ctx, a) { logop(ctx, a, 0, |x, y| x ^ y, |x, y| x ^ y) }
    /// Bitwise equivalence (exclusive NOR) of integers.
    fn LOGEQV "LOGEQV" "(&rest integers)" (ctx, a) { logop(ctx, a, -1, |x, y| !(x ^ y), |x, y| !(x ^ y)) }
    /// Bitwise complement.
    fn LOGNOT "LOGNOT" "(integer)" (ctx, a) { Ok(Value::bigint(!integer(ctx, &a[0])?)) }
    /// Complement of the AND.
    fn LOGNAND "LOGNAND" "(integer-1 integer-2)" (ctx, a) { let (x, y) = (integer(ctx, &a[0])?, integer(ctx, &a[1])?); Ok(Value::bigint(!(x & y))) }
    /// Complement of the OR.
    fn LOGNOR "LOGNOR" "(integer-1 integer-2)" (ctx, a) { let (x, y) = (integer(ctx, &a[0])?, integer(ctx, &a[1])?); Ok(Value::bigint(!(x | y))) }
    /// AND of the complement of INTEGER-1 with INTEGER-2.
    fn LOGANDC1 "LOGANDC1" "(integer-1 integer-2)" (ctx, a) { let (x, y) = (integer(ctx, &a[0])?, integer(ctx, &a[1])?); Ok(Value::bigint(!x & y)) }
    /// AND of INTEGER-1 with the complement of INTEGER-2.
    fn LOGANDC2 "LOGANDC2" "(integer-1 integer-2)" (ctx, a) { let (x, y) = (integer(ctx, &a[0])?, integer(ctx, &a[1])?); Ok(Value::bigint(x & !y)) }
    /// OR of the complement of INTEGER-1 with INTEGER-2.
    fn LOGORC1 "LOGORC1" "(integer-1 integer-2)" (ctx, a) { let (x, y) = (integer(ctx, &a[0])?, integer(ctx, &a[1])?); Ok(Value::bigint(!x | y)) }
    /// OR of INTEGER-1 with the complement of INTEGER-2.
    fn LOGORC2 "LOGORC2" "(integer-1 integer-2)" (ctx, a) { let (x, y) = (integer(ctx, &a[0])?, integer(ctx, &a[1])?); Ok(Value::bigint(x | !y)) }
    /// Whether bit INDEX of INTEGER is set.
    fn LOGBITP "LOGBITP" "(index integer)" (ctx, a) {
        let i = index(ctx, &a[0])?;
        let n = integer(ctx, &a[1])?;
        Ok(Value::bool(((n >> i) & BigInt::one()).is_one()))
    }
    /// Whether the integers share a set bit.
    fn LOGTEST "LOGTEST" "(integer-1 integer-2)" (ctx, a) {
        let (x, y) = (integer(ctx, &a[0])?, integer(ctx, &a[1])?);
        Ok(Value::bool(!(x & y).is_zero()))
    }
    /// Number of one bits (zero bits for negative integers).
    fn LOGCOUNT "LOGCOUNT" "(integer)" (ctx, a) {
        let n = integer(ctx, &a[0])?;
        let n = if n.is_negative() { !n } else { n };
        Ok(Value::int(n.to_biguint().map(|u| u.count_ones() as i64).unwrap_or(0)))
    }
    /// Number of bits needed to represent INTEGER in two's complement.
    fn INTEGER_LENGTH "INTEGER-LENGTH" "(integer)" (ctx, a) {
        let n = integer(ctx, &a[0])?;
        let n = if n.is_negative() { !n } else { n };
        Ok(Value::int(n.bits() as i64))
    }
    /// Shift INTEGER left by COUNT bits (right if negative).
    fn ASH "ASH" "(integer count)" (ctx, a) {
        let c = int(ctx, &a[1])?;
        if let Value::Fixnum(n) = a[0] {
            if (0..62).contains(&c) && n.abs() < (1 << (62 - c)) {
                return Ok(Value::int(n << c));
            }
            if c < 0 {
                return Ok(Value::int(n >> (-c).min(63)));
            }
        }
        let n = integer(ctx, &a[0])?;
        if c.abs() > 1 << 24 {
            return Err(cond::simple_error(ctx, "ASH count too large".into()));
        }
        Ok(Value::bigint(if c >= 0 { n << (c as usize) } else { n >> ((-c) as usize) }))
    }
    /// A byte specifier of SIZE bits at POSITION.
    fn BYTE "BYTE" "(size position)" (ctx, a) {
        let s = index(ctx, &a[0])?;
        let p = index(ctx, &a[1])?;
        Ok(Value::cons(Value::int(s as i64), Value::int(p as i64)))
    }
    /// Size of a byte specifier.
    fn BYTE_SIZE "BYTE-SIZE" "(bytespec)" (ctx, a) { Ok(Value::int(byte_spec(ctx, &a[0])?.0 as i64)) }
    /// Position of a byte specifier.
    fn BYTE_POSITION "BYTE-POSITION" "(bytespec)" (ctx, a) { Ok(Value::int(byte_spec(ctx, &a[0])?.1 as i64)) }
    /// Extract the byte BYTESPEC of INTEGER.
    fn LDB "LDB" "(bytespec integer)" (ctx, a) {
        let (size, pos) = byte_spec(ctx, &a[0])?;
        let n = integer(ctx, &a[1])?;
        Ok(Value::bigint((n >> pos) & mask(size)))
    }
    /// Whether any bit of the byte BYTESPEC of INTEGER is set.
    fn LDB_TEST "LDB-TEST" "(bytespec integer)" (ctx, a) {
        let (size, pos) = byte_spec(ctx, &a[0])?;
        let n = integer(ctx, &a[1])?;
        Ok(Value::bool(!((n >> pos) & mask(size)).is_zero()))
    }
    /// INTEGER with the byte BYTESPEC replaced by NEWBYTE.
    fn DPB "DPB" "(newbyte bytespec integer)" (ctx, a) {
        let (size, pos) = byte_spec(ctx, &a[1])?;
        let new = integer(ctx, &a[0])?;
        let n = integer(ctx, &a[2])?;
        let m = mask(size) << pos;
        Ok(Value::bigint((n & !m.clone()) | ((new << pos) & m)))
    }
    /// INTEGER with only the bits of BYTESPEC kept in place.
    fn MASK_FIELD "MASK-FIELD" "(bytespec integer)" (ctx, a) {
        let (size, pos) = byte_spec(ctx, &a[0])?;
        let n = integer(ctx, &a[1])?;
        Ok(Value::bigint(n & (mask(size) << pos)))
    }
    /// INTEGER with the bits of BYTESPEC taken from NEWBYTE in place.
    fn DEPOSIT_FIELD "DEPOSIT-FIELD" "(newbyte bytespec integer)" (ctx, a) {
        let (size, pos) = byte_spec(ctx, &a[1])?;
        let new = integer(ctx, &a[0])?;
        let n = integer(ctx, &a[2])?;
        let m = mask(size) << pos;
        Ok(Value::bigint((n & !m.clone()) | (new & m)))
    }
    /// Bitwise operation OP (one of the BOOLE- constants) on two integers.
    fn BOOLE "BOOLE" "(op integer-1 integer-2)" (ctx, a) {
        let op = int(ctx, &a[0])?;
        let (x, y) = (integer(ctx, &a[1])?, integer(ctx, &a[2])?);
        let r = match op {
            0 => BigInt::zero(),
            1 => BigInt::from(-1),
            2 => x,
            3 => y,
            4 => !x,
            5 => !y,
            6 => x & y,
            7 => x | y,
            8 => x ^ y,
            9 => !(x ^ y),
            10 => !(x & y),
            11 => !(x | y),
            12 => !x & y,
            13 => x & !y,
            14 => !x | y,
            15 => x | !y,
            _ => return Err(cond::type_error(ctx, a[0].clone(), "(INTEGER 0 15)")),
        };
        Ok(Value::bigint(r))
    }

    /// Parse an integer from STRING; returns it and the index where parsing stopped.
    fn PARSE_INTEGER "PARSE-INTEGER" "(string &key (start 0) end (radix 10) junk-allowed)" [mv] (ctx, a) {
        let chars = super::string(ctx, &a[0])?.chars();
        let start = super::opt_index(ctx, a, 1)?.unwrap_or(0);
        let end = super::opt_index(ctx, a, 2)?.unwrap_or(chars.len());
        let radix = match opt(a, 3) { Some(v) => super::radix(ctx, v)?, None => 10 };
        let junk = super::flag(a, 4);
        if start > end || end > chars.len() {
            return Err(cond::simple_error(ctx, format!("bounds {}..{} are bad for a string of length {}", start, end, chars.len())));
        }
        let mut i = start;
        while i < end && chars[i].is_whitespace() { i += 1; }
        let mut neg = false;
        if i < end && (chars[i] == '+' || chars[i] == '-') {
            neg = chars[i] == '-';
            i += 1;
        }
        let ds = i;
        let mut n = BigInt::zero();
        while i < end {
            match chars[i].to_digit(radix) {
                Some(d) => { n = n * radix + d; i += 1; }
                None => break,
            }
        }
        let digits = i > ds;
        let mut j = i;
        while j < end && chars[j].is_whitespace() { j += 1; }
        if !junk && (!digits || j < end) {
            let text: String = chars.iter().collect();
            return Err(cond::parse_error(ctx, format!(
                "junk in string {}",
                crate::printer::escape_string(&text)
            )));
        }
        let pos = if junk { i } else { j };
        let v = if digits { Value::bigint(if neg { -n } else { n }) } else { Value::Nil };
        Ok(ctx.values2(v, Value::int(pos as i64)))
    }

    /// A pseudo-random number below LIMIT (integer or float).
    fn RANDOM "RANDOM" "(limit &optional state)" (ctx, a) {
        let sv = random_state_arg(ctx, a, 1)?;
        let st = crate::foreign::get::<RandomState>(&sv).expect("checked");
        match &a[0] {
            Value::Fixnum(n) if *n > 0 => Ok(Value::int((st.next() % (*n as u64)) as i64)),
            Value::Bignum(b) if b.is_positive() => {
                let bits = b.bits() + 64;
                let mut r = BigInt::zero();
                for _ in 0..bits.div_ceil(64) {
                    r = (r << 64) + BigInt::from(st.next());
                }
                Ok(Value::bigint(r % &**b))
            }
            Value::Single(f) if *f > 0.0 => Ok(Value::Single(((st.next() >> 40) as f32 / (1u64 << 24) as f32) * f)),
            Value::Double(f) if *f > 0.0 => Ok(Value::Double(((st.next() >> 11) as f64 / (1u64 << 53) as f64) * f)),
            v => Err(cond::type_error(ctx, v.clone(), "(OR (INTEGER 1) (FLOAT (0.0)))")),
        }
    }

    /// A new random state: a copy of STATE (default *RANDOM-STATE*), or,
    /// for T, one seeded from the clock.
    fn MAKE_RANDOM_STATE "MAKE-RANDOM-STATE" "(&optional state)" (ctx, a) {
        if matches!(opt(a, 0), Some(v) if v.eq(&Value::t())) {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
            return Ok(RandomState::new_value(t ^ (std::process::id() as u64) << 32));
        }
        let from = match opt(a, 0) { Some(Value::Nil) | None => crate::world::w().s.random_state.value(), Some(v) => v.clone() };
        match crate::foreign::get::<RandomState>(&from) {
            Some(r) => Ok(RandomState::new_value(r.state.get())),
            None => Err(cond::type_error(ctx, from, "(OR RANDOM-STATE (MEMBER NIL T))")),
        }
    }
    /// Whether OBJECT is a random state.
    fn RANDOM_STATE_P "RANDOM-STATE-P" "(object)" (_ctx, a) {
        Ok(Value::bool(crate::foreign::get::<RandomState>(&a[0]).is_some()))
    }

    /// Significand, exponent and sign of a float.
    fn DECODE_FLOAT "DECODE-FLOAT" "(float)" [mv] (ctx, a) {
        let x = f64_of(ctx, &a[0])?;
        let (m, e) = frexp(x.abs());
        let sign = if x.is_sign_negative() { -1.0 } else { 1.0 };
        let vals = vec![float_like(&a[0], m), Value::int(e as i64), float_like(&a[0], sign)];
        Ok(ctx.set_values(vals))
    }
    /// Integer significand, exponent and sign of a float.
    fn INTEGER_DECODE_FLOAT "INTEGER-DECODE-FLOAT" "(float)" [mv] (ctx, a) {
        let (mant, exp, sign) = match &a[0] {
            Value::Single(f) => {
                let bits = f.to_bits();
                let sign = if bits >> 31 == 0 { 1 } else { -1 };
                let exp = ((bits >> 23) & 0xff) as i64;
                let frac = (bits & 0x7fffff) as i64;
                if exp == 0 { (frac << 1, -150 + 1, sign) } else { (frac | 0x800000, exp - 150, sign) }
            }
            Value::Double(f) => {
                let bits = f.to_bits();
                let sign = if bits >> 63 == 0 { 1 } else { -1 };
                let exp = ((bits >> 52) & 0x7ff) as i64;
                let frac = (bits & 0xf_ffff_ffff_ffff) as i64;
                if exp == 0 { (frac << 1, -1075 + 1, sign) } else { (frac | 0x10_0000_0000_0000, exp - 1075, sign) }
            }
            v => return Err(cond::type_error(ctx, v.clone(), "FLOAT")),
        };
        Ok(ctx.set_values(vec![Value::int(mant), Value::int(exp), Value::int(sign)]))
    }
    /// FLOAT × 2^INTEGER.
    fn SCALE_FLOAT "SCALE-FLOAT" "(float integer)" (ctx, a) {
        let x = f64_of(ctx, &a[0])?;
        let e = int(ctx, &a[1])?;
        Ok(float_like(&a[0], x * 2f64.powi(e as i32)))
    }
    /// A float with the sign of FLOAT-1 and the magnitude of FLOAT-2 (default 1).
    fn FLOAT_SIGN "FLOAT-SIGN" "(float-1 &optional float-2)" (ctx, a) {
        let x = f64_of(ctx, &a[0])?;
        let m = match opt(a, 1) { Some(v) => f64_of(ctx, v)?.abs(), None => 1.0 };
        Ok(float_like(&a[0], if x.is_sign_negative() { -m } else { m }))
    }
    /// Number of radix digits in the float's format.
    fn FLOAT_DIGITS "FLOAT-DIGITS" "(float)" (ctx, a) {
        match &a[0] {
            Value::Single(_) => Ok(Value::Fixnum(24)),
            Value::Double(_) => Ok(Value::Fixnum(53)),
            v => Err(cond::type_error(ctx, v.clone(), "FLOAT")),
        }
    }
    /// Number of significant radix digits of FLOAT.
    fn FLOAT_PRECISION "FLOAT-PRECISION" "(float)" (ctx, a) {
        match &a[0] {
            Value::Single(f) => Ok(Value::Fixnum(if *f == 0.0 { 0 } else { 24 })),
            Value::Double(f) => Ok(Value::Fixnum(if *f == 0.0 { 0 } else { 53 })),
            v => Err(cond::type_error(ctx, v.clone(), "FLOAT")),
        }
    }
    /// The radix of floats (2).
    fn FLOAT_RADIX "FLOAT-RADIX" "(float)" (ctx, a) { Ok(Value::Fixnum(2)) }
}

fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let e = x.log2().floor() as i32 + 1;
    let m = x / 2f64.powi(e);
    if m >= 1.0 {
        (m / 2.0, e + 1)
    } else {
        (m, e)
    }
}

fn rationalize(x: f64, eps: f64) -> Value {
    // Continued fractions until within eps relative error.
    if x == 0.0 || !x.is_finite() {
        return Value::Fixnum(0);
    }
    let neg = x < 0.0;
    let x = x.abs();
    let (mut h0, mut h1) = (BigInt::zero(), BigInt::one());
    let (mut k0, mut k1) = (BigInt::one(), BigInt::zero());
    let mut y = x;
    for _ in 0..64 {
        let a = y.floor();
        let ab = BigInt::from(a as i64);
        let h2 = &ab * &h1 + &h0;
        let k2 = &ab * &k1 + &k0;
        h0 = h1;
        h1 = h2;
        k0 = k1;
        k1 = k2;
        let approx = h1.to_f64().unwrap_or(0.0) / k1.to_f64().unwrap_or(1.0);
        if (approx - x).abs() <= eps * x || y - a == 0.0 {
            break;
        }
        y = 1.0 / (y - a);
    }
    let r = num_rational::BigRational::new(if neg { -h1 } else { h1 }, k1);
    num::rat_value(r)
}

/// Constants defined with the numbers.
pub fn install_constants() {
    let wd = crate::world::w();
    let def = |name: &str, v: Value| {
        let s = crate::world::intern_exported(name, &wd.cl);
        s.set_value(v);
        s.set_flag(crate::symbol::CONSTANT);
    };
    def("MOST-POSITIVE-FIXNUM", Value::Fixnum(MOST_POSITIVE_FIXNUM));
    def("MOST-NEGATIVE-FIXNUM", Value::Fixnum(MOST_NEGATIVE_FIXNUM));
    def("PI", Value::Double(std::f64::consts::PI));
    def("MOST-POSITIVE-DOUBLE-FLOAT", Value::Double(f64::MAX));
    def("MOST-NEGATIVE-DOUBLE-FLOAT", Value::Double(f64::MIN));
    def("MOST-POSITIVE-SINGLE-FLOAT", Value::Single(f32::MAX));
    def("MOST-NEGATIVE-SINGLE-FLOAT", Value::Single(f32::MIN));
    def("MOST-POSITIVE-SHORT-FLOAT", Value::Single(f32::MAX));
    def("MOST-NEGATIVE-SHORT-FLOAT", Value::Single(f32::MIN));
    def("MOST-POSITIVE-LONG-FLOAT", Value::Double(f64::MAX));
    def("MOST-NEGATIVE-LONG-FLOAT", Value::Double(f64::MIN));
    def(
        "LEAST-POSITIVE-DOUBLE-FLOAT",
        Value::Double(f64::from_bits(1)),
    );
    def(
        "LEAST-POSITIVE-NORMALIZED-DOUBLE-FLOAT",
        Value::Double(f64::MIN_POSITIVE),
    );
    def(
        "LEAST-POSITIVE-SINGLE-FLOAT",
        Value::Single(f32::from_bits(1)),
    );
    def(
        "LEAST-POSITIVE-NORMALIZED-SINGLE-FLOAT",
        Value::Single(f32::MIN_POSITIVE),
    );
    def(
        "LEAST-NEGATIVE-DOUBLE-FLOAT",
        Value::Double(-f64::from_bits(1)),
    );
    def(
        "LEAST-NEGATIVE-SINGLE-FLOAT",
        Value::Single(-f32::from_bits(1)),
    );
    // Short floats are single floats and long floats double floats, as in SBCL.
    for (prefix, single) in [("SHORT", true), ("LONG", false)] {
        let least = if single {
            Value::Single(f32::from_bits(1))
        } else {
            Value::Double(f64::from_bits(1))
        };
        let normal = if single {
            Value::Single(f32::MIN_POSITIVE)
        } else {
            Value::Double(f64::MIN_POSITIVE)
        };
        let neg = |v: &Value| match v {
            Value::Single(f) => Value::Single(-f),
            Value::Double(f) => Value::Double(-f),
            o => o.clone(),
        };
        def(&format!("LEAST-POSITIVE-{prefix}-FLOAT"), least.clone());
        def(&format!("LEAST-NEGATIVE-{prefix}-FLOAT"), neg(&least));
        def(
            &format!("LEAST-POSITIVE-NORMALIZED-{prefix}-FLOAT"),
            normal.clone(),
        );
        def(
            &format!("LEAST-NEGATIVE-NORMALIZED-{prefix}-FLOAT"),
            neg(&normal),
        );
        let (eps, neps) = if single {
            (Value::Single(5.960465e-8), Value::Single(2.9802326e-8))
        } else {
            (
                Value::Double(1.1102230246251568e-16),
                Value::Double(5.551115123125784e-17),
            )
        };
        def(&format!("{prefix}-FLOAT-EPSILON"), eps);
        def(&format!("{prefix}-FLOAT-NEGATIVE-EPSILON"), neps);
    }
    def(
        "LEAST-NEGATIVE-NORMALIZED-DOUBLE-FLOAT",
        Value::Double(-f64::MIN_POSITIVE),
    );
    def(
        "LEAST-NEGATIVE-NORMALIZED-SINGLE-FLOAT",
        Value::Single(-f32::MIN_POSITIVE),
    );
    def(
        "DOUBLE-FLOAT-EPSILON",
        Value::Double(1.1102230246251568e-16),
    );
    def("SINGLE-FLOAT-EPSILON", Value::Single(5.960465e-8));
    def(
        "DOUBLE-FLOAT-NEGATIVE-EPSILON",
        Value::Double(5.551115123125784e-17),
    );
    def("SINGLE-FLOAT-NEGATIVE-EPSILON", Value::Single(2.9802326e-8));
    def("ARRAY-DIMENSION-LIMIT", Value::Fixnum(MOST_POSITIVE_FIXNUM));
    def(
        "ARRAY-TOTAL-SIZE-LIMIT",
        Value::Fixnum(MOST_POSITIVE_FIXNUM),
    );
    def("ARRAY-RANK-LIMIT", Value::Fixnum(65529));
    def("CHAR-CODE-LIMIT", Value::Fixnum(0x110000));
    def("CALL-ARGUMENTS-LIMIT", Value::Fixnum(4611686018427387903));
    def(
        "LAMBDA-PARAMETERS-LIMIT",
        Value::Fixnum(4611686018427387903),
    );
    def(
        "MULTIPLE-VALUES-LIMIT",
        Value::Fixnum(crate::value::MOST_POSITIVE_FIXNUM),
    );
    def("INTERNAL-TIME-UNITS-PER-SECOND", Value::Fixnum(1000000));
    // The standard's &-names are exactly the lambda-list keywords.
    let lambda_keywords: Vec<Value> = crate::cl_symbols::CL_SYMBOLS
        .iter()
        .filter(|n| n.starts_with('&'))
        .map(|n| Value::Symbol(crate::world::intern_exported(n, &crate::world::w().cl)))
        .collect();
    def(
        "LAMBDA-LIST-KEYWORDS",
        crate::value::list_from(lambda_keywords),
    );
    for (i, n) in [
        "BOOLE-CLR",
        "BOOLE-SET",
        "BOOLE-1",
        "BOOLE-2",
        "BOOLE-C1",
        "BOOLE-C2",
        "BOOLE-AND",
        "BOOLE-IOR",
        "BOOLE-XOR",
        "BOOLE-EQV",
        "BOOLE-NAND",
        "BOOLE-NOR",
        "BOOLE-ANDC1",
        "BOOLE-ANDC2",
        "BOOLE-ORC1",
        "BOOLE-ORC2",
    ]
    .iter()
    .enumerate()
    {
        def(n, Value::Fixnum(i as i64));
    }
    let _ = Zero::zero as fn() -> BigInt;
}
