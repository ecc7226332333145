#!/usr/bin/env python3
"""Relay benchmark: summoner-relay (native) against nats-server, side by side.

Runs the workloads of spec/relay.md §7 with one load generator (rust_server/bench,
`relay-bench`) against every relay in alternation, several runs each, on loopback only.
Each run starts a fresh relay process, so CPU time and peak RSS are per run. Writes raw
results, medians and ratios to nats-server (from the same batch) to
benchmarks/results/<date>-relay.json and prints a Markdown summary table.

    python3 benchmarks/run.py                      # the default batch (~10 minutes)
    python3 benchmarks/run.py --runs 1 --quick     # a smoke run
    python3 benchmarks/run.py --extra before=/tmp/summoner-relay-old   # A/B a build

Needs nats-server on PATH (Debian: apt-get install -y nats-server) and a Rust toolchain.
Benchmarks are not tests: nothing here asserts on timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARGO_MANIFEST = ROOT / "rust_server" / "Cargo.toml"
RELEASE = ROOT / "rust_server" / "target" / "release"
RESULTS = ROOT / "benchmarks" / "results"

# Our relays run with logging at WARNING, no TLS, no rate limits (the default), and
# queue bounds high enough that nothing is shed or disconnected (spec/relay.md §7.3).
NATIVE_CONFIG = {
    "logger": {"log_level": "WARNING"},
    "hyper_parameters": {
        "max_connections": 15000,
        "max_queue_messages": 10_000_000,
        "max_queue_bytes": 4 * 1024**3,
        "write_timeout_secs": 60,
        "shutdown_drain_secs": 2,
        "backpressure_policy": {
            "enable_throttle": False,
            "enable_flow_control": False,
            "enable_disconnect": False,
        },
    },
}

W3_SECONDS = 4  # spec: 20 s; scaled down so the whole batch fits in ~10 minutes here


@dataclass(frozen=True)
class Workload:
    """One line of spec/relay.md §7.2, as relay-bench arguments."""

    name: str
    clients: int
    senders: int
    messages: int
    size: int = 128
    rate: float = 0.0
    silent: int = 0
    time_limit: float = 90.0

    def args(self) -> list[str]:
        return [
            "--clients", str(self.clients), "--senders", str(self.senders),
            "--messages", str(self.messages), "--size", str(self.size),
            "--rate", str(self.rate), "--silent", str(self.silent),
            "--time-limit", str(self.time_limit),
        ]  # fmt: skip


WORKLOADS = {
    "W1": Workload("W1", clients=10, senders=10, messages=20_000),
    "W2": Workload("W2", clients=100, senders=10, messages=20_000),
    "W4": Workload("W4", clients=1000, senders=10, messages=2_000),
    "W3-10": Workload("W3-10", clients=10, senders=10, messages=1000 * W3_SECONDS, rate=1000),
    "W3-100": Workload("W3-100", clients=100, senders=10, messages=100 * W3_SECONDS, rate=100),
    "W3-1000": Workload("W3-1000", clients=1000, senders=10, messages=10 * W3_SECONDS, rate=10),
    "W5": Workload("W5", clients=10, senders=10, messages=20_000, size=4096),
    "W6": Workload("W6", clients=100, senders=10, messages=20_000, silent=1),
}
DEFAULT_WORKLOADS = ["W1", "W2", "W4", "W3-10", "W3-100", "W3-1000", "W6"]
QUICK = {
    "W1": Workload("W1", clients=10, senders=10, messages=5_000),
    "W2": Workload("W2", clients=100, senders=10, messages=2_000),
    "W4": Workload("W4", clients=1000, senders=10, messages=200),
    "W3-10": Workload("W3-10", clients=10, senders=10, messages=1000, rate=1000),
    "W3-100": Workload("W3-100", clients=100, senders=10, messages=100, rate=100),
    "W3-1000": Workload("W3-1000", clients=1000, senders=10, messages=10, rate=10),
    "W5": Workload("W5", clients=10, senders=10, messages=1_000, size=4096),
    "W6": Workload("W6", clients=100, senders=10, messages=2_000, silent=1),
}
IDLE_COUNTS = [1000, 10000]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def proc_cpu_secs(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


@dataclass
class RelayProcess:
    """A running relay under test."""

    kind: str
    proc: subprocess.Popen
    addr: str
    proto: str
    metrics_port: int | None = None
    tmp: list = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        if self.metrics_port is None:
            return {}
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name.removeprefix("summoner_relay_")] = float(value)
        return out

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        for path in self.tmp:
            Path(path).unlink(missing_ok=True)
        return code

    def warnings(self) -> list[str]:
        """WARN lines the relay logged (other than the open-file notice), at most 10."""
        logs = [p for p in self.tmp if p.endswith(".log")]
        if not logs:
            return []
        text = Path(logs[0]).read_text(errors="replace")
        return [line for line in text.splitlines() if "WARN" in line][:10]


def start_native(kind: str, binary: Path) -> RelayProcess:
    metrics_port = free_port()
    config = json.loads(json.dumps(NATIVE_CONFIG))
    config["metrics"] = {"port": metrics_port}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(config, handle)
    with tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False) as log:
        proc = subprocess.Popen(
            [str(binary), "--port", "0", "--print-address", "--config", handle.name],
            stdout=subprocess.PIPE, stderr=log, text=True,
        )  # fmt: skip
    assert proc.stdout is not None
    addr = proc.stdout.readline().strip()
    if not addr:
        proc.wait(timeout=5)
        raise RuntimeError(f"{binary} did not start: {Path(log.name).read_text()}")
    return RelayProcess(kind, proc, addr, "line", metrics_port, [handle.name, log.name])


def start_nats() -> RelayProcess:
    port = free_port()
    # Default config; logging off (stderr discarded: without -D/-V it only logs startup).
    proc = subprocess.Popen(
        ["nats-server", "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(port)
    return RelayProcess("nats", proc, f"127.0.0.1:{port}", "nats")


PYTHON_RELAY_LAUNCHER = """
import json, signal, sys, threading
from summoner_client.server import SummonerServer
config = json.loads(sys.argv[1])
running = SummonerServer("bench").start(host="127.0.0.1", port=0, config_dict=config)
print(f"{running.host}:{running.port}", flush=True)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
done.wait()
running.stop()
"""


def python_for_relay() -> str:
    """The interpreter that has summoner_client installed: the repo's .venv if present."""
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def python_relay_available() -> bool:
    check = "import summoner_client.server.python_relay"
    done = subprocess.run([python_for_relay(), "-c", check], capture_output=True, cwd=ROOT, check=False)
    return done.returncode == 0


