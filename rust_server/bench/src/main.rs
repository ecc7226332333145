//! `relay-bench`: a fan-out load generator for the summoner relay and nats-server.
//!
//! `run` connects N clients (S of them senders, plus optional silent clients that never
//! read) to a relay on loopback, proves every client is a member with a barrier line,
//! then sends numbered, time-stamped messages (paced or unpaced) and prints one JSON
//! object: deliveries per second over the timed window, latency percentiles, and lost,
//! duplicated and reordered messages. `idle` holds N idle connections open so that the
//! caller can read the relay's memory. Every run is bounded by a message count and a
//! hard time limit, and only loopback targets are accepted (spec/relay.md §7).

mod client;
mod message;
mod stats;
mod wire;

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use clap::{Args, Parser, Subcommand};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::client::{Client, RunState, SendPlan};
use crate::stats::Tally;
use crate::wire::Proto;

/// Connections opened at once while setting up a run.
const CONNECT_CONCURRENCY: usize = 200;
/// Longest wait for the barrier line to reach every receiver.
const BARRIER_LIMIT: Duration = Duration::from_secs(15);
/// How often the barrier line is repeated until every receiver has it.
const BARRIER_REPEAT: Duration = Duration::from_millis(100);
/// After the senders finish, a run ends early once no receiver progresses for this long.
const SETTLE: Duration = Duration::from_secs(3);

#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fan-out load: N clients, S senders; prints one JSON object of results.
    Run(RunArgs),
    /// Opens N idle connections, prints `{"connected": N, ...}`, and holds them until
    /// standard input closes or the hold time ends.
    Idle(IdleArgs),
}

#[derive(Debug, Args)]
struct Target {
    /// Protocol of the target.
    #[arg(long, value_enum)]
    proto: Proto,
    /// Target address; must be a loopback address.
    #[arg(long)]
    addr: SocketAddr,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    target: Target,
    /// Connected clients that read (senders included).
    #[arg(long)]
    clients: usize,
    /// How many of the clients send.
    #[arg(long)]
    senders: usize,
    /// Messages per sender.
    #[arg(long)]
    messages: u32,
    /// Content bytes per message (at least 30).
    #[arg(long, default_value_t = 128)]
    size: usize,
    /// Messages per second per sender; 0 sends unpaced.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Extra clients that connect and never read (isolation workload W6).
    #[arg(long, default_value_t = 0)]
    silent: usize,
    /// Unpaced senders put this many bytes of messages in one write.
    #[arg(long, default_value_t = 16 * 1024)]
    batch_bytes: usize,
    /// Hard limit on the timed window, in seconds.
    #[arg(long, default_value_t = 60.0)]
    time_limit: f64,
}

#[derive(Debug, Args)]
struct IdleArgs {
    #[command(flatten)]
    target: Target,
    /// Idle connections to open.
    #[arg(long)]
    clients: usize,
    /// Longest time to hold them, in seconds.
    #[arg(long, default_value_t = 60.0)]
    hold: f64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    message::clock_base();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run(args).await,
            Command::Idle(args) => idle(args).await,
        }
    })?;
    println!("{report}");
    // Leftover connections and tasks end with the process.
    std::process::exit(0);
}

fn check_target(target: &Target) -> anyhow::Result<()> {
    ensure!(
        target.addr.ip().is_loopback(),
        "refusing {}: relay-bench only targets loopback",
        target.addr
    );
    Ok(())
}

/// Opens `count` connections, `CONNECT_CONCURRENCY` at a time, in index order.
async fn connect_all(target: &Target, count: usize) -> anyhow::Result<Vec<Client>> {
    let mut clients = Vec::with_capacity(count);
    let (addr, proto) = (target.addr, target.proto);
    while clients.len() < count {
        let wave = CONNECT_CONCURRENCY.min(count - clients.len());
        let mut set = JoinSet::new();
        for slot in 0..wave {
            set.spawn(async move { (slot, client::connect(addr, proto).await) });
        }
        let mut wave_clients: Vec<Option<Client>> = (0..wave).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            let (slot, connected) = joined?;
            wave_clients[slot] = Some(connected?);
        }
        clients.extend(wave_clients.into_iter().flatten());
    }
    Ok(clients)
}

