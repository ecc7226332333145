//! `summoner_client._relay`: the Python face of the relay core.
//!
//! Thin on purpose: it converts between Python and Rust and holds no relay logic.
//! Its user-facing documentation lives in `summoner_client/_relay.pyi`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use summoner_relay_core::config::{self, ConfigErrors, LoggerConfig};
use summoner_relay_core::logsink;
use summoner_relay_core::{Relay, RelayError};
use tracing_appender::non_blocking::WorkerGuard;

/// How often `serve()` takes the GIL back to run Python's signal handlers.
const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// The version of the native module, equal to the Python package's version.
#[pyfunction]
fn version() -> &'static str {
    summoner_relay_core::VERSION
}

fn issue_pairs(errors: ConfigErrors) -> Vec<(String, String)> {
    errors
        .0
        .into_iter()
        .map(|issue| (issue.path, issue.message))
        .collect()
}

/// Every problem of a configuration as `(key path, message)`; empty when it is valid.
#[pyfunction]
#[pyo3(signature = (config_json, strict = false))]
fn check_config(config_json: &str, strict: bool) -> Vec<(String, String)> {
    match config::parse(config_json, strict) {
        Ok(_) => Vec::new(),
        Err(errors) => issue_pairs(errors),
    }
}

/// Flush guards of the process-wide log sinks: kept for the life of the process.
static LOG_GUARDS: Mutex<Vec<WorkerGuard>> = Mutex::new(Vec::new());

/// Installs the process-wide log output the first relay's `logger` config asks for.
///
/// Only the faces install a subscriber; the core only emits events. A second relay in the
/// same process keeps the first one's output (Python's logging is process-wide too).
fn install_logging(logger: &LoggerConfig, name: &str) {
    let mut guards = LOG_GUARDS.lock().unwrap_or_else(PoisonError::into_inner);
    if !guards.is_empty() {
        return;
    }
    if let Ok(setup) = logsink::build(logger, name) {
        if tracing::dispatcher::set_global_default(setup.dispatch).is_ok() {
            guards.extend(setup.guards);
        }
    }
}

fn to_py_error(error: RelayError) -> PyErr {
    match error {
        RelayError::Config(errors) => {
            let issues = issue_pairs(errors);
            PyValueError::new_err(("invalid relay configuration", issues))
        }
        RelayError::Bind { addr, source } => PyOSError::new_err((
            source.raw_os_error().unwrap_or(0),
            format!("cannot listen on {addr}: {source}"),
        )),
        other => PyRuntimeError::new_err(other.to_string()),
    }
}

/// A native relay: construct, `bind()`, then `serve()` (blocking) until `stop()`.
#[pyclass(frozen, name = "Relay", module = "summoner_client._relay")]
struct PyRelay {
    relay: Arc<Relay>,
    runtime: tokio::runtime::Runtime,
    name: String,
}

#[pymethods]
impl PyRelay {
    #[new]
    fn new(name: String, config_json: &str) -> PyResult<Self> {
        let validated = config::parse(config_json, false)
            .map_err(|errors| to_py_error(RelayError::Config(errors)))?;
        install_logging(&validated.config.logger, &name);
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(threads) = validated.config.limits.worker_threads {
            builder.worker_threads(threads);
        }
        let runtime = builder
            .enable_all()
            .thread_name("summoner-relay")
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the runtime: {e}")))?;
        let relay = Relay::new(validated.config).map_err(to_py_error)?;
        Ok(Self {
            relay: Arc::new(relay),
            runtime,
            name,
        })
    }

    /// Binds the listener; returns the real `(host, port)`.
    fn bind(&self) -> PyResult<(String, u16)> {
        let _entered = self.runtime.enter();
        let addr = self.relay.bind().map_err(to_py_error)?;
        Ok((addr.ip().to_string(), addr.port()))
    }

    /// Where the metrics endpoint listens, once bound: `(host, port)`, or `None` when it is off.
    fn metrics_address(&self) -> Option<(String, u16)> {
        self.relay
            .metrics_addr()
            .map(|addr| (addr.ip().to_string(), addr.port()))
    }

    /// Serves until `stop()`; the GIL is released throughout.
    fn serve(&self, py: Python<'_>) -> PyResult<()> {
        let relay = Arc::clone(&self.relay);
        let mut serving = self
            .runtime
            .spawn(async move { relay.serve(std::future::pending()).await });
        let mut interrupted: Option<PyErr> = None;
        loop {
            let finished = py.detach(|| {
                self.runtime.block_on(async {
                    tokio::time::timeout(SIGNAL_CHECK_INTERVAL, &mut serving).await
                })
            });
            match finished {
                Ok(joined) => {
                    let served = joined
                        .map_err(|e| PyRuntimeError::new_err(format!("relay task failed: {e}")))?;
                    served.map_err(to_py_error)?;
                    return interrupted.map_or(Ok(()), Err);
                }
                Err(_) if interrupted.is_none() => {
                    // Python's handlers run here; one that raises (KeyboardInterrupt with no
                    // handler installed) starts a graceful stop, and the error is re-raised after it.
                    if let Err(error) = py.check_signals() {
                        self.relay.stop();
                        interrupted = Some(error);
                    }
                }
                Err(_) => {}
            }
        }
    }

    /// Starts a graceful shutdown; thread-safe, idempotent, callable before or during `serve()`.
    fn stop(&self) {
        self.relay.stop();
    }

    /// A snapshot of the relay's counters.
    fn stats(&self) -> HashMap<String, u64> {
        self.relay.stats().into_iter().collect()
    }

    /// The name given at construction (the logger and log file name).
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }
}

/// Module initialiser: registers the constants, functions and classes of `_relay.pyi`.
#[pymodule]
fn _relay(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", summoner_relay_core::VERSION)?;
    m.add("PROTOCOL_VERSION", summoner_relay_core::PROTOCOL_VERSION)?;
    m.add(
        "MAX_RELAYED_LINE_BYTES",
        summoner_relay_core::MAX_RELAYED_LINE_BYTES,
    )?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(check_config, m)?)?;
    m.add_class::<PyRelay>()?;
    Ok(())
}
