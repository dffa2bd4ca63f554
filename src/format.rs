//! FORMAT: control strings are parsed once into directive trees (cached
//! by their text) and interpreted against the arguments.

use crate::conditions as cond;
use crate::ctx::{Ctx, Exit, R};
use crate::eval::apply;
use crate::float_format::{self, FloatParams, Flonum};
use crate::number;
use crate::printer::pretty::{IndentKind, NewlineKind, PrettyState};
use crate::printer::{Opts, Printer};
use crate::value::Value;
use hashbrown::HashMap;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Clone, Debug)]
enum Param {
    None,
    Int(i64),
    Char(char),
    V,
    Hash,
}

#[derive(Clone, Debug)]
struct Directive {
    ch: char,
    params: Vec<Param>,
    colon: bool,
    at: bool,
    /// Clauses of ~[ ~{ ~( ~<, separated by ~;.
    clauses: Vec<Vec<Item>>,
    /// Which separators had a colon (~:;).
    sep_colon: Vec<bool>,
    /// Which separators had an at-sign (~@; makes a per-line prefix).
    sep_at: Vec<bool>,
    /// Modifiers of the closing directive (~:} ~:>).
    close_colon: bool,
    close_at: bool,
    /// The function name of ~/name/.
    fname: String,
    /// Separator directive ~; params (for ~< fill padding).
    sep_params: Vec<Vec<Param>>,
}

#[derive(Clone, Debug)]
enum Item {
    Text(String),
    Dir(Box<Directive>),
}

type Parsed = Rc<Vec<Item>>;

thread_local! {
    static CACHE: RefCell<HashMap<String, Parsed>> = RefCell::new(HashMap::new());
}

struct Parser<'s> {
    s: &'s [char],
    i: usize,
}

fn err_at(msg: &str, s: &[char], i: usize) -> String {
    let text: String = s.iter().collect();
    format!(
        "error in FORMAT: {}\n  {}\n  {}^",
        msg,
        text,
        " ".repeat(i.min(s.len()))
    )
}

impl<'s> Parser<'s> {
    /// Parse items until one of `stops` (returned with its directive).
    fn items(&mut self, stops: &[char]) -> Result<(Vec<Item>, Option<Directive>), String> {
        let mut items = Vec::new();
        let mut text = String::new();
        while self.i < self.s.len() {
            let c = self.s[self.i];
            if c != '~' {
                text.push(c);
                self.i += 1;
                continue;
            }
            let start = self.i;
            self.i += 1;
            let mut params = Vec::new();
            loop {
                let Some(&c) = self.s.get(self.i) else {
                    return Err(err_at("string ended within directive", self.s, start));
                };
                if c == '\'' {
                    let ch = *self
                        .s
                        .get(self.i + 1)
                        .ok_or_else(|| err_at("string ended within directive", self.s, start))?;
                    params.push(Param::Char(ch));
                    self.i += 2;
                } else if c == 'v' || c == 'V' {
                    params.push(Param::V);
                    self.i += 1;
                } else if c == '#' {
                    params.push(Param::Hash);
                    self.i += 1;
                } else if c.is_ascii_digit()
                    || ((c == '-' || c == '+')
                        && self.s.get(self.i + 1).is_some_and(|d| d.is_ascii_digit()))
                {
                    let b = self.i;
                    self.i += 1;
                    while self.s.get(self.i).is_some_and(|d| d.is_ascii_digit()) {
                        self.i += 1;
                    }
                    let t: String = self.s[b..self.i].iter().collect();
                    params.push(Param::Int(
                        t.parse().map_err(|_| err_at("bad number", self.s, b))?,
                    ));
                } else if c == ',' {
                    params.push(Param::None);
                } else {
                    break;
                }
                if self.s.get(self.i) == Some(&',') {
                    self.i += 1;
                    if !matches!(self.s.get(self.i), Some(c) if c.is_ascii_digit() || *c == '\'' || *c == 'v' || *c == 'V' || *c == '#' || *c == '-' || *c == '+' || *c == ',')
                    {
                        params.push(Param::None);
                    }
                    continue;
                }
                break;
            }
            let mut colon = false;
            let mut at = false;
            loop {
                match self.s.get(self.i) {
                    Some(':') => {
                        colon = true;
                        self.i += 1
                    }
                    Some('@') => {
                        at = true;
                        self.i += 1
                    }
                    _ => break,
                }
            }
            let Some(&ch) = self.s.get(self.i) else {
                return Err(err_at("string ended within directive", self.s, start));
            };
            self.i += 1;
            let up = ch.to_ascii_uppercase();
            let mut d = Directive {
                ch: up,
                params,
                colon,
                at,
                clauses: Vec::new(),
                sep_colon: Vec::new(),
                sep_at: Vec::new(),
                close_colon: false,
                close_at: false,
                fname: String::new(),
                sep_params: Vec::new(),
            };
            if stops.contains(&up) {
                if !text.is_empty() {
                    items.push(Item::Text(std::mem::take(&mut text)));
                }
                return Ok((items, Some(d)));
            }
            match up {
                '\n' => {
                    // Tilde-newline: skip following whitespace unless ~:.
                    if at {
                        text.push('\n');
                    }
                    if !colon {
                        while self.s.get(self.i).is_some_and(|c| *c == ' ' || *c == '\t') {
                            self.i += 1;
                        }
                    }
                    continue;
                }
                '[' | '{' | '(' | '<' => {
                    let close = match up {
                        '[' => ']',
                        '{' => '}',
                        '(' => ')',
                        _ => '>',
                    };
                    // Only ~[ and ~< have clauses; a ~; in ~{ or ~( is an error.
                    let stops: &[char] = if matches!(up, '[' | '<') {
                        &[';', close]
                    } else {
                        &[close]
                    };
                    loop {
                        let (clause, end) = self.items(stops)?;
                        d.clauses.push(clause);
                        match end {
                            Some(e) if e.ch == ';' => {
                                d.sep_colon.push(e.colon);
                                d.sep_at.push(e.at);
                                d.sep_params.push(e.params.clone());
                            }
                            Some(e) => {
                                d.close_colon = e.colon;
                                d.close_at = e.at;
                                break;
                            }
                            None => {
                                return Err(err_at(
                                    &format!("no matching ~{}", close),
                                    self.s,
                                    start,
                                ))
                            }
                        }
                    }
                }
                '/' => {
                    let b = self.i;
                    while self.s.get(self.i).is_some_and(|c| *c != '/') {
                        self.i += 1;
                    }
                    d.fname = self.s[b..self.i].iter().collect::<String>().to_uppercase();
                    self.i += 1;
                }
                ';' => {
                    return Err(err_at(
                        "~; is allowed only inside ~[...~] or ~<...~>",
                        self.s,
                        start,
                    ));
                }
                ']' | '}' | ')' | '>' => {
                    return Err(err_at(
                        &format!("no matching directive for ~{}", up),
                        self.s,
                        start,
                    ));
                }
                _ => {}
            }
            if !text.is_empty() {
                items.push(Item::Text(std::mem::take(&mut text)));
            }
            items.push(Item::Dir(Box::new(d)));
        }
        if !text.is_empty() {
            items.push(Item::Text(text));
        }
        Ok((items, None))
    }
}

