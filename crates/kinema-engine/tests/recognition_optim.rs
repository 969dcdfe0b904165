//! Training arithmetic of TSN and TSM against MMAction2 1.2.0 / MMEngine 0.10.7
//! (`tests/reference/make_tsn_tsm_reference.py`): the CE loss, top-k accuracies and two
//! SGD steps (momentum, weight decay, `clip_grad`) of a small TSN; the seven
//! `TSMOptimWrapperConstructor` groups of a small TSM and one step with them; the LR
//! tables of the TSN and TSM configs' schedules over those groups.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../../tests/support/formula_weights.rs"]
mod formula_weights;

use kinema_core::config::KeyPath;
use kinema_core::registry::{build, BuildSite};
use kinema_engine::runner::params::named_trainable;
use kinema_models::recognizer::{LocalGather, ModelBatch, ModelContext, Recognizer, RecognizerKind, StepEnv};
use kinema_optim::{build_optim_wrapper, OptimContext, OptimWrapper, ParamSchedulers, SchedulerContext};
use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/recognition/tsn_tsm_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn first(t: &Tensor, n: i64) -> Vec<f64> {
    Vec::<f64>::try_from(&t.to_kind(Kind::Double).flatten(0, -1).narrow(0, 0, n)).unwrap()
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol * want.abs().max(1.0), "{what}: {got} vs MMAction2 {want}");
}

fn close_all(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        close(*g, *w, tol, &format!("{what}[{i}]"));
    }
}

const MEAN_STD: &str = r#""data_preprocessor": {"type": "ActionDataPreprocessor", "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375], "format_shape": "NCHW"}"#;

fn model(table: &str) -> Box<dyn Recognizer> {
    let value: Value = serde_json::from_str(table).unwrap();
    let ctx = ModelContext { device: Device::Cpu, seed: 0 };
    let site = BuildSite::detached(KeyPath::parse("model"));
    let mut m = build::<RecognizerKind>(&value, &site, &ctx).unwrap().into_inner();
    formula_weights::fill_var_store(m.var_store(), None);
    m.set_training(true);
    m
}

fn small_tsn() -> Box<dyn Recognizer> {
    model(&format!(
        r#"{{"type": "Recognizer2D", "backbone": {{"type": "ResNet", "depth": 18, "norm_eval": false}},
            "cls_head": {{"type": "TSNHead", "num_classes": 5, "in_channels": 512, "dropout_ratio": 0.0, "init_std": 0.01, "average_clips": "prob"}},
            {MEAN_STD}}}"#
    ))
}

fn small_tsm() -> Box<dyn Recognizer> {
    model(&format!(
        r#"{{"type": "Recognizer2D", "backbone": {{"type": "ResNetTSM", "depth": 18, "num_segments": 8, "pretrained2d": false}},
            "cls_head": {{"type": "TSMHead", "num_classes": 5, "in_channels": 512, "num_segments": 8, "dropout_ratio": 0.0}},
            {MEAN_STD}}}"#
    ))
}

/// Samples whose flattened values are `(j * 7 + s * 13) % 256`, stacked.
fn uint8_batch(samples: i64, shape: &[i64]) -> Tensor {
    let n: i64 = shape.iter().product();
    let all: Vec<u8> = (0..samples).flat_map(|s| (0..n).map(move |j| ((j * 7 + s * 13) % 256) as u8)).collect();
    let mut full = vec![samples];
    full.extend_from_slice(shape);
    Tensor::from_slice(&all).view(full.as_slice())
}

fn wrapper_for(m: &dyn Recognizer, cfg: &Value) -> OptimWrapper {
    let ctx = OptimContext { params: named_trainable(m.var_store()), device: Device::Cpu };
    let site = BuildSite::detached(KeyPath::parse("optim_wrapper"));
    *build_optim_wrapper(cfg, &site, &ctx).unwrap().into_inner()
}

