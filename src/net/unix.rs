//! Unix-domain sockets: names (a path, or on Linux an abstract name
//! written with a leading NUL character), binding with an optional
//! removal of a stale socket file and a file mode, listening, connecting
//! within a deadline, and the peer's credentials. The socket file a
//! listener binds is removed again when it closes.

use super::error::{Fault, NetError, NetResult, Op};
use super::socket::{BoundPath, Role, SocketCore};
use crate::ctx::{Ctx, R};
use socket2::{Domain, SockAddr, Socket, Type};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Instant;

/// The longest name sun_path holds, NUL terminator excluded.
pub const MAX_PATH: usize = 107;

/// How a name is bound.
#[derive(Clone, Debug, Default)]
pub struct BindOptions {
    /// Remove an existing socket file first, when nothing accepts on it.
    pub remove_stale: bool,
    /// chmod the socket file to this mode after binding.
    pub mode: Option<u32>,
}

fn is_abstract(name: &str) -> bool {
    name.starts_with('\0')
}

/// The socket address of a name, checked: not empty, at most
/// [`MAX_PATH`] bytes.
pub fn address(name: &str) -> NetResult<SockAddr> {
    let bad = |why: String| Err(NetError::new(Fault::Invalid, Op::Bind, why).at(name, None));
    if name.is_empty() {
        return bad("a Unix socket name may not be empty".into());
    }
    if name.len() > MAX_PATH {
        return bad(format!(
            "the name is {} bytes long; a Unix socket name holds at most {}",
            name.len(),
            MAX_PATH
        ));
    }
    if !is_abstract(name) && name.contains('\0') {
        return bad("a Unix socket path may not contain NUL".into());
    }
    SockAddr::unix(name).map_err(|e| NetError::os(Op::Bind, &e).at(name, None))
}

/// A Unix address as text: the path, "@name" for an abstract name, None
/// for an unnamed socket or another family.
pub fn name_text(sa: &SockAddr) -> Option<String> {
    if let Some(p) = sa.as_pathname() {
        return Some(p.to_string_lossy().into_owned());
    }
    sa.as_abstract_namespace()
        .map(|b| format!("@{}", String::from_utf8_lossy(b)))
}

/// A Unix address as the name a program passes back: the path, or the
/// abstract name with its leading NUL.
pub fn name_of(sa: &SockAddr) -> Option<String> {
    if let Some(p) = sa.as_pathname() {
        return Some(p.to_string_lossy().into_owned());
    }
    sa.as_abstract_namespace()
        .map(|b| format!("\0{}", String::from_utf8_lossy(b)))
}

fn new_socket(ty: Type, name: &str, op: Op) -> NetResult<Socket> {
    Socket::new(Domain::UNIX, ty.cloexec(), None).map_err(|e| NetError::os(op, &e).at(name, None))
}

/// Whether a socket file has nobody accepting on it.
fn is_stale(path: &Path, ty: Type) -> bool {
    let Ok(probe) = Socket::new(Domain::UNIX, ty.cloexec(), None) else {
        return false;
    };
    let Ok(sa) = SockAddr::unix(path) else {
        return false;
    };
    let _ = probe.set_nonblocking(true);
    matches!(probe.connect(&sa), Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED))
}

/// Remove a stale socket file at `name` (nothing else: a regular file
/// or a live socket stays and bind reports the address in use).
fn remove_stale(name: &str, ty: Type) -> NetResult<()> {
    let path = Path::new(name);
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(NetError::new(
            Fault::AddressInUse,
            Op::Bind,
            "the path exists and is not a socket; it was left alone",
        )
        .at(name, None));
    }
    if is_stale(path, ty) {
        std::fs::remove_file(path).map_err(|e| NetError::os(Op::Bind, &e).at(name, None))?;
    }
    Ok(())
}

/// Remove the socket file of `b` if it is still the one bound.
pub fn remove_if_same(b: &BoundPath) {
    if let Ok(m) = std::fs::symlink_metadata(&b.path) {
        if m.dev() == b.dev && m.ino() == b.ino {
            let _ = std::fs::remove_file(&b.path);
        }
    }
}

/// A Unix socket of type `ty` bound to `name`.
pub fn bind(ty: Type, name: &str, opts: &BindOptions) -> NetResult<(Socket, Option<BoundPath>)> {
    let sa = address(name)?;
    let s = new_socket(ty, name, Op::Bind)?;
    if opts.remove_stale && !is_abstract(name) {
        remove_stale(name, ty)?;
    }
    s.bind(&sa)
        .map_err(|e| NetError::os(Op::Bind, &e).at(name, None))?;
    let mut bound = None;
    if !is_abstract(name) {
        if let Some(mode) = opts.mode {
            std::fs::set_permissions(name, std::fs::Permissions::from_mode(mode))
                .map_err(|e| NetError::os(Op::Bind, &e).at(name, None))?;
        }
        if let Ok(m) = std::fs::symlink_metadata(name) {
            bound = Some(BoundPath {
                path: name.into(),
                dev: m.dev(),
                ino: m.ino(),
            });
        }
    }
    Ok((s, bound))
}

