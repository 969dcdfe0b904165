//! Log lines and scalar dicts compared with MMEngine 0.10.7's `LogProcessor`, run on the same
//! message-hub contents with a mock runner (CUDA memory patched to 12345 MB). Each expected
//! line and JSON string below is what MMEngine printed and what `json.dumps(tag)` gave.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use kinema_logging::json_lines::to_python_json;
use kinema_logging::{LogProcessor, LogProcessorConfig, LoopState, MessageHub, Mode, ScalarDict};

fn processor(window_size: usize, by_epoch: bool, log_with_hierarchy: bool) -> LogProcessor {
    let config = LogProcessorConfig { window_size, by_epoch, log_with_hierarchy, ..LogProcessorConfig::default() };
    LogProcessor::new(config).expect("valid config")
}

/// 25 train iterations, logged in MMEngine's hook order.
fn train_hub() -> MessageHub {
    let mut hub = MessageHub::new();
    for i in 0..25 {
        let i = f64::from(i);
        hub.update_scalar("train/base_lr", 5e-8 * (i + 1.0));
        hub.update_scalar("train/lr", 5e-8 * (i + 1.0));
        hub.update_scalar("train/data_time", 0.1 + 0.001 * i);
        hub.update_scalar("train/loss", 1.0 + 0.1 * i);
        hub.update_scalar("train/sim_loss_v2t", 0.5 + 0.05 * i);
        hub.update_scalar("train/sim_loss_t2v", 0.5 + 0.05 * i + 0.001);
        hub.update_scalar("train/grad_norm", 3.0 + i);
        hub.update_scalar("train/scale", 100.0 + i);
        hub.update_scalar("train/time", 1.0 + 0.01 * i);
    }
    hub
}

fn with_step(tag: &ScalarDict, step: u64) -> String {
    let mut d = tag.clone();
    d.set_default("step", step);
    to_python_json(&d)
}

fn train_state() -> LoopState {
    LoopState {
        batch_idx: 24,
        dataloader_len: 270,
        epoch: 0,
        iter: 24,
        max_epochs: Some(50),
        max_iters: 13500,
        eta_secs: Some(123_456.7),
        memory_mb: Some(12345),
    }
}

const TRAIN_TAIL: &str = "base_lr: 1.2500e-06 lr: 1.2500e-06  eta: 1 day, 10:17:36  time: 1.1450  data_time: 0.1145  memory: 12345  loss: 2.4500  sim_loss_v2t: 1.2250  sim_loss_t2v: 1.2260  grad_norm: 17.5000  scale: 124.0000";
const TRAIN_JSON: &str = r#""base_lr": 1.2499999999999999e-06, "lr": 1.2499999999999999e-06, "data_time": 0.11450000000000002, "loss": 2.45, "sim_loss_v2t": 1.225, "sim_loss_t2v": 1.2259999999999998, "grad_norm": 17.5, "scale": 124.0, "time": 1.145"#;

