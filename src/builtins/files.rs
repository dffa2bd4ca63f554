//! Files and pathnames: OPEN, PROBE-FILE, DIRECTORY, DELETE-FILE,
//! RENAME-FILE, ENSURE-DIRECTORIES-EXIST, and the pathname functions.

use super::{flag, opt, opt_nil};
use crate::array::Array;
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::pathname::{self, Pathname};
use crate::stream::{io::FileIo, ByteStream, Encoding, Stream, StreamKind};
use crate::value::{list_from, Value};
use crate::world::{keyword, w};

/// A pathname from a pathname designator (pathname, string, file stream).
pub fn to_pathname(ctx: &mut Ctx, v: &Value) -> R<Pathname> {
    if let Some(p) = pathname::get(v) {
        return Ok(p.clone());
    }
    match v {
        v if v.is_string() => Ok(Pathname::parse(&crate::array::string_of(v).unwrap())),
        Value::Stream(s) if s.path.is_some() => Ok(Pathname::parse(s.path.as_ref().unwrap())),
        Value::Symbol(_) => Ok(Pathname::parse(&super::string_designator(ctx, v)?)),
        other => Err(cond::type_error(
            ctx,
            other.clone(),
            "(OR PATHNAME STRING FILE-STREAM)",
        )),
    }
}

/// The file system path of a designator, merged with the defaults.
pub fn native_path(ctx: &mut Ctx, v: &Value) -> R<String> {
    let p = to_pathname(ctx, v)?;
    let d = defaults(ctx)?;
    Ok(p.merge(&d).namestring())
}

fn defaults(ctx: &mut Ctx) -> R<Pathname> {
    let d = w().s.default_pathname_defaults.value();
    match pathname::get(&d) {
        Some(p) => Ok(p.clone()),
        None => to_pathname(ctx, &d).or_else(|_| Ok(Pathname::parse(""))),
    }
}

/// #P"..." reader support.
pub fn pathname_from(ctx: &mut Ctx, v: &Value) -> R {
    Ok(to_pathname(ctx, v)?.into_value())
}

fn file_error(ctx: &mut Ctx, path: &str, msg: String) -> crate::ctx::Exit {
    cond::file_error(ctx, Pathname::parse(path).into_value(), msg)
}

fn io_msg(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn kw_name(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::Symbol(s)) => Some(s.name().to_string()),
        Some(Value::Nil) => Some("NIL".into()),
        _ => None,
    }
}

fn encoding_of(v: Option<&Value>) -> Encoding {
    match kw_name(v).as_deref() {
        Some("LATIN-1") | Some("LATIN1") | Some("ISO-8859-1") => Encoding::Latin1,
        _ => Encoding::Utf8,
    }
}

/// Wildcard match of a glob pattern against a name.
fn glob(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn m(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => m(&p[1..], n) || (!n.is_empty() && m(p, &n[1..])),
            (Some('?'), Some(_)) => m(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &n[1..]),
            _ => false,
        }
    }
    m(&p, &n)
}

fn list_dir(dir: &str, pattern: &Pathname, out: &mut Vec<String>, recursive: bool) {
    let Ok(rd) = std::fs::read_dir(if dir.is_empty() { "." } else { dir }) else {
        return;
    };
    let fpat = pattern.file_namestring();
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let fname = e.file_name().to_string_lossy().to_string();
        let full = format!("{}{}", dir, fname);
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if fpat.is_empty() {
            if is_dir && !recursive {
                out.push(format!("{}/", full));
            }
        } else if glob(&fpat, &fname) || (fpat == "*.*" && glob("*", &fname)) {
            out.push(if is_dir {
                format!("{}/", full)
            } else {
                full.clone()
            });
        }
        if recursive && is_dir {
            list_dir(&format!("{}/", full), pattern, out, true);
        }
    }
}

