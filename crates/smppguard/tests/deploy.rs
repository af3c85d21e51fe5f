//! The deployment files agree with the code and with the real tools: alert rules pass
//! `promtool check rules` and `promtool test rules`, every YAML and JSON file parses,
//! the dashboards are what their generator makes and describe every panel, the
//! Kubernetes, compose and systemd files drain within their grace periods, and the
//! documentation lists every metric, alert and admin route.
//!
//! Docker is not available where these tests run: the compose file, the Dockerfile and
//! the Kubernetes manifests are checked by parsing and structural assertions, not by
//! starting them.
// Tests may unwrap and index: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use smppguard_proxy::Config;
use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn deploy(rel: &str) -> PathBuf {
    repo().join("deploy").join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(path: &Path) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A tool from the test dependencies (`make test-deps`), or a failure that says so.
fn tool(name: &str, package: &str) -> String {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "{name} is missing: install the Debian package {package} (`make test-deps` does)"
    );
    String::from_utf8(found.stdout).unwrap().trim().to_string()
}

fn files_under(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if exts.iter().any(|x| p.extension().is_some_and(|e| e == *x)) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn drain_seconds(config_text: &str, base: &Path) -> u64 {
    Config::from_toml(config_text, base)
        .unwrap_or_else(|e| panic!("{e}"))
        .fixed
        .server
        .drain_timeout
        .as_secs()
}

#[test]
fn alert_rules_pass_promtool_check_and_unit_tests() {
    let promtool = tool("promtool", "prometheus");
    let rules = deploy("prometheus/rules");
    let check = Command::new(&promtool)
        .arg("check")
        .arg("rules")
        .arg(rules.join("smppguard-recording.yml"))
        .arg(rules.join("smppguard-alerts.yml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let test = Command::new(&promtool)
        .arg("test")
        .arg("rules")
        .arg(rules.join("tests/smppguard-alerts.test.yml"))
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
}

/// Every alert, with its group.
fn alerts() -> Vec<Yaml> {
    let doc = &yaml(&deploy("prometheus/rules/smppguard-alerts.yml"))[0];
    doc["groups"]
        .as_vec()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_vec().unwrap().clone())
        .collect()
}

#[test]
fn every_alert_has_severity_summary_description_and_a_documented_runbook() {
    let docs = read(&repo().join("docs/observability.md"));
    let headings: BTreeSet<String> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(|h| h.trim().to_lowercase())
        .collect();
    let tests = read(&deploy("prometheus/rules/tests/smppguard-alerts.test.yml"));
    let all = alerts();
    assert!(all.len() >= 12);
    for a in &all {
        let name = a["alert"].as_str().unwrap();
        assert!(name.starts_with("Smppguard"), "{name}");
        let severity = a["labels"]["severity"].as_str().unwrap();
        assert!(["critical", "warning"].contains(&severity), "{name}");
        let ann = &a["annotations"];
        for key in ["summary", "description", "dashboard"] {
            assert!(
                ann[key].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: {key}"
            );
        }
        let runbook = ann["runbook_url"].as_str().unwrap();
        assert_eq!(
            runbook,
            format!("docs/observability.md#{}", name.to_lowercase())
        );
        assert!(
            headings.contains(&name.to_lowercase()),
            "docs/observability.md has no `### {name}` runbook"
        );
        assert!(
            tests.contains(&format!("alertname: {name}")),
            "{name} has no promtool unit test"
        );
    }
}

#[test]
fn the_prometheus_rule_resource_carries_the_same_rules() {
    let mut groups = Vec::new();
    for f in ["smppguard-recording.yml", "smppguard-alerts.yml"] {
        let doc = &yaml(&deploy(&format!("prometheus/rules/{f}")))[0];
        groups.extend(doc["groups"].as_vec().unwrap().clone());
    }
    let pr = &yaml(&deploy("kubernetes/prometheusrule.yaml"))[0];
    assert_eq!(pr["kind"].as_str(), Some("PrometheusRule"));
    assert_eq!(pr["spec"]["groups"].as_vec().unwrap(), &groups);
}

#[test]
fn every_yaml_and_json_file_of_the_deployment_parses() {
    let mut n = 0;
    for p in files_under(&deploy(""), &["yml", "yaml"]) {
        let docs = yaml(&p);
        assert!(!docs.is_empty(), "{}: empty", p.display());
        n += 1;
    }
    for p in files_under(&deploy(""), &["json"]) {
        serde_json::from_str::<serde_json::Value>(&read(&p))
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        n += 1;
    }
    assert!(n >= 15, "{n} files");
}

fn dashboards() -> Vec<(PathBuf, serde_json::Value)> {
    files_under(&deploy("grafana/dashboards"), &["json"])
        .into_iter()
        .map(|p| {
            let v = serde_json::from_str(&read(&p)).unwrap();
            (p, v)
        })
        .collect()
}

#[test]
fn dashboards_are_generated_fresh_and_describe_every_panel() {
    let python = tool("python3", "python3");
    let out = tempfile::tempdir().unwrap();
    let generated = Command::new(python)
        .arg(deploy("grafana/dashboards.py"))
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let boards = dashboards();
    let uids: BTreeSet<&str> = boards
        .iter()
        .map(|(_, d)| d["uid"].as_str().unwrap())
        .collect();
    assert_eq!(
        uids,
        BTreeSet::from(["smppguard-account", "smppguard-filter", "smppguard-fleet"])
    );
    for (path, d) in &boards {
        let name = path.file_name().unwrap();
        assert_eq!(
            read(&out.path().join(name)),
            read(path),
            "{} is stale: run python3 deploy/grafana/dashboards.py",
            path.display()
        );
        assert!(d["description"].as_str().is_some_and(|s| !s.is_empty()));
        let mut ids = BTreeSet::new();
        for p in d["panels"].as_array().unwrap() {
            assert!(ids.insert(p["id"].as_i64().unwrap()), "duplicate panel id");
            if p["type"] == "row" {
                continue;
            }
            let title = p["title"].as_str().unwrap();
            assert!(
                p["description"].as_str().is_some_and(|s| s.len() > 20),
                "{}: panel {title:?} has no description",
                path.display()
            );
            for t in p["targets"].as_array().unwrap() {
                assert_eq!(t["datasource"]["uid"], "${ds}", "{title}");
                assert!(t["expr"].as_str().unwrap().contains("smppguard"), "{title}");
            }
        }
    }
    let account = &boards
        .iter()
        .find(|(_, d)| d["uid"] == "smppguard-account")
        .unwrap()
        .1;
    let vars: Vec<&str> = account["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(vars.contains(&"account"), "{vars:?}");
}

/// The first document of `path` whose `kind` is `kind`.
fn k8s(path: &str, kind: &str) -> Yaml {
    yaml(&deploy(path))
        .into_iter()
        .find(|d| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("{path}: no {kind}"))
}

#[test]
fn kubernetes_manifests_probe_drain_and_scrape_as_documented() {
    let config_map = k8s("kubernetes/configmap.yaml", "ConfigMap");
    let config_text = config_map["data"]["smppguard.toml"].as_str().unwrap();
    let config = Config::from_toml(config_text, Path::new("/etc/smppguard/config")).unwrap();
    let drain = config.fixed.server.drain_timeout.as_secs();
    assert_eq!(config.fixed.admin.address.port(), 9090);
    assert!(config.fixed.admin.token_file.is_some());

    let d = k8s("kubernetes/deployment.yaml", "Deployment");
    assert_eq!(d["apiVersion"].as_str(), Some("apps/v1"));
    let spec = &d["spec"]["template"]["spec"];
    let grace = spec["terminationGracePeriodSeconds"].as_i64().unwrap();
    assert!(
        u64::try_from(grace).unwrap() >= drain + 30,
        "terminationGracePeriodSeconds {grace} must exceed the drain deadline {drain} s \
         plus the time to unbind"
    );
    let c = &spec["containers"][0];
    assert_eq!(c["name"].as_str(), Some("smppguard"));
    assert_eq!(
        c["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert_eq!(
        c["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    assert_eq!(
        c["readinessProbe"]["httpGet"]["port"].as_str(),
        Some("admin")
    );
    let pre_stop: Vec<&str> = c["lifecycle"]["preStop"]["exec"]["command"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(pre_stop.join(" ").contains("kill -TERM 1"), "{pre_stop:?}");
    let ports: Vec<i64> = c["ports"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|p| p["containerPort"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [2775, 9090]);
    assert_eq!(
        c["securityContext"]["readOnlyRootFilesystem"].as_bool(),
        Some(true)
    );
    let reloader = &spec["containers"][1];
    assert!(reloader["command"][2].as_str().unwrap().contains("/reload"));

    let pdb = k8s("kubernetes/poddisruptionbudget.yaml", "PodDisruptionBudget");
    assert_eq!(pdb["apiVersion"].as_str(), Some("policy/v1"));
    assert_eq!(pdb["spec"]["minAvailable"].as_i64(), Some(1));

    let svc = k8s("kubernetes/service.yaml", "Service");
    assert_eq!(svc["spec"]["externalTrafficPolicy"].as_str(), Some("Local"));

    let sm = k8s("kubernetes/servicemonitor.yaml", "ServiceMonitor");
    let ep = &sm["spec"]["endpoints"][0];
    assert_eq!(ep["port"].as_str(), Some("admin"));
    assert_eq!(ep["path"].as_str(), Some("/metrics"));
    assert_eq!(
        ep["authorization"]["credentials"]["name"].as_str(),
        spec["volumes"][2]["secret"]["secretName"].as_str()
    );

    let kust = &yaml(&deploy("kubernetes/kustomization.yaml"))[0];
    for r in kust["resources"].as_vec().unwrap() {
        assert!(deploy(&format!("kubernetes/{}", r.as_str().unwrap())).exists());
    }
}

#[test]
fn compose_runs_the_proxy_the_simulator_redis_prometheus_and_grafana() {
    let c = &yaml(&deploy("compose/docker-compose.yml"))[0];
    let services: BTreeSet<&str> = c["services"]
        .as_hash()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        BTreeSet::from(["grafana", "prometheus", "redis", "smppguard", "smsc"])
    );
    let compose_dir = deploy("compose");
    // Every host path mounted exists in the repository.
    for (_, s) in c["services"].as_hash().unwrap() {
        if let Some(vols) = s["volumes"].as_vec() {
            for v in vols {
                let host = v.as_str().unwrap().split(':').next().unwrap();
                if host.starts_with('.') {
                    assert!(compose_dir.join(host).exists(), "{host}");
                }
            }
        }
    }
    let drain = drain_seconds(&read(&compose_dir.join("smppguard.toml")), &compose_dir);
    let grace = c["services"]["smppguard"]["stop_grace_period"]
        .as_str()
        .unwrap();
    let grace: u64 = grace.trim_end_matches('s').parse().unwrap();
    assert!(grace >= drain + 30, "stop_grace_period {grace}s");
    // Prometheus scrapes smppguard with the token smppguard is given.
    let prom = &yaml(&deploy("prometheus/prometheus.yml"))[0];
    let job = &prom["scrape_configs"][0];
    assert_eq!(job["job_name"].as_str(), Some("smppguard"));
    assert_eq!(
        job["static_configs"][0]["targets"][0].as_str(),
        Some("smppguard:9090")
    );
    let promtool = tool("promtool", "prometheus");
    let out = Command::new(promtool)
        .arg("check")
        .arg("config")
        .arg("--syntax-only")
        .arg(deploy("prometheus/prometheus.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_systemd_unit_reloads_on_sighup_and_outlasts_the_drain() {
    let unit = read(&deploy("systemd/smppguard.service"));
    let value = |key: &str| {
        unit.lines()
            .rev()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}="))
            .to_string()
    };
    assert_eq!(value("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(value("KillSignal"), "SIGTERM");
    assert_eq!(value("NoNewPrivileges"), "yes");
    assert_eq!(value("ProtectSystem"), "strict");
    assert!(value("ExecStart").contains("run --config"));
    let stop: u64 = value("TimeoutStopSec").parse().unwrap();
    let example = deploy("config/smppguard.toml");
    let drain = drain_seconds(&read(&example), example.parent().unwrap());
    assert!(stop >= drain + 30, "TimeoutStopSec {stop}");
    // systemd's own check, with the binary under test in place of the installed one.
    if let Ok(analyze) = which("systemd-analyze") {
        let dir = tempfile::tempdir().unwrap();
        let local = unit.replace("/usr/local/bin/smppguard", env!("CARGO_BIN_EXE_smppguard"));
        let path = dir.path().join("smppguard.service");
        std::fs::write(&path, local).unwrap();
        let out = Command::new(analyze)
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.contains("smppguard.service:"),
            "systemd-analyze verify: {text}"
        );
    }
}

fn which(name: &str) -> Result<String, ()> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map_err(|_| ())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(())
    }
}

#[test]
fn the_dockerfile_is_multi_stage_and_runs_slim_as_a_user() {
    let text = read(&deploy("docker/Dockerfile"));
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].contains("AS build"));
    assert!(froms[1].contains("slim"));
    assert!(text.contains("libhyperscan-dev"));
    assert!(text.contains("libhyperscan5"));
    assert!(text.contains("COPY --from=build"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("USER ") && !l.contains(" 0"))
    );
    assert!(text.contains("EXPOSE 2775 9090"));
    assert!(text.contains("STOPSIGNAL SIGTERM"));
    // Every path copied from the context exists.
    for l in text
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let src = l.split_whitespace().nth(1).unwrap();
        if src != "." {
            assert!(repo().join(src).exists(), "{src}");
        }
    }
}

#[test]
fn the_documentation_lists_every_metric_and_every_admin_route() {
    let docs = read(&repo().join("docs/observability.md"));
    assert!(
        docs.contains(&smppguard_metrics::markdown_table()),
        "the metrics table of docs/observability.md differs from markdown_table()"
    );
    let documented: BTreeSet<String> = metric_names(&docs);
    let catalog: BTreeSet<String> = smppguard_metrics::CATALOG
        .iter()
        .map(|f| f.name.to_string())
        .collect();
    let missing: Vec<_> = catalog.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "not in docs/observability.md: {missing:?}"
    );
    // Histogram series names and recording rules aside, the docs name no other metric.
    let unknown: Vec<_> = documented
        .iter()
        .filter(|n| !catalog.contains(*n) && !is_series_of(n, &catalog))
        .collect();
    assert!(unknown.is_empty(), "unknown metrics in docs: {unknown:?}");
    for f in smppguard_metrics::CATALOG {
        let row = docs
            .lines()
            .find(|l| l.starts_with(&format!("| `{}`", f.name)))
            .unwrap_or_else(|| panic!("no table row for {}", f.name));
        assert!(row.contains(f.kind.as_str()), "{row}");
        for label in f.labels {
            assert!(row.contains(label), "{}: label {label}", f.name);
        }
    }

    let api = read(&repo().join("docs/admin-api.md"));
    let spec: String = api
        .split("```yaml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap()
        .to_string();
    let openapi = &YamlLoader::load_from_str(&spec).unwrap()[0];
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    let mut routes = BTreeSet::new();
    for (path, ops) in openapi["paths"].as_hash().unwrap() {
        for (method, op) in ops.as_hash().unwrap() {
            let method = method.as_str().unwrap();
            if method == "parameters" {
                continue;
            }
            assert!(op["responses"].as_hash().is_some_and(|r| !r.is_empty()));
            routes.insert((method.to_uppercase(), path.as_str().unwrap().to_string()));
        }
    }
    let code: BTreeSet<(String, String)> = smppguard_admin::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(routes, code);
}

/// Every `smppguard_*` identifier in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("smppguard_") {
        let start = i + pos;
        let boundary = start == 0 || {
            let b = bytes[start - 1];
            !(b.is_ascii_alphanumeric() || b == b'_' || b == b':' || b == b'-')
        };
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        // `smppguard_proxy=debug` (a log filter) and `smppguard_metrics::` (a path) are
        // not metrics.
        let next = bytes.get(end).copied();
        let named = end > start + "smppguard_".len();
        if boundary && named && next != Some(b'=') && next != Some(b':') {
            out.insert(text[start..end].to_string());
        }
        i = end.max(start + 1);
    }
    out
}

/// `x_bucket`, `x_sum`, `x_count` of a histogram `x`.
fn is_series_of(name: &str, catalog: &BTreeSet<String>) -> bool {
    ["_bucket", "_sum", "_count"].iter().any(|s| {
        name.strip_suffix(s)
            .is_some_and(|base| catalog.contains(base))
    })
}

#[test]
fn metric_name_extraction() {
    let names = metric_names(
        "rate(smppguard_a_total[5m]) smppguard:rec:rate5m x_smppguard_b `smppguard_c_bucket{le}` \
         info,smppguard_proxy=debug smppguard_metrics::markdown_table() `smppguard_` prefix",
    );
    assert_eq!(
        names,
        BTreeSet::from(["smppguard_a_total".to_string(), "smppguard_c_bucket".into()])
    );
}
