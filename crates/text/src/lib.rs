//! SMS text layer: turns the bytes of one or more SMPP parts into the text a person reads,
//! and that text into the form rules are matched against.
//!
//! Gateways that match regexes on raw `short_message` bytes miss UCS-2 text, keywords split
//! across the parts of a concatenated message, and simple disguises such as fullwidth
//! letters or zero-width spaces. This crate is the answer, as a sans-IO library: no I/O, no
//! clock (time comes in as an argument), no metrics. The original PDU bytes are always what
//! gets forwarded; everything here only produces text for matching and for explanations.
//!
//! The types that matter:
//! - [`Normalizer`] and [`MatchText`]: the match text of decoded text, with an offset map
//!   back to it and the URLs and phone numbers found in it.
//!
//! # Layout
//! - `normalize`: [`NormalizeOptions`], [`Normalizer`], [`MatchText`], [`Extracted`];
//!   the fast path, the general path, the extraction of URLs and phone numbers and the
//!   generated tables (`tools/gen_tables.py`).
//!
//! # Cargo features
//! None.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![warn(missing_docs, unreachable_pub)]

mod normalize;

pub use normalize::{Extracted, MatchText, NormalizeOptions, Normalizer};
