//! A proxy in front of an SMSC simulator, with its admin listener, configured from a
//! file the test writes; and a small HTTP client for the admin API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use smppguard_admin::{Admin, AdminHandle};
use smppguard_proxy::{Config, Proxy, ProxyHandle};
use smppguard_sim::esme::Esme;
use smppguard_sim::{BindType, SimConfig, Smsc, SmscHandle};

/// The password of every test account.
pub(crate) const PASSWORD: &str = "secret1";
/// The admin bearer token of tests that set one.
pub(crate) const TOKEN: &str = "t0ken-for-tests";

/// A rule pack: a spam reject, a fraud reject and a phishing quarantine.
pub(crate) const RULES: &str = r#"
format = 1

[pack]
name = "admin-tests"
version = "7"

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

[[rule]]
id = "verify-link"
description = "account verification link"
category = "phishing"
action = "quarantine"
patterns.p = { literal = "verify your account" }
"#;

/// A cheap argon2id hash of [`PASSWORD`].
pub(crate) fn password_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| {
        let params = Params::new(256, 1, 1, None).unwrap();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::encode_b64(b"smppguard-admin").unwrap();
        argon
            .hash_password(PASSWORD.as_bytes(), &salt)
            .unwrap()
            .to_string()
    })
}

/// What to run.
pub(crate) struct Setup {
    /// Accounts to configure.
    pub(crate) accounts: Vec<&'static str>,
    /// Whether the admin API asks for [`TOKEN`].
    pub(crate) token: bool,
    /// Extra TOML appended to the file.
    pub(crate) extra: String,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            accounts: vec!["acme", "beta"],
            token: true,
            extra: String::new(),
        }
    }
}

/// The running pieces.
pub(crate) struct Harness {
    pub(crate) proxy: Arc<ProxyHandle>,
    pub(crate) admin: Option<AdminHandle>,
    pub(crate) smsc: SmscHandle,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) config_path: PathBuf,
    pub(crate) setup: Setup,
}

impl Harness {
    pub(crate) async fn start(setup: Setup) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let smsc = Smsc::start(
            "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
            SimConfig {
                dlr: true,
                seed: 3,
                ..SimConfig::default()
            },
        )
        .await
        .unwrap();
        std::fs::write(dir.path().join("rules.toml"), RULES).unwrap();
        std::fs::write(dir.path().join("admin.token"), format!("{TOKEN}\n")).unwrap();
        let config_path = dir.path().join("smppguard.toml");
        std::fs::write(
            &config_path,
            config_text(&setup, smsc.local_addr(), &setup.accounts),
        )
        .unwrap();
        let config = Config::from_file(&config_path).unwrap();
        let proxy = Arc::new(
            Proxy::start_with_path(config, Some(config_path.clone()))
                .await
                .unwrap(),
        );
        let admin = Admin::start(Arc::clone(&proxy)).await.unwrap();
        let h = Harness {
            proxy,
            admin: Some(admin),
            smsc,
            dir,
            config_path,
            setup,
        };
        eventually("upstream bound", || h.proxy.ready_status().ready).await;
        h
    }

    /// Rewrites the configuration file with other accounts.
    pub(crate) fn rewrite(&self, accounts: &[&str]) {
        std::fs::write(
            &self.config_path,
            config_text(&self.setup, self.smsc.local_addr(), accounts),
        )
        .unwrap();
    }

    pub(crate) fn admin_addr(&self) -> SocketAddr {
        self.admin.as_ref().unwrap().local_addr()
    }

    pub(crate) fn http(&self) -> Http {
        Http {
            base: format!("http://{}", self.admin_addr()),
            token: self.setup.token.then(|| TOKEN.to_string()),
        }
    }

    pub(crate) async fn bound(&self, bind_type: BindType, system_id: &str) -> Esme {
        let esme = Esme::connect(self.proxy.local_addrs()[0]).await.unwrap();
        let resp = esme.bind(bind_type, system_id, PASSWORD).await.unwrap();
        assert!(resp.status.is_ok(), "bind {system_id}: {:?}", resp.status);
        esme
    }
}

/// The configuration file: one listener, one upstream, the rules, the accounts.
pub(crate) fn config_text(setup: &Setup, smsc: SocketAddr, accounts: &[&str]) -> String {
    let mut text = format!(
        "[[listeners]]\naddress = \"127.0.0.1:0\"\n\n\
         [[upstreams]]\nname = \"smsc-a\"\naddress = \"{smsc}\"\nsystem_id = \"proxy\"\n\
         password = \"pw\"\nreconnect_backoff_min_ms = 50\nreconnect_backoff_max_ms = 200\n\n\
         [[routes]]\nname = \"default\"\nupstreams = [\"smsc-a\"]\n\n\
         [filter]\nrules = \"rules.toml\"\n\n\
         [admin]\naddress = \"127.0.0.1:0\"\n{}\n",
        if setup.token {
            "token_file = \"admin.token\"\n"
        } else {
            ""
        }
    );
    for a in accounts {
        text.push_str(&format!(
            "[[accounts]]\nsystem_id = \"{a}\"\npassword_hash = \"{}\"\nroute = \"default\"\n\n",
            password_hash()
        ));
    }
    text.push_str(&setup.extra);
    text
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

/// A response: status, content type, body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// A blocking HTTP client for the admin API (run it on a blocking thread).
#[derive(Clone)]
pub(crate) struct Http {
    pub(crate) base: String,
    pub(crate) token: Option<String>,
}

impl Http {
    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into()
    }

    /// Sends a request with the configured token (or `auth`, when given).
    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        auth: Option<&str>,
    ) -> Reply {
        let url = format!("{}{path}", self.base);
        let auth = auth
            .map(str::to_string)
            .or_else(|| self.token.as_ref().map(|t| format!("Bearer {t}")));
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(a) = &auth {
            req = req.header("Authorization", a);
        }
        if body.is_some() {
            req = req.header("Content-Type", "application/json");
        }
        let req = req.body(body.unwrap_or("").to_string()).unwrap();
        let result = Self::agent().run(req);
        let mut resp = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        Reply {
            status,
            content_type,
            body,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.run("GET", path, None, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: &str) -> Reply {
        self.run("POST", path, Some(body), None).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Reply {
        self.run("DELETE", path, None, None).await
    }

    pub(crate) async fn run(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        auth: Option<&str>,
    ) -> Reply {
        let this = self.clone();
        let (method, path) = (method.to_string(), path.to_string());
        let body = body.map(str::to_string);
        let auth = auth.map(str::to_string);
        tokio::task::spawn_blocking(move || {
            this.send(&method, &path, body.as_deref(), auth.as_deref())
        })
        .await
        .unwrap()
    }
}
