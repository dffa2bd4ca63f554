//! COMM's SSL interface on rustls: contexts (MAKE-SSL-CTX and the 8.0
//! CREATE-SSL-CLIENT-CONTEXT / CREATE-SSL-SERVER-CONTEXT), ATTACH-SSL
//! and DETACH-SSL on socket streams, the handshake, verification modes,
//! what a connection negotiated, and netlisp's throw-away self-signed
//! server context. The OpenSSL-only FLI names signal a condition that
//! names what to use instead. Verification is on unless a program turns
//! it off, and turning it off prints a warning once per context.

use crate::builtins::{opt, opt_nil};
use crate::conditions as cond;
use crate::ctx::{Ctx, R};
use crate::gc::Gc;
use crate::net::error::{Fault, NetError, NetResult, Op};
use crate::net::stream::with_socket_io;
use crate::net::tls::{
    self, ClientAuth, ClientSettings, Identity, ServerSettings, TlsLayer, Versions,
};
use crate::stream::io::IoCause;
use crate::stream::Stream;
use crate::value::Value;
use crate::world::keyword;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::cell::RefCell;
use std::sync::Arc;

/// Which side a context serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Connects to servers.
    Client,
    /// Accepts clients.
    Server,
    /// Either (MAKE-SSL-CTX :SSL-SIDE :BOTH).
    Both,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
            Side::Both => "client and server",
        }
    }
}

/// The settings of a context, changed by the configuration functions
/// until a connection uses it.
struct CtxState {
    versions: Versions,
    /// Clients: verify the server's certificate and name.
    verify: bool,
    /// Trusted roots (empty: the system's).
    roots: Vec<CertificateDer<'static>>,
    chain: Vec<CertificateDer<'static>>,
    key: Option<PrivateKeyDer<'static>>,
    /// Servers: client certificates.
    client_auth: ClientAuth,
    alpn: Vec<Vec<u8>>,
    /// The name clients send (SNI) and verify, instead of the host's.
    host_name: Option<String>,
    /// The "verification is off" warning was printed.
    warned: bool,
    /// The configurations built from the settings, dropped on change.
    client: Option<Arc<rustls::ClientConfig>>,
    server: Option<Arc<rustls::ServerConfig>>,
    /// The certificate of a self-signed context, as PEM.
    certificate_pem: Option<String>,
}

/// COMM's SSL context: the abstract context of LispWorks 8, also what
/// MAKE-SSL-CTX returns.
pub struct SslContext {
    side: Side,
    name: Option<String>,
    state: RefCell<CtxState>,
}

impl crate::foreign::ForeignObj for SslContext {
    fn type_name(&self) -> &'static str {
        "COMM:SSL-ABSTRACT-CONTEXT"
    }
    fn describe(&self) -> String {
        let st = self.state.borrow();
        let mut d = self.side.name().to_string();
        if let Some(n) = &self.name {
            d = format!("{} {}", n, d);
        }
        if self.side != Side::Server && !st.verify {
            d.push_str(", verification off");
        }
        d
    }
    fn holds_values(&self) -> bool {
        false
    }
    fn class(&self) -> Option<Gc<crate::clos::Class>> {
        CONTEXT_CLASS.with(|c| c.borrow().clone())
    }
}

thread_local! {
    static CONTEXT_CLASS: RefCell<Option<Gc<crate::clos::Class>>> = const { RefCell::new(None) };
}

/// Define the SSL-ABSTRACT-CONTEXT class.
pub fn install() {
    let class = crate::clos::define_builtin_class(
        crate::world::intern_exported("SSL-ABSTRACT-CONTEXT", &super::package()),
        &["T"],
        crate::clos::ClassKind::BuiltIn,
    );
    CONTEXT_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

impl SslContext {
    fn new(side: Side, versions: Versions, name: Option<String>) -> SslContext {
        SslContext {
            side,
            name,
            state: RefCell::new(CtxState {
                versions,
                verify: true,
                roots: Vec::new(),
                chain: Vec::new(),
                key: None,
                client_auth: ClientAuth::Never,
                alpn: Vec::new(),
                host_name: None,
                warned: false,
                client: None,
                server: None,
                certificate_pem: None,
            }),
        }
    }

    /// Change the settings (the built configurations are rebuilt).
    fn change(&self, f: impl FnOnce(&mut CtxState)) {
        let mut st = self.state.borrow_mut();
        f(&mut st);
        st.client = None;
        st.server = None;
    }

    fn identity(st: &CtxState) -> Option<Identity> {
        let key = st.key.as_ref()?;
        (!st.chain.is_empty()).then(|| Identity {
            chain: st.chain.clone(),
            key: key.clone_key(),
        })
    }

    fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        let mut st = self.state.borrow_mut();
        if let Some(c) = &st.client {
            return Ok(c.clone());
        }
        let settings = ClientSettings {
            versions: st.versions,
            verify: st.verify,
            roots: st.roots.clone(),
            identity: SslContext::identity(&st),
            alpn: st.alpn.clone(),
        };
        let c = tls::client_config(&settings)?;
        st.client = Some(c.clone());
        Ok(c)
    }

    fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let mut st = self.state.borrow_mut();
        if let Some(c) = &st.server {
            return Ok(c.clone());
        }
        let Some(identity) = SslContext::identity(&st) else {
            return Err(if st.chain.is_empty() {
                "this server context has no certificate: give CREATE-SSL-SERVER-CONTEXT \
                 :CERT-FILE and :KEY-FILE, or use CREATE-SELF-SIGNED-SSL-SERVER-CONTEXT to try TLS locally"
                    .into()
            } else {
                "this server context has a certificate but no private key: give :KEY-FILE".into()
            });
        };
        let settings = ServerSettings {
            versions: st.versions,
            identity,
            client_auth: st.client_auth,
            roots: st.roots.clone(),
            alpn: st.alpn.clone(),
        };
        let c = tls::server_config(&settings)?;
        st.server = Some(c.clone());
        Ok(c)
    }
}

/// Signal an SSL-ERROR for a bad setting (or a missing feature).
pub fn setting_error(ctx: &mut Ctx, message: String) -> crate::ctx::Exit {
    let c = crate::net::conditions::class("SSL-ERROR");
    let v = cond::make_condition(
        &c,
        &[
            (
                keyword("FORMAT-CONTROL"),
                crate::array::Array::string(&cond::escape_tildes(&message)),
            ),
            (keyword("FORMAT-ARGUMENTS"), Value::Nil),
            (keyword("OPERATION"), keyword("CREATE")),
        ],
    );
    cond::error(ctx, v)
}

/// The protocol versions a :SSL-CTX or :PROTOCOL-VERSION keyword asks for.
fn versions_of(ctx: &mut Ctx, v: &Value) -> R<Versions> {
    let name = match v {
        Value::Nil | Value::Unbound => return Ok(Versions::Any),
        v if v.eq(&Value::t()) => return Ok(Versions::Any),
        Value::Symbol(s) => s.name().to_string(),
        other => {
            return Err(cond::type_error(
                ctx,
                other.clone(),
                "(MEMBER T :DEFAULT :V23 :TLS-V1-2 :TLS-V1-3)",
            ))
        }
    };
    match name.as_str() {
        "DEFAULT" | "V23" | "SSLV23" | "TLS" => Ok(Versions::Any),
        "TLS-V1-2" => Ok(Versions::Tls12),
        "TLS-V1-3" => Ok(Versions::Tls13),
        "V2" | "V3" | "TLS-V1" | "TLS-V1-1" => Err(setting_error(
            ctx,
            format!(
                "the protocol :{} is not supported: netlisp's TLS (rustls) speaks TLS 1.2 and 1.3 \
                 only, as the older versions are broken; use T (both) or :TLS-V1-2 / :TLS-V1-3",
                name
            ),
        )),
        _ => Err(cond::type_error(
            ctx,
            v.clone(),
            "(MEMBER T :DEFAULT :V23 :TLS-V1-2 :TLS-V1-3)",
        )),
    }
}

