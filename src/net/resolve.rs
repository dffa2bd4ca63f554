//! Name resolution: host names through getaddrinfo (so /etc/hosts and
//! nsswitch are honoured) on a helper thread that wakes the event loop,
//! reverse lookups through getnameinfo, and the services database.
//!
//! Numeric hosts never leave the Lisp thread. A lookup that outlives its
//! deadline is abandoned: the helper thread finishes on its own and its
//! answer is dropped.

use super::addr::{parse_numeric, IpAddress};
use super::error::{Fault, NetError, NetResult, Op};
use crate::ctx::{Ctx, R};
use std::ffi::{CStr, CString};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Which address families a lookup wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
    /// Both, in the resolver's order.
    Any,
}

impl Family {
    fn af(self) -> i32 {
        match self {
            Family::V4 => libc::AF_INET,
            Family::V6 => libc::AF_INET6,
            Family::Any => libc::AF_UNSPEC,
        }
    }

    /// Whether an address is of this family.
    pub fn admits(self, a: &IpAddress) -> bool {
        match self {
            Family::V4 => !a.is_v6(),
            Family::V6 => a.is_v6(),
            Family::Any => true,
        }
    }
}

/// What is known about a host.
#[derive(Clone, Debug, Default)]
pub struct HostEntry {
    /// The canonical name.
    pub name: String,
    /// Other names of the host.
    pub aliases: Vec<String>,
    /// Every address, in the resolver's order, without repeats.
    pub addrs: Vec<IpAddress>,
}

/// getaddrinfo flags a caller may ask for.
#[derive(Clone, Copy, Debug, Default)]
pub struct LookupFlags {
    /// AI_V4MAPPED.
    pub v4mapped: bool,
    /// AI_ADDRCONFIG.
    pub addrconfig: bool,
    /// AI_NUMERICHOST: fail rather than look a name up.
    pub numeric_only: bool,
    /// Also collect aliases (a second query through gethostbyname2_r).
    pub aliases: bool,
}

fn not_found(host: &str, why: &str) -> NetError {
    NetError::new(Fault::HostNotFound, Op::Resolve, why.to_string()).at(host, None)
}

