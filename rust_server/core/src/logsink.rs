//! Log output as the `logger` config describes it, for the faces to install.
//!
//! The core only emits `tracing` events; the binary and the Python module call [`build`]
//! and install the result. Records look like the Python relay's: %-style formats with
//! `asctime`, `name`, `levelname` and `message`, Python level names, an optional JSON-lines
//! file, size-based rotation. Writing happens on a background thread: when the sink cannot
//! keep up, records are dropped and counted ([`dropped_records`]), never waited for
//! (spec/relay.md §3.4, §4.13).

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::config::LoggerConfig;

/// Records buffered for the writer thread before new ones are dropped.
const BUFFERED_RECORDS: usize = 16 * 1024;

/// Counters of records dropped by every sink built in this process.
static DROP_COUNTERS: Mutex<Vec<ErrorCounter>> = Mutex::new(Vec::new());

/// Log records dropped so far because a sink could not keep up.
pub fn dropped_records() -> u64 {
    DROP_COUNTERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|counter| counter.dropped_lines() as u64)
        .sum()
}

/// A subscriber ready to install, and the guards that flush its writer threads on drop.
pub struct LogSetup {
    /// Install with `tracing::subscriber::set_global_default` (or `dispatcher::set_default`).
    pub dispatch: tracing::Dispatch,
    /// Keep these alive as long as logging is wanted; dropping them flushes the sinks.
    pub guards: Vec<WorkerGuard>,
}

/// Builds the subscriber for `config`; `name` is the logger name and the file's base name.
///
/// # Errors
///
/// The log directory or file cannot be created.
pub fn build(config: &LoggerConfig, name: &str) -> io::Result<LogSetup> {
    let level = level_filter(&config.log_level);
    let mut guards = Vec::new();
    let mut layers: Vec<Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>> = Vec::new();
    if config.enable_console_log {
        let format = PyFormat::text(
            &config.console_log_format,
            config.date_format.as_deref(),
            name,
        );
        let (writer, guard) = sink(io::stderr());
        guards.push(guard);
        layers.push(
            tracing_subscriber::fmt::layer()
                .event_format(format)
                .with_writer(writer)
                .with_filter(level)
                .boxed(),
        );
    }
    if config.enable_file_log {
        let file = RotatingFile::open(
            &log_file_path(&config.log_file_path, name),
            config.max_file_size,
            config.backup_count,
        )?;
        let format = if config.enable_json_log {
            PyFormat::json(config.date_format.as_deref(), name)
        } else {
            PyFormat::text(&config.log_format, config.date_format.as_deref(), name)
        };
        let (writer, guard) = sink(file);
        guards.push(guard);
        layers.push(
            tracing_subscriber::fmt::layer()
                .event_format(format)
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(level)
                .boxed(),
        );
    }
    let subscriber = tracing_subscriber::registry().with(layers);
    Ok(LogSetup {
        dispatch: tracing::Dispatch::new(subscriber),
        guards,
    })
}

fn sink<W: Write + Send + 'static>(
    writer: W,
) -> (tracing_appender::non_blocking::NonBlocking, WorkerGuard) {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(BUFFERED_RECORDS)
        .finish(writer);
    DROP_COUNTERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(writer.error_counter());
    (writer, guard)
}

/// The level filter for a validated level name (TRACE ... CRITICAL, OFF).
pub fn level_filter(level: &str) -> LevelFilter {
    match level {
        "OFF" => LevelFilter::OFF,
        "TRACE" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARNING" | "WARN" => LevelFilter::WARN,
        _ => LevelFilter::ERROR,
    }
}

/// `<dir or .>/<safe name>.log`: dots and the characters `<>:"/\|?*` become `_`, as the
/// Python relay and client name their files, so a name never escapes the directory.
pub fn log_file_path(dir: &str, name: &str) -> PathBuf {
    let dir = if dir.is_empty() { "." } else { dir };
    let safe: String = name
        .chars()
        .map(|c| if ".<>:\"/\\|?*".contains(c) { '_' } else { c })
        .collect();
    Path::new(dir).join(format!("{safe}.log"))
}

/// Python's name for a level (`tracing` has no CRITICAL; ERROR stays ERROR).
fn python_level(level: Level) -> &'static str {
    match level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARNING",
        Level::ERROR => "ERROR",
    }
}

