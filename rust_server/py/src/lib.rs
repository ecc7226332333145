//! `summoner_client._relay`: the Python face of the relay core.
//!
//! Thin on purpose: it converts between Python and Rust and holds no relay logic.
//! Its user-facing documentation lives in `summoner_client/_relay.pyi`.

use pyo3::prelude::*;

/// The version of the native module, equal to the Python package's version.
#[pyfunction]
fn version() -> &'static str {
    summoner_relay_core::VERSION
}

/// Module initialiser: registers the constants and functions of `_relay.pyi`.
#[pymodule]
fn _relay(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", summoner_relay_core::VERSION)?;
    m.add("PROTOCOL_VERSION", summoner_relay_core::PROTOCOL_VERSION)?;
    m.add(
        "MAX_RELAYED_LINE_BYTES",
        summoner_relay_core::MAX_RELAYED_LINE_BYTES,
    )?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
