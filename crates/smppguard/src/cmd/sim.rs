//! `smppguard sim smsc`: a standalone SMSC simulator for tests, benchmarks, the demo
//! and staging environments (behaviour documented in `docs/simulator.md`).

use std::{io::IsTerminal, net::SocketAddr, process::ExitCode, time::Duration};

use anyhow::{Context, Result, bail};
use smppguard_codec::CommandStatus;
use smppguard_sim::{MoConfig, SimConfig, Smsc, SmscHandle, Stats};

/// Arguments of `smppguard sim`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Run an SMSC simulator: accepts binds, answers submits with message ids, and
    /// optionally sends delivery receipts and MO messages, with latency and error
    /// injection. Stops cleanly on Ctrl-C or SIGTERM.
    Smsc(SmscArgs),
}

#[derive(clap::Args, Debug)]
struct SmscArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2775")]
    listen: SocketAddr,
    /// Accounts allowed to bind, as `system_id:password` pairs separated by commas;
    /// none: any system_id and password bind.
    #[arg(long, value_name = "ID:PW,...", value_delimiter = ',', value_parser = parse_account)]
    accounts: Vec<(String, String)>,
    /// The simulator's system_id in bind responses (at most 15 characters).
    #[arg(long, value_name = "NAME", default_value = "smppguard-sim")]
    system_id: String,
    /// Send a delivery receipt for every accepted message that asks for one
    /// (registered_delivery bits 1-0 = 01).
    #[arg(long)]
    dlr: bool,
    /// Milliseconds between a submit's response and its receipt.
    #[arg(long, value_name = "N", default_value_t = 0)]
    dlr_delay_ms: u64,
    /// Milliseconds added to every submit/query/cancel/replace response; responses are
    /// delayed concurrently, the session keeps reading.
    #[arg(long, value_name = "N", default_value_t = 0)]
    latency_ms: u64,
    /// Fraction (0 to 1) of submits answered with --error-status.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_rate)]
    error_rate: f64,
    /// Status of injected errors: a name (ESME_RTHROTTLED) or a number (0x58).
    #[arg(long, value_name = "STATUS", default_value = "ESME_RSYSERR", value_parser = parse_status)]
    error_status: CommandStatus,
    /// Send an MO message every N milliseconds to every account with a receiver bound.
    #[arg(long, value_name = "N")]
    mo_interval_ms: Option<u64>,
    /// Text of the MO messages (a round counter is appended).
    #[arg(long, value_name = "TEXT", default_value = "MO")]
    mo_text: String,
    /// Outbound window: receipts and MO messages awaiting deliver_sm_resp per session.
    #[arg(long, value_name = "N", default_value_t = 64)]
    window: usize,
    /// Seed of error injection and of the message id range (default: random).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Check submits by header only instead of decoding them fully (faster; malformed
    /// submits are then accepted).
    #[arg(long)]
    no_validate: bool,
    /// Log the counters every N seconds; 0 logs them only at exit.
    #[arg(long, value_name = "N", default_value_t = 10)]
    stats_interval_s: u64,
}

/// Runs `smppguard sim`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Smsc(args) => run_smsc(args),
    }
}

fn run_smsc(args: SmscArgs) -> Result<ExitCode> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

/// Logs to stderr at `info`, or as `RUST_LOG` says.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A subscriber installed earlier (in tests) wins; that is fine.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn config(args: &SmscArgs) -> SimConfig {
    let mut config = SimConfig {
        accounts: args.accounts.clone(),
        system_id: args.system_id.clone(),
        dlr: args.dlr,
        dlr_delay: Duration::from_millis(args.dlr_delay_ms),
        latency: Duration::from_millis(args.latency_ms),
        error_rate: args.error_rate,
        error_status: args.error_status,
        mo: args.mo_interval_ms.map(|ms| MoConfig {
            interval: Duration::from_millis(ms),
            text: args.mo_text.clone(),
            ..MoConfig::default()
        }),
        window: args.window.max(1),
        validate: !args.no_validate,
        // Nobody reads the record of a standalone simulator.
        record: None,
        ..SimConfig::default()
    };
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    config
}

