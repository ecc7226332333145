//! The validator behind [`parse_value`](super::parse_value): walks the JSON tree, reads
//! each key with its rule, and collects every problem with its key path. A reader returns
//! the value or, when the key is absent, null or invalid, `None` so the default applies.

use std::time::Duration;

use serde_json::{Map, Value};

use super::{Backend, Config, ConfigIssue};

pub(super) const TOP_KEYS: &[&str] = &[
    "host",
    "port",
    "version",
    "logger",
    "hyper_parameters",
    "security",
    "metrics",
];
pub(super) const LOGGER_KEYS: &[&str] = &[
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
pub(super) const BACKPRESSURE_KEYS: &[&str] = &[
    "enable_throttle",
    "throttle_threshold",
    "enable_flow_control",
    "flow_control_threshold",
    "enable_disconnect",
    "disconnect_threshold",
];
/// Keys of the original that are accepted, validated, and have no effect here.
pub(super) const INERT_KEYS: &[&str] = &[
    "command_buffer_size",
    "control_channel_capacity",
    "queue_monitor_capacity",
    "timeout_check_interval_secs",
    "throttle_delay_ms",
    "flow_control_delay_ms",
];
pub(super) const HYPER_KEYS: &[&str] = &[
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
pub(super) const SECURITY_KEYS: &[&str] = &[
    "tls_cert_file",
    "tls_key_file",
    "auth_tokens",
    "auth_token_file",
    "handshake_timeout_secs",
    "mask_remote_addr",
];
pub(super) const METRICS_KEYS: &[&str] = &["host", "port"];
pub(super) const LEVELS: &[&str] = &[
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
pub(super) struct Checker {
    pub(super) errors: Vec<ConfigIssue>,
    /// Unknown keys: warnings, or errors under `strict`.
    pub(super) unknown: Vec<ConfigIssue>,
    /// Legacy placements and other notes that never fail validation.
    pub(super) warnings: Vec<ConfigIssue>,
    pub(super) inert: Vec<String>,
}

/// A JSON object being read, with the dotted path that leads to it.
pub(super) struct Section<'a> {
    pub(super) map: &'a Map<String, Value>,
    pub(super) path: &'a str,
}

impl<'a> Section<'a> {
    pub(super) fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The value at `key`, treating `null` as absent ("use the default").
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }
}

pub(super) fn kind(value: &Value) -> &'static str {
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

pub(super) fn show(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(57) {
        Some((cut, _)) if text.len() > 60 => format!("{}...", &text[..cut]),
        _ => text,
    }
}

impl Checker {
    pub(super) fn error(&mut self, path: String, message: String) {
        self.errors.push(ConfigIssue { path, message });
    }

    pub(super) fn unknown_keys(&mut self, section: &Section<'_>, known: &[&str]) {
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

    pub(super) fn object<'a>(
        &mut self,
        parent: &Section<'a>,
        key: &str,
    ) -> Option<&'a Map<String, Value>> {
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
    pub(super) fn int(&mut self, s: &Section<'_>, key: &str, min: i64, max: i64) -> Option<i64> {
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
    pub(super) fn number(
        &mut self,
        s: &Section<'_>,
        key: &str,
        min: f64,
        inclusive: bool,
    ) -> Option<f64> {
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

    pub(super) fn flag(&mut self, s: &Section<'_>, key: &str) -> Option<bool> {
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

    pub(super) fn string(&mut self, s: &Section<'_>, key: &str) -> Option<String> {
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

    pub(super) fn choice(
        &mut self,
        s: &Section<'_>,
        key: &str,
        allowed: &[&str],
    ) -> Option<String> {
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

    pub(super) fn secs(&mut self, s: &Section<'_>, key: &str, inclusive: bool) -> Option<Duration> {
        self.number(s, key, 0.0, inclusive)
            .map(Duration::from_secs_f64)
    }

    /// A duration whose type admits null: absent means `default`, an explicit null means off.
    pub(super) fn optional_secs(
        &mut self,
        s: &Section<'_>,
        key: &str,
        default: Duration,
    ) -> Option<Duration> {
        if s.map.get(key).is_some_and(Value::is_null) {
            return None;
        }
        self.secs(s, key, false)
            .or(s.get(key).map_or(Some(default), |_| None))
    }

    pub(super) fn root(&mut self, root: &Map<String, Value>) -> Config {
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
    pub(super) fn legacy_overrides<'a>(
        &mut self,
        top: &Section<'a>,
        hyper: &Section<'a>,
    ) -> Overrides<'a> {
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

    pub(super) fn string_list(&mut self, s: &Section<'_>, key: &str) -> Option<Vec<String>> {
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
}
