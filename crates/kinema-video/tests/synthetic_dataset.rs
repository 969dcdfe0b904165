//! The synthetic dataset: layout in MMAction2's VideoDataset format, determinism, and motions
//! that are visible in the pixels (measured from rendered and from decoded frames).
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use kinema_video::synthetic::{parse_size, scene_for, write_dataset, DatasetError, DatasetOptions, Motion, Scene};
use kinema_video::VideoReader;

/// Pixels closer to the shape's colour than to the local background, per frame.
fn masks(scene: &Scene, frames: &[u8]) -> Vec<Vec<bool>> {
    let (w, h) = (scene.width, scene.height);
    let diag = ((w * w + h * h) as f32).sqrt();
    frames
        .chunks_exact(w * h * 3)
        .map(|f| {
            (0..w * h)
                .map(|p| {
                    let along = ((p % w) + (p / w)) as f32 / diag;
                    let mut d_shape = 0.0f32;
                    let mut d_bg = 0.0f32;
                    for c in 0..3 {
                        let v = f32::from(f[p * 3 + c]);
                        d_shape += (v - f32::from(scene.color[c])).powi(2);
                        d_bg += (v - (f32::from(scene.background[c]) + scene.gradient[c] * along)).powi(2);
                    }
                    d_shape < d_bg
                })
                .collect()
        })
        .collect()
}

/// (area, centroid x, centroid y) of a mask.
fn moments(mask: &[bool], w: usize) -> (f32, f32, f32) {
    let (mut n, mut sx, mut sy) = (0f32, 0f32, 0f32);
    for (p, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
        n += 1.0;
        sx += (p % w) as f32;
        sy += (p / w) as f32;
    }
    (n, sx / n.max(1.0), sy / n.max(1.0))
}

/// Agreement of `mask` with `first` turned by `angle` (radians, clockwise on screen) about `c`.
fn rotated_agreement(first: &[bool], mask: &[bool], w: usize, h: usize, c: (f32, f32), angle: f32) -> usize {
    let (s, co) = angle.sin_cos();
    (0..w * h)
        .filter(|&p| {
            let (x, y) = ((p % w) as f32 - c.0, (p / w) as f32 - c.1);
            // Where this pixel was before a clockwise turn by `angle`.
            let (x0, y0) = (x * co + y * s + c.0, -x * s + y * co + c.1);
            let (xi, yi) = (x0.round(), y0.round());
            let before = xi >= 0.0
                && yi >= 0.0
                && (xi as usize) < w
                && (yi as usize) < h
                && first[yi as usize * w + xi as usize];
            before == mask[p]
        })
        .count()
}

/// Checks that the pixels of `frames` (rendered or decoded) show `scene.motion`.
fn assert_motion_visible(scene: &Scene, frames: &[u8], what: &str) {
    let (w, h) = (scene.width, scene.height);
    let m = masks(scene, frames);
    let first = moments(&m[0], w);
    let last = moments(&m[m.len() - 1], w);
    let (dx, dy) = (last.1 - first.1, last.2 - first.2);
    let span = w.min(h) as f32 * 0.2;
    let name = scene.motion.name();
    match scene.motion {
        Motion::MovingLeft => assert!(dx < -span && dy.abs() < span / 2.0, "{what} {name}: moved ({dx}, {dy})"),
        Motion::MovingRight => assert!(dx > span && dy.abs() < span / 2.0, "{what} {name}: moved ({dx}, {dy})"),
        Motion::MovingUp => assert!(dy < -span && dx.abs() < span / 2.0, "{what} {name}: moved ({dx}, {dy})"),
        Motion::MovingDown => assert!(dy > span && dx.abs() < span / 2.0, "{what} {name}: moved ({dx}, {dy})"),
        Motion::MovingUpRight => assert!(dx > span / 2.0 && dy < -span / 2.0, "{what} {name}: moved ({dx}, {dy})"),
        Motion::MovingDownLeft => assert!(dx < -span / 2.0 && dy > span / 2.0, "{what} {name}: moved ({dx}, {dy})"),
        Motion::Growing => assert!(last.0 > 4.0 * first.0, "{what} {name}: area {} -> {}", first.0, last.0),
        Motion::Shrinking => assert!(first.0 > 4.0 * last.0, "{what} {name}: area {} -> {}", first.0, last.0),
        Motion::Blinking => {
            let areas: Vec<f32> = m.iter().map(|f| moments(f, w).0).collect();
            let full = areas.iter().cloned().fold(0.0, f32::max);
            let off = areas.iter().filter(|a| **a < full * 0.1).count();
            let on = areas.iter().filter(|a| **a > full * 0.7).count();
            assert!(off >= areas.len() / 4 && on >= areas.len() / 4, "{what} {name}: areas {areas:?}");
        }
        Motion::StandingStill => {
            assert!(
                dx.abs() < 1.0 && dy.abs() < 1.0 && (last.0 - first.0).abs() < first.0 * 0.2,
                "{what} {name}: ({dx}, {dy})"
            );
        }
        Motion::RotatingClockwise | Motion::RotatingCounterclockwise => {
            // (A triangle's centroid circles the rotation centre a little.)
            assert!(dx.abs() < span / 2.0 && dy.abs() < span / 2.0, "{what} {name}: centre moved ({dx}, {dy})");
            // A quarter of the clip later, the shape matches frame 0 turned the right way.
            let k = m.len() / 4;
            let turn = scene.angle.1.abs() * k as f32;
            let c = scene.start;
            let cw = rotated_agreement(&m[0], &m[k], w, h, c, turn);
            let ccw = rotated_agreement(&m[0], &m[k], w, h, c, -turn);
            let clockwise = scene.motion == Motion::RotatingClockwise;
            assert!(
                if clockwise { cw > ccw } else { ccw > cw },
                "{what} {name}: clockwise fit {cw}, counterclockwise fit {ccw}"
            );
        }
    }
}

