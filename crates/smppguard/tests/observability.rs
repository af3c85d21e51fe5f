//! The real thing: `smppguard run` in front of an SMSC simulator, a real Prometheus
//! (Debian's `prometheus`) scraping its admin listener with the shipped rule files,
//! traffic through it, and then PromQL through the Prometheus HTTP API. Also: every
//! metric the dashboards and alert rules name is in a real scrape, and every dashboard
//! query is accepted by Prometheus.
// Tests may unwrap and index: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use smppguard_codec::CommandStatus as S;
use smppguard_sim::esme::Esme;
use smppguard_sim::message::{Concat, Sms};
use smppguard_sim::{BindType, SimConfig, Smsc};

const TOKEN: &str = "scrape-token-for-tests";
const PASSWORD: &str = "pw";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A loopback port free right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped.
struct Proc(Child, &'static str);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = agent().get(url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    match req.call() {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(_) => (0, String::new()),
    }
}

/// A Prometheus server on a free loopback port with a temporary storage directory.
struct Prometheus {
    _proc: Proc,
    base: String,
}

impl Prometheus {
    fn start(dir: &Path, target: SocketAddr, token_file: &Path) -> Prometheus {
        let binary = which("prometheus");
        let rules = repo().join("deploy/prometheus/rules");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n  - {}\n\
             scrape_configs:\n  - job_name: smppguard\n    metrics_path: /metrics\n\
             \x20   authorization:\n      type: Bearer\n      credentials_file: {}\n\
             \x20   static_configs:\n      - targets: [\"{target}\"]\n",
            rules.join("smppguard-recording.yml").display(),
            rules.join("smppguard-alerts.yml").display(),
            token_file.display(),
        );
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .unwrap();
        let p = Prometheus {
            _proc: Proc(child, "prometheus"),
            base: format!("http://127.0.0.1:{port}"),
        };
        wait("prometheus ready", Duration::from_secs(30), || {
            get(&format!("{}/-/ready", p.base), None).0 == 200
        });
        p
    }

