//! Addresses: dotted IPv4 text, IPv6 text with an optional `%scope` and
//! `/prefix`, IPv4 addresses as integers in network order (LispWorks'
//! representation), ports, and socket addresses built from them.

use super::error::{Fault, NetError, NetResult, Op};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// The zone of a link-local IPv6 address: an interface index or name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A numeric zone (`fe80::1%2`).
    Index(u32),
    /// A named zone (`fe80::1%eth0`).
    Name(String),
}

/// An IPv6 address as COMM's `ipv6-address` objects carry it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Spec {
    /// The 128-bit address.
    pub addr: Ipv6Addr,
    /// The zone, if one was given.
    pub scope: Option<Scope>,
    /// A `/prefix-length`, remembered for printing only.
    pub prefix: Option<u8>,
}

impl Ipv6Spec {
    /// A plain address without scope or prefix.
    pub fn plain(addr: Ipv6Addr) -> Ipv6Spec {
        Ipv6Spec {
            addr,
            scope: None,
            prefix: None,
        }
    }

    /// The standard text of the address, without scope or prefix.
    pub fn address_text(&self) -> String {
        self.addr.to_string()
    }

    /// The full text: address, `%scope`, `/prefix`.
    pub fn full_text(&self) -> String {
        let mut s = self.addr.to_string();
        match &self.scope {
            Some(Scope::Index(i)) => s.push_str(&format!("%{}", i)),
            Some(Scope::Name(n)) => s.push_str(&format!("%{}", n)),
            None => {}
        }
        if let Some(p) = self.prefix {
            s.push_str(&format!("/{}", p));
        }
        s
    }

    /// The numeric scope id for a socket address (names are looked up as
    /// interface names; unknown names give 0).
    pub fn scope_index(&self) -> u32 {
        match &self.scope {
            None => 0,
            Some(Scope::Index(i)) => *i,
            Some(Scope::Name(n)) => interface_index(n),
        }
    }
}

/// An IP address of either family.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IpAddress {
    /// IPv4.
    V4(Ipv4Addr),
    /// IPv6, with its scope.
    V6(Ipv6Spec),
}

impl IpAddress {
    /// From a standard library address (no scope).
    pub fn from_std(ip: IpAddr) -> IpAddress {
        match ip {
            IpAddr::V4(a) => IpAddress::V4(a),
            IpAddr::V6(a) => IpAddress::V6(Ipv6Spec::plain(a)),
        }
    }

    /// From a socket address: IPv4-mapped IPv6 peers become IPv4 (as
    /// LispWorks reports them), a scope id is kept.
    pub fn of_socket_addr(sa: &SocketAddr) -> IpAddress {
        match sa {
            SocketAddr::V4(a) => IpAddress::V4(*a.ip()),
            SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
                Some(v4) => IpAddress::V4(v4),
                None => IpAddress::V6(Ipv6Spec {
                    addr: *a.ip(),
                    scope: (a.scope_id() != 0).then_some(Scope::Index(a.scope_id())),
                    prefix: None,
                }),
            },
        }
    }

    /// The standard library address (without scope).
    pub fn ip(&self) -> IpAddr {
        match self {
            IpAddress::V4(a) => IpAddr::V4(*a),
            IpAddress::V6(s) => IpAddr::V6(s.addr),
        }
    }

    /// A socket address with `port`, keeping the scope.
    pub fn with_port(&self, port: u16) -> SocketAddr {
        match self {
            IpAddress::V4(a) => SocketAddr::V4(SocketAddrV4::new(*a, port)),
            IpAddress::V6(s) => SocketAddr::V6(SocketAddrV6::new(s.addr, port, 0, s.scope_index())),
        }
    }

    /// Dotted or standard IPv6 text (no scope).
    pub fn text(&self) -> String {
        match self {
            IpAddress::V4(a) => a.to_string(),
            IpAddress::V6(s) => s.address_text(),
        }
    }

    /// Whether this is an IPv6 address.
    pub fn is_v6(&self) -> bool {
        matches!(self, IpAddress::V6(_))
    }
}

/// An IPv4 address from an integer in network order (first octet most
/// significant), as COMM represents them.
pub fn ipv4_of_integer(n: u64) -> Option<Ipv4Addr> {
    u32::try_from(n).ok().map(Ipv4Addr::from)
}

/// The network-order integer of an IPv4 address.
pub fn integer_of_ipv4(a: Ipv4Addr) -> u32 {
    u32::from(a)
}