/// The context object of a value, if it is one.
fn context_obj(v: &Value) -> Option<&SslContext> {
    crate::foreign::get::<SslContext>(v)
}

/// A context argument (a context object).
fn context_arg<'a>(ctx: &mut Ctx, v: &'a Value) -> R<&'a SslContext> {
    match context_obj(v) {
        Some(c) => Ok(c),
        None => Err(cond::type_error(
            ctx,
            v.clone(),
            "COMM:SSL-ABSTRACT-CONTEXT",
        )),
    }
}

/// The context for an :SSL-CTX value on `side`: the object itself, or a
/// new context for T, :DEFAULT and the protocol keywords.
pub fn context_for(ctx: &mut Ctx, v: &Value, side: Side) -> R<Value> {
    if context_obj(v).is_some() {
        return Ok(v.clone());
    }
    let versions = versions_of(ctx, v)?;
    Ok(crate::foreign::make(SslContext::new(side, versions, None)))
}

fn warn_unverified(ctx: &mut Ctx, c: &SslContext) -> R<()> {
    if std::mem::replace(&mut c.state.borrow_mut().warned, true) {
        return Ok(());
    }
    let text = "TLS certificate verification is OFF for this client context: \
                any server can impersonate the one you meant to reach. \
                Use it only for testing.";
    let w = cond::make(
        "SIMPLE-WARNING",
        &[
            ("FORMAT-CONTROL", crate::array::Array::string(text)),
            ("FORMAT-ARGUMENTS", Value::Nil),
        ],
    );
    cond::warn(ctx, w)
}

/// How ATTACH-SSL and the functions that call it attach SSL.
pub struct Attach {
    /// The :SSL-CTX value.
    pub ssl_ctx: Value,
    /// Client, server (or both: taken as the given default).
    pub side: Side,
    /// Called with the context before it is used.
    pub ctx_configure: Value,
    /// Called with the stream once SSL is attached.
    pub ssl_configure: Value,
    /// Seconds the handshake may take.
    pub handshake_timeout: Option<f64>,
    /// The name to send and verify (clients), overriding the host's.
    pub host_name: Option<String>,
}

impl Attach {
    /// The SSL keywords from positional &key arguments at the given
    /// indexes: (ssl-ctx, ctx-configure-callback, ssl-configure-callback,
    /// handshake-timeout, tlsext-host-name).
    pub fn from_args(ctx: &mut Ctx, a: &[Value], at: [usize; 5], side: Side) -> R<Option<Attach>> {
        let ssl_ctx = opt_nil(a, at[0]);
        if !ssl_ctx.truthy() {
            return Ok(None);
        }
        let host_name = match opt(a, at[4]) {
            None | Some(Value::Nil) => None,
            Some(v) => Some(crate::builtins::string_designator(ctx, v)?),
        };
        Ok(Some(Attach {
            ssl_ctx,
            side,
            ctx_configure: opt_nil(a, at[1]),
            ssl_configure: opt_nil(a, at[2]),
            handshake_timeout: super::seconds_of(ctx, opt(a, at[3]))?,
            host_name,
        }))
    }
}

/// The name a client verifies: TLSEXT-HOST-NAME, the context's, the
/// host the program named, or the peer's address.
fn client_name(
    st: &CtxState,
    given: Option<&str>,
    host: Option<&str>,
    s: &Gc<Stream>,
) -> Option<String> {
    given
        .map(str::to_string)
        .or_else(|| st.host_name.clone())
        .or_else(|| host.map(str::to_string))
        .or_else(|| {
            with_socket_io(s, |io| {
                io.core().and_then(|c| c.peer).map(|p| p.ip().to_string())
            })
            .flatten()
        })
}

/// The context for `how`'s :SSL-CTX on `side`, after its
/// CTX-CONFIGURE-CALLBACK has seen it.
fn configured_context(ctx: &mut Ctx, ssl_ctx: &Value, configure: &Value, side: Side) -> R<Value> {
    let context = context_for(ctx, ssl_ctx, side)?;
    if configure.truthy() {
        crate::eval::apply(ctx, configure, std::slice::from_ref(&context))?;
    }
    Ok(context)
}

/// A client layer from context `c` for server `name` (warning first if
/// the context does not verify).
fn client_layer(ctx: &mut Ctx, c: &SslContext, name: &str) -> R<Result<TlsLayer, String>> {
    if !c.state.borrow().verify {
        warn_unverified(ctx, c)?;
    }
    Ok(c.client_config()
        .and_then(|cfg| TlsLayer::client(cfg, name)))
}

/// Attach SSL to socket stream `s` (the handshake runs on first use, or
/// at once with [`handshake`]). `host` is the name the program
/// connected to, for SNI and verification.
pub fn attach(ctx: &mut Ctx, s: &Gc<Stream>, how: &Attach, host: Option<&str>) -> R<Value> {
    let context = configured_context(ctx, &how.ssl_ctx, &how.ctx_configure, how.side)?;
    let c = context_obj(&context).expect("made above");
    let usable = with_socket_io(s, |io| match io.core() {
        None => Err("the stream has no open socket"),
        Some(core) if core.role != crate::net::socket::Role::Connection => {
            Err("SSL needs a connected stream socket (TCP or Unix stream)")
        }
        Some(_) if io.tls.borrow().is_some() => Err("SSL is already attached to this stream"),
        Some(_) => Ok(()),
    });
    if let Some(Err(m)) = usable {
        return Err(setting_error(ctx, m.into()));
    }
    let side = match (how.side, c.side) {
        (Side::Both, Side::Both) => Side::Server,
        (Side::Both, s) => s,
        (s, _) => s,
    };
    let layer = match side {
        Side::Client | Side::Both => {
            let name = client_name(&c.state.borrow(), how.host_name.as_deref(), host, s);
            let Some(name) = name else {
                return Err(setting_error(
                    ctx,
                    "the stream has no peer to name for TLS; give :TLSEXT-HOST-NAME".into(),
                ));
            };
            client_layer(ctx, c, &name)?
        }
        Side::Server => c.server_config().and_then(TlsLayer::server),
    };
    let mut layer = match layer {
        Ok(l) => l,
        Err(m) => return Err(setting_error(ctx, m)),
    };
    layer.handshake_timeout = how.handshake_timeout;
    let installed = with_socket_io(s, |io| {
        let core = io.core()?;
        if core.role != crate::net::socket::Role::Connection {
            return Some(Err(
                "SSL needs a connected stream socket (TCP or Unix stream)",
            ));
        }
        let mut t = io.tls.borrow_mut();
        if t.is_some() {
            return Some(Err("SSL is already attached to this stream"));
        }
        *t = Some(layer);
        Some(Ok(()))
    })
    .flatten();
    match installed {
        Some(Ok(())) => {}
        Some(Err(m)) => return Err(setting_error(ctx, m.into())),
        None => return Err(setting_error(ctx, "the stream has no open socket".into())),
    }
    *s.extra.borrow_mut() = context.clone();
    let stream = Value::Stream(s.clone());
    if how.ssl_configure.truthy() {
        crate::eval::apply(ctx, &how.ssl_configure, std::slice::from_ref(&stream))?;
    }
    Ok(stream)
}