fn parse(ctx: &mut Ctx, control: &str) -> R<Parsed> {
    if let Some(p) = CACHE.with(|c| c.borrow().get(control).cloned()) {
        return Ok(p);
    }
    let chars: Vec<char> = control.chars().collect();
    let mut p = Parser { s: &chars, i: 0 };
    match p.items(&[]) {
        Ok((items, _)) => {
            let rc = Rc::new(items);
            CACHE.with(|c| {
                let mut c = c.borrow_mut();
                if c.len() > 4096 {
                    c.clear();
                }
                c.insert(control.to_string(), rc.clone());
            });
            Ok(rc)
        }
        Err(msg) => Err(cond::format_error(ctx, msg)),
    }
}

/// Where formatted output goes.
struct Out {
    buf: String,
    col: usize,
    pretty: Option<Rc<RefCell<PrettyState>>>,
}

impl Out {
    fn push_str(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        match &self.pretty {
            Some(p) => p.borrow_mut().write_str(s),
            None => {
                self.buf.push_str(s);
                match s.rfind('\n') {
                    Some(i) => self.col = s[i + 1..].chars().count(),
                    None => self.col += s.chars().count(),
                }
            }
        }
    }
    fn push(&mut self, c: char) {
        let mut b = [0u8; 4];
        self.push_str(c.encode_utf8(&mut b));
    }
    fn column(&self) -> usize {
        match &self.pretty {
            Some(p) => p.borrow().column(),
            None => self.col,
        }
    }
}

/// The most digits (or the largest scale factor) a float directive
/// prints: each is a power of ten in bignum arithmetic, so a parameter
/// from input must not ask for millions.
const MAX_FLOAT_DIGITS: i64 = 10_000;

fn digits_param(ctx: &mut Ctx, v: Option<i64>) -> R<Option<i64>> {
    match v {
        Some(n) if n.abs() > MAX_FLOAT_DIGITS => Err(cond::format_error(
            ctx,
            format!(
                "a float directive cannot print {} digits (at most {})",
                n, MAX_FLOAT_DIGITS
            ),
        )),
        v => Ok(v),
    }
}

#[derive(PartialEq, Eq)]
enum Flow {
    Normal,
    /// ~^ : leave the innermost iteration or the whole format.
    Up,
    /// ~:^ : leave the enclosing ~:{ iteration entirely.
    UpAll,
}

struct Args<'a> {
    list: &'a [Value],
    pos: usize,
    /// In a step of ~:{ or ~:@{, whether its sublist is the last one
    /// (what a ~:^ without parameters tests).
    last_sublist: Option<bool>,
}

impl Args<'_> {
    fn next(&mut self, ctx: &mut Ctx) -> R<Value> {
        match self.list.get(self.pos) {
            Some(v) => {
                self.pos += 1;
                Ok(v.clone())
            }
            None => Err(cond::format_error(
                ctx,
                "error in FORMAT: no more arguments".into(),
            )),
        }
    }
    fn remaining(&self) -> usize {
        self.list.len().saturating_sub(self.pos)
    }
}

struct Fmt<'c> {
    ctx: &'c mut Ctx,
    out: Out,
}

/// Largest directive parameter (columns, copies, digits): output is built
/// in memory, so a larger one is a FORMAT error, not an allocation abort.
/// Ten million keeps a 10-byte control string from asking for more than
/// 40 MB (the fuzz target found "~22222222~" spending 115 MB and most of a
/// second).
pub(crate) const MAX_PARAM: i64 = 10_000_000;

fn param_int(ctx: &mut Ctx, p: Option<&Param>, args: &mut Args, default: i64) -> R<i64> {
    let n = param_raw(ctx, p, args, default)?;
    if n.unsigned_abs() > MAX_PARAM as u64 {
        return Err(cond::format_error(
            ctx,
            format!("error in FORMAT: the parameter {n} is too large (at most {MAX_PARAM})"),
        ));
    }
    Ok(n)
}

/// A parameter that counts columns or characters: negative is an error.
fn param_count(ctx: &mut Ctx, p: Option<&Param>, args: &mut Args, default: i64) -> R<usize> {
    let n = param_int(ctx, p, args, default)?;
    if n < 0 {
        return Err(cond::format_error(
            ctx,
            format!("error in FORMAT: the parameter must not be negative, not {n}"),
        ));
    }
    Ok(n as usize)
}

fn param_raw(ctx: &mut Ctx, p: Option<&Param>, args: &mut Args, default: i64) -> R<i64> {
    Ok(match p {
        None | Some(Param::None) => default,
        Some(Param::Int(n)) => *n,
        Some(Param::Char(c)) => return Err(cond::type_error(ctx, Value::Char(*c), "INTEGER")),
        Some(Param::Hash) => args.remaining() as i64,
        Some(Param::V) => match args.next(ctx)? {
            Value::Fixnum(n) => n,
            Value::Nil => default,
            other => return Err(cond::type_error(ctx, other, "INTEGER")),
        },
    })
}

fn param_opt(ctx: &mut Ctx, p: Option<&Param>, args: &mut Args) -> R<Option<i64>> {
    Ok(match p {
        None | Some(Param::None) => None,
        Some(Param::V) => match args.next(ctx)? {
            Value::Nil => None,
            v => {
                let n = Param::Int(fixnum_param(ctx, v)?);
                Some(param_int(ctx, Some(&n), args, 0)?)
            }
        },
        other => Some(param_int(ctx, other, args, 0)?),
    })
}