    /// An instant query; the `data.result` array.
    fn query(&self, promql: &str) -> Vec<Value> {
        let (status, body) = self.api("query", promql);
        assert_eq!(status, 200, "{promql}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "success", "{promql}: {body}");
        v["data"]["result"].as_array().unwrap().clone()
    }

    fn api(&self, endpoint: &str, promql: &str) -> (u16, String) {
        let mut r = agent()
            .get(&format!("{}/api/v1/{endpoint}", self.base))
            .query("query", promql)
            .call()
            .unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    }

    /// The single value of an instant query, if it has one sample.
    fn scalar(&self, promql: &str) -> Option<f64> {
        let r = self.query(promql);
        match r.as_slice() {
            [one] => one["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }
}

fn which(name: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} is missing: install the Debian package prometheus (`make test-deps` does)"
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn wait(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

const RULES: &str = r#"format = 1

[pack]
name = "observability-test"
version = "1"

[[rule]]
id = "free-prize"
description = "prize lure"
category = "spam"
action = "reject"
patterns.p = { literal = "free prize" }

[[rule]]
id = "verify-link"
description = "verification link"
category = "phishing"
action = "quarantine"
patterns.p = { literal = "verify your account" }
"#;

/// Writes the configuration and starts `smppguard run`.
fn start_smppguard(dir: &Path, smsc: SocketAddr) -> (Proc, SocketAddr, SocketAddr) {
    let smpp = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let hash = smppguard_proxy::hash_password(PASSWORD).unwrap();
    std::fs::write(dir.join("rules.toml"), RULES).unwrap();
    std::fs::write(dir.join("admin.token"), TOKEN).unwrap();
    let config = format!(
        "[server]\ndrain_timeout_seconds = 2\n\n\
         [[listeners]]\naddress = \"{smpp}\"\n\n\
         [[upstreams]]\nname = \"smsc-a\"\naddress = \"{smsc}\"\nsystem_id = \"proxy\"\n\n\
         [[routes]]\nname = \"default\"\nupstreams = [\"smsc-a\"]\n\n\
         [[accounts]]\nsystem_id = \"acme\"\npassword_hash = \"{hash}\"\nroute = \"default\"\n\n\
         [[accounts]]\nsystem_id = \"beta\"\npassword_hash = \"{hash}\"\nroute = \"default\"\n\n\
         [filter]\nrules = \"rules.toml\"\n\n\
         [audit]\npath = \"audit.jsonl\"\n\n\
         [admin]\naddress = \"{admin}\"\ntoken_file = \"admin.token\"\n\n\
         [log]\nformat = \"json\"\n"
    );
    let path = dir.join("smppguard.toml");
    std::fs::write(&path, config).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_smppguard"))
        .arg("run")
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("smppguard.log")).unwrap())
        .spawn()
        .unwrap();
    let p = Proc(child, "smppguard");
    wait("smppguard ready", Duration::from_secs(30), || {
        get(&format!("http://{admin}/readyz"), None).0 == 200
    });
    (p, smpp, admin)
}

/// `{outcome: count}` of one account, from Prometheus.
fn outcomes(prom: &Prometheus, account: &str) -> BTreeSet<(String, u64)> {
    prom.query(&format!(
        "sum by (outcome) (smppguard_account_requests_total{{account=\"{account}\"}})"
    ))
    .iter()
    .map(|s| {
        (
            s["metric"]["outcome"].as_str().unwrap().to_string(),
            s["value"][1].as_str().unwrap().parse::<f64>().unwrap() as u64,
        )
    })
    .collect()
}

#[test]
fn prometheus_scrapes_smppguard_and_promql_sees_the_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let smsc = rt
        .block_on(Smsc::start(
            "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
            SimConfig {
                dlr: true,
                seed: 11,
                ..SimConfig::default()
            },
        ))
        .unwrap();
    let (mut proc, smpp, admin) = start_smppguard(dir.path(), smsc.local_addr());
    let token_file = dir.path().join("admin.token");
    let prom = Prometheus::start(dir.path(), admin, &token_file);

    // Traffic: acme sends 5 clean messages (one of them in 3 parts), 2 prize lures and
    // 1 verification link; beta sends 3 clean ones.
    rt.block_on(async {
        let acme = Esme::connect(smpp).await.unwrap();
        assert!(
            acme.bind(BindType::Transceiver, "acme", PASSWORD)
                .await
                .unwrap()
                .status
                .is_ok()
        );
        let beta = Esme::connect(smpp).await.unwrap();
        assert!(
            beta.bind(BindType::Transmitter, "beta", PASSWORD)
                .await
                .unwrap()
                .status
                .is_ok()
        );
        for i in 0..4 {
            let r = acme
                .submit(
                    Sms::gsm7(&format!("hello {i}"))
                        .unwrap()
                        .submit_sm()
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(r.status, S::ESME_ROK);
        }
        let parts = Sms::gsm7("Your parcel arrives today between 9 and 12, reply STOP to opt out")
            .unwrap()
            .split(Concat::Udh8 { reference: 5 }, 3)
            .unwrap();
        for r in acme.submit_many(parts).await.unwrap() {
            assert_eq!(r.unwrap().status, S::ESME_ROK);
        }
        for text in [
            "a free prize",
            "free prize again",
            "please verify your account",
        ] {
            let sms = Sms::gsm7(text)
                .unwrap()
                .from("886911000111")
                .to("886922000222");
            let r = acme.submit(sms.submit_sm().unwrap()).await.unwrap();
            assert_eq!(r.status, S::ESME_RSUBMITFAIL);
        }
        for i in 0..3 {
            let r = beta
                .submit(
                    Sms::gsm7(&format!("beta {i}"))
                        .unwrap()
                        .submit_sm()
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(r.status, S::ESME_ROK);
        }
    });

    // Prometheus has scraped the final numbers: every counter below is bumped on its own
    // path (request read, outcome decided, SMSC response timed), so wait for a scrape
    // taken after the last of them rather than after the first.
    wait(
        "the scrape with all traffic",
        Duration::from_secs(30),
        || {
            prom.scalar(r#"sum(smppguard_account_requests_received_total{account="acme"})"#)
                == Some(10.0)
                && prom.scalar(r#"sum(smppguard_account_requests_received_total{account="beta"})"#)
                    == Some(3.0)
                && prom.scalar(r#"sum(smppguard_account_requests_total{account="acme"})"#)
                    == Some(10.0)
                && prom.scalar(r#"sum(smppguard_account_requests_total{account="beta"})"#)
                    == Some(3.0)
                && prom.scalar(r#"smppguard_end_to_end_duration_seconds_count{upstream="smsc-a"}"#)
                    == Some(10.0)
        },
    );
    let expect = |pairs: &[(&str, u64)]| -> BTreeSet<(String, u64)> {
        pairs.iter().map(|(o, n)| (o.to_string(), *n)).collect()
    };
    assert_eq!(
        outcomes(&prom, "acme"),
        expect(&[("accepted", 7), ("quarantined", 1), ("rejected", 2)])
    );
    assert_eq!(outcomes(&prom, "beta"), expect(&[("accepted", 3)]));
    // Outcomes add up to requests, per account.
    let diff = prom.query(
        "sum by (account) (smppguard_account_requests_total) \
         - sum by (account) (smppguard_account_requests_received_total)",
    );
    assert_eq!(diff.len(), 2);
    for d in diff {
        assert_eq!(d["value"][1], "0", "{d}");
    }
    assert_eq!(
        prom.scalar(r#"smppguard_account_messages_total{account="acme"}"#),
        Some(8.0)
    );
    assert_eq!(
        prom.scalar(r#"smppguard_account_message_parts_total{account="acme"}"#),
        Some(10.0)
    );
    assert_eq!(
        prom.scalar(r#"sum(smppguard_filter_matches_total{category="spam", action="reject"})"#),
        Some(2.0)
    );
    assert_eq!(
        prom.scalar(r#"smppguard_upstream_up{upstream="smsc-a", job="smppguard"}"#),
        Some(1.0)
    );
    assert!(
        prom.scalar("histogram_quantile(0.5, sum by (le) (smppguard_end_to_end_duration_seconds_bucket)) > 0")
            .is_some()
    );
    assert_eq!(
        prom.scalar(r#"smppguard_end_to_end_duration_seconds_count{upstream="smsc-a"}"#),
        Some(10.0)
    );
    assert_eq!(prom.scalar("smppguard_quarantine_messages"), Some(1.0));
    assert_eq!(
        prom.scalar("sum(smppguard_unintentional_drops_total)"),
        Some(0.0)
    );
    assert_eq!(prom.scalar("smppguard_ready"), Some(1.0));
    // The shipped recording rules evaluate on the real series.
    wait("recording rules", Duration::from_secs(30), || {
        prom.query(r#"smppguard:account_requests_received:rate5m{account="acme"}"#)
            .len()
            == 1
    });
    // No alert fires on a healthy instance.
    assert_eq!(
        prom.query(r#"ALERTS{alertstate="firing", severity="critical"}"#),
        Vec::<Value>::new()
    );

    // Every metric the dashboards and alert rules name is in a real scrape.
    let (status, scrape) = get(&format!("http://{admin}/metrics"), Some(TOKEN));
    assert_eq!(status, 200);
    let exported: BTreeSet<String> = smppguard_metrics::exposition::parse(&scrape)
        .into_iter()
        .map(|s| s.name)
        .collect();
    let mut used = BTreeSet::new();
    let mut queries = Vec::new();
    for entry in std::fs::read_dir(repo().join("deploy/grafana/dashboards")).unwrap() {
        let d: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        for p in d["panels"].as_array().unwrap() {
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"].as_str().unwrap().to_string();
                used.extend(names_in(&expr));
                queries.push(expr);
            }
        }
        for v in d["templating"]["list"].as_array().unwrap() {
            if let Some(q) = v["query"]["query"].as_str() {
                used.extend(names_in(q));
            }
        }
    }
    for f in ["smppguard-alerts.yml", "smppguard-recording.yml"] {
        let text = std::fs::read_to_string(repo().join("deploy/prometheus/rules").join(f)).unwrap();
        used.extend(names_in(&text));
    }
    let missing: Vec<&String> = used.iter().filter(|n| !exported.contains(*n)).collect();
    assert!(missing.is_empty(), "named but not exported: {missing:?}");
    assert!(used.len() > 40, "{}", used.len());

    // Every dashboard query is valid PromQL to a real Prometheus.
    for q in queries {
        let q = q
            .replace("$__rate_interval", "1m")
            .replace("$__range", "5m")
            .replace("$job", ".*")
            .replace("$instance", ".*")
            .replace("$account", "acme");
        let (status, body) = prom.api("query", &q);
        assert_eq!(status, 200, "{q}: {body}");
    }

    // SIGHUP reloads, and Prometheus sees the reload counter move.
    signal(&proc, "HUP");
    wait("reload counted", Duration::from_secs(30), || {
        prom.scalar(r#"smppguard_config_reloads_total{result="ok"}"#) == Some(1.0)
    });
    // SIGTERM drains and exits 0, with every audit record on disk.
    signal(&proc, "TERM");
    let status = wait_exit(&mut proc.0, Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 3);
    // Addresses are masked there too; the text is kept (that is what the audit log is for).
    assert!(audit.contains(r#""source_addr":"********0111""#), "{audit}");
    assert!(!audit.contains("886922000222"), "{audit}");
    assert!(audit.contains("free prize again"));
    // The JSON logs never carry message text or the numbers messages were sent to.
    let log = std::fs::read_to_string(dir.path().join("smppguard.log")).unwrap();
    for line in log.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(!line.contains("prize"), "{line}");
        assert!(!line.contains("verify your account"), "{line}");
        assert!(
            !line.contains("886911000111") && !line.contains("886922000222"),
            "{line}"
        );
    }
    drop(rt);
}

fn signal(p: &Proc, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(p.0.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {}", p.1);
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let end = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < end, "did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Metric names in a PromQL text (`smppguard_*`, `up`), without recording rules.
fn names_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
            i += 1;
        }
        if i > start {
            let word = &text[start..i];
            let after_quote = start > 0 && (b[start - 1] == b'"' || b[start - 1] == b'#');
            if word.starts_with("smppguard_") && !word.contains(':') && !after_quote {
                out.insert(word.to_string());
            }
        } else {
            i += 1;
        }
    }
    out
}
