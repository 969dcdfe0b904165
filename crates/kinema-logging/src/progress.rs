//! Progress reporting: an indicatif bar with ETA on a terminal, plain periodic log lines
//! otherwise (log files and CI output stay readable).

use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::pyfmt;

/// The bar currently drawn, so that log lines can be printed above it.
static ACTIVE: Mutex<Option<(u64, ProgressBar)>> = Mutex::new(None);
static NEXT_ID: Mutex<u64> = Mutex::new(0);

/// Runs `f` (which writes to stderr) with the active progress bar, if any, hidden meanwhile.
pub(crate) fn suspend_active<R>(f: impl FnOnce() -> R) -> R {
    let active = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
    match active.as_ref() {
        Some((_, bar)) => bar.suspend(f),
        None => f(),
    }
}

type Sink = Box<dyn FnMut(&str) + Send>;

enum Inner {
    Bar { id: u64, bar: ProgressBar },
    Plain { label: String, total: u64, pos: u64, reported: u64, start: Instant, sink: Sink, bytes: bool },
}

/// A progress report over `total` items: `start`, `inc` per item, `finish`.
pub struct Progress {
    inner: Inner,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::Bar { bar, .. } => f.debug_struct("Progress").field("bar", bar).finish(),
            Inner::Plain { label, total, pos, .. } => {
                f.debug_struct("Progress").field("label", label).field("total", total).field("pos", pos).finish()
            }
        }
    }
}

impl Progress {
    /// A bar on stderr when stderr is a terminal; otherwise [`Progress::plain`] lines sent to
    /// `log::info!` (so they reach the log file too).
    pub fn start(total: u64, label: &str) -> Self {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            Self::bar(total, label)
        } else {
            Self::plain(total, label, |line| log::info!("{line}"))
        }
    }

    /// [`Progress::start`] over a number of bytes: sizes in MiB/GiB and the transfer rate.
    pub fn start_bytes(total: u64, label: &str) -> Self {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            Self::with_template(
                total,
                label,
                "{msg} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
            )
        } else {
            let mut p = Self::plain(total, label, |line| log::info!("{line}"));
            if let Inner::Plain { bytes, .. } = &mut p.inner {
                *bytes = true;
            }
            p
        }
    }

    /// An indicatif bar on stderr: `label [elapsed] [#####>----] pos/total (eta)`.
    pub fn bar(total: u64, label: &str) -> Self {
        Self::with_template(total, label, "{msg} [{elapsed_precise}] [{wide_bar}] {pos}/{len} (eta {eta})")
    }

    fn with_template(total: u64, label: &str, template: &str) -> Self {
        let bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("#>-");
        bar.set_style(style);
        bar.set_message(label.to_string());
        let id = {
            let mut next = NEXT_ID.lock().unwrap_or_else(|p| p.into_inner());
            *next += 1;
            *next
        };
        *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = Some((id, bar.clone()));
        Self { inner: Inner::Bar { id, bar } }
    }

    /// Plain lines `label: 30/100 (30%), elapsed 0:00:12, eta 0:00:28` handed to `sink` each
    /// time another tenth of `total` is done, and at [`Progress::finish`].
    pub fn plain(total: u64, label: &str, sink: impl FnMut(&str) + Send + 'static) -> Self {
        Self {
            inner: Inner::Plain {
                label: label.to_string(),
                total,
                pos: 0,
                reported: 0,
                start: Instant::now(),
                sink: Box::new(sink),
                bytes: false,
            },
        }
    }

    /// Marks `n` more items done.
    pub fn inc(&mut self, n: u64) {
        match &mut self.inner {
            Inner::Bar { bar, .. } => bar.inc(n),
            Inner::Plain { total, pos, reported, .. } => {
                *pos += n;
                let step = (*total / 10).max(1);
                if *total > 0 && *pos < *total && *pos / step > *reported / step {
                    *reported = *pos;
                    self.report();
                }
            }
        }
    }

    /// Items done so far.
    pub fn position(&self) -> u64 {
        match &self.inner {
            Inner::Bar { bar, .. } => bar.position(),
            Inner::Plain { pos, .. } => *pos,
        }
    }

    /// Ends the report: the bar is cleared, plain mode prints a last line (dropping a
    /// `Progress` does the same).
    pub fn finish(self) {}

    fn close(&mut self) {
        match &mut self.inner {
            Inner::Bar { id, bar } => {
                bar.finish_and_clear();
                let mut active = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
                if active.as_ref().is_some_and(|(a, _)| a == id) {
                    *active = None;
                }
            }
            Inner::Plain { reported, pos, total, .. } => {
                if *reported != *pos || (*total == 0 && *pos == 0) {
                    *reported = *pos;
                    self.report();
                }
            }
        }
    }

    fn report(&mut self) {
        if let Inner::Plain { label, total, pos, start, sink, bytes, .. } = &mut self.inner {
            let elapsed = start.elapsed().as_secs_f64();
            let amount = |n: u64| if *bytes { format!("{:.1} MiB", n as f64 / 1048576.0) } else { n.to_string() };
            let line = if let Some(pct) = (*pos * 100).checked_div(*total) {
                let eta = if *pos > 0 { elapsed / *pos as f64 * total.saturating_sub(*pos) as f64 } else { 0.0 };
                format!(
                    "{label}: {}/{} ({pct}%), elapsed {}, eta {}",
                    amount(*pos),
                    amount(*total),
                    pyfmt::timedelta(elapsed),
                    pyfmt::timedelta(eta)
                )
            } else {
                format!("{label}: {} done, elapsed {}", amount(*pos), pyfmt::timedelta(elapsed))
            };
            sink(&line);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn collect(total: u64, steps: u64) -> Vec<String> {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink_lines = Arc::clone(&lines);
        let mut p = Progress::plain(total, "test", move |l| sink_lines.lock().expect("lock").push(l.to_string()));
        for _ in 0..steps {
            p.inc(1);
        }
        assert_eq!(p.position(), steps);
        p.finish();
        let out = lines.lock().expect("lock").clone();
        // Drop the time parts, which vary.
        out.into_iter().map(|l| l.split(", elapsed").next().unwrap_or_default().to_string()).collect()
    }

    #[test]
    fn plain_reports_every_tenth_and_at_finish() {
        let lines = collect(20, 20);
        let expected: Vec<String> = (1..=10).map(|k| format!("test: {}/20 ({}%)", 2 * k, 10 * k)).collect();
        assert_eq!(lines, expected);
        assert_eq!(collect(3, 3), ["test: 1/3 (33%)", "test: 2/3 (66%)", "test: 3/3 (100%)"]);
        assert_eq!(collect(0, 0), ["test: 0 done"]);
        // Stopped early: the last line tells where.
        assert_eq!(collect(100, 15), ["test: 10/100 (10%)", "test: 15/100 (15%)"]);
    }
}
