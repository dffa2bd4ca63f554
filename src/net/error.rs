//! The one error vocabulary of the network core: every failure of a
//! socket call becomes a [`NetError`] with a [`Fault`] (what went wrong,
//! from the errno), the [`Op`] that failed, and the address involved.
//! `net::conditions` turns it into a Lisp condition; the dialects (COMM,
//! PORT, usocket) see the same facts.

use std::fmt;

/// What went wrong, independent of the call that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// ECONNREFUSED: nothing listens there (or an ICMP port unreachable).
    Refused,
    /// ECONNRESET / ECONNABORTED: the peer reset the connection.
    Reset,
    /// EPIPE: writing after the peer closed.
    BrokenPipe,
    /// EADDRINUSE.
    AddressInUse,
    /// EADDRNOTAVAIL: the local address is not on this host.
    AddressNotAvailable,
    /// EACCES / EPERM: e.g. a port below 1024 without privilege.
    Permission,
    /// The name has no addresses (or not of the asked family).
    HostNotFound,
    /// The service name is not in the services database.
    ServiceNotFound,
    /// ENETUNREACH / ENETDOWN.
    NetworkUnreachable,
    /// EHOSTUNREACH / EHOSTDOWN.
    HostUnreachable,
    /// A timeout set by the program (or ETIMEDOUT from the kernel).
    TimedOut,
    /// EMFILE / ENFILE / ENOBUFS / ENOMEM: out of descriptors or buffers.
    NoResources,
    /// A bad argument found by the core (port out of range, bad address).
    Invalid,
    /// The stream or socket was shut down or closed in that direction.
    Shutdown,
    /// A datagram did not fit the buffer it was received into.
    Truncated,
    /// TLS: the peer's certificate was rejected; the reason keyword
    /// (EXPIRED, UNKNOWN-ISSUER, WRONG-HOST-NAME, SELF-SIGNED, ...).
    TlsVerification(&'static str),
    /// TLS: the peer closed the connection during the handshake.
    TlsClosed,
    /// TLS: the handshake did not finish within its timeout.
    TlsHandshakeTimeout,
    /// TLS: any other protocol failure (an alert, a bad record, no
    /// common protocol version or cipher suite).
    TlsFailure,
    /// Any other errno.
    Other,
}

impl Fault {
    /// The fault an errno stands for.
    pub fn of_errno(e: i32) -> Fault {
        match e {
            libc::ECONNREFUSED => Fault::Refused,
            libc::ECONNRESET | libc::ECONNABORTED => Fault::Reset,
            libc::EPIPE => Fault::BrokenPipe,
            libc::EADDRINUSE => Fault::AddressInUse,
            libc::EADDRNOTAVAIL => Fault::AddressNotAvailable,
            libc::EACCES | libc::EPERM => Fault::Permission,
            libc::ENETUNREACH | libc::ENETDOWN => Fault::NetworkUnreachable,
            libc::EHOSTUNREACH | libc::EHOSTDOWN => Fault::HostUnreachable,
            libc::ETIMEDOUT => Fault::TimedOut,
            libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM => Fault::NoResources,
            libc::EINVAL | libc::EAFNOSUPPORT => Fault::Invalid,
            libc::ENOTCONN | libc::ESHUTDOWN | libc::EBADF => Fault::Shutdown,
            _ => Fault::Other,
        }
    }
}

/// The socket call that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Looking a name or service up.
    Resolve,
    /// socket(2).
    Create,
    /// bind(2).
    Bind,
    /// listen(2).
    Listen,
    /// connect(2).
    Connect,
    /// accept(2).
    Accept,
    /// Reading.
    Read,
    /// Writing.
    Write,
    /// setsockopt / getsockopt.
    Option,
    /// shutdown(2) or close(2).
    Close,
    /// The TLS handshake.
    Handshake,
}

impl Op {
    /// The verb used in messages.
    pub fn verb(self) -> &'static str {
        match self {
            Op::Resolve => "look up",
            Op::Create => "create a socket for",
            Op::Bind => "bind to",
            Op::Listen => "listen on",
            Op::Connect => "connect to",
            Op::Accept => "accept on",
            Op::Read => "read from",
            Op::Write => "write to",
            Op::Option => "set an option on",
            Op::Close => "close",
            Op::Handshake => "complete the TLS handshake with",
        }
    }

    /// Whether the failure belongs to setting up a local socket (COMM's
    /// SOCKET-CREATE-ERROR), connecting (SOCKET-CONNECT-ERROR) or I/O on
    /// a connected socket (SOCKET-IO-ERROR).
    pub fn phase(self) -> Phase {
        match self {
            Op::Create | Op::Bind | Op::Listen | Op::Option => Phase::Create,
            Op::Resolve | Op::Connect => Phase::Connect,
            Op::Accept | Op::Read | Op::Write | Op::Close | Op::Handshake => Phase::Io,
        }
    }
}

