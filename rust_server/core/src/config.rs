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

/// The ceiling of protocol version 1, which `max_line_bytes` may not exceed.
const MAX_LINE_BYTES_LIMIT: i64 = crate::MAX_RELAYED_LINE_BYTES as i64;

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

const TOP_KEYS: &[&str] = &[
    "host",
    "port",
    "version",
    "logger",
    "hyper_parameters",
    "security",
    "metrics",
];
const LOGGER_KEYS: &[&str] = &[
    "log_level",
    "enable_console_log",
    "console_log_format",
    "enable_file_log",
    "log_file_path",
    "enable_json_log",
    "log_format",
    "date_format",
    "max_file_size",
    "backup_count",
    "log_keys",
    "log_content",
];
const BACKPRESSURE_KEYS: &[&str] = &[
    "enable_throttle",
    "throttle_threshold",
    "enable_flow_control",
    "flow_control_threshold",
    "enable_disconnect",
    "disconnect_threshold",
];
/// Keys of the original that are accepted, validated, and have no effect here.
const INERT_KEYS: &[&str] = &[
    "command_buffer_size",
    "control_channel_capacity",
    "queue_monitor_capacity",
    "timeout_check_interval_secs",
    "throttle_delay_ms",
    "flow_control_delay_ms",
];
const HYPER_KEYS: &[&str] = &[
    "connection_buffer_size",
    "command_buffer_size",
    "control_channel_capacity",
    "queue_monitor_capacity",
    "client_timeout_secs",
    "timeout_check_interval_secs",
    "rate_limit_msgs_per_minute",
    "accept_error_backoff_ms",
    "quarantine_cooldown_secs",
    "quarantine_cleanup_interval_secs",
    "throttle_delay_ms",
    "flow_control_delay_ms",
    "worker_threads",
    "backpressure_policy",
    "max_connections",
    "max_connections_per_ip",
    "max_line_bytes",
    "line_timeout_secs",
    "invalid_utf8",
    "max_queue_messages",
    "max_queue_bytes",
    "write_timeout_secs",
    "rate_limit_burst",
    "rate_limit_action",
    "ip_rate_limit_msgs_per_minute",
    "ip_rate_limit_burst",
    "warning_interval_secs",
    "tcp_keepalive_secs",
    "shutdown_drain_secs",
];
const SECURITY_KEYS: &[&str] = &[
    "tls_cert_file",
    "tls_key_file",
    "auth_tokens",
    "auth_token_file",
    "handshake_timeout_secs",
    "mask_remote_addr",
];
const METRICS_KEYS: &[&str] = &["host", "port"];
const LEVELS: &[&str] = &[
    "TRACE", "DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL", "OFF",
];

/// `host`, `port`, and the logger section with the path it was found at.
type Overrides<'a> = (
    Option<String>,
    Option<i64>,
    (Option<&'a Map<String, Value>>, String),
);

/// Collects problems while reading values; each reader returns the value or its default.
#[derive(Default)]
struct Checker {
    errors: Vec<ConfigIssue>,
    /// Unknown keys: warnings, or errors under `strict`.
    unknown: Vec<ConfigIssue>,
    /// Legacy placements and other notes that never fail validation.
    warnings: Vec<ConfigIssue>,
    inert: Vec<String>,
}

/// A JSON object being read, with the dotted path that leads to it.
struct Section<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Section<'a> {
    fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The value at `key`, treating `null` as absent ("use the default").
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a decimal number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn show(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(57) {
        Some((cut, _)) if text.len() > 60 => format!("{}...", &text[..cut]),
        _ => text,
    }
}

impl Checker {
    fn error(&mut self, path: String, message: String) {
        self.errors.push(ConfigIssue { path, message });
    }

