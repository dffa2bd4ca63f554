//! Information about IP addresses: GET-HOST-ENTRY (forward and reverse),
//! GET-SERVICE-ENTRY, address text both ways, and IPV6-ADDRESS objects.

use super::{hostspec, ip_of_value, ip_value, HostSpec, Ipv6Object};
use crate::builtins::{flag, opt};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::net::addr::{self, IpAddress, Scope};
use crate::net::resolve::{self, HostEntry, LookupFlags, ServiceKey};
use crate::value::{list_from, Value};

fn str_value(s: &str) -> Value {
    crate::array::Array::string(s)
}

/// The fields GET-HOST-ENTRY can return.
const HOST_FIELDS: &[&str] = &[
    "ADDRESS",
    "IPV4-ADDRESS",
    "IPV6-ADDRESS",
    "ADDRESSES",
    "IPV4-ADDRESSES",
    "IPV6-ADDRESSES",
    "NAME",
    "ALIASES",
];

fn field_names(
    ctx: &mut Ctx,
    v: Option<&Value>,
    default: &str,
    allowed: &[&str],
) -> R<Vec<String>> {
    let items = match v {
        None => return Ok(vec![default.to_string()]),
        Some(v) => crate::builtins::list_items(ctx, v)?,
    };
    let mut out = Vec::new();
    for f in items {
        match &f {
            Value::Symbol(s) if allowed.contains(&s.name()) => out.push(s.name().to_string()),
            other => {
                let ty = format!(
                    "(MEMBER {})",
                    allowed
                        .iter()
                        .map(|n| format!(":{}", n))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                return Err(cond::type_error(ctx, other.clone(), &ty));
            }
        }
    }
    Ok(out)
}

fn field_value(e: &HostEntry, field: &str) -> Value {
    let v4 = || e.addrs.iter().filter(|a| !a.is_v6());
    let v6 = || e.addrs.iter().filter(|a| a.is_v6());
    let first =
        |mut it: Box<dyn Iterator<Item = &IpAddress> + '_>| it.next().map_or(Value::Nil, ip_value);
    match field {
        "ADDRESS" => first(Box::new(e.addrs.iter())),
        "IPV4-ADDRESS" => first(Box::new(v4())),
        "IPV6-ADDRESS" => first(Box::new(v6())),
        "ADDRESSES" => list_from(e.addrs.iter().map(ip_value)),
        "IPV4-ADDRESSES" => list_from(v4().map(ip_value)),
        "IPV6-ADDRESSES" => list_from(v6().map(ip_value)),
        "NAME" => str_value(&e.name),
        _ => list_from(e.aliases.iter().map(|a| str_value(a))),
    }
}

/// Look up a host given as an address: its name by reverse lookup (when
/// wanted), or, for an address of the other family, the name and then
/// that name's addresses of the asked family.
fn entry_of_address(
    ctx: &mut Ctx,
    a: &IpAddress,
    text: Option<&str>,
    family: resolve::Family,
    flags: LookupFlags,
    want_name: bool,
    avoid_reverse: bool,
) -> R<Option<HostEntry>> {
    if family.admits(a) {
        let name = match (want_name && !(avoid_reverse && text.is_some()), text) {
            (true, _) => resolve::reverse(ctx, a)?.unwrap_or_else(|| a.text()),
            (false, Some(t)) => t.to_string(),
            (false, None) => a.text(),
        };
        let aliases = if flags.aliases && name != a.text() {
            match resolve::lookup(ctx, &name, family, flags, None)? {
                Ok(e) => e.aliases,
                Err(_) => Vec::new(),
            }
        } else {
            Vec::new()
        };
        return Ok(Some(HostEntry {
            name,
            aliases,
            addrs: vec![a.clone()],
        }));
    }
    let Some(name) = resolve::reverse(ctx, a)? else {
        return Ok(None);
    };
    Ok(resolve::lookup(ctx, &name, family, flags, None)?.ok())
}

fn scope_value(s: &Option<Scope>) -> Value {
    match s {
        None => Value::Nil,
        Some(Scope::Index(i)) => Value::int(*i as i64),
        Some(Scope::Name(n)) => str_value(n),
    }
}

fn ipv6_arg<'a>(ctx: &mut Ctx, v: &'a Value) -> R<&'a Ipv6Object> {
    match crate::foreign::get::<Ipv6Object>(v) {
        Some(o) => Ok(o),
        None => Err(cond::type_error(ctx, v.clone(), "COMM:IPV6-ADDRESS")),
    }
}

