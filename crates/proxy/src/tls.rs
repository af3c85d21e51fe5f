//! TLS on listeners and on SMSC links (rustls, ring provider, TLS 1.2 and 1.3).
//!
//! Each TLS listener and each TLS upstream keeps its rustls configuration in an
//! [`ArcSwap`]: a handshake takes the configuration current when it starts, so a
//! reload that re-reads the certificate files changes what new handshakes see and
//! leaves established sessions alone. A reload prepares every configuration first and
//! installs them only when all of them load; an unreadable or inconsistent file keeps
//! the running ones and the error names the configuration key and the file.
//!
//! [`Stream`] is what a session reads and writes: a plain `TcpStream` or a TLS stream
//! over one. The plain path splits the socket without locks, as before TLS existed.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use smppguard_metrics::Metrics;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::config::{ConfigError, StaticConfig, TlsFiles, UpstreamTls};
use crate::downstream::{BoxRead, BoxWrite};

/// Largest certificate, key or CA file read (a PEM bundle of every public root is
/// about 200 KiB).
const MAX_PEM_BYTES: u64 = 4 << 20;

/// The crypto provider of every configuration: ring, chosen explicitly so a build
/// that also links another provider cannot make the choice ambiguous.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(key: &str, path: &Path, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        reason: format!("{}: {reason}", path.display()),
    }
}

fn read_pem(key: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    let len = std::fs::metadata(path)
        .map_err(|e| invalid(key, path, format!("cannot read: {e}")))?
        .len();
    if len > MAX_PEM_BYTES {
        return Err(invalid(
            key,
            path,
            format!("larger than {MAX_PEM_BYTES} bytes"),
        ));
    }
    std::fs::read(path).map_err(|e| invalid(key, path, format!("cannot read: {e}")))
}

/// Every certificate of a PEM file; at least one.
fn load_certs(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem = read_pem(key, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(key, path, format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(key, path, "no CERTIFICATE block"));
    }
    Ok(certs)
}

/// The first private key of a PEM file.
fn load_key(key: &str, path: &Path) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let pem = read_pem(key, path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => invalid(key, path, "no PRIVATE KEY block"),
        e => invalid(key, path, format!("bad PEM: {e}")),
    })
}

/// A root store of every certificate in `path`.
fn load_roots(key: &str, path: &Path) -> Result<Arc<RootCertStore>, ConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(key, path)? {
        roots
            .add(cert)
            .map_err(|e| invalid(key, path, format!("unusable CA certificate: {e}")))?;
    }
    Ok(Arc::new(roots))
}