/// A file that rolls over at `max_bytes`, keeping `backups` old files, like Python's
/// `RotatingFileHandler` (with 0 for either, it never rolls over).
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    backups: u32,
    file: File,
    written: u64,
}

impl RotatingFile {
    /// Opens (appends to) `path`, creating its directory.
    ///
    /// # Errors
    ///
    /// The directory or file cannot be created.
    pub fn open(path: &Path, max_bytes: u64, backups: u32) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            path: path.to_owned(),
            max_bytes,
            backups,
            file,
            written,
        })
    }

    fn backup_path(&self, index: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{index}"));
        PathBuf::from(name)
    }

    fn roll_over(&mut self) -> io::Result<()> {
        for index in (1..self.backups).rev() {
            let from = self.backup_path(index);
            if from.exists() {
                std::fs::rename(&from, self.backup_path(index + 1))?;
            }
        }
        std::fs::rename(&self.path, self.backup_path(1))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let rolls = self.max_bytes > 0 && self.backups > 0;
        if rolls && self.written > 0 && self.written + buf.len() as u64 > self.max_bytes {
            self.roll_over()?;
        }
        let written = self.file.write(buf)?;
        self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// One part of a %-style format.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    /// `%(key)s` with an optional width; a negative width aligns left.
    Field {
        key: String,
        width: Option<i32>,
    },
}

/// Formats records as Python's `logging` would, in text or as JSON lines.
pub struct PyFormat {
    pieces: Vec<Piece>,
    json: bool,
    date_format: String,
    name: String,
}

impl PyFormat {
    /// A %-style text format (`%(asctime)s - %(name)s - %(levelname)s - %(message)s`).
    pub fn text(format: &str, date_format: Option<&str>, name: &str) -> Self {
        Self {
            pieces: parse_format(format),
            json: false,
            date_format: chrono_date_format(date_format),
            name: name.to_owned(),
        }
    }

    /// JSON lines: `timestamp`, `name`, `level`, `message` and the record's fields.
    pub fn json(date_format: Option<&str>, name: &str) -> Self {
        Self {
            pieces: Vec::new(),
            json: true,
            date_format: chrono_date_format(date_format),
            name: name.to_owned(),
        }
    }

    /// The keys of `format` that no record provides; they print as `-`.
    pub fn unknown_placeholders(format: &str) -> Vec<String> {
        parse_format(format)
            .into_iter()
            .filter_map(|piece| match piece {
                Piece::Field { key, .. } if !KNOWN_KEYS.contains(&key.as_str()) => Some(key),
                _ => None,
            })
            .collect()
    }
}

const KNOWN_KEYS: [&str; 4] = ["asctime", "name", "levelname", "message"];

