//! Test harness: a proxy in front of simulators, configured from a TOML string.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use smppguard_codec::{CommandStatus, Header};
use smppguard_proxy::{Config, Proxy, ProxyHandle};
use smppguard_sim::esme::Esme;
use smppguard_sim::{BindType, SimConfig, Smsc, SmscHandle};

/// A rule pack body: a keyword rule and a two-keyword fraud rule.
pub(crate) const RULES: &str = r#"
[[rule]]
id = "free-prize"
description = "prize lure"
category = "spam"
action = "reject"
patterns.p = { literal = "free prize" }

[[rule]]
id = "cc-limit"
description = "credit-card limit increase"
category = "fraud"
action = "reject"
when = "cc and limit"
patterns.cc = { literal = "信用卡" }
patterns.limit = { literal = ["提額", "提额"] }
"#;

/// The password every test account uses.
pub(crate) const PASSWORD: &str = "secret1";

/// A cheap argon2id hash of [`PASSWORD`] (tests bind often; production hashes use the
/// crate defaults).
pub(crate) fn password_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| {
        let params = Params::new(256, 1, 1, None).unwrap();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::encode_b64(b"smppguard-tests").unwrap();
        argon
            .hash_password(PASSWORD.as_bytes(), &salt)
            .unwrap()
            .to_string()
    })
}

/// An account entry.
pub(crate) fn account(system_id: &str, extra: &str) -> String {
    format!(
        "[[accounts]]\nsystem_id = \"{system_id}\"\npassword_hash = \"{}\"\nroute = \"default\"\n{extra}\n",
        password_hash()
    )
}

/// A proxy with its simulators and scratch directory.
pub(crate) struct Harness {
    pub(crate) proxy: ProxyHandle,
    pub(crate) smscs: Vec<SmscHandle>,
    pub(crate) dir: tempfile::TempDir,
}

/// What to build.
pub(crate) struct Setup {
    /// Simulator configurations, one upstream each (named `smsc-0`, `smsc-1`, ...).
    pub(crate) smscs: Vec<SimConfig>,
    /// Sessions per upstream.
    pub(crate) sessions: u32,
    /// TOML appended to the generated file (accounts, sections).
    pub(crate) extra: String,
    /// A rule pack body (after the header), written to `rules.toml`.
    pub(crate) rules: Option<String>,
    /// Lines added to `[server]`.
    pub(crate) server: String,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            smscs: vec![sim_config()],
            sessions: 1,
            extra: account("acme", ""),
            rules: None,
            server: String::new(),
        }
    }
}

/// A simulator configuration with receipts on and a fixed seed.
pub(crate) fn sim_config() -> SimConfig {
    SimConfig {
        dlr: true,
        seed: 7,
        ..SimConfig::default()
    }
}

/// The generated configuration text.
pub(crate) fn config_text(
    setup: &Setup,
    smsc_addrs: &[SocketAddr],
    dir: &std::path::Path,
) -> String {
    let mut text = format!(
        "[server]\n{}\n\n[[listeners]]\naddress = \"127.0.0.1:0\"\n\n",
        setup.server
    );
    for (i, addr) in smsc_addrs.iter().enumerate() {
        text.push_str(&format!(
            "[[upstreams]]\nname = \"smsc-{i}\"\naddress = \"{addr}\"\nsystem_id = \"proxy\"\npassword = \"pw\"\nsessions = {}\nreconnect_backoff_min_ms = 50\nreconnect_backoff_max_ms = 200\nconnect_timeout_seconds = 2\n\n",
            setup.sessions
        ));
    }
    let names: Vec<String> = (0..smsc_addrs.len())
        .map(|i| format!("\"smsc-{i}\""))
        .collect();
    text.push_str(&format!(
        "[[routes]]\nname = \"default\"\nupstreams = [{}]\n\n",
        names.join(", ")
    ));
    if setup.rules.is_some() {
        text.push_str(&format!(
            "[filter]\nrules = \"{}\"\n\n",
            dir.join("rules.toml").display()
        ));
    }
    text.push_str(&setup.extra);
    text
}

/// Writes a rule pack.
pub(crate) fn write_rules(dir: &std::path::Path, body: &str) -> PathBuf {
    let path = dir.join("rules.toml");
    std::fs::write(
        &path,
        format!("format = 1\n\n[pack]\nname = \"test\"\nversion = \"1\"\n\n{body}"),
    )
    .unwrap();
    path
}

impl Harness {
    /// Starts the simulators and the proxy and waits until every upstream is bound.
    pub(crate) async fn start(setup: Setup) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut smscs = Vec::new();
        for cfg in &setup.smscs {
            smscs.push(
                Smsc::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), cfg.clone())
                    .await
                    .unwrap(),
            );
        }
        if let Some(rules) = &setup.rules {
            write_rules(dir.path(), rules);
        }
        let addrs: Vec<SocketAddr> = smscs.iter().map(SmscHandle::local_addr).collect();
        let text = config_text(&setup, &addrs, dir.path());
        let path = dir.path().join("smppguard.toml");
        std::fs::write(&path, &text).unwrap();
        let config = Config::from_file(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let proxy = Proxy::start_with_path(config, Some(path)).await.unwrap();
        let h = Harness { proxy, smscs, dir };
        h.wait_bound().await;
        h
    }

    /// Waits until every upstream session is bound.
    pub(crate) async fn wait_bound(&self) {
        eventually("upstreams bound", || {
            self.proxy.upstreams().iter().all(|u| u.bound == u.sessions)
        })
        .await;
    }

    /// The proxy's listener.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.proxy.local_addrs()[0]
    }

    /// A connected, not yet bound client.
    pub(crate) async fn connect(&self) -> Esme {
        Esme::connect(self.addr()).await.unwrap()
    }

    /// A client bound as `system_id`.
    pub(crate) async fn bound(&self, bind_type: BindType, system_id: &str) -> Esme {
        let esme = self.connect().await;
        let resp = esme.bind(bind_type, system_id, PASSWORD).await.unwrap();
        assert_eq!(resp.status, CommandStatus::ESME_ROK, "bind {system_id}");
        esme
    }

    /// The first simulator.
    pub(crate) fn smsc(&self) -> &SmscHandle {
        &self.smscs[0]
    }
}

/// Polls `cond` for up to 10 s.
pub(crate) async fn eventually(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A frame with its sequence number zeroed, to compare frames across legs.
pub(crate) fn without_seq(frame: &[u8]) -> Vec<u8> {
    let mut v = frame.to_vec();
    v[12..16].copy_from_slice(&[0; 4]);
    v
}

/// The header of a frame.
pub(crate) fn header(frame: &[u8]) -> Header {
    Header::parse(frame).unwrap()
}