fn fixnum_param(ctx: &mut Ctx, v: Value) -> R<i64> {
    match v {
        Value::Fixnum(n) => Ok(n),
        other => Err(cond::type_error(ctx, other, "INTEGER")),
    }
}

fn param_char(ctx: &mut Ctx, p: Option<&Param>, args: &mut Args, default: char) -> R<char> {
    Ok(match p {
        None | Some(Param::None) => default,
        Some(Param::Char(c)) => *c,
        Some(Param::V) => match args.next(ctx)? {
            Value::Char(c) => c,
            Value::Nil => default,
            other => return Err(cond::type_error(ctx, other, "CHARACTER")),
        },
        Some(Param::Int(n)) => char::from_u32(*n as u32).unwrap_or(default),
        Some(Param::Hash) => default,
    })
}

fn pad(s: &str, mincol: usize, colinc: usize, minpad: usize, padchar: char, left: bool) -> String {
    let len = s.chars().count();
    let mut padn = minpad;
    if len + padn < mincol {
        let colinc = colinc.max(1);
        let need = mincol - len - padn;
        padn += need.div_ceil(colinc) * colinc;
    }
    let padding: String = std::iter::repeat_n(padchar, padn).collect();
    if left {
        format!("{}{}", padding, s)
    } else {
        format!("{}{}", s, padding)
    }
}

fn group_digits(digits: &str, comma: char, interval: usize) -> String {
    let (sign, d) = if let Some(r) = digits.strip_prefix('-') {
        ("-", r)
    } else {
        ("", digits)
    };
    let chars: Vec<char> = d.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if i > 0 && (chars.len() - i).is_multiple_of(interval.max(1)) {
            out.push(comma);
        }
        out.push(*c);
    }
    format!("{}{}", sign, out)
}

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const ORD_ONES: [&str; 20] = [
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];
const ORD_TENS: [&str; 10] = [
    "",
    "",
    "twentieth",
    "thirtieth",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
];
const SCALES: [&str; 22] = [
    "",
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
    "sextillion",
    "septillion",
    "octillion",
    "nonillion",
    "decillion",
    "undecillion",
    "duodecillion",
    "tredecillion",
    "quattuordecillion",
    "quindecillion",
    "sexdecillion",
    "septendecillion",
    "octodecillion",
    "novemdecillion",
    "vigintillion",
];

fn cardinal_below_1000(n: u64) -> String {
    let mut parts = Vec::new();
    let h = n / 100;
    let r = n % 100;
    if h > 0 {
        parts.push(format!("{} hundred", ONES[h as usize]));
    }
    if r > 0 {
        if r < 20 {
            parts.push(ONES[r as usize].to_string());
        } else if r.is_multiple_of(10) {
            parts.push(TENS[(r / 10) as usize].to_string());
        } else {
            parts.push(format!(
                "{}-{}",
                TENS[(r / 10) as usize],
                ONES[(r % 10) as usize]
            ));
        }
    }
    parts.join(" ")
}

fn cardinal(n: &num_bigint::BigInt) -> String {
    use num_traits::{Signed, ToPrimitive, Zero};
    if n.is_zero() {
        return "zero".into();
    }
    if n.is_negative() {
        return format!("negative {}", cardinal(&-n));
    }
    let mut groups = Vec::new();
    let mut m = n.clone();
    let thousand = num_bigint::BigInt::from(1000);
    while !m.is_zero() {
        groups.push((&m % &thousand).to_u64().unwrap());
        m /= &thousand;
    }
    let mut parts = Vec::new();
    for (i, g) in groups.iter().enumerate().rev() {
        if *g == 0 {
            continue;
        }
        let mut s = cardinal_below_1000(*g);
        if i > 0 {
            s.push(' ');
            s.push_str(SCALES.get(i).copied().unwrap_or("?"));
        }
        parts.push(s);
    }
    parts.join(" ")
}

fn ordinal(n: &num_bigint::BigInt) -> String {
    use num_traits::{Signed, ToPrimitive};
    if n.is_negative() {
        return format!("negative {}", ordinal(&-n));
    }
    let r100 = (n % 100u32).to_u64().unwrap();
    let base = n - num_bigint::BigInt::from(r100);
    let prefix = if base == num_bigint::BigInt::from(0) {
        String::new()
    } else {
        format!("{} ", cardinal(&base))
    };
    let tail = if r100 == 0 {
        // e.g. one hundredth
        let c = cardinal(n);
        return format!("{}th", c);
    } else if r100 < 20 {
        ORD_ONES[r100 as usize].to_string()
    } else if r100.is_multiple_of(10) {
        ORD_TENS[(r100 / 10) as usize].to_string()
    } else {
        format!(
            "{}-{}",
            TENS[(r100 / 10) as usize],
            ORD_ONES[(r100 % 10) as usize]
        )
    };
    format!("{}{}", prefix, tail)
}

fn roman(mut n: i64, old: bool) -> String {
    let table: &[(i64, &str)] = if old {
        &[
            (1000, "M"),
            (500, "D"),
            (100, "C"),
            (50, "L"),
            (10, "X"),
            (5, "V"),
            (1, "I"),
        ]
    } else {
        &[
            (1000, "M"),
            (900, "CM"),
            (500, "D"),
            (400, "CD"),
            (100, "C"),
            (90, "XC"),
            (50, "L"),
            (40, "XL"),
            (10, "X"),
            (9, "IX"),
            (5, "V"),
            (4, "IV"),
            (1, "I"),
        ]
    };
    let mut s = String::new();
    for (v, r) in table {
        while n >= *v {
            s.push_str(r);
            n -= v;
        }
    }
    s
}

