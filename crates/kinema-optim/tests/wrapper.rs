//! OptimWrapper / AmpOptimWrapper against MMEngine and PyTorch
//! (`tests/reference/make_optim_fixtures.py`): paramwise groups, clipping, accumulation,
//! loss scaling; configuration errors.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::{assert_close, fixture, linear_loss, named_params, names_of, wrapper};
use kinema_core::registry::BuildSite;
use kinema_core::{Config, KeyPath};
use kinema_optim::{build_optim_wrapper, OptimError};
use serde_json::{json, Value};
use tch::{Kind, Tensor};

fn steps(case: &Value) -> &Vec<Value> {
    case["steps"].as_array().expect("steps")
}

#[test]
fn paramwise_groups_and_clipping_equal_mmengine() {
    let data = fixture("optimizer_steps.json");
    let case = &data["wrappers"][0];
    assert_eq!(case["name"], "paramwise_clip");
    let order = names_of(&case["shapes"]);
    let params = named_params(&case["init"], &case["shapes"], &order);
    let mut w = wrapper(&case["optim_wrapper"], &params);
    // Groups: one per parameter, lr and weight decay exactly as MMEngine's constructor.
    let expected = case["groups"].as_array().expect("groups");
    assert_eq!(w.optimizer_groups().len(), expected.len());
    for (g, e) in w.optimizer_groups().iter().zip(expected) {
        let names: Vec<&str> = g.names().collect();
        assert_eq!(json!(names), e["params"]);
        assert_eq!(g.lr, e["lr"].as_f64().expect("lr"), "lr of {names:?}");
        assert_eq!(g.weight_decay, e["weight_decay"].as_f64().expect("wd"), "weight decay of {names:?}");
    }
    let base = w.base_param_settings().expect("base settings with several groups");
    assert_eq!((base.lr, base.weight_decay), (1e-2, 0.2));
    assert_eq!(w.lr_for_logging().lr, 1e-2);
    assert_eq!(w.optimizer_groups()[5].lr_mult, Some(10.0));
    let mut inexact = 0;
    for (i, step) in steps(case).iter().enumerate() {
        let info = w.update_params(&linear_loss(&params, &step["grads"])).expect("update");
        assert!(info.stepped && !info.skipped);
        let norm = info.grad_norm.expect("clipping reports the norm");
        let expected = step["grad_norm"].as_f64().expect("norm");
        assert!((norm - expected).abs() <= 1e-6 * expected, "grad norm at {i}: {norm} vs {expected}");
        for (n, p) in &params {
            inexact += assert_close(p, &step["params"][n], 1e-6, &format!("iteration {i} `{n}`"));
        }
    }
    eprintln!("paramwise_clip: {inexact} parameter values not bit-identical to MMEngine");
}

#[test]
fn accumulation_with_incomplete_last_window_equals_mmengine() {
    let data = fixture("optimizer_steps.json");
    let case = &data["wrappers"][1];
    assert_eq!(case["name"], "accumulate_2_of_5");
    let order = names_of(&case["shapes"]);
    let params = named_params(&case["init"], &case["shapes"], &order);
    let mut w = wrapper(&case["optim_wrapper"], &params);
    assert!(w.base_param_settings().is_none(), "a single group has no base settings");
    assert_eq!(w.lr_for_logging().base_lr, None);
    w.initialize_count_status(0, 5);
    let mut inexact = 0;
    for (i, step) in steps(case).iter().enumerate() {
        let info = w.update_params(&linear_loss(&params, &step["grads"])).expect("update");
        // Windows [0, 1], [2, 3] and the last, incomplete one [4].
        assert_eq!(info.stepped, i % 2 == 1 || i == 4, "iteration {i}");
        for (n, p) in &params {
            inexact += assert_close(p, &step["params"][n], 1e-6, &format!("iteration {i} `{n}`"));
        }
    }
    eprintln!("accumulate_2_of_5: {inexact} parameter values not bit-identical to MMEngine");
    // Past max_iters with no remainder (MMEngine's `loss_factor > 0` assertion): a clear
    // error, not a division by zero.
    w.initialize_count_status(4, 4);
    let extra = linear_loss(&params, &steps(case)[0]["grads"]);
    let err = w.update_params(&extra).expect_err("past the end").to_string();
    assert_eq!(
        err,
        "gradient accumulation: update 5 is past max_iters = 4 (initialize_count_status was given wrong counts)"
    );
}

