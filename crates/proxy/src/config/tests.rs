use super::*;

use std::sync::OnceLock;

fn hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| crate::hash_password("pw").unwrap())
}

fn base() -> String {
    format!(
        r#"
[[listeners]]
address = "127.0.0.1:0"

[[upstreams]]
name = "smsc-a"
address = "127.0.0.1:2776"
system_id = "proxy"
password = "secret"

[[upstreams]]
name = "smsc-b"
address = "127.0.0.1:2777"
system_id = "proxy"
bind_type = "transmitter"
sessions = 2
window = 10

[[routes]]
name = "default"
upstreams = ["smsc-a", "smsc-b"]

[[accounts]]
system_id = "acme"
password_hash = "{}"
route = "default"
allowed_ips = ["10.0.0.0/8", "192.0.2.7"]
mo_addresses = ["1234"]
"#,
        hash()
    )
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("/etc/smppguard"))
}

#[test]
fn a_full_file_validates_with_defaults() {
    let c = parse(&base()).unwrap();
    assert_eq!(c.fixed.server.system_id, "smppguard");
    assert_eq!(c.fixed.server.max_pdu_bytes, 8192);
    assert_eq!(c.fixed.relay.timeout_status, CommandStatus::ESME_RSYSERR);
    assert_eq!(
        c.fixed.relay.throttled_status,
        CommandStatus::ESME_RTHROTTLED
    );
    assert_eq!(c.fixed.relay.block_status, CommandStatus::ESME_RSUBMITFAIL);
    assert_eq!(c.fixed.receipts.ttl, Duration::from_secs(72 * 3600));
    assert_eq!(c.fixed.hold.incomplete_action, IncompleteAction::Reject);
    assert_eq!(c.fixed.upstreams.len(), 2);
    assert_eq!(c.fixed.upstreams[1].bind_type, BindType::Transmitter);
    assert_eq!(c.fixed.upstreams[1].sessions, 2);
    let acme = &c.dynamic.accounts["acme"];
    assert_eq!(acme.window, 64);
    assert_eq!(acme.bind_types.len(), 3);
    assert!(acme.ip_allowed("10.1.2.3".parse().unwrap()));
    assert!(acme.ip_allowed("192.0.2.7".parse().unwrap()));
    assert!(acme.ip_allowed("::ffff:10.9.9.9".parse().unwrap()));
    assert!(!acme.ip_allowed("192.0.2.8".parse().unwrap()));
    assert_eq!(&*c.dynamic.routes["default"], &["smsc-a", "smsc-b"]);
}

#[test]
fn unknown_keys_name_the_key_and_the_line() {
    let text = base().replace("sessions = 2", "sessions = 2\nsesions = 3");
    let err = parse(&text).unwrap_err();
    let ConfigError::Syntax { line, message, .. } = &err else {
        panic!("{err}")
    };
    assert!(message.contains("sesions"), "{message}");
    let expected = text.lines().position(|l| l.starts_with("sesions")).unwrap() + 1;
    assert_eq!(*line, expected);
}

#[test]
fn bad_values_name_the_key_path() {
    let cases = [
        (
            "window = 10",
            "window = 0",
            "upstreams[1].window: must be between 1 and 65535",
        ),
        (
            "route = \"default\"",
            "route = \"default\"\nwindow = 70000",
            "accounts[0].window: must be between 1 and 65535",
        ),
        (
            "route = \"default\"",
            "route = \"nowhere\"",
            "accounts[0].route: names no configured route",
        ),
        (
            "upstreams = [\"smsc-a\", \"smsc-b\"]",
            "upstreams = [\"smsc-a\", \"smsc-c\"]",
            "routes[0].upstreams[1]: names no configured upstream",
        ),
        (
            "\"192.0.2.7\"",
            "\"192.0.2.700\"",
            "accounts[0].allowed_ips[1]: must be an IP address or CIDR range",
        ),
        (
            "password = \"secret\"",
            "password = \"much too long\"",
            "upstreams[0].password: must be at most 8 bytes",
        ),
    ];
    for (from, to, want) in cases {
        let text = base().replace(from, to);
        assert_ne!(text, base(), "{from}");
        assert_eq!(parse(&text).unwrap_err().to_string(), want);
    }
}

#[test]
fn statuses_and_hashes_are_checked() {
    let text = format!("{}\n[relay]\ntimeout_status = 0\n", base());
    assert_eq!(
        parse(&text).unwrap_err().to_string(),
        "relay.timeout_status: must be a non-zero command_status"
    );
    let text = base().replace(hash(), "plaintext");
    assert!(
        parse(&text)
            .unwrap_err()
            .to_string()
            .starts_with("accounts[0].password_hash:")
    );
    // Hex statuses as operators write them.
    let text = format!("{}\n[relay]\nno_upstream_status = 0x14\n", base());
    assert_eq!(
        parse(&text).unwrap().fixed.relay.no_upstream_status,
        CommandStatus::ESME_RMSGQFUL
    );
}

