//! End-to-end tests over real TCP on loopback: ESMEs (the simulator's client) → proxy →
//! SMSC simulators.
// Tests may unwrap and index: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod integration {
    pub(crate) mod support;

    mod bind;
    mod failover;
    mod lifecycle;
    mod limits;
    mod limits_redis;
    mod malformed;
    mod multipart;
    mod receipts;
    mod relay;
    mod tls;
}
