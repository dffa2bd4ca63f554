//! TLS on rustls: client and server configurations (system roots, PEM
//! files, client certificates, ALPN, protocol versions), certificate
//! verification that names its reason, throw-away self-signed
//! certificates, and [`TlsLayer`], the record layer a socket stream runs
//! its bytes through. The layer is driven by the stream's own
//! non-blocking reads and writes, so a TLS stream parks on the same
//! event loop as a plain one.

use super::error::{Fault, NetError, Op};
use super::socket::SocketCore;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig};
use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};

/// The crypto provider every configuration uses (ring).
pub fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The trusted roots and where they came from.
pub struct Roots {
    /// The certificates.
    pub store: Arc<RootCertStore>,
    /// "system" (the OS store, or SSL_CERT_FILE / SSL_CERT_DIR) or
    /// "built-in" (webpki-roots, used when the system has none).
    pub source: &'static str,
}

/// The system's trusted roots, loaded once per process. When the system
/// store is empty or unreadable, Mozilla's list compiled into netlisp
/// (webpki-roots) is used instead.
pub fn system_roots() -> &'static Roots {
    static R: OnceLock<Roots> = OnceLock::new();
    R.get_or_init(|| {
        let mut store = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = store.add_parsable_certificates(found.certs);
        if added > 0 {
            return Roots {
                store: Arc::new(store),
                source: "system",
            };
        }
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Roots {
            store: Arc::new(store),
            source: "built-in",
        }
    })
}

/// Which protocol versions a context allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Versions {
    /// TLS 1.2 and 1.3 (the default).
    Any,
    /// Only TLS 1.2.
    Tls12,
    /// Only TLS 1.3.
    Tls13,
}

impl Versions {
    fn list(self) -> &'static [&'static rustls::SupportedProtocolVersion] {
        static TLS12: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
        static TLS13: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
        match self {
            Versions::Any => rustls::ALL_VERSIONS,
            Versions::Tls12 => &TLS12,
            Versions::Tls13 => &TLS13,
        }
    }
}

/// A certificate chain and its private key.
pub struct Identity {
    /// End entity first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The key.
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// Whether and how a server asks clients for certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// Never asks (OpenSSL's SSL_VERIFY_NONE).
    Never,
    /// Asks, and checks a certificate if one is sent.
    Optional,
    /// Asks and refuses clients without a valid certificate.
    Required,
}

/// What a client configuration is made from.
#[derive(Clone)]
pub struct ClientSettings {
    /// Protocol versions.
    pub versions: Versions,
    /// Verify the server's chain and name (false only when asked).
    pub verify: bool,
    /// Trusted roots; empty means the system's.
    pub roots: Vec<CertificateDer<'static>>,
    /// A client certificate to present.
    pub identity: Option<Identity>,
    /// ALPN protocols to offer, in order of preference.
    pub alpn: Vec<Vec<u8>>,
}

/// What a server configuration is made from.
#[derive(Clone)]
pub struct ServerSettings {
    /// Protocol versions.
    pub versions: Versions,
    /// The server's certificate and key.
    pub identity: Identity,
    /// Client certificates.
    pub client_auth: ClientAuth,
    /// Roots client certificates must chain to; empty means the system's.
    pub roots: Vec<CertificateDer<'static>>,
    /// ALPN protocols accepted, in order of preference.
    pub alpn: Vec<Vec<u8>>,
}

