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
/// libtorch's C++ stack traces are cut from every message (set
/// `TORCH_SHOW_CPP_STACKTRACES=1` to keep them, as in PyTorch).
pub fn error_report(err: &anyhow::Error) -> String {
    let parts = distinct_messages(err);
    let mut out = format!("error: {}", parts[0]);
    for text in &parts[1..] {
        out.push_str(&format!("\n  caused by: {text}"));
    }
    out
}

/// The error and its causes on one line (`a: b: c`), each cause not already shown: for
/// records and logs that hold one error per line.
pub fn one_line(err: &anyhow::Error) -> String {
    distinct_messages(err).join(": ").replace('\n', " ")
}

/// The messages of `err` and of each cause whose text the messages before do not
/// already hold, C++ stack traces cut.
fn distinct_messages(err: &anyhow::Error) -> Vec<String> {
    let keep_traces = std::env::var("TORCH_SHOW_CPP_STACKTRACES").is_ok_and(|v| v == "1");
    let clean = |text: String| if keep_traces { text } else { without_cpp_trace(&text) };
    let mut shown = clean(err.to_string());
    let mut parts = vec![shown.clone()];
    for cause in err.chain().skip(1) {
        let text = clean(cause.to_string());
        if shown.contains(&text) {
            continue;
        }
        shown.push('\n');
        shown.push_str(&text);
        parts.push(text);
    }
    parts
}

/// `text` without the C++ stack trace libtorch appends to its exception messages
/// (`Exception raised from ...` and the `frame #N:` lines after it).
pub fn without_cpp_trace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("Exception raised from ") {
            skipping = true;
            continue;
        }
        if skipping && (trimmed.starts_with("frame #") || trimmed.trim().is_empty()) {
            continue;
        }
        skipping = false;
        out.push_str(line);
    }
    out.trim_end().to_string()
}

/// Console logging for the tools (the runner adds the log file once the work dir exists).
pub fn init_console_logging() {
    kinema_logging::init_console(log::LevelFilter::Info);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtorch_stack_traces_are_cut() {
        let torch = "mat1 and mat2 shapes cannot be multiplied (2x512 and 768x4)\n\
                     Exception raised from meta at /pytorch/aten/src/ATen/native/LinearAlgebra.cpp:193 (most recent call first):\n\
                     frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x9d (0x7f in libc10.so)\n\
                     frame #1: <unknown function> + 0x1a2b (0x7f in libtorch_cpu.so)\n";
        assert_eq!(without_cpp_trace(torch), "mat1 and mat2 shapes cannot be multiplied (2x512 and 768x4)");
        let err = anyhow::anyhow!("{torch}").context("model.cls_head: forward");
        assert_eq!(
            error_report(&err),
            "error: model.cls_head: forward\n  caused by: mat1 and mat2 shapes cannot be multiplied (2x512 and 768x4)"
        );
        assert_eq!(without_cpp_trace("no trace\nsecond line"), "no trace\nsecond line");
    }

    #[test]
    fn causes_already_shown_are_not_repeated() {
        let io = std::io::Error::other("disk full");
        let err = anyhow::Error::new(io).context("writing ckpt.pth: disk full").context("saving the checkpoint");
        assert_eq!(error_report(&err), "error: saving the checkpoint\n  caused by: writing ckpt.pth: disk full");
    }
}
