//! Subcommands, one module each.

pub(crate) mod config;
pub(crate) mod inspect;
pub(crate) mod rules;
pub(crate) mod run;
pub(crate) mod sim;