#[test]
fn every_motion_is_visible_in_rendered_frames() {
    let options = DatasetOptions { classes: 12, frames: 32, ..DatasetOptions::default() };
    for class in 0..12 {
        for video in 0..6 {
            let scene = scene_for(&options, class, video);
            assert_eq!(scene.motion, Motion::ALL[class]);
            assert_motion_visible(&scene, &scene.render(), &format!("video {video}"));
        }
    }
}

#[test]
fn scenes_are_deterministic_and_vary_with_seed_and_video() {
    let options = DatasetOptions::default();
    let a = scene_for(&options, 2, 5);
    assert_eq!(a, scene_for(&options, 2, 5));
    assert_eq!(a.render(), scene_for(&options, 2, 5).render());
    let b = scene_for(&options, 2, 6);
    let c = scene_for(&DatasetOptions { seed: 1, ..options.clone() }, 2, 5);
    assert!(a.color != b.color || a.start != b.start, "videos 5 and 6 look alike");
    assert!(a.color != c.color || a.start != c.start, "seeds 0 and 1 look alike");
    assert_eq!(a.render().len(), 32 * 64 * 64 * 3);
}

#[test]
fn dataset_layout_lists_and_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = DatasetOptions {
        videos_per_class: 7,
        frames: 16,
        width: 48,
        height: 32,
        seed: 11,
        ..DatasetOptions::default()
    };
    let summary = write_dataset(dir.path(), &options).expect("write dataset");
    let names: Vec<&str> = Motion::ALL[..8].iter().map(|m| m.name()).collect();
    assert_eq!(summary.class_names, names);
    assert_eq!(names[0], "moving left");
    // 7 per class: 1 val, 1 test, 5 train.
    assert_eq!(options.split_counts(), (5, 1, 1));
    assert_eq!(summary.split_sizes, (40, 8, 8));
    let label_map = std::fs::read_to_string(dir.path().join("label_map.txt")).expect("label map");
    assert_eq!(label_map.lines().collect::<Vec<_>>(), names);

    let mut seen = std::collections::HashSet::new();
    for (file, per_class) in [("train_list.txt", 5), ("val_list.txt", 1), ("test_list.txt", 1)] {
        let text = std::fs::read_to_string(dir.path().join(file)).expect("list");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), per_class * 8, "{file}");
        for line in lines {
            let (rel, label) = line.rsplit_once(' ').expect("path label");
            let label: usize = label.parse().expect("label");
            let slug = Motion::ALL[label].slug();
            assert!(rel.starts_with(&format!("videos/{slug}/{slug}_")) && rel.ends_with(".mp4"), "{file}: {line}");
            assert!(seen.insert(rel.to_string()), "{rel} listed twice");
            let path = dir.path().join(rel);
            let info = VideoReader::open(&path).expect("open").info().clone();
            assert_eq!((info.frame_count, info.width, info.height), (16, 48, 32), "{rel}");
            assert_eq!(info.fps, 16.0);
        }
    }
    assert_eq!(seen.len(), 56);

    // Same seed, same files, byte for byte.
    let again = tempfile::tempdir().expect("tempdir");
    write_dataset(again.path(), &options).expect("write again");
    for rel in ["videos/moving_left/moving_left_000.mp4", "videos/blinking/blinking_006.mp4", "train_list.txt"] {
        let a = std::fs::read(dir.path().join(rel)).expect("a");
        let b = std::fs::read(again.path().join(rel)).expect("b");
        assert!(a == b, "{rel} differs between two runs with the same seed");
    }
}