/// The server configuration for an :SSL-CTX value (T, a keyword or a
/// context), after CTX-CONFIGURE is called with the context: what each
/// connection an async accepting handle takes is served with.
pub fn server_config_for(
    ctx: &mut Ctx,
    ssl_ctx: &Value,
    ctx_configure: &Value,
) -> R<Arc<rustls::ServerConfig>> {
    let context = configured_context(ctx, ssl_ctx, ctx_configure, Side::Server)?;
    let c = context_obj(&context).expect("made above");
    match c.server_config() {
        Ok(cfg) => Ok(cfg),
        Err(m) => Err(setting_error(ctx, m)),
    }
}

/// A client TLS layer for an :SSL-CTX value, naming `host` (or
/// TLSEXT-HOST-NAME, or the context's name): what a connecting async
/// state speaks once its socket is connected.
pub fn client_layer_for(ctx: &mut Ctx, how: &Attach, host: &str) -> R<TlsLayer> {
    let context = context_for(ctx, &how.ssl_ctx, Side::Client)?;
    if how.ctx_configure.truthy() {
        crate::eval::apply(ctx, &how.ctx_configure, std::slice::from_ref(&context))?;
    }
    let c = context_obj(&context).expect("made above");
    if !c.state.borrow().verify {
        warn_unverified(ctx, c)?;
    }
    let name = how
        .host_name
        .clone()
        .or_else(|| c.state.borrow().host_name.clone())
        .unwrap_or_else(|| host.to_string());
    match c
        .client_config()
        .and_then(|cfg| TlsLayer::client(cfg, &name))
    {
        Ok(mut l) => {
            l.handshake_timeout = how.handshake_timeout;
            Ok(l)
        }
        Err(m) => Err(setting_error(ctx, m)),
    }
}

/// Run the handshake to its end within `timeout` seconds (None: the
/// handshake timeout given at attach time). Inner error: why it failed.
pub fn handshake(ctx: &mut Ctx, s: &Gc<Stream>, timeout: Option<f64>) -> R<NetResult<()>> {
    let limit = timeout.or_else(|| {
        with_socket_io(s, |io| {
            io.tls.borrow().as_ref().and_then(|t| t.handshake_timeout)
        })
        .flatten()
    });
    let deadline = limit.map(|t| std::time::Instant::now() + std::time::Duration::from_secs_f64(t));
    loop {
        let step = with_socket_io(s, |io| {
            let core = io.core()?;
            let mut t = io.tls.borrow_mut();
            let t = t.as_mut()?;
            Some((t.try_handshake(&core), t.waits_to_read(), core.fd))
        })
        .flatten();
        let io_error = |cause: IoCause<'_>| {
            with_socket_io(s, |io| io.error(false, cause)).expect("a socket stream")
        };
        match step {
            None => {
                return Ok(Err(NetError::new(
                    Fault::Shutdown,
                    Op::Handshake,
                    "the stream has no open socket with SSL attached",
                )))
            }
            Some((Ok(Some(_)), _, _)) => return Ok(Ok(())),
            Some((Ok(None), readable, fd)) => {
                let left = crate::net::tcp::remaining(deadline);
                if left == Some(0.0) || !crate::mp::wait_fd(ctx, fd, readable, left)? {
                    return Ok(Err(io_error(IoCause::Timeout(limit.unwrap_or(0.0)))));
                }
            }
            Some((Err(e), _, _)) => return Ok(Err(io_error(IoCause::Os(&e)))),
        }
    }
}

/// Signal or return a failed handshake: the stream is closed first.
fn handshake_failed(ctx: &mut Ctx, s: &Gc<Stream>, errorp: bool, e: &NetError) -> R {
    crate::stream::close(ctx, s, false)?;
    let c = crate::net::conditions::condition(e, Value::Stream(s.clone()));
    if errorp {
        return Err(cond::error(ctx, c));
    }
    Ok(ctx.values2(Value::Nil, c))
}

/// OPEN-TCP-STREAM's SSL step: attach as a client and complete the
/// handshake, so that a bad certificate fails the call (returned as the
/// second value when ERRORP is NIL).
pub fn connect_with_ssl(ctx: &mut Ctx, stream: Value, how: &Attach, host: &str, errorp: bool) -> R {
    let Value::Stream(s) = &stream else {
        return Ok(stream);
    };
    if let Err(e) = attach(ctx, s, how, Some(host)) {
        crate::stream::close(ctx, s, true)?;
        return Err(e);
    }
    match handshake(ctx, s, how.handshake_timeout)? {
        Ok(()) => Ok(stream),
        Err(e) => {
            // Name the host as the program did (not only its address).
            let e = match e.port {
                Some(p) => e.at(host, Some(p)),
                None => e,
            };
            handshake_failed(ctx, s, errorp, &e)
        }
    }
}

/// DETACH-SSL's two-way shutdown: up to `tries` waits of `pause` seconds
/// for the socket; what the peer sent before its close_notify goes back
/// into the stream.
fn shutdown(ctx: &mut Ctx, s: &Gc<Stream>, tries: usize, pause: f64) -> R<()> {
    for _ in 0..tries {
        let step = with_socket_io(s, |io| {
            let core = io.core()?;
            let mut t = io.tls.borrow_mut();
            let t = t.as_mut()?;
            Some((t.try_shutdown(&core), t.waits_to_read(), core.fd))
        })
        .flatten();
        match step {
            None => return Ok(()),
            Some((Ok(tls::Shutdown::Done(rest)), _, _)) => {
                if let Some(b) = s.bytes() {
                    b.push_front(&rest);
                }
                return Ok(());
            }
            Some((Ok(tls::Shutdown::Wait), readable, fd)) => {
                crate::mp::wait_fd(ctx, fd, readable, Some(pause))?;
            }
            Some((Ok(tls::Shutdown::Partial), _, _)) => crate::mp::scheduler::sleep(ctx, pause)?,
            Some((Err(e), _, _)) => {
                let err = with_socket_io(s, |io| io.error(false, IoCause::Os(&e)))
                    .expect("a socket stream");
                let c = crate::net::conditions::condition(&err, Value::Stream(s.clone()));
                return Err(cond::error(ctx, c));
            }
        }
    }
    Err(setting_error(
        ctx,
        "DETACH-SSL: the peer did not answer the TLS close_notify in time".into(),
    ))
}

/// The socket stream with SSL attached, or a type error.
fn ssl_stream(ctx: &mut Ctx, v: &Value) -> R<Gc<Stream>> {
    let s = super::streams::socket_stream(ctx, v)?;
    if with_socket_io(&s, |io| io.tls.borrow().is_some()) == Some(true) {
        return Ok(s);
    }
    Err(setting_error(
        ctx,
        format!("{} has no SSL attached", crate::printer::prin1_string(v)),
    ))
}

fn with_layer<T>(s: &Gc<Stream>, f: impl FnOnce(&TlsLayer) -> T) -> Option<T> {
    with_socket_io(s, |io| io.tls.borrow().as_ref().map(f)).flatten()
}

/// A list of PEM strings or one PEM string, as certificates.
fn pem_certs(ctx: &mut Ctx, v: &Value, what: &str) -> R<Vec<CertificateDer<'static>>> {
    let texts: Vec<Value> = match v {
        Value::Cons(_) => v.list_to_vec(),
        v => vec![v.clone()],
    };
    let mut out = Vec::new();
    for t in texts {
        let s = crate::builtins::string_designator(ctx, &t)?;
        match tls::certs_from_pem(s.as_bytes(), what) {
            Ok(c) => out.extend(c),
            Err(m) => return Err(setting_error(ctx, m)),
        }
    }
    Ok(out)
}

/// Read a PEM file named by a pathname designator.
fn pem_file(ctx: &mut Ctx, v: &Value) -> R<(Vec<u8>, String)> {
    let path = crate::builtins::files::native_path(ctx, v)?;
    match tls::read_file(&path) {
        Ok(b) => Ok((b, path)),
        Err(m) => Err(setting_error(ctx, m)),
    }
}

