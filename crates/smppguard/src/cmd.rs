//! Subcommands, one module each.

pub(crate) mod bench;
pub(crate) mod config;
pub(crate) mod demo;
pub(crate) mod inspect;
pub(crate) mod rules;
pub(crate) mod run;
pub(crate) mod sim;
