//! Floats as text the way SBCL writes them: the Burger & Dybvig digit
//! generator (free format, or cut off at a decimal position),
//! FLONUM-TO-STRING, and the FORMAT directives ~F, ~E, ~G and ~$.
//!
//! These follow SBCL's algorithms step by step (including its rounding at
//! a cut-off position and its float arithmetic in SCALE-EXPONENT), because
//! scripts compare their printed output with SBCL's.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Zero};

/// A float with its format: single floats keep their own precision.
#[derive(Clone, Copy, Debug)]
pub struct Flonum {
    /// The value (exact for singles too).
    pub value: f64,
    /// Whether it is a SINGLE-FLOAT.
    pub single: bool,
}

impl Flonum {
    fn precision(self) -> u32 {
        if self.single {
            24
        } else {
            53
        }
    }

    fn min_e(self) -> i64 {
        // SBCL's SINGLE-FLOAT-MIN-E / DOUBLE-FLOAT-MIN-E: -(bias + digits).
        if self.single {
            -(126 + 24)
        } else {
            -(1022 + 53)
        }
    }

    fn with(self, value: f64) -> Flonum {
        let value = if self.single {
            value as f32 as f64
        } else {
            value
        };
        Flonum {
            value,
            single: self.single,
        }
    }

    /// INTEGER-DECODE-FLOAT of the absolute value, subnormals normalized
    /// the way SBCL does (significand shifted up, exponent below min-e).
    fn integer_decode(self) -> (BigInt, i64) {
        let x = self.value.abs();
        if x == 0.0 {
            return (BigInt::zero(), 0);
        }
        let (mut sig, mut exp, hidden) = if self.single {
            let bits = (x as f32).to_bits();
            let e = ((bits >> 23) & 0xff) as i64;
            let m = (bits & 0x7f_ffff) as u64;
            if e == 0 {
                (m << 1, -126 - 24, 1u64 << 23)
            } else {
                (m | 1 << 23, e - 127 - 23, 1u64 << 23)
            }
        } else {
            let bits = x.to_bits();
            let e = ((bits >> 52) & 0x7ff) as i64;
            let m = bits & 0xf_ffff_ffff_ffff;
            if e == 0 {
                (m << 1, -1022 - 53, 1u64 << 52)
            } else {
                (m | 1 << 52, e - 1023 - 52, 1u64 << 52)
            }
        };
        while sig & hidden == 0 {
            sig <<= 1;
            exp -= 1;
        }
        (BigInt::from(sig), exp)
    }
}

fn pow(base: u32, e: i64) -> BigInt {
    num_traits::pow(BigInt::from(base), e.max(0) as usize)
}

/// FLONUM-TO-DIGITS: (k, digits) with |v| ≈ 0.DIGITS × 10^k. With
/// `position`, generation stops at the digit for 10^position (absolute)
/// and rounds there, as SBCL does for fixed-width output.
pub fn flonum_to_digits(v: Flonum, position: Option<i64>) -> (i64, String) {
    let (f, e) = v.integer_decode();
    if f.is_zero() {
        return (0, "0".into());
    }
    let p = v.precision();
    let high_ok = f.is_even();
    let low_ok = f.is_even();
    let top = BigInt::one() << (p - 1);
    let (r, s, mp, mm);
    if e >= 0 {
        let be = BigInt::one() << e as usize;
        if f != top {
            r = &f * &be * 2;
            s = BigInt::from(2);
            mp = be.clone();
            mm = be;
        } else {
            mm = be.clone();
            mp = &be * 2;
            r = &f * &mp * 2;
            s = BigInt::from(4);
        }
    } else if e == v.min_e() || f != top {
        r = &f * 2;
        s = (BigInt::one() << (-e) as usize) * 2;
        mp = BigInt::one();
        mm = BigInt::one();
    } else {
        mm = BigInt::one();
        mp = BigInt::from(2);
        r = &f * 4;
        s = (BigInt::one() << (1 - e) as usize) * 2;
    }
    if let Some(pos) = position {
        // SBCL widens m- and m+ to at least x = s·10^pos/2 and then accepts
        // both boundaries. Everything is multiplied by D to stay integral.
        let (d, x) = if pos >= 0 {
            (BigInt::from(2), &s * pow(10, pos))
        } else {
            (pow(10, -pos) * 2, s.clone())
        };
        let mm = (&mm * &d).max(x.clone());
        let mp = (&mp * &d).max(x);
        return scale(r * &d, s * &d, mp, mm, true, true);
    }
    scale(r, s, mp, mm, high_ok, low_ok)
}

