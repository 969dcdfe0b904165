//! The original ActionCLIP's fusions and KL loss against PyTorch (reference script
//! `tests/reference/make_actionclip_adapter_fixtures.py`), within 1e-5.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use actionclip::adapters::AdapterDims;
use actionclip::checkpoint::spec::build_named;
use actionclip::losses::{KlLoss, VideoTextLoss};
use common::*;
use kinema_models::weights::{load_into_varstore, LoadMode};
use tch::{nn, Device, Tensor};

fn run(name: &str) -> f64 {
    let all = Tensor::read_safetensors(fixture("original_adapters.safetensors")).unwrap();
    let get = |k: &str| all.iter().find(|(n, _)| n == k).map(|(_, t)| t.shallow_clone()).unwrap();
    let prefix = format!("{name}/");
    let weights: Vec<(String, Tensor)> =
        all.iter().filter_map(|(k, t)| k.strip_prefix(&prefix).map(|k| (k.to_string(), t.shallow_clone()))).collect();
    let vs = nn::VarStore::new(Device::Cpu);
    let dims = AdapterDims { embed_dim: 32, text_width: 64, num_segs: 8, num_layers: 2 };
    let adapter = build_named(name).unwrap().instantiate(&(vs.root() / "adapter"), &dims).unwrap();
    let report = load_into_varstore(&vs, &weights, LoadMode::Strict, name).unwrap();
    assert_eq!(report.loaded, weights.len());
    let y = tch::no_grad(|| adapter.forward(&get("input"), false)).unwrap();
    max_abs(&y, &get(&format!("output.{name}")))
}

#[test]
fn transf_with_tf_layer_norm_matches_pytorch() {
    let d = run("Transf");
    assert!(d < 1e-5, "Transf differs by {d}");
}

#[test]
fn conv_1d_matches_pytorch() {
    let d = run("Conv_1D");
    assert!(d < 1e-5, "Conv_1D differs by {d}");
}

#[test]
fn lstm_matches_pytorch() {
    let d = run("LSTM");
    assert!(d < 1e-5, "LSTM differs by {d}");
}

#[test]
fn transf_cls_matches_pytorch() {
    let d = run("Transf_cls");
    assert!(d < 1e-5, "Transf_cls differs by {d}");
}

#[test]
fn conv_1d_starts_as_a_channel_shift() {
    let vs = nn::VarStore::new(Device::Cpu);
    let dims = AdapterDims { embed_dim: 8, text_width: 64, num_segs: 4, num_layers: 1 };
    let _adapter = build_named("Conv_1D").unwrap().instantiate(&(vs.root() / "adapter"), &dims).unwrap();
    let w = vs.variables()["adapter.shift.weight"].view([8, 3]);
    let taps: Vec<i64> = Vec::try_from(w.argmax(1, false)).unwrap();
    assert_eq!(taps, [0, 0, 1, 1, 1, 1, 2, 2]);
    assert_eq!(w.sum(tch::Kind::Float).double_value(&[]), 8.0);
}

#[test]
fn mean_pool_is_the_mean_over_frames() {
    let vs = nn::VarStore::new(Device::Cpu);
    let dims = AdapterDims { embed_dim: 4, text_width: 64, num_segs: 3, num_layers: 1 };
    let adapter = build_named("meanP").unwrap().instantiate(&(vs.root() / "adapter"), &dims).unwrap();
    let x = Tensor::arange(24, (tch::Kind::Float, Device::Cpu)).view([2, 3, 4]);
    let y = adapter.forward(&x, false).unwrap();
    assert_eq!(Vec::<f32>::try_from(y.flatten(0, -1)).unwrap(), [4., 5., 6., 7., 16., 17., 18., 19.]);
    assert!(vs.variables().is_empty());
}

#[test]
fn kl_loss_matches_pytorch() {
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("original_kl_loss.json")).unwrap()).unwrap();
    let rows: Vec<f32> = r["logits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32))
        .collect();
    let logits = Tensor::from_slice(&rows).view([4, 4]);
    let labels: Vec<i64> = r["labels"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    let out = KlLoss::original().forward(&logits, &Tensor::from_slice(&labels)).unwrap();
    // Each direction is weighted 0.5, so their sum is the original's (v2t + t2v) / 2.
    let v2t = out[0].1.double_value(&[]) / 0.5;
    let t2v = out[1].1.double_value(&[]) / 0.5;
    assert!((v2t - r["v2t"].as_f64().unwrap()).abs() < 1e-5, "{v2t}");
    assert!((t2v - r["t2v"].as_f64().unwrap()).abs() < 1e-5, "{t2v}");
    let total = out[0].1.double_value(&[]) + out[1].1.double_value(&[]);
    assert!((total - r["total"].as_f64().unwrap()).abs() < 1e-5);
}
