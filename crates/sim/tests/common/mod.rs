//! Helpers shared by the integration tests.
// Each test binary uses a different subset; a panic in a helper is a failed test.
#![allow(dead_code, clippy::unwrap_used)]

use std::{net::SocketAddr, time::Duration};

use smppguard_codec::SubmitSm;
use smppguard_sim::{BindType, SimConfig, Smsc, SmscHandle, esme::Esme, message::Sms};

/// Generous bound for anything that should happen "soon"; never a timing assertion.
pub(crate) const SOON: Duration = Duration::from_secs(10);

pub(crate) fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub(crate) async fn smsc(config: SimConfig) -> SmscHandle {
    Smsc::start(any_port(), config).await.unwrap()
}

/// A config with one account and a fixed seed.
pub(crate) fn config() -> SimConfig {
    SimConfig {
        accounts: vec![
            ("esme01".into(), "s3cr3t".into()),
            ("esme02".into(), "other".into()),
        ],
        seed: 42,
        ..SimConfig::default()
    }
}

pub(crate) async fn bound(smsc: &SmscHandle, bind_type: BindType, system_id: &str) -> Esme {
    let password = match system_id {
        "esme02" => "other",
        _ => "s3cr3t",
    };
    let esme = Esme::connect(smsc.local_addr()).await.unwrap();
    let resp = esme.bind(bind_type, system_id, password).await.unwrap();
    assert!(resp.status.is_ok(), "bind refused: {:?}", resp.status);
    esme
}

pub(crate) fn hello() -> SubmitSm {
    Sms::gsm7("Hello").unwrap().submit_sm().unwrap()
}

pub(crate) fn hello_with_receipt() -> SubmitSm {
    Sms::gsm7("Hello")
        .unwrap()
        .registered_delivery(1)
        .submit_sm()
        .unwrap()
}