async fn serve(args: SmscArgs) -> Result<()> {
    let smsc = Smsc::start(args.listen, config(&args))
        .await
        .with_context(|| format!("cannot start the simulator on {}", args.listen))?;
    let stats_every =
        (args.stats_interval_s > 0).then(|| Duration::from_secs(args.stats_interval_s));
    tokio::select! {
        r = shutdown_signal() => r?,
        () = log_stats(&smsc, stats_every) => {}
    }
    tracing::info!("stopping: unbinding sessions");
    smsc.clone().shutdown().await;
    log_counters(&smsc.stats());
    Ok(())
}

/// Logs the counters periodically; never returns when `every` is set.
async fn log_stats(smsc: &SmscHandle, every: Option<Duration>) {
    let Some(every) = every else {
        std::future::pending::<()>().await;
        return;
    };
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        log_counters(&smsc.stats());
    }
}

fn log_counters(s: &Stats) {
    tracing::info!(
        connections = s.connections,
        binds = s.binds,
        bind_failures = s.bind_failures,
        submits = s.submits,
        submits_ok = s.submits_ok,
        errors_injected = s.errors_injected,
        rejected = s.rejected,
        dlrs_sent = s.dlrs_sent,
        dlrs_acked = s.dlrs_acked,
        mo_sent = s.mo_sent,
        mo_acked = s.mo_acked,
        deliveries_dropped = s.deliveries_dropped,
        "counters"
    );
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot watch SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot watch Ctrl-C")?;
    Ok(())
}

fn parse_account(s: &str) -> Result<(String, String)> {
    match s.split_once(':') {
        Some((id, pw)) if !id.is_empty() => Ok((id.to_owned(), pw.to_owned())),
        _ => bail!("expected system_id:password"),
    }
}

fn parse_rate(s: &str) -> Result<f64> {
    let rate: f64 = s.parse().context("not a number")?;
    if !(0.0..=1.0).contains(&rate) {
        bail!("must be between 0 and 1");
    }
    Ok(rate)
}

fn parse_status(s: &str) -> Result<CommandStatus> {
    if let Some(status) = CommandStatus::ALL
        .iter()
        .find(|c| c.name().is_some_and(|n| n.eq_ignore_ascii_case(s)))
    {
        return Ok(*status);
    }
    let value = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => s.parse(),
    }
    .context("expected a status name such as ESME_RSYSERR or a number")?;
    Ok(CommandStatus(value))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(clap::Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    fn parse(args: &[&str]) -> Result<SmscArgs, clap::Error> {
        let mut argv = vec!["sim", "smsc"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Smsc(a) => a,
        })
    }

    #[test]
    fn flags_map_to_the_simulator_config() {
        let args = parse(&[
            "--listen",
            "127.0.0.1:9000",
            "--accounts",
            "esme01:s3cr3t,esme02:pw:with:colons",
            "--dlr",
            "--dlr-delay-ms",
            "20",
            "--latency-ms",
            "5",
            "--error-rate",
            "0.25",
            "--error-status",
            "esme_rthrottled",
            "--mo-interval-ms",
            "1000",
            "--seed",
            "9",
        ])
        .unwrap();
        let c = config(&args);
        assert_eq!(
            c.accounts,
            [
                ("esme01".to_owned(), "s3cr3t".to_owned()),
                ("esme02".to_owned(), "pw:with:colons".to_owned())
            ]
        );
        assert!(c.dlr);
        assert_eq!(c.dlr_delay, Duration::from_millis(20));
        assert_eq!(c.latency, Duration::from_millis(5));
        assert_eq!(c.error_rate, 0.25);
        assert_eq!(c.error_status, CommandStatus::ESME_RTHROTTLED);
        assert_eq!(c.mo.unwrap().interval, Duration::from_secs(1));
        assert_eq!(c.seed, 9);
        assert!(c.validate);
        assert_eq!(c.record, None);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse(&["--error-rate", "1.5"]).is_err());
        assert!(parse(&["--accounts", "nopassword"]).is_err());
        assert!(parse(&["--error-status", "ESME_RNOPE"]).is_err());
        assert!(parse(&["--listen", "nowhere"]).is_err());
        let args = parse(&["--error-status", "0x45"]).unwrap();
        assert_eq!(args.error_status, CommandStatus::ESME_RSUBMITFAIL);
        assert_eq!(config(&parse(&[]).unwrap()).accounts, []);
    }
}
