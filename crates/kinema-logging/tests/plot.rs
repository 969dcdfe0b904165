//! Curves from scalars.json: series extraction, PNG output (size, drawn lines), errors.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};

use kinema_logging::plot::{plot_curves, JsonLog, PlotOptions, XAxis};
use kinema_logging::LoggingError;

/// A scalars.json as MMEngine writes it: train lines every 10 iterations of 2 epochs of 50,
/// a val line after each epoch.
fn write_log(dir: &Path, name: &str, scale: f64) -> PathBuf {
    let mut text = String::new();
    for epoch in 1..=2 {
        for i in (10..=50).step_by(10) {
            let iter = (epoch - 1) * 50 + i;
            let loss = scale * 3.0 / f64::from(iter).sqrt();
            text.push_str(&format!(
                "{{\"lr\": 1e-05, \"data_time\": 0.01, \"loss\": {loss}, \"time\": {}, \"epoch\": {epoch}, \"iter\": {iter}, \"memory\": 100, \"step\": {iter}}}\n",
                if i == 10 { 2.0 } else { 0.5 }
            ));
        }
        text.push_str(&format!(
            "{{\"acc/top1\": {}, \"data_time\": 0.02, \"time\": 0.1, \"step\": {epoch}}}\n",
            scale * 0.3 * f64::from(epoch)
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write log");
    path
}

#[test]
fn curves_use_iterations_for_train_keys_and_epochs_for_val_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = JsonLog::load(&write_log(dir.path(), "scalars.json", 1.0)).expect("load");
    let loss = log.curve("loss").expect("loss");
    assert_eq!(loss.x_axis, XAxis::Iter);
    assert_eq!(loss.points.len(), 10);
    assert_eq!(loss.points[0], (10.0, 3.0 / 10f64.sqrt()));
    let acc = log.curve("acc/top1").expect("acc");
    assert_eq!(acc.x_axis, XAxis::Epoch);
    assert_eq!(acc.points, [(1.0, 0.3), (2.0, 0.6)]);
    // data_time is in both kinds of entries: the train values win.
    assert_eq!(log.curve("data_time").expect("data_time").x_axis, XAxis::Iter);
    let err = log.curve("acc/top5").expect_err("missing");
    assert!(matches!(err, LoggingError::MissingKey { .. }));
    assert!(err.to_string().contains("acc/top1"), "{err}");

    let stats = log.train_time(false).expect("train entries");
    assert_eq!(stats.epoch_means, [(1, 0.5), (2, 0.5)]);
    assert_eq!(stats.mean_iter_time, 0.5);
    let with_first = log.train_time(true).expect("train entries");
    assert_eq!(with_first.epoch_means, [(1, 0.8), (2, 0.8)]);
}

fn decode_png(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).expect("open png")));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let pixels = buf[..info.buffer_size()].chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    (info.width, info.height, pixels)
}

#[test]
fn plot_writes_a_png_of_the_requested_size_with_the_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = JsonLog::load(&write_log(dir.path(), "a.json", 1.0)).expect("a");
    let b = JsonLog::load(&write_log(dir.path(), "b.json", 0.8)).expect("b");
    let out = dir.path().join("curves.png");
    let options = PlotOptions {
        keys: vec!["loss".to_string(), "acc/top1".to_string()],
        legend: Some(vec!["a loss".into(), "a top1".into(), "b loss".into(), "b top1".into()]),
        title: Some("TSN R50".to_string()),
        width: 900,
        height: 700,
    };
    plot_curves(&[a, b], &options, &out).expect("plot");
    if let Ok(keep) = std::env::var("KINEMA_KEEP_PLOT") {
        std::fs::copy(&out, keep).expect("keep a copy");
    }
    let (width, height, pixels) = decode_png(&out);
    assert_eq!((width, height), (900, 700));
    let background = pixels.iter().filter(|p| **p == [255, 255, 255]).count();
    assert!(background < pixels.len(), "something is drawn");
    // The four series use the first four palette colours, solid 2-pixel lines.
    for color in [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40]] {
        let n = pixels.iter().filter(|p| **p == color).count();
        assert!(n > 100, "colour {color:?} drawn on {n} pixels only");
    }
    // Text (title, labels) is drawn in black-ish anti-aliased pixels.
    assert!(pixels.iter().filter(|p| p.iter().all(|c| *c < 60)).count() > 200, "no text drawn");
}

#[test]
fn plot_rejects_bad_legends_and_sizes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = JsonLog::load(&write_log(dir.path(), "a.json", 1.0)).expect("a");
    let out = dir.path().join("x.png");
    let options =
        PlotOptions { keys: vec!["loss".into()], legend: Some(vec!["x".into(), "y".into()]), ..PlotOptions::default() };
    let err = plot_curves(std::slice::from_ref(&a), &options, &out).expect_err("legend count");
    assert!(err.to_string().contains("2 labels given, 1 needed"), "{err}");
    let options = PlotOptions { width: 10, ..PlotOptions::default() };
    assert!(plot_curves(std::slice::from_ref(&a), &options, &out).is_err());
    let options = PlotOptions { keys: vec!["nope".into()], ..PlotOptions::default() };
    assert!(matches!(plot_curves(&[a], &options, &out), Err(LoggingError::MissingKey { .. })));
    assert!(!out.exists());
}

#[test]
fn non_png_outputs_are_refused_before_drawing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = JsonLog::load(&write_log(dir.path(), "a.json", 1.0)).expect("a");
    let out = dir.path().join("curves.pdf");
    let err = plot_curves(&[a], &PlotOptions::default(), &out).expect_err("pdf");
    assert!(err.to_string().contains("curves.pdf: plots are written as PNG; give a .png file"), "{err}");
    assert!(!out.exists());
}

#[test]
fn legends_name_runs_briefly() {
    use kinema_logging::plot::run_name;
    assert_eq!(
        run_name(Path::new("/data/work_dirs/tsn_r50/20261207_101010/vis_data/scalars.json")),
        "tsn_r50/20261207_101010"
    );
    assert_eq!(
        run_name(Path::new("work_dirs/tsn_r50/20261207_101010/20261207_101010.json")),
        "tsn_r50/20261207_101010"
    );
    assert_eq!(run_name(Path::new("/tmp/logs/a.json")), "a");
}

#[test]
fn every_tick_of_an_axis_has_one_format() {
    use kinema_logging::plot::TickFormat;
    let loss = TickFormat::for_range(0.0, 2.5);
    assert_eq!(loss, TickFormat::Fixed(1));
    assert_eq!([0.0, 0.5, 1.0, 2.5].map(|v| loss.label(v)), ["0.0", "0.5", "1.0", "2.5"]);
    let iters = TickFormat::for_range(0.0, 1200.0);
    assert_eq!([0.0, 600.0].map(|v| iters.label(v)), ["0", "600"]);
    let lr = TickFormat::for_range(0.0, 5e-4);
    assert_eq!([0.0, 5e-5, 4.5e-4].map(|v| lr.label(v)), ["0.00e0", "5.00e-5", "4.50e-4"]);
    let acc = TickFormat::for_range(0.61, 0.64);
    assert_eq!([0.61, 0.625].map(|v| acc.label(v)), ["0.610", "0.625"]);
}
