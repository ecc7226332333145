//! `summoner-relay`: the relay as a standalone binary.
//!
//! Thin on purpose: parse flags, load and check the config, install a tracing subscriber,
//! raise the open-file limit, then serve until SIGINT or SIGTERM. A second signal during
//! the drain closes everything at once (spec/relay.md §4.11, §5.2).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use summoner_relay_core::config::{self, Validated};
use summoner_relay_core::logsink::{self, PyFormat};
use summoner_relay_core::Relay;
use tracing_appender::non_blocking::WorkerGuard;

/// Exit status for a config or usage error.
const EXIT_CONFIG: u8 = 2;
/// Exit status for a runtime failure (bind error, unreadable files).
const EXIT_RUNTIME: u8 = 1;

/// The summoner relay: every line from one client goes to every other client.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// JSON configuration file (the original's files load unchanged).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on; overrides the config.
    #[arg(long)]
    host: Option<String>,
    /// Port to listen on (0 picks a free one); overrides the config.
    #[arg(long)]
    port: Option<u16>,
    /// Name used in logs.
    #[arg(long, default_value = "relay")]
    name: String,
    /// Validate the config, print every problem, and exit.
    #[arg(long)]
    check: bool,
    /// With --check: unknown keys are errors too.
    #[arg(long, requires = "check")]
    strict: bool,
    /// Print HOST:PORT and a newline on stdout once the listener is bound.
    #[arg(long)]
    print_address: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let validated = match load(&args) {
        Ok(validated) => validated,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if args.check {
        for warning in &validated.warnings {
            eprintln!("warning: {warning}");
        }
        println!("configuration is valid");
        return ExitCode::SUCCESS;
    }
    let _log_guards = install_logging(&validated, &args.name);
    for warning in &validated.warnings {
        tracing::warn!(%warning, "configuration");
    }
    if !validated.inert_keys.is_empty() {
        tracing::info!(keys = ?validated.inert_keys, "legacy keys accepted with no effect");
    }
    match serve(&args, validated) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("summoner-relay: {error:#}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn load(args: &Args) -> Result<Validated, String> {
    let text = match &args.config {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        None => "{}".to_owned(),
    };
    let mut validated = config::parse(&text, args.strict).map_err(|errors| {
        let source = args
            .config
            .as_ref()
            .map_or_else(|| "defaults".to_owned(), |p| p.display().to_string());
        format!("invalid configuration in {source}:\n{errors}")
    })?;
    if let Some(host) = &args.host {
        validated.config.host.clone_from(host);
    }
    if let Some(port) = args.port {
        validated.config.port = port;
    }
    Ok(validated)
}

/// Installs the log output the config asks for; the guards flush it when `main` returns.
fn install_logging(validated: &Validated, name: &str) -> Vec<WorkerGuard> {
    let logger = &validated.config.logger;
    let setup = match logsink::build(logger, name) {
        Ok(setup) => setup,
        Err(error) => {
            eprintln!("summoner-relay: cannot open the log file: {error}");
            return Vec::new();
        }
    };
    let _ = tracing::dispatcher::set_global_default(setup.dispatch);
    for format in [&logger.console_log_format, &logger.log_format] {
        let unknown = PyFormat::unknown_placeholders(format);
        if !unknown.is_empty() {
            tracing::warn!(
                ?unknown,
                "log format placeholders with no value print as '-'"
            );
        }
    }
    setup.guards
}

fn serve(args: &Args, validated: Validated) -> anyhow::Result<()> {
    raise_open_file_limit(validated.config.limits.max_connections);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = validated.config.limits.worker_threads {
        runtime.worker_threads(threads);
    }
    let runtime = runtime.enable_all().build()?;
    runtime.block_on(async {
        let relay = Relay::new(validated.config)?;
        let addr = relay.bind()?;
        tracing::info!(name = %args.name, %addr, version = summoner_relay_core::VERSION, backend = "rust", "relay listening");
        if args.print_address {
            println!("{addr}");
        }
        let relay = std::sync::Arc::new(relay);
        let on_second_signal = std::sync::Arc::clone(&relay);
        relay
            .serve(async move {
                wait_for_signal().await;
                tracing::info!("signal received; draining (a second signal closes at once)");
                tokio::spawn(async move {
                    wait_for_signal().await;
                    on_second_signal.close_now();
                });
            })
            .await?;
        Ok(())
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Raises the open-file soft limit to the hard limit; warns if the cap still does not fit.
fn raise_open_file_limit(max_connections: usize) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < max_connections as u64 + 64 => tracing::warn!(
            limit,
            max_connections,
            "the open-file limit is below max_connections"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
    }
}