#[test]
fn duplicates_and_missing_sections() {
    let dup = format!(
        "{}\n[[accounts]]\nsystem_id = \"acme\"\npassword_hash = \"{}\"\nroute = \"default\"\n",
        base(),
        hash()
    );
    assert_eq!(
        parse(&dup).unwrap_err().to_string(),
        "accounts[1].system_id: another account has this system_id"
    );
    let no_listener = base().replace("[[listeners]]\naddress = \"127.0.0.1:0\"\n", "");
    assert_eq!(
        parse(&no_listener).unwrap_err().to_string(),
        "listeners: at least one listener is required"
    );
}

#[test]
fn relative_paths_resolve_against_the_file() {
    let text = format!(
        "{}\n[filter]\nrules = \"rules/\"\n[audit]\npath = \"/var/log/a.jsonl\"\n",
        base()
    );
    let c = parse(&text).unwrap();
    assert_eq!(
        c.dynamic.filter.rules.as_deref(),
        Some(Path::new("/etc/smppguard/rules/"))
    );
    assert_eq!(
        c.fixed.audit.path.as_deref(),
        Some(Path::new("/var/log/a.jsonl"))
    );
}

#[test]
fn tls_keys_are_validated_and_paths_resolved() {
    let text = base().replace(
        "address = \"127.0.0.1:0\"\n",
        "address = \"127.0.0.1:0\"\ntls = { cert = \"c.pem\", key = \"/k.pem\", client_ca = \"ca.pem\" }\n",
    );
    let c = parse(&text).unwrap();
    let t = c.fixed.listeners[0].tls.as_ref().unwrap();
    assert_eq!(t.cert_file, Path::new("/etc/smppguard/c.pem"));
    assert_eq!(t.key_file, Path::new("/k.pem"));
    assert_eq!(
        t.client_ca_file.as_deref(),
        Some(Path::new("/etc/smppguard/ca.pem"))
    );
    assert_eq!(t.handshake_timeout, Duration::from_secs(10));

    // The old spelling is an unknown key, named.
    let old = base().replace(
        "address = \"127.0.0.1:0\"\n",
        "address = \"127.0.0.1:0\"\ntls = { cert_file = \"c.pem\", key_file = \"k.pem\" }\n",
    );
    assert!(parse(&old).unwrap_err().to_string().contains("cert_file"));
    let slow = base().replace(
        "address = \"127.0.0.1:0\"\n",
        "address = \"127.0.0.1:0\"\ntls = { cert = \"c\", key = \"k\", handshake_timeout_seconds = 0 }\n",
    );
    let err = parse(&slow).unwrap_err().to_string();
    assert!(
        err.starts_with("listeners[0].tls.handshake_timeout_seconds:"),
        "{err}"
    );

    let up = |tls: &str| {
        base().replace(
            "password = \"secret\"\n",
            &format!("password = \"secret\"\ntls = {tls}\n"),
        )
    };
    let c = parse(&up("{}")).unwrap();
    let t = c.fixed.upstreams[0].tls.as_ref().unwrap();
    assert_eq!(t.server_name, "127.0.0.1");
    assert_eq!(t.ca_file, None);
    assert_eq!(t.client_cert, None);
    let c = parse(&up(
        "{ ca = \"ca.pem\", server_name = \"smsc.example.net\", cert = \"c.pem\", key = \"k.pem\" }",
    ))
    .unwrap();
    let t = c.fixed.upstreams[0].tls.as_ref().unwrap();
    assert_eq!(t.server_name, "smsc.example.net");
    assert_eq!(
        t.ca_file.as_deref(),
        Some(Path::new("/etc/smppguard/ca.pem"))
    );
    assert!(t.client_cert.is_some());
    let err = parse(&up("{ cert = \"c.pem\" }")).unwrap_err().to_string();
    assert!(err.starts_with("upstreams[0].tls.key:"), "{err}");
    let err = parse(&up("{ server_name = \"not a name!\" }"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("upstreams[0].tls.server_name:"), "{err}");
    assert_eq!(host_of("[::1]:2775"), "::1");
    assert_eq!(host_of("smsc.example.net:2775"), "smsc.example.net");
}

#[test]
fn the_example_file_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config/smppguard.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let c = Config::from_toml(&text, path.parent().unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.fixed.upstreams.len(), 2);
    assert!(crate::verify_password(
        &c.dynamic.accounts["acme"].password_hash,
        b"changeme"
    ));
}

#[test]
fn workers_default_to_all_cpus_but_one_and_are_bounded() {
    let c = parse(&base()).unwrap();
    assert_eq!(c.fixed.server.workers, 0);
    assert_eq!(c.fixed.server.worker_threads(1), 1);
    assert_eq!(c.fixed.server.worker_threads(2), 1);
    assert_eq!(c.fixed.server.worker_threads(8), 7);
    let c = parse(&format!("[server]\nworkers = 3\n{}", base())).unwrap();
    assert_eq!(c.fixed.server.worker_threads(2), 3);
    let e = parse(&format!("[server]\nworkers = 5000\n{}", base())).unwrap_err();
    assert!(e.to_string().contains("server.workers"), "{e}");
}
