//! `tools/infer` over long videos, folders and live pipes, and `tools/extract_features`,
//! end to end on the tiny ActionCLIP checkpoint: window scores equal single clips of the
//! same frames, each grid frame is encoded once, bad files are skipped with the reason,
//! `--resume` appends without duplicates, features give back infer's scores and shards
//! merge to the same bytes as one process.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::cli::{carphone, repo, succeeded as ok, tiny_checkpoint, tool};
use serde_json::Value;

const LABELS: &str = "driving a car,talking on the phone,swimming";

/// The fixture's frame count (120 H.264 frames at 29.97 fps).
const CARPHONE_FRAMES: usize = 120;

fn run(name: &str, args: &[&str]) -> Output {
    Command::new(tool(name)).args(args).output().unwrap()
}

fn infer(extra: &[&str]) -> Output {
    let ck = tiny_checkpoint();
    let mut args = vec!["--checkpoint", ck.to_str().unwrap(), "--labels", LABELS];
    args.extend_from_slice(extra);
    run("infer", &args)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// `tools/infer --json` scores of `video` (exactly `frame_inds` when given, with
/// `config`'s test pipeline when given).
fn clip_scores(video: &Path, frame_inds: Option<&[usize]>, config: Option<&Path>) -> Vec<f64> {
    let inds = frame_inds.map(|f| f.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    let mut args = vec![video.to_str().unwrap(), "--json"];
    if let Some(inds) = &inds {
        args.extend(["--frame-inds", inds]);
    }
    if let Some(config) = config {
        args.extend(["--config", config.to_str().unwrap()]);
    }
    let v: Value = serde_json::from_str(&ok(&infer(&args))).unwrap();
    floats(&v["scores"])
}

#[test]
fn timeline_windows_are_single_clips_of_their_frames_and_encode_each_frame_once() {
    let video = carphone();
    let out = infer(&[video.to_str().unwrap(), "--frame-interval", "2", "--stride", "4", "--json", "--all-scores"]);
    let v: Value = serde_json::from_str(&ok(&out)).unwrap();
    let (k, t, m) = (2, 8, 4);
    assert_eq!((v["frame_interval"].as_u64(), v["stride"].as_u64(), v["window"].as_u64()), (Some(2), Some(4), Some(8)));
    let windows = v["windows"].as_array().unwrap();
    // The last window is the last whose frames all exist: (j*m + T - 1) * k < 120.
    let expected = (0..).take_while(|j| (j * m + t - 1) * k < CARPHONE_FRAMES).count();
    assert_eq!(windows.len(), expected);
    assert_eq!(expected, 14);
    let fps = v["fps"].as_f64().unwrap();
    assert!((fps - 30000.0 / 1001.0).abs() < 1e-6, "{fps}");
    for (j, w) in windows.iter().enumerate() {
        let inds: Vec<usize> = (0..t).map(|i| (j * m + i) * k).collect();
        assert_eq!(w["frame_inds"], serde_json::json!(inds));
        assert_eq!(w["start_frame"].as_u64().unwrap() as usize, j * m * k);
        assert_eq!(w["end_frame"].as_u64().unwrap() as usize, (j * m + t) * k);
        assert!((w["end_s"].as_f64().unwrap() - ((j * m + t) * k) as f64 / fps).abs() < 1e-9);
        assert_eq!(w["scores"].as_array().unwrap().len(), 3);
    }
    // Window scores equal the scores of a single clip of the same frames (decoded by the
    // random-access reader, transformed and encoded as one clip).
    for j in [0, 5, 13] {
        let inds: Vec<usize> = (0..t).map(|i| (j * m + i) * k).collect();
        let single = clip_scores(&video, Some(&inds), None);
        let d = max_diff(&floats(&windows[j]["scores"]), &single);
        assert!(d < 1e-5, "window {j}: {d}");
    }
    // Each grid frame is decoded and encoded once: 60 grid frames (0, 2, ..., 118) for
    // 14 windows that hold 112 frames in all.
    let stats = &v["stats"];
    assert_eq!(stats["frames_decoded"], 60);
    assert_eq!(stats["frames_encoded"], 60);
    assert_eq!(stats["windows"], 14);
    // The same video sampled by the test pipeline (MMAction2's SampleFrames, test mode:
    // int(i * 120/8 + 120/16)) equals --frame-inds of those frames: the frame path runs
    // the same transforms.
    let sampled: Vec<usize> = (0..8).map(|i| (i as f64 * 15.0 + 7.5) as usize).collect();
    assert!(max_diff(&clip_scores(&video, None, None), &clip_scores(&video, Some(&sampled), None)) < 1e-6);
    // Segments: one label over the whole video here, from the first frame to the last window's end.
    let segments = v["segments"].as_array().unwrap();
    assert_eq!(segments[0]["start_frame"], 0);
    assert_eq!(segments.last().unwrap()["end_frame"], 120);
}

#[test]
fn a_video_shorter_than_one_window_is_an_error_that_says_how_long_a_window_is() {
    let video = carphone();
    let out = infer(&[video.to_str().unwrap(), "--frame-interval", "20"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("120 frames are fewer than one window needs (141 = (8 - 1) * 20 + 1)"), "{err}");
}

fn bad_and_good_videos(dir: &Path) -> Vec<PathBuf> {
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let fixtures = repo().join("tests/fixtures/video");
    for name in ["bt709.mp4", "gop_bframes.mp4"] {
        std::fs::copy(fixtures.join(name), dir.join(name)).unwrap();
    }
    std::fs::copy(fixtures.join("fullrange.mp4"), sub.join("c.MP4")).unwrap();
    std::fs::write(sub.join("notes.mp4"), "not a video\n").unwrap();
    std::fs::write(sub.join("readme.txt"), "ignored: not a video extension\n").unwrap();
    let bytes = std::fs::read(carphone()).unwrap();
    std::fs::write(dir.join("truncated.mp4"), &bytes[..bytes.len() / 3]).unwrap();
    let mut all: Vec<PathBuf> = ["bt709.mp4", "gop_bframes.mp4", "sub/c.MP4", "sub/notes.mp4", "truncated.mp4"]
        .iter()
        .map(|n| dir.join(n))
        .collect();
    all.sort();
    all
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_folder_run_records_bad_videos_and_resumes_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let videos = bad_and_good_videos(dir.path());
    let out_file = dir.path().join("out.jsonl");
    let o = out_file.to_str().unwrap();
    ok(&infer(&[dir.path().to_str().unwrap(), "--out", o, "--top-k", "2"]));
    let first = records(&out_file);
    let names: Vec<&str> = first.iter().map(|r| r["video"].as_str().unwrap()).collect();
    let expected: Vec<String> = videos.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(names, expected, "every video once, in sorted order; readme.txt left out");
    let errors: Vec<&Value> = first.iter().filter(|r| r.get("error").is_some()).collect();
    assert_eq!(errors.len(), 2);
    for e in &errors {
        let (video, text) = (e["video"].as_str().unwrap(), e["error"].as_str().unwrap());
        assert!(text.contains(video), "{text}");
    }
    assert!(first[0]["top_k"].as_array().unwrap().len() == 2);
    // Single-video scores equal the folder run's.
    let single = clip_scores(&videos[0], None, None);
    let best = &first[0]["top_k"][0];
    let label = LABELS.split(',').position(|l| l == best["label"].as_str().unwrap()).unwrap();
    assert!((best["score"].as_f64().unwrap() - single[label]).abs() < 1e-6);

    // A run killed while writing: the last record is half there, one more is missing.
    let text = std::fs::read_to_string(&out_file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = format!("{}\n{}", lines[..3].join("\n"), &lines[3][..10]);
    std::fs::write(&out_file, cut).unwrap();
    let resumed = infer(&[dir.path().to_str().unwrap(), "--out", o, "--top-k", "2", "--resume"]);
    ok(&resumed);
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("3 videos already recorded"));
    let again = records(&out_file);
    let mut seen: Vec<&str> = again.iter().map(|r| r["video"].as_str().unwrap()).collect();
    assert_eq!(seen.len(), 5);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5, "no duplicates");
    assert_eq!(again[..3], first[..3]);

    // CSV: a header, one row per video, the error in the last column.
    let csv = dir.path().join("out.csv");
    let list = list_of(dir.path(), &videos);
    let prefix = dir.path().to_str().unwrap();
    ok(&infer(&["--list", &list, "--data-prefix", prefix, "--out", csv.to_str().unwrap(), "--all-scores"]));
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert!(
        rows[0].starts_with("video,label_1,score_1,label_2,score_2,label_3,score_3,score:driving a car,"),
        "{}",
        rows[0]
    );
    assert!(rows[0].ends_with(",error"));
    assert_eq!(rows.len(), 6);
    assert!(rows[1].ends_with(','), "a scored video has an empty error: {}", rows[1]);
}

fn list_of(dir: &Path, videos: &[PathBuf]) -> String {
    let list = dir.join("list.txt");
    let text: Vec<String> = videos.iter().map(|v| format!("{} 0", v.strip_prefix(dir).unwrap().display())).collect();
    std::fs::write(&list, text.join("\n")).unwrap();
    list.display().to_string()
}

#[test]
fn a_live_pipe_at_real_time_rate_gives_the_file_timeline_as_windows_complete() {
    let ffmpeg = Command::new("ffmpeg").arg("-version").output();
    assert!(
        ffmpeg.is_ok_and(|o| o.status.success()),
        "ffmpeg is missing: `make test` installs it (tools/setup.sh --tests)"
    );
    let video = carphone();
    let mut feeder = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-re", "-i", video.to_str().unwrap(), "-c", "copy", "-f", "matroska", "-"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ck = tiny_checkpoint();
    let live = Command::new(tool("infer"))
        .args([
            "--checkpoint",
            ck.to_str().unwrap(),
            "--labels",
            LABELS,
            "--live",
            "-",
            "--frame-interval",
            "2",
            "--json",
        ])
        .stdin(feeder.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(feeder.wait().unwrap().success());
    let text = ok(&live);
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let end = lines.last().unwrap();
    assert_eq!(end["end"], true);
    // Every grid frame (0, 2, ..., 118) reached the model or was counted as dropped (a
    // loaded machine can fall behind 30 fps for a moment).
    let (received, dropped) = (end["frames_decoded"].as_u64().unwrap(), end["frames_dropped"].as_u64().unwrap());
    assert_eq!(received + dropped, 60);
    let windows = &lines[..lines.len() - 1];
    assert_eq!(windows.len() as u64, (received - 8) / 4 + 1, "windows of 8 received grid frames every 4");
    let file: Value =
        serde_json::from_str(&ok(&infer(&[video.to_str().unwrap(), "--frame-interval", "2", "--json"]))).unwrap();
    let by_frames: std::collections::HashMap<String, &Value> =
        file["windows"].as_array().unwrap().iter().map(|w| (w["frame_inds"].to_string(), w)).collect();
    let mut same = 0;
    for a in windows {
        // A window of the same frames as a file window has its scores.
        if let Some(b) = by_frames.get(&a["frame_inds"].to_string()) {
            assert_eq!(a["top_k"][0]["label"], b["top_k"][0]["label"]);
            let d = (a["top_k"][0]["score"].as_f64().unwrap() - b["top_k"][0]["score"].as_f64().unwrap()).abs();
            assert!(d < 1e-5, "{d}");
            same += 1;
        }
    }
    assert!(same >= 1, "no live window has a file window's frames");
    if dropped == 0 {
        assert_eq!(same, file["windows"].as_array().unwrap().len(), "without drops every window is the file's");
    }
}

fn npy(path: &Path) -> (Vec<f64>, Vec<i64>) {
    let t = tch::Tensor::read_npy(path).unwrap();
    let shape = t.size();
    (Vec::<f64>::try_from(t.to_kind(tch::Kind::Double).flatten(0, -1)).unwrap(), shape)
}

#[test]
fn features_give_back_infer_scores_and_shards_merge_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let videos = bad_and_good_videos(dir.path());
    let config = repo().join("projects/actionclip/tests/data/tiny_test_pipeline.toml");
    let ck = tiny_checkpoint();
    let extract = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            config.to_str().unwrap(),
            dir.path().to_str().unwrap(),
            "--checkpoint",
            ck.to_str().unwrap(),
            "--labels",
            LABELS,
            "--out",
            out.to_str().unwrap(),
            "--npy",
        ];
        args.extend_from_slice(extra);
        ok(&run("extract_features", &args));
    };
    let one = dir.path().join("one");
    extract(&one, &[]);
    let index: Vec<Value> = records(&one.join("index.jsonl"));
    assert_eq!(index.len(), 3);
    let failed = records(&one.join("failed.jsonl"));
    assert_eq!(failed.len(), 2);
    assert!(failed[0]["error"].as_str().unwrap().contains(failed[0]["video"].as_str().unwrap()));
    // softmax(100 * v_hat . t_hat) averaged over the templates is what infer prints.
    let (f, fs) = npy(&one.join("features.npy"));
    let (t, ts) = npy(&one.join("text.npy"));
    let (d, rows) = (fs[1] as usize, ts[0] as usize);
    for (r, rec) in index.iter().enumerate() {
        let v = &f[r * d..(r + 1) * d];
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let sims: Vec<f64> =
            (0..rows).map(|i| 100.0 * (0..d).map(|j| v[j] / norm * t[i * d + j]).sum::<f64>()).collect();
        let mut probs = [0.0; 3];
        let templates = rows / 3;
        for chunk in sims.chunks(3) {
            let mx = chunk.iter().cloned().fold(f64::MIN, f64::max);
            let z: f64 = chunk.iter().map(|s| (s - mx).exp()).sum();
            for (p, s) in probs.iter_mut().zip(chunk) {
                *p += (s - mx).exp() / z / templates as f64;
            }
        }
        let video = PathBuf::from(rec["video"].as_str().unwrap());
        let d = max_diff(&probs, &clip_scores(&video, None, Some(&config)));
        assert!(d < 1e-5, "{}: {d}", video.display());
    }
    // Two ranks under tools/launch: the same bytes; then a resumed run redoes only what is missing.
    let two = dir.path().join("two");
    let port = common::cli::free_port();
    let launch = Command::new(repo().join("tools/launch"))
        .env("MASTER_PORT", &port)
        .args(["--nproc-per-node", "2", "--", tool("extract_features").to_str().unwrap()])
        .args([config.to_str().unwrap(), dir.path().to_str().unwrap(), "--checkpoint", ck.to_str().unwrap()])
        .args(["--labels", LABELS, "--out", two.to_str().unwrap(), "--npy", "--launcher", "pytorch", "--device", "cpu"])
        .output()
        .unwrap();
    ok(&launch);
    for name in ["features.safetensors", "index.jsonl", "failed.jsonl", "text.safetensors"] {
        assert_eq!(std::fs::read(one.join(name)).unwrap(), std::fs::read(two.join(name)).unwrap(), "{name}");
    }
    std::fs::remove_file(one.join("parts/000001.safetensors")).unwrap();
    let before = std::fs::read(one.join("features.safetensors")).unwrap();
    extract(&one, &[]);
    assert_eq!(std::fs::read(one.join("features.safetensors")).unwrap(), before);
    assert_eq!(videos.len(), 5);
    // Window level: one row per timeline window of each long-enough video.
    let win = dir.path().join("win");
    extract(&win, &["--level", "window", "--frame-interval", "1", "--stride", "2"]);
    let rows = records(&win.join("index.jsonl"));
    // gop_bframes.mp4 has 60 frames: (60 - 8) / 2 + 1 windows; the 6-frame videos are too short.
    assert_eq!(rows.len(), 27);
    assert!(rows.iter().all(|r| r["end_frame"].as_u64().unwrap() - r["start_frame"].as_u64().unwrap() == 8));
}
