//! `smppguard run --config FILE`: the proxy. SIGHUP reloads the configuration's dynamic
//! part (accounts, routes, rules); SIGTERM and SIGINT drain and exit 0. The admin API
//! (`[admin]`) runs beside it; logs follow `[log]`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use smppguard_proxy::{Config, Proxy};
use tokio::signal::unix::{SignalKind, signal};

use super::config::EX_CONFIG;

/// Arguments of `smppguard run`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The configuration file (see docs/configuration.md).
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
    /// Log filter, in `RUST_LOG` syntax (e.g. `info,smppguard_proxy=debug`); default:
    /// `[log] level` of the configuration.
    #[arg(long, value_name = "FILTER")]
    log: Option<String>,
    /// Runtime worker threads; default `[server] workers` of the configuration.
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
}

/// Runs the proxy until SIGTERM or SIGINT.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let config = match Config::from_file(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", args.config.display());
            return Ok(ExitCode::from(EX_CONFIG));
        }
    };
    if let Err(e) = smppguard_admin::init_logging(&config.fixed.log, args.log.as_deref()) {
        eprintln!("{}: {e}", args.config.display());
        return Ok(ExitCode::from(EX_CONFIG));
    }
    let drain_timeout = config.fixed.server.drain_timeout;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = match args.workers {
        Some(n) => n.max(1),
        None => config.fixed.server.worker_threads(cpus),
    };
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all().worker_threads(workers);
    let rt = rt.build().context("starting the runtime")?;
    rt.block_on(async move {
        tracing::info!(workers, "runtime started");
        let proxy = Arc::new(
            Proxy::start_with_path(config, Some(args.config.clone()))
                .await
                .context("starting the proxy")?,
        );
        let admin = smppguard_admin::Admin::start(Arc::clone(&proxy))
            .await
            .context("starting the admin listener")?;
        let mut hup = signal(SignalKind::hangup()).context("installing SIGHUP")?;
        let mut term = signal(SignalKind::terminate()).context("installing SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("installing SIGINT")?;
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    // The proxy logs the outcome; a refused reload keeps the running config.
                    let _ = proxy.reload_from_file(None).await;
                }
                _ = term.recv() => break,
                _ = int.recv() => break,
            }
        }
        let report = proxy.drain(drain_timeout).await;
        admin.shutdown().await;
        tracing::info!(
            clean = report.clean,
            answered_at_deadline = report.answered_at_deadline,
            unanswered = report.unanswered,
            "stopped"
        );
        Ok(ExitCode::SUCCESS)
    })
}
