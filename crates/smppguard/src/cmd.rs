//! Subcommands, one module each.

pub(crate) mod inspect;
pub(crate) mod rules;
