//! Relay configuration: one JSON object in, a validated [`Config`] or every problem out.
//!
//! The original's files load unchanged (spec/relay.md §3). Validation walks the JSON tree
//! itself rather than deserialising straight into structs, because every problem must be
//! reported together with its key path, types are strict (a count is a JSON integer, never
//! a float, string or boolean), and unknown keys are warnings with a suggestion. The
//! Python validator (pydantic) agrees with this one on the shared fixture files.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

mod checker;
mod sections;

use checker::{kind, Checker};

/// The ceiling of protocol version 1, which `max_line_bytes` may not exceed.
pub(crate) const MAX_LINE_BYTES_LIMIT: i64 = crate::MAX_RELAYED_LINE_BYTES as i64;

/// One problem (or warning) in a configuration: where it is and which rule failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted key path, e.g. `hyper_parameters.max_connections`.
    pub path: String,
    /// The rule that failed and the value found.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigIssue>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for issue in &self.0 {
            writeln!(f, "  - {issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Which relay implementation the config asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The native relay (`"rust"`, `"rust_v1.0.0"`, `"rust_v1.1.0"`, or absent).
    Native,
    /// The pure-Python relay (`"python"`).
    Python,
}

/// What happens to a line that finds the rate-limit bucket empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitAction {
    /// Discard it and send N1 (rate-limited).
    Drop,
    /// Stop reading until a token is available; TCP pushes back on the sender.
    Pause,
}

/// Logger settings; honoured by the faces (`bin`, `py`), which install the subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggerConfig {
    /// Level name, upper-cased: TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL or OFF.
    pub log_level: String,
    /// Log to stderr.
    pub enable_console_log: bool,
    /// %-style console format.
    pub console_log_format: String,
    /// Log to a rotating file.
    pub enable_file_log: bool,
    /// Directory of the log file.
    pub log_file_path: String,
    /// Write the file as JSON lines.
    pub enable_json_log: bool,
    /// %-style file format.
    pub log_format: String,
    /// strftime format with the `%<n>f` extension, or `None` for the default.
    pub date_format: Option<String>,
    /// Bytes before rotation.
    pub max_file_size: u64,
    /// Rotated files kept.
    pub backup_count: u32,
    /// Payload keys kept when content is logged.
    pub log_keys: Option<Vec<String>>,
    /// Include escaped content in DEBUG records.
    pub log_content: bool,
}

/// Per-recipient queue depths at which the slow-consumer policy acts (spec/relay.md §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backpressure {
    /// Depth that marks the recipient lagging, when enabled.
    pub throttle_threshold: Option<usize>,
    /// Depth at which the recipient starts shedding, when enabled.
    pub flow_control_threshold: Option<usize>,
    /// Depth at which the recipient is disconnected, when enabled.
    pub disconnect_threshold: Option<usize>,
}

/// Limits and timings: the `hyper_parameters` section, legacy keys resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Listen backlog.
    pub connection_buffer_size: u32,
    /// Idle limit counting both directions; `None` is off.
    pub client_timeout: Option<Duration>,
    /// Per-connection bucket refill, messages per minute; `None` is off.
    pub rate_limit_msgs_per_minute: Option<u32>,
    /// Per-connection bucket capacity.
    pub rate_limit_burst: Option<u32>,
    /// What an empty bucket does to a line.
    pub rate_limit_action: RateLimitAction,
    /// Per-IP bucket refill; `None` is off.
    pub ip_rate_limit_msgs_per_minute: Option<u32>,
    /// Per-IP bucket capacity.
    pub ip_rate_limit_burst: Option<u32>,
    /// First pause after an accept error; doubles up to 2 s.
    pub accept_error_backoff: Duration,
    /// How long an IP stays blocked after repeated auth failures.
    pub quarantine_cooldown: Duration,
    /// Period of the sweep that forgets expired bans and idle per-IP state.
    pub quarantine_cleanup_interval: Duration,
    /// Native runtime worker threads; `None` means one per available CPU.
    pub worker_threads: Option<usize>,
    /// Total connections, handshakes included.
    pub max_connections: usize,
    /// Connections from one IP; `None` is unlimited.
    pub max_connections_per_ip: Option<usize>,
    /// Hard cap on a line body.
    pub max_line_bytes: usize,
    /// A started line must end within this; `None` is off.
    pub line_timeout: Option<Duration>,
    /// Replace invalid UTF-8 instead of rejecting the line.
    pub replace_invalid_utf8: bool,
    /// Hard bound on one client's queue, in lines.
    pub max_queue_messages: usize,
    /// Hard bound on one client's queue, in bytes including LFs.
    pub max_queue_bytes: usize,
    /// A writer with pending data and no progress for this long is a slow consumer.
    pub write_timeout: Duration,
    /// Minimum gap between two rate-limited notices of one kind to one connection.
    pub warning_interval: Duration,
    /// TCP keepalive idle time; `None` is off.
    pub tcp_keepalive: Option<Duration>,
    /// Drain deadline at shutdown.
    pub shutdown_drain: Duration,
    /// Slow-consumer thresholds.
    pub backpressure: Backpressure,
}