fn root_store(extra: &[CertificateDer<'static>]) -> Result<Arc<RootCertStore>, String> {
    if extra.is_empty() {
        return Ok(system_roots().store.clone());
    }
    let mut store = RootCertStore::empty();
    for c in extra {
        store
            .add(c.clone())
            .map_err(|e| format!("cannot trust that certificate: {}", e))?;
    }
    Ok(Arc::new(store))
}

/// A rustls client configuration.
pub fn client_config(s: &ClientSettings) -> Result<Arc<ClientConfig>, String> {
    let verifier: Arc<dyn ServerCertVerifier> = if s.verify {
        let inner = WebPkiServerVerifier::builder_with_provider(root_store(&s.roots)?, provider())
            .build()
            .map_err(|e| e.to_string())?;
        Arc::new(NamingVerifier { inner })
    } else {
        Arc::new(NoVerifier)
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(s.versions.list())
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut cfg = match &s.identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
            .map_err(|e| format!("unusable client certificate or key: {}", e))?,
        None => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = s.alpn.clone();
    Ok(Arc::new(cfg))
}

/// A rustls server configuration.
pub fn server_config(s: &ServerSettings) -> Result<Arc<ServerConfig>, String> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(s.versions.list())
        .map_err(|e| e.to_string())?;
    let builder = match s.client_auth {
        ClientAuth::Never => builder.with_no_client_auth(),
        auth => {
            let b = WebPkiClientVerifier::builder_with_provider(root_store(&s.roots)?, provider());
            let b = if auth == ClientAuth::Optional {
                b.allow_unauthenticated()
            } else {
                b
            };
            builder.with_client_cert_verifier(b.build().map_err(|e| e.to_string())?)
        }
    };
    let mut cfg = builder
        .with_single_cert(s.identity.chain.clone(), s.identity.key.clone_key())
        .map_err(|e| format!("unusable certificate or key: {}", e))?;
    cfg.alpn_protocols = s.alpn.clone();
    Ok(Arc::new(cfg))
}

/// Certificates from PEM text ("CERTIFICATE" blocks, in order).
pub fn certs_from_pem(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    match certs {
        Ok(c) if c.is_empty() => Err(format!("{} holds no PEM certificate", what)),
        Ok(c) => Ok(c),
        Err(e) => Err(format!("{}: {}", what, e)),
    }
}

/// A private key from PEM text (PKCS#8, PKCS#1 RSA or SEC1 EC), or an
/// encrypted PKCS#8 key ("ENCRYPTED PRIVATE KEY", what `openssl pkey
/// -aes256` writes) decrypted with `password`.
pub fn key_from_pem(
    pem: &[u8],
    what: &str,
    password: Option<&str>,
) -> Result<PrivateKeyDer<'static>, String> {
    let text = String::from_utf8_lossy(pem);
    if text.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        let Some(password) = password else {
            return Err(format!(
                "{} holds an encrypted private key: give its password with :PASSWORD",
                what
            ));
        };
        return decrypt_pkcs8(&text, what, password);
    }
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(format!(
            "{} holds a key in OpenSSL's old encrypted format, which netlisp cannot read; \
             convert it with `openssl pkcs8 -topk8 -in KEY -out NEW` (encrypted PKCS#8) \
             or `openssl pkey -in KEY -out PLAIN`",
            what
        ));
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("{} holds no PEM private key", what)
        }
        e => format!("{}: {}", what, e),
    })
}

fn decrypt_pkcs8(text: &str, what: &str, password: &str) -> Result<PrivateKeyDer<'static>, String> {
    let start = text
        .find("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        .unwrap_or(0);
    let end_tag = "-----END ENCRYPTED PRIVATE KEY-----";
    let end = text[start..]
        .find(end_tag)
        .map(|e| start + e + end_tag.len())
        .ok_or_else(|| format!("{}: the encrypted key has no END line", what))?;
    let (_, der) = pkcs8::der::pem::decode_vec(&text.as_bytes()[start..end])
        .map_err(|e| format!("{}: {}", what, e))?;
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
        .map_err(|e| format!("{}: {}", what, e))?;
    let plain = info.decrypt(password).map_err(|_| {
        format!(
            "{}: cannot decrypt the private key (wrong password, or a cipher netlisp does not have)",
            what
        )
    })?;
    Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()))
}

/// Read a file for a TLS setting, naming it in the error.
pub fn read_file(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        let why = e
            .raw_os_error()
            .map_or_else(|| e.to_string(), super::error::strerror);
        format!("cannot read {}: {}", path, why)
    })
}

/// A new self-signed certificate for `names` (DNS names or addresses),
/// its key, and the certificate as PEM text (for a client to trust).
pub fn self_signed(names: &[String]) -> Result<(Identity, String), String> {
    let ck = rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| e.to_string())?;
    let pem = ck.cert.pem();
    let key = PrivateKeyDer::try_from(ck.signing_key.serialize_der()).map_err(|e| e.to_string())?;
    Ok((
        Identity {
            chain: vec![ck.cert.der().clone()],
            key,
        },
        pem,
    ))
}

/// The standard verifier, except that a chain of one certificate that
/// signed itself is reported as SELF-SIGNED rather than UNKNOWN-ISSUER.
#[derive(Debug)]
struct NamingVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

