//! MMAction2 parity of the ResNet pieces, against `tests/fixtures/recognition/`
//! (`tests/reference/make_tsn_tsm_reference.py`, mmaction2 1.2.0): the temporal shift is
//! exact; a ResNet-18's train-mode forward with and without `norm_eval` matches, with the
//! running statistics it updates (or keeps); key names and the torchvision mapping.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../../tests/support/formula_weights.rs"]
mod formula_weights;

use kinema_core::config::KeyPath;
use kinema_core::registry::{build, BuildSite};
use kinema_models::backbones::{BackboneKind, TemporalShift};
use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/recognition/tsn_tsm_reference.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn values(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(&t.to_kind(Kind::Double).flatten(0, -1)).unwrap()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * w.abs().max(1.0), "{what}[{i}]: {g} vs {w}");
    }
}

#[test]
fn temporal_shift_is_exact() {
    let case = &reference()["cases"]["temporal_shift"];
    let x = Tensor::arange(1024, (Kind::Float, Device::Cpu)).view([16, 16, 2, 2]);
    let shift = TemporalShift { num_segments: 8, shift_div: 8 };
    let out = shift.apply(&x).unwrap();
    assert_eq!(out.size(), [16, 16, 2, 2]);
    let want: Vec<f64> = floats(&case["output_flat"]);
    assert_eq!(values(&out), want);
    let err = shift.apply(&Tensor::zeros([12, 16, 2, 2], (Kind::Float, Device::Cpu))).unwrap_err().to_string();
    assert_eq!(
        err,
        "temporal_shift: expected [N*T, C, H, W] with N*T a multiple of num_segments = 8, got [12, 16, 2, 2]"
    );
}

fn resnet18(norm_eval: bool) -> (nn::VarStore, Box<dyn kinema_models::backbones::Backbone>) {
    let site = BuildSite::detached(KeyPath::parse("model.backbone"));
    let spec = build::<BackboneKind>(&json!({"type": "ResNet", "depth": 18, "norm_eval": norm_eval}), &site, &())
        .unwrap()
        .into_inner();
    let vs = nn::VarStore::new(Device::Cpu);
    let net = spec.instantiate(&vs.root()).unwrap();
    formula_weights::fill_var_store(&vs, None);
    (vs, net)
}

fn get(vs: &nn::VarStore, name: &str) -> Tensor {
    vs.variables()[name].shallow_clone()
}

#[test]
fn batch_norm_in_training_and_with_norm_eval_matches_mmaction2() {
    let case = &reference()["cases"]["bn_train_vs_eval"];
    let input = formula_weights::formula_tensor(2000, &[2, 3, 64, 64], |x| 2.0 * x);
    for (key, norm_eval) in [("norm_eval_false", false), ("norm_eval_true", true)] {
        let want = &case[key];
        let (vs, net) = resnet18(norm_eval);
        let before: Vec<(String, Tensor)> = vs.variables().into_iter().map(|(n, t)| (n, t.copy())).collect();
        let out = tch::no_grad(|| net.forward(&input, true)).unwrap().remove(0);
        assert_eq!(out.size(), [2, 512, 2, 2], "{key}");
        let sum = out.sum(Kind::Double).double_value(&[]);
        let want_sum = want["output_sum"].as_f64().unwrap();
        assert!((sum - want_sum).abs() < 1e-5 * want_sum.abs(), "{key}: sum {sum} vs {want_sum}");
        assert_close(&values(&out)[..16], &floats(&want["output_first16"]), 1e-5, key);
        for (stat, name) in [("running_mean", "conv1.bn.running_mean"), ("running_var", "conv1.bn.running_var")] {
            let after = values(&get(&vs, name));
            assert_close(&after[..8], &floats(&want[format!("conv1_bn_{stat}_after_first8")]), 1e-5, name);
        }
        let counter = get(&vs, "conv1.bn.num_batches_tracked").int64_value(&[]);
        assert_eq!(counter, want["conv1_bn_num_batches_tracked_after"].as_i64().unwrap(), "{key}");
        let deep = values(&get(&vs, "layer4.1.conv2.bn.running_var"));
        assert_close(&deep[..8], &floats(&want["layer4_1_conv2_bn_running_var_after_first8"]), 1e-5, key);
        let changed = before.iter().any(|(n, t)| get(&vs, n).not_equal_tensor(t).any().int64_value(&[]) != 0);
        assert_eq!(changed, want["any_buffer_changed"].as_bool().unwrap(), "{key}");
    }
}
