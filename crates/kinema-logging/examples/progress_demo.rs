//! Shows a progress bar with log lines printed above it (run it in a terminal), or the plain
//! periodic lines when stderr is not a terminal: `cargo run -p kinema-logging --example
//! progress_demo 2>&1 | cat`.

use std::time::Duration;

use kinema_logging::{init_console, Progress};
use log::LevelFilter;

fn main() {
    init_console(LevelFilter::Info);
    let mut progress = Progress::start(40, "test");
    for i in 0..40 {
        std::thread::sleep(Duration::from_millis(50));
        if i % 10 == 9 {
            log::info!("Epoch(test) [{:>2}/40]    eta: 0:00:01  time: 0.0500  data_time: 0.0010", i + 1);
        }
        progress.inc(1);
    }
    progress.finish();
    log::info!("done");
}
