//! SampleFrames indices against upstream MMAction2 (shared fixtures made by the real
//! code) and against a numpy re-derivation of its formulas for the cases those
//! fixtures do not cover (tests/reference/sample_frames_data_reference.py).
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use kinema_core::registry::{build, BuildSite};
use kinema_core::rng::sample_rng;
use kinema_data::transforms::{sample_frame_indices, OutOfBound, SampleFramesConfig};
use kinema_data::{Sample, TransformKind};
use serde_json::{json, Value};

fn load(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(common::fixture(rel)).unwrap()).unwrap()
}

fn config(p: &Value) -> SampleFramesConfig {
    SampleFramesConfig {
        clip_len: p["clip_len"].as_u64().unwrap() as usize,
        frame_interval: p["frame_interval"].as_u64().unwrap() as usize,
        num_clips: p["num_clips"].as_u64().unwrap() as usize,
        temporal_jitter: false,
        twice_sample: p.get("twice_sample").and_then(Value::as_bool).unwrap_or(false),
        out_of_bound_opt: match p["out_of_bound_opt"].as_str().unwrap() {
            "loop" => OutOfBound::Loop,
            _ => OutOfBound::RepeatLast,
        },
        test_mode: p["test_mode"].as_bool().unwrap(),
        keep_tail_frames: p.get("keep_tail_frames").and_then(Value::as_bool).unwrap_or(false),
        target_fps: p.get("target_fps").and_then(Value::as_f64),
        start_index: None,
    }
}

fn indices(p: &Value, total: usize, fps: Option<f64>, seed: u64) -> Vec<i64> {
    let start = p["start_index"].as_i64().unwrap();
    sample_frame_indices(&config(p), total, fps, start, &mut sample_rng(seed, 0, 0)).unwrap()
}

fn as_i64s(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

#[test]
fn test_mode_matches_upstream_exactly() {
    let cases = load("sampling/sample_frames_test_mode.json");
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 55);
    for c in cases {
        let total = c["total_frames"].as_u64().unwrap() as usize;
        let got = indices(&c["params"], total, None, 0);
        assert_eq!(got, as_i64s(&c["indices"]), "case {c}");
    }
}

#[test]
fn train_mode_stays_in_upstream_ranges_and_covers_them() {
    let cases = load("sampling/sample_frames_train_mode.json");
    for c in cases.as_array().unwrap() {
        let total = c["total_frames"].as_u64().unwrap() as usize;
        let ranges: Vec<(i64, i64)> = c["allowed_range_per_position"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r[0].as_i64().unwrap(), r[1].as_i64().unwrap()))
            .collect();
        let mut lo = vec![i64::MAX; ranges.len()];
        let mut hi = vec![i64::MIN; ranges.len()];
        for seed in 0..400 {
            let got = indices(&c["params"], total, None, seed);
            assert_eq!(got.len(), ranges.len());
            for (k, (&v, &(a, b))) in got.iter().zip(&ranges).enumerate() {
                assert!(a <= v && v <= b, "case {c}: position {k} = {v} outside [{a}, {b}]");
                lo[k] = lo[k].min(v);
                hi[k] = hi[k].max(v);
            }
            if c["deterministic"].as_bool().unwrap() {
                assert_eq!(got, as_i64s(&c["np_seeded"]["0"]), "deterministic case {c}");
            }
        }
        // Narrow ranges must be covered end to end in 400 draws (the draws are uniform).
        for (k, &(a, b)) in ranges.iter().enumerate() {
            if b - a <= 8 {
                assert_eq!((lo[k], hi[k]), (a, b), "case {c}: position {k} never reached an end of its range");
            }
        }
    }
}

#[test]
fn extra_cases_from_the_numpy_re_derivation() {
    let extra = load("sampling/sample_frames_extra.json");
    for c in extra["test"].as_array().unwrap() {
        let total = c["total_frames"].as_u64().unwrap() as usize;
        let got = indices(&c["params"], total, c["avg_fps"].as_f64(), 0);
        assert_eq!(got, as_i64s(&c["indices"]), "case {c}");
    }
    for c in extra["train"].as_array().unwrap() {
        let total = c["total_frames"].as_u64().unwrap() as usize;
        let (lo, hi) = (as_i64s(&c["min"]), as_i64s(&c["max"]));
        let mut seen_lo = vec![i64::MAX; lo.len()];
        let mut seen_hi = vec![i64::MIN; lo.len()];
        for seed in 0..300 {
            let got = indices(&c["params"], total, c["avg_fps"].as_f64(), seed);
            for k in 0..lo.len() {
                assert!(lo[k] <= got[k] && got[k] <= hi[k], "case {c}: position {k} = {}", got[k]);
                seen_lo[k] = seen_lo[k].min(got[k]);
                seen_hi[k] = seen_hi[k].max(got[k]);
            }
        }
        for k in 0..lo.len() {
            if hi[k] - lo[k] <= 4 {
                assert_eq!((seen_lo[k], seen_hi[k]), (lo[k], hi[k]), "case {c}: position {k}");
            }
        }
    }
}