#[test]
fn train_line_by_epoch_averages_window_and_matches_mmengine() {
    let hub = train_hub();
    let out = processor(20, true, false).after_iter(&hub, Mode::Train, &train_state());
    assert_eq!(out.line, format!("Epoch(train)  [1][ 25/270]  {TRAIN_TAIL}"));
    assert_eq!(
        with_step(&out.tag, 25),
        format!(r#"{{{TRAIN_JSON}, "epoch": 1, "iter": 25, "memory": 12345, "step": 25}}"#)
    );
    // Window averaging: loss over the last 20 of 25 values (1.5 .. 3.4), scale is current.
    assert_eq!(out.tag.get("loss").map(|v| v.as_f64()), Some(2.45));
    assert_eq!(out.tag.get("scale").map(|v| v.as_f64()), Some(124.0));

    let state = LoopState { epoch: 2, max_epochs: Some(9), ..train_state() };
    let out = processor(20, true, false).after_iter(&hub, Mode::Train, &state);
    assert_eq!(out.line, format!("Epoch(train) [3][ 25/270]  {TRAIN_TAIL}"));
}

#[test]
fn train_line_by_iter_and_with_hierarchy() {
    let hub = train_hub();
    let state = LoopState { batch_idx: 99, iter: 99, max_iters: 1000, ..train_state() };
    let out = processor(20, false, false).after_iter(&hub, Mode::Train, &state);
    assert_eq!(out.line, format!("Iter(train) [ 100/1000]  {TRAIN_TAIL}"));
    assert_eq!(with_step(&out.tag, 100), format!(r#"{{{TRAIN_JSON}, "iter": 100, "memory": 12345, "step": 100}}"#));

    let out = processor(20, true, true).after_iter(&hub, Mode::Train, &train_state());
    assert_eq!(out.line, format!("Epoch(train)  [1][ 25/270]  {TRAIN_TAIL}"));
    assert_eq!(
        with_step(&out.tag, 25),
        r#"{"train/base_lr": 1.2499999999999999e-06, "train/lr": 1.2499999999999999e-06, "train/data_time": 0.11450000000000002, "train/loss": 2.45, "train/sim_loss_v2t": 1.225, "train/sim_loss_t2v": 1.2259999999999998, "train/grad_norm": 17.5, "train/scale": 124.0, "train/time": 1.145, "epoch": 1, "iter": 25, "memory": 12345, "step": 25}"#
    );
}

#[test]
fn train_line_without_timer_or_memory_omits_them() {
    let mut hub = MessageHub::new();
    hub.update_scalar("train/lr", 0.001);
    hub.update_scalar("train/loss", 0.5);
    let state = LoopState { eta_secs: None, memory_mb: None, ..train_state() };
    let out = processor(20, true, false).after_iter(&hub, Mode::Train, &state);
    assert_eq!(out.line, "Epoch(train)  [1][ 25/270]  lr: 1.0000e-03  loss: 0.5000");
}

fn val_hub() -> MessageHub {
    let mut hub = train_hub();
    for i in 0..10 {
        let i = f64::from(i);
        hub.update_scalar("val/data_time", 0.01 + 0.002 * i);
        hub.update_scalar("val/time", 0.2 + 0.01 * i);
    }
    hub
}

fn val_state(batch_idx: usize) -> LoopState {
    LoopState { batch_idx, dataloader_len: 10, epoch: 1, iter: 270, eta_secs: Some(3.2), ..train_state() }
}

#[test]
fn val_iteration_and_epoch_summary_match_mmengine() {
    let mut hub = val_hub();
    let p = processor(20, true, false);
    let out = p.after_iter(&hub, Mode::Val, &val_state(4));
    assert_eq!(out.line, "Epoch(val)  [1][ 5/10]    eta: 0:00:03  time: 0.2450  data_time: 0.0190  memory: 12345  ");
    assert_eq!(
        to_python_json(&out.tag),
        r#"{"data_time": 0.019, "time": 0.24500000000000002, "epoch": 1, "iter": 271, "memory": 12345}"#
    );

    for (k, v) in [("acc/top1", 0.8125), ("acc/top5", 0.95), ("acc/mean1", 0.7999999)] {
        hub.update_scalar(&format!("val/{k}"), v);
    }
    let out = p.after_epoch(&hub, Mode::Val, &val_state(9));
    assert_eq!(
        out.line,
        "Epoch(val) [1][10/10]    acc/top1: 0.8125  acc/top5: 0.9500  acc/mean1: 0.8000  data_time: 0.0190  time: 0.2450"
    );
    assert_eq!(
        with_step(&out.tag, 1),
        r#"{"acc/top1": 0.8125, "acc/top5": 0.95, "acc/mean1": 0.7999999, "data_time": 0.019, "time": 0.24500000000000002, "step": 1}"#
    );

    let out = processor(20, true, true).after_epoch(&hub, Mode::Val, &val_state(9));
    assert_eq!(
        out.line,
        "Epoch(val) [1][10/10]    val/acc/top1: 0.8125  val/acc/top5: 0.9500  val/acc/mean1: 0.8000  val/data_time: 0.0190  val/time: 0.2450"
    );
}

#[test]
fn test_loop_without_train_loop_matches_mmengine() {
    let mut hub = MessageHub::new();
    for i in 0..7 {
        let i = f64::from(i);
        hub.update_scalar("test/data_time", 0.02 + 0.001 * i);
        hub.update_scalar("test/time", 0.3 + 0.02 * i);
    }
    let state = LoopState {
        batch_idx: 2,
        dataloader_len: 7,
        epoch: 0,
        iter: 0,
        max_epochs: None,
        max_iters: 0,
        eta_secs: Some(61.0),
        memory_mb: Some(12345),
    };
    let p = processor(20, true, false);
    let out = p.after_iter(&hub, Mode::Test, &state);
    assert_eq!(out.line, "Epoch(test) [3/7]    eta: 0:01:01  time: 0.3600  data_time: 0.0230  memory: 12345  ");
    assert_eq!(
        to_python_json(&out.tag),
        r#"{"data_time": 0.022999999999999996, "time": 0.35999999999999993, "iter": 0, "memory": 12345}"#
    );
    // A val loop without a train loop shows epoch 0 without alignment.
    let out = p.after_iter(&hub, Mode::Val, &LoopState { dataloader_len: 10, ..state });
    assert_eq!(out.line, "Epoch(val)[0][ 3/10]    memory: 12345  ");

    hub.update_scalar("test/acc/top1", 0.5);
    hub.update_scalar("test/acc/top5", 0.75);
    let out = p.after_epoch(&hub, Mode::Test, &state);
    assert_eq!(out.line, "Epoch(test) [7/7]    acc/top1: 0.5000  acc/top5: 0.7500  data_time: 0.0230  time: 0.3600");
    assert_eq!(
        to_python_json(&out.tag),
        r#"{"acc/top1": 0.5, "acc/top5": 0.75, "data_time": 0.022999999999999996, "time": 0.35999999999999993}"#
    );
}

#[test]
fn config_is_validated_and_parsed_from_toml_like_values() {
    let bad = LogProcessorConfig { window_size: 0, ..LogProcessorConfig::default() };
    assert!(LogProcessor::new(bad).expect_err("window 0").to_string().contains("window_size"));
    let bad = LogProcessorConfig { mean_pattern: "(".to_string(), ..LogProcessorConfig::default() };
    assert!(LogProcessor::new(bad).expect_err("regex").to_string().contains("mean_pattern"));
    let cfg: LogProcessorConfig =
        serde_json::from_str(r#"{"type": "LogProcessor", "window_size": 20, "by_epoch": true}"#).expect("parse");
    assert_eq!(cfg.window_size, 20);
    assert_eq!(cfg.num_digits, 4);
    assert!(serde_json::from_str::<LogProcessorConfig>(r#"{"window": 20}"#).is_err());
    let other = LogProcessorConfig { kind: Some("Custom".to_string()), ..LogProcessorConfig::default() };
    assert!(LogProcessor::new(other).is_err());
}
