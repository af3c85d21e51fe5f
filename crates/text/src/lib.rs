//! SMS text layer: decoding, reassembly and normalization for matching.
#![forbid(unsafe_code)]
