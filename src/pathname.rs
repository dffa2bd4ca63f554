//! Pathnames: Unix namestrings parsed into CL components and back.

use crate::foreign::{self, ForeignObj};
use crate::gc::Tracer;
use crate::value::{list_from, Value};
use crate::world::keyword;

/// A pathname.
#[derive(Clone)]
pub struct Pathname {
    /// Directory: NIL, or (:ABSOLUTE/:RELATIVE . components).
    pub directory: Value,
    /// Name (a string, :WILD or NIL).
    pub name: Value,
    /// Type (a string, :WILD or NIL).
    pub type_: Value,
    /// Version (NIL, :NEWEST, :WILD).
    pub version: Value,
}

impl ForeignObj for Pathname {
    fn type_name(&self) -> &'static str {
        "PATHNAME"
    }
    fn trace(&self, t: &mut Tracer) {
        self.directory.trace(t);
        self.name.trace(t);
        self.type_.trace(t);
        self.version.trace(t);
    }
    fn describe(&self) -> String {
        self.namestring()
    }
    fn class(&self) -> Option<crate::gc::Gc<crate::clos::Class>> {
        Some(crate::clos::cl_class("PATHNAME"))
    }
}

fn component_text(v: &Value) -> Option<String> {
    match v {
        v if v.is_string() => crate::array::string_of(v),
        Value::Symbol(s) if s.name() == "WILD" => Some("*".into()),
        Value::Symbol(s) if s.name() == "UP" || s.name() == "BACK" => Some("..".into()),
        _ => None,
    }
}

fn str_or_wild(s: &str) -> Value {
    if s == "*" {
        keyword("WILD")
    } else {
        crate::array::Array::string(s)
    }
}

impl Pathname {
    /// Parse a Unix namestring.
    pub fn parse(s: &str) -> Pathname {
        let (dir_part, file_part) = match s.rfind('/') {
            Some(i) => (&s[..=i], &s[i + 1..]),
            None => ("", s),
        };
        let directory = if dir_part.is_empty() {
            Value::Nil
        } else {
            let absolute = dir_part.starts_with('/');
            let mut comps = vec![keyword(if absolute { "ABSOLUTE" } else { "RELATIVE" })];
            for c in dir_part.split('/').filter(|c| !c.is_empty()) {
                comps.push(match c {
                    ".." => keyword("UP"),
                    "**" => keyword("WILD-INFERIORS"),
                    "." => continue,
                    other => str_or_wild(other),
                });
            }
            list_from(comps)
        };
        let (name, type_) = if file_part.is_empty() {
            (Value::Nil, Value::Nil)
        } else if file_part.starts_with('.') && !file_part[1..].contains('.') {
            // Dot files: the whole thing is the name.
            (str_or_wild(file_part), Value::Nil)
        } else {
            match file_part.rfind('.') {
                Some(i) if i > 0 => (
                    str_or_wild(&file_part[..i]),
                    str_or_wild(&file_part[i + 1..]),
                ),
                _ => (str_or_wild(file_part), Value::Nil),
            }
        };
        Pathname {
            directory,
            name,
            type_,
            version: Value::Nil,
        }
    }

    /// The directory part as text ("/a/b/" or "a/").
    pub fn directory_namestring(&self) -> String {
        let mut out = String::new();
        let comps = self.directory.list_to_vec();
        if let Some(first) = comps.first() {
            if matches!(first, Value::Symbol(s) if s.name() == "ABSOLUTE") {
                out.push('/');
            }
            for c in &comps[1..] {
                match c {
                    Value::Symbol(s) if s.name() == "WILD-INFERIORS" => out.push_str("**"),
                    other => out.push_str(&component_text(other).unwrap_or_default()),
                }
                out.push('/');
            }
        }
        out
    }

    /// The file part as text ("name.type").
    pub fn file_namestring(&self) -> String {
        let mut out = component_text(&self.name).unwrap_or_default();
        if let Some(t) = component_text(&self.type_) {
            out.push('.');
            out.push_str(&t);
        }
        out
    }

    /// The whole namestring.
    pub fn namestring(&self) -> String {
        format!("{}{}", self.directory_namestring(), self.file_namestring())
    }

    /// MERGE-PATHNAMES: missing components come from `defaults`.
    pub fn merge(&self, defaults: &Pathname) -> Pathname {
        let directory = match (&self.directory, &defaults.directory) {
            (Value::Nil, d) => d.clone(),
            (d, Value::Nil) => d.clone(),
            (d, base) => {
                let dv = d.list_to_vec();
                if matches!(dv.first(), Some(Value::Symbol(s)) if s.name() == "RELATIVE") {
                    let mut comps = base.list_to_vec();
                    comps.extend_from_slice(&dv[1..]);
                    list_from(comps)
                } else {
                    d.clone()
                }
            }
        };
        Pathname {
            directory,
            name: if self.name.is_nil() {
                defaults.name.clone()
            } else {
                self.name.clone()
            },
            type_: if self.type_.is_nil() {
                defaults.type_.clone()
            } else {
                self.type_.clone()
            },
            version: if self.version.is_nil() {
                defaults.version.clone()
            } else {
                self.version.clone()
            },
        }
    }

    /// Wrap as a value.
    pub fn into_value(self) -> Value {
        foreign::make(self)
    }

    /// Whether any component is wild.
    pub fn is_wild(&self) -> bool {
        let wild = |v: &Value| matches!(v, Value::Symbol(s) if s.name() == "WILD" || s.name() == "WILD-INFERIORS");
        wild(&self.name) || wild(&self.type_) || self.directory.iter().any(|c| wild(&c))
    }
}

/// The pathname object in a value, if it is one.
pub fn get(v: &Value) -> Option<&Pathname> {
    foreign::get::<Pathname>(v)
}

/// EQUAL on two pathname objects.
pub fn pathnames_equal(a: &Value, b: &Value) -> bool {
    match (get(a), get(b)) {
        (Some(x), Some(y)) => x.namestring() == y.namestring(),
        _ => false,
    }
}

/// The namestring of a pathname object, if `v` is one.
pub fn pathname_of(v: &Value) -> Option<String> {
    get(v).map(|p| p.namestring())
}
