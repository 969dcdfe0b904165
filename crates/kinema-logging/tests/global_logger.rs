//! The process-wide logger (its own test binary: `log` accepts one logger per process).
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use kinema_logging::{attach_log_file, global_logger, init_console, init_logger};
use log::LevelFilter;

#[test]
fn init_installs_once_and_writes_log_macros_to_the_file() {
    assert!(global_logger().is_none());
    let console = init_console(LevelFilter::Warn).expect("install");
    console.set_stderr(false);
    log::info!("before the file, filtered out");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("20240131_235959/20240131_235959.log");
    let logger = attach_log_file(&file, "INFO").expect("attach");
    assert!(std::ptr::eq(logger, console));
    assert_eq!(log::max_level(), LevelFilter::Info);
    log::info!("hello {}", 42);
    log::debug!("hidden");
    let again = init_logger(LevelFilter::Debug).expect("again");
    assert!(std::ptr::eq(logger, again));
    assert_eq!(log::max_level(), LevelFilter::Debug);
    log::debug!("now shown");
    let text = std::fs::read_to_string(&file).expect("read");
    let lines: Vec<&str> = text.lines().map(|l| &l[19..]).collect();
    assert_eq!(lines, [" - kinema - INFO - hello 42", " - kinema - DEBUG - now shown"]);
    assert!(global_logger().is_some());
    let err = attach_log_file(&file, "LOUD").expect_err("bad level");
    assert!(err.to_string().contains("LOUD"), "{err}");
}