fn scale(
    r: BigInt,
    mut s: BigInt,
    mut mp: BigInt,
    mut mm: BigInt,
    high_ok: bool,
    low_ok: bool,
) -> (i64, String) {
    let mut r = r;
    let mut k: i64 = 0;
    let rmp = &r + &mp;
    loop {
        if rmp > s || (high_ok && rmp == s) {
            s *= 10;
            k += 1;
        } else {
            break;
        }
    }
    loop {
        let positive = &r - &mm > BigInt::zero();
        let x = (&r + &mp) * 10;
        if positive && (x < s || (!high_ok && x == s)) {
            k -= 1;
            r *= 10;
            mp *= 10;
            mm *= 10;
        } else {
            break;
        }
    }
    let mut digits = String::new();
    loop {
        let (d, rem): (BigInt, BigInt) = (&r * BigInt::from(10)).div_rem(&s);
        r = rem;
        mp *= 10;
        mm *= 10;
        let tc1 = r < mm || (low_ok && r == mm);
        let tc2 = &r + &mp > s || (high_ok && &r + &mp == s);
        let d: u32 = d.try_into().unwrap_or(0);
        if tc1 || tc2 {
            let last = match (tc1, tc2) {
                (false, true) => d + 1,
                (true, false) => d,
                _ => {
                    if &r * 2 < s {
                        d
                    } else {
                        d + 1
                    }
                }
            };
            digits.push(char::from_digit(last.min(9), 10).unwrap_or('9'));
            if last > 9 {
                // Cannot happen for valid floats; keep the text sane.
                digits.push('0');
            }
            return (k, digits);
        }
        digits.push(char::from_digit(d, 10).unwrap_or('0'));
    }
}

/// FLONUM-TO-STRING: the digits of |x| written positionally (no leading
/// zero: ".5"). Returns (string, leading point?, trailing point?, index of
/// the point).
pub fn flonum_to_string(
    x: Flonum,
    width: Option<i64>,
    fdigits: Option<i64>,
    scale: i64,
    fmin: i64,
) -> (String, bool, bool, usize) {
    let (e, digits) = match fdigits {
        Some(fd) => flonum_to_digits(x, Some((-(fd + scale)).min(-(fmin + scale)))),
        None => match width {
            Some(w) if w > 1 => {
                let wd = flonum_to_digits_relative(
                    x,
                    (w - 1 + if scale < 0 { scale } else { 0 }).max(1),
                );
                let fd = flonum_to_digits(x, Some(-(fmin + scale)));
                if wd.1.len() >= fd.1.len() {
                    wd
                } else {
                    fd
                }
            }
            _ => flonum_to_digits(x, None),
        },
    };
    let e = if x.value == 0.0 { e } else { e + scale };
    let n = digits.len() as i64;
    let mut out = String::new();
    if e > 0 {
        let cut = n.min(e) as usize;
        out.push_str(&digits[..cut]);
        for _ in 0..(e - n).max(0) {
            out.push('0');
        }
        out.push('.');
        out.push_str(&digits[cut..]);
        if let Some(fd) = fdigits {
            for _ in 0..(fd - (n - cut as i64)).max(0) {
                out.push('0');
            }
        }
    } else {
        out.push('.');
        for _ in 0..(-e) {
            out.push('0');
        }
        let end = match fdigits {
            Some(fd) => (n.min(fd + e)).max(0) as usize,
            None => n as usize,
        };
        out.push_str(&digits[..end]);
        if let Some(fd) = fdigits {
            for _ in 0..(fd + e - n).max(0) {
                out.push('0');
            }
        }
    }
    let lpoint = out.starts_with('.');
    let tpoint = out.ends_with('.');
    let point = out.find('.').unwrap_or(0);
    (out, lpoint, tpoint, point)
}

