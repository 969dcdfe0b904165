//! The `log` crate backend: MMEngine's `MMLogger` lines on stderr and in the run's log file.
//!
//! File lines: `2024/01/31 23:59:59 - kinema - INFO - message` (errors add
//! `file - module - line` before the message, like MMEngine). Stderr lines use MMEngine's
//! console date format `01/31 23:59:59` and colour the level when stderr is a terminal.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Local};
use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::error::{LoggingError, Result};

/// The logger name shown in every line (MMEngine shows `mmengine`).
pub const LOGGER_NAME: &str = "kinema";

/// Parses a config `log_level`: Python's names (`DEBUG`, `INFO`, `WARNING`/`WARN`, `ERROR`,
/// `CRITICAL`/`FATAL`, as errors) and Rust's (`TRACE`, `OFF`), case-insensitive.
pub fn parse_log_level(text: &str) -> Result<LevelFilter> {
    Ok(match text.trim().to_ascii_uppercase().as_str() {
        "TRACE" => LevelFilter::Trace,
        "DEBUG" => LevelFilter::Debug,
        "INFO" => LevelFilter::Info,
        "WARNING" | "WARN" => LevelFilter::Warn,
        "ERROR" | "CRITICAL" | "FATAL" => LevelFilter::Error,
        "OFF" => LevelFilter::Off,
        _ => return Err(LoggingError::InvalidLogLevel { value: text.to_string() }),
    })
}

/// Python's level names (`WARNING`, not `WARN`).
fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "ERROR",
        Level::Warn => "WARNING",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
        Level::Trace => "TRACE",
    }
}

/// Formats one record as a log-file line (no colour, no trailing newline).
pub fn format_file_line(record: &Record<'_>, time: &DateTime<Local>) -> String {
    format_line(record, &time.format("%Y/%m/%d %H:%M:%S").to_string(), level_name(record.level()))
}

fn format_console_line(record: &Record<'_>, time: &DateTime<Local>, color: bool) -> String {
    let name = level_name(record.level());
    let level = if color {
        let code = match record.level() {
            Level::Error => "31",
            Level::Warn => "33",
            Level::Info => "37",
            Level::Debug | Level::Trace => "32",
        };
        format!("\x1b[4m\x1b[{code}m{name}\x1b[0m")
    } else {
        name.to_string()
    };
    format_line(record, &time.format("%m/%d %H:%M:%S").to_string(), &level)
}

fn format_line(record: &Record<'_>, time: &str, level: &str) -> String {
    if record.level() == Level::Error {
        format!(
            "{time} - {LOGGER_NAME} - {level} - {} - {} - {} - {}",
            record.file().unwrap_or("?"),
            record.module_path().unwrap_or("?"),
            record.line().unwrap_or(0),
            record.args()
        )
    } else {
        format!("{time} - {LOGGER_NAME} - {level} - {}", record.args())
    }
}

/// A `log::Log` writing to stderr and, once [`KinemaLogger::set_log_file`] was called, to a
/// file. Each line goes to the file in one `write` call (nothing buffered, so nothing is lost
/// when the process is killed). Stderr output pauses an active [`crate::Progress`] bar.
#[derive(Debug)]
pub struct KinemaLogger {
    level: AtomicUsize,
    stderr: AtomicBool,
    color: bool,
    file: Mutex<Option<(PathBuf, File)>>,
}

impl KinemaLogger {
    /// A logger at `level`, writing to stderr (coloured when stderr is a terminal).
    pub fn new(level: LevelFilter) -> Self {
        Self {
            level: AtomicUsize::new(level as usize),
            stderr: AtomicBool::new(true),
            color: std::io::stderr().is_terminal(),
            file: Mutex::new(None),
        }
    }

    /// The current level filter.
    pub fn level(&self) -> LevelFilter {
        match self.level.load(Ordering::Relaxed) {
            0 => LevelFilter::Off,
            1 => LevelFilter::Error,
            2 => LevelFilter::Warn,
            3 => LevelFilter::Info,
            4 => LevelFilter::Debug,
            _ => LevelFilter::Trace,
        }
    }

    /// Changes the level filter (for the global logger, also `log::max_level`). MMEngine
    /// logs only errors on stderr on ranks other than 0: pass `Error` there.
    pub fn set_level(&self, level: LevelFilter) {
        self.level.store(level as usize, Ordering::Relaxed);
        if is_global(self) {
            log::set_max_level(level);
        }
    }

    /// Turns the stderr copy on or off (the file is unaffected).
    pub fn set_stderr(&self, enabled: bool) {
        self.stderr.store(enabled, Ordering::Relaxed);
    }