#[test]
fn hand_derived_cases() {
    // clip_len = 1 test mode, N = 300, T = 8: floor((2i + 1) * 300 / 16) (upstream-reference §2.3).
    let p = json!({"clip_len": 1, "frame_interval": 1, "num_clips": 8, "test_mode": true,
                   "out_of_bound_opt": "loop", "start_index": 0});
    assert_eq!(indices(&p, 300, None, 0), vec![18, 56, 93, 131, 168, 206, 243, 281]);
    // 3D test mode, N = 10, clip_len 4, interval 3: ori = 10, max_offset = 0, one clip at
    // 0 // 2 = 0: 0, 3, 6, 9.
    let p = json!({"clip_len": 4, "frame_interval": 3, "num_clips": 1, "test_mode": true,
                   "out_of_bound_opt": "loop", "start_index": 0});
    assert_eq!(indices(&p, 10, None, 0), vec![0, 3, 6, 9]);
    // ...with N = 8 'loop' wraps 9 -> 1, 'repeat_last' repeats 6.
    assert_eq!(indices(&p, 8, None, 0), vec![0, 3, 6, 1]);
    let p = json!({"clip_len": 4, "frame_interval": 3, "num_clips": 1, "test_mode": true,
                   "out_of_bound_opt": "repeat_last", "start_index": 1});
    assert_eq!(indices(&p, 8, None, 0), vec![1, 4, 7, 7]);
}

#[test]
fn temporal_jitter_stays_within_the_interval() {
    let mut cfg = config(&json!({"clip_len": 4, "frame_interval": 4, "num_clips": 1, "test_mode": true,
                                 "out_of_bound_opt": "loop", "start_index": 0}));
    cfg.temporal_jitter = true;
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let got = sample_frame_indices(&cfg, 100, None, 0, &mut sample_rng(seed, 0, 0)).unwrap();
        // test-mode offset: round(max(100 - 13, 0) / 2) -> 87 // 2 = 43
        for (j, v) in got.iter().enumerate() {
            let base = 43 + 4 * j as i64;
            assert!((base..base + 4).contains(v));
            seen.insert(v - base);
        }
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
}

#[test]
fn registered_transform_sets_fields_and_rejects_bad_input() {
    let site = BuildSite::detached(Default::default());
    let t = build::<TransformKind>(
        &json!({"type": "SampleFrames", "clip_len": 1, "num_clips": 8, "test_mode": true}),
        &site,
        &(),
    )
    .unwrap();
    assert_eq!(
        t.resolved_config(),
        json!({"type": "SampleFrames", "clip_len": 1, "frame_interval": 1, "num_clips": 8, "temporal_jitter": false,
               "twice_sample": false, "out_of_bound_opt": "loop", "test_mode": true, "keep_tail_frames": false,
               "target_fps": null, "start_index": null})
    );
    let mut s = Sample { total_frames: Some(120), ..Sample::default() };
    t.component.apply(&mut s, &mut sample_rng(0, 0, 0)).unwrap();
    // The carphone video (120 frames): upstream's recorded indices.
    assert_eq!(s.frame_inds, Some(vec![7, 22, 37, 52, 67, 82, 97, 112]));
    assert_eq!((s.clip_len, s.frame_interval, s.num_clips), (Some(1), Some(1), Some(8)));

    let mut empty = Sample { total_frames: Some(0), ..Sample::default() };
    let err = t.component.apply(&mut empty, &mut sample_rng(0, 0, 0)).unwrap_err();
    assert_eq!(err.to_string(), "the video has 0 frames");
    let err = t.component.apply(&mut Sample::default(), &mut sample_rng(0, 0, 0)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the sample has no `total_frames`; put a transform that sets it earlier in the pipeline"
    );

    let bad = build::<TransformKind>(
        &json!({"type": "SampleFrames", "clip_len": 4, "num_clips": 1, "test_mode": true, "twice_sample": true}),
        &site,
        &(),
    );
    assert_eq!(
        bad.err().unwrap().to_string(),
        "<set by the program>: `twice_sample`: twice_sample with clip_len > 1 needs num_clips > 1 (upstream divides by num_clips - 1) (in transform SampleFrames)"
    );
}