/// A listening stream socket on `name`; its socket file goes away when
/// it closes.
pub fn listen(name: &str, backlog: i32, opts: &BindOptions) -> NetResult<SocketCore> {
    let (s, bound) = bind(Type::STREAM, name, opts)?;
    if let Err(e) = s.listen(backlog.max(1)) {
        if let Some(b) = &bound {
            remove_if_same(b);
        }
        return Err(NetError::os(Op::Listen, &e).at(name, None));
    }
    let core = SocketCore::new(s, Role::Listener)?;
    *core.bound_path.borrow_mut() = bound;
    Ok(core)
}

/// Give an unnamed datagram socket a unique abstract name (Linux
/// autobind), so that the datagrams it sends can be answered.
fn autobind(s: &Socket) -> NetResult<()> {
    let unnamed = SockAddr::unix("").map_err(|e| NetError::os(Op::Bind, &e))?;
    s.bind(&unnamed).map_err(|e| NetError::os(Op::Bind, &e))
}

/// A datagram socket bound to `name`, or to an automatic abstract name
/// when `name` is None (so replies can reach it).
pub fn datagram(name: Option<&str>, opts: &BindOptions) -> NetResult<SocketCore> {
    let (s, bound) = match name {
        Some(n) => bind(Type::DGRAM, n, opts)?,
        None => {
            let s = new_socket(Type::DGRAM, "", Op::Create)?;
            autobind(&s)?;
            (s, None)
        }
    };
    let core = SocketCore::new(s, Role::Datagram)?;
    *core.bound_path.borrow_mut() = bound;
    Ok(core)
}

/// Connect a socket of type `ty` to `name`. A full listen queue is
/// retried until `deadline`.
pub fn connect(
    ctx: &mut Ctx,
    name: &str,
    ty: Type,
    deadline: Option<Instant>,
) -> R<NetResult<SocketCore>> {
    let at = |e: NetError| e.at(name, None);
    let sa = match address(name) {
        Ok(a) => a,
        Err(e) => {
            return Ok(Err(NetError {
                op: Op::Connect,
                ..e
            }))
        }
    };
    let s = match new_socket(ty, name, Op::Create) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = s.set_nonblocking(true) {
        return Ok(Err(at(NetError::os(Op::Create, &e))));
    }
    if ty == Type::DGRAM {
        if let Err(e) = autobind(&s) {
            return Ok(Err(at(e)));
        }
    }
    loop {
        match s.connect(&sa) {
            Ok(()) => break,
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                let left = super::tcp::remaining(deadline);
                if !crate::mp::wait_fd(ctx, s.as_raw_fd(), false, left)? {
                    return Ok(Err(at(timed_out())));
                }
                match s.take_error() {
                    Ok(None) => break,
                    Ok(Some(e)) | Err(e) => return Ok(Err(at(NetError::os(Op::Connect, &e)))),
                }
            }
            // The listener's queue is full: Linux gives no readiness to
            // wait for, so poll at a short interval within the deadline.
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(Err(at(timed_out())));
                }
                crate::mp::scheduler::sleep(ctx, 0.005)?;
            }
            Err(e) => return Ok(Err(at(NetError::os(Op::Connect, &e)))),
        }
    }
    let role = if ty == Type::DGRAM {
        Role::Datagram
    } else {
        Role::Connection
    };
    Ok(SocketCore::new(s, role))
}

fn timed_out() -> NetError {
    NetError::new(Fault::TimedOut, Op::Connect, "connection timed out")
}

/// The peer's process id, user id and group id (SO_PEERCRED).
pub fn peer_credentials(core: &SocketCore) -> NetResult<(i32, u32, u32)> {
    core.with(Op::Option, |s| {
        let mut cred = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `cred`.
        let r = unsafe {
            libc::getsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok((cred.pid, cred.uid, cred.gid))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_printed() {
        assert!(address("").is_err());
        let long = "x".repeat(MAX_PATH + 1);
        let e = address(&long).unwrap_err();
        assert_eq!(e.fault, Fault::Invalid);
        assert!(e.message.contains("108 bytes"), "{}", e.message);
        assert!(address(&"x".repeat(MAX_PATH)).is_ok());
        let sa = address("/tmp/a.sock").unwrap();
        assert_eq!(name_text(&sa).as_deref(), Some("/tmp/a.sock"));
        let sa = address("\0netlisp-test").unwrap();
        assert_eq!(name_text(&sa).as_deref(), Some("@netlisp-test"));
        assert_eq!(name_of(&sa).as_deref(), Some("\0netlisp-test"));
    }
}
