//! smppguard's admin HTTP API and log set-up.
//!
//! The admin API runs on its own listener, loopback by default. With `[admin]
//! token_file` set every endpoint but the two probes requires `Authorization: Bearer
//! <token>` (compared in constant time); a non-loopback address without a token file is
//! refused. The endpoints (`docs/admin-api.md` has the OpenAPI description):
//! `/healthz`, `/readyz`, `/metrics`, `POST /reload`, `/accounts` and
//! `/accounts/{id}` (live rates, limits, state), `POST /accounts/{id}/suspend|resume`,
//! `POST /rules/test` (the verdict of the live rules, as `smppguard rules scan`
//! prints it), and the quarantine: list, read, release, delete.
//!
//! The key types:
//! - [`Admin::start`] → [`AdminHandle`] (`local_addr()`, `shutdown()`);
//! - [`ROUTES`]: every route, for the documentation check;
//! - [`init_logging`]: text or JSON logs from `[log]`.
//!
//! # Layout
//! - `server`: routes, authentication guard, handlers.
//! - `auth`: the bearer token.
//! - `scan`: `POST /rules/test`.
//! - `rates`: per-account rates sampled from the metrics.
//! - `telemetry`: log set-up.
//!
//! # Cargo features
//! None.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![warn(missing_docs, unreachable_pub)]

mod auth;
mod rates;
mod scan;
mod server;
mod telemetry;

pub use auth::TokenError;
pub use rates::AccountRates;
pub use scan::verdict_json;
pub use server::{Admin, AdminHandle, AdminStartError, ROUTES};
pub use telemetry::{LogError, check_filter, init_logging};