/// Read the PEM file `v` names, parse it with `parse`, and store the
/// result in the context with `store`.
fn load_pem<T>(
    ctx: &mut Ctx,
    c: &SslContext,
    v: &Value,
    parse: impl FnOnce(&[u8], &str) -> Result<T, String>,
    store: impl FnOnce(&mut CtxState, T),
) -> R<()> {
    let (bytes, path) = pem_file(ctx, v)?;
    match parse(&bytes, &path) {
        Ok(item) => {
            c.change(|st| store(st, item));
            Ok(())
        }
        Err(m) => Err(setting_error(ctx, m)),
    }
}

fn load_certificate_file(ctx: &mut Ctx, c: &SslContext, v: &Value) -> R<()> {
    load_pem(ctx, c, v, tls::certs_from_pem, |st, chain| st.chain = chain)
}

fn load_key_file(ctx: &mut Ctx, c: &SslContext, v: &Value, password: Option<&str>) -> R<()> {
    let parse = |pem: &[u8], what: &str| tls::key_from_pem(pem, what, password);
    load_pem(ctx, c, v, parse, |st, key| st.key = Some(key))
}

fn load_trusted_file(ctx: &mut Ctx, c: &SslContext, v: &Value) -> R<()> {
    load_pem(ctx, c, v, tls::certs_from_pem, |st, certs| {
        st.roots.extend(certs)
    })
}

fn load_trusted_directory(ctx: &mut Ctx, c: &SslContext, v: &Value) -> R<()> {
    let dir = crate::builtins::files::native_path(ctx, v)?;
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => return Err(setting_error(ctx, format!("cannot read {}: {}", dir, e))),
    };
    let mut certs = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if let Ok(bytes) = std::fs::read(&p) {
            if let Ok(c) = tls::certs_from_pem(&bytes, "") {
                certs.extend(c);
            }
        }
    }
    if certs.is_empty() {
        return Err(setting_error(
            ctx,
            format!("{} holds no PEM certificates", dir),
        ));
    }
    c.change(|st| st.roots.extend(certs));
    Ok(())
}

/// ALPN protocol names: a string or a list of strings.
fn alpn_of(ctx: &mut Ctx, v: &Value) -> R<Vec<Vec<u8>>> {
    let items = match v {
        Value::Nil => return Ok(Vec::new()),
        Value::Cons(_) => v.list_to_vec(),
        v => vec![v.clone()],
    };
    let mut out = Vec::new();
    for i in items {
        out.push(crate::builtins::string_designator(ctx, &i)?.into_bytes());
    }
    Ok(out)
}

/// Refuse a keyword whose machinery rustls does not have.
fn refuse_option(ctx: &mut Ctx, v: Option<&Value>, name: &str, instead: &str) -> R<()> {
    match v {
        None | Some(Value::Nil) => Ok(()),
        Some(_) => Err(not_supported(ctx, name, instead)),
    }
}

fn not_supported(ctx: &mut Ctx, name: &str, instead: &str) -> crate::ctx::Exit {
    setting_error(
        ctx,
        format!(
            "{} is not supported on netlisp, whose TLS is rustls, not OpenSSL; {}",
            name, instead
        ),
    )
}

/// The keywords both context makers share, at their argument indexes.
struct CommonKeys {
    key_file: usize,
    password: usize,
    password_callback: usize,
    cert_file: usize,
    protocol_version: usize,
    ctx_configure: usize,
    trusted_file: usize,
    /// netlisp's shorter name for the trusted file.
    trusted_file_alias: usize,
    trusted_directory: usize,
    name: usize,
    alpn: usize,
    trusted_certificates: usize,
}

/// Make a context from CREATE-SSL-...-CONTEXT's keywords.
fn make_context(ctx: &mut Ctx, a: &[Value], side: Side, k: &CommonKeys) -> R<Value> {
    let versions = versions_of(ctx, &opt_nil(a, k.protocol_version))?;
    let name = match opt(a, k.name) {
        None | Some(Value::Nil) => None,
        Some(v) => Some(crate::builtins::string_designator(ctx, v)?),
    };
    let v = crate::foreign::make(SslContext::new(side, versions, name));
    let c = context_obj(&v).expect("made above");
    if let Some(f) = opt(a, k.cert_file).filter(|v| v.truthy()) {
        load_certificate_file(ctx, c, f)?;
    }
    if let Some(f) = opt(a, k.key_file).filter(|v| v.truthy()) {
        let password = match (opt(a, k.password), opt(a, k.password_callback)) {
            (Some(p), _) if p.truthy() => Some(crate::builtins::string_designator(ctx, p)?),
            // LispWorks calls it with one argument; netlisp passes the key file.
            (_, Some(cb)) if cb.truthy() => {
                match crate::eval::apply(ctx, cb, std::slice::from_ref(f))? {
                    Value::Nil => None,
                    p => Some(crate::builtins::string_designator(ctx, &p)?),
                }
            }
            _ => None,
        };
        load_key_file(ctx, c, f, password.as_deref())?;
    }
    for i in [k.trusted_file, k.trusted_file_alias] {
        if let Some(f) = opt(a, i).filter(|v| v.truthy()) {
            load_trusted_file(ctx, c, f)?;
        }
    }
    if let Some(f) = opt(a, k.trusted_directory).filter(|v| v.truthy()) {
        load_trusted_directory(ctx, c, f)?;
    }
    if let Some(t) = opt(a, k.trusted_certificates).filter(|v| v.truthy()) {
        let certs = pem_certs(ctx, t, "the trusted certificate")?;
        c.change(|st| st.roots.extend(certs));
    }
    let alpn = alpn_of(ctx, &opt_nil(a, k.alpn))?;
    c.change(|st| st.alpn = alpn);
    if let Some(f) = opt(a, k.ctx_configure).filter(|v| v.truthy()) {
        crate::eval::apply(ctx, f, std::slice::from_ref(&v))?;
    }
    Ok(v)
}

/// The OpenSSL verification-mode keywords for `mode`.
fn verification_keywords(ctx: &mut Ctx, mode: &Value) -> R<(bool, bool)> {
    // (verify-peer, fail-if-no-peer-cert)
    let name = |v: &Value| match v {
        Value::Symbol(s) => Some(s.name().to_string()),
        _ => None,
    };
    match mode {
        Value::Fixnum(n) => Ok((n & 1 != 0, n & 2 != 0)),
        Value::Nil => Ok((false, false)),
        Value::Cons(_) => {
            let mut peer = false;
            let mut fail = false;
            for k in mode.list_to_vec() {
                match name(&k).as_deref() {
                    Some("VERIFY-PEER") | Some("VERIFY-CLIENT-ONCE") => peer = true,
                    Some("FAIL-IF-NO-PEER-CERT") => fail = true,
                    _ => {
                        return Err(cond::type_error(
                            ctx,
                            k,
                            "(MEMBER :VERIFY-PEER :VERIFY-CLIENT-ONCE :FAIL-IF-NO-PEER-CERT)",
                        ))
                    }
                }
            }
            Ok((peer || fail, fail))
        }
        v => match name(v).as_deref() {
            Some("NEVER") => Ok((false, false)),
            Some("ALWAYS") | Some("ONCE") => Ok((true, false)),
            _ => Err(cond::type_error(
                ctx,
                v.clone(),
                "(OR INTEGER (MEMBER :NEVER :ALWAYS :ONCE) LIST)",
            )),
        },
    }
}