def start_python() -> RelayProcess:
    config = json.loads(json.dumps(NATIVE_CONFIG))
    config["version"] = "python"
    metrics_port = free_port()
    config["metrics"] = {"port": metrics_port}
    proc = subprocess.Popen(
        [python_for_relay(), "-c", PYTHON_RELAY_LAUNCHER, json.dumps(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    addr = proc.stdout.readline().strip()
    if not addr:
        raise RuntimeError(f"python relay did not start: {proc.stderr.read()}")
    return RelayProcess("python", proc, addr, "line", metrics_port)


def start_naive() -> RelayProcess:
    """The naive asyncio relay of benchmarks/naive_relay.py (the Python relay's baseline)."""
    proc = subprocess.Popen(
        [python_for_relay(), str(ROOT / "benchmarks" / "naive_relay.py")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    addr = proc.stdout.readline().strip()
    if not addr:
        raise RuntimeError(f"naive relay did not start: {proc.stderr.read()}")
    return RelayProcess("naive", proc, addr, "line")


def start_relay(kind: str, binaries: dict[str, Path]) -> RelayProcess:
    if kind == "nats":
        return start_nats()
    if kind == "python":
        return start_python()
    if kind == "naive":
        return start_naive()
    return start_native(kind, binaries[kind])


def children_cpu_secs() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_load(bench: Path, relay: RelayProcess, workload: Workload) -> dict:
    cpu_before = proc_cpu_secs(relay.proc.pid)
    gen_before = children_cpu_secs()
    command = [str(bench), "run", "--proto", relay.proto, "--addr", relay.addr]
    done = subprocess.run(
        command + workload.args(),
        capture_output=True, text=True, timeout=workload.time_limit + 120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"relay-bench failed on {relay.kind}: {done.stderr.strip()}")
    result = json.loads(done.stdout)
    result["generator_cpu_secs"] = round(children_cpu_secs() - gen_before, 3)
    result["relay_cpu_secs"] = round(proc_cpu_secs(relay.proc.pid) - cpu_before, 3)
    result["relay_peak_rss_kib"] = proc_status_kib(relay.proc.pid, "VmHWM")
    metrics = relay.metrics()
    if metrics:
        result["relay_dropped"] = sum(v for k, v in metrics.items() if k.startswith("dropped_total"))
        result["relay_closed"] = {
            re.sub(r'.*reason="(\w+)".*', r"\1", k): v
            for k, v in metrics.items()
            if k.startswith("connections_closed_total") and v
        }
        result["relay_deliveries_total"] = metrics.get("deliveries_total")
    result["relay_exit"] = None
    return result


def measure_idle(bench: Path, relay: RelayProcess, count: int) -> dict:
    time.sleep(0.3)
    base = proc_status_kib(relay.proc.pid, "VmRSS")
    holder = subprocess.Popen(
        [str(bench), "idle", "--proto", relay.proto, "--addr", relay.addr,
         "--clients", str(count), "--hold", "60"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        ready = json.loads(holder.stdout.readline() or "null")
        if not ready or ready.get("connected") != count:
            raise RuntimeError(f"idle holder failed: {holder.stderr.read()}")
        deadline = time.monotonic() + 20
        while relay.metrics_port is not None and time.monotonic() < deadline:
            if relay.metrics().get('connections{state="member"}', 0) >= count:
                break
            time.sleep(0.05)
        time.sleep(1.0)  # let allocator and runtime settle
        rss = proc_status_kib(relay.proc.pid, "VmRSS")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    return {
        "connections": count,
        "rss_base_kib": base,
        "rss_kib": rss,
        "per_connection_bytes": round((rss - base) * 1024 / count),
    }


def machine_facts() -> dict:
    def output(*command: str) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=20, cwd=ROOT, check=False)
            return (done.stdout or done.stderr).strip()
        except (OSError, subprocess.TimeoutExpired):
            return "not found"

    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    return {
        "cpu_model": model.group(1) if model else platform.processor(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
        "nats_server": output("nats-server", "--version"),
        "rustc": output("rustc", "--version"),
        "python": platform.python_version(),
        "git_commit": output("git", "rev-parse", "HEAD"),
        "git_dirty": bool(output("git", "status", "--porcelain", "--untracked-files=no")),
        "pinning": "none: 2 cores shared by relay and generator (too few to split)",
    }


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(runs: dict, relays: list[str]) -> dict:
    summary = {}
    for name, by_relay in runs.items():
        row = {}
        for kind in relays:
            results = by_relay.get(kind, [])
            if not results:
                continue
            row[kind] = {
                "runs": len(results),
                "deliveries_per_sec": median([r["deliveries_per_sec"] for r in results]),
                "p50_us": median([r["latency_us"]["p50"] for r in results]),
                "p90_us": median([r["latency_us"]["p90"] for r in results]),
                "p99_us": median([r["latency_us"]["p99"] for r in results]),
                "p99_9_us": median([r["latency_us"]["p99_9"] for r in results]),
                "max_us": median([r["latency_us"]["max"] for r in results]),
                "lost": sum(r["lost"] for r in results),
                "duplicated": sum(r["duplicated"] for r in results),
                "relay_cpu_secs": median([r["relay_cpu_secs"] for r in results]),
                "relay_cpu_ns_per_delivery": median(
                    [r["relay_cpu_secs"] * 1e9 / r["delivered"] for r in results if r["delivered"]]
                ),
                "relay_peak_rss_kib": median([r["relay_peak_rss_kib"] for r in results]),
                "relay_dropped": sum(r.get("relay_dropped", 0) for r in results),
            }
        nats = row.get("nats")
        for kind, stats in row.items():
            if nats and kind != "nats":
                stats["throughput_ratio_to_nats"] = round(
                    stats["deliveries_per_sec"] / nats["deliveries_per_sec"], 3
                )
                stats["p99_ratio_to_nats"] = round(stats["p99_us"] / nats["p99_us"], 3)
        summary[name] = row
    return summary


def summarise_idle(idle: dict) -> dict:
    return {
        kind: {
            str(count): median([m["per_connection_bytes"] for m in measures])
            for count, measures in by_count.items()
        }
        for kind, by_count in idle.items()
    }


def targets(summary: dict, idle: dict) -> dict:
    native = "native"
    out = {}
    for name in ("W1", "W2", "W4"):
        stats = summary.get(name, {}).get(native, {})
        if "throughput_ratio_to_nats" in stats:
            out[f"{name} throughput >= 1.25x nats"] = stats["throughput_ratio_to_nats"] >= 1.25
    for name in ("W3-10", "W3-100", "W3-1000"):
        stats = summary.get(name, {}).get(native, {})
        if "p99_ratio_to_nats" in stats:
            out[f"{name} p99 <= nats"] = stats["p99_ratio_to_nats"] <= 1.0
    if native in idle:
        for count, per_conn in idle[native].items():
            nats = idle.get("nats", {}).get(count)
            out[f"idle memory at {count} <= 10 KiB"] = per_conn <= 10 * 1024
            if nats is not None:
                out[f"idle memory at {count} <= nats"] = per_conn <= nats
    for name in ("W1", "W2"):
        python, naive = summary.get(name, {}).get("python"), summary.get(name, {}).get("naive")
        if python and naive:
            ratio = python["deliveries_per_sec"] / naive["deliveries_per_sec"]
            out[f"{name} Python relay >= 3x naive asyncio relay ({ratio:.2f}x)"] = ratio >= 3
    w2, w6 = summary.get("W2", {}).get(native), summary.get("W6", {}).get(native)
    if w2 and w6:
        out["W6 throughput within 10% of W2"] = w6["deliveries_per_sec"] >= 0.9 * w2["deliveries_per_sec"]
        out["W6 p99 within 2x of W2"] = w6["p99_us"] <= 2 * w2["p99_us"]
    return out


def markdown(summary: dict, idle: dict, relays: list[str]) -> str:
    lines = [
        "| workload | relay | deliveries/s | ratio | p50 µs | p99 µs | p99.9 µs | max µs "
        "| p99 ratio | lost | relay CPU ns/delivery |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in summary.items():
        for kind in relays:
            s = row.get(kind)
            if not s:
                continue
            ratio = s.get("throughput_ratio_to_nats")
            p99r = s.get("p99_ratio_to_nats")
            ratio_text = f"{ratio:.2f}×" if ratio else "1"
            p99r_text = f"{p99r:.2f}" if p99r else "1"
            lines.append(
                f"| {name} | {kind} | {s['deliveries_per_sec']:,.0f} | "
                f"{ratio_text} | {s['p50_us']:,.0f} | {s['p99_us']:,.0f} | "
                f"{s['p99_9_us']:,.0f} | {s['max_us']:,.0f} | {p99r_text} | "
                f"{s['lost']} | {s['relay_cpu_ns_per_delivery']:,.0f} |"
            )
    if idle:
        lines += ["", "| idle memory per connection | " + " | ".join(str(c) for c in IDLE_COUNTS) + " |"]
        lines.append("| --- |" + " ---: |" * len(IDLE_COUNTS))
        for kind, by_count in idle.items():
            cells = [f"{by_count[str(c)] / 1024:.2f} KiB" if str(c) in by_count else "-" for c in IDLE_COUNTS]
            lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build() -> None:
    subprocess.run(
        ["cargo", "build", "--release", "--manifest-path", str(CARGO_MANIFEST),
         "-p", "summoner-relay", "-p", "relay-bench"],
        check=True,
    )  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per relay and workload (default 5)")
    parser.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS), help="comma-separated ids")
    parser.add_argument("--quick", action="store_true", help="tiny message counts (smoke test)")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle-memory measurement")
    parser.add_argument("--idle-runs", type=int, default=3, help="idle-memory runs per relay and size")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already built")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME=BINARY",
        help="another summoner-relay build to run in the same alternation",
    )
    parser.add_argument(
        "--naive", action="store_true", help="also run the naive asyncio relay (the Python relay's baseline)"
    )
    parser.add_argument("--no-python", action="store_true", help="skip the Python relay")
    parser.add_argument("--out", type=Path, help="results file (default results/<date>-relay.json)")
    return parser.parse_args()


Runs = dict[str, dict[str, list[dict]]]


def run_batch(
    bench: Path, binaries: dict[str, Path], relays: list[str], workloads: list[Workload], rounds: int
) -> Runs:
    """Every workload on every relay, `rounds` times, alternating relays."""
    started = time.monotonic()
    runs: Runs = {w.name: {k: [] for k in relays} for w in workloads}
    for round_index in range(rounds):
        # Alternate relays; rotate the starting relay each round to cancel order effects.
        shift = round_index % len(relays)
        order = relays[shift:] + relays[:shift]
        for workload in workloads:
            for kind in order:
                relay = start_relay(kind, binaries)
                try:
                    result = run_load(bench, relay, workload)
                    result["relay_warnings"] = relay.warnings()
                finally:
                    result_exit = relay.stop()
                result["relay_exit"] = result_exit
                runs[workload.name][kind].append(result)
                lat = result["latency_us"]
                print(
                    f"[{time.monotonic() - started:6.0f}s] round {round_index + 1} {workload.name:8} "
                    f"{kind:8} {result['deliveries_per_sec']:>12,.0f}/s p50 {lat['p50']:>10,.0f}µs "
                    f"p99 {lat['p99']:>10,.0f}µs lost {result['lost']} dup {result['duplicated']} "
                    f"cpu {result['relay_cpu_secs']:.2f}s",
                    flush=True,
                )
    return runs


def run_idle(bench: Path, binaries: dict[str, Path], relays: list[str], rounds: int) -> Runs:
    """Idle memory per connection at each of IDLE_COUNTS, `rounds` times per relay."""
    idle: Runs = {}
    for _ in range(rounds):
        for count in IDLE_COUNTS:
            for kind in relays:
                relay = start_relay(kind, binaries)
                try:
                    measure = measure_idle(bench, relay, count)
                finally:
                    relay.stop()
                idle.setdefault(kind, {}).setdefault(str(count), []).append(measure)
                print(f"idle {kind:8} {count:6} {measure['per_connection_bytes']:>8,} B/conn", flush=True)
    return idle


def main() -> int:
    args = parse_args()
    if shutil.which("nats-server") is None:
        print("nats-server not found: apt-get install -y nats-server", file=sys.stderr)
        return 2
    if not args.no_build:
        build()
    bench = RELEASE / "relay-bench"
    binaries = {"native": RELEASE / "summoner-relay"}
    for extra in args.extra:
        name, _, path = extra.partition("=")
        binaries[name] = Path(path)
    relays = ["nats", *binaries]
    notes = []
    if args.no_python:
        notes.append("Python relay skipped (--no-python)")
    elif python_relay_available():
        relays.append("python")
    else:
        notes.append("Python relay skipped: summoner_client.server.python_relay is not importable")
    if args.naive:
        relays.append("naive")
    table = QUICK if args.quick else WORKLOADS
    workloads = [table[name] for name in args.workloads.split(",") if name]

    started = time.monotonic()
    runs = run_batch(bench, binaries, relays, workloads, args.runs)
    idle = {} if args.no_idle else run_idle(bench, binaries, relays, args.idle_runs)
    summary = summarise(runs, relays)
    idle_summary = summarise_idle(idle)
    checks = targets(summary, idle_summary)
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_facts(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "native_config": NATIVE_CONFIG,
        "nats_config": "default (nats-server -a 127.0.0.1 -p PORT), stderr discarded",
        "workloads": {w.name: w.__dict__ for w in workloads},
        "w3_seconds": W3_SECONDS,
        "notes": notes,
        "summary": summary,
        "idle_memory_bytes_per_connection": idle_summary,
        "targets": checks,
        "runs": runs,
        "idle_runs": idle,
        "batch_secs": round(time.monotonic() - started, 1),
    }
    out = args.out or RESULTS / f"{dt.date.today().isoformat()}-relay.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print()
    print(markdown(summary, idle_summary, relays))
    print()
    for target, met in checks.items():
        print(f"{'MET   ' if met else 'MISSED'} {target}")
    for note in notes:
        print(note)
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
