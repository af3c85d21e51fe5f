//! TLS on both legs, over real sockets, with certificates made at test time: ESMEs
//! reach the proxy through a TLS-initiating forwarder (the simulator's client speaks
//! plain TCP), and the proxy reaches the simulator through a TLS-terminating one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ProtocolVersion, RootCertStore, ServerConfig};
use smppguard_codec::{Body, CommandStatus as S, Pdu};
use smppguard_proxy::{Config, Proxy};
use smppguard_sim::esme::{Esme, Request};
use smppguard_sim::message::Sms;
use smppguard_sim::{BindType, Smsc, SmscHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::support::{Harness, PASSWORD, Setup, config_text, eventually, sim_config, without_seq};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A test CA that issues server and client certificates.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as PEM and DER.
struct Leaf {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn issue(&self, names: &[&str], cn: &str) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }

    fn roots(&self) -> Arc<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(self.issuer.der().clone()).unwrap();
        Arc::new(roots)
    }
}

impl Leaf {
    fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }

    fn key_der(&self) -> PrivateKeyDer<'static> {
        use rustls::pki_types::pem::PemObject;
        PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).unwrap()
    }
}

/// What one forwarded TLS connection negotiated.
#[derive(Debug, Clone)]
struct Seen {
    peer_cert: Option<CertificateDer<'static>>,
    version: Option<ProtocolVersion>,
}

/// A plain-TCP listener whose connections are carried to `target` over TLS: the
/// simulator's ESME connects here. Every handshake's outcome is recorded.
struct TlsClientForwarder {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Result<Seen, String>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsClientForwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsClientForwarder {
    async fn start(target: SocketAddr, config: ClientConfig) -> TlsClientForwarder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connector = TlsConnector::from(Arc::new(config));
        let record = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut plain, _)) = listener.accept().await else {
                    return;
                };
                let connector = connector.clone();
                let record = Arc::clone(&record);
                tokio::spawn(async move {
                    let tcp = TcpStream::connect(target).await.unwrap();
                    let name = ServerName::try_from("localhost").unwrap();
                    match connector.connect(name, tcp).await {
                        Ok(mut tls) => {
                            let (_, conn) = tls.get_ref();
                            record.lock().push(Ok(Seen {
                                peer_cert: conn.peer_certificates().map(|c| c[0].clone()),
                                version: conn.protocol_version(),
                            }));
                            let _ = tokio::io::copy_bidirectional(&mut plain, &mut tls).await;
                        }
                        Err(e) => record.lock().push(Err(e.to_string())),
                    }
                });
            }
        });
        TlsClientForwarder { addr, seen, task }
    }

    fn seen(&self) -> Vec<Result<Seen, String>> {
        self.seen.lock().clone()
    }
}

/// A TLS listener that carries each connection to `target` in plain TCP: the
/// simulator SMSC behind TLS termination.
async fn tls_terminator(target: SocketAddr, config: ServerConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut plain = TcpStream::connect(target).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    addr
}

fn client_config(ca: &Ca, versions: &[&'static rustls::SupportedProtocolVersion]) -> ClientConfig {
    ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(ca.roots())
        .with_no_client_auth()
}

fn default_client(ca: &Ca) -> ClientConfig {
    client_config(ca, rustls::DEFAULT_VERSIONS)
}

/// A proxy whose listener speaks TLS with `tls` (the inside of `tls = { ... }`), in
/// front of one simulator; `upstream_tls` likewise for the upstream.
async fn start(
    dir: tempfile::TempDir,
    tls: &str,
    smsc_addr: Option<SocketAddr>,
    upstream_tls: Option<&str>,
) -> (Harness, Option<SmscHandle>) {
    let (sim, addr) = match smsc_addr {
        Some(a) => (None, a),
        None => {
            let sim = Smsc::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), sim_config())
                .await
                .unwrap();
            let a = sim.local_addr();
            (Some(sim), a)
        }
    };
    let setup = Setup::default();
    let mut text = config_text(&setup, &[addr], dir.path());
    let listener = "[[listeners]]\naddress = \"127.0.0.1:0\"\n";
    assert!(text.contains(listener));
    text = text.replace(listener, &format!("{listener}tls = {{ {tls} }}\n"));
    if let Some(u) = upstream_tls {
        text = text.replace(
            "connect_timeout_seconds = 2\n",
            &format!("connect_timeout_seconds = 2\ntls = {{ {u} }}\n"),
        );
    }
    let path = dir.path().join("smppguard.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Config::from_file(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let proxy = Proxy::start_with_path(config, Some(path)).await.unwrap();
    let h = Harness {
        proxy,
        smscs: Vec::new(),
        dir,
    };
    (h, sim)
}