fn side_arg(ctx: &mut Ctx, v: Option<&Value>, default: Side) -> R<Side> {
    match v {
        None | Some(Value::Nil) => Ok(default),
        Some(Value::Symbol(s)) if s.name() == "CLIENT" => Ok(Side::Client),
        Some(Value::Symbol(s)) if s.name() == "SERVER" => Ok(Side::Server),
        Some(Value::Symbol(s)) if s.name() == "BOTH" => Ok(Side::Both),
        Some(v) => Err(cond::type_error(
            ctx,
            v.clone(),
            "(MEMBER :CLIENT :SERVER :BOTH)",
        )),
    }
}

/// The context of a context or SSL stream argument.
fn context_of_arg(ctx: &mut Ctx, v: &Value) -> R<Value> {
    if context_obj(v).is_some() {
        return Ok(v.clone());
    }
    let s = ssl_stream(ctx, v)?;
    let c = s.extra.borrow().clone();
    Ok(c)
}

crate::defbuiltins! {
    /// Make an SSL client context (LispWorks 8). CERT-FILE and KEY-FILE
    /// give a client certificate (PEM); OPENSSL-TRUSTED-FILE (or
    /// TRUSTED-FILE), OPENSSL-TRUSTED-DIRECTORY and TRUSTED-CERTIFICATES
    /// (PEM text, or a list of them) replace the system's roots;
    /// PROTOCOL-VERSION is T, :TLS-V1-2 or :TLS-V1-3; TLSEXT-HOST-NAME
    /// the name sent and verified; ALPN a protocol name or list. The
    /// server's certificate and name are verified unless VERIFY is NIL,
    /// which prints a warning. OPENSSL-CTX-CONFIGURE-CALLBACK is called
    /// with the new context. Callbacks and options that exist only for
    /// OpenSSL's or Apple's machinery signal an SSL-ERROR naming the
    /// alternative.
    fn CREATE_SSL_CLIENT_CONTEXT "COMM:CREATE-SSL-CLIENT-CONTEXT" "(&key key-file cert-file password-callback password protocol-version implementation openssl-ctx-configure-callback openssl-ssl-configure-callback apple-configure-callback verify-callback cert-request-callback tlsext-host-name openssl-trusted-file openssl-trusted-directory apple-use-system-trusted apple-add-trusted-file apple-trust-callback keychain keychain-password keychain-reset name verify alpn trusted-certificates trusted-file)" (ctx, a) {
        refuse_option(ctx, opt(a, 9), ":VERIFY-CALLBACK", "verification runs in rustls; call SSL-CONNECTION-VERIFY after the handshake (with :VERIFY NIL) to decide yourself")?;
        refuse_option(ctx, opt(a, 10), ":CERT-REQUEST-CALLBACK", "give the client certificate with :CERT-FILE and :KEY-FILE")?;
        for (i, k) in [(8, ":APPLE-CONFIGURE-CALLBACK"), (16, ":APPLE-TRUST-CALLBACK"), (17, ":KEYCHAIN")] {
            refuse_option(ctx, opt(a, i), k, "use :CERT-FILE, :KEY-FILE and :OPENSSL-TRUSTED-FILE")?;
        }
        let keys = CommonKeys { key_file: 0, password: 3, password_callback: 2, cert_file: 1, protocol_version: 4, ctx_configure: 6, trusted_file: 12, trusted_file_alias: 24, trusted_directory: 13, name: 20, alpn: 22, trusted_certificates: 23 };
        let v = make_context(ctx, a, Side::Client, &keys)?;
        let c = context_obj(&v).expect("a context");
        if let Some(h) = opt(a, 11).filter(|v| v.truthy()) {
            let h = crate::builtins::string_designator(ctx, h)?;
            c.change(|st| st.host_name = Some(h));
        }
        if opt(a, 21).is_some_and(|v| !v.truthy()) {
            c.change(|st| st.verify = false);
            warn_unverified(ctx, c)?;
        }
        Ok(v)
    }

    /// Make an SSL server context (LispWorks 8) from CERT-FILE (a PEM
    /// chain, end entity first) and KEY-FILE (a PEM PKCS#8, RSA or EC
    /// key; an encrypted PKCS#8 key is decrypted with PASSWORD, or the
    /// string PASSWORD-CALLBACK returns when called with the key file).
    /// VERIFY-MODE asks clients for certificates as SET-VERIFICATION-MODE
    /// does, checked against OPENSSL-TRUSTED-FILE / -DIRECTORY or
    /// TRUSTED-CERTIFICATES (else the system's roots). PROTOCOL-VERSION
    /// and ALPN as for CREATE-SSL-CLIENT-CONTEXT. DH-FILE signals an
    /// SSL-ERROR: rustls negotiates ECDHE and needs no DH parameters.
    fn CREATE_SSL_SERVER_CONTEXT "COMM:CREATE-SSL-SERVER-CONTEXT" "(&key key-file cert-file password-callback password dh-file protocol-version implementation openssl-ctx-configure-callback openssl-ssl-configure-callback apple-configure-callback verify-callback client-hello-callback openssl-trusted-file openssl-trusted-directory apple-use-system-trusted apple-add-trusted-file apple-trust-callback keychain keychain-password keychain-reset name alpn trusted-certificates verify-mode trusted-file)" (ctx, a) {
        refuse_option(ctx, opt(a, 4), ":DH-FILE", "rustls uses ECDHE key exchange, which needs no DH parameters; leave :DH-FILE out")?;
        refuse_option(ctx, opt(a, 10), ":VERIFY-CALLBACK", "ask for client certificates with :VERIFY-MODE and :OPENSSL-TRUSTED-FILE")?;
        refuse_option(ctx, opt(a, 11), ":CLIENT-HELLO-CALLBACK", "one context serves one certificate; start one server per name")?;
        for (i, k) in [(9, ":APPLE-CONFIGURE-CALLBACK"), (16, ":APPLE-TRUST-CALLBACK"), (17, ":KEYCHAIN")] {
            refuse_option(ctx, opt(a, i), k, "use :CERT-FILE and :KEY-FILE")?;
        }
        let keys = CommonKeys { key_file: 0, password: 3, password_callback: 2, cert_file: 1, protocol_version: 5, ctx_configure: 7, trusted_file: 12, trusted_file_alias: 24, trusted_directory: 13, name: 20, alpn: 21, trusted_certificates: 22 };
        let v = make_context(ctx, a, Side::Server, &keys)?;
        let c = context_obj(&v).expect("a context");
        if let Some(m) = opt(a, 23) {
            let (peer, fail) = verification_keywords(ctx, m)?;
            c.change(|st| st.client_auth = client_auth(peer, fail));
        }
        Ok(v)
    }

    /// Make a throw-away server context with a new self-signed
    /// certificate for NAMES (default "localhost", "127.0.0.1" and
    /// "::1"), generated in memory: a TLS server in one line, for local
    /// testing. Second value: the certificate as PEM text, which a client
    /// trusts with CREATE-SSL-CLIENT-CONTEXT :TRUSTED-CERTIFICATES.
    fn CREATE_SELF_SIGNED_SSL_SERVER_CONTEXT "COMM:CREATE-SELF-SIGNED-SSL-SERVER-CONTEXT" "(&key names protocol-version alpn)" [mv] (ctx, a) {
        let names = match opt(a, 0) {
            None | Some(Value::Nil) => vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()],
            Some(v) => {
                let mut out = Vec::new();
                for n in if matches!(v, Value::Cons(_)) { v.list_to_vec() } else { vec![v.clone()] } {
                    out.push(crate::builtins::string_designator(ctx, &n)?);
                }
                out
            }
        };
        let versions = versions_of(ctx, &opt_nil(a, 1))?;
        let (id, pem) = match tls::self_signed(&names) {
            Ok(r) => r,
            Err(m) => return Err(setting_error(ctx, format!("cannot make a certificate for {:?}: {}", names, m))),
        };
        let alpn = alpn_of(ctx, &opt_nil(a, 2))?;
        let v = crate::foreign::make(SslContext::new(Side::Server, versions, Some("self-signed".into())));
        let c = context_obj(&v).expect("made above");
        c.change(|st| {
            st.chain = id.chain;
            st.key = Some(id.key);
            st.alpn = alpn;
            st.certificate_pem = Some(pem.clone());
        });
        Ok(ctx.values2(v, crate::array::Array::string(&pem)))
    }

    /// Make an SSL context for SSL-SIDE (:SERVER by default, :CLIENT or
    /// :BOTH) from a protocol keyword (T, :DEFAULT, :V23, :TLS-V1-2,
    /// :TLS-V1-3); given a context, return it. Load a server's
    /// certificate with SSL-CTX-USE-CERTIFICATE-CHAIN-FILE and its key
    /// with SSL-CTX-USE-PRIVATEKEY-FILE.
    fn MAKE_SSL_CTX "COMM:MAKE-SSL-CTX" "(&key ssl-ctx ssl-side)" (ctx, a) {
        let side = side_arg(ctx, opt(a, 1), Side::Server)?;
        let spec = opt(a, 0).cloned().unwrap_or(Value::t());
        context_for(ctx, &spec, side)
    }

    /// Free a context made by MAKE-SSL-CTX: a no-op (contexts are
    /// collected like other objects).
    fn DESTROY_SSL_CTX "COMM:DESTROY-SSL-CTX" "(ssl-ctx)" (ctx, a) {
        context_arg(ctx, &a[0])?;
        Ok(Value::Nil)
    }

    /// Load the certificate chain (PEM, end entity first) of CTX.
    fn SSL_CTX_USE_CERTIFICATE_CHAIN_FILE "COMM:SSL-CTX-USE-CERTIFICATE-CHAIN-FILE" "(ssl-ctx file)" (ctx, a) {
        let c = context_arg(ctx, &a[0])?;
        load_certificate_file(ctx, c, &a[1])?;
        Ok(Value::Fixnum(1))
    }

    /// Load the private key (PEM) of CTX; TYPE is accepted and ignored
    /// (only PEM files are read).
    fn SSL_CTX_USE_PRIVATEKEY_FILE "COMM:SSL-CTX-USE-PRIVATEKEY-FILE" "(ssl-ctx file &optional type)" (ctx, a) {
        let c = context_arg(ctx, &a[0])?;
        load_key_file(ctx, c, &a[1], None)?;
        Ok(Value::Fixnum(1))
    }

    /// Load an RSA private key (PEM) into CTX, as SSL-CTX-USE-PRIVATEKEY-FILE.
    fn SSL_CTX_USE_RSAPRIVATEKEY_FILE "COMM:SSL-CTX-USE-RSAPRIVATEKEY-FILE" "(ssl-ctx file &optional type)" (ctx, a) {
        let c = context_arg(ctx, &a[0])?;
        load_key_file(ctx, c, &a[1], None)?;
        Ok(Value::Fixnum(1))
    }

    /// Record a password callback: accepted, but netlisp reads only
    /// unencrypted keys, and says so when it meets an encrypted one.
    fn SET_SSL_CTX_PASSWORD_CALLBACK "COMM:SET-SSL-CTX-PASSWORD-CALLBACK" "(ssl-ctx &key callback password)" (ctx, a) {
        context_arg(ctx, &a[0])?;
        Ok(Value::Nil)
    }

    /// Set how CTX verifies peers on SSL-SIDE. Servers: :NEVER (no
    /// client certificate asked for), :ALWAYS or :ONCE (asked for and
    /// checked if sent), a list of :VERIFY-PEER, :VERIFY-CLIENT-ONCE and
    /// :FAIL-IF-NO-PEER-CERT (required), or OpenSSL's integer flags.
    /// Clients: :NEVER turns verification of the server off (with a
    /// warning); anything else keeps it on. CALLBACK must be NIL.
    fn SET_VERIFICATION_MODE "COMM:SET-VERIFICATION-MODE" "(ssl-ctx ssl-side mode &optional callback)" (ctx, a) {
        let v = context_of_arg(ctx, &a[0])?;
        let c = context_arg(ctx, &v)?;
        refuse_option(ctx, opt(a, 3), "A verification CALLBACK", "decide after the handshake with SSL-CONNECTION-VERIFY")?;
        let side = side_arg(ctx, Some(&a[1]), Side::Server)?;
        let (peer, fail) = verification_keywords(ctx, &a[2])?;
        if side == Side::Client {
            c.change(|st| st.verify = peer);
            if !peer {
                warn_unverified(ctx, c)?;
            }
        } else {
            c.change(|st| st.client_auth = client_auth(peer, fail));
        }
        Ok(verification_list(c))
    }

    /// The verification mode of a context or SSL stream, as a list of
    /// :VERIFY-PEER and :FAIL-IF-NO-PEER-CERT (NIL: none).
    fn GET_VERIFICATION_MODE "COMM:GET-VERIFICATION-MODE" "(ssl-or-ssl-ctx)" (ctx, a) {
        let v = context_of_arg(ctx, &a[0])?;
        let c = context_arg(ctx, &v)?;
        Ok(verification_list(c))
    }

    /// Attach SSL to the open SOCKET-STREAM on SSL-SIDE (:SERVER by
    /// default, or :CLIENT): SSL-CTX is T, a protocol keyword or a
    /// context; CTX-CONFIGURE-CALLBACK is called with the context,
    /// SSL-CONFIGURE-CALLBACK with the stream. The handshake runs on the
    /// first read or write (or SOCKET-STREAM-HANDSHAKE), within
    /// HANDSHAKE-TIMEOUT seconds; a client sends and verifies
    /// TLSEXT-HOST-NAME, else the context's name, else the peer's
    /// address. Returns the stream.
    fn ATTACH_SSL "COMM:ATTACH-SSL" "(socket-stream &key ssl-ctx ssl-side ctx-configure-callback ssl-configure-callback handshake-timeout tlsext-host-name)" (ctx, a) {
        let s = super::streams::socket_stream(ctx, &a[0])?;
        let side = side_arg(ctx, opt(a, 2), Side::Server)?;
        let mut args = a.to_vec();
        if opt(a, 1).is_none() {
            args.resize(args.len().max(2), Value::Unbound);
            args[1] = Value::t();
        }
        let how = Attach::from_args(ctx, &args, [1, 3, 4, 5, 6], side)?.expect("SSL-CTX given");
        attach(ctx, &s, &how, None)
    }

    /// Stop using SSL on SOCKET-STREAM: send close_notify (retried
    /// RETRY-COUNT times, default 5, RETRY-TIMEOUT seconds apart, default
    /// 0.1; RETRY-COUNT NIL skips it) and go on in plain mode. Returns
    /// NIL at once if no SSL is attached.
    fn DETACH_SSL "COMM:DETACH-SSL" "(socket-stream &key retry-count retry-timeout)" (ctx, a) {
        let s = super::streams::socket_stream(ctx, &a[0])?;
        if with_socket_io(&s, |io| io.tls.borrow().is_some()) != Some(true) {
            return Ok(Value::Nil);
        }
        // What is buffered still goes out encrypted.
        crate::stream::force_output(ctx, &s)?;
        let retries = match opt(a, 1) {
            None => Some(5),
            Some(Value::Nil) => None,
            Some(v) => Some(crate::builtins::int(ctx, v)?.max(0)),
        };
        let pause = super::seconds_of(ctx, opt(a, 2))?.unwrap_or(0.1);
        if let Some(tries) = retries {
            shutdown(ctx, &s, tries as usize + 1, pause)?;
        }
        with_socket_io(&s, |io| io.tls.borrow_mut().take());
        *s.extra.borrow_mut() = Value::Nil;
        Ok(Value::t())
    }

    /// Complete the handshake of an SSL SOCKET-STREAM within TIMEOUT
    /// seconds: T when done, NIL on timeout or when the peer closed
    /// cleanly; other failures signal an SSL-CONDITION.
    fn SOCKET_STREAM_HANDSHAKE "COMM:SOCKET-STREAM-HANDSHAKE" "(stream &optional timeout)" (ctx, a) {
        let s = ssl_stream(ctx, &a[0])?;
        let timeout = super::seconds_of(ctx, opt(a, 1))?;
        match handshake(ctx, &s, timeout)? {
            Ok(()) => Ok(Value::t()),
            Err(e) if matches!(e.fault, Fault::TlsHandshakeTimeout | Fault::TlsClosed) => Ok(Value::Nil),
            Err(e) => {
                let c = crate::net::conditions::condition(&e, a[0].clone());
                Err(cond::error(ctx, c))
            }
        }
    }

    /// Make a socket stream on handle SOCKET with SSL-CTX (NIL: plain)
    /// and complete the handshake. INITARGS go to MAKE-INSTANCE
    /// (:SSL-SIDE defaults to :SERVER). On a failure, with ERRORP NIL,
    /// return NIL and the condition (the socket is closed).
    fn CREATE_SSL_SOCKET_STREAM "COMM:CREATE-SSL-SOCKET-STREAM" "(socket ssl-ctx &rest initargs &key errorp stream-class &allow-other-keys)" [raw, mv] (ctx, a) {
        if a.len() < 2 {
            return Err(cond::program_error(ctx, "CREATE-SSL-SOCKET-STREAM needs a socket and an SSL context".into()));
        }
        let rest: Vec<Value> = a[2..].to_vec();
        let errorp = plist_get(&rest, "ERRORP").is_some_and(|v| v.truthy());
        let mut initargs = vec![keyword("SOCKET"), a[0].clone(), keyword("SSL-CTX"), Value::Nil];
        for pair in rest.chunks(2) {
            if let [Value::Symbol(k), v] = pair {
                if !matches!(k.name(), "ERRORP" | "STREAM-CLASS" | "SSL-CTX" | "SOCKET") {
                    initargs.push(pair[0].clone());
                    initargs.push(v.clone());
                }
            }
        }
        let class = super::socket_stream_class();
        let v = super::streams::make_instance_hook(ctx, &class, &initargs)?.expect("a socket stream");
        if !a[1].truthy() {
            return Ok(v);
        }
        let Value::Stream(s) = &v else { return Ok(v) };
        let side = side_arg(ctx, plist_get(&rest, "SSL-SIDE").as_ref(), Side::Server)?;
        let how = Attach {
            ssl_ctx: a[1].clone(),
            side,
            ctx_configure: plist_get(&rest, "CTX-CONFIGURE-CALLBACK").unwrap_or(Value::Nil),
            ssl_configure: plist_get(&rest, "SSL-CONFIGURE-CALLBACK").unwrap_or(Value::Nil),
            handshake_timeout: super::seconds_of(ctx, plist_get(&rest, "HANDSHAKE-TIMEOUT").as_ref())?,
            host_name: match plist_get(&rest, "TLSEXT-HOST-NAME") {
                Some(h) if h.truthy() => Some(crate::builtins::string_designator(ctx, &h)?),
                _ => None,
            },
        };
        if let Err(e) = attach(ctx, s, &how, None) {
            crate::stream::close(ctx, s, true)?;
            return Err(e);
        }
        match handshake(ctx, s, how.handshake_timeout)? {
            Ok(()) => Ok(v),
            Err(e) => handshake_failed(ctx, s, errorp, &e),
        }
    }

    /// The SSL connection of STREAM (the stream itself, passed to the
    /// SSL-CONNECTION- functions), or NIL if it has no SSL.
    fn SOCKET_STREAM_SSL "COMM:SOCKET-STREAM-SSL" "(stream)" (ctx, a) {
        let s = super::streams::socket_stream(ctx, &a[0])?;
        let on = with_socket_io(&s, |io| io.tls.borrow().is_some()) == Some(true);
        Ok(if on { a[0].clone() } else { Value::Nil })
    }

    /// The SSL context of STREAM, or NIL.
    fn SOCKET_STREAM_CTX "COMM:SOCKET-STREAM-CTX" "(stream)" (ctx, a) {
        let s = super::streams::socket_stream(ctx, &a[0])?;
        let c = s.extra.borrow().clone();
        Ok(if context_obj(&c).is_some() { c } else { Value::Nil })
    }

    /// The protocol version an SSL connection negotiated: :TLS-V1-3,
    /// :TLS-V1-2, or :UNKNOWN before the handshake.
    fn SSL_CONNECTION_PROTOCOL_VERSION "COMM:SSL-CONNECTION-PROTOCOL-VERSION" "(conn)" (ctx, a) {
        let s = ssl_stream(ctx, &a[0])?;
        Ok(keyword(with_layer(&s, |t| t.protocol_version()).unwrap_or("UNKNOWN")))
    }

    /// The ALPN protocol an SSL connection agreed on, as a string, or NIL.
    fn SSL_CONNECTION_ALPN_PROTOCOL "COMM:SSL-CONNECTION-ALPN-PROTOCOL" "(conn)" (ctx, a) {
        let s = ssl_stream(ctx, &a[0])?;
        Ok(match with_layer(&s, |t| t.alpn_protocol()).flatten() {
            Some(p) => crate::array::Array::string(&String::from_utf8_lossy(&p)),
            None => Value::Nil,
        })
    }

    /// The cipher suite an SSL connection negotiated (its IANA name), or NIL.
    fn SSL_CONNECTION_CIPHER_SUITE "COMM:SSL-CONNECTION-CIPHER-SUITE" "(conn)" (ctx, a) {
        let s = ssl_stream(ctx, &a[0])?;
        Ok(match with_layer(&s, |t| t.cipher_suite()).flatten() {
            Some(p) => crate::array::Array::string(&p),
            None => Value::Nil,
        })
    }

    /// The server name (SNI) the client asked for, on a server-side
    /// SSL connection, or NIL.
    fn SSL_CONNECTION_SERVER_NAME "COMM:SSL-CONNECTION-SERVER-NAME" "(conn)" (ctx, a) {
        let s = ssl_stream(ctx, &a[0])?;
        Ok(match with_layer(&s, |t| t.server_name()).flatten() {
            Some(p) => crate::array::Array::string(&p),
            None => Value::Nil,
        })
    }

    /// The certificates the peer sent, end entity first, as PEM strings.
    fn SSL_CONNECTION_PEER_CERTIFICATES "COMM:SSL-CONNECTION-PEER-CERTIFICATES" "(conn)" (ctx, a) {
        let s = ssl_stream(ctx, &a[0])?;
        let certs = with_layer(&s, |t| t.peer_certificates()).unwrap_or_default();
        Ok(crate::value::list_from(certs.iter().map(|d| crate::array::Array::string(&pem_text(d)))))
    }

    /// Verify the certificates the peer sent against the context's roots
    /// and (on a client) the server's name: T, or NIL and the reason
    /// keyword (:EXPIRED, :UNKNOWN-ISSUER, :WRONG-HOST-NAME,
    /// :SELF-SIGNED, :NO-CERTIFICATE, ...). Useful after a handshake
    /// made with verification off.
    fn SSL_CONNECTION_VERIFY "COMM:SSL-CONNECTION-VERIFY" "(ssl-connection)" [mv] (ctx, a) {
        let s = ssl_stream(ctx, &a[0])?;
        let roots = match context_obj(&s.extra.borrow()) {
            Some(c) => c.state.borrow().roots.clone(),
            None => Vec::new(),
        };
        match with_layer(&s, |t| t.verify_peer(&roots)).expect("SSL attached") {
            Ok(()) => Ok(ctx.values2(Value::t(), Value::Nil)),
            Err(reason) => Ok(ctx.values2(Value::Nil, keyword(reason))),
        }
    }

    /// The reason a certificate was rejected (:EXPIRED, :UNKNOWN-ISSUER,
    /// :WRONG-HOST-NAME, :SELF-SIGNED, ...) for an SSL-CONDITION, or NIL.
    fn SSL_CONDITION_REASON "COMM:SSL-CONDITION-REASON" "(condition)" (ctx, a) {
        Ok(crate::net::conditions::slot(&a[0], "REASON"))
    }

    /// Load the SSL library: nothing to do (rustls is built in); T.
    fn ENSURE_SSL "COMM:ENSURE-SSL" "(&key library-path)" (ctx, a) { Ok(Value::t()) }

    /// Seed the random number generator: nothing to do (rustls seeds
    /// from the OS); T.
    fn DO_RAND_SEED "COMM:DO-RAND-SEED" "(&rest args)" (ctx, a) { Ok(Value::t()) }

    /// Set where OpenSSL is found: ignored (rustls is built in).
    fn SET_SSL_LIBRARY_PATH "COMM:SET-SSL-LIBRARY-PATH" "(path)" (ctx, a) { Ok(Value::Nil) }

    /// The TLS library's name and version.
    fn OPENSSL_VERSION "COMM:OPENSSL-VERSION" "(&optional type)" (ctx, a) {
        Ok(crate::array::Array::string(&format!(
            "rustls 0.23 (ring); roots: {}",
            tls::system_roots().source
        )))
    }
}