/// SBCL's FORMAT-JUSTIFICATION: pad between segments (and on the left
/// with `pad_left`, the right with `pad_right`; a lone segment is
/// right-justified) to MINCOL + k·COLINC columns.
fn justify_segments(
    segs: &[String],
    pad_left: bool,
    pad_right: bool,
    mincol: usize,
    colinc: usize,
    minpad: usize,
    padchar: char,
) -> String {
    let mut num_gaps = segs.len().saturating_sub(1) + pad_left as usize + pad_right as usize;
    let chars = num_gaps * minpad + segs.iter().map(|s| s.chars().count()).sum::<usize>();
    let length = if chars > mincol {
        mincol + (chars - mincol).div_ceil(colinc) * colinc
    } else {
        mincol
    };
    let mut padding = length - chars + num_gaps * minpad;
    let mut out = String::new();
    let mut do_padding = |out: &mut String| {
        let n = padding.checked_div(num_gaps).unwrap_or(padding);
        padding -= n;
        num_gaps = num_gaps.saturating_sub(1);
        out.extend(std::iter::repeat_n(padchar, n));
    };
    if pad_left || (!pad_right && segs.len() == 1) {
        do_padding(&mut out);
    }
    for (i, s) in segs.iter().enumerate() {
        if i > 0 {
            do_padding(&mut out);
        }
        out.push_str(s);
    }
    if pad_right {
        do_padding(&mut out);
    }
    out
}