/// FLONUM-TO-DIGITS with a relative position (significant digits).
fn flonum_to_digits_relative(x: Flonum, digits: i64) -> (i64, String) {
    // SBCL finds k̂ (the exponent of the leading digit) and turns the
    // relative position into an absolute one, rounding as it goes.
    let (free_k, _) = flonum_to_digits(x, None);
    let exact = exact_rational(x);
    let mut k = free_k;
    // Adjust k so that 10^(k-1) <= |x| < 10^k (k̂ of the paper).
    let ten = num_rational::BigRational::from_integer(BigInt::from(10));
    let pow10 = |e: i64| -> num_rational::BigRational {
        if e >= 0 {
            num_rational::BigRational::from_integer(pow(10, e))
        } else {
            num_rational::BigRational::new(BigInt::one(), pow(10, -e))
        }
    };
    while exact >= pow10(k) {
        k += 1;
    }
    while k > -400 && exact < pow10(k - 1) {
        k -= 1;
    }
    let _ = ten;
    let half = pow10(k - digits) / num_rational::BigRational::from_integer(BigInt::from(2));
    let position = if &exact + half < pow10(k) {
        k - digits
    } else {
        k - digits - 1
    };
    flonum_to_digits(x, Some(position))
}

fn exact_rational(x: Flonum) -> num_rational::BigRational {
    let (f, e) = x.integer_decode();
    if e >= 0 {
        num_rational::BigRational::from_integer(f << e as usize)
    } else {
        num_rational::BigRational::new(f, BigInt::one() << (-e) as usize)
    }
}

/// SCALE-EXPONENT: (fraction in [0.1, 1) as a float of x's format,
/// exponent), computed in double floats exactly as SBCL does.
pub fn scale_exponent(x: Flonum) -> (Flonum, i64) {
    let v = x.value.abs();
    if v == 0.0 {
        return (x.with(0.0), 1);
    }
    let (_, exponent) = frexp(v);
    let ex = (exponent as f64 * std::f64::consts::LOG10_2).round() as i64;
    let mut y = if ex < 0 {
        if v < f64::MIN_POSITIVE {
            v * 1.0e16 * intexp(10.0, -ex - 16)
        } else {
            v * 10.0 * intexp(10.0, -ex - 1)
        }
    } else {
        v / 10.0 / intexp(10.0, ex - 1)
    };
    let base = y;
    let mut ex = ex;
    let mut d = 10.0f64;
    while y >= 1.0 {
        y = base / d;
        d *= 10.0;
        ex += 1;
    }
    let mut z = y;
    let mut m = 10.0f64;
    let start = y;
    while z < 0.1 {
        z = start * m;
        m *= 10.0;
        ex -= 1;
    }
    (x.with(z), ex)
}

/// EXPT of a double to an integer power as SBCL computes it: libm pow.
fn intexp(base: f64, power: i64) -> f64 {
    base.powf(power as f64)
}

fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 {
        return (0.0, 0);
    }
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i32;
    if e == 0 {
        let (m, e2) = frexp(x * (1u64 << 54) as f64);
        return (m, e2 - 54);
    }
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, e - 1022)
}

/// Parameters of ~F, ~E, ~G.
#[derive(Default, Clone, Copy)]
pub struct FloatParams {
    /// Field width.
    pub w: Option<i64>,
    /// Digits after the point.
    pub d: Option<i64>,
    /// Exponent digits (~E, ~G).
    pub e: Option<i64>,
    /// Scale factor.
    pub k: Option<i64>,
    /// Overflow character.
    pub ovf: Option<char>,
    /// Pad character.
    pub pad: char,
    /// Exponent marker.
    pub marker: Option<char>,
    /// @: always print the sign.
    pub at: bool,
}

