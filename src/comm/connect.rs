//! Connecting: OPEN-TCP-STREAM and CONNECT-TO-TCP-SERVER. One overall
//! `:timeout` covers name resolution and every address tried.

use super::{fail, hostspec, opt_hostspec, resolve_spec, seconds, service, HostSpec};
use crate::builtins::{flag, opt};
use crate::ctx::{Ctx, R};
use crate::net::error::{Fault, NetError, NetResult, Op};
use crate::net::socket::SocketCore;
use crate::net::tcp::{self, ConnectOptions};
use crate::value::Value;
use std::time::{Duration, Instant};

/// What a client connection needs from COMM's arguments.
pub struct ClientArgs {
    /// The host to connect to.
    pub host: HostSpec,
    /// The service argument, not yet resolved.
    pub service: Value,
    /// Seconds for the whole connect, resolution included.
    pub timeout: Option<f64>,
    /// Local address to bind.
    pub local_host: Option<HostSpec>,
    /// Local port to bind (with or without an address).
    pub local_port: Value,
    /// The `ipv6` choice.
    pub ipv6: super::Ipv6Choice,
    /// TCP_NODELAY.
    pub nodelay: bool,
    /// SO_KEEPALIVE.
    pub keepalive: bool,
}

/// Resolve, bind and connect. The outer result is for non-local exits,
/// the inner one the connection or the reason it failed.
pub fn connect_client(ctx: &mut Ctx, c: &ClientArgs) -> R<NetResult<SocketCore>> {
    let deadline = c
        .timeout
        .map(|t| Instant::now() + Duration::from_secs_f64(t));
    let port = match service(ctx, &c.service, "tcp")? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e.at(c.host.text(), None))),
    };
    let family = c.ipv6.family();
    let addrs = match resolve_spec(ctx, &c.host, family, deadline)? {
        Ok(a) => a,
        Err(e) => return Ok(Err(e.at(c.host.text(), Some(port)))),
    };
    let local_port = match &c.local_port {
        Value::Nil | Value::Unbound => 0,
        v => match service(ctx, v, "tcp")? {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        },
    };
    let local = match (&c.local_host, local_port) {
        (None, 0) => None,
        (Some(h), p) => match resolve_spec(ctx, h, family, deadline)? {
            Ok(a) => a.first().map(|ip| ip.with_port(p)),
            Err(e) => return Ok(Err(NetError { op: Op::Bind, ..e })),
        },
        (None, p) => {
            // A port without an address: the family of the first target.
            let v6 = addrs.first().is_some_and(|a| a.is_v6());
            let any: std::net::IpAddr = if v6 {
                std::net::Ipv6Addr::UNSPECIFIED.into()
            } else {
                std::net::Ipv4Addr::UNSPECIFIED.into()
            };
            Some(std::net::SocketAddr::new(any, p))
        }
    };
    let targets: Vec<std::net::SocketAddr> = addrs.iter().map(|a| a.with_port(port)).collect();
    let opts = ConnectOptions {
        local,
        nodelay: c.nodelay,
        keepalive: c.keepalive,
    };
    let r = tcp::connect(ctx, &targets, &opts, deadline)?;
    Ok(r.map_err(|e| {
        if e.host.is_none() {
            e.at(c.host.text(), Some(port))
        } else {
            e
        }
    }))
}

fn generalized_bool(a: &[Value], i: usize, default: bool) -> bool {
    match opt(a, i) {
        None => default,
        Some(v) => v.truthy(),
    }
}

crate::defbuiltins! {
    /// Connect to SERVICE on HOSTSPEC and return a bivalent
    /// COMM:SOCKET-STREAM. HOSTSPEC is a name, dotted or IPv6 text, an
    /// IPv4 integer in network order or an IPV6-ADDRESS; SERVICE a port,
    /// digits, or a service name. Each address of the host is tried in
    /// turn within TIMEOUT seconds (resolution included). On failure,
    /// with ERRORP true a COMM:SOCKET-ERROR subclass is signalled, else
    /// NIL and the condition are returned. NODELAY defaults to T.
    /// EXTERNAL-FORMAT :UTF-8 decodes characters as UTF-8 (default:
    /// Latin-1, as LispWorks' BASE-CHAR sockets). With SSL-CTX (T, a
    /// protocol keyword or a context) the stream speaks TLS: the server's
    /// certificate is verified against the system's roots and the host
    /// name (or TLSEXT-HOST-NAME) before the call returns, within
    /// HANDSHAKE-TIMEOUT seconds; a failure is an SSL-CONDITION.
    fn OPEN_TCP_STREAM "COMM:OPEN-TCP-STREAM" "(hostspec service &key direction element-type errorp read-timeout write-timeout timeout ssl-ctx ctx-configure-callback ssl-configure-callback local-address ipv6 local-port nodelay keepalive handshake-timeout tlsext-host-name external-format)" [mv] (ctx, a) {
        let host = hostspec(ctx, &a[0])?;
        let opts = super::streams::stream_options(ctx, opt(a, 2), opt(a, 3), opt(a, 5), opt(a, 6), opt(a, 18))?;
        let ssl = super::tls::Attach::from_args(ctx, a, [8, 9, 10, 16, 17], super::tls::Side::Client)?;
        let args = ClientArgs {
            host,
            service: a[1].clone(),
            timeout: seconds(ctx, a, 7)?,
            local_host: opt_hostspec(ctx, a, 11)?,
            local_port: crate::builtins::opt_nil(a, 13),
            ipv6: super::ipv6_choice(ctx, a, 12, false)?,
            nodelay: generalized_bool(a, 14, true),
            keepalive: flag(a, 15),
        };
        let stream = match connect_client(ctx, &args)? {
            Ok(core) => super::streams::stream_of_core(core, &opts, false),
            Err(e) => return fail(ctx, flag(a, 4), &e),
        };
        match ssl {
            Some(how) => super::tls::connect_with_ssl(ctx, stream, &how, &args.host.text(), flag(a, 4)),
            None => Ok(stream),
        }
    }

    /// Connect like OPEN-TCP-STREAM and return the socket handle (an
    /// integer) for MAKE-INSTANCE 'COMM:SOCKET-STREAM :SOCKET, or NIL and
    /// the condition when ERRORP is NIL.
    fn CONNECT_TO_TCP_SERVER "COMM:CONNECT-TO-TCP-SERVER" "(hostspec service &key errorp timeout local-address local-port keepalive nodelay ipv6)" [mv] (ctx, a) {
        let args = ClientArgs {
            host: hostspec(ctx, &a[0])?,
            service: a[1].clone(),
            timeout: seconds(ctx, a, 3)?,
            local_host: opt_hostspec(ctx, a, 4)?,
            local_port: crate::builtins::opt_nil(a, 5),
            ipv6: super::ipv6_choice(ctx, a, 8, false)?,
            nodelay: generalized_bool(a, 7, true),
            keepalive: flag(a, 6),
        };
        match connect_client(ctx, &args)? {
            Ok(core) => Ok(Value::Fixnum(crate::net::registry::adopt(core).fd as i64)),
            Err(e) => fail(ctx, flag(a, 2), &e),
        }
    }
}

/// An error for a socket handle that is not open.
pub fn bad_handle(handle: &Value) -> NetError {
    NetError::new(
        Fault::Invalid,
        Op::Read,
        format!(
            "{} is not an open socket handle",
            crate::printer::prin1_string(handle)
        ),
    )
}