impl Fmt<'_> {
    fn print(&mut self, v: &Value, escape: bool) -> R<String> {
        let mut o = if escape { Opts::prin1() } else { Opts::princ() };
        if let Some(p) = self.out.pretty.clone() {
            o.pretty = true;
            let mut pr = Printer::into_pretty(Some(self.ctx), o, p);
            pr.print(v);
            pr.check()?;
            return Ok(String::new());
        }
        let col = self.out.column();
        let mut pr = Printer::new(Some(self.ctx), o, col);
        pr.print(v);
        pr.finish_checked()
    }

    fn emit_obj(&mut self, v: &Value, escape: bool) -> R<()> {
        let s = self.print(v, escape)?;
        self.out.push_str(&s);
        Ok(())
    }

    fn run(&mut self, items: &[Item], args: &mut Args) -> R<Flow> {
        for it in items {
            match it {
                Item::Text(t) => self.out.push_str(t),
                Item::Dir(d) => {
                    let f = self.directive(d, args)?;
                    if !matches!(f, Flow::Normal) {
                        return Ok(f);
                    }
                }
            }
        }
        Ok(Flow::Normal)
    }

    fn integer_dir(&mut self, d: &Directive, args: &mut Args, base: u32) -> R<()> {
        let mincol = param_count(self.ctx, d.params.first(), args, 0)?;
        let padchar = param_char(self.ctx, d.params.get(1), args, ' ')?;
        let comma = param_char(self.ctx, d.params.get(2), args, ',')?;
        let interval = param_count(self.ctx, d.params.get(3), args, 3)?;
        let v = args.next(self.ctx)?;
        let s = if v.is_integer() {
            let mut digits = number::integer_string(&v, base);
            if d.colon {
                digits = group_digits(&digits, comma, interval);
            }
            if d.at && !digits.starts_with('-') {
                digits.insert(0, '+');
            }
            digits
        } else {
            // Non-integers print as with ~A in the given base.
            let mut o = Opts::princ();
            o.base = base;
            o.radix = false;
            crate::printer::to_string_ctx(self.ctx, &v, o)?
        };
        self.out.push_str(&pad(&s, mincol, 1, 0, padchar, true));
        Ok(())
    }

    /// A real argument as a float; rationals become single floats, as in
    /// SBCL's FORMAT.
    fn float_arg(&mut self, v: &Value) -> Option<Flonum> {
        match v {
            Value::Single(f) => Some(Flonum {
                value: *f as f64,
                single: true,
            }),
            Value::Double(f) => Some(Flonum {
                value: *f,
                single: false,
            }),
            v if v.is_real() => number::to_f64(v).map(|f| Flonum {
                value: f as f32 as f64,
                single: true,
            }),
            _ => None,
        }
    }

    fn directive(&mut self, d: &Directive, args: &mut Args) -> R<Flow> {
        match d.ch {
            'A' | 'S' => {
                let mincol = param_count(self.ctx, d.params.first(), args, 0)?;
                let colinc = param_count(self.ctx, d.params.get(1), args, 1)?;
                let minpad = param_count(self.ctx, d.params.get(2), args, 0)?;
                let padchar = param_char(self.ctx, d.params.get(3), args, ' ')?;
                let v = args.next(self.ctx)?;
                if d.params.is_empty() && !(d.colon && v.is_nil()) {
                    return self.emit_obj(&v, d.ch == 'S').map(|_| Flow::Normal);
                }
                let s = if d.colon && v.is_nil() {
                    "()".to_string()
                } else {
                    let mut o = if d.ch == 'S' {
                        Opts::prin1()
                    } else {
                        Opts::princ()
                    };
                    o.pretty = o.pretty && self.out.pretty.is_none();
                    crate::printer::to_string_ctx(self.ctx, &v, o)?
                };
                self.out
                    .push_str(&pad(&s, mincol, colinc, minpad, padchar, d.at));
            }
            'W' => {
                let v = args.next(self.ctx)?;
                let mut o = Opts::current();
                if d.colon {
                    o.pretty = true;
                }
                if d.at {
                    o.level = None;
                    o.length = None;
                }
                match self.out.pretty.clone() {
                    Some(p) => {
                        let mut pr = Printer::into_pretty(Some(self.ctx), o, p);
                        pr.print(&v);
                        pr.check()?;
                    }
                    None => {
                        let col = self.out.column();
                        let mut pr = Printer::new(Some(self.ctx), o, col);
                        pr.print(&v);
                        let s = pr.finish_checked()?;
                        self.out.push_str(&s);
                    }
                }
            }
            'D' => self.integer_dir(d, args, 10)?,
            'B' => self.integer_dir(d, args, 2)?,
            'O' => self.integer_dir(d, args, 8)?,
            'X' => self.integer_dir(d, args, 16)?,
            'R' => {
                if !d.params.is_empty() && !matches!(d.params[0], Param::None) {
                    let base = param_int(self.ctx, d.params.first(), args, 10)?;
                    if !(2..=36).contains(&base) {
                        return Err(cond::format_error(
                            self.ctx,
                            format!("the radix of ~R must be between 2 and 36, not {}", base),
                        ));
                    }
                    let base = base as u32;
                    let rest = Directive {
                        params: d.params[1..].to_vec(),
                        ..d.clone()
                    };
                    self.integer_dir(&rest, args, base)?;
                } else {
                    let v = args.next(self.ctx)?;
                    let Some(n) = number::to_bigint(&v) else {
                        return Err(cond::type_error(self.ctx, v, "INTEGER"));
                    };
                    let s = if d.at {
                        use num_traits::ToPrimitive;
                        let n = n.to_i64().unwrap_or(0);
                        if !(1..4000).contains(&n) && !d.colon {
                            return Err(cond::format_error(
                                self.ctx,
                                format!("Number too large to print in Roman numerals: {}", n),
                            ));
                        }
                        roman(n, d.colon)
                    } else if d.colon {
                        ordinal(&n)
                    } else {
                        cardinal(&n)
                    };
                    self.out.push_str(&s);
                }
            }
            'C' => {
                let v = args.next(self.ctx)?;
                let Value::Char(c) = v else {
                    return Err(cond::type_error(self.ctx, v, "CHARACTER"));
                };
                if d.at {
                    let mut o = Opts::prin1();
                    o.pretty = false;
                    let s = crate::printer::to_string_with(&Value::Char(c), o);
                    self.out.push_str(&s);
                } else if d.colon {
                    let s = if crate::chars::is_graphic(c) && c != ' ' {
                        c.to_string()
                    } else {
                        crate::chars::char_name(c).unwrap_or_else(|| c.to_string())
                    };
                    self.out.push_str(&s);
                } else {
                    self.out.push(c);
                }
            }
            'F' | 'E' | 'G' => {
                // ~w,d,k,ovf,padF and ~w,d,e,k,ovf,pad,markerE/G
                let is_f = d.ch == 'F';
                let w = param_opt(self.ctx, d.params.first(), args)?;
                let dd = param_opt(self.ctx, d.params.get(1), args)?;
                let (e, rest) = if is_f {
                    (None, 2)
                } else {
                    (param_opt(self.ctx, d.params.get(2), args)?, 3)
                };
                let k = param_opt(self.ctx, d.params.get(rest), args)?;
                let ovf = match d.params.get(rest + 1) {
                    None | Some(Param::None) => None,
                    p => Some(param_char(self.ctx, p, args, '*')?),
                };
                let padchar = param_char(self.ctx, d.params.get(rest + 2), args, ' ')?;
                let marker = match d.params.get(rest + 3) {
                    None | Some(Param::None) => None,
                    p if !is_f => Some(param_char(self.ctx, p, args, 'e')?),
                    _ => None,
                };
                let v = args.next(self.ctx)?;
                let Some(x) = self.float_arg(&v) else {
                    let s = crate::printer::to_string_ctx(self.ctx, &v, Opts::princ())?;
                    self.out
                        .push_str(&pad(&s, w.unwrap_or(0).max(0) as usize, 1, 0, ' ', true));
                    return Ok(Flow::Normal);
                };
                let p = FloatParams {
                    w,
                    d: digits_param(self.ctx, dd)?,
                    e: digits_param(self.ctx, e)?,
                    k: digits_param(self.ctx, k)?,
                    ovf,
                    pad: padchar,
                    marker,
                    at: d.at,
                };
                let s = match d.ch {
                    'F' => float_format::format_fixed(x, &p),
                    'E' => float_format::format_exp(x, &p),
                    _ => float_format::format_general(x, &p),
                };
                self.out.push_str(&s);
            }
            '$' => {
                let dd = param_int(self.ctx, d.params.first(), args, 2)?;
                let dd = digits_param(self.ctx, Some(dd))?.unwrap_or(2);
                let n = param_int(self.ctx, d.params.get(1), args, 1)?;
                let n = digits_param(self.ctx, Some(n))?.unwrap_or(1);
                let w = param_int(self.ctx, d.params.get(2), args, 0)?;
                let padchar = param_char(self.ctx, d.params.get(3), args, ' ')?;
                let v = args.next(self.ctx)?;
                let Some(x) = self.float_arg(&v) else {
                    let s = crate::printer::to_string_ctx(self.ctx, &v, Opts::princ())?;
                    self.out
                        .push_str(&pad(&s, w.max(0) as usize, 1, 0, ' ', true));
                    return Ok(Flow::Normal);
                };
                self.out.push_str(&float_format::format_dollars(
                    x, dd, n, w, padchar, d.colon, d.at,
                ));
            }
            'P' => {
                let v = if d.colon {
                    if args.pos == 0 {
                        return Err(cond::format_error(
                            self.ctx,
                            "error in FORMAT: no previous argument".into(),
                        ));
                    }
                    args.list[args.pos - 1].clone()
                } else {
                    args.next(self.ctx)?
                };
                let one = v.eql(&Value::Fixnum(1));
                self.out.push_str(if d.at {
                    if one {
                        "y"
                    } else {
                        "ies"
                    }
                } else if one {
                    ""
                } else {
                    "s"
                });
            }
            '%' => {
                let n = param_int(self.ctx, d.params.first(), args, 1)?;
                for _ in 0..n {
                    self.newline();
                }
            }
            '&' => {
                let n = param_int(self.ctx, d.params.first(), args, 1)?;
                if n > 0 {
                    if self.out.column() != 0 {
                        self.newline();
                    }
                    for _ in 1..n {
                        self.newline();
                    }
                }
            }
            '|' => {
                let n = param_int(self.ctx, d.params.first(), args, 1)?;
                for _ in 0..n {
                    self.out.push('\x0c');
                }
            }
            '~' => {
                let n = param_int(self.ctx, d.params.first(), args, 1)?;
                for _ in 0..n {
                    self.out.push('~');
                }
            }
            'T' => {
                let colnum = param_count(self.ctx, d.params.first(), args, 1)?;
                let colinc = param_count(self.ctx, d.params.get(1), args, 1)?;
                if let Some(p) = self.out.pretty.clone() {
                    let kind = match (d.colon, d.at) {
                        (true, true) => crate::printer::pretty::TabKind::SectionRelative,
                        (true, false) => crate::printer::pretty::TabKind::Section,
                        (false, true) => crate::printer::pretty::TabKind::LineRelative,
                        _ => crate::printer::pretty::TabKind::Line,
                    };
                    p.borrow_mut().tab(kind, colnum, colinc);
                    return Ok(Flow::Normal);
                }
                let col = self.out.column();
                let n = if d.at {
                    let mut n = colnum;
                    if colinc > 1 {
                        let r = (col + n) % colinc;
                        if r != 0 {
                            n += colinc - r;
                        }
                    }
                    n
                } else if col < colnum {
                    colnum - col
                } else if colinc == 0 {
                    0
                } else {
                    colinc - ((col - colnum) % colinc)
                };
                self.out.push_str(&" ".repeat(n));
            }
            '*' => {
                if d.at {
                    let n = param_count(self.ctx, d.params.first(), args, 0)?;
                    if n > args.list.len() {
                        return Err(cond::format_error(
                            self.ctx,
                            "error in FORMAT: index out of range for ~@*".into(),
                        ));
                    }
                    args.pos = n;
                } else if d.colon {
                    let n = param_count(self.ctx, d.params.first(), args, 1)?;
                    if n > args.pos {
                        return Err(cond::format_error(
                            self.ctx,
                            "error in FORMAT: no previous argument".into(),
                        ));
                    }
                    args.pos -= n;
                } else {
                    let n = param_int(self.ctx, d.params.first(), args, 1)?;
                    for _ in 0..n {
                        args.next(self.ctx)?;
                    }
                }
            }
            '?' => {
                let control = args.next(self.ctx)?;
                if let Value::Function(_) = control {
                    // A function made by FORMATTER is a format control too.
                    if d.at {
                        let used = self.call_formatter(
                            &control,
                            &args.list[args.pos.min(args.list.len())..],
                        )?;
                        args.pos += used;
                    } else {
                        let list = args.next(self.ctx)?;
                        let sub = super::builtins::list_items(self.ctx, &list)?;
                        self.call_formatter(&control, &sub)?;
                    }
                } else if d.at {
                    let items = self.control_items(&control)?;
                    let f = self.run(&items, args)?;
                    if matches!(f, Flow::UpAll) {
                        return Ok(f);
                    }
                } else {
                    let list = args.next(self.ctx)?;
                    let sub = super::builtins::list_items(self.ctx, &list)?;
                    let items = self.control_items(&control)?;
                    let mut a2 = Args {
                        list: &sub,
                        pos: 0,
                        last_sublist: None,
                    };
                    self.run(&items, &mut a2)?;
                }
            }
            '(' => {
                let body = &d.clauses[0];
                let saved = std::mem::replace(
                    &mut self.out,
                    Out {
                        buf: String::new(),
                        col: 0,
                        pretty: None,
                    },
                );
                self.out.col = saved.column();
                let f = self.run(body, args);
                let inner = std::mem::replace(&mut self.out, saved);
                let text = inner.buf;
                let conv = match (d.colon, d.at) {
                    (false, false) => text.to_lowercase(),
                    (true, true) => text.to_uppercase(),
                    (true, false) => capitalize_words(&text, false),
                    (false, true) => capitalize_words(&text, true),
                };
                self.out.push_str(&conv);
                let f = f?;
                if !matches!(f, Flow::Normal) {
                    return Ok(f);
                }
            }
            '[' => return self.conditional(d, args),
            '{' => return self.iteration(d, args),
            '<' => return self.justify(d, args),
            '^' => {
                let p: Vec<Option<i64>> = {
                    let mut v = Vec::new();
                    for i in 0..d.params.len() {
                        v.push(param_opt(self.ctx, d.params.get(i), args)?);
                    }
                    v
                };
                let exit = match p.as_slice() {
                    [] if d.colon && args.last_sublist.is_some() => args.last_sublist == Some(true),
                    [] => args.remaining() == 0,
                    [Some(a)] => *a == 0,
                    [Some(a), Some(b)] => a == b,
                    [Some(a), Some(b), Some(c)] => a <= b && b <= c,
                    _ => args.remaining() == 0,
                };
                if exit {
                    return Ok(if d.colon { Flow::UpAll } else { Flow::Up });
                }
            }
            '_' => {
                if let Some(p) = &self.out.pretty {
                    let kind = match (d.colon, d.at) {
                        (true, true) => NewlineKind::Mandatory,
                        (true, false) => NewlineKind::Fill,
                        (false, true) => NewlineKind::Miser,
                        _ => NewlineKind::Linear,
                    };
                    p.borrow_mut().newline(kind);
                }
            }
            'I' => {
                let n = param_int(self.ctx, d.params.first(), args, 0)?;
                if let Some(p) = &self.out.pretty {
                    p.borrow_mut().indent(
                        if d.colon {
                            IndentKind::Current
                        } else {
                            IndentKind::Block
                        },
                        n,
                    );
                }
            }
            '/' => {
                let v = args.next(self.ctx)?;
                let name = if d.fname.contains(':') {
                    d.fname.clone()
                } else {
                    format!("COMMON-LISP-USER::{}", d.fname)
                };
                let f = crate::reader::read_symbol_name(&name);
                let stream = self.sub_stream();
                let mut call = vec![stream.clone(), v, Value::bool(d.colon), Value::bool(d.at)];
                for i in 0..d.params.len() {
                    call.push(match param_opt(self.ctx, d.params.get(i), args)? {
                        Some(n) => Value::int(n),
                        None => Value::Nil,
                    });
                }
                apply(self.ctx, &f, &call)?;
                self.finish_sub_stream(&stream);
            }
            other => {
                return Err(cond::format_error(
                    self.ctx,
                    format!("error in FORMAT: unknown directive ~{}", other),
                ));
            }
        }
        Ok(Flow::Normal)
    }

    fn newline(&mut self) {
        match &self.out.pretty {
            Some(p) => p.borrow_mut().newline(NewlineKind::Literal),
            None => self.out.push('\n'),
        }
    }

    fn sub_stream(&mut self) -> Value {
        match &self.out.pretty {
            Some(p) => {
                crate::stream::Stream::new(crate::stream::StreamKind::Pretty(p.clone()), "STREAM")
                    .into_value()
            }
            None => crate::stream::make_string_output(),
        }
    }

    fn finish_sub_stream(&mut self, s: &Value) {
        if self.out.pretty.is_none() {
            if let Value::Stream(st) = s {
                let text = crate::stream::take_string_output(st).unwrap_or_default();
                self.out.push_str(&text);
            }
        }
    }

    /// Call a function made by FORMATTER on `args` with output to a
    /// string, add that output, and return how many arguments it used
    /// (those before the tail it returned).
    fn call_formatter(&mut self, f: &Value, args: &[Value]) -> R<usize> {
        let s = crate::stream::make_string_output();
        let mut call = vec![s.clone()];
        call.extend_from_slice(args);
        let unused = apply(self.ctx, f, &call)?;
        if let Value::Stream(st) = &s {
            let text = crate::stream::take_string_output(st).unwrap_or_default();
            self.out.push_str(&text);
        }
        let left = unused.list_length().unwrap_or(0).min(args.len());
        Ok(args.len() - left)
    }

    fn control_items(&mut self, control: &Value) -> R<Parsed> {
        match control {
            v if v.is_string() => {
                let s = crate::array::string_of(v).unwrap();
                parse(self.ctx, &s)
            }
            other => Err(cond::type_error(self.ctx, other.clone(), "STRING")),
        }
    }

    fn conditional(&mut self, d: &Directive, args: &mut Args) -> R<Flow> {
        if d.colon {
            let v = args.next(self.ctx)?;
            let idx = if v.truthy() { 1 } else { 0 };
            if let Some(c) = d.clauses.get(idx) {
                return self.run(c, args);
            }
            return Ok(Flow::Normal);
        }
        if d.at {
            let v = args.list.get(args.pos).cloned().unwrap_or(Value::Nil);
            if v.truthy() {
                return self.run(&d.clauses[0], args);
            }
            args.next(self.ctx)?;
            return Ok(Flow::Normal);
        }
        let n = match d.params.first() {
            Some(p) if !matches!(p, Param::None) => param_int(self.ctx, Some(p), args, 0)?,
            _ => match args.next(self.ctx)? {
                Value::Fixnum(n) => n,
                other => return Err(cond::type_error(self.ctx, other, "INTEGER")),
            },
        };
        let default = d.sep_colon.last().copied().unwrap_or(false);
        let clause = if n >= 0
            && (n as usize) < d.clauses.len()
            && !(default && n as usize == d.clauses.len() - 1)
        {
            Some(&d.clauses[n as usize])
        } else if default {
            d.clauses.last()
        } else {
            None
        };
        match clause {
            Some(c) => self.run(c, args),
            None => Ok(Flow::Normal),
        }
    }

    fn iteration(&mut self, d: &Directive, args: &mut Args) -> R<Flow> {
        let max = param_opt(self.ctx, d.params.first(), args)?;
        let mut body = d.clauses[0].clone();
        if body.is_empty() {
            let c = args.next(self.ctx)?;
            body = self.control_items(&c)?.to_vec();
        }
        let at_least_once = d.close_colon;
        let mut count = 0i64;
        if d.at {
            // Iterate over the remaining arguments.
            loop {
                if max.is_some_and(|m| count >= m) {
                    break;
                }
                if args.remaining() == 0 && !(at_least_once && count == 0) {
                    break;
                }
                count += 1;
                if d.colon {
                    let sub = args.next(self.ctx)?;
                    let items = super::builtins::list_items(self.ctx, &sub)?;
                    let mut a2 = Args {
                        list: &items,
                        pos: 0,
                        last_sublist: Some(args.remaining() == 0),
                    };
                    if let Flow::UpAll = self.run(&body, &mut a2)? {
                        break;
                    }
                } else {
                    let before = args.pos;
                    match self.run(&body, args)? {
                        Flow::Normal => {}
                        _ => break,
                    }
                    self.check_progress(max, before, args)?;
                }
            }
            return Ok(Flow::Normal);
        }
        let list = args.next(self.ctx)?;
        let items = super::builtins::list_items(self.ctx, &list)?;
        let mut a2 = Args {
            list: &items,
            pos: 0,
            last_sublist: None,
        };
        loop {
            if max.is_some_and(|m| count >= m) {
                break;
            }
            if a2.remaining() == 0 && !(at_least_once && count == 0) {
                break;
            }
            count += 1;
            if d.colon {
                let sub = a2.next(self.ctx)?;
                let sub_items = super::builtins::list_items(self.ctx, &sub)?;
                let mut a3 = Args {
                    list: &sub_items,
                    pos: 0,
                    last_sublist: Some(a2.remaining() == 0),
                };
                if let Flow::UpAll = self.run(&body, &mut a3)? {
                    break;
                }
            } else {
                let before = a2.pos;
                let flow = self.run(&body, &mut a2)?;
                if flow == Flow::Normal {
                    self.check_progress(max, before, &a2)?;
                }
                match flow {
                    Flow::Normal => {}
                    Flow::UpAll => {
                        return Err(cond::format_error(
                            self.ctx,
                            "~:^ may only be used inside ~:{ or ~:@{".into(),
                        ));
                    }
                    _ => break,
                }
            }
        }
        Ok(Flow::Normal)
    }

    /// An unbounded ~{ whose body took no argument while some remain
    /// would repeat the same step forever (SBCL hangs there): a
    /// FORMAT-ERROR instead, since format strings can come from input.
    fn check_progress(&mut self, max: Option<i64>, before: usize, args: &Args) -> R<()> {
        if max.is_none() && args.pos <= before && args.remaining() > 0 {
            return Err(cond::format_error(
                self.ctx,
                "the body of ~{ uses no arguments, so the loop would never end".into(),
            ));
        }
        Ok(())
    }

    fn justify(&mut self, d: &Directive, args: &mut Args) -> R<Flow> {
        if d.close_colon {
            return self.logical_block(d, args);
        }
        let mincol = param_count(self.ctx, d.params.first(), args, 0)?;
        let colinc = param_count(self.ctx, d.params.get(1), args, 1)?.max(1);
        let minpad = param_count(self.ctx, d.params.get(2), args, 0)?;
        let padchar = param_char(self.ctx, d.params.get(3), args, ' ')?;
        let mut segs = Vec::new();
        let mut flow = Flow::Normal;
        for c in &d.clauses {
            let saved = std::mem::replace(
                &mut self.out,
                Out {
                    buf: String::new(),
                    col: 0,
                    pretty: None,
                },
            );
            let f = self.run(c, args);
            let inner = std::mem::replace(&mut self.out, saved);
            match f? {
                Flow::Normal => segs.push(inner.buf),
                other => {
                    // ~^ : drop this and later segments.
                    flow = other;
                    break;
                }
            }
        }
        let _ = flow;
        // ~:; after the first segment makes it a prefix printed (before the
        // rest) only when the text would pass the line length.
        let (newline_prefix, extra_space, line_len) =
            if d.sep_colon.first().copied().unwrap_or(false) && !segs.is_empty() {
                let extra = param_int(
                    self.ctx,
                    d.sep_params.first().and_then(|p| p.first()),
                    args,
                    0,
                )?;
                let len = param_int(
                    self.ctx,
                    d.sep_params.first().and_then(|p| p.get(1)),
                    args,
                    72,
                )?;
                (Some(segs.remove(0)), extra, len)
            } else {
                (None, 0, 72)
            };
        let text = justify_segments(&segs, d.colon, d.at, mincol, colinc, minpad, padchar);
        if let Some(prefix) = newline_prefix {
            let width = text.chars().count() as i64;
            if self.out.column() as i64 + width + extra_space > line_len {
                self.out.push_str(&prefix);
            }
        }
        self.out.push_str(&text);
        Ok(Flow::Normal)
    }

    fn logical_block(&mut self, d: &Directive, args: &mut Args) -> R<Flow> {
        // ~<prefix~;body~;suffix~:> ; ~@< uses the remaining arguments.
        let (prefix, body, suffix) = match d.clauses.len() {
            1 => (String::new(), &d.clauses[0], String::new()),
            2 => (items_text(&d.clauses[0]), &d.clauses[1], String::new()),
            _ => (
                items_text(&d.clauses[0]),
                &d.clauses[1],
                items_text(&d.clauses[2]),
            ),
        };
        let (prefix, suffix) = if d.colon && d.clauses.len() == 1 {
            ("(".to_string(), ")".to_string())
        } else {
            (prefix, suffix)
        };
        let per_line = d.sep_at.first().copied().unwrap_or(false);
        let list: Vec<Value> = if d.at {
            let rest = args.list[args.pos..].to_vec();
            args.pos = args.list.len();
            rest
        } else {
            let v = args.next(self.ctx)?;
            if !v.is_list() {
                self.emit_obj(&v, false)?;
                return Ok(Flow::Normal);
            }
            super::builtins::list_items(self.ctx, &v)?
        };
        let owned = self.out.pretty.is_none();
        let state = match &self.out.pretty {
            Some(p) => p.clone(),
            None => {
                let o = Opts::current();
                Rc::new(RefCell::new(PrettyState::new(
                    self.out.column(),
                    o.right_margin,
                    o.miser_width,
                    o.lines,
                    o.readably,
                )))
            }
        };
        state
            .borrow_mut()
            .start_block(Some(&prefix), per_line, &suffix);
        let saved = std::mem::replace(
            &mut self.out,
            Out {
                buf: String::new(),
                col: 0,
                pretty: Some(state.clone()),
            },
        );
        let mut a2 = Args {
            list: &list,
            pos: 0,
            last_sublist: None,
        };
        let r = self.run(body, &mut a2);
        self.out = saved;
        state.borrow_mut().end_block();
        r?;
        if owned {
            let text = state.borrow_mut().finish();
            self.out.push_str(&text);
        }
        Ok(Flow::Normal)
    }
}

