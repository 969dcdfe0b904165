//! AdamW / Adam / SGD steps and gradient clipping against PyTorch
//! (`tests/reference/make_optim_fixtures.py`).
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::{assert_close, fixture, ints, linear_loss, param, tensor, values};
use kinema_core::registry::{build, BuildSite};
use kinema_optim::wrapper::{ClipGrad, ClipGradCfg, ClipType, NormType};
use kinema_optim::{GroupOverrides, OptimizerKind, Param, ParamGroup};
use serde_json::{json, Value};

#[test]
fn optimizers_equal_pytorch() {
    let data = fixture("optimizer_steps.json");
    for case in data["optimizers"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let mut table = case["defaults"].clone();
        table["type"] = case["type"].clone();
        let site = BuildSite::detached(Default::default());
        let mut opt = build::<OptimizerKind>(&table, &site, &()).unwrap_or_else(|e| panic!("{name}: {e}")).into_inner();
        let shapes = &case["shapes"];
        let params: Vec<(String, tch::Tensor)> = shapes
            .as_object()
            .expect("shapes")
            .iter()
            .map(|(n, s)| (n.clone(), param(&case["init"][n], &ints(s))))
            .collect();
        let groups: Vec<ParamGroup> = case["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                let members = g["params"]
                    .as_array()
                    .expect("params")
                    .iter()
                    .map(|n| {
                        let (name, t) = params.iter().find(|(p, _)| p == n.as_str().expect("name")).expect("param");
                        Param::new(name.clone(), t)
                    })
                    .collect();
                let o = GroupOverrides {
                    lr: g["lr"].as_f64(),
                    weight_decay: g["weight_decay"].as_f64(),
                    ..Default::default()
                };
                opt.defaults().derive(members, &o, "groups").expect("group")
            })
            .collect();
        let mut inexact = 0;
        for (s, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
            for (_, p) in &params {
                p.shallow_clone().zero_grad();
            }
            linear_loss(&params, &step["grads"]).backward();
            opt.step(&groups, &|_| true).unwrap_or_else(|e| panic!("{name}: {e}"));
            for (n, p) in &params {
                inexact += assert_close(p, &step["params"][n], 1e-6, &format!("{name} step {s} `{n}`"));
            }
        }
        eprintln!("{name}: {inexact} parameter values not bit-identical to PyTorch");
        // The saved state: one entry per parameter, PyTorch's step counts.
        let meta = opt.state_meta();
        let steps = case["steps"].as_array().expect("steps").len() as u64;
        if case["type"] != "SGD" {
            for (n, _) in &params {
                assert_eq!(meta[n]["step"], json!(steps), "{name}: step count of `{n}`");
            }
        }
        let expected_tensors =
            match (case["type"].as_str(), case["defaults"]["amsgrad"].as_bool(), case["defaults"]["momentum"].as_f64())
            {
                (Some("SGD"), _, Some(m)) if m != 0.0 => 3,
                (Some("SGD"), _, _) => 0,
                (_, Some(true), _) => 9,
                _ => 6,
            };
        assert_eq!(opt.state_tensors().len(), expected_tensors, "{name}: state tensors");
    }
}

#[test]
fn parameters_without_gradient_are_not_updated() {
    // PyTorch skips parameters whose grad is None: no weight decay, no state.
    let site = BuildSite::detached(Default::default());
    let mut opt = build::<OptimizerKind>(&json!({"type": "AdamW", "lr": 0.1, "weight_decay": 0.5}), &site, &())
        .expect("AdamW")
        .into_inner();
    let a = tch::Tensor::from_slice(&[1.0f32, 2.0]).set_requires_grad(true);
    let b = tch::Tensor::from_slice(&[3.0f32]).set_requires_grad(true);
    let groups = vec![opt
        .defaults()
        .derive(vec![Param::new("a", &a), Param::new("b", &b)], &GroupOverrides::default(), "g")
        .expect("group")];
    (&a * 2.0).sum(tch::Kind::Float).backward();
    opt.step(&groups, &|p| p.name == "a").expect("step");
    assert_eq!(values(&b), vec![3.0]);
    assert_ne!(values(&a), vec![1.0, 2.0]);
    assert!(opt.state_meta().get("b").is_none());
}

#[test]
fn clip_grad_norm_equals_pytorch() {
    let data = fixture("optimizer_steps.json");
    for case in data["clip"].as_array().expect("clip cases") {
        let norm_type = match &case["norm_type"] {
            Value::String(s) => NormType::Text(s.clone()),
            v => NormType::Number(v.as_f64().expect("number")),
        };
        let cfg = ClipGradCfg {
            clip_type: ClipType::Norm,
            max_norm: case["max_norm"].as_f64(),
            norm_type,
            clip_value: None,
            error_if_nonfinite: false,
        };
        let clip = ClipGrad::from_cfg(&cfg).expect("valid");
        let shapes = case["shapes"].as_array().expect("shapes");
        let mut grads: Vec<tch::Tensor> =
            case["grads"].as_array().expect("grads").iter().zip(shapes).map(|(g, s)| tensor(g, &ints(s))).collect();
        let total = clip.apply(&mut grads).expect("clip").expect("a norm");
        let expected = case["total_norm"].as_f64().expect("norm");
        assert!((total - expected).abs() <= 1e-6 * expected, "norm {}: {total} vs {expected}", case["norm_type"]);
        for (g, e) in grads.iter().zip(case["clipped"].as_array().expect("clipped")) {
            assert_close(g, e, 1e-6, &format!("clipped grads, norm {}", case["norm_type"]));
        }
    }
}

#[test]
fn clip_grad_value_clamps() {
    let cfg = ClipGradCfg {
        clip_type: ClipType::Value,
        max_norm: None,
        norm_type: NormType::Number(2.0),
        clip_value: Some(0.5),
        error_if_nonfinite: false,
    };
    let clip = ClipGrad::from_cfg(&cfg).expect("valid");
    let mut grads = vec![tch::Tensor::from_slice(&[-2.0f32, 0.25, 0.75])];
    assert_eq!(clip.apply(&mut grads).expect("clip"), None);
    assert_eq!(values(&grads[0]), vec![-0.5, 0.25, 0.5]);
    let bad = ClipGradCfg { clip_value: None, ..cfg };
    assert_eq!(
        ClipGrad::from_cfg(&bad).expect_err("missing clip_value").to_string(),
        "`clip_grad.clip_value`: missing; clipping by value needs `clip_value`"
    );
}

#[test]
fn unknown_optimizer_type_is_a_clear_error() {
    let site = BuildSite::detached(Default::default());
    let err = match build::<OptimizerKind>(&json!({"type": "AdamX", "lr": 0.1}), &site, &()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        err,
        "<set by the program>: `<root>.type`: unknown optimizer \"AdamX\" (did you mean \"Adam\"?); known optimizers: Adam, AdamW, SGD"
    );
    let err = match build::<OptimizerKind>(&json!({"type": "SGD", "lr": 0.1, "nesterov": true}), &site, &()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    };
    assert!(err.ends_with("Nesterov momentum requires a momentum > 0 and zero dampening"), "{err}");
    let err = match build::<OptimizerKind>(&json!({"type": "AdamW", "betas": [0.9, 1.0]}), &site, &()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    };
    assert!(err.ends_with("invalid beta parameter at index 1: 1; expected 0 <= beta < 1"), "{err}");
}