crate::defbuiltins! {
    /// Open a file stream.
    fn OPEN "OPEN" "(filespec &key (direction :input) (element-type 'character) if-exists if-does-not-exist external-format)" (ctx, a) {
        let path = native_path(ctx, &a[0])?;
        let dir = kw_name(opt(a, 1)).unwrap_or_else(|| "INPUT".into());
        let binary = match opt(a, 2) {
            Some(v) => crate::types::upgraded_element_type(v) == crate::array::ElemType::U8,
            None => false,
        };
        let input = dir == "INPUT" || dir == "IO" || dir == "PROBE";
        let output = dir == "OUTPUT" || dir == "IO";
        let exists = std::path::Path::new(&path).exists();
        let mut oo = std::fs::OpenOptions::new();
        if output {
            oo.write(true);
            if input { oo.read(true); }
            match kw_name(opt(a, 3)).as_deref() {
                None if exists => {
                    if dir == "IO" { /* overwrite */ } else {
                        return Err(file_error(ctx, &path, format!("error opening {}: file exists", path)));
                    }
                }
                Some("ERROR") if exists => return Err(file_error(ctx, &path, format!("error opening {}: file exists", path))),
                Some("NIL") if exists => return Ok(Value::Nil),
                Some("SUPERSEDE") | Some("RENAME-AND-DELETE") | Some("NEW-VERSION") => { oo.truncate(true); }
                Some("RENAME") if exists => { let _ = std::fs::rename(&path, format!("{}.bak", path)); }
                Some("APPEND") => { oo.append(true); }
                Some("OVERWRITE") => {}
                _ => { oo.truncate(true); }
            }
            match kw_name(opt(a, 4)).as_deref() {
                Some("NIL") if !exists => return Ok(Value::Nil),
                Some("ERROR") if !exists => return Err(file_error(ctx, &path, format!("error opening {}: no such file", path))),
                _ => { oo.create(true); }
            }
        } else {
            oo.read(true);
            if !exists {
                match kw_name(opt(a, 4)).as_deref() {
                    Some("NIL") => return Ok(Value::Nil),
                    Some("CREATE") => { oo.write(true).create(true); }
                    _ => return Err(file_error(ctx, &path, format!("error opening {}: No such file or directory", path))),
                }
            }
        }
        let file = match oo.open(&path) {
            Ok(f) => f,
            Err(e) => return Err(file_error(ctx, &path, format!("error opening {}: {}", path, io_msg(&e)))),
        };
        let io = Box::new(FileIo { file: Some(file), name: path.clone() });
        let bs = ByteStream::new(io, input, output, encoding_of(opt(a, 5)), false);
        let mut s = Stream::new(StreamKind::Bytes(bs), "FD-STREAM");
        s.path = Some(path);
        if binary { *s.element_type.borrow_mut() = crate::reader::read_type_spec("(UNSIGNED-BYTE 8)"); }
        let v = s.into_value();
        if dir == "PROBE" {
            if let Value::Stream(st) = &v { crate::stream::close(ctx, st, false)?; }
        }
        Ok(v)
    }
    /// The truename of FILESPEC if the file exists, else NIL.
    fn PROBE_FILE "PROBE-FILE" "(pathspec)" (ctx, a) {
        let path = native_path(ctx, &a[0])?;
        match std::fs::canonicalize(&path) {
            Ok(p) => {
                let mut s = p.to_string_lossy().to_string();
                if p.is_dir() && !s.ends_with('/') { s.push('/'); }
                Ok(Pathname::parse(&s).into_value())
            }
            Err(_) => Ok(Value::Nil),
        }
    }
    /// The truename of FILESPEC (an error if it does not exist).
    fn TRUENAME "TRUENAME" "(filespec)" (ctx, a) {
        let path = native_path(ctx, &a[0])?;
        match std::fs::canonicalize(&path) {
            Ok(p) => {
                let mut s = p.to_string_lossy().to_string();
                if p.is_dir() && !s.ends_with('/') { s.push('/'); }
                Ok(Pathname::parse(&s).into_value())
            }
            Err(e) => Err(file_error(ctx, &path, format!("The file {} does not exist: {}", path, io_msg(&e)))),
        }
    }
    /// Delete a file.
    fn DELETE_FILE "DELETE-FILE" "(filespec)" (ctx, a) {
        let path = native_path(ctx, &a[0])?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(Value::t()),
            Err(e) => Err(file_error(ctx, &path, format!("can't delete {}: {}", path, io_msg(&e)))),
        }
    }
    /// Rename a file; returns the new name, the old truename and the new truename.
    fn RENAME_FILE "RENAME-FILE" "(filespec new-name)" [mv] (ctx, a) {
        let from = native_path(ctx, &a[0])?;
        let newp = to_pathname(ctx, &a[1])?.merge(&to_pathname(ctx, &a[0])?);
        let to = newp.merge(&defaults(ctx)?).namestring();
        match std::fs::rename(&from, &to) {
            Ok(()) => Ok(ctx.set_values(vec![newp.into_value(), Pathname::parse(&from).into_value(), Pathname::parse(&to).into_value()])),
            Err(e) => Err(file_error(ctx, &from, format!("can't rename {} to {}: {}", from, to, io_msg(&e)))),
        }
    }
    /// Create the directories of PATHSPEC; second value: whether any were created.
    fn ENSURE_DIRECTORIES_EXIST "ENSURE-DIRECTORIES-EXIST" "(pathspec &key verbose)" [mv] (ctx, a) {
        let p = to_pathname(ctx, &a[0])?.merge(&defaults(ctx)?);
        let dir = p.directory_namestring();
        let created = !dir.is_empty() && !std::path::Path::new(&dir).exists();
        if created {
            if let Err(e) = std::fs::create_dir_all(&dir) {
                return Err(file_error(ctx, &dir, format!("can't create directory {}: {}", dir, io_msg(&e))));
            }
        }
        Ok(ctx.values2(a[0].clone(), Value::bool(created)))
    }
    /// The files matching a (possibly wild) pathname.
    fn DIRECTORY "DIRECTORY" "(pathspec &key)" (ctx, a) {
        let p = to_pathname(ctx, &a[0])?.merge(&defaults(ctx)?);
        let mut out = vec![];
        let dirtext = p.directory_namestring();
        if let Some(i) = dirtext.find("**/") {
            list_dir(&dirtext[..i], &p, &mut out, true);
        } else if p.is_wild() {
            list_dir(&dirtext, &p, &mut out, false);
        } else if std::path::Path::new(&p.namestring()).exists() {
            out.push(p.namestring());
        }
        let mut res = vec![];
        for f in out {
            let full = std::fs::canonicalize(&f).map(|c| {
                let mut s = c.to_string_lossy().to_string();
                if c.is_dir() && !s.ends_with('/') { s.push('/'); }
                s
            }).unwrap_or(f);
            res.push(Pathname::parse(&full).into_value());
        }
        Ok(list_from(res))
    }
    /// Length of the file of STREAM in bytes.
    fn FILE_LENGTH "FILE-LENGTH" "(stream)" (ctx, a) {
        let s = super::stream(ctx, &a[0])?;
        let len = s.bytes().and_then(|b| { let _ = b.flush(ctx); b.io.borrow().length() });
        Ok(len.map(|n| Value::int(n as i64)).unwrap_or(Value::Nil))
    }
    /// The position of STREAM, or set it to POSITION (:START, :END or a number).
    fn FILE_POSITION "FILE-POSITION" "(stream &optional position)" (ctx, a) {
        let s = super::stream(ctx, &a[0])?;
        if let Some(pos) = crate::stream::string_in_position(&s) {
            if opt(a, 1).is_none() { return Ok(Value::int(pos as i64)); }
        }
        if let crate::stream::StreamKind::StringOut(buf) = &s.kind {
            if opt(a, 1).is_none() { return Ok(Value::int(buf.borrow().len() as i64)); }
        }
        let Some(b) = s.bytes() else { return Ok(Value::Nil) };
        match opt(a, 1) {
            None => {
                let pos = b.io.borrow_mut().seek(None);
                Ok(pos.map(|p| Value::int(p as i64 - b.buffered() as i64 + b.pending_output() as i64)).unwrap_or(Value::Nil))
            }
            Some(p) => {
                b.flush(ctx)?;
                b.clear_input();
                let target = match p {
                    Value::Symbol(k) if k.name() == "START" => 0,
                    Value::Symbol(k) if k.name() == "END" => b.io.borrow().length().unwrap_or(0),
                    v => super::index(ctx, v)? as u64,
                };
                Ok(Value::bool(b.io.borrow_mut().seek(Some(target)).is_some()))
            }
        }
    }
    /// The modification time of a file (universal time), or NIL.
    fn FILE_WRITE_DATE "FILE-WRITE-DATE" "(pathspec)" (ctx, a) {
        let path = native_path(ctx, &a[0])?;
        match std::fs::metadata(&path).and_then(|m| m.modified()) {
            Ok(t) => {
                let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                Ok(Value::int(secs as i64 + super::system::UNIX_TO_UNIVERSAL))
            }
            Err(_) => Ok(Value::Nil),
        }
    }
    /// The owner of a file (NIL: not known).
    fn FILE_AUTHOR "FILE-AUTHOR" "(pathspec)" (ctx, a) { Ok(Value::Nil) }
    /// Convert a pathname designator to a pathname.
    fn PATHNAME "PATHNAME" "(pathspec)" (ctx, a) { Ok(to_pathname(ctx, &a[0])?.into_value()) }
    /// Whether OBJECT is a pathname.
    fn PATHNAMEP "PATHNAMEP" "(object)" (ctx, a) { Ok(Value::bool(pathname::get(&a[0]).is_some())) }
    /// The namestring of a pathname.
    fn NAMESTRING "NAMESTRING" "(pathname)" (ctx, a) { Ok(Array::string(&to_pathname(ctx, &a[0])?.namestring())) }
    /// The file part of a namestring.
    fn FILE_NAMESTRING "FILE-NAMESTRING" "(pathname)" (ctx, a) { Ok(Array::string(&to_pathname(ctx, &a[0])?.file_namestring())) }
    /// The directory part of a namestring.
    fn DIRECTORY_NAMESTRING "DIRECTORY-NAMESTRING" "(pathname)" (ctx, a) { Ok(Array::string(&to_pathname(ctx, &a[0])?.directory_namestring())) }
    /// The namestring relative to DEFAULTS where possible.
    fn ENOUGH_NAMESTRING "ENOUGH-NAMESTRING" "(pathname &optional defaults)" (ctx, a) {
        let p = to_pathname(ctx, &a[0])?.namestring();
        let d = match opt(a, 1) { Some(v) => to_pathname(ctx, v)?, None => defaults(ctx)? }.directory_namestring();
        Ok(Array::string(p.strip_prefix(&d).unwrap_or(&p)))
    }
    /// Parse a namestring into a pathname; second value: the end index.
    fn PARSE_NAMESTRING "PARSE-NAMESTRING" "(thing &optional host default-pathname &key (start 0) end junk-allowed)" [mv] (ctx, a) {
        let p = to_pathname(ctx, &a[0])?;
        let n = crate::array::string_of(&a[0]).map(|s| s.chars().count()).unwrap_or(0);
        Ok(ctx.values2(p.into_value(), Value::int(n as i64)))
    }
    /// Make a pathname from components.
    fn MAKE_PATHNAME "MAKE-PATHNAME" "(&key host device directory name type version defaults case)" (ctx, a) {
        let base = match opt(a, 6) { Some(v) => to_pathname(ctx, v)?, None => Pathname::parse("") };
        let directory = match opt(a, 2) {
            None => base.directory.clone(),
            Some(Value::Symbol(s)) if s.name() == "WILD" => list_from([keyword("ABSOLUTE"), keyword("WILD-INFERIORS")]),
            Some(v) if v.is_string() => list_from([keyword("ABSOLUTE"), v.clone()]),
            Some(v) => v.clone(),
        };
        let p = Pathname {
            directory,
            name: opt(a, 3).cloned().unwrap_or(base.name),
            type_: opt(a, 4).cloned().unwrap_or(base.type_),
            version: opt(a, 5).cloned().unwrap_or(base.version),
        };
        Ok(p.into_value())
    }
    /// Fill missing components of PATHNAME from DEFAULTS.
    fn MERGE_PATHNAMES "MERGE-PATHNAMES" "(pathname &optional default-pathname default-version)" (ctx, a) {
        let p = to_pathname(ctx, &a[0])?;
        let d = match opt(a, 1) { Some(v) => to_pathname(ctx, v)?, None => defaults(ctx)? };
        Ok(p.merge(&d).into_value())
    }
    /// The name component.
    fn PATHNAME_NAME "PATHNAME-NAME" "(pathname &key case)" (ctx, a) { Ok(to_pathname(ctx, &a[0])?.name) }
    /// The type component.
    fn PATHNAME_TYPE "PATHNAME-TYPE" "(pathname &key case)" (ctx, a) { Ok(to_pathname(ctx, &a[0])?.type_) }
    /// The directory component.
    fn PATHNAME_DIRECTORY "PATHNAME-DIRECTORY" "(pathname &key case)" (ctx, a) { Ok(to_pathname(ctx, &a[0])?.directory) }
    /// The version component.
    fn PATHNAME_VERSION "PATHNAME-VERSION" "(pathname)" (ctx, a) { Ok(to_pathname(ctx, &a[0])?.version) }
    /// The host component (:UNSPECIFIC on Unix).
    fn PATHNAME_HOST "PATHNAME-HOST" "(pathname &key case)" (ctx, a) { to_pathname(ctx, &a[0])?; Ok(Value::Nil) }
    /// The device component (NIL on Unix).
    fn PATHNAME_DEVICE "PATHNAME-DEVICE" "(pathname &key case)" (ctx, a) { to_pathname(ctx, &a[0])?; Ok(Value::Nil) }
    /// Whether PATHNAME has wild components.
    fn WILD_PATHNAME_P "WILD-PATHNAME-P" "(pathname &optional field-key)" (ctx, a) { Ok(Value::bool(to_pathname(ctx, &a[0])?.is_wild())) }
    /// Whether PATHNAME matches the wild pathname WILDCARD.
    fn PATHNAME_MATCH_P "PATHNAME-MATCH-P" "(pathname wildcard)" (ctx, a) {
        let p = to_pathname(ctx, &a[0])?.namestring();
        let w = to_pathname(ctx, &a[1])?.namestring();
        Ok(Value::bool(glob(&w, &p)))
    }
    /// The user's home directory.
    fn USER_HOMEDIR_PATHNAME "USER-HOMEDIR-PATHNAME" "(&optional host)" (ctx, a) {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/".into());
        let home = if home.ends_with('/') { home } else { format!("{}/", home) };
        Ok(Pathname::parse(&home).into_value())
    }
    /// Compile a file: netlisp has no separate compiled form; returns the source truename.
    fn COMPILE_FILE "COMPILE-FILE" "(input-file &key output-file verbose print external-format)" [mv] (ctx, a) {
        let p = to_pathname(ctx, &a[0])?;
        let _ = (flag(a, 2), opt_nil(a, 1));
        Ok(ctx.set_values(vec![p.into_value(), Value::Nil, Value::Nil]))
    }
    /// The name a COMPILE-FILE output would have (the source itself).
    fn COMPILE_FILE_PATHNAME "COMPILE-FILE-PATHNAME" "(input-file &key output-file)" (ctx, a) { Ok(to_pathname(ctx, &a[0])?.into_value()) }
}
