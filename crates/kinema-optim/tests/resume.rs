//! Saving and restoring optimizer wrappers: resume continues bit for bit; states that do not
//! fit are clear errors and leave the wrapper unchanged.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::{copy_tensors, fixture, linear_loss, named_params, names_of, snapshot, wrapper};
use kinema_optim::{OptimState, OptimWrapper};
use serde_json::{json, Value};
use tch::Tensor;

/// Fresh parameters and a wrapper for a fixture case, with an optional config override.
fn setup(case: &Value, cfg: &Value) -> (Vec<(String, Tensor)>, OptimWrapper) {
    let order = names_of(&case["shapes"]);
    let params = named_params(&case["init"], &case["shapes"], &order);
    let w = wrapper(cfg, &params);
    (params, w)
}

fn train(w: &mut OptimWrapper, params: &[(String, Tensor)], case: &Value, range: std::ops::Range<usize>) {
    let steps = case["steps"].as_array().expect("steps");
    for i in range {
        w.update_params(&linear_loss(params, &steps[i % steps.len()]["grads"])).expect("update");
    }
}

/// The state through text and deep copies, as a checkpoint would carry it.
fn checkpoint(w: &OptimWrapper) -> (String, Vec<(String, Tensor)>) {
    let state = w.state_dict();
    (state.meta.to_string(), copy_tensors(&state.tensors))
}

fn restore((meta, tensors): &(String, Vec<(String, Tensor)>)) -> OptimState {
    OptimState { meta: serde_json::from_str(meta).expect("json"), tensors: copy_tensors(tensors) }
}

fn round_trip(case: &Value, cfg: &Value, total: usize, k: usize, max_iters: Option<u64>) {
    let (p_whole, mut whole) = setup(case, cfg);
    if let Some(m) = max_iters {
        whole.initialize_count_status(0, m);
    }
    train(&mut whole, &p_whole, case, 0..total);

    let (p_first, mut first) = setup(case, cfg);
    if let Some(m) = max_iters {
        first.initialize_count_status(0, m);
    }
    train(&mut first, &p_first, case, 0..k);
    let saved = checkpoint(&first);
    // The model weights are restored from the checkpoint by the engine; here: copy them.
    let (p_second, mut second) = setup(case, cfg);
    for ((_, a), (_, b)) in p_second.iter().zip(&p_first) {
        tch::no_grad(|| a.shallow_clone().copy_(b));
    }
    second.load_state_dict(restore(&saved)).expect("load");
    if let Some(m) = max_iters {
        second.initialize_count_status(k as u64, m);
    }
    train(&mut second, &p_second, case, k..total);
    assert_eq!(snapshot(&p_second), snapshot(&p_whole), "{cfg}: resumed run differs from the uninterrupted one");
    let (a, b) = (second.state_dict(), whole.state_dict());
    assert_eq!(a.meta, b.meta, "{cfg}: optimizer meta after resume");
    assert_eq!(snapshot(&a.tensors), snapshot(&b.tensors), "{cfg}: optimizer tensors after resume");
}

#[test]
fn resume_is_bit_identical() {
    let data = fixture("optimizer_steps.json");
    let paramwise = &data["wrappers"][0];
    // AdamW, one group per parameter, clipping.
    round_trip(paramwise, &paramwise["optim_wrapper"], 8, 3, None);
    // AdamW with AMSGrad.
    let amsgrad = json!({"optimizer": {"type": "AdamW", "lr": 1e-2, "amsgrad": true}});
    round_trip(paramwise, &amsgrad, 6, 2, None);
    // SGD with momentum and accumulation (resumed mid-run at a window boundary).
    let accumulate = &data["wrappers"][1];
    round_trip(accumulate, &accumulate["optim_wrapper"], 9, 4, Some(9));
    // AMP: the loss scale and its growth tracker continue (one overflow in the fixture).
    let amp = &data["amp"][0];
    round_trip(amp, &amp["optim_wrapper"], 7, 3, None);
}

#[test]
fn mismatched_states_are_clear_errors() {
    let data = fixture("optimizer_steps.json");
    let case = &data["wrappers"][0];
    let (params, mut w) = setup(case, &case["optim_wrapper"]);
    train(&mut w, &params, case, 0..2);
    let saved = checkpoint(&w);
    let before = snapshot(&w.state_dict().tensors);
    let err = |state: OptimState, w: &mut OptimWrapper| w.load_state_dict(state).expect_err("must fail").to_string();

    let mut s = restore(&saved);
    s.tensors.retain(|(n, _)| n != "state.adapter.weight.exp_avg");
    assert_eq!(err(s, &mut w), "cannot load optimizer state: missing tensor `state.adapter.weight.exp_avg`");

    let mut s = restore(&saved);
    for (n, t) in &mut s.tensors {
        if n == "state.dw.weight.exp_avg_sq" {
            *t = Tensor::zeros([2, 9], (tch::Kind::Float, tch::Device::Cpu));
        }
    }
    assert_eq!(
        err(s, &mut w),
        "cannot load optimizer state: tensor `state.dw.weight.exp_avg_sq` has shape [2, 9], but parameter `dw.weight` has shape [2, 1, 3, 3]"
    );

    let mut s = restore(&saved);
    s.tensors.push(("state.head.fc.exp_avg".into(), Tensor::zeros([1], (tch::Kind::Float, tch::Device::Cpu))));
    assert_eq!(
        err(s, &mut w),
        "cannot load optimizer state: unexpected tensor `state.head.fc.exp_avg` (1 tensors not used)"
    );

    let mut s = restore(&saved);
    s.meta["param_groups"][1]["params"] = json!(["backbone.weight_renamed"]);
    assert_eq!(
        err(s, &mut w),
        "cannot load optimizer state: param_groups[1] holds parameter `backbone.weight_renamed` where this model has `backbone.weight`"
    );

    let mut s = restore(&saved);
    s.meta["state"]["head.fc"] = json!({"step": 2});
    assert_eq!(
        err(s, &mut w),
        "cannot load optimizer state: the saved state has parameter `head.fc`, which this model does not train"
    );

    let mut s = restore(&saved);
    s.meta["type"] = json!("SGD");
    assert_eq!(err(s, &mut w), "cannot load optimizer state: it was saved by a SGD optimizer, but this one is AdamW");

    let mut s = restore(&saved);
    s.meta["param_groups"].as_array_mut().expect("groups").pop();
    assert_eq!(
        err(s, &mut w),
        "cannot load optimizer state: it has 8 parameter groups, but this optimizer has 9 (paramwise_cfg or the trainable parameters differ)"
    );

    // Nothing changed: the live state is still the one trained.
    assert_eq!(snapshot(&w.state_dict().tensors), before);
    // And the good state still loads.
    w.load_state_dict(restore(&saved)).expect("the saved state loads");
}
