//! SMS text layer: turns the bytes of one or more SMPP parts into the text a person reads,
//! and that text into the form rules are matched against.
//!
//! Gateways that match regexes on raw `short_message` bytes miss UCS-2 text, keywords split
//! across the parts of a concatenated message, and simple disguises such as fullwidth
//! letters or zero-width spaces. This crate is the answer, as a sans-IO library: no I/O, no
//! clock (time comes in as a millisecond count), no metrics. The original PDU bytes are
//! always what gets forwarded; everything here only produces text for matching and for
//! explanations.
//!
//! The types that matter:
//! - [`decode_part`] with [`PartInput`] and [`DecodeOptions`] gives a [`DecodedPart`]: text,
//!   [`Udh`], unified [`Concat`] information, binary flag, [`DecodeWarning`]s.
//! - [`Reassembler`] holds the parts of multi-part messages and returns a
//!   [`CompleteMessage`] (all tokens in seqnum order, text decoded after joining) or an
//!   [`Incomplete`] set on timeout, always handing every token back exactly once.
//! - [`Normalizer`] and [`MatchText`]: the match text of decoded text, with an offset map
//!   back to it and the URLs and phone numbers found in it.
//!
//! # Layout
//! - `decode`: data_coding alphabets, GSM 7-bit tables (`decode/gsm7.rs`, generated
//!   `decode/gsm_tables.rs`), the user data header (`decode/udh.rs`).
//! - `reassembly`: the reassembler state machine.
//! - `normalize`: [`NormalizeOptions`], [`Normalizer`], [`MatchText`], [`Extracted`]; the
//!   fast path, the general path, URL and phone extraction, generated tables.
//! - `tools/`: the generators of the committed tables, with their sources.
//!
//! # Cargo features
//! None.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![warn(missing_docs, unreachable_pub)]

mod decode;
mod normalize;
mod reassembly;

pub use decode::udh::{Concat, ConcatSource, Ports, RawIe, Udh};
pub use decode::{
    Coding, DecodeOptions, DecodeWarning, DecodedPart, DefaultAlphabet, ESM_CLASS_UDHI, PartInput,
    SarInfo, decode_part, decode_part_into,
};
pub use normalize::{Extracted, MatchText, NormalizeOptions, Normalizer};
pub use reassembly::{
    CompleteMessage, Incomplete, IncompleteReason, PartKey, PartKeyRef, PushOutcome, Reassembler,
    ReassemblyLimits, RefuseReason, RejectReason, ReturnedPart,
};
