//! Interoperability: the proxy driven by python-smpplib, an SMPP client not written in
//! this project (installed by `make test-deps`). Fails, with the reason, when python3
//! or smpplib is missing.
// Tests may unwrap and index: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "integration/support.rs"]
#[allow(dead_code)]
mod support;

use smppguard_sim::MessageId;
use support::{Harness, PASSWORD, Setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_smpplib_binds_submits_and_unbinds() {
    let python = std::env::var("SMPPGUARD_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = std::process::Command::new(&python)
        .args(["-c", "import smpplib.client"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e} (run `make test-deps`)"));
    assert!(
        probe.status.success(),
        "python-smpplib is not installed for {python}: run `make test-deps`\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let h = Harness::start(Setup::default()).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/smpplib_client.py"
    );
    let addr = h.addr();
    let out = tokio::process::Command::new(&python)
        .args([
            script,
            &addr.ip().to_string(),
            &addr.port().to_string(),
            "acme",
            PASSWORD,
        ])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Vec<&str>> = stdout.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert_eq!(lines[0][..2], ["bind_transceiver_resp", "0"]);
    let received = h.smsc().received();
    assert_eq!(received.len(), 2);
    for (line, got) in lines[1..3].iter().zip(&received) {
        assert_eq!(line[..2], ["submit_sm_resp", "0"], "{stdout}");
        // The SMSC's message_id reaches the client unchanged.
        let id = got.message_id.map(MessageId::to_hex).unwrap();
        assert_eq!(line[2].as_bytes(), &id[..]);
    }
    assert_eq!(received[1].pdu.body.content().unwrap().data_coding, Some(8));
    assert_eq!(lines[3][..2], ["enquire_link_resp", "0"]);
}