/// The marker error for a self-signed server certificate.
#[derive(Debug)]
struct SelfSigned;

impl std::fmt::Display for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the certificate is self-signed and not trusted")
    }
}

impl std::error::Error for SelfSigned {}

impl ServerCertVerifier for NamingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map_err(|e| match e {
                // A lone certificate that issued itself and is not trusted
                // (webpki says "unknown issuer", or "CA used as end entity"
                // for the CA:TRUE certificates `openssl req -x509` makes).
                rustls::Error::InvalidCertificate(ref c)
                    if !matches!(
                        c,
                        CertificateError::Expired
                            | CertificateError::ExpiredContext { .. }
                            | CertificateError::NotValidYet
                            | CertificateError::NotValidYetContext { .. }
                            | CertificateError::NotValidForName
                            | CertificateError::NotValidForNameContext { .. }
                    ) && intermediates.is_empty()
                        && der::is_self_issued(end_entity) =>
                {
                    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
                        Arc::new(SelfSigned),
                    )))
                }
                e => e,
            })
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Accepts any certificate (verification turned off on purpose); the
/// handshake signatures are still checked.
#[derive(Debug)]
struct NoVerifier;

impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Just enough DER to compare a certificate's issuer and subject.
mod der {
    /// (tag, contents, rest) of the DER element at the start of `b`.
    fn element(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *b.first()?;
        let first = *b.get(1)? as usize;
        let (len, head) = if first < 0x80 {
            (first, 2)
        } else {
            let n = first & 0x7f;
            if n == 0 || n > 4 {
                return None;
            }
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | *b.get(2 + i)? as usize;
            }
            (len, 2 + n)
        };
        let end = head.checked_add(len)?;
        Some((tag, b.get(head..end)?, b.get(end..)?))
    }

    /// Whether the certificate names itself as its issuer.
    pub fn is_self_issued(cert: &[u8]) -> bool {
        (|| {
            let (_, cert, _) = element(cert)?;
            let (_, tbs, _) = element(cert)?;
            let mut rest = tbs;
            // An explicit [0] version comes first when present.
            if rest.first() == Some(&0xa0) {
                rest = element(rest)?.2;
            }
            let (_, _, rest) = element(rest)?; // serial number
            let (_, _, rest) = element(rest)?; // signature algorithm
            let (_, issuer, rest) = element(rest)?;
            let (_, _, rest) = element(rest)?; // validity
            let (_, subject, _) = element(rest)?;
            Some(issuer == subject)
        })()
        .unwrap_or(false)
    }
}

/// A TLS failure carried inside an `std::io::Error` from the record
/// layer up to the stream, where it becomes an SSL condition.
#[derive(Debug)]
pub struct TlsFault {
    /// The fault (verification, closed, other failure).
    pub fault: Fault,
    /// What happened, for the message.
    pub message: String,
}

impl std::fmt::Display for TlsFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TlsFault {}

impl TlsFault {
    fn io(self) -> std::io::Error {
        std::io::Error::other(self)
    }

    /// The fault carried by an I/O error, if it is a TLS one.
    pub fn of(e: &std::io::Error) -> Option<&TlsFault> {
        e.get_ref()?.downcast_ref::<TlsFault>()
    }

    /// The network error for this fault during `op`.
    pub fn net_error(&self, op: Op) -> NetError {
        NetError::new(self.fault, op, self.message.clone())
    }
}

/// The reason keyword and message for a rejected certificate.
fn certificate_reason(e: &CertificateError) -> &'static str {
    use CertificateError as C;
    match e {
        C::Expired | C::ExpiredContext { .. } => "EXPIRED",
        C::NotValidYet | C::NotValidYetContext { .. } => "NOT-YET-VALID",
        C::UnknownIssuer => "UNKNOWN-ISSUER",
        C::NotValidForName | C::NotValidForNameContext { .. } => "WRONG-HOST-NAME",
        C::Revoked => "REVOKED",
        C::BadSignature => "BAD-SIGNATURE",
        C::BadEncoding => "BAD-ENCODING",
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => "INVALID-PURPOSE",
        C::Other(o) if o.0.downcast_ref::<SelfSigned>().is_some() => "SELF-SIGNED",
        _ => "INVALID-CERTIFICATE",
    }
}

