//! `smppguard`: the carrier-grade SMPP filtering proxy and its operator tools.
//!
//! Each subcommand lives in its own module under `cmd/`; `main` parses the command line,
//! dispatches, and turns an error into a message on stderr and a non-zero exit code.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// SMPP filtering proxy: decodes, reassembles and scans every message between ESMEs and SMSCs.
#[derive(Parser, Debug)]
#[command(name = "smppguard", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode SMPP PDUs from hex or a pcap/pcapng capture and print them as JSON lines.
    Inspect(cmd::inspect::Args),
    /// Validate rule packs and show the verdict a pack gives a message.
    Rules(cmd::rules::Args),
    /// Run the proxy: `smppguard run --config FILE` (SIGHUP reloads, SIGTERM drains).
    Run(cmd::run::Args),
    /// Validate a configuration file: `smppguard config check FILE`.
    Config(cmd::config::Args),
    /// Print the argon2id hash of a password read from standard input, for an
    /// account's `password_hash`.
    Passwd(cmd::config::PasswdArgs),
    /// Simulators for tests, benchmarks and staging: `sim smsc` runs an SMSC.
    Sim(cmd::sim::Args),
    /// Load generator for any SMPP server: throughput, statuses, latency percentiles.
    Bench(cmd::bench::Args),
    /// Simulator, proxy with the default rules and example traffic in one process,
    /// with a live view.
    Demo(cmd::demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(args) => cmd::inspect::run(args),
        Command::Rules(args) => cmd::rules::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Config(args) => cmd::config::run(args),
        Command::Passwd(args) => cmd::config::passwd(args),
        Command::Sim(args) => cmd::sim::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Demo(args) => cmd::demo::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("smppguard: {err:#}");
            ExitCode::from(1)
        }
    }
}