fn parse_format(format: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = format;
    while let Some(start) = rest.find("%(") {
        let Some(close) = rest[start..].find(')') else {
            break;
        };
        let key = &rest[start + 2..start + close];
        let after = &rest[start + close + 1..];
        // `%(key)-8s`, `%(key)d`, `%(key)5.1f`: flags and width, then one conversion letter.
        let spec_len = after.find(|c: char| c.is_ascii_alphabetic()).filter(|&i| {
            after[..i]
                .trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.')
        });
        let Some(spec_len) = spec_len else {
            pieces.push(Piece::Text(rest[..start + 2].to_owned()));
            rest = &rest[start + 2..];
            continue;
        };
        if start > 0 {
            pieces.push(Piece::Text(rest[..start].to_owned()));
        }
        pieces.push(Piece::Field {
            key: key.to_owned(),
            width: after[..spec_len]
                .split('.')
                .next()
                .and_then(|w| w.parse().ok()),
        });
        rest = &after[spec_len + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    pieces
}

/// Python's date format rules in chrono's words: `%<n>f` is the first n digits of the
/// fraction, a plain `%f` gives 3, and no format means `%Y-%m-%d %H:%M:%S.mmm`.
fn chrono_date_format(date_format: Option<&str>) -> String {
    let Some(format) = date_format else {
        return "%Y-%m-%d %H:%M:%S%.3f".to_owned();
    };
    let mut out = String::with_capacity(format.len());
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => out.push_str("%3f"),
            Some(d @ '0'..='9') if chars.peek() == Some(&'f') => {
                chars.next();
                let digits = d.to_digit(10).unwrap_or(3).min(6);
                if digits == 0 {
                    continue;
                }
                let _ = write!(out, "%{digits}f");
            }
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// Collects a record's message and fields, with control characters escaped so a logged
/// value can neither forge a log line nor drive a terminal.
#[derive(Default)]
struct Collected {
    message: String,
    fields: Vec<(&'static str, String)>,
}

impl Visit for Collected {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = escape_controls(&format!("{value:?}"));
        if field.name() == "message" {
            self.message = text;
        } else {
            self.fields.push((field.name(), text));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let text = escape_controls(value);
        if field.name() == "message" {
            self.message = text;
        } else {
            self.fields.push((field.name(), text));
        }
    }
}

fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl<S, N> FormatEvent<S, N> for PyFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut collected = Collected::default();
        event.record(&mut collected);
        let level = python_level(*event.metadata().level());
        let time = chrono::Local::now().format(&self.date_format).to_string();
        if self.json {
            let mut record = serde_json::Map::new();
            record.insert("timestamp".into(), time.into());
            record.insert("name".into(), self.name.clone().into());
            record.insert("level".into(), level.into());
            record.insert("message".into(), collected.message.into());
            for (key, value) in collected.fields {
                record.insert(key.into(), value.into());
            }
            return writeln!(writer, "{}", serde_json::Value::Object(record));
        }
        let mut message = collected.message;
        for (key, value) in &collected.fields {
            let _ = write!(message, " {key}={value}");
        }
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => writer.write_str(text)?,
                Piece::Field { key, width } => {
                    let value = match key.as_str() {
                        "asctime" => time.as_str(),
                        "name" => self.name.as_str(),
                        "levelname" => level,
                        "message" => message.as_str(),
                        _ => "-",
                    };
                    match *width {
                        Some(w) if w < 0 => {
                            write!(writer, "{value:<width$}", width = w.unsigned_abs() as usize)?
                        }
                        Some(w) => write!(writer, "{value:>width$}", width = w as usize)?,
                        None => writer.write_str(value)?,
                    }
                }
            }
        }
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_percent_style_formats_with_widths() {
        assert_eq!(
            parse_format("%(asctime)s - %(levelname)-8s|%(name)5s"),
            vec![
                Piece::Field {
                    key: "asctime".into(),
                    width: None
                },
                Piece::Text(" - ".into()),
                Piece::Field {
                    key: "levelname".into(),
                    width: Some(-8)
                },
                Piece::Text("|".into()),
                Piece::Field {
                    key: "name".into(),
                    width: Some(5)
                },
            ]
        );
        assert_eq!(
            PyFormat::unknown_placeholders("%(message)s %(process)d %(thread)s"),
            vec!["process".to_owned(), "thread".to_owned()]
        );
        assert_eq!(
            log_file_path("", "a.b/c").file_name(),
            Some("a_b_c.log".as_ref())
        );
    }

    #[test]
    fn translates_python_fraction_rules() {
        assert_eq!(chrono_date_format(None), "%Y-%m-%d %H:%M:%S%.3f");
        assert_eq!(chrono_date_format(Some("%H:%M:%S.%f")), "%H:%M:%S.%3f");
        assert_eq!(chrono_date_format(Some("%S.%6f")), "%S.%6f");
        assert_eq!(chrono_date_format(Some("%S.%9f")), "%S.%6f");
    }

    #[test]
    fn escapes_control_characters() {
        assert_eq!(escape_controls("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    }

    #[test]
    fn rotates_by_size_and_keeps_the_configured_backups() {
        let dir = std::env::temp_dir().join(format!("summoner-logs-{}", std::process::id()));
        let path = log_file_path(dir.to_str().expect("utf-8 temp dir"), "relay.main");
        assert!(path.ends_with("relay_main.log"));
        let mut file = RotatingFile::open(&path, 10, 2).expect("open");
        for _ in 0..5 {
            file.write_all(b"0123456789").expect("write");
        }
        assert!(path.exists());
        assert!(file.backup_path(1).exists() && file.backup_path(2).exists());
        assert!(!file.backup_path(3).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