/// The three phases COMM's conditions distinguish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Making and binding the local socket.
    Create,
    /// Resolving and connecting.
    Connect,
    /// Reading and writing a connected socket.
    Io,
}

/// A failed network operation.
#[derive(Clone, Debug)]
pub struct NetError {
    /// What went wrong.
    pub fault: Fault,
    /// The errno, when the OS reported one.
    pub errno: Option<i32>,
    /// The call that failed.
    pub op: Op,
    /// The host (name or address text) involved, if any.
    pub host: Option<String>,
    /// The port involved, if any.
    pub port: Option<u16>,
    /// The explanation (strerror, the resolver's message, or our own).
    pub message: String,
}

impl NetError {
    /// An error from an OS call.
    pub fn os(op: Op, e: &std::io::Error) -> NetError {
        let errno = e.raw_os_error();
        let fault = match errno {
            Some(n) => Fault::of_errno(n),
            None if e.kind() == std::io::ErrorKind::TimedOut => Fault::TimedOut,
            None => Fault::Other,
        };
        let message = match errno {
            // The OS text without Rust's " (os error N)" suffix.
            Some(n) => strerror(n),
            None => e.to_string(),
        };
        NetError {
            fault,
            errno,
            op,
            host: None,
            port: None,
            message,
        }
    }

    /// An error found by netlisp itself (no errno).
    pub fn new(fault: Fault, op: Op, message: impl Into<String>) -> NetError {
        NetError {
            fault,
            errno: None,
            op,
            host: None,
            port: None,
            message: message.into(),
        }
    }

    /// The error of the last OS call.
    pub fn last(op: Op) -> NetError {
        NetError::os(op, &std::io::Error::last_os_error())
    }

    /// The same error, naming the address it concerns.
    pub fn at(mut self, host: impl Into<String>, port: Option<u16>) -> NetError {
        self.host = Some(host.into());
        self.port = port;
        self
    }

    /// "host:port", "[v6]:port", "host" or "" for messages.
    pub fn address_text(&self) -> String {
        match (&self.host, self.port) {
            (Some(h), Some(p)) if h.contains(':') => format!("[{}]:{}", h, p),
            (Some(h), Some(p)) => format!("{}:{}", h, p),
            (Some(h), None) => h.clone(),
            (None, Some(p)) => format!("port {}", p),
            (None, None) => String::new(),
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = self.address_text();
        write!(f, "Failed to {}", self.op.verb())?;
        if !addr.is_empty() {
            write!(f, " {}", addr)?;
        } else if matches!(self.op, Op::Read | Op::Write | Op::Option) {
            write!(f, " the socket")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(e) = self.errno {
            write!(f, " (errno {})", e)?;
        }
        Ok(())
    }
}

/// The OS's text for an errno.
pub fn strerror(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The result of a network call.
pub type NetResult<T> = Result<T, NetError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_map_to_faults_and_messages_name_the_address() {
        let e = NetError::os(
            Op::Connect,
            &std::io::Error::from_raw_os_error(libc::ECONNREFUSED),
        )
        .at("127.0.0.1", Some(9));
        assert_eq!(e.fault, Fault::Refused);
        assert_eq!(
            e.to_string(),
            "Failed to connect to 127.0.0.1:9: Connection refused (errno 111)"
        );
        let e = NetError::new(Fault::TimedOut, Op::Read, "timed out after 0.5 seconds");
        assert_eq!(
            e.to_string(),
            "Failed to read from the socket: timed out after 0.5 seconds"
        );
        let e = NetError::os(
            Op::Bind,
            &std::io::Error::from_raw_os_error(libc::EADDRINUSE),
        )
        .at("::1", Some(80));
        assert_eq!(e.address_text(), "[::1]:80");
        assert_eq!(e.op.phase(), Phase::Create);
        assert_eq!(Fault::of_errno(libc::EPIPE), Fault::BrokenPipe);
    }
}