#[test]
fn amp_loss_scaling_equals_grad_scaler() {
    let data = fixture("optimizer_steps.json");
    let case = &data["amp"][0];
    let order = names_of(&case["shapes"]);
    let params = named_params(&case["init"], &case["shapes"], &order);
    let mut w = wrapper(&case["optim_wrapper"], &params);
    assert_eq!(w.autocast_dtype(), Some(Kind::Half));
    let mut inexact = 0;
    for (i, step) in steps(case).iter().enumerate() {
        let info = w.update_params(&linear_loss(&params, &step["grads"])).expect("update");
        assert_eq!(info.loss_scale, step["scale_used"].as_f64(), "scale used at {i}");
        assert_eq!(Some(info.skipped), step["skipped"].as_bool(), "skipped at {i}");
        assert_eq!(w.loss_scale(), step["scale_after"].as_f64(), "scale after {i}");
        let norm = info.grad_norm.expect("norm");
        match step["grad_norm"].as_f64() {
            Some(expected) => {
                assert!((norm - expected).abs() <= 1e-6 * expected, "grad norm at {i}: {norm} vs {expected}")
            }
            None => assert_eq!((norm, &step["grad_norm"]), (f64::INFINITY, &json!("inf")), "grad norm at {i}"),
        }
        for (n, p) in &params {
            inexact += assert_close(p, &step["params"][n], 1e-6, &format!("iteration {i} `{n}`"));
        }
    }
    eprintln!("amp_fp16_dynamic: {inexact} parameter values not bit-identical to PyTorch");
    let state = w.state_dict();
    let last = steps(case).last().expect("steps");
    assert_eq!(state.meta["loss_scaler"]["scale"], last["scale_after"]);
    assert_eq!(state.meta["loss_scaler"]["_growth_tracker"], last["growth_tracker"]);
    assert_eq!(state.meta["loss_scaler"]["growth_interval"], json!(2));
}

#[test]
fn amp_dtype_and_fixed_scale() {
    let params = vec![("w".to_string(), Tensor::from_slice(&[1.0f32, -1.0]).set_requires_grad(true))];
    let cfg = json!({"type": "AmpOptimWrapper", "dtype": "bfloat16", "loss_scale": 512,
                     "optimizer": {"type": "SGD", "lr": 0.5}});
    let mut w = wrapper(&cfg, &params);
    assert_eq!(w.autocast_dtype(), Some(Kind::BFloat16));
    let p = &params[0].1;
    let info = w.update_params(&(p * Tensor::from_slice(&[f32::MAX, 1.0])).sum(Kind::Float)).expect("update");
    assert!(info.skipped, "an overflowing gradient skips the step");
    assert_eq!(w.loss_scale(), Some(512.0), "a fixed scale stays");
    assert_eq!(common::values(p), vec![1.0, -1.0]);
    let info = w.update_params(&(p * Tensor::from_slice(&[2.0f32, 4.0])).sum(Kind::Float)).expect("update");
    assert!(!info.skipped);
    assert_eq!(common::values(p), vec![0.0, -3.0]);
}