    /// Appends further lines to `path` (creating it and its directory), or stops writing a
    /// file with `None`.
    pub fn set_log_file(&self, path: Option<&Path>) -> Result<()> {
        let opened = match path {
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| LoggingError::io("create directory", dir, e))?;
                }
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| LoggingError::io("open log file", path, e))?;
                Some((path.to_path_buf(), file))
            }
            None => None,
        };
        *self.file.lock().unwrap_or_else(|p| p.into_inner()) = opened;
        Ok(())
    }

    /// The file being written, if any.
    pub fn log_file(&self) -> Option<PathBuf> {
        self.file.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(p, _)| p.clone())
    }
}

impl Log for KinemaLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let now = Local::now();
        if let Some((_, file)) = self.file.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            let line = format_file_line(record, &now) + "\n";
            // A failing log file must not stop training; the line still reaches stderr.
            let _ = file.write_all(line.as_bytes());
        }
        if self.stderr.load(Ordering::Relaxed) {
            let line = format_console_line(record, &now, self.color);
            crate::progress::suspend_active(|| {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            });
        }
    }

    fn flush(&self) {
        if let Some((_, file)) = self.file.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            let _ = file.flush();
        }
    }
}

static GLOBAL: OnceLock<KinemaLogger> = OnceLock::new();
static INSTALLED: Mutex<bool> = Mutex::new(false);

fn is_global(logger: &KinemaLogger) -> bool {
    GLOBAL.get().is_some_and(|g| std::ptr::eq(g, logger))
}

/// Installs Kinema's logger for the `log` crate at `level` (once per process; later calls
/// only change the level) and returns it, so the engine can then call
/// [`KinemaLogger::set_log_file`] with [`crate::RunPaths::log_file`]. Fails when another
/// logger was installed first.
pub fn init_logger(level: LevelFilter) -> Result<&'static KinemaLogger> {
    let mut installed = INSTALLED.lock().unwrap_or_else(|p| p.into_inner());
    let logger = GLOBAL.get_or_init(|| KinemaLogger::new(level));
    if !*installed {
        log::set_logger(logger).map_err(|_| LoggingError::LoggerAlreadySet)?;
        *installed = true;
    }
    logger.set_level(level);
    Ok(logger)
}

/// Console logging for the tools before a run has a work dir: [`init_logger`] at `level`.
/// `None` when another logger was installed first (then `log` output goes there).
pub fn init_console(level: LevelFilter) -> Option<&'static KinemaLogger> {
    init_logger(level).ok()
}

/// What the runner does once `work_dir/<timestamp>/` exists: installs the logger if needed,
/// sets the config's `log_level` (see [`parse_log_level`]) and appends to `path` too.
pub fn attach_log_file(path: &Path, log_level: &str) -> Result<&'static KinemaLogger> {
    let level = parse_log_level(log_level)?;
    let logger = init_logger(level)?;
    logger.set_log_file(Some(path))?;
    Ok(logger)
}

/// The installed global logger, if [`init_logger`] succeeded.
pub fn global_logger() -> Option<&'static KinemaLogger> {
    let installed = *INSTALLED.lock().unwrap_or_else(|p| p.into_inner());
    if installed {
        GLOBAL.get()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn levels_parse_like_python_names() {
        assert_eq!(parse_log_level("INFO").ok(), Some(LevelFilter::Info));
        assert_eq!(parse_log_level("warning").ok(), Some(LevelFilter::Warn));
        assert_eq!(parse_log_level("CRITICAL").ok(), Some(LevelFilter::Error));
        let err = parse_log_level("LOUD").expect_err("invalid");
        assert!(err.to_string().contains("\"LOUD\""), "{err}");
    }

    #[test]
    fn file_and_console_formats() {
        let time = Local.with_ymd_and_hms(2024, 1, 31, 23, 59, 58).single().expect("valid time");
        let args = format_args!("Epoch(train)  [1][10/20]  loss: 1.0000");
        let record = Record::builder().args(args).level(Level::Info).build();
        assert_eq!(
            format_file_line(&record, &time),
            "2024/01/31 23:59:58 - kinema - INFO - Epoch(train)  [1][10/20]  loss: 1.0000"
        );
        assert_eq!(
            format_console_line(&record, &time, false),
            "01/31 23:59:58 - kinema - INFO - Epoch(train)  [1][10/20]  loss: 1.0000"
        );
        assert_eq!(
            format_console_line(&record, &time, true),
            "01/31 23:59:58 - kinema - \x1b[4m\x1b[37mINFO\x1b[0m - Epoch(train)  [1][10/20]  loss: 1.0000"
        );
        let args = format_args!("boom");
        let record = Record::builder()
            .args(args)
            .level(Level::Error)
            .file(Some("src/x.rs"))
            .module_path(Some("k::x"))
            .line(Some(7))
            .build();
        assert_eq!(
            format_file_line(&record, &time),
            "2024/01/31 23:59:58 - kinema - ERROR - src/x.rs - k::x - 7 - boom"
        );
        let args = format_args!("careful");
        let record = Record::builder().args(args).level(Level::Warn).build();
        assert_eq!(format_file_line(&record, &time), "2024/01/31 23:59:58 - kinema - WARNING - careful");
    }
}
