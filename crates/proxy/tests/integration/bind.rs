//! Every bind outcome, and what happens before a bind.

use std::time::Duration;

use bytes::Bytes;
use smppguard_codec::{Bind, COctetString, CommandStatus as S};
use smppguard_sim::BindType;
use smppguard_sim::message::Sms;

use super::support::{Harness, PASSWORD, Setup, account};

fn bind_body(system_id: &str, password: &str, version: u8) -> Bind {
    Bind {
        system_id: COctetString::new(Bytes::copy_from_slice(system_id.as_bytes())).unwrap(),
        password: COctetString::new(Bytes::copy_from_slice(password.as_bytes())).unwrap(),
        interface_version: version,
        ..Bind::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_outcomes() {
    let extra = [
        account("acme", ""),
        account("rxonly", "bind_types = [\"receiver\"]"),
        account("remote", "allowed_ips = [\"10.0.0.0/8\"]"),
        account("single", "max_binds = 1"),
        account("off", "enabled = false"),
    ]
    .concat();
    let h = Harness::start(Setup {
        extra,
        ..Setup::default()
    })
    .await;

    // Success: the proxy's name and sc_interface_version 0x34 for a 3.4 bind.
    let e = h.connect().await;
    let r = e
        .bind(BindType::Transceiver, "acme", PASSWORD)
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_ROK);
    assert_eq!(r.system_id, "smppguard");
    assert_eq!(r.sc_interface_version, Some(0x34));
    // A second bind on a bound session.
    let r = e
        .bind(BindType::Transmitter, "acme", PASSWORD)
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_RALYBND);
    assert_eq!(e.enquire_link().await.unwrap(), S::ESME_ROK);

    // SMPP 5.0 gets 0x50; 3.3 gets no TLV at all.
    let e50 = h.connect().await;
    let r = e50
        .bind_with(BindType::Transmitter, bind_body("acme", PASSWORD, 0x50))
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_ROK);
    assert_eq!(r.sc_interface_version, Some(0x50));
    let e33 = h.connect().await;
    let r = e33
        .bind_with(BindType::Receiver, bind_body("acme", PASSWORD, 0x33))
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_ROK);
    assert_eq!(r.sc_interface_version, None);

    let refused = [
        ("acme", "wrong", BindType::Transceiver, S::ESME_RINVPASWD),
        ("nobody", PASSWORD, BindType::Transceiver, S::ESME_RINVSYSID),
        ("rxonly", PASSWORD, BindType::Transmitter, S::ESME_RBINDFAIL),
        ("remote", PASSWORD, BindType::Transceiver, S::ESME_RBINDFAIL),
        ("off", PASSWORD, BindType::Transceiver, S::ESME_RBINDFAIL),
    ];
    let mut keep = Vec::new();
    for (system_id, password, bind_type, want) in refused {
        let c = h.connect().await;
        let r = c.bind(bind_type, system_id, password).await.unwrap();
        assert_eq!(r.status, want, "{system_id}");
        // The connection stays open and unbound: a retry with the right details binds.
        if system_id == "acme" {
            let r = c.bind(bind_type, "acme", PASSWORD).await.unwrap();
            assert_eq!(r.status, S::ESME_ROK);
        }
        keep.push(c);
    }
    let rx = h.connect().await;
    assert_eq!(
        rx.bind(BindType::Receiver, "rxonly", PASSWORD)
            .await
            .unwrap()
            .status,
        S::ESME_ROK
    );

    // max_binds.
    let one = h.bound(BindType::Transceiver, "single").await;
    let two = h.connect().await;
    let r = two
        .bind(BindType::Transceiver, "single", PASSWORD)
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_RBINDFAIL);
    // Freed by an unbind.
    assert_eq!(one.unbind().await.unwrap(), S::ESME_ROK);
    super::support::eventually("session released", || {
        h.proxy.bound_sessions_of("single") == 0
    })
    .await;
    let r = two
        .bind(BindType::Transceiver, "single", PASSWORD)
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_ROK);
    assert_eq!(h.proxy.bound_sessions_of("acme"), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_before_bind_are_refused_and_enquire_link_answered() {
    let h = Harness::start(Setup::default()).await;
    let e = h.connect().await;
    assert_eq!(e.enquire_link().await.unwrap(), S::ESME_ROK);
    let r = e
        .submit(Sms::gsm7("Hello").unwrap().submit_sm().unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_RINVBNDSTS);
    // A receiver may not submit either.
    let rx = h.bound(BindType::Receiver, "acme").await;
    let r = rx
        .submit(Sms::gsm7("Hello").unwrap().submit_sm().unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_RINVBNDSTS);
    assert!(h.smsc().received().is_empty());
    // Unknown command_id: generic_nack ESME_RINVCMDID echoing the sequence number.
    e.send_raw(hex::decode("000000100000009900000000400000aa").unwrap())
        .await
        .unwrap();
    let nack = e.recv_raw_timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(hex::encode(&nack), "000000108000000000000003400000aa");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_slow_down_then_lock_out() {
    let h = Harness::start(Setup {
        extra: format!(
            "{}\n[auth]\nslowdown_after_failures = 1\nslowdown_ms_per_failure = 100\nlockout_after_failures = 3\nlockout_seconds = 60\n",
            account("acme", "")
        ),
        ..Setup::default()
    })
    .await;
    let e = h.connect().await;
    for _ in 0..3 {
        let r = e
            .bind(BindType::Transceiver, "acme", "guess")
            .await
            .unwrap();
        assert_eq!(r.status, S::ESME_RINVPASWD);
    }
    // Locked: even the right password is refused, without being checked.
    let started = std::time::Instant::now();
    let r = e
        .bind(BindType::Transceiver, "acme", PASSWORD)
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_RBINDFAIL);
    assert!(started.elapsed() < Duration::from_secs(2));
    let stats = h.proxy.stats();
    assert_eq!(stats.bind_lockouts, 1);
    assert_eq!(stats.bind_failures, 4);
    // The lockout follows the system_id to another connection.
    let other = h.connect().await;
    let r = other
        .bind(BindType::Transceiver, "acme", PASSWORD)
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_RBINDFAIL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_binds_is_closed() {
    let h = Harness::start(Setup {
        server: "bind_timeout_seconds = 1".into(),
        ..Setup::default()
    })
    .await;
    let e = h.connect().await;
    tokio::time::timeout(Duration::from_secs(5), e.closed())
        .await
        .expect("closed by the proxy");
    assert_eq!(h.proxy.stats().bind_timeouts, 1);
}