/// One training iteration as the runner does it; (losses by name, pre-clip grad norm).
fn step(m: &mut dyn Recognizer, optim: &mut OptimWrapper, batch: &ModelBatch) -> (Vec<(String, f64)>, f64) {
    let losses = m.loss(batch, &StepEnv { seed: 0, gather: &LocalGather }).unwrap();
    let total =
        losses.iter().filter(|(k, _)| k.contains("loss")).map(|(_, t)| t.shallow_clone()).reduce(|a, b| a + b).unwrap();
    let info = optim.update_params(&total).unwrap();
    let logged = losses.iter().map(|(k, t)| (k.clone(), t.double_value(&[]))).collect();
    (logged, info.grad_norm.unwrap())
}

fn var(m: &dyn Recognizer, name: &str) -> Tensor {
    m.var_store().variables()[name].shallow_clone()
}

fn check_after_step(m: &dyn Recognizer, want: &Value, what: &str) {
    for (key, name, n) in [
        ("backbone.conv1.conv.weight_first8", "backbone.conv1.conv.weight", 8),
        ("cls_head.fc_cls.weight_first8", "cls_head.fc_cls.weight", 8),
        ("cls_head.fc_cls.bias", "cls_head.fc_cls.bias", 5),
        ("backbone.conv1.bn.running_mean_first8", "backbone.conv1.bn.running_mean", 8),
    ] {
        close_all(&first(&var(m, name), n), &floats(&want[key]), 1e-5, &format!("{what}: {name}"));
    }
}

