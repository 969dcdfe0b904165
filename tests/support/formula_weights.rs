//! The deterministic weights of `tests/reference/make_tsn_tsm_reference.py` (its JSON's
//! `weight_formula`), for tests that compare 2D recognizers with MMAction2. Included by
//! path from the tests that need it.

#![allow(dead_code)]

use std::collections::HashMap;

use tch::{Kind, Tensor};

/// `x_j` for entry `k`: `2 * frac((j + 1) * C1 + (k + 1) * C2) - 1`, j = 0..n, in float64.
pub fn x_values(k: usize, n: usize) -> Vec<f64> {
    let b = (k as f64 + 1.0) * 0.414_213_562_373_095_15;
    (0..n)
        .map(|j| {
            let a = (j as f64 + 1.0) * 0.618_033_988_749_894_9;
            let s = a + b;
            2.0 * (s - s.floor()) - 1.0
        })
        .collect()
}

/// A float32 tensor of `shape` from `x_values(k, ..)` mapped by `f`.
pub fn formula_tensor(k: usize, shape: &[i64], f: impl Fn(f64) -> f64) -> Tensor {
    let n = shape.iter().product::<i64>() as usize;
    let values: Vec<f32> = x_values(k, n).into_iter().map(|x| f(x) as f32).collect();
    Tensor::from_slice(&values).view(shape)
}

/// The formula value of entry `k` named `name` with `shape`; `stats` (calibrated running
/// statistics by name) replace the formula's running statistics when given.
pub fn formula_entry(k: usize, name: &str, shape: &[i64], stats: Option<&HashMap<String, Tensor>>) -> Tensor {
    if name.ends_with("num_batches_tracked") {
        return Tensor::from(100i64).to_kind(Kind::Int64);
    }
    if name.ends_with("running_mean") || name.ends_with("running_var") {
        if let Some(t) = stats.and_then(|s| s.get(name)) {
            return t.shallow_clone();
        }
        return if name.ends_with("running_mean") {
            formula_tensor(k, shape, |x| 0.1 * x)
        } else {
            formula_tensor(k, shape, |x| 1.0 + 0.5 * x)
        };
    }
    if shape.len() == 4 {
        let fan_in = (shape[1] * shape[2] * shape[3]) as f64;
        return formula_tensor(k, shape, |x| x * (3.0 / fan_in).sqrt());
    }
    if name.ends_with(".bn.weight") {
        return formula_tensor(k, shape, |x| 1.0 + 0.25 * x);
    }
    if name.ends_with(".bn.bias") {
        return formula_tensor(k, shape, |x| 0.1 * x);
    }
    if name.ends_with("fc_cls.weight") {
        return formula_tensor(k, shape, |x| x * (0.01 * 3f64.sqrt()));
    }
    if name.ends_with("fc_cls.bias") {
        return formula_tensor(k, shape, |x| 0.01 * x);
    }
    panic!("no formula for `{name}` {shape:?}");
}

/// Every entry of a state dict (`names` with shapes) by the formula, in sorted-name
/// order, as `(name, tensor)`.
pub fn formula_state_dict(
    entries: &[(String, Vec<i64>)],
    stats: Option<&HashMap<String, Tensor>>,
) -> Vec<(String, Tensor)> {
    let mut sorted: Vec<&(String, Vec<i64>)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted.iter().enumerate().map(|(k, (name, shape))| (name.clone(), formula_entry(k, name, shape, stats))).collect()
}

/// Overwrites every variable of `vs` with the formula.
pub fn fill_var_store(vs: &tch::nn::VarStore, stats: Option<&HashMap<String, Tensor>>) {
    let vars = vs.variables();
    let entries: Vec<(String, Vec<i64>)> = vars.iter().map(|(n, t)| (n.clone(), t.size())).collect();
    tch::no_grad(|| {
        for (name, value) in formula_state_dict(&entries, stats) {
            let mut dst = vars[&name].shallow_clone();
            dst.copy_(&value);
        }
    });
}

/// The calibrated running statistics of a fixture (`tsn_r50_bn_stats.safetensors`).
pub fn bn_stats(path: &std::path::Path) -> HashMap<String, Tensor> {
    kinema_torch::checkpoint::load_checkpoint(path).expect("bn stats").tensors.into_iter().collect()
}
