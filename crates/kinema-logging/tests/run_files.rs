//! The run's files: text log lines, scalars.json (and `<timestamp>.json`), config, test
//! metrics, and the visualizer writing JSON and TensorBoard together.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use kinema_logging::tensorboard::{read_events, scalars, texts};
use kinema_logging::{
    write_test_metrics, KinemaLogger, LocalVisBackend, RunPaths, ScalarDict, TensorboardVisBackend, Visualizer,
};
use log::{Level, LevelFilter, Log, Record};

fn record_line(logger: &KinemaLogger, level: Level, message: &str) {
    logger.log(
        &Record::builder()
            .args(format_args!("{message}"))
            .level(level)
            .line(Some(42))
            .file(Some("src/run.rs"))
            .module_path(Some("kinema_engine::run"))
            .build(),
    );
}

/// `YYYY/MM/DD HH:MM:SS - ` prefix check; returns the rest of the line.
fn strip_time(line: &str) -> &str {
    let (time, rest) = line.split_at(19);
    let bytes = time.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        match i {
            4 | 7 => assert_eq!(*b, b'/', "{line}"),
            10 => assert_eq!(*b, b' ', "{line}"),
            13 | 16 => assert_eq!(*b, b':', "{line}"),
            _ => assert!(b.is_ascii_digit(), "{line}"),
        }
    }
    rest.strip_prefix(" - ").unwrap_or_else(|| panic!("no separator after the time: {line}"))
}

#[test]
fn log_file_gets_mmengine_lines_filtered_by_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = RunPaths::new(dir.path(), "20240131_235959");
    let logger = KinemaLogger::new(LevelFilter::Info);
    logger.set_stderr(false);
    logger.set_log_file(Some(&paths.log_file())).expect("log file");
    assert_eq!(logger.log_file(), Some(paths.log_file()));
    record_line(&logger, Level::Info, "Epoch(train)  [1][10/20]  lr: 1.0000e-03  loss: 0.5000");
    record_line(&logger, Level::Debug, "hidden at INFO");
    record_line(&logger, Level::Warn, "slow data loading");
    record_line(&logger, Level::Error, "loss is NaN");
    record_line(&logger, Level::Info, "multi\nline");
    logger.set_level(LevelFilter::Debug);
    record_line(&logger, Level::Debug, "shown at DEBUG");
    logger.set_log_file(None).expect("close");
    record_line(&logger, Level::Info, "not in the file");

    let text = std::fs::read_to_string(dir.path().join("20240131_235959/20240131_235959.log")).expect("log");
    let lines: Vec<&str> = text.lines().collect();
    let rest: Vec<&str> = [0, 1, 2, 3, 5].iter().map(|&i| strip_time(lines[i])).collect();
    assert_eq!(
        rest,
        [
            "kinema - INFO - Epoch(train)  [1][10/20]  lr: 1.0000e-03  loss: 0.5000",
            "kinema - WARNING - slow data loading",
            "kinema - ERROR - src/run.rs - kinema_engine::run - 42 - loss is NaN",
            "kinema - INFO - multi",
            "kinema - DEBUG - shown at DEBUG",
        ]
    );
    assert_eq!(lines[4], "line");
    assert_eq!(lines.len(), 6);
    assert!(text.ends_with('\n'));
}

#[test]
fn scalars_json_lines_match_mmengine_local_vis_backend() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = RunPaths::new(dir.path(), "20240131_235959");
    let local = LocalVisBackend::new(paths.vis_dir()).with_json_log(paths.json_log_name());
    let mut vis = Visualizer::new().with_backend(local).with_backend(TensorboardVisBackend::new(paths.vis_dir()));
    assert_eq!(vis.backend_names(), ["LocalVisBackend", "TensorboardVisBackend"]);
    vis.add_config("work_dir = \"w\"\n").expect("config");

    let train: ScalarDict =
        [("base_lr", 5e-8), ("lr", 5e-8), ("data_time", 0.1145), ("loss", 2.45), ("time", 1.145)].into_iter().collect();
    let mut train = train;
    train.insert("epoch", 1_i64);
    train.insert("iter", 20_i64);
    train.insert("memory", 12345_i64);
    vis.add_scalars(&train, 20).expect("train");
    let val: ScalarDict =
        [("acc/top1", 0.8125), ("acc/top5", 0.95), ("data_time", 0.019), ("time", 0.245)].into_iter().collect();
    vis.add_scalars(&val, 1).expect("val");
    vis.close().expect("close");

    let expected = concat!(
        r#"{"base_lr": 5e-08, "lr": 5e-08, "data_time": 0.1145, "loss": 2.45, "time": 1.145, "epoch": 1, "iter": 20, "memory": 12345, "step": 20}"#,
        "\n",
        r#"{"acc/top1": 0.8125, "acc/top5": 0.95, "data_time": 0.019, "time": 0.245, "step": 1}"#,
        "\n"
    );
    let vis_dir = paths.vis_dir();
    assert_eq!(std::fs::read_to_string(vis_dir.join("scalars.json")).expect("scalars.json"), expected);
    assert_eq!(std::fs::read_to_string(vis_dir.join("20240131_235959.json")).expect("json log"), expected);
    assert_eq!(std::fs::read_to_string(vis_dir.join("config.toml")).expect("config"), "work_dir = \"w\"\n");

    let event_file = std::fs::read_dir(&vis_dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().contains("tfevents"))
        .expect("an event file");
    let events = read_events(&event_file).expect("events");
    let got: Vec<(String, i64, f32)> = scalars(&events).into_iter().map(|p| (p.tag, p.step, p.value)).collect();
    assert_eq!(got.len(), 8 + 4);
    assert_eq!(got[3], ("loss".to_string(), 20, 2.45f32));
    assert_eq!(got[7], ("memory".to_string(), 20, 12345.0));
    assert_eq!(got[8], ("acc/top1".to_string(), 1, 0.8125));
    assert_eq!(texts(&events)[0].text, "work_dir = \"w\"\n");
}

#[test]
fn test_metrics_are_one_json_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = RunPaths::new(dir.path(), "20240131_235959");
    let metrics: ScalarDict = [("acc/top1", 0.5), ("acc/top5", 0.75)].into_iter().collect();
    write_test_metrics(&paths.test_metrics_file(), &metrics).expect("write");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("20240131_235959/20240131_235959.json")).expect("read"),
        r#"{"acc/top1": 0.5, "acc/top5": 0.75}"#
    );
}

#[test]
fn a_failing_backend_does_not_stop_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("not_a_dir");
    std::fs::write(&blocker, "file").expect("file");
    let good = dir.path().join("good");
    let mut vis =
        Visualizer::new().with_backend(LocalVisBackend::new(&blocker)).with_backend(LocalVisBackend::new(&good));
    let one: ScalarDict = [("loss", 1.0)].into_iter().collect();
    let err = vis.add_scalars(&one, 1).expect_err("the first backend cannot create its dir");
    assert!(err.to_string().contains("not_a_dir"), "{err}");
    assert_eq!(std::fs::read_to_string(good.join("scalars.json")).expect("good"), "{\"loss\": 1.0, \"step\": 1}\n");
}