/// The first global IPv6 address of an interface that is up.
fn default_local_ipv6() -> Option<std::net::Ipv6Addr> {
    let mut ifs: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a list we free below.
    if unsafe { libc::getifaddrs(&mut ifs) } != 0 {
        return None;
    }
    let mut found = None;
    let mut p = ifs;
    while !p.is_null() {
        // SAFETY: p walks the list getifaddrs returned.
        let ifa = unsafe { &*p };
        if !ifa.ifa_addr.is_null() && unsafe { (*ifa.ifa_addr).sa_family } as i32 == libc::AF_INET6
        {
            // SAFETY: an AF_INET6 address is a sockaddr_in6.
            let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
            let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            let link_local = (ip.segments()[0] & 0xffc0) == 0xfe80;
            if !ip.is_loopback() && !link_local && (ifa.ifa_flags & libc::IFF_UP as u32) != 0 {
                found = Some(ip);
                break;
            }
        }
        p = ifa.ifa_next;
    }
    // SAFETY: ifs came from getifaddrs.
    unsafe { libc::freeifaddrs(ifs) };
    found
}

crate::defbuiltins! {
    /// Look HOST up (a name, dotted or IPv6 text, an IPv4 integer or an
    /// IPV6-ADDRESS) and return one value per keyword in FIELDS (default
    /// (:ADDRESS)): :ADDRESS :IPV4-ADDRESS :IPV6-ADDRESS :ADDRESSES
    /// :IPV4-ADDRESSES :IPV6-ADDRESSES :NAME :ALIASES. IPv4 addresses are
    /// integers, IPv6 addresses IPV6-ADDRESS objects. IPV6 NIL searches
    /// IPv4 only, T IPv6 only, :ANY (default) both. An address gives its
    /// name by reverse lookup. Returns NIL for an unknown host.
    fn GET_HOST_ENTRY "COMM:GET-HOST-ENTRY" "(host &key fields ipv6 v4mapped addrconfig numerichost avoid-reverse-lookup)" [mv] (ctx, a) {
        let spec = hostspec(ctx, &a[0])?;
        let fields = field_names(ctx, opt(a, 1), "ADDRESS", HOST_FIELDS)?;
        let family = super::ipv6_choice(ctx, a, 2, false)?.family();
        let flags = LookupFlags {
            v4mapped: flag(a, 3),
            addrconfig: flag(a, 4),
            numeric_only: flag(a, 5),
            aliases: fields.iter().any(|f| f == "ALIASES"),
        };
        let want_name = fields.iter().any(|f| f == "NAME" || f == "ALIASES");
        let avoid = flag(a, 6);
        let entry = match &spec {
            HostSpec::Addr(ip) => entry_of_address(ctx, ip, None, family, flags, want_name, avoid)?,
            HostSpec::Name(n) => match addr::parse_numeric(n) {
                Some(ip) => entry_of_address(ctx, &ip, Some(n), family, flags, want_name, avoid)?,
                None => resolve::lookup(ctx, n, family, flags, None)?.ok(),
            },
        };
        let Some(entry) = entry else { return Ok(Value::Nil) };
        let vals: Vec<Value> = fields.iter().map(|f| field_value(&entry, f)).collect();
        Ok(ctx.set_values(vals))
    }
    /// Look SERVICE (a port number, or a name or alias) up in the
    /// services database for PROTOCOL ("tcp", "udp", or NIL for any).
    /// FIELDS: :NAME :PORT :ALIASES :PROTOCOL; the default is (:NAME) for
    /// a port and (:PORT) for a name. NIL if there is no entry.
    fn GET_SERVICE_ENTRY "COMM:GET-SERVICE-ENTRY" "(service protocol &key fields)" [mv] (ctx, a) {
        let key = match &a[0] {
            Value::Fixnum(n) if (0..=65535).contains(n) => ServiceKey::Port(*n as u16),
            v if v.is_integer() => return Err(cond::type_error(ctx, v.clone(), "(INTEGER 0 65535)")),
            v => match crate::array::string_of(v) {
                Some(_) => ServiceKey::Name(""),
                None => return Err(cond::type_error(ctx, v.clone(), "(OR STRING (INTEGER 0 65535))")),
            },
        };
        let name_text = crate::array::string_of(&a[0]).unwrap_or_default();
        let key = match key { ServiceKey::Name(_) => ServiceKey::Name(&name_text), k => k };
        let proto = match &a[1] {
            Value::Nil => None,
            v => Some(crate::builtins::string_designator(ctx, v)?.to_lowercase()),
        };
        let default = if matches!(key, ServiceKey::Port(_)) { "NAME" } else { "PORT" };
        let fields = field_names(ctx, opt(a, 2), default, &["NAME", "PORT", "ALIASES", "PROTOCOL"])?;
        let Some(e) = resolve::service_entry(key, proto.as_deref()) else { return Ok(Value::Nil) };
        let vals: Vec<Value> = fields.iter().map(|f| match f.as_str() {
            "NAME" => str_value(&e.name),
            "PORT" => Value::Fixnum(e.port as i64),
            "ALIASES" => list_from(e.aliases.iter().map(|s| str_value(s))),
            _ => str_value(&e.protocol),
        }).collect();
        Ok(ctx.set_values(vals))
    }
    /// The text of an IP address: dotted for an IPv4 integer, standard
    /// notation (without scope) for an IPV6-ADDRESS.
    fn IP_ADDRESS_STRING "COMM:IP-ADDRESS-STRING" "(ip-address)" (ctx, a) {
        match ip_of_value(&a[0]) {
            Some(ip) => Ok(str_value(&ip.text())),
            None => Err(cond::type_error(ctx, a[0].clone(), "(OR (INTEGER 0 4294967295) COMM:IPV6-ADDRESS)")),
        }
    }
    /// Parse address text: a dotted quad gives an IPv4 integer, anything
    /// else is parsed as IPv6 (giving an IPV6-ADDRESS) or gives NIL.
    fn STRING_IP_ADDRESS "COMM:STRING-IP-ADDRESS" "(ip-address-string)" (ctx, a) {
        let s = crate::builtins::string_text(ctx, &a[0])?;
        if let Some(v4) = addr::parse_dotted(&s) {
            return Ok(Value::int(addr::integer_of_ipv4(v4) as i64));
        }
        Ok(addr::parse_ipv6(&s).map_or(Value::Nil, |spec| crate::foreign::make(Ipv6Object(spec))))
    }
    /// Parse IPv6 text (with `::`, an embedded or plain dotted quad, an
    /// optional %scope and /prefix-length) between START and END into an
    /// IPV6-ADDRESS, or NIL. TRIM-WHITESPACE (default T) ignores leading
    /// and trailing whitespace.
    fn PARSE_IPV6_ADDRESS "COMM:PARSE-IPV6-ADDRESS" "(string &key (start 0) end (trim-whitespace t))" (ctx, a) {
        let chars = crate::builtins::string(ctx, &a[0])?.chars();
        let start = crate::builtins::opt_index(ctx, a, 1)?.unwrap_or(0);
        let end = crate::builtins::opt_index(ctx, a, 2)?.unwrap_or(chars.len());
        if start > end || end > chars.len() {
            return Err(cond::simple_type_error(ctx, format!("The bounding indices {} and {} are bad for a string of length {}.", start, end, chars.len()), a[0].clone(), "STRING"));
        }
        let mut text: String = chars[start..end].iter().collect();
        if opt(a, 3).is_none_or(|v| v.truthy()) {
            text = text.trim().to_string();
        }
        Ok(addr::parse_ipv6(&text).map_or(Value::Nil, |spec| crate::foreign::make(Ipv6Object(spec))))
    }
    /// Whether OBJECT is an IPV6-ADDRESS.
    fn IPV6_ADDRESS_P "COMM:IPV6-ADDRESS-P" "(object)" (ctx, a) {
        Ok(Value::bool(crate::foreign::get::<Ipv6Object>(&a[0]).is_some()))
    }
    /// The standard text of an IPV6-ADDRESS, without its scope.
    fn IPV6_ADDRESS_STRING "COMM:IPV6-ADDRESS-STRING" "(ipv6-address)" (ctx, a) {
        let o = ipv6_arg(ctx, &a[0])?;
        Ok(str_value(&o.0.address_text()))
    }
    /// The scope (zone) of an IPV6-ADDRESS: an integer, a string, or NIL.
    fn IPV6_ADDRESS_SCOPE_ID "COMM:IPV6-ADDRESS-SCOPE-ID" "(ipv6-address)" (ctx, a) {
        let o = ipv6_arg(ctx, &a[0])?;
        Ok(scope_value(&o.0.scope))
    }
    /// A global IPv6 address of this host, or NIL if it has none.
    fn GET_DEFAULT_LOCAL_IPV6_ADDRESS "COMM:GET-DEFAULT-LOCAL-IPV6-ADDRESS" "()" (ctx, a) {
        Ok(default_local_ipv6().map_or(Value::Nil, |ip| ip_value(&IpAddress::V6(addr::Ipv6Spec::plain(ip)))))
    }
    /// The default zone for link-local addresses: NIL (netlisp sets none;
    /// give the zone in the address text, as in "fe80::1%eth0").
    fn GET_IP_DEFAULT_ZONE_ID "COMM:GET-IP-DEFAULT-ZONE-ID" "()" (ctx, a) {
        Ok(Value::Nil)
    }
}
