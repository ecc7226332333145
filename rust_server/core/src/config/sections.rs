//! The readers of each section of the relay config: `logger`, `hyper_parameters` (with the
//! backpressure thresholds), `security` and `metrics`. The generic readers they build on, and
//! the walk that calls them, are in `checker`.

use std::time::Duration;

use serde_json::{Map, Value};

use super::checker::{
    show, Checker, Section, BACKPRESSURE_KEYS, HYPER_KEYS, INERT_KEYS, LEVELS, LOGGER_KEYS,
    METRICS_KEYS, SECURITY_KEYS,
};
use super::{
    is_valid_token, Backpressure, Limits, LoggerConfig, Metrics, RateLimitAction, Security,
    MAX_LINE_BYTES_LIMIT,
};

impl Checker {
    pub(super) fn logger(
        &mut self,
        (map, path): (Option<&Map<String, Value>>, String),
    ) -> LoggerConfig {
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

    pub(super) fn limits(&mut self, s: &Section<'_>) -> Limits {
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

    pub(super) fn backpressure(&mut self, hyper: &Section<'_>, max_queue: usize) -> Backpressure {
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

    pub(super) fn thresholds(&mut self, s: &Section<'_>, max_queue: usize) -> Backpressure {
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

    pub(super) fn security(&mut self, map: Option<&Map<String, Value>>) -> Security {
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
    pub(super) fn tokens(&mut self, s: &Section<'_>) -> Vec<String> {
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

    pub(super) fn metrics(&mut self, map: Option<&Map<String, Value>>) -> Metrics {
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