/// Security options, all off by default.
#[derive(Debug, Clone, PartialEq)]
pub struct Security {
    /// PEM certificate chain and private key; TLS-only listener when set.
    pub tls: Option<(String, String)>,
    /// Accepted tokens (from the config and the token file).
    pub auth_tokens: Vec<String>,
    /// File with one token per line, read at startup.
    pub auth_token_file: Option<String>,
    /// Time allowed for the TLS handshake and the AUTH line together.
    pub handshake_timeout: Duration,
    /// Write an opaque `peer-<hex>` instead of the address.
    pub mask_remote_addr: bool,
}

/// Where the metrics endpoint listens, if at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    /// Listen address; loopback by default.
    pub host: String,
    /// Port; `None` turns the endpoint off, `0` picks one.
    pub port: Option<u16>,
}

/// A validated relay configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Backend asked for.
    pub backend: Backend,
    /// Logging.
    pub logger: LoggerConfig,
    /// Limits and timings.
    pub limits: Limits,
    /// TLS, auth, masking.
    pub security: Security,
    /// Metrics endpoint.
    pub metrics: Metrics,
}

/// A configuration that validated, with what was worth saying about it.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The configuration.
    pub config: Config,
    /// Unknown keys (with the closest known key) and legacy forms; errors under `strict`.
    pub warnings: Vec<ConfigIssue>,
    /// Legacy keys that were accepted but have no effect.
    pub inert_keys: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        parse_value(&Value::Object(Map::new()), false)
            .expect("the empty configuration is valid")
            .config
    }
}

/// Parses and validates a configuration given as JSON text.
///
/// # Errors
///
/// Every problem found, each with its key path; with `strict`, unknown keys too.
pub fn parse(json: &str, strict: bool) -> Result<Validated, ConfigErrors> {
    let value: Value = serde_json::from_str(json).map_err(|e| {
        ConfigErrors(vec![ConfigIssue {
            path: String::new(),
            message: format!("invalid JSON: {e}"),
        }])
    })?;
    parse_value(&value, strict)
}

/// Validates a configuration already parsed into a JSON value.
///
/// # Errors
///
/// Every problem found, each with its key path; with `strict`, unknown keys too.
pub fn parse_value(value: &Value, strict: bool) -> Result<Validated, ConfigErrors> {
    let Some(root) = value.as_object() else {
        return Err(ConfigErrors(vec![ConfigIssue {
            path: String::new(),
            message: format!(
                "the configuration must be a JSON object, got {}",
                kind(value)
            ),
        }]));
    };
    let mut checker = Checker::default();
    let config = checker.root(root);
    if strict {
        checker.errors.append(&mut checker.unknown);
    }
    checker.warnings.append(&mut checker.unknown);
    checker.errors.sort_by(|a, b| a.path.cmp(&b.path));
    if checker.errors.is_empty() {
        Ok(Validated {
            config,
            warnings: checker.warnings,
            inert_keys: checker.inert,
        })
    } else {
        Err(ConfigErrors(checker.errors))
    }
}