/// ~F.
pub fn format_fixed(x: Flonum, p: &FloatParams) -> String {
    if !x.value.is_finite() {
        return crate::number::float_string(x.value, x.single, true);
    }
    let neg = x.value.is_sign_negative();
    let mut spaceleft = p.w;
    if let Some(w) = spaceleft.as_mut() {
        if p.at || neg {
            *w -= 1;
        }
    }
    let k = p.k.unwrap_or(0);
    let (s, lpoint, mut tpoint, _) = flonum_to_string(x.with(x.value.abs()), spaceleft, p.d, k, 0);
    if p.d == Some(0) {
        tpoint = false;
    }
    lay_out(p, spaceleft, neg, &s, lpoint, tpoint).unwrap_or_else(|overflow| overflow)
}

/// The common tail of ~F and ~E: padding, sign, and the digits with their
/// optional leading and trailing zero, fitted into the field width. Err
/// holds the overflow fill when the field is too narrow and an overflow
/// character was given.
fn lay_out(
    p: &FloatParams,
    mut spaceleft: Option<i64>,
    neg: bool,
    digits: &str,
    mut lpoint: bool,
    tpoint: bool,
) -> Result<String, String> {
    if let Some(w) = spaceleft.as_mut() {
        *w -= digits.chars().count() as i64;
        if lpoint {
            if *w > 0 || tpoint {
                *w -= 1;
            } else {
                lpoint = false;
            }
        }
        if tpoint {
            *w -= 1;
        }
    }
    if let (Some(w), Some(ovf), Some(left)) = (p.w, p.ovf, spaceleft) {
        if left < 0 {
            return Err(std::iter::repeat_n(ovf, w as usize).collect());
        }
    }
    let mut out = String::new();
    if let Some(left) = spaceleft {
        out.extend(std::iter::repeat_n(p.pad, left.max(0) as usize));
    }
    if neg {
        out.push('-');
    } else if p.at {
        out.push('+');
    }
    if lpoint {
        out.push('0');
    }
    out.push_str(digits);
    if tpoint {
        out.push('0');
    }
    Ok(out)
}

/// ~E.
pub fn format_exp(x: Flonum, p: &FloatParams) -> String {
    if !x.value.is_finite() {
        return crate::number::float_string(x.value, x.single, true);
    }
    let neg = x.value.is_sign_negative();
    let (num, expt) = scale_exponent(x);
    let k0 = p.k.unwrap_or(1);
    let k = if num.value == 1.0 { k0 - 1 } else { k0 };
    let expt = expt - k;
    let estr = expt.abs().to_string();
    let elen = match p.e {
        Some(e) => (estr.len() as i64).max(e),
        None => estr.len() as i64,
    };
    let spaceleft = p.w.map(|w| w - 2 - elen - if p.at || neg { 1 } else { 0 });
    if let (Some(w), Some(ovf), Some(e)) = (p.w, p.ovf, p.e) {
        if elen > e {
            return std::iter::repeat_n(ovf, w as usize).collect();
        }
    }
    let fdig = p.d.map(|d| if k > 0 { d - k + 1 } else { d });
    let fmin = if k < 0 { 1 } else { 0 };
    let (fstr, lpoint, mut tpoint, _) = flonum_to_string(num, spaceleft, fdig, k, fmin);
    if p.d == Some(0) {
        tpoint = false;
    }
    let mut out = match lay_out(p, spaceleft, neg, &fstr, lpoint, tpoint) {
        Ok(out) => out,
        Err(overflow) => return overflow,
    };
    out.push(p.marker.unwrap_or(if x.single { 'e' } else { 'd' }));
    out.push(if expt < 0 { '-' } else { '+' });
    if let Some(e) = p.e {
        for _ in 0..(e - estr.len() as i64).max(0) {
            out.push('0');
        }
    }
    out.push_str(&estr);
    out
}