async fn run(args: RunArgs) -> anyhow::Result<serde_json::Value> {
    check_target(&args.target)?;
    ensure!(
        args.senders >= 1 && args.senders <= args.clients,
        "need 1 <= senders <= clients"
    );
    ensure!(args.clients >= 2, "need at least 2 clients");
    ensure!(
        args.senders < 10_000,
        "at most 9,999 senders (4-digit sender field)"
    );
    ensure!(
        args.size >= message::HEADER_LEN,
        "size must be at least {}",
        message::HEADER_LEN
    );
    let proto = args.target.proto;
    let setup_started = Instant::now();
    let time_limit = Duration::from_secs_f64(args.time_limit);
    let connect_limit = Duration::from_secs(30) + Duration::from_millis(10 * args.clients as u64);
    let clients = tokio::time::timeout(connect_limit, connect_all(&args.target, args.clients))
        .await
        .context("connecting took too long")??;
    let silent = tokio::time::timeout(connect_limit, connect_all(&args.target, args.silent))
        .await
        .context("connecting took too long")??;
    let connect_secs = setup_started.elapsed().as_secs_f64();

    let state = Arc::new(RunState {
        synced: Default::default(),
        complete: Default::default(),
        delivered: Default::default(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let messages = u64::from(args.messages);
    let (mut writers, mut receivers) = (Vec::new(), Vec::new());
    for (index, client) in clients.into_iter().enumerate() {
        let own = u64::from(index < args.senders);
        let expected = (args.senders as u64 - own) * messages;
        if expected == 0 {
            state.complete.fetch_add(1, Relaxed);
        }
        let tally = Tally::new(args.senders, args.messages, expected);
        writers.push(Arc::clone(&client.write));
        receivers.push(tokio::spawn(client::receive_loop(
            client,
            proto,
            Arc::clone(&state),
            tally,
            stop_rx.clone(),
        )));
    }

    barrier(proto, &writers[0], &state, args.clients - 1).await?;
    let barrier_secs = setup_started.elapsed().as_secs_f64() - connect_secs;

    let start = Instant::now() + Duration::from_millis(20);
    let rate = (args.rate > 0.0).then_some(args.rate);
    let mut senders = JoinSet::new();
    for (index, writer) in writers.iter().take(args.senders).enumerate() {
        // Paced senders are staggered evenly over one interval, so ticks do not collide.
        let offset = rate.map_or(Duration::ZERO, |r| {
            Duration::from_secs_f64(index as f64 / (r * args.senders as f64))
        });
        let plan = SendPlan {
            proto,
            sender: u16::try_from(index)?,
            messages: args.messages,
            size: args.size,
            rate,
            batch_bytes: args.batch_bytes,
            start: start + offset,
        };
        senders.spawn(client::send_loop(plan, Arc::clone(writer)));
    }
    let (send_errors, sent_at) = wait_for_end(&args, &state, &mut senders, start, time_limit).await;
    let _ = stop_tx.send(true);
    let mut tallies = Vec::with_capacity(receivers.len());
    for receiver in receivers {
        tallies.push(tokio::time::timeout(Duration::from_secs(5), receiver).await??);
    }
    drop(silent);
    Ok(report(
        &args,
        &tallies,
        start,
        sent_at,
        send_errors,
        [connect_secs, barrier_secs],
    ))
}

/// Repeats a barrier line from client 0 until every other receiver has seen one.
async fn barrier(
    proto: Proto,
    writer: &client::Writer,
    state: &RunState,
    others: usize,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + BARRIER_LIMIT;
    while state.synced.load(Relaxed) < others {
        if Instant::now() >= deadline {
            bail!(
                "barrier: only {} of {others} receivers joined",
                state.synced.load(Relaxed)
            );
        }
        client::send_sync(proto, writer).await?;
        let repeat_at = Instant::now() + BARRIER_REPEAT;
        while Instant::now() < repeat_at && state.synced.load(Relaxed) < others {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    Ok(())
}

/// Waits until every receiver is complete, the time limit passes, or (senders done)
/// nothing has progressed for [`SETTLE`]. Returns send errors and when sending ended.
async fn wait_for_end(
    args: &RunArgs,
    state: &RunState,
    senders: &mut JoinSet<anyhow::Result<Instant>>,
    start: Instant,
    time_limit: Duration,
) -> (Vec<String>, Option<Instant>) {
    let deadline = start + time_limit;
    let mut errors = Vec::new();
    let mut sent_at: Option<Instant> = None;
    let mut senders_left = args.senders;
    let mut last_progress = (0, Instant::now());
    loop {
        while let Some(joined) = senders.try_join_next() {
            senders_left -= 1;
            match joined {
                Ok(Ok(at)) => sent_at = Some(sent_at.map_or(at, |s| s.max(at))),
                Ok(Err(error)) => errors.push(format!("{error:#}")),
                Err(error) => errors.push(error.to_string()),
            }
        }
        let complete = state.complete.load(Relaxed);
        if complete >= args.clients || Instant::now() >= deadline {
            break;
        }
        let delivered = state.delivered.load(Relaxed);
        if delivered != last_progress.0 {
            last_progress = (delivered, Instant::now());
        }
        if senders_left == 0 && last_progress.1.elapsed() >= SETTLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    senders.abort_all();
    (errors, sent_at)
}

fn report(
    args: &RunArgs,
    tallies: &[Tally],
    start: Instant,
    sent_at: Option<Instant>,
    send_errors: Vec<String>,
    [connect_secs, barrier_secs]: [f64; 2],
) -> serde_json::Value {
    let start = start.into_std();
    let sum = |f: fn(&Tally) -> u64| tallies.iter().map(f).sum::<u64>();
    let expected = sum(|t| t.expected);
    let delivered = sum(|t| t.unique);
    let last = tallies.iter().filter_map(|t| t.last_at).max();
    let window = last.map_or(0.0, |at| at.saturating_duration_since(start).as_secs_f64());
    let errors: Vec<String> = send_errors
        .into_iter()
        .chain(tallies.iter().filter_map(|t| t.error.clone()))
        .take(20)
        .collect();
    let notices: Vec<String> = tallies
        .iter()
        .flat_map(|t| t.notices.clone())
        .take(20)
        .collect();
    let incomplete = tallies.iter().filter(|t| !t.complete()).count();
    serde_json::json!({
        "proto": args.target.proto,
        "clients": args.clients,
        "senders": args.senders,
        "silent": args.silent,
        "messages_per_sender": args.messages,
        "size": args.size,
        "rate_per_sender": args.rate,
        "sent": u64::from(args.messages) * args.senders as u64,
        "expected_deliveries": expected,
        "delivered": delivered,
        "lost": expected.saturating_sub(delivered),
        "duplicated": sum(|t| t.duplicated),
        "reordered": sum(|t| t.reordered),
        "malformed": sum(|t| t.malformed),
        "incomplete_receivers": incomplete,
        "window_secs": window,
        "send_secs": sent_at.map(|at| at.into_std().saturating_duration_since(start).as_secs_f64()),
        "deliveries_per_sec": if window > 0.0 { delivered as f64 / window } else { 0.0 },
        "latency_us": stats::latency_json(&stats::merged()),
        "connect_secs": connect_secs,
        "barrier_secs": barrier_secs,
        "errors": errors,
        "notices": notices,
    })
}

async fn idle(args: IdleArgs) -> anyhow::Result<serde_json::Value> {
    check_target(&args.target)?;
    let started = Instant::now();
    let clients = connect_all(&args.target, args.clients).await?;
    let ready = serde_json::json!({
        "connected": clients.len(),
        "connect_secs": started.elapsed().as_secs_f64(),
    });
    println!("{ready}");
    let hold = Duration::from_secs_f64(args.hold);
    let mut stdin = tokio::io::stdin();
    let mut scratch = [0u8; 256];
    let _ = tokio::time::timeout(hold, async {
        while matches!(stdin.read(&mut scratch).await, Ok(n) if n > 0) {}
    })
    .await;
    drop(clients);
    Ok(serde_json::json!({"released": args.clients}))
}