/// The fault for a rustls error.
pub fn fault_of(e: &rustls::Error) -> TlsFault {
    match e {
        rustls::Error::InvalidCertificate(c) => TlsFault {
            fault: Fault::TlsVerification(certificate_reason(c)),
            message: format!(
                "the peer's certificate was rejected: {}",
                describe_cert_error(c)
            ),
        },
        rustls::Error::AlertReceived(a) => TlsFault {
            fault: Fault::TlsFailure,
            message: alert_text(a),
        },
        e => TlsFault {
            fault: Fault::TlsFailure,
            message: e.to_string(),
        },
    }
}

/// A UNIX time as "YYYY-MM-DD hh:mm:ss UTC".
fn utc_text(t: &UnixTime) -> String {
    let secs = t.as_secs();
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        y,
        m,
        d,
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// "the peer sent the TLS alert "unknown CA" (...)" for an alert.
fn alert_text(a: &rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    let debug = format!("{:?}", a);
    // CamelCase to words, keeping acronyms (UnknownCA -> unknown CA).
    let mut words = String::new();
    let chars: Vec<char> = debug.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let starts_word = c.is_uppercase()
            && i > 0
            && (chars[i - 1].is_lowercase() || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if starts_word {
            words.push(' ');
        }
        words.push(c);
    }
    let words: Vec<String> = words
        .split(' ')
        .map(|w| {
            if w.len() > 1 && w.chars().all(|c| c.is_uppercase()) {
                w.to_string()
            } else {
                w.to_lowercase()
            }
        })
        .collect();
    let why = match a {
        A::BadCertificate | A::UnknownCA | A::CertificateUnknown | A::CertificateExpired => {
            " (the peer does not accept our certificate)"
        }
        A::CertificateRequired => " (the peer wants a client certificate)",
        A::ProtocolVersion => " (no TLS version both sides allow)",
        A::HandshakeFailure => " (no cipher suite or parameters both sides allow)",
        A::NoApplicationProtocol => " (no ALPN protocol both sides allow)",
        _ => "",
    };
    format!("the peer sent the TLS alert \"{}\"{}", words.join(" "), why)
}

fn describe_cert_error(c: &CertificateError) -> String {
    match c {
        CertificateError::ExpiredContext { not_after, .. } => {
            format!("it expired on {}", utc_text(not_after))
        }
        CertificateError::NotValidYetContext { not_before, .. } => {
            format!("it is not valid before {}", utc_text(not_before))
        }
        CertificateError::Other(o) => o.0.to_string(),
        CertificateError::UnknownIssuer => {
            "it is not signed by a trusted certificate authority (unknown issuer)".into()
        }
        c => {
            let s = rustls::Error::InvalidCertificate(c.clone()).to_string();
            s.strip_prefix("invalid peer certificate: ")
                .unwrap_or(&s)
                .to_string()
        }
    }
}

/// Reads from the socket for rustls.
struct SockRead<'a>(&'a SocketCore);