    fn unknown_keys(&mut self, section: &Section<'_>, known: &[&str]) {
        for key in section.map.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let closest = known
                .iter()
                .map(|k| (strsim::jaro_winkler(k, key), *k))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let message = match closest {
                Some((score, k)) if score >= 0.7 => format!("unknown key; did you mean '{k}'?"),
                _ => "unknown key".to_owned(),
            };
            self.unknown.push(ConfigIssue {
                path: section.path_of(key),
                message,
            });
        }
    }

    fn object<'a>(&mut self, parent: &Section<'a>, key: &str) -> Option<&'a Map<String, Value>> {
        let value = parent.get(key)?;
        match value.as_object() {
            Some(map) => Some(map),
            None => {
                self.error(
                    parent.path_of(key),
                    format!("must be an object, got {}", show(value)),
                );
                None
            }
        }
    }

    /// A JSON integer in `[min, max]`; floats, strings and booleans are rejected.
    fn int(&mut self, s: &Section<'_>, key: &str, min: i64, max: i64) -> Option<i64> {
        let value = s.get(key)?;
        let rule = if max == i64::MAX {
            format!("an integer >= {min}")
        } else {
            format!("an integer from {min} to {max}")
        };
        match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    s.path_of(key),
                    format!("must be {rule}, got {}", show(value)),
                );
                None
            }
        }
    }

    /// A JSON number (integer or decimal) above `min` (or at it, when `inclusive`).
    fn number(&mut self, s: &Section<'_>, key: &str, min: f64, inclusive: bool) -> Option<f64> {
        let value = s.get(key)?;
        let ok = |n: f64| n.is_finite() && if inclusive { n >= min } else { n > min };
        match value.as_f64() {
            Some(n) if ok(n) => Some(n),
            _ => {
                let op = if inclusive { ">=" } else { ">" };
                self.error(
                    s.path_of(key),
                    format!("must be a number {op} {min}, got {}", show(value)),
                );
                None
            }
        }
    }

    fn flag(&mut self, s: &Section<'_>, key: &str) -> Option<bool> {
        let value = s.get(key)?;
        if let Some(b) = value.as_bool() {
            return Some(b);
        }
        self.error(
            s.path_of(key),
            format!("must be true or false, got {}", show(value)),
        );
        None
    }

    fn string(&mut self, s: &Section<'_>, key: &str) -> Option<String> {
        let value = s.get(key)?;
        if let Some(text) = value.as_str() {
            return Some(text.to_owned());
        }
        self.error(
            s.path_of(key),
            format!("must be a string, got {}", show(value)),
        );
        None
    }

    fn choice(&mut self, s: &Section<'_>, key: &str, allowed: &[&str]) -> Option<String> {
        let text = self.string(s, key)?;
        if allowed.contains(&text.as_str()) {
            return Some(text);
        }
        self.error(
            s.path_of(key),
            format!("must be one of {allowed:?}, got {text:?}"),
        );
        None
    }

    fn secs(&mut self, s: &Section<'_>, key: &str, inclusive: bool) -> Option<Duration> {
        self.number(s, key, 0.0, inclusive)
            .map(Duration::from_secs_f64)
    }

    /// A duration whose type admits null: absent means `default`, an explicit null means off.
    fn optional_secs(&mut self, s: &Section<'_>, key: &str, default: Duration) -> Option<Duration> {
        if s.map.get(key).is_some_and(Value::is_null) {
            return None;
        }
        self.secs(s, key, false)
            .or(s.get(key).map_or(Some(default), |_| None))
    }

    fn root(&mut self, root: &Map<String, Value>) -> Config {
        let top = Section {
            map: root,
            path: "",
        };
        self.unknown_keys(&top, TOP_KEYS);
        let hyper = self.object(&top, "hyper_parameters");
        let empty = Map::new();
        let hyper_section = Section {
            map: hyper.unwrap_or(&empty),
            path: "hyper_parameters",
        };
        let (host, port, logger_map) = self.legacy_overrides(&top, &hyper_section);
        let version = self.choice(
            &top,
            "version",
            &["rust", "rust_v1.0.0", "rust_v1.1.0", "python"],
        );
        let logger = self.logger(logger_map);
        let limits = self.limits(&hyper_section);
        let security_map = self.object(&top, "security");
        let security = self.security(security_map);
        let metrics_map = self.object(&top, "metrics");
        let metrics = self.metrics(metrics_map);
        Config {
            host: host.unwrap_or_else(|| "127.0.0.1".to_owned()),
            port: port.map_or(8888, |p| p as u16),
            backend: match version.as_deref() {
                Some("python") => Backend::Python,
                _ => Backend::Native,
            },
            logger,
            limits,
            security,
            metrics,
        }
    }

    /// `host`, `port` and `logger` may sit inside `hyper_parameters` in the original's files.
    fn legacy_overrides<'a>(&mut self, top: &Section<'a>, hyper: &Section<'a>) -> Overrides<'a> {
        for key in ["host", "port", "logger"] {
            match (top.get(key).is_some(), hyper.get(key).is_some()) {
                (true, true) => self.error(
                    hyper.path_of(key),
                    format!("is also set at the top level; keep only top-level '{key}'"),
                ),
                (false, true) => self.warnings.push(ConfigIssue {
                    path: hyper.path_of(key),
                    message: format!("legacy placement; move '{key}' to the top level"),
                }),
                _ => {}
            }
        }
        let pick = |key: &str| {
            if top.get(key).is_some() || hyper.get(key).is_none() {
                top
            } else {
                hyper
            }
        };
        let host_section = pick("host");
        let port_section = pick("port");
        let logger_section = pick("logger");
        let host = self.string(host_section, "host");
        let port = self.int(port_section, "port", 0, 65_535);
        let logger = self.object(logger_section, "logger");
        (host, port, (logger, logger_section.path_of("logger")))
    }

    fn logger(&mut self, (map, path): (Option<&Map<String, Value>>, String)) -> LoggerConfig {
        let empty = Map::new();
        let s = Section {
            map: map.unwrap_or(&empty),
            path: &path,
        };
        self.unknown_keys(&s, LOGGER_KEYS);
        let default_format = "%(asctime)s - %(name)s - %(levelname)s - %(message)s";
        let level = self.string(&s, "log_level").and_then(|level| {
            let upper = level.to_ascii_uppercase();
            if LEVELS.contains(&upper.as_str()) {
                Some(upper)
            } else {
                self.error(
                    s.path_of("log_level"),
                    format!("must be one of {LEVELS:?} (any case), got {level:?}"),
                );
                None
            }
        });
        let log_keys = self.string_list(&s, "log_keys");
        LoggerConfig {
            log_level: level.unwrap_or_else(|| "INFO".to_owned()),
            enable_console_log: self.flag(&s, "enable_console_log").unwrap_or(true),
            console_log_format: self
                .string(&s, "console_log_format")
                .unwrap_or_else(|| default_format.to_owned()),
            enable_file_log: self.flag(&s, "enable_file_log").unwrap_or(false),
            log_file_path: self.string(&s, "log_file_path").unwrap_or_default(),
            enable_json_log: self.flag(&s, "enable_json_log").unwrap_or(false),
            log_format: self
                .string(&s, "log_format")
                .unwrap_or_else(|| default_format.to_owned()),
            date_format: self.string(&s, "date_format"),
            max_file_size: self
                .int(&s, "max_file_size", 1, i64::MAX)
                .map_or(1_000_000, |n| n as u64),
            backup_count: self
                .int(&s, "backup_count", 0, i64::from(u32::MAX))
                .map_or(3, |n| n as u32),
            log_keys,
            log_content: self.flag(&s, "log_content").unwrap_or(false),
        }
    }

    fn limits(&mut self, s: &Section<'_>) -> Limits {
        let mut known: Vec<&str> = HYPER_KEYS.to_vec();
        known.extend(["host", "port", "logger"]);
        if s.get("backpressure_policy").is_none() {
            known.extend(BACKPRESSURE_KEYS);
        }
        self.unknown_keys(s, &known);
        for key in INERT_KEYS {
            if s.get(key).is_some() {
                self.inert.push(s.path_of(key));
            }
        }
        self.int(s, "command_buffer_size", 1, i64::MAX);
        self.int(s, "control_channel_capacity", 1, i64::MAX);
        self.int(s, "queue_monitor_capacity", 1, i64::MAX);
        self.number(s, "timeout_check_interval_secs", 0.0, false);
        self.int(s, "throttle_delay_ms", 0, i64::MAX);
        self.int(s, "flow_control_delay_ms", 0, i64::MAX);

        let count = |c: Option<i64>| c.map(|n| n as usize);
        let rate = |c: Option<i64>| c.map(|n| n as u32);
        let max_queue_messages = count(self.int(s, "max_queue_messages", 1, i64::MAX));
        let backpressure = self.backpressure(s, max_queue_messages.unwrap_or(8_192));
        let utf8 = self.choice(s, "invalid_utf8", &["reject", "replace"]);
        let action = self.choice(s, "rate_limit_action", &["drop", "pause"]);
        Limits {
            connection_buffer_size: self
                .int(s, "connection_buffer_size", 1, i64::from(u32::MAX))
                .map_or(1024, |n| n as u32),
            client_timeout: self.secs(s, "client_timeout_secs", false),
            rate_limit_msgs_per_minute: rate(self.int(
                s,
                "rate_limit_msgs_per_minute",
                1,
                i64::from(u32::MAX),
            )),
            rate_limit_burst: rate(self.int(s, "rate_limit_burst", 1, i64::from(u32::MAX))),
            rate_limit_action: match action.as_deref() {
                Some("pause") => RateLimitAction::Pause,
                _ => RateLimitAction::Drop,
            },
            ip_rate_limit_msgs_per_minute: rate(self.int(
                s,
                "ip_rate_limit_msgs_per_minute",
                1,
                i64::from(u32::MAX),
            )),
            ip_rate_limit_burst: rate(self.int(s, "ip_rate_limit_burst", 1, i64::from(u32::MAX))),
            accept_error_backoff: Duration::from_millis(
                self.int(s, "accept_error_backoff_ms", 1, i64::MAX)
                    .map_or(100, |n| n as u64),
            ),
            quarantine_cooldown: Duration::from_secs_f64(
                self.number(s, "quarantine_cooldown_secs", 1.0, true)
                    .unwrap_or(300.0),
            ),
            quarantine_cleanup_interval: self
                .secs(s, "quarantine_cleanup_interval_secs", false)
                .unwrap_or(Duration::from_secs(60)),
            worker_threads: count(self.int(s, "worker_threads", 1, 4096)),
            max_connections: count(self.int(s, "max_connections", 1, i64::MAX)).unwrap_or(10_000),
            max_connections_per_ip: count(self.int(s, "max_connections_per_ip", 1, i64::MAX)),
            max_line_bytes: count(self.int(s, "max_line_bytes", 1, MAX_LINE_BYTES_LIMIT))
                .unwrap_or(crate::MAX_RELAYED_LINE_BYTES),
            line_timeout: self.optional_secs(s, "line_timeout_secs", Duration::from_secs(30)),
            replace_invalid_utf8: utf8.as_deref() == Some("replace"),
            max_queue_messages: max_queue_messages.unwrap_or(8_192),
            max_queue_bytes: count(self.int(s, "max_queue_bytes", 65_537, i64::MAX))
                .unwrap_or(16 * 1024 * 1024),
            write_timeout: self
                .secs(s, "write_timeout_secs", false)
                .unwrap_or(Duration::from_secs(10)),
            warning_interval: self
                .secs(s, "warning_interval_secs", false)
                .unwrap_or(Duration::from_secs(1)),
            tcp_keepalive: self.optional_secs(s, "tcp_keepalive_secs", Duration::from_secs(30)),
            shutdown_drain: self
                .secs(s, "shutdown_drain_secs", true)
                .unwrap_or(Duration::from_secs(5)),
            backpressure,
        }
    }

    fn backpressure(&mut self, hyper: &Section<'_>, max_queue: usize) -> Backpressure {
        let nested = self.object(hyper, "backpressure_policy");
        let flattened: Vec<&str> = BACKPRESSURE_KEYS
            .iter()
            .copied()
            .filter(|key| hyper.get(key).is_some())
            .collect();
        let nested_path = hyper.path_of("backpressure_policy");
        let section = match nested {
            Some(map) => {
                for key in &flattened {
                    self.error(
                        hyper.path_of(key),
                        "must not be set here when backpressure_policy is present".to_owned(),
                    );
                }
                let s = Section {
                    map,
                    path: &nested_path,
                };
                self.unknown_keys(&s, BACKPRESSURE_KEYS);
                s
            }
            None => Section {
                map: hyper.map,
                path: hyper.path,
            },
        };
        self.thresholds(&section, max_queue)
    }

    fn thresholds(&mut self, s: &Section<'_>, max_queue: usize) -> Backpressure {
        let levels = [
            ("throttle", true, max_queue / 8),
            ("flow_control", false, max_queue / 2),
            ("disconnect", true, max_queue),
        ];
        let mut result = [None; 3];
        let mut previous: Option<(&str, usize)> = None;
        for (index, (name, enabled_by_default, derived)) in levels.into_iter().enumerate() {
            let enabled = self
                .flag(s, &format!("enable_{name}"))
                .unwrap_or(enabled_by_default);
            let key = format!("{name}_threshold");
            let given = self.int(s, &key, 1, i64::MAX).map(|n| n as usize);
            if !enabled {
                continue;
            }
            let threshold = given.unwrap_or(derived.max(1));
            if threshold > max_queue {
                self.error(
                    s.path_of(&key),
                    format!("must not exceed max_queue_messages ({max_queue}); got {threshold}"),
                );
            } else if let Some((prev_name, prev)) = previous.filter(|(_, p)| threshold <= *p) {
                self.error(
                    s.path_of(&key),
                    format!("must be greater than {prev_name}_threshold ({prev}); got {threshold}"),
                );
            }
            previous = Some((name, threshold));
            result[index] = Some(threshold);
        }
        Backpressure {
            throttle_threshold: result[0],
            flow_control_threshold: result[1],
            disconnect_threshold: result[2],
        }
    }

    fn security(&mut self, map: Option<&Map<String, Value>>) -> Security {
        let empty = Map::new();
        let s = Section {
            map: map.unwrap_or(&empty),
            path: "security",
        };
        self.unknown_keys(&s, SECURITY_KEYS);
        let cert = self.string(&s, "tls_cert_file");
        let key = self.string(&s, "tls_key_file");
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => {
                self.error(
                    s.path_of("tls_key_file"),
                    "must be set together with tls_cert_file".to_owned(),
                );
                None
            }
            (None, Some(_)) => {
                self.error(
                    s.path_of("tls_cert_file"),
                    "must be set together with tls_key_file".to_owned(),
                );
                None
            }
        };
        Security {
            tls,
            auth_tokens: self.tokens(&s),
            auth_token_file: self.string(&s, "auth_token_file"),
            handshake_timeout: self
                .secs(&s, "handshake_timeout_secs", false)
                .unwrap_or(Duration::from_secs(5)),
            mask_remote_addr: self.flag(&s, "mask_remote_addr").unwrap_or(false),
        }
    }

    /// A list of strings; each bad element is reported with its index.
    fn string_list(&mut self, s: &Section<'_>, key: &str) -> Option<Vec<String>> {
        let value = s.get(key)?;
        let Some(items) = value.as_array() else {
            self.error(
                s.path_of(key),
                format!("must be a list of strings, got {}", show(value)),
            );
            return None;
        };
        let mut strings = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(text) => strings.push(text.to_owned()),
                None => self.error(
                    format!("{}[{index}]", s.path_of(key)),
                    format!("must be a string, got {}", show(item)),
                ),
            }
        }
        Some(strings)
    }

    fn tokens(&mut self, s: &Section<'_>) -> Vec<String> {
        let Some(value) = s.get("auth_tokens") else {
            return Vec::new();
        };
        let Some(items) = value.as_array() else {
            self.error(
                s.path_of("auth_tokens"),
                format!("must be a list of strings, got {}", show(value)),
            );
            return Vec::new();
        };
        let mut tokens = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(token) if is_valid_token(token) => tokens.push(token.to_owned()),
                _ => self.error(
                    format!("{}[{index}]", s.path_of("auth_tokens")),
                    "must be 16 to 512 printable ASCII characters (0x21-0x7E)".to_owned(),
                ),
            }
        }
        tokens
    }

    fn metrics(&mut self, map: Option<&Map<String, Value>>) -> Metrics {
        let empty = Map::new();
        let s = Section {
            map: map.unwrap_or(&empty),
            path: "metrics",
        };
        self.unknown_keys(&s, METRICS_KEYS);
        Metrics {
            host: self
                .string(&s, "host")
                .unwrap_or_else(|| "127.0.0.1".to_owned()),
            port: self.int(&s, "port", 0, 65_535).map(|p| p as u16),
        }
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