/// An auth token: 16 to 512 printable ASCII characters, no spaces (spec/relay.md §3.8).
pub fn is_valid_token(token: &str) -> bool {
    (16..=512).contains(&token.len()) && token.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(value: Value) -> Vec<String> {
        match parse_value(&value, false) {
            Ok(_) => Vec::new(),
            Err(ConfigErrors(issues)) => issues.into_iter().map(|i| i.path).collect(),
        }
    }

    #[test]
    fn empty_config_gives_the_documented_defaults() {
        let config = Config::default();
        assert_eq!((config.host.as_str(), config.port), ("127.0.0.1", 8888));
        assert_eq!(config.backend, Backend::Native);
        let bp = config.limits.backpressure;
        assert_eq!(bp.throttle_threshold, Some(1024));
        assert_eq!(bp.flow_control_threshold, None);
        assert_eq!(bp.disconnect_threshold, Some(8192));
        assert_eq!(config.limits.line_timeout, Some(Duration::from_secs(30)));
        assert_eq!(config.limits.tcp_keepalive, Some(Duration::from_secs(30)));
        assert_eq!(config.logger.log_level, "INFO");
    }

    #[test]
    fn reports_every_problem_with_its_key_path() {
        let found = paths(json!({
            "port": 70000,
            "version": "java",
            "hyper_parameters": {"max_connections": 0, "client_timeout_secs": 0, "max_line_bytes": 1.5}
        }));
        assert_eq!(
            found,
            vec![
                "hyper_parameters.client_timeout_secs",
                "hyper_parameters.max_connections",
                "hyper_parameters.max_line_bytes",
                "port",
                "version",
            ]
        );
    }

    #[test]
    fn rejects_booleans_and_strings_where_counts_are_expected() {
        assert_eq!(
            paths(
                json!({"hyper_parameters": {"max_connections": true, "max_queue_messages": "8"}})
            ),
            vec![
                "hyper_parameters.max_connections",
                "hyper_parameters.max_queue_messages"
            ]
        );
    }

    #[test]
    fn rejects_unordered_thresholds_naming_the_later_one() {
        let found = paths(json!({"hyper_parameters": {"backpressure_policy": {
            "enable_flow_control": true, "throttle_threshold": 100, "flow_control_threshold": 50
        }}}));
        assert_eq!(
            found,
            vec!["hyper_parameters.backpressure_policy.flow_control_threshold"]
        );
    }

    #[test]
    fn reads_flattened_backpressure_keys_and_refuses_both_forms() {
        let validated = parse_value(
            &json!({"hyper_parameters": {
                "throttle_threshold": 50, "enable_flow_control": true, "flow_control_threshold": 150
            }}),
            false,
        )
        .expect("flattened keys are a legacy form");
        assert_eq!(
            validated.config.limits.backpressure.flow_control_threshold,
            Some(150)
        );
        assert_eq!(
            paths(
                json!({"hyper_parameters": {"throttle_threshold": 10, "backpressure_policy": {}}})
            ),
            vec!["hyper_parameters.throttle_threshold"]
        );
    }

    #[test]
    fn warns_on_unknown_keys_with_a_suggestion_and_strict_refuses_them() {
        let config = json!({"hyper_parameters": {"max_conections": 5}});
        let validated = parse_value(&config, false).expect("unknown keys only warn");
        assert_eq!(validated.warnings.len(), 1);
        assert_eq!(
            validated.warnings[0].path,
            "hyper_parameters.max_conections"
        );
        assert!(validated.warnings[0].message.contains("max_connections"));
        assert!(parse_value(&config, true).is_err());
    }

    #[test]
    fn accepts_the_originals_legacy_keys_and_lists_them() {
        let validated = parse_value(
            &json!({"version": "rust_v1.1.0", "hyper_parameters": {
                "command_buffer_size": 100, "throttle_delay_ms": 0, "host": "0.0.0.0"
            }}),
            false,
        )
        .expect("legacy keys load");
        assert_eq!(validated.config.host, "0.0.0.0");
        assert_eq!(
            validated.inert_keys,
            vec![
                "hyper_parameters.command_buffer_size",
                "hyper_parameters.throttle_delay_ms"
            ]
        );
    }

    #[test]
    fn null_means_the_default() {
        let validated = parse_value(
            &json!({"host": null, "port": null, "hyper_parameters": {"max_connections": null}}),
            false,
        )
        .expect("null is the default");
        assert_eq!(validated.config.port, 8888);
        assert_eq!(validated.config.limits.max_connections, 10_000);
    }
}