fn client_auth(peer: bool, fail: bool) -> ClientAuth {
    match (peer, fail) {
        (false, _) => ClientAuth::Never,
        (true, false) => ClientAuth::Optional,
        (true, true) => ClientAuth::Required,
    }
}

fn verification_list(c: &SslContext) -> Value {
    let st = c.state.borrow();
    let (peer, fail) = match c.side {
        Side::Client => (st.verify, false),
        _ => match st.client_auth {
            ClientAuth::Never => (false, false),
            ClientAuth::Optional => (true, false),
            ClientAuth::Required => (true, true),
        },
    };
    let mut out = Vec::new();
    if peer {
        out.push(keyword("VERIFY-PEER"));
    }
    if fail {
        out.push(keyword("FAIL-IF-NO-PEER-CERT"));
    }
    crate::value::list_from(out)
}

fn plist_get(plist: &[Value], name: &str) -> Option<Value> {
    plist
        .chunks(2)
        .find(|p| matches!(&p[0], Value::Symbol(s) if s.name() == name))
        .map(|p| p.get(1).cloned().unwrap_or(Value::Nil))
}

/// DER as PEM text.
fn pem_text(der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("ASCII"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The OpenSSL-only FLI names, each refusing with what to use instead.
pub mod refusals {
    use crate::ctx::Ctx;

    /// The OpenSSL-only FLI names LispWorks programs call, with what to
    /// use instead.
    const UNSUPPORTED: &[(&str, &str)] = &[
        ("SET-CIPHER-LIST", "rustls offers only modern cipher suites and picks the best; choose versions with :PROTOCOL-VERSION"),
        ("SET-SSL-CTX-DH", "rustls uses ECDHE key exchange, which needs no DH parameters; drop the call"),
        ("SET-SSL-CTX-CERT-CB", "give the certificate with CREATE-SSL-SERVER-CONTEXT :CERT-FILE and :KEY-FILE"),
        ("SET-VERIFICATION-DEPTH", "rustls verifies chains of any sensible depth; drop the call"),
        ("SSL-GET-PEER-CERT-CHAIN", "use SSL-CONNECTION-PEER-CERTIFICATES, which returns PEM strings"),
        ("READ-CERTIFICATE-KEY-PAIRS", "give the files to CREATE-SSL-SERVER-CONTEXT :CERT-FILE and :KEY-FILE"),
        ("X509-ACCESSORS", "read the PEM strings of SSL-CONNECTION-PEER-CERTIFICATES with `openssl x509 -text`"),
    ];

    /// Signal that the OpenSSL-only function `name` is not supported.
    fn refuse(ctx: &mut Ctx, name: &str) -> crate::ctx::Exit {
        let instead = UNSUPPORTED
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, i)| *i);
        super::not_supported(ctx, name, instead)
    }

    crate::defbuiltins! {
        /// OpenSSL only: signals an SSL-ERROR (rustls picks cipher suites itself).
        fn SET_CIPHER_LIST "COMM:SET-CIPHER-LIST" "(ssl-ctx list)" (ctx, a) { Err(refuse(ctx, "SET-CIPHER-LIST")) }
        /// OpenSSL only: signals an SSL-ERROR (rustls needs no DH parameters).
        fn SET_SSL_CTX_DH "COMM:SET-SSL-CTX-DH" "(ssl-ctx &key filename)" (ctx, a) { Err(refuse(ctx, "SET-SSL-CTX-DH")) }
        /// OpenSSL only: signals an SSL-ERROR.
        fn SET_SSL_CTX_CERT_CB "COMM:SET-SSL-CTX-CERT-CB" "(ssl-ctx function)" (ctx, a) { Err(refuse(ctx, "SET-SSL-CTX-CERT-CB")) }
        /// OpenSSL only: signals an SSL-ERROR.
        fn SET_VERIFICATION_DEPTH "COMM:SET-VERIFICATION-DEPTH" "(ssl-ctx depth)" (ctx, a) { Err(refuse(ctx, "SET-VERIFICATION-DEPTH")) }
        /// OpenSSL only: signals an SSL-ERROR naming SSL-CONNECTION-PEER-CERTIFICATES.
        fn SSL_GET_PEER_CERT_CHAIN "COMM:SSL-GET-PEER-CERT-CHAIN" "(ssl)" (ctx, a) { Err(refuse(ctx, "SSL-GET-PEER-CERT-CHAIN")) }
        /// OpenSSL only: signals an SSL-ERROR.
        fn READ_CERTIFICATE_KEY_PAIRS "COMM:READ-CERTIFICATE-KEY-PAIRS" "(pathname &key pass-phrase)" (ctx, a) { Err(refuse(ctx, "READ-CERTIFICATE-KEY-PAIRS")) }
        /// OpenSSL only: signals an SSL-ERROR naming SSL-CONNECTION-PEER-CERTIFICATES.
        fn X509_GET_SUBJECT_NAME "COMM:X509-GET-SUBJECT-NAME" "(x509)" (ctx, a) { Err(refuse(ctx, "X509-ACCESSORS")) }
        /// OpenSSL only: signals an SSL-ERROR naming SSL-CONNECTION-PEER-CERTIFICATES.
        fn X509_GET_ISSUER_NAME "COMM:X509-GET-ISSUER-NAME" "(x509)" (ctx, a) { Err(refuse(ctx, "X509-ACCESSORS")) }
        /// OpenSSL only: signals an SSL-ERROR naming SSL-CONNECTION-PEER-CERTIFICATES.
        fn X509_NAME_ONELINE "COMM:X509-NAME-ONELINE" "(x509-name)" (ctx, a) { Err(refuse(ctx, "X509-ACCESSORS")) }
    }
}