#[test]
fn motion_survives_encoding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = DatasetOptions { videos_per_class: 3, ..DatasetOptions::default() };
    write_dataset(dir.path(), &options).expect("write dataset");
    for (class, motion) in Motion::ALL[..8].iter().enumerate() {
        let video = 2;
        let rel = format!("videos/{0}/{0}_{video:03}.mp4", motion.slug());
        let mut reader = VideoReader::open(dir.path().join(&rel)).expect("open");
        let all: Vec<usize> = (0..options.frames).collect();
        let decoded = reader.read_frames(&all).expect("decode");
        let scene = scene_for(&options, class, video);
        let mad = decoded
            .data
            .iter()
            .zip(scene.render())
            .map(|(a, b)| (i32::from(*a) - i32::from(b)).unsigned_abs())
            .sum::<u32>() as f64
            / decoded.data.len() as f64;
        assert!(mad < 8.0, "{rel}: decoded frames differ from the rendered ones by {mad} on average");
        assert_motion_visible(&scene, &decoded.data, &rel);
    }
}

#[test]
fn options_are_validated() {
    let err = |o: DatasetOptions| match o.validate() {
        Err(DatasetError::InvalidOptions(m)) => m,
        other => panic!("expected an error, got {other:?}"),
    };
    let d = DatasetOptions::default;
    assert_eq!(err(DatasetOptions { classes: 13, ..d() }), "classes must be 1..=12, got 13");
    assert_eq!(err(DatasetOptions { classes: 0, ..d() }), "classes must be 1..=12, got 0");
    assert_eq!(
        err(DatasetOptions { videos_per_class: 2, ..d() }),
        "videos-per-class must be at least 3 (one per split), got 2"
    );
    assert_eq!(err(DatasetOptions { frames: 7, ..d() }), "frames must be 8..=10000, got 7");
    assert_eq!(err(DatasetOptions { width: 65, ..d() }), "width must be even and 16..=1024, got 65");
    assert!(d().validate().is_ok());
    assert_eq!(parse_size("96x64").expect("size"), (96, 64));
    assert_eq!(parse_size(" 32X48").expect("size"), (32, 48));
    let bad = parse_size("96*64").expect_err("bad size").to_string();
    assert_eq!(bad, "invalid synthetic dataset options: size must look like 64x64 (WIDTHxHEIGHT), got \"96*64\"");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").expect("write");
    let e = write_dataset(&file, &d()).expect_err("output is a file");
    assert!(matches!(e, DatasetError::Io { .. }) && e.to_string().contains("creating the directory"), "{e}");
}

#[test]
fn a_sequence_puts_motions_in_a_row_and_is_the_same_each_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = DatasetOptions { frames: 16, width: 48, height: 32, seed: 3, ..DatasetOptions::default() };
    let path = dir.path().join("seq.mp4");
    let parts = kinema_video::synthetic::write_sequence(&path, &options, &[4, 0, 1]).expect("write");
    let spans: Vec<(usize, usize, &str)> = parts.iter().map(|p| (p.start, p.end, p.name)).collect();
    assert_eq!(spans, [(0, 16, Motion::ALL[4].name()), (16, 32, "moving left"), (32, 48, "moving right")]);
    let info = VideoReader::open(&path).expect("open").info().clone();
    assert_eq!((info.frame_count, info.width, info.height), (48, 48, 32));
    // Each part shows its motion: the shape of part 2 moves left, part 3 right.
    let mut reader = VideoReader::open(&path).expect("open");
    let frames = reader.read_frames(&(0..48).collect::<Vec<_>>()).expect("decode");
    for (part, class) in [(1usize, 0usize), (2, 1)] {
        let scene = scene_for(&options, class, 1_000_000 + part);
        let start = part * 16 * 48 * 32 * 3;
        assert_motion_visible(&scene, &frames.data[start..start + 16 * 48 * 32 * 3], Motion::ALL[class].name());
    }
    let again = dir.path().join("again.mp4");
    kinema_video::synthetic::write_sequence(&again, &options, &[4, 0, 1]).expect("write again");
    assert!(std::fs::read(&path).unwrap() == std::fs::read(&again).unwrap(), "the same options wrote other bytes");
    let err = kinema_video::synthetic::write_sequence(&again, &options, &[99]).unwrap_err().to_string();
    assert!(err.contains("class 99 does not exist"), "{err}");
}

#[test]
fn a_dataset_is_byte_identical_whatever_the_thread_count() {
    let opts =
        DatasetOptions { classes: 3, videos_per_class: 5, frames: 12, width: 32, height: 32, ..Default::default() };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_dataset(a.path(), &opts).unwrap();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    one.install(|| write_dataset(b.path(), &opts)).unwrap();
    let files = |root: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                    out.push((rel, std::fs::read(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    };
    let (fa, fb) = (files(a.path()), files(b.path()));
    assert_eq!(fa.len(), 3 * 5 + 4, "videos, three lists and the label map");
    assert!(fa == fb, "the parallel and the one-thread runs wrote different bytes");
    let train = std::fs::read_to_string(a.path().join("train_list.txt")).unwrap();
    assert!(train.starts_with("videos/moving_left/moving_left_000.mp4 0\n"), "{train}");
}