/// Parse strict dotted-quad text: four decimal numbers 0..255.
pub fn parse_dotted(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for o in octets.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// Parse IPv6 text as COMM's PARSE-IPV6-ADDRESS does: standard notation
/// (with `::` and an embedded dotted quad) or a plain dotted quad (taken
/// as IPv4-mapped), then an optional `%scope` (digits give an index,
/// anything else a name) and an optional `/prefix-length`.
pub fn parse_ipv6(text: &str) -> Option<Ipv6Spec> {
    let (rest, prefix) = match text.rfind('/') {
        Some(i) => {
            let p = &text[i + 1..];
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: u8 = p.parse().ok()?;
            if n > 128 {
                return None;
            }
            (&text[..i], Some(n))
        }
        None => (text, None),
    };
    let (addr_text, scope) = match rest.find('%') {
        Some(i) => {
            let z = &rest[i + 1..];
            if z.is_empty() {
                return None;
            }
            let scope = if z.bytes().all(|b| b.is_ascii_digit()) {
                Scope::Index(z.parse().ok()?)
            } else {
                Scope::Name(z.to_string())
            };
            (&rest[..i], Some(scope))
        }
        None => (rest, None),
    };
    let addr = match addr_text.parse::<Ipv6Addr>() {
        Ok(a) => a,
        Err(_) => parse_dotted(addr_text)?.to_ipv6_mapped(),
    };
    Some(Ipv6Spec {
        addr,
        scope,
        prefix,
    })
}

/// Parse a numeric host: dotted IPv4 or IPv6 text (brackets allowed
/// around IPv6, as in URLs).
pub fn parse_numeric(text: &str) -> Option<IpAddress> {
    if let Some(a) = parse_dotted(text) {
        return Some(IpAddress::V4(a));
    }
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    if !inner.contains(':') {
        return None;
    }
    parse_ipv6(inner).map(IpAddress::V6)
}

/// A port number from an integer, or an Invalid error.
pub fn port_of_integer(n: i64) -> NetResult<u16> {
    u16::try_from(n).map_err(|_| {
        NetError::new(
            Fault::Invalid,
            Op::Resolve,
            format!("port {} is outside 0..65535", n),
        )
    })
}

/// The interface index of a named interface (0 if unknown).
pub fn interface_index(name: &str) -> u32 {
    let Ok(c) = std::ffi::CString::new(name) else {
        return 0;
    };
    // SAFETY: a valid NUL-terminated string.
    unsafe { libc::if_nametoindex(c.as_ptr()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_quads_are_strict() {
        assert_eq!(
            parse_dotted("204.71.177.75"),
            Some(Ipv4Addr::new(204, 71, 177, 75))
        );
        for bad in [
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.x",
            "",
            "1..2.3",
            "01234.1.1.1",
        ] {
            assert_eq!(parse_dotted(bad), None, "{}", bad);
        }
        assert_eq!(integer_of_ipv4(Ipv4Addr::new(204, 71, 177, 75)), 0xCC47B14B);
        assert_eq!(
            ipv4_of_integer(0xCC47B14B),
            Some(Ipv4Addr::new(204, 71, 177, 75))
        );
        assert_eq!(ipv4_of_integer(1 << 32), None);
    }

    #[test]
    fn ipv6_text_with_scope_and_prefix() {
        let s = parse_ipv6("fe80::1%2/64").unwrap();
        assert_eq!(s.addr, "fe80::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(s.scope, Some(Scope::Index(2)));
        assert_eq!(s.prefix, Some(64));
        assert_eq!(s.full_text(), "fe80::1%2/64");
        assert_eq!(s.address_text(), "fe80::1");
        let s = parse_ipv6("fe80::1%lo").unwrap();
        assert_eq!(s.scope, Some(Scope::Name("lo".into())));
        assert_eq!(
            parse_ipv6("1.2.3.4").unwrap().address_text(),
            "::ffff:1.2.3.4"
        );
        for bad in [
            "",
            "::g",
            "fe80::1%",
            "::1/129",
            "::1/",
            "1:2:3:4:5:6:7:8:9",
        ] {
            assert_eq!(parse_ipv6(bad), None, "{}", bad);
        }
        assert_eq!(
            parse_numeric("[::1]"),
            Some(IpAddress::V6(Ipv6Spec::plain(Ipv6Addr::LOCALHOST)))
        );
        assert_eq!(parse_numeric("localhost"), None);
    }

    #[test]
    fn mapped_peers_are_ipv4_and_ports_are_checked() {
        let sa: SocketAddr = "[::ffff:127.0.0.1]:80".parse().unwrap();
        assert_eq!(
            IpAddress::of_socket_addr(&sa),
            IpAddress::V4(Ipv4Addr::LOCALHOST)
        );
        assert!(port_of_integer(65536).is_err());
        assert!(port_of_integer(-1).is_err());
        assert_eq!(port_of_integer(0).unwrap(), 0);
    }
}