impl Read for SockRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.try_recv(buf)? {
            Some(n) => Ok(n),
            None => Err(std::io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// Writes to the socket for rustls.
struct SockWrite<'a>(&'a SocketCore);

impl Write for SockWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.try_send(buf)? {
            Some(n) => Ok(n),
            None => Err(std::io::ErrorKind::WouldBlock.into()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads from the socket for rustls, never past the end of the current
/// record (so nothing after a close_notify is taken).
struct RecordRead<'a> {
    core: &'a SocketCore,
    left: &'a mut usize,
}

impl Read for RecordRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(*self.left);
        match self.core.try_recv(&mut buf[..n])? {
            Some(k) => {
                *self.left -= k;
                Ok(k)
            }
            None => Err(std::io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// Where a TLS shutdown (DETACH-SSL) stands.
pub enum Shutdown {
    /// Both close_notify alerts went; the plaintext that came before the
    /// peer's, which the stream must still deliver.
    Done(Vec<u8>),
    /// Wait for the socket (readable if `waits_to_read`).
    Wait,
    /// Part of a record header is there: wait a little and try again.
    Partial,
}

/// Most plaintext handed to rustls in one write (four full records).
const WRITE_SLICE: usize = 4 * 16 * 1024;

/// TLS over a socket: the record layer between a socket stream's
/// buffers and the socket.
pub struct TlsLayer {
    conn: rustls::Connection,
    /// Plaintext of the write in progress, taken by rustls but not yet
    /// on the wire; reported to the caller once it is.
    inflight: usize,
    /// The call that would block waits for readability (else writability).
    wait_read: bool,
    /// Seconds the handshake may take.
    pub handshake_timeout: Option<f64>,
    /// The fatal failure, repeated to every later call.
    failed: Option<(Fault, String)>,
    /// The side, for describe.
    pub server: bool,
    /// The name a client verifies the server against.
    name: Option<ServerName<'static>>,
    /// Shutting down: our close_notify is queued.
    closing: bool,
    /// Bytes of the peer's current record still to read while shutting
    /// down.
    record_left: usize,
    /// Plaintext that arrived while shutting down.
    leftover: Vec<u8>,
}

fn is_would_block(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
}

impl TlsLayer {
    /// A client connection to `name` (a DNS name or an address text).
    pub fn client(config: Arc<ClientConfig>, name: &str) -> Result<TlsLayer, String> {
        let server_name = ServerName::try_from(name.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|_| format!("{:?} is not a valid TLS server name", name))?
            .to_owned();
        let conn = rustls::ClientConnection::new(config, server_name.clone())
            .map_err(|e| e.to_string())?;
        let mut layer = TlsLayer::new(conn.into(), false);
        layer.name = Some(server_name);
        Ok(layer)
    }

    /// A server connection.
    pub fn server(config: Arc<ServerConfig>) -> Result<TlsLayer, String> {
        let conn = rustls::ServerConnection::new(config).map_err(|e| e.to_string())?;
        Ok(TlsLayer::new(conn.into(), true))
    }

    fn new(conn: rustls::Connection, server: bool) -> TlsLayer {
        TlsLayer {
            conn,
            inflight: 0,
            wait_read: true,
            handshake_timeout: None,
            failed: None,
            server,
            name: None,
            closing: false,
            record_left: 0,
            leftover: Vec::new(),
        }
    }

    /// Whether the handshake is still going on.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Whether a call that returned "would block" waits to read.
    pub fn waits_to_read(&self) -> bool {
        self.wait_read
    }

    fn check_failed(&self) -> std::io::Result<()> {
        match &self.failed {
            Some((fault, message)) => Err(TlsFault {
                fault: *fault,
                message: message.clone(),
            }
            .io()),
            None => Ok(()),
        }
    }

    fn fail(&mut self, core: &SocketCore, f: TlsFault) -> std::io::Error {
        // Send the alert rustls queued, if the socket takes it.
        let _ = self.flush(core);
        self.failed = Some((f.fault, f.message.clone()));
        f.io()
    }

    /// Send what rustls has queued: Ok(false) if the socket is full.
    fn flush(&mut self, core: &SocketCore) -> std::io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut SockWrite(core)) {
                Ok(_) => {}
                Err(e) if is_would_block(&e) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Read records from the socket and process them: Ok(false) if the
    /// socket has nothing now.
    fn receive(&mut self, core: &SocketCore) -> std::io::Result<bool> {
        match self.conn.read_tls(&mut SockRead(core)) {
            Ok(0) if self.conn.is_handshaking() => {
                let side = if self.server { "client" } else { "server" };
                return Err(self.fail(
                    core,
                    TlsFault {
                        fault: Fault::TlsClosed,
                        message: format!(
                            "the {} closed the connection during the TLS handshake",
                            side
                        ),
                    },
                ));
            }
            Ok(_) => {}
            Err(e) if is_would_block(&e) => return Ok(false),
            Err(e) => return Err(e),
        }
        if let Err(e) = self.conn.process_new_packets() {
            return Err(self.fail(core, fault_of(&e)));
        }
        Ok(true)
    }

    /// Decrypted bytes into `buf`: Some(n), Some(0) at the end of the
    /// stream, or None if the socket must be waited on.
    pub fn try_read(
        &mut self,
        core: &SocketCore,
        buf: &mut [u8],
    ) -> std::io::Result<Option<usize>> {
        loop {
            self.check_failed()?;
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if is_would_block(&e) => {}
                // The peer closed the TCP connection without a
                // close_notify: the end of the stream, as for plain TCP
                // (HTTP/1.0 servers do this).
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(Some(0)),
                Err(e) => return Err(e),
            }
            if !self.flush(core)? {
                self.wait_read = false;
                return Ok(None);
            }
            if !self.receive(core)? {
                self.wait_read = true;
                return Ok(None);
            }
        }
    }

    /// Encrypt and send bytes of `buf`: Some(n) once they are on the
    /// wire, None if the socket must be waited on (call again with the
    /// same bytes).
    pub fn try_write(&mut self, core: &SocketCore, buf: &[u8]) -> std::io::Result<Option<usize>> {
        loop {
            self.check_failed()?;
            if self.inflight > 0 || buf.is_empty() {
                break;
            }
            if self.conn.is_handshaking() {
                if !self.flush(core)? {
                    self.wait_read = false;
                    return Ok(None);
                }
                if !self.conn.is_handshaking() {
                    continue;
                }
                if !self.receive(core)? {
                    self.wait_read = true;
                    return Ok(None);
                }
                continue;
            }
            let n = buf.len().min(WRITE_SLICE);
            self.inflight = self.conn.writer().write(&buf[..n])?;
            break;
        }
        if !self.flush(core)? {
            self.wait_read = false;
            return Ok(None);
        }
        Ok(Some(std::mem::take(&mut self.inflight)))
    }

    /// Drive the handshake without application data: Some(true) when it
    /// is done, None if the socket must be waited on.
    pub fn try_handshake(&mut self, core: &SocketCore) -> std::io::Result<Option<bool>> {
        loop {
            self.check_failed()?;
            if !self.flush(core)? {
                self.wait_read = false;
                return Ok(None);
            }
            if !self.conn.is_handshaking() {
                return Ok(Some(true));
            }
            if !self.receive(core)? {
                self.wait_read = true;
                return Ok(None);
            }
        }
    }

    /// Queue a close_notify and send what the socket takes now.
    pub fn close_notify(&mut self, core: &SocketCore) {
        if self.failed.is_none() {
            self.conn.send_close_notify();
            let _ = self.flush(core);
        }
    }

    /// One step of a two-way shutdown that leaves the socket positioned
    /// just after the peer's close_notify, so the connection can go on
    /// in plain text (a STARTTLS session ending its TLS part).
    pub fn try_shutdown(&mut self, core: &SocketCore) -> std::io::Result<Shutdown> {
        self.check_failed()?;
        if !self.closing {
            self.conn.send_close_notify();
            self.closing = true;
        }
        if !self.flush(core)? {
            self.wait_read = false;
            return Ok(Shutdown::Wait);
        }
        let mut tmp = [0u8; 4096];
        loop {
            loop {
                match self.conn.reader().read(&mut tmp) {
                    Ok(0) => return Ok(Shutdown::Done(std::mem::take(&mut self.leftover))),
                    Ok(n) => self.leftover.extend_from_slice(&tmp[..n]),
                    Err(e) if is_would_block(&e) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                        return Ok(Shutdown::Done(std::mem::take(&mut self.leftover)))
                    }
                    Err(e) => return Err(e),
                }
            }
            if self.record_left == 0 {
                let mut head = [0u8; 5];
                match core.try_peek(&mut head)? {
                    None => {
                        self.wait_read = true;
                        return Ok(Shutdown::Wait);
                    }
                    Some(0) => return Ok(Shutdown::Done(std::mem::take(&mut self.leftover))),
                    Some(n) if n < head.len() => return Ok(Shutdown::Partial),
                    Some(_) => {
                        self.record_left = 5 + u16::from_be_bytes([head[3], head[4]]) as usize
                    }
                }
            }
            let mut src = RecordRead {
                core,
                left: &mut self.record_left,
            };
            match self.conn.read_tls(&mut src) {
                Ok(0) => return Ok(Shutdown::Done(std::mem::take(&mut self.leftover))),
                Ok(_) => {}
                Err(e) if is_would_block(&e) => {
                    self.wait_read = true;
                    return Ok(Shutdown::Wait);
                }
                Err(e) => return Err(e),
            }
            if let Err(e) = self.conn.process_new_packets() {
                return Err(self.fail(core, fault_of(&e)));
            }
        }
    }

    /// Whether TLS records wait to be sent.
    pub fn has_output(&self) -> bool {
        self.conn.wants_write()
    }

    /// Send queued records the socket takes now (errors end the try:
    /// the caller gives up on a peer that does not read).
    pub fn flush_output(&mut self, core: &SocketCore) {
        if self.flush(core).is_err() {
            while self.conn.wants_write() {
                let _ = self.conn.write_tls(&mut std::io::sink());
            }
        }
    }

    /// Verify the peer's certificates against `roots` (empty: the
    /// system's) and, on a client, the server's name: Err(reason).
    pub fn verify_peer(&self, roots: &[CertificateDer<'static>]) -> Result<(), &'static str> {
        let certs = match self.conn.peer_certificates() {
            Some(c) if !c.is_empty() => c,
            _ => return Err("NO-CERTIFICATE"),
        };
        let store = root_store(roots).map_err(|_| "BAD-ENCODING")?;
        let now = UnixTime::now();
        let reason = |e: rustls::Error| match e {
            rustls::Error::InvalidCertificate(c) => certificate_reason(&c),
            _ => "INVALID-CERTIFICATE",
        };
        match &self.name {
            Some(name) => {
                let inner = WebPkiServerVerifier::builder_with_provider(store, provider())
                    .build()
                    .map_err(|_| "NO-TRUSTED-ROOTS")?;
                NamingVerifier { inner }
                    .verify_server_cert(&certs[0], &certs[1..], name, &[], now)
                    .map(|_| ())
                    .map_err(reason)
            }
            None => {
                let v = WebPkiClientVerifier::builder_with_provider(store, provider())
                    .build()
                    .map_err(|_| "NO-TRUSTED-ROOTS")?;
                v.verify_client_cert(&certs[0], &certs[1..], now)
                    .map(|_| ())
                    .map_err(reason)
            }
        }
    }

    /// The negotiated version as LispWorks names it.
    pub fn protocol_version(&self) -> &'static str {
        match self.conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS-V1-3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS-V1-2",
            _ => "UNKNOWN",
        }
    }

    /// The negotiated ALPN protocol.
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.conn.alpn_protocol().map(|p| p.to_vec())
    }