fn submit(text: &str) -> Request {
    Request::from(Pdu::new(
        Body::SubmitSm(Sms::gsm7(text).unwrap().submit_sm().unwrap()),
        S::ESME_ROK,
        1,
    ))
}

/// Submits `text` and expects it accepted.
async fn submit_ok(esme: &Esme, text: &str) {
    assert_eq!(esme.submit(submit(text)).await.unwrap().status, S::ESME_ROK);
}

async fn bound_via(fwd: &TlsClientForwarder) -> Esme {
    let esme = Esme::connect(fwd.addr).await.unwrap();
    let r = esme
        .bind(BindType::Transceiver, "acme", PASSWORD)
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_ROK);
    esme
}

/// Server certificate files for the proxy, in the test directory.
fn server_files(dir: &Path, ca: &Ca, cn: &str) -> (Leaf, String) {
    let leaf = ca.issue(&["localhost", "127.0.0.1"], cn);
    let (cert, key) = leaf.write(dir, "server");
    let tls = format!("cert = \"{}\", key = \"{}\"", cert.display(), key.display());
    (leaf, tls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_esme_binds_over_tls_1_2_and_1_3_and_submits_reach_the_smsc_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("esme-facing ca");
    let (leaf, tls) = server_files(dir.path(), &ca, "proxy");
    let (h, sim) = start(dir, &tls, None, None).await;
    let sim = sim.unwrap();
    eventually("upstream bound", || h.proxy.upstreams()[0].bound == 1).await;
    for (versions, expect) in [
        (&[&rustls::version::TLS13][..], ProtocolVersion::TLSv1_3),
        (&[&rustls::version::TLS12][..], ProtocolVersion::TLSv1_2),
    ] {
        let fwd = TlsClientForwarder::start(h.addr(), client_config(&ca, versions)).await;
        let esme = bound_via(&fwd).await;
        let sent = submit("hello over tls");
        let before = sim.received().len();
        let r = esme.submit(sent.clone()).await.unwrap();
        assert_eq!(r.status, S::ESME_ROK);
        let got = sim.received();
        assert_eq!(got.len(), before + 1);
        assert_eq!(
            without_seq(sent.frame()),
            without_seq(&got.last().unwrap().frame)
        );
        let seen = fwd.seen();
        let seen = seen[0].as_ref().unwrap();
        assert_eq!(seen.version, Some(expect));
        assert_eq!(seen.peer_cert.as_ref(), Some(&leaf.der));
        esme.unbind().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_a_client_without_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("server ca");
    let client_ca = Ca::new("client ca");
    let ca_path = dir.path().join("clients.pem");
    std::fs::write(&ca_path, client_ca.pem()).unwrap();
    let (_, tls) = server_files(dir.path(), &ca, "proxy");
    let tls = format!("{tls}, client_ca = \"{}\"", ca_path.display());
    let (h, _sim) = start(dir, &tls, None, None).await;
    let failures = &h.proxy.metrics().global.tls_handshake_failures;

    // No certificate: the proxy ends the handshake and no PDU gets through.
    let fwd = TlsClientForwarder::start(h.addr(), default_client(&ca)).await;
    let esme = Esme::connect(fwd.addr).await.unwrap();
    let bind = tokio::time::timeout(
        Duration::from_secs(5),
        esme.bind(BindType::Transceiver, "acme", PASSWORD),
    )
    .await
    .expect("the refusal is prompt");
    assert!(bind.is_err(), "{bind:?}");
    eventually("handshake failure counted", || {
        failures.downstream_error.get() == 1
    })
    .await;
    assert_eq!(h.proxy.bound_sessions(), 0);

    // A certificate from another CA is refused too.
    let stranger = Ca::new("stranger").issue(&["esme"], "esme");
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(ca.roots())
        .with_client_auth_cert(vec![stranger.der.clone()], stranger.key_der())
        .unwrap();
    let fwd = TlsClientForwarder::start(h.addr(), config).await;
    let esme = Esme::connect(fwd.addr).await.unwrap();
    assert!(
        esme.bind(BindType::Transceiver, "acme", PASSWORD)
            .await
            .is_err()
    );
    eventually("second failure counted", || {
        failures.downstream_error.get() == 2
    })
    .await;

    // The client CA's certificate binds.
    let good = client_ca.issue(&["esme"], "esme-acme");
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(ca.roots())
        .with_client_auth_cert(vec![good.der.clone()], good.key_der())
        .unwrap();
    let fwd = TlsClientForwarder::start(h.addr(), config).await;
    let esme = bound_via(&fwd).await;
    submit_ok(&esme, "with a client certificate").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_certificate_serves_new_connections_while_old_sessions_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("rotating ca");
    let (first, tls) = server_files(dir.path(), &ca, "generation 1");
    let cert_path = dir.path().join("server.crt");
    let (h, _sim) = start(dir, &tls, None, None).await;
    eventually("upstream bound", || h.proxy.upstreams()[0].bound == 1).await;

    let fwd = TlsClientForwarder::start(h.addr(), default_client(&ca)).await;
    let old = bound_via(&fwd).await;
    assert_eq!(
        fwd.seen()[0].as_ref().unwrap().peer_cert,
        Some(first.der.clone())
    );

    // Rotation in place, then a reload.
    let (second, _) = server_files(h.dir.path(), &ca, "generation 2");
    assert_ne!(first.der, second.der);
    h.proxy.reload_from_file(None).await.unwrap();

    let fresh = bound_via(&fwd).await;
    assert_eq!(
        fwd.seen()[1].as_ref().unwrap().peer_cert,
        Some(second.der.clone())
    );
    for esme in [&old, &fresh] {
        submit_ok(esme, "after rotation").await;
    }

    // A broken file on reload: refused, naming the key and the file; the second
    // certificate stays in force.
    std::fs::write(&cert_path, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    let err = h
        .proxy
        .reload_from_file(None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("listeners[0].tls.cert"), "{err}");
    assert!(err.contains(&cert_path.display().to_string()), "{err}");
    // A key that does not belong to the certificate: named too.
    let (_, _) = server_files(h.dir.path(), &ca, "generation 3");
    std::fs::write(
        h.dir.path().join("server.key"),
        ca.issue(&["localhost"], "other").key_pem,
    )
    .unwrap();
    let err = h
        .proxy
        .reload_from_file(None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("listeners[0].tls.key"), "{err}");

    let third = bound_via(&fwd).await;
    assert_eq!(
        fwd.seen()[2].as_ref().unwrap().peer_cert,
        Some(second.der.clone())
    );
    submit_ok(&third, "still the second").await;
    submit_ok(&old, "old session").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_client_on_a_tls_port_fails_cleanly_and_harms_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("ca");
    let (_, tls) = server_files(dir.path(), &ca, "proxy");
    let tls = format!("{tls}, handshake_timeout_seconds = 1");
    let (h, _sim) = start(dir, &tls, None, None).await;
    eventually("upstream bound", || h.proxy.upstreams()[0].bound == 1).await;
    let failures = &h.proxy.metrics().global.tls_handshake_failures;
    let fwd = TlsClientForwarder::start(h.addr(), default_client(&ca)).await;
    let good = bound_via(&fwd).await;

    // SMPP in clear text: the bind gets no SMPP answer and the connection closes.
    let plain = Esme::connect(h.addr()).await.unwrap();
    let bind = tokio::time::timeout(
        Duration::from_secs(5),
        plain.bind(BindType::Transceiver, "acme", PASSWORD),
    )
    .await
    .expect("closed promptly");
    assert!(bind.is_err(), "{bind:?}");
    eventually("failure counted", || failures.downstream_error.get() == 1).await;

    // A client that connects and says nothing is dropped at the handshake timeout.
    let mut silent = TcpStream::connect(h.addr()).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf))
        .await
        .expect("closed by the handshake timeout")
        .unwrap_or(0);
    assert_eq!(n, 0);
    eventually("timeout counted", || failures.downstream_timeout.get() == 1).await;

    // Garbage that looks like a TLS record header with a huge length.
    let mut junk = TcpStream::connect(h.addr()).await.unwrap();
    junk.write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0, 0, 0])
        .await
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), junk.read(&mut buf)).await;

    // The TLS session bound before is unaffected, and new ones still bind.
    submit_ok(&good, "unaffected").await;
    let again = bound_via(&fwd).await;
    submit_ok(&again, "new session").await;
    assert_eq!(h.proxy.bound_sessions(), 2);
}

