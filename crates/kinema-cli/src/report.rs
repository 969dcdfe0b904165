//! How every tool starts and ends: host memory kept for reuse, console logging, and errors
//! printed as one chain of causes with exit status 1.

use std::process::ExitCode;

/// Runs a tool's body (after [`keep_freed_memory`](kinema_data::alloc::keep_freed_memory)), printing the error and its causes and exiting with status 1 on
/// failure. A cause whose text the lines above already show is not repeated (errors that
/// print their cause themselves and also return it as `source()`).
pub fn run_main(body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    kinema_data::alloc::keep_freed_memory();
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", error_report(&err));
            ExitCode::FAILURE
        }
    }
}

/// `error: ...` then one `caused by: ...` line per cause not already shown.
pub fn error_report(err: &anyhow::Error) -> String {
    let mut shown = err.to_string();
    let mut out = format!("error: {shown}");
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if shown.contains(&text) {
            continue;
        }
        out.push_str(&format!("\n  caused by: {text}"));
        shown.push('\n');
        shown.push_str(&text);
    }
    out
}

/// Console logging for the tools (the runner adds the log file once the work dir exists).
pub fn init_console_logging() {
    kinema_logging::init_console(log::LevelFilter::Info);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_shown_are_not_repeated() {
        let io = std::io::Error::other("disk full");
        let err = anyhow::Error::new(io).context("writing ckpt.pth: disk full").context("saving the checkpoint");
        assert_eq!(error_report(&err), "error: saving the checkpoint\n  caused by: writing ckpt.pth: disk full");
    }
}