    /// The negotiated cipher suite's name.
    pub fn cipher_suite(&self) -> Option<String> {
        self.conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
    }

    /// The peer's certificate chain (DER), end entity first.
    pub fn peer_certificates(&self) -> Vec<Vec<u8>> {
        self.conn
            .peer_certificates()
            .map(|c| c.iter().map(|d| d.to_vec()).collect())
            .unwrap_or_default()
    }

    /// The name the client asked for (SNI), on the server side.
    pub fn server_name(&self) -> Option<String> {
        match &self.conn {
            rustls::Connection::Server(s) => s.server_name().map(str::to_string),
            rustls::Connection::Client(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificates_are_recognised_as_self_issued() {
        let (id, pem) = self_signed(&["localhost".into()]).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(der::is_self_issued(&id.chain[0]));
        assert!(!der::is_self_issued(b"\x30\x03\x02\x01\x01"));
        assert!(!der::is_self_issued(b""));
        assert_eq!(
            utc_text(&UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                1580515200
            ))),
            "2020-02-01 00:00:00 UTC"
        );
        assert_eq!(
            utc_text(&UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                951_868_799
            ))),
            "2000-02-29 23:59:59 UTC"
        );
        assert_eq!(certs_from_pem(pem.as_bytes(), "x").unwrap().len(), 1);
    }

    #[test]
    fn alerts_are_named_in_words() {
        assert_eq!(
            alert_text(&rustls::AlertDescription::UnknownCA),
            "the peer sent the TLS alert \"unknown CA\" (the peer does not accept our certificate)"
        );
        assert_eq!(
            alert_text(&rustls::AlertDescription::CloseNotify),
            "the peer sent the TLS alert \"close notify\""
        );
    }

    #[test]
    fn pem_errors_name_the_source() {
        assert_eq!(
            key_from_pem(b"nothing", "k.pem", None).unwrap_err(),
            "k.pem holds no PEM private key"
        );
        assert!(
            key_from_pem(b"-----BEGIN ENCRYPTED PRIVATE KEY-----", "k.pem", None)
                .unwrap_err()
                .contains("give its password")
        );
        assert!(key_from_pem(b"Proc-Type: 4,ENCRYPTED", "k.pem", Some("x"))
            .unwrap_err()
            .contains("openssl pkcs8 -topk8"));
        assert_eq!(
            certs_from_pem(b"", "c.pem").unwrap_err(),
            "c.pem holds no PEM certificate"
        );
    }
}