#[test]
fn tsn_loss_and_two_sgd_steps_match_mmaction2() {
    let case = &reference()["cases"]["tsn_sgd_step"];
    for variant in ["clip40", "clip0_5"] {
        let want = &case[variant];
        let mut m = small_tsn();
        let cfg = json!({"optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0001}, "clip_grad": want["clip_grad"]});
        let mut optim = wrapper_for(m.as_ref(), &cfg);
        let batch = ModelBatch {
            inputs: uint8_batch(2, &[3, 3, 64, 64]),
            labels: Tensor::from_slice(&[1i64, 3]),
            indices: vec![0, 1],
            epoch: 0,
        };
        for s in want["steps"].as_array().unwrap() {
            let what = format!("{variant} step {}", s["step"]);
            let (losses, grad_norm) = step(m.as_mut(), &mut optim, &batch);
            let value = |k: &str| losses.iter().find(|(n, _)| n == k).unwrap().1;
            close(value("loss_cls"), s["loss_cls"].as_f64().unwrap(), 1e-5, &format!("{what}: loss_cls"));
            close(value("top1_acc"), s["top1_acc"].as_f64().unwrap(), 0.0, &format!("{what}: top1_acc"));
            close(value("top5_acc"), s["top5_acc"].as_f64().unwrap(), 0.0, &format!("{what}: top5_acc"));
            close(grad_norm, s["grad_norm_before_clip"].as_f64().unwrap(), 1e-5, &format!("{what}: grad norm"));
            check_after_step(m.as_ref(), &s["after_step"], &what);
        }
        let losses = m.loss(&batch, &StepEnv { seed: 0, gather: &LocalGather }).unwrap();
        close(losses[0].1.double_value(&[]), want["final_loss_after_steps"].as_f64().unwrap(), 1e-5, variant);
    }
}

#[test]
fn tsm_optimizer_groups_and_step_match_mmaction2() {
    let case = &reference()["cases"]["tsm_optim_groups"];
    let mut m = small_tsm();
    let mut cfg = case["optim_wrapper_cfg"].clone();
    cfg["constructor"] = json!("TSMOptimWrapperConstructor");
    cfg["paramwise_cfg"] = case["paramwise_cfg"].clone();
    let mut optim = wrapper_for(m.as_ref(), &cfg);
    let groups = optim.optimizer_groups();
    let want_groups = case["param_groups"].as_array().unwrap();
    assert_eq!(groups.len(), want_groups.len());
    for (g, w) in groups.iter().zip(want_groups) {
        let names: Vec<&str> = g.params().iter().map(|p| p.name.as_str()).collect();
        let want_names: Vec<&str> = w["params"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
        assert_eq!(names, want_names, "group {}", w["index"]);
        close(g.lr, w["lr"].as_f64().unwrap(), 1e-12, "lr");
        close(g.weight_decay, w["weight_decay"].as_f64().unwrap(), 1e-12, "weight_decay");
    }
    let batch = ModelBatch {
        inputs: uint8_batch(1, &[8, 3, 64, 64]),
        labels: Tensor::from_slice(&[2i64]),
        indices: vec![0],
        epoch: 0,
    };
    let want = &case["step"];
    let (losses, grad_norm) = step(m.as_mut(), &mut optim, &batch);
    close(losses[0].1, want["loss_cls"].as_f64().unwrap(), 1e-5, "TSM loss_cls");
    close(grad_norm, want["grad_norm_before_clip"].as_f64().unwrap(), 1e-5, "TSM grad norm");
    check_after_step(m.as_ref(), &want["after_step"], "TSM step");
    close_all(
        &first(&var(m.as_ref(), "cls_head.fc_cls.weight"), 2560),
        &floats(&case["fc_weight_after_step"]),
        1e-5,
        "fc weight",
    );
}

#[test]
fn tsn_and_tsm_lr_tables_equal_mmengine() {
    let tables = &reference()["cases"]["lr_tables"];
    for (key, mut m) in [("tsn", small_tsn()), ("tsm", small_tsm())] {
        let case = &tables[key];
        let mut cfg = case["optim_wrapper"].clone();
        cfg.as_object_mut().unwrap().remove("type");
        let mut optim = wrapper_for(m.as_mut(), &cfg);
        let ctx = SchedulerContext {
            epoch_length: case["epoch_length"].as_u64().unwrap() as usize,
            max_epochs: case["max_epochs"].as_u64().map(|v| v as usize),
            max_iters: case["max_iters"].as_u64().map(|v| v as usize),
        };
        let site = BuildSite::detached(KeyPath::parse("param_scheduler"));
        let mut schedulers =
            ParamSchedulers::build(&case["param_scheduler"], &site, &ctx, optim.param_groups_mut()).unwrap();
        let iters = case["iters"].as_u64().unwrap() as usize;
        for i in 0..iters {
            let lrs: Vec<f64> = optim.param_groups().iter().map(|g| g.lr).collect();
            let want = floats(&case["lr"][i]);
            assert_eq!(lrs.len(), want.len(), "{key}: groups");
            for (g, (a, e)) in lrs.iter().zip(&want).enumerate() {
                assert!((a - e).abs() <= 1e-12 * e.abs(), "{key}: lr of group {g} at iteration {i}: {a:e} vs {e:e}");
            }
            schedulers.step_iter(optim.param_groups_mut());
            if (i + 1) % ctx.epoch_length == 0 {
                schedulers.step_epoch(optim.param_groups_mut());
            }
        }
    }
}

/// `SyncBuffersHook`'s averaging between two ranks (threads on an in-process store):
/// running statistics become the mean; int64 counters follow MMEngine (sum, true
/// division, truncated when copied back).
#[test]
fn batch_norm_buffers_average_across_ranks_as_mmengine() {
    use kinema_torch::dist::{DistBackend, ProcessGroup, ProcessGroupOptions};
    let run = |rank: usize| {
        let opts = ProcessGroupOptions {
            backend: DistBackend::Gloo,
            master_addr: "127.0.0.1".into(),
            master_port: 41017,
            rank,
            world_size: 2,
            timeout: std::time::Duration::from_secs(20),
            connect_timeout: std::time::Duration::from_secs(20),
        };
        let pg = ProcessGroup::new_in_process(&opts).unwrap();
        let mean = Tensor::from_slice(&[1.0f32 + rank as f32, 10.0 * rank as f32]);
        let var = Tensor::from_slice(&[4.0f32, 2.0 + 2.0 * rank as f32]);
        let count = Tensor::from(100i64 + rank as i64);
        kinema_engine::dist::all_reduce_buffers(
            &pg,
            &[mean.shallow_clone(), count.shallow_clone(), var.shallow_clone()],
        )
        .unwrap();
        (Vec::<f32>::try_from(&mean).unwrap(), Vec::<f32>::try_from(&var).unwrap(), count.int64_value(&[]))
    };
    let handles: Vec<_> = (0..2).map(|r| std::thread::spawn(move || run(r))).collect();
    for h in handles {
        let (mean, var, count) = h.join().unwrap();
        assert_eq!(mean, [1.5, 5.0]);
        assert_eq!(var, [4.0, 3.0]);
        assert_eq!(count, 100, "(100 + 101) / 2 = 100.5, truncated");
    }
}