/// A proxy with a TLS listener (certificate from `esme_ca`) whose upstream is a
/// simulator behind TLS termination serving `smsc_leaf`; the proxy trusts `trusted`
/// for it and checks the name `smsc.test`.
async fn behind_tls(esme_ca: &Ca, smsc_leaf: &Leaf, trusted: &Ca) -> (Harness, SmscHandle) {
    let dir = tempfile::tempdir().unwrap();
    let (_, tls) = server_files(dir.path(), esme_ca, "proxy");
    let trusted_path = dir.path().join("smsc-ca.pem");
    std::fs::write(&trusted_path, trusted.pem()).unwrap();
    let sim = Smsc::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), sim_config())
        .await
        .unwrap();
    let server = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![smsc_leaf.der.clone()], smsc_leaf.key_der())
        .unwrap();
    let front = tls_terminator(sim.local_addr(), server).await;
    let upstream = format!(
        "ca = \"{}\", server_name = \"smsc.test\"",
        trusted_path.display()
    );
    let (h, _) = start(dir, &tls, Some(front), Some(&upstream)).await;
    (h, sim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_tls_to_a_tls_terminated_smsc() {
    let esme_ca = Ca::new("esme ca");
    let smsc_ca = Ca::new("smsc ca");
    let smsc_leaf = smsc_ca.issue(&["smsc.test"], "smsc");
    let (h, sim) = behind_tls(&esme_ca, &smsc_leaf, &smsc_ca).await;
    eventually("upstream bound over tls", || {
        h.proxy.upstreams()[0].bound == 1
    })
    .await;
    let fwd = TlsClientForwarder::start(h.addr(), default_client(&esme_ca)).await;
    let esme = bound_via(&fwd).await;
    let sent = submit("through two tls legs");
    assert_eq!(esme.submit(sent.clone()).await.unwrap().status, S::ESME_ROK);
    let got = sim.received();
    assert_eq!(got.len(), 1);
    assert_eq!(without_seq(sent.frame()), without_seq(&got[0].frame));
    let failures = &h.proxy.metrics().global.tls_handshake_failures;
    assert_eq!(failures.upstream_error.get(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_tls_refuses_an_smsc_certificate_from_another_ca() {
    let esme_ca = Ca::new("esme ca");
    let trusted = Ca::new("trusted");
    let impostor = Ca::new("impostor").issue(&["smsc.test"], "smsc");
    let (h, sim) = behind_tls(&esme_ca, &impostor, &trusted).await;
    let failures = &h.proxy.metrics().global.tls_handshake_failures;
    eventually("upstream handshake refused", || {
        failures.upstream_error.get() >= 2
    })
    .await;
    assert_eq!(h.proxy.upstreams()[0].bound, 0);
    assert_eq!(sim.connections(), 0);
    assert!(sim.received().is_empty());
}