/// ~G.
pub fn format_general(x: Flonum, p: &FloatParams) -> String {
    if !x.value.is_finite() {
        return crate::number::float_string(x.value, x.single, true);
    }
    let (_, n) = scale_exponent(x);
    let d = match p.d {
        Some(d) => d,
        None => {
            let (s, ..) = flonum_to_string(x.with(x.value.abs()), None, None, 0, 0);
            let len = s.chars().count() as i64;
            let q = if len == 1 { 1 } else { len - 1 };
            q.max(n.min(7))
        }
    };
    let ee = p.e.map(|e| e + 2).unwrap_or(4);
    let ww = p.w.map(|w| w - ee);
    let dd = d - n;
    if 0 <= dd && dd <= d {
        let fixed = FloatParams {
            w: ww,
            d: Some(dd),
            k: None,
            ..*p
        };
        let body = format_fixed(x, &fixed);
        let overflowed = p.ovf.is_some() && ww.is_some_and(|w| body.chars().count() as i64 > w);
        let fill = if overflowed {
            p.ovf.unwrap_or(' ')
        } else {
            ' '
        };
        let mut out = body;
        out.extend(std::iter::repeat_n(fill, ee as usize));
        out
    } else {
        let exp = FloatParams {
            d: Some(d),
            k: Some(p.k.unwrap_or(1)),
            ..*p
        };
        format_exp(x, &exp)
    }
}

/// ~$ (d digits after the point, at least n before, width w).
pub fn format_dollars(
    x: Flonum,
    d: i64,
    n: i64,
    w: i64,
    pad: char,
    colon: bool,
    at: bool,
) -> String {
    if !x.value.is_finite() {
        return crate::number::float_string(x.value, x.single, true);
    }
    let sign = if x.value.is_sign_negative() {
        "-"
    } else if at {
        "+"
    } else {
        ""
    };
    let (s, _, _, point) = flonum_to_string(x.with(x.value.abs()), None, Some(d), 0, 0);
    let point = point as i64;
    let mut out = String::new();
    if colon {
        out.push_str(sign);
    }
    let padding = w - sign.len() as i64 - n.max(point) - 1 - d;
    out.extend(std::iter::repeat_n(pad, padding.max(0) as usize));
    if !colon {
        out.push_str(sign);
    }
    for _ in 0..(n - point).max(0) {
        out.push('0');
    }
    out.push_str(&s);
    out
}

/// Shortest digits of a float (free-format), for the printer.
pub fn shortest_digits(value: f64, single: bool) -> (String, i32) {
    let (k, digits) = flonum_to_digits(Flonum { value, single }, None);
    (digits, k as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(v: f32) -> Flonum {
        Flonum {
            value: v as f64,
            single: true,
        }
    }

    #[test]
    fn free_format_digits_are_shortest() {
        assert_eq!(flonum_to_digits(single(1.5), None), (1, "15".into()));
        assert_eq!(flonum_to_digits(single(0.1), None), (0, "1".into()));
        assert_eq!(
            flonum_to_digits(
                Flonum {
                    value: 123.456,
                    single: false
                },
                None
            ),
            (3, "123456".into())
        );
    }

    #[test]
    fn fixed_rounds_at_the_position_like_sbcl() {
        let p = FloatParams {
            d: Some(0),
            pad: ' ',
            ..Default::default()
        };
        assert_eq!(format_fixed(single(2.5), &p), "3.");
        let p = FloatParams {
            d: Some(2),
            pad: ' ',
            ..Default::default()
        };
        assert_eq!(format_fixed(single(1.23456), &p), "1.23");
    }

    #[test]
    fn general_chooses_fixed_or_exponent() {
        let p = FloatParams {
            pad: ' ',
            ..Default::default()
        };
        assert_eq!(format_general(single(1e-4), &p), "1.0000e-4");
        assert_eq!(format_general(single(0.5), &p), "0.5    ");
    }
}
