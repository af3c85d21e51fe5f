//! `smppguard config check FILE` and `smppguard passwd`: validate a configuration the
//! way `run` would load it, and hash an account password for it.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

/// Arguments of `smppguard config`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Validate a configuration file: every key and value, and the rule pack it names
    /// (compiled). Exits 0 when valid, 64 with the offending key otherwise.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
}

/// Exit code for an invalid configuration (EX_USAGE in sysexits.h).
pub(crate) const EX_CONFIG: u8 = 64;

/// Runs `smppguard config`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Check { file } => match smppguard_proxy::check_file(&file) {
            Ok((_, report)) => {
                println!(
                    "{}: ok: {} listener(s), {} upstream(s) with {} session(s), {} route(s), {} account(s)",
                    file.display(),
                    report.listeners,
                    report.upstreams,
                    report.upstream_sessions,
                    report.routes,
                    report.accounts
                );
                match report.rules {
                    Some(r) => println!(
                        "rules: {} {} ({} rules, ruleset {})",
                        r.name, r.pack_version, r.rules, r.version
                    ),
                    None => println!("rules: none configured (no content filtering)"),
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                Ok(ExitCode::from(EX_CONFIG))
            }
        },
    }
}

/// Arguments of `smppguard passwd`.
#[derive(clap::Args, Debug)]
pub(crate) struct PasswdArgs {}

/// Reads one password (1 to 8 bytes) from the first line of standard input and prints
/// its argon2id hash for an account's `password_hash`. Reading stdin keeps the password
/// out of the shell history and the process list.
pub(crate) fn passwd(_args: PasswdArgs) -> Result<ExitCode> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    let hash = smppguard_proxy::hash_password(password)?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
}