/// Builds a listener's server configuration from its files.
fn server_config(files: &TlsFiles, key: &str) -> Result<ServerConfig, ConfigError> {
    let cert_key = format!("{key}.cert");
    let key_key = format!("{key}.key");
    let certs = load_certs(&cert_key, &files.cert_file)?;
    let private = load_key(&key_key, &files.key_file)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(key, &files.cert_file, e))?;
    let builder = match &files.client_ca_file {
        Some(ca) => {
            let ca_key = format!("{key}.client_ca");
            let roots = load_roots(&ca_key, ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|e| invalid(&ca_key, ca, e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    builder.with_single_cert(certs, private).map_err(|e| {
        invalid(
            &key_key,
            &files.key_file,
            format!("unusable with {}: {e}", files.cert_file.display()),
        )
    })
}

/// Builds an upstream's client configuration.
fn client_config(tls: &UpstreamTls, key: &str) -> Result<ClientConfig, ConfigError> {
    let roots = match &tls.ca_file {
        Some(ca) => load_roots(&format!("{key}.ca"), ca)?,
        None => system_roots(key)?,
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Invalid {
            key: key.to_string(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots);
    match &tls.client_cert {
        Some((cert, private)) => {
            let key_key = format!("{key}.key");
            let chain = load_certs(&format!("{key}.cert"), cert)?;
            let private_key = load_key(&key_key, private)?;
            builder
                .with_client_auth_cert(chain, private_key)
                .map_err(|e| {
                    invalid(
                        &key_key,
                        private,
                        format!("unusable with {}: {e}", cert.display()),
                    )
                })
        }
        None => Ok(builder.with_no_client_auth()),
    }
}

/// The system trust store (what `rustls-native-certs` finds: `SSL_CERT_FILE`,
/// `SSL_CERT_DIR`, or the distribution's bundle).
fn system_roots(key: &str) -> Result<Arc<RootCertStore>, ConfigError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (_added, _ignored) = roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(ConfigError::Invalid {
            key: format!("{key}.ca"),
            reason: "no CA certificate in the system trust store; set tls.ca".into(),
        });
    }
    Ok(Arc::new(roots))
}

/// A TLS listener's live configuration.
#[derive(Debug)]
pub(crate) struct ListenerTls {
    files: TlsFiles,
    key: String,
    config: ArcSwap<ServerConfig>,
}

impl ListenerTls {
    /// Reads the files of `listeners[index].tls`.
    fn load(files: &TlsFiles, index: usize) -> Result<Self, ConfigError> {
        let key = format!("listeners[{index}].tls");
        let config = server_config(files, &key)?;
        Ok(Self {
            files: files.clone(),
            key,
            config: ArcSwap::from_pointee(config),
        })
    }

    /// The acceptor for a connection arriving now.
    fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.load_full())
    }

    /// Time a client has to finish its handshake.
    pub(crate) fn handshake_timeout(&self) -> Duration {
        self.files.handshake_timeout
    }
}

/// A TLS upstream's live configuration.
#[derive(Debug)]
pub(crate) struct ConnectorTls {
    settings: UpstreamTls,
    key: String,
    server_name: ServerName<'static>,
    config: ArcSwap<ClientConfig>,
}

impl ConnectorTls {
    fn load(settings: &UpstreamTls, index: usize) -> Result<Self, ConfigError> {
        let key = format!("upstreams[{index}].tls");
        let server_name = ServerName::try_from(settings.server_name.clone()).map_err(|_| {
            ConfigError::Invalid {
                key: format!("{key}.server_name"),
                reason: "must be a DNS name or an IP address".into(),
            }
        })?;
        let config = client_config(settings, &key)?;
        Ok(Self {
            settings: settings.clone(),
            key,
            server_name,
            config: ArcSwap::from_pointee(config),
        })
    }
}

/// Every TLS configuration of a proxy, indexed like the static configuration's
/// listeners and upstreams (`None`: plain TCP).
#[derive(Debug, Default)]
pub(crate) struct TlsState {
    listeners: Vec<Option<Arc<ListenerTls>>>,
    upstreams: Vec<Option<ConnectorTls>>,
}

/// Configurations read by [`TlsState::prepare`], not yet in force.
#[derive(Debug)]
pub(crate) struct Prepared {
    listeners: Vec<Option<ServerConfig>>,
    upstreams: Vec<Option<ClientConfig>>,
}

impl TlsState {
    /// Reads every certificate, key and CA file the configuration names.
    pub(crate) fn load(fixed: &StaticConfig) -> Result<Self, ConfigError> {
        let listeners = fixed
            .listeners
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.tls
                    .as_ref()
                    .map(|t| ListenerTls::load(t, i).map(Arc::new))
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        let upstreams = fixed
            .upstreams
            .iter()
            .enumerate()
            .map(|(i, u)| u.tls.as_ref().map(|t| ConnectorTls::load(t, i)).transpose())
            .collect::<Result<_, _>>()?;
        Ok(Self {
            listeners,
            upstreams,
        })
    }

    /// The TLS configuration of listener `index`, if it speaks TLS.
    pub(crate) fn listener(&self, index: usize) -> Option<Arc<ListenerTls>> {
        self.listeners.get(index).and_then(Clone::clone)
    }

    /// Re-reads every file (reload, step one): all of them load, or nothing changes.
    pub(crate) fn prepare(&self) -> Result<Prepared, ConfigError> {
        let listeners = self
            .listeners
            .iter()
            .map(|l| {
                l.as_ref()
                    .map(|l| server_config(&l.files, &l.key))
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        let upstreams = self
            .upstreams
            .iter()
            .map(|u| {
                u.as_ref()
                    .map(|u| client_config(&u.settings, &u.key))
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        Ok(Prepared {
            listeners,
            upstreams,
        })
    }

    /// Puts prepared configurations in force for handshakes that start from now on.
    pub(crate) fn install(&self, prepared: Prepared) {
        for (live, new) in self.listeners.iter().zip(prepared.listeners) {
            if let (Some(live), Some(new)) = (live, new) {
                live.config.store(Arc::new(new));
            }
        }
        for (live, new) in self.upstreams.iter().zip(prepared.upstreams) {
            if let (Some(live), Some(new)) = (live, new) {
                live.config.store(Arc::new(new));
            }
        }
    }

    /// Connects upstream `index`'s TCP stream as its configuration says: returned as
    /// it is for plain TCP, after a handshake bounded by `limit` for TLS.
    pub(crate) async fn connect(
        &self,
        index: usize,
        tcp: TcpStream,
        limit: Duration,
        metrics: &Metrics,
    ) -> io::Result<Stream> {
        let Some(Some(tls)) = self.upstreams.get(index) else {
            return Ok(Stream::Plain(tcp));
        };
        let connector = TlsConnector::from(tls.config.load_full());
        let failures = &metrics.global.tls_handshake_failures;
        match timeout(limit, connector.connect(tls.server_name.clone(), tcp)).await {
            Ok(Ok(s)) => Ok(Stream::Client(Box::new(s))),
            Ok(Err(e)) => {
                failures.upstream_error.inc();
                Err(e)
            }
            Err(_) => {
                failures.upstream_timeout.inc();
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "tls handshake timed out",
                ))
            }
        }
    }
}

/// Accepts a TLS client on `tcp`: the handshake within the listener's timeout, a
/// failure counted and logged with the peer address and the handshake error only.
pub(crate) async fn accept(
    tls: &ListenerTls,
    tcp: TcpStream,
    peer: std::net::SocketAddr,
    metrics: &Metrics,
) -> Option<Stream> {
    let failures = &metrics.global.tls_handshake_failures;
    match timeout(tls.handshake_timeout(), tls.acceptor().accept(tcp)).await {
        Ok(Ok(s)) => Some(Stream::Server(Box::new(s))),
        Ok(Err(e)) => {
            failures.downstream_error.inc();
            tracing::info!(peer = %peer, error = %handshake_error(&e), "tls handshake failed");
            None
        }
        Err(_) => {
            failures.downstream_timeout.inc();
            tracing::info!(peer = %peer, "tls handshake timed out");
            None
        }
    }
}

/// A handshake error for the log: rustls's own description (fixed texts and enum
/// names, never the peer's bytes), or the I/O error kind.
fn handshake_error(e: &io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => tls.to_string(),
        None => e.kind().to_string(),
    }
}

/// A session's byte stream: plain TCP or TLS over TCP.
#[derive(Debug)]
pub(crate) enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS accepted from an ESME.
    Server(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// TLS to an SMSC.
    Client(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    /// Splits into boxed halves; plain TCP without a lock, TLS through tokio's split.
    pub(crate) fn into_split(self) -> (BoxRead, BoxWrite) {
        match self {
            Stream::Plain(tcp) => {
                let (r, w) = tcp.into_split();
                (Box::new(r), Box::new(w))
            }
            tls => {
                let (r, w) = tokio::io::split(tls);
                (Box::new(r), Box::new(w))
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Server(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Client(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Server(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Client(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Server(s) => Pin::new(s).poll_flush(cx),
            Stream::Client(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Server(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Client(s) => Pin::new(s).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Server(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Client(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Server(s) => s.is_write_vectored(),
            Stream::Client(s) => s.is_write_vectored(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path, cert: &str, key: &str) -> TlsFiles {
        let cert_file = dir.join("c.pem");
        let key_file = dir.join("k.pem");
        std::fs::write(&cert_file, cert).unwrap();
        std::fs::write(&key_file, key).unwrap();
        TlsFiles {
            cert_file,
            key_file,
            client_ca_file: None,
            handshake_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn errors_name_the_key_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (good.cert.pem(), good.signing_key.serialize_pem());
        let ok = files(dir.path(), &cert, &key);
        assert!(server_config(&ok, "listeners[0].tls").is_ok());

        let mut missing = ok.clone();
        missing.cert_file = dir.path().join("absent.pem");
        let e = server_config(&missing, "listeners[0].tls")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("listeners[0].tls.cert: "), "{e}");
        assert!(e.contains("absent.pem: cannot read"), "{e}");

        let no_key = files(dir.path(), &cert, &cert);
        let e = server_config(&no_key, "listeners[2].tls")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("listeners[2].tls.key: "), "{e}");
        assert!(e.contains("k.pem: no PRIVATE KEY block"), "{e}");

        let no_cert = files(dir.path(), &key, &key);
        let e = server_config(&no_cert, "listeners[0].tls")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.pem: no CERTIFICATE block"), "{e}");

        let other = rcgen::generate_simple_self_signed(vec!["x".into()]).unwrap();
        let mismatch = files(dir.path(), &cert, &other.signing_key.serialize_pem());
        let e = server_config(&mismatch, "listeners[0].tls")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("listeners[0].tls.key: "), "{e}");
        assert!(e.contains("unusable with"), "{e}");

        let mut bad_ca = ok.clone();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "nothing here").unwrap();
        bad_ca.client_ca_file = Some(ca);
        let e = server_config(&bad_ca, "listeners[0].tls")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("listeners[0].tls.client_ca: "), "{e}");

        let upstream = UpstreamTls {
            ca_file: Some(dir.path().join("c.pem")),
            server_name: "localhost".into(),
            client_cert: Some((dir.path().join("c.pem"), dir.path().join("nokey.pem"))),
        };
        let e = client_config(&upstream, "upstreams[1].tls")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("upstreams[1].tls.key: "), "{e}");
    }

    #[test]
    fn a_failed_prepare_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let first = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let f = files(
            dir.path(),
            &first.cert.pem(),
            &first.signing_key.serialize_pem(),
        );
        let listener = ListenerTls::load(&f, 0).unwrap();
        let state = TlsState {
            listeners: vec![None, Some(Arc::new(listener))],
            upstreams: vec![None],
        };
        let before = state.listener(1).unwrap().config.load_full();
        std::fs::write(&f.key_file, "garbage").unwrap();
        let e = state.prepare().unwrap_err().to_string();
        assert!(e.starts_with("listeners[0].tls.key"), "{e}");
        assert!(Arc::ptr_eq(
            &before,
            &state.listener(1).unwrap().config.load_full()
        ));
        // Fixed files: the new configuration replaces the old one.
        std::fs::write(&f.key_file, first.signing_key.serialize_pem()).unwrap();
        state.install(state.prepare().unwrap());
        assert!(!Arc::ptr_eq(
            &before,
            &state.listener(1).unwrap().config.load_full()
        ));
        assert!(state.listener(0).is_none());
    }
}
