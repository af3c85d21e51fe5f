//! An SMSC simulator and an ESME client library, both over real TCP, for the proxy's
//! integration tests, the benchmarks, the demo and operators' staging setups.
//!
//! The simulator ([`Smsc`]) behaves like a strict SMSC: it authenticates binds
//! (`ESME_RINVPASWD`, `ESME_RINVSYSID`, `ESME_RALYBND`, `ESME_RINVBNDSTS`), answers
//! `submit_sm`, `data_sm`, `submit_multi`, `query_sm`, `cancel_sm` and `replace_sm`
//! with unique hex message ids, answers malformed PDUs the way the codec prescribes,
//! sends delivery receipts and MO messages to the receivers of the right account and
//! waits for their `deliver_sm_resp`. For tests it records what it received
//! byte for byte, injects latency and errors, and can die, hang and restart. It is
//! built for throughput: one task per connection reads in large chunks, frames with
//! the codec's header-only check and answers a whole chunk with one write.
//!
//! The client ([`esme::Esme`]) pipelines requests within a window, answers the
//! peer's `enquire_link`, `unbind` and deliveries itself, and can write raw bytes
//! for malformed-input tests. [`message::Sms`] builds the messages: GSM 7-bit,
//! UCS-2, concatenated with 8-bit or 16-bit UDH or SAR TLVs, or in
//! `message_payload`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use smppguard_sim::{BindType, SimConfig, Smsc, esme::Esme, message::Sms};
//!
//! let smsc = Smsc::start("127.0.0.1:0".parse::<std::net::SocketAddr>()?, SimConfig {
//!     dlr: true,
//!     ..SimConfig::default()
//! })
//! .await?;
//! let esme = Esme::connect(smsc.local_addr()).await?;
//! esme.bind(BindType::Transceiver, "esme01", "pw").await?;
//! let resp = esme.submit(Sms::gsm7("Hello")?.registered_delivery(1).submit_sm()?).await?;
//! let receipt = esme.next_delivery().await.and_then(|d| d.receipt());
//! assert_eq!(receipt.map(|r| r.id), Some(resp.message_id));
//! assert_eq!(smsc.received().len(), 1);
//! # Ok(()) }
//! ```
//!
//! Key types:
//! - [`Smsc`], [`SimConfig`], [`SmscHandle`]: start, configure and steer the simulator;
//!   [`Received`] and [`Stats`] are what it saw.
//! - [`esme::Esme`], [`esme::Request`], [`esme::SubmitResponse`], [`esme::Delivery`]:
//!   the client.
//! - [`message::Sms`], [`message::Concat`]: test-message builders.
//! - [`Receipt`]: the receipt text format, written by the simulator and read back by
//!   the client.
//!
//! # Layout
//! - `smsc.rs`: [`Smsc`], [`SmscHandle`], the accept loop and shared state;
//!   `smsc/session.rs` one connection, `smsc/dispatch.rs` routing of receipts and MO
//!   messages, `smsc/config.rs`, `smsc/record.rs`, `smsc/stats.rs`.
//! - `esme.rs`: the client handle and its types; `esme/conn.rs` its connection task.
//! - `message.rs`: message builders and the GSM 7-bit encoder.
//! - `receipt.rs`: receipt text and SMPP time strings.
//! - `types.rs`: [`BindType`], [`MessageId`]. `error.rs`: error types.
//!
//! # Cargo features
//! None.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![warn(missing_docs, unreachable_pub)]

mod error;
pub mod esme;
pub mod message;
pub mod receipt;
mod smsc;
mod types;

pub use error::{BuildError, EsmeError, SimError};
pub use receipt::Receipt;
pub use smsc::{
    Answer, BoundSession, Listen, MoConfig, Received, SimConfig, Smsc, SmscHandle, Stats,
};
pub use types::{BindType, MessageId};