/// A NaN loss under AMP: the dynamic scale halves at every skipped step (as GradScaler),
/// and after `max_skipped_steps` skips in a row training stops with an error instead of
/// skipping forever; a finite step in between resets the count.
#[test]
fn amp_stops_after_too_many_skipped_steps() {
    let params = vec![("w".to_string(), Tensor::from_slice(&[1.0f32, 2.0]).set_requires_grad(true))];
    let cfg = json!({"type": "AmpOptimWrapper", "max_skipped_steps": 3, "optimizer": {"type": "SGD", "lr": 0.1}});
    let mut w = wrapper(&cfg, &params);
    let p = &params[0].1;
    let nan = || (p * f64::NAN).sum(Kind::Float);
    for _ in 0..3 {
        assert!(w.update_params(&nan()).expect("a skipped step").skipped);
    }
    assert!(!w.update_params(&p.sum(Kind::Float)).expect("a finite step").skipped);
    for _ in 0..3 {
        assert!(w.update_params(&nan()).expect("skips again").skipped);
    }
    let err = w.update_params(&nan()).expect_err("the fourth skip in a row");
    assert_eq!(
        err.to_string(),
        "4 optimizer steps in a row were skipped for inf/NaN gradients (loss scale now 512): the loss or \
         the model is not finite; training stopped (optim_wrapper.max_skipped_steps)"
    );
    assert_eq!(common::values(p), vec![0.9, 1.9], "only the finite step changed the weights");
}

#[test]
fn non_finite_loss_without_amp_is_an_error_and_changes_nothing() {
    let params = vec![("w".to_string(), Tensor::from_slice(&[1.0f32, 2.0]).set_requires_grad(true))];
    let mut w = wrapper(&json!({"optimizer": {"type": "AdamW", "lr": 0.1}}), &params);
    let p = &params[0].1;
    let loss = (p * f64::NAN).sum(Kind::Float);
    let err = w.update_params(&loss).expect_err("NaN loss");
    assert!(matches!(err, OptimError::NonFiniteLoss { inner_count: 0, .. }));
    assert_eq!(err.to_string(), "the loss is not finite (NaN) at update 0; the optimizer was not stepped");
    assert_eq!(common::values(p), vec![1.0, 2.0]);
    assert_eq!(w.inner_count(), 0);
    let err = w.update_params(&(p * 1.0)).expect_err("not a scalar").to_string();
    assert_eq!(err, "the loss must be a single value, got a tensor of shape [2]");
}