/// Resolve `host` on this thread (blocking). A numeric host resolves to
/// itself; a name goes to getaddrinfo.
pub fn lookup_blocking(host: &str, family: Family, flags: LookupFlags) -> NetResult<HostEntry> {
    if let Some(a) = parse_numeric(host) {
        if !family.admits(&a) {
            return Err(not_found(host, "the address is of the other family"));
        }
        return Ok(HostEntry {
            name: host.to_string(),
            aliases: Vec::new(),
            addrs: vec![a],
        });
    }
    let c = CString::new(host).map_err(|_| not_found(host, "the name contains a NUL"))?;
    // SAFETY: a zeroed addrinfo is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family.af();
    hints.ai_socktype = libc::SOCK_STREAM;
    hints.ai_flags = libc::AI_CANONNAME
        | if flags.v4mapped { libc::AI_V4MAPPED } else { 0 }
        | if flags.addrconfig {
            libc::AI_ADDRCONFIG
        } else {
            0
        }
        | if flags.numeric_only {
            libc::AI_NUMERICHOST
        } else {
            0
        };
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C string, hints and out pointer.
    let rc = unsafe { libc::getaddrinfo(c.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 {
        let msg = match rc {
            libc::EAI_NONAME | libc::EAI_NODATA => "unknown host".to_string(),
            libc::EAI_AGAIN => "temporary failure in name resolution".to_string(),
            libc::EAI_SYSTEM => {
                super::error::strerror(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
            }
            // SAFETY: gai_strerror returns a static string.
            _ => unsafe { CStr::from_ptr(libc::gai_strerror(rc)) }
                .to_string_lossy()
                .into_owned(),
        };
        return Err(not_found(host, &msg));
    }
    let mut entry = HostEntry {
        name: host.to_string(),
        ..HostEntry::default()
    };
    let mut p = res;
    while !p.is_null() {
        // SAFETY: p walks the list getaddrinfo returned.
        let ai = unsafe { &*p };
        if !ai.ai_canonname.is_null() && p == res {
            // SAFETY: a NUL-terminated string owned by the list.
            entry.name = unsafe { CStr::from_ptr(ai.ai_canonname) }
                .to_string_lossy()
                .into_owned();
        }
        // SAFETY: ai_addr points at ai_addrlen bytes of a sockaddr.
        if let Some(sa) = unsafe { sockaddr_to_std(ai.ai_addr, ai.ai_addrlen) } {
            let a = IpAddress::of_socket_addr(&sa);
            let a = match (family, &a) {
                // Keep what was asked for: a v4-mapped answer to a v6
                // query stays IPv6.
                (Family::V6, IpAddress::V4(v4)) => {
                    IpAddress::V6(super::addr::Ipv6Spec::plain(v4.to_ipv6_mapped()))
                }
                _ => a,
            };
            if !entry.addrs.contains(&a) {
                entry.addrs.push(a);
            }
        }
        p = ai.ai_next;
    }
    // SAFETY: res came from getaddrinfo.
    unsafe { libc::freeaddrinfo(res) };
    if entry.addrs.is_empty() {
        return Err(not_found(host, "no addresses of the asked family"));
    }
    if flags.aliases {
        entry.aliases = aliases_of(host, family)
            .into_iter()
            .filter(|a| *a != entry.name)
            .collect();
    }
    Ok(entry)
}

/// SAFETY: `sa` must point at `len` readable bytes of a socket address.
unsafe fn sockaddr_to_std(sa: *const libc::sockaddr, len: libc::socklen_t) -> Option<SocketAddr> {
    if sa.is_null() {
        return None;
    }
    let (_, addr) = socket2::SockAddr::try_init(|storage, l| {
        let n = (len as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
        std::ptr::copy_nonoverlapping(sa as *const u8, storage as *mut u8, n);
        *l = n as libc::socklen_t;
        Ok(())
    })
    .ok()?;
    addr.as_socket()
}

extern "C" {
    fn gethostbyname2_r(
        name: *const libc::c_char,
        af: libc::c_int,
        ret: *mut libc::hostent,
        buf: *mut libc::c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::hostent,
        h_errnop: *mut libc::c_int,
    ) -> libc::c_int;
}

/// The aliases the host databases list for `host` (getaddrinfo has no
/// way to return them).
fn aliases_of(host: &str, family: Family) -> Vec<String> {
    let Ok(c) = CString::new(host) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let afs: &[i32] = match family {
        Family::V4 => &[libc::AF_INET],
        Family::V6 => &[libc::AF_INET6],
        Family::Any => &[libc::AF_INET, libc::AF_INET6],
    };
    for &af in afs {
        // SAFETY: zeroed hostent is filled by the call.
        let mut he: libc::hostent = unsafe { std::mem::zeroed() };
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        let mut result: *mut libc::hostent = std::ptr::null_mut();
        let mut herr = 0;
        // SAFETY: all pointers are valid for the call; buf outlives the reads.
        let rc = unsafe {
            gethostbyname2_r(
                c.as_ptr(),
                af,
                &mut he,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
                &mut herr,
            )
        };
        if rc != 0 || result.is_null() || he.h_aliases.is_null() {
            continue;
        }
        let mut i = 0;
        loop {
            // SAFETY: h_aliases is a NULL-terminated array of C strings in buf.
            let p = unsafe { *he.h_aliases.add(i) };
            if p.is_null() {
                break;
            }
            let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
            if !out.contains(&s) {
                out.push(s);
            }
            i += 1;
        }
    }
    out
}

/// The name an address has in the host databases, if any.
pub fn reverse_blocking(ip: &IpAddress) -> Option<String> {
    let sa = socket2::SockAddr::from(ip.with_port(0));
    let mut host = vec![0 as libc::c_char; 1025];
    // SAFETY: valid sockaddr and output buffer.
    let rc = unsafe {
        libc::getnameinfo(
            sa.as_ptr() as *const libc::sockaddr,
            sa.len(),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: getnameinfo wrote a NUL-terminated string.
    Some(
        unsafe { CStr::from_ptr(host.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Run blocking work on a helper thread; the calling Lisp process parks
/// until it is done or `deadline` passes (then None). Outside the
/// scheduler (an embedding without processes) the work runs inline.
pub fn on_helper<T: Send + 'static>(
    ctx: &mut Ctx,
    deadline: Option<Instant>,
    work: impl FnOnce() -> T + Send + 'static,
) -> R<Option<T>> {
    if ctx.hooks.is_none() {
        return Ok(Some(work()));
    }
    let slot: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
    let out = slot.clone();
    let s = crate::mp::sched();
    let notifier = s.notifier();
    s.external_begin();
    let spawned = std::thread::Builder::new()
        .name("netlisp-resolver".into())
        .spawn(move || {
            let v = work();
            *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
            notifier.notify();
        });
    if spawned.is_err() {
        s.external_end();
        return Ok(None);
    }
    let r = (|| loop {
        if let Some(v) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Ok(Some(v));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        crate::mp::wait_external(ctx, deadline)?;
    })();
    s.external_end();
    r
}

/// Resolve `host`, parking only this process. Numeric hosts resolve at
/// once. Fails with TimedOut if `deadline` passes first.
pub fn lookup(
    ctx: &mut Ctx,
    host: &str,
    family: Family,
    flags: LookupFlags,
    deadline: Option<Instant>,
) -> R<NetResult<HostEntry>> {
    if parse_numeric(host).is_some() || flags.numeric_only {
        return Ok(lookup_blocking(host, family, flags));
    }
    let h = host.to_string();
    match on_helper(ctx, deadline, move || lookup_blocking(&h, family, flags))? {
        Some(r) => Ok(r),
        None => Ok(Err(NetError::new(
            Fault::TimedOut,
            Op::Resolve,
            "name resolution timed out",
        )
        .at(host, None))),
    }
}

/// Reverse lookup, parking only this process.
pub fn reverse(ctx: &mut Ctx, ip: &IpAddress) -> R<Option<String>> {
    let ip2 = ip.clone();
    Ok(on_helper(ctx, None, move || reverse_blocking(&ip2))?.flatten())
}

/// An entry of the services database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEntry {
    /// The official name.
    pub name: String,
    /// The port.
    pub port: u16,
    /// Other names.
    pub aliases: Vec<String>,
    /// The protocol, lower case ("tcp").
    pub protocol: String,
}

/// Look a service up by name or by port in the services database
/// (/etc/services). `protocol` None takes the first entry of any.
pub fn service_entry(by: ServiceKey<'_>, protocol: Option<&str>) -> Option<ServiceEntry> {
    let proto = protocol.map(|p| CString::new(p).ok()).unwrap_or(None);
    let proto_ptr = proto.as_ref().map_or(std::ptr::null(), |p| p.as_ptr());
    // SAFETY: getservby* return a pointer to static storage (or NULL); we
    // copy it out at once and all Lisp code runs on one thread.
    let se = unsafe {
        match by {
            ServiceKey::Name(n) => {
                let c = CString::new(n).ok()?;
                libc::getservbyname(c.as_ptr(), proto_ptr)
            }
            ServiceKey::Port(p) => libc::getservbyport(p.to_be() as i32, proto_ptr),
        }
    };
    if se.is_null() {
        return None;
    }
    // SAFETY: a valid servent with NUL-terminated strings.
    unsafe {
        let se = &*se;
        let mut aliases = Vec::new();
        let mut i = 0;
        while !se.s_aliases.is_null() && !(*se.s_aliases.add(i)).is_null() {
            aliases.push(
                CStr::from_ptr(*se.s_aliases.add(i))
                    .to_string_lossy()
                    .into_owned(),
            );
            i += 1;
        }
        Some(ServiceEntry {
            name: CStr::from_ptr(se.s_name).to_string_lossy().into_owned(),
            port: u16::from_be(se.s_port as u16),
            aliases,
            protocol: CStr::from_ptr(se.s_proto).to_string_lossy().to_lowercase(),
        })
    }
}

/// How a service is looked up.
#[derive(Clone, Copy, Debug)]
pub enum ServiceKey<'a> {
    /// By name or alias.
    Name(&'a str),
    /// By port number.
    Port(u16),
}

/// The port of a service given as digits or as a name ("http").
pub fn service_port(service: &str, protocol: &str) -> NetResult<u16> {
    if !service.is_empty() && service.bytes().all(|b| b.is_ascii_digit()) {
        return match service.parse::<i64>() {
            Ok(n) => super::addr::port_of_integer(n),
            Err(_) => super::addr::port_of_integer(i64::MAX),
        };
    }
    service_entry(ServiceKey::Name(service), Some(protocol))
        .map(|e| e.port)
        .ok_or_else(|| {
            NetError::new(
                Fault::ServiceNotFound,
                Op::Resolve,
                format!("unknown service {:?} (not in /etc/services)", service),
            )
        })
}

/// The addresses to try for `host` with `port`, in order.
pub fn socket_addrs(entry: &HostEntry, port: u16) -> Vec<SocketAddr> {
    entry.addrs.iter().map(|a| a.with_port(port)).collect()
}

/// Loopback for the family (`localhost` without asking the resolver).
pub fn loopback(family: Family) -> IpAddr {
    match family {
        Family::V6 => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        _ => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_hosts_and_localhost_resolve() {
        let e = lookup_blocking("127.0.0.1", Family::Any, LookupFlags::default()).unwrap();
        assert_eq!(e.addrs, vec![IpAddress::V4(std::net::Ipv4Addr::LOCALHOST)]);
        assert!(lookup_blocking("127.0.0.1", Family::V6, LookupFlags::default()).is_err());
        let e = lookup_blocking("localhost", Family::V4, LookupFlags::default()).unwrap();
        assert!(e
            .addrs
            .contains(&IpAddress::V4(std::net::Ipv4Addr::LOCALHOST)));
        let e = lookup_blocking("no-such-host.invalid", Family::Any, LookupFlags::default());
        assert_eq!(e.unwrap_err().fault, Fault::HostNotFound);
    }

    #[test]
    fn services_by_name_and_port() {
        assert_eq!(service_port("8080", "tcp").unwrap(), 8080);
        assert!(service_port("99999", "tcp").is_err());
        assert_eq!(
            service_port("no-such-service", "tcp").unwrap_err().fault,
            Fault::ServiceNotFound
        );
        if std::path::Path::new("/etc/services").exists() {
            assert_eq!(service_port("http", "tcp").unwrap(), 80);
            let e = service_entry(ServiceKey::Port(25), None).unwrap();
            assert_eq!(e.name, "smtp");
            assert_eq!(e.protocol, "tcp");
        }
    }
}