fn items_text(items: &[Item]) -> String {
    items
        .iter()
        .map(|i| match i {
            Item::Text(t) => t.clone(),
            Item::Dir(_) => String::new(),
        })
        .collect()
}

fn capitalize_words(s: &str, first_only: bool) -> String {
    let mut out = String::new();
    let mut start = true;
    let mut done_first = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if start && (!first_only || !done_first) {
                out.extend(c.to_uppercase());
                done_first = true;
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = true;
        }
    }
    out
}

/// Format into a string starting at column `col`.
pub fn format_with_column(ctx: &mut Ctx, control: &Value, args: &[Value], col: usize) -> R<String> {
    if let Value::Function(_) = control {
        // A function made by FORMATTER: call it with a string stream.
        let s = crate::stream::make_string_output();
        let mut call = vec![s.clone()];
        call.extend_from_slice(args);
        apply(ctx, control, &call)?;
        let Value::Stream(st) = &s else {
            unreachable!()
        };
        return Ok(crate::stream::take_string_output(st).unwrap_or_default());
    }
    Ok(format_counting(ctx, control, args, col)?.0)
}

/// Format with a control string into a string starting at column `col`;
/// also how many of `args` the directives used (what the functions made by
/// FORMATTER return the rest of).
pub fn format_counting(
    ctx: &mut Ctx,
    control: &Value,
    args: &[Value],
    col: usize,
) -> R<(String, usize)> {
    let Some(text) = crate::array::string_of(control) else {
        return Err(cond::type_error(
            ctx,
            control.clone(),
            "(OR STRING FUNCTION)",
        ));
    };
    let items = parse(ctx, &text)?;
    let mut f = Fmt {
        ctx,
        out: Out {
            buf: String::new(),
            col,
            pretty: None,
        },
    };
    let mut a = Args {
        list: args,
        pos: 0,
        last_sublist: None,
    };
    f.run(&items, &mut a)?;
    let used = a.pos.min(args.len());
    Ok((f.out.buf, used))
}

/// Format into a string (the report functions of conditions use this).
pub fn format_to_string(ctx: &mut Ctx, control: &Value, args: &[Value]) -> R<String> {
    format_with_column(ctx, control, args, 0)
}

/// Format directly onto a pretty stream (format called with one); returns
/// how many of `args` were used, as [`format_counting`].
pub fn format_to_pretty(
    ctx: &mut Ctx,
    state: Rc<RefCell<PrettyState>>,
    control: &Value,
    args: &[Value],
) -> R<usize> {
    let Some(text) = crate::array::string_of(control) else {
        let s = format_to_string(ctx, control, args)?;
        state.borrow_mut().write_str(&s);
        return Ok(args.len());
    };
    let items = parse(ctx, &text)?;
    let mut f = Fmt {
        ctx,
        out: Out {
            buf: String::new(),
            col: 0,
            pretty: Some(state),
        },
    };
    let mut a = Args {
        list: args,
        pos: 0,
        last_sublist: None,
    };
    f.run(&items, &mut a)?;
    Ok(a.pos.min(args.len()))
}

#[allow(dead_code)]
fn _exit_unused(e: Exit) -> Exit {
    e
}