fn toml_error(text: &str) -> String {
    let config = Config::from_toml_str(text, "schedule.toml").expect("TOML");
    let params = vec![
        ("clip.w".to_string(), Tensor::zeros([2], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true)),
        ("adapter.w".to_string(), Tensor::zeros([2], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true)),
    ];
    let path = KeyPath::parse("optim_wrapper");
    let site = BuildSite::root(&config).at(path.clone());
    match build_optim_wrapper(config.get_path(&path).expect("table"), &site, &common::ctx(&params)) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn config_errors_name_the_key() {
    assert_eq!(
        toml_error("[optim_wrapper.optimizer]\ntype = \"AdamX\"\nlr = 1e-3\n"),
        "schedule.toml: `optim_wrapper.optimizer.type`: unknown optimizer \"AdamX\" (did you mean \"Adam\"?); known optimizers: Adam, AdamW, SGD"
    );
    assert_eq!(
        toml_error("[optim_wrapper.optimizer]\ntype = \"AdamW\"\nlr = 1e-3\nbeta = [0.9, 0.98]\n"),
        "schedule.toml: `optim_wrapper.optimizer.beta`: unknown field `beta`; expected one of: lr, betas, eps, weight_decay, amsgrad (did you mean `betas`?) (in optimizer AdamW)"
    );
    let e = toml_error(
        "[optim_wrapper.optimizer]\ntype = \"AdamW\"\nlr = 1e-3\n[optim_wrapper.paramwise_cfg.custom_keys.adapter]\nlr_mul = 10\n",
    );
    assert_eq!(
        e,
        "schedule.toml: `optim_wrapper.paramwise_cfg.custom_keys.adapter.lr_mul`: unknown field `lr_mul`; expected one of: lr_mult, decay_mult, lr, weight_decay, momentum, dampening, nesterov, betas, eps, amsgrad (did you mean `lr_mult`?) (in optim_wrapper_constructor DefaultOptimWrapperConstructor)"
    );
    let e = toml_error(
        "[optim_wrapper.optimizer]\ntype = \"SGD\"\nlr = 1e-3\n[optim_wrapper.paramwise_cfg.custom_keys.adapter]\nbetas = [0.9, 0.9]\n",
    );
    assert_eq!(e, "schedule.toml: `optim_wrapper`: cannot build optim_wrapper OptimWrapper: `paramwise_cfg.custom_keys.adapter`: `betas` is not a hyper-parameter of SGD (use `momentum`)");
    let e = toml_error(
        "[optim_wrapper.optimizer]\ntype = \"AdamW\"\nlr = 1e-3\n[optim_wrapper.paramwise_cfg.custom_keys.adapter]\ndecay_mult = 0.5\n",
    );
    assert!(
        e.ends_with("`paramwise_cfg.custom_keys.adapter.decay_mult`: needs `optimizer.weight_decay` to be set"),
        "{e}"
    );
    let e = toml_error("[optim_wrapper]\nclip_grad = { norm_type = 2 }\n[optim_wrapper.optimizer]\ntype = \"SGD\"\n");
    assert!(e.ends_with("`clip_grad.max_norm`: missing; clipping by norm needs `max_norm`"), "{e}");
    let e = toml_error(
        "[optim_wrapper]\ntype = \"AmpOptimWrapper\"\ndtype = \"float8\"\n[optim_wrapper.optimizer]\ntype = \"SGD\"\n",
    );
    assert!(e.contains("`optim_wrapper.dtype`: unknown value \"float8\""), "{e}");
    let e = toml_error("[optim_wrapper]\naccumulative_counts = 0\n[optim_wrapper.optimizer]\ntype = \"SGD\"\n");
    assert!(e.ends_with("`accumulative_counts`: must be at least 1"), "{e}");
}

#[test]
fn duplicate_names_and_top_level_keys() {
    let t = || Tensor::zeros([2], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
    let params = vec![
        ("logit_scale".to_string(), t()),
        ("a.logit_scale_b".to_string(), t()),
        ("a.logit_scale_b".to_string(), t()),
    ];
    let cfg = json!({"optimizer": {"type": "AdamW", "lr": 1.0, "weight_decay": 0.1},
                     "paramwise_cfg": {"custom_keys": {".logit_scale": {"lr_mult": 2}, "logit": {"decay_mult": 0}}}});
    let site = BuildSite::detached(Default::default());
    let err = match build_optim_wrapper(&cfg, &site, &common::ctx(&params)) {
        Ok(_) => panic!("duplicates"),
        Err(e) => e.to_string(),
    };
    assert!(err.ends_with("parameter `a.logit_scale_b` is given twice; parameter names must be unique"), "{err}");
    let mut cfg = cfg;
    cfg["paramwise_cfg"]["bypass_duplicate"] = json!(true);
    let w = wrapper(&cfg, &params);
    let lrs: Vec<(f64, f64)> = w.optimizer_groups().iter().map(|g| (g.lr, g.weight_decay)).collect();
    // `.logit_scale` (the longest key) matches the top-level parameter and `a.logit_scale_b`.
    assert_eq!(lrs, vec![(2.0, 0.1), (2.0, 0.1)]);
    // No trainable parameter at all (everything frozen): refused, like torch's empty list.
    let frozen = vec![("w".to_string(), Tensor::zeros([2], (Kind::Float, tch::Device::Cpu)))];
    let err = match build_optim_wrapper(&cfg, &site, &common::ctx(&frozen)) {
        Ok(_) => panic!("no trainable parameters"),
        Err(e) => e.to_string(),
    };
    assert!(err.ends_with("`optimizer`: got an empty parameter list: the model has no trainable parameters"), "{err}");
}
