//! The native network core, shared by every socket dialect (COMM, and
//! later PORT, usocket and sb-bsd-sockets). It knows sockets, addresses
//! and errors; the dialects map their own names and keywords onto it.
//!
//! * [`addr`]: IPv4/IPv6 addresses, scopes, ports, numeric parsing;
//! * [`resolve`]: getaddrinfo on a helper thread, reverse lookups, services;
//! * [`socket`]: the shared socket object (counters, shutdown, close);
//! * [`tcp`]: connect within a deadline, listen, accept;
//! * [`tls`]: TLS on rustls: configurations, verification, the record layer;
//! * [`udp`]: datagram sockets and their I/O (UDP and Unix datagrams);
//! * [`unix`]: Unix-domain names, binding, listening, connecting;
//! * [`stream`]: the socket as a source and sink of the one stream model;
//! * [`registry`]: every open socket, for handles and the live list;
//! * [`error`] and [`conditions`]: the one error vocabulary.
//!
//! Every wait (connect, accept, read, write, resolve) parks only the
//! calling Lisp process on the scheduler's event loop.

pub mod addr;
pub mod conditions;
pub mod error;
pub mod registry;
pub mod resolve;
pub mod socket;
pub mod stream;
pub mod tcp;
pub mod tls;
pub mod udp;
pub mod unix;

pub use error::{Fault, NetError, NetResult, Op};

/// Create the network condition classes.
pub fn install() {
    conditions::install();
}
