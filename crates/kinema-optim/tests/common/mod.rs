//! Shared helpers of the kinema-optim tests: fixtures, tensors, comparisons.
#![allow(dead_code)]

use std::collections::BTreeMap;

use kinema_core::registry::BuildSite;
use kinema_optim::{build_optim_wrapper, OptimContext, OptimWrapper};
use serde_json::Value;
use tch::{Kind, Tensor};

/// Reads `tests/fixtures/optim/<name>` of the workspace.
pub fn fixture(name: &str) -> Value {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    let path = format!(
        "{}/../../tests/fixtures/optim/{name}",
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The numbers of a JSON list.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("a list").iter().map(|x| x.as_f64().expect("a number")).collect()
}

/// The integers of a JSON list.
pub fn ints(v: &Value) -> Vec<i64> {
    v.as_array().expect("a list").iter().map(|x| x.as_i64().expect("an integer")).collect()
}

/// A float32 tensor of `shape` from fixture values.
pub fn tensor(values: &Value, shape: &[i64]) -> Tensor {
    let v: Vec<f32> = floats(values).into_iter().map(|x| x as f32).collect();
    Tensor::from_slice(&v).reshape(shape)
}

/// A float32 leaf parameter (requires grad) from fixture values.
pub fn param(values: &Value, shape: &[i64]) -> Tensor {
    tensor(values, shape).set_requires_grad(true)
}

/// The values of a tensor as f32.
pub fn values(t: &Tensor) -> Vec<f32> {
    let flat = t.detach().to_kind(Kind::Float).reshape([-1]);
    Vec::<f32>::try_from(&flat).expect("float tensor")
}

/// Named parameters from a fixture's `init` and `shapes` objects, in `order`.
pub fn named_params(init: &Value, shapes: &Value, order: &[String]) -> Vec<(String, Tensor)> {
    order.iter().map(|n| (n.clone(), param(&init[n], &ints(&shapes[n])))).collect()
}

/// The parameter names of a fixture's `shapes` object, in file order.
pub fn names_of(shapes: &Value) -> Vec<String> {
    shapes.as_object().expect("an object").keys().cloned().collect()
}

/// `sum_p (p * g_p).sum()`: its gradient with respect to `p` is exactly `g_p`.
pub fn linear_loss(params: &[(String, Tensor)], grads: &Value) -> Tensor {
    let mut loss = Tensor::zeros([], (Kind::Float, tch::Device::Cpu));
    for (name, p) in params {
        let g = tensor(&grads[name], &p.size());
        loss += (p * g).sum(Kind::Float);
    }
    loss
}

/// Largest difference relative to max(|expected|, 1e-3) between a tensor and fixture values,
/// and the number of elements that differ at all.
pub fn compare(actual: &Tensor, expected: &Value) -> (f64, usize) {
    let a = values(actual);
    let e = floats(expected);
    assert_eq!(a.len(), e.len(), "element count");
    let mut worst = 0f64;
    let mut differ = 0;
    for (x, y) in a.iter().zip(&e) {
        let (x, y) = (*x as f64, *y);
        if x != y {
            differ += 1;
        }
        worst = worst.max((x - y).abs() / y.abs().max(1e-3));
    }
    (worst, differ)
}

/// Asserts `actual` equals `expected` within `tol` relative (see [`compare`]); returns the
/// number of elements that are not bit-identical.
pub fn assert_close(actual: &Tensor, expected: &Value, tol: f64, what: &str) -> usize {
    let (worst, differ) = compare(actual, expected);
    assert!(worst <= tol, "{what}: relative difference {worst:e} > {tol:e}");
    differ
}

/// The build context of `params` on the CPU (sharing their storage).
pub fn ctx(params: &[(String, Tensor)]) -> OptimContext {
    OptimContext {
        params: params.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect(),
        device: tch::Device::Cpu,
    }
}

/// Builds an optimizer wrapper from a JSON table for `params`.
pub fn wrapper(cfg: &Value, params: &[(String, Tensor)]) -> OptimWrapper {
    let site = BuildSite::detached(Default::default());
    match build_optim_wrapper(cfg, &site, &ctx(params)) {
        Ok(built) => *built.into_inner(),
        Err(e) => panic!("cannot build {cfg}: {e}"),
    }
}

/// The error message of building `cfg`.
pub fn wrapper_error(cfg: &Value, params: &[(String, Tensor)]) -> String {
    let site = BuildSite::detached(Default::default());
    match build_optim_wrapper(cfg, &site, &ctx(params)) {
        Ok(_) => panic!("expected an error for {cfg}"),
        Err(e) => e.to_string(),
    }
}

/// Deep copies of state tensors (the live ones keep changing).
pub fn copy_tensors(tensors: &[(String, Tensor)]) -> Vec<(String, Tensor)> {
    tensors.iter().map(|(n, t)| (n.clone(), t.copy())).collect()
}

/// Parameter values by name, for bitwise comparisons.
pub fn snapshot(params: &[(String, Tensor)]) -> BTreeMap<String, Vec<u32>> {
    params.iter().map(|(n, t)| (n.clone(), values(t).iter().map(|v| v.to_bits()).collect())).collect()
}
