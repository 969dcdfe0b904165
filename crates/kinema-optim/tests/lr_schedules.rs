//! Parameter schedules against MMEngine's own tables (`tests/reference/make_lr_table.py`):
//! the AdamW warm-up + cosine recipe, epoch/iteration mixes, windows, momentum, conversion, defaults;
//! and scheduler state round trips.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::{fixture, floats, wrapper};
use kinema_core::registry::BuildSite;
use kinema_optim::{OptimWrapper, ParamSchedulers, SchedulerContext};
use serde_json::Value;
use tch::{Kind, Tensor};

struct Run {
    wrapper: OptimWrapper,
    schedulers: ParamSchedulers,
    _params: Vec<(String, Tensor)>,
}

fn ctx_of(case: &Value) -> SchedulerContext {
    SchedulerContext {
        epoch_length: case["epoch_length"].as_u64().expect("epoch_length") as usize,
        max_epochs: case["max_epochs"].as_u64().map(|v| v as usize),
        max_iters: case["max_iters"].as_u64().map(|v| v as usize),
    }
}

fn start(case: &Value) -> Run {
    let params: Vec<(String, Tensor)> = case["params"]
        .as_array()
        .expect("params")
        .iter()
        .map(|n| {
            (
                n.as_str().expect("name").to_string(),
                Tensor::zeros([2, 2], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true),
            )
        })
        .collect();
    let mut wrapper = wrapper(&case["optim_wrapper"], &params);
    let site = BuildSite::detached(Default::default());
    let schedulers = ParamSchedulers::build(&case["param_scheduler"], &site, &ctx_of(case), wrapper.param_groups_mut())
        .unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
    Run { wrapper, schedulers, _params: params }
}

/// What each iteration sees, as the runner steps: (lr per group, momentum per group).
fn simulate(run: &mut Run, case: &Value, from_iter: usize, to_iter: usize) -> Vec<(Vec<f64>, Vec<f64>)> {
    let e = case["epoch_length"].as_u64().expect("epoch_length") as usize;
    let mut out = Vec::new();
    for i in from_iter..to_iter {
        let groups = run.wrapper.param_groups_mut();
        out.push((groups.iter().map(|g| g.lr).collect(), groups.iter().map(|g| g.momentum()).collect()));
        run.schedulers.step_iter(run.wrapper.param_groups_mut());
        if (i + 1) % e == 0 {
            run.schedulers.step_epoch(run.wrapper.param_groups_mut());
        }
    }
    out
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
    }
}

#[test]
fn tables_equal_mmengine() {
    let data = fixture("lr_tables.json");
    for case in data["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let iters = case["iters"].as_u64().expect("iters") as usize;
        let mut run = start(case);
        let got = simulate(&mut run, case, 0, iters);
        let (mut worst, mut inexact) = (0f64, 0usize);
        for (i, (lr, mom)) in got.iter().enumerate() {
            for (key, actual) in [("lr", lr), ("momentum", mom)] {
                let expected = floats(&case[key][i]);
                assert_eq!(actual.len(), expected.len(), "{name}: groups at iteration {i}");
                for (g, (a, e)) in actual.iter().zip(&expected).enumerate() {
                    let r = rel(*a, *e);
                    assert!(r <= 1e-12, "{name}: {key} of group {g} at iteration {i}: {a:e} vs MMEngine {e:e}");
                    worst = worst.max(r);
                    inexact += usize::from(a != e);
                }
            }
        }
        eprintln!(
            "{name}: {iters} iterations, worst relative difference {worst:e}, {inexact} values not bit-identical"
        );
        // The final scheduler bookkeeping equals MMEngine's state dicts.
        let states = run.schedulers.state_dict();
        for (k, (ours, theirs)) in
            states.as_array().expect("list").iter().zip(case["final_states"].as_array().expect("list")).enumerate()
        {
            for key in ["begin", "end", "by_epoch", "last_step", "_global_step", "param_name"] {
                assert_eq!(ours[key], theirs[key], "{name}: scheduler {k} `{key}`");
            }
            for key in ["base_values", "_last_value"] {
                for (a, e) in floats(&ours[key]).iter().zip(floats(&theirs[key])) {
                    assert!(rel(*a, e) <= 1e-12, "{name}: scheduler {k} `{key}`: {a} vs {e}");
                }
            }
            for key in [
                "start_factor",
                "end_factor",
                "total_iters",
                "T_max",
                "eta_min",
                "eta_min_ratio",
                "gamma",
                "factor",
                "step_size",
                "power",
                "milestones",
            ] {
                if let Some(t) = theirs.get(key) {
                    let same = ours[key] == *t || ours[key].as_f64().zip(t.as_f64()).is_some_and(|(a, b)| a == b);
                    assert!(same, "{name}: scheduler {k} `{key}`: {} vs {t}", ours[key]);
                }
            }
        }
    }
}

#[test]
fn warmup_cosine_recipe_matches_closed_form() {
    // upstream-reference §3.1: lr(i) = base·(0.01 + 0.99·i/(5E−1)) for i < 5E, then
    // base·½·(1 + cos(π·(i−5E)/(45E))). The chained formulas agree to rounding.
    let data = fixture("lr_tables.json");
    let case = &data["cases"][0];
    assert_eq!(case["name"], "adamw_warmup_cosine_50e");
    let mut run = start(case);
    let e = 7.0;
    let got = simulate(&mut run, case, 0, 350);
    for (i, (lr, _)) in got.iter().enumerate() {
        let x = i as f64;
        for (g, base) in [(0, 5e-6), (1, 5e-5), (2, 5e-6)] {
            let expected = if x < 5.0 * e {
                base * (0.01 + 0.99 * x / (5.0 * e - 1.0))
            } else {
                base * 0.5 * (1.0 + (std::f64::consts::PI * (x - 5.0 * e) / (45.0 * e)).cos())
            };
            let tol = if expected < 1e-14 { 1e-20 } else { 1e-9 * expected };
            assert!((lr[g] - expected).abs() <= tol, "iteration {i} group {g}: {} vs {expected}", lr[g]);
        }
    }
    // What MMEngine logs: lr = first group, base_lr = base settings.
    let log = run.wrapper.lr_for_logging();
    assert_eq!(log.base_lr, Some(run.wrapper.base_param_settings().expect("base").lr));
}

/// Train `k` iterations, save optimizer + schedulers through JSON text, rebuild everything,
/// load, continue: the values equal an uninterrupted run bit for bit.
#[test]
fn scheduler_state_round_trip_is_bit_identical() {
    let data = fixture("lr_tables.json");
    for case in data["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let iters = case["iters"].as_u64().expect("iters") as usize;
        let e = case["epoch_length"].as_u64().expect("epoch_length") as usize;
        let k = (iters / 2 / e).max(1) * e; // resume at an epoch boundary, as checkpoints are saved
        let mut whole = start(case);
        let uninterrupted = simulate(&mut whole, case, 0, iters);

        let mut first = start(case);
        simulate(&mut first, case, 0, k);
        let optim_text = first.wrapper.state_dict().meta.to_string();
        let sched_text = first.schedulers.state_dict().to_string();

        let mut second = start(case);
        let state =
            kinema_optim::OptimState { meta: serde_json::from_str(&optim_text).expect("json"), tensors: Vec::new() };
        second.wrapper.load_state_dict(state).unwrap_or_else(|e| panic!("{name}: {e}"));
        second.schedulers.load_state_dict(&serde_json::from_str(&sched_text).expect("json")).expect("load schedulers");
        let resumed = simulate(&mut second, case, k, iters);
        for (i, (a, b)) in resumed.iter().zip(&uninterrupted[k..]).enumerate() {
            let bits = |v: &Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a.0), bits(&b.0), "{name}: lr at iteration {}", k + i);
            assert_eq!(bits(&a.1), bits(&b.1), "{name}: momentum at iteration {}", k + i);
        }
    }
}

#[test]
fn scheduler_state_errors() {
    let data = fixture("lr_tables.json");
    let case = &data["cases"][0];
    let mut run = start(case);
    let good = run.schedulers.state_dict();
    let mut wrong_type = good.clone();
    wrong_type[1]["type"] = Value::from("LinearLR");
    let err = run.schedulers.load_state_dict(&wrong_type).expect_err("wrong type").to_string();
    assert_eq!(err, "cannot load scheduler state #1 (CosineAnnealingLR): it was saved by a LinearLR scheduler");
    let mut missing = good.clone();
    missing[0].as_object_mut().expect("object").remove("last_step");
    let err = run.schedulers.load_state_dict(&missing).expect_err("missing").to_string();
    assert_eq!(err, "cannot load scheduler state #0 (LinearLR): `last_step` must be an integer");
    let err = run.schedulers.load_state_dict(&Value::Array(vec![good[0].clone()])).expect_err("count").to_string();
    assert_eq!(err, "cannot load scheduler state #1 (param_schedulers): the checkpoint has 1 schedulers, the config 2");
    // After failures the schedulers are unchanged.
    assert_eq!(run.schedulers.state_dict(), good);
}

#[test]
fn scheduler_config_errors() {
    let params = vec![("w".to_string(), Tensor::zeros([2], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true))];
    let mut w = wrapper(&serde_json::json!({"optimizer": {"type": "SGD", "lr": 0.1}}), &params);
    let ctx = SchedulerContext { epoch_length: 10, max_epochs: Some(5), max_iters: Some(50) };
    let site = BuildSite::detached(Default::default());
    let err = |v: Value, w: &mut OptimWrapper| match ParamSchedulers::build(&v, &site, &ctx, w.param_groups_mut()) {
        Ok(_) => panic!("expected an error for {v}"),
        Err(e) => e.to_string(),
    };
    let e = err(serde_json::json!({"type": "LinearLR", "begin": 5, "end": 5}), &mut w);
    assert!(
        e.ends_with("cannot build param_scheduler LinearLR: `end`: must be larger than begin, but got begin=5, end=5"),
        "{e}"
    );
    let e = err(serde_json::json!({"type": "LinearLR", "start_factor": 1.5}), &mut w);
    assert!(e.ends_with("`start_factor`: must be between 0 and 1, got 1.5"), "{e}");
    let e =
        err(serde_json::json!({"type": "CosineAnnealingLR", "by_epoch": false, "convert_to_iter_based": true}), &mut w);
    assert!(e.contains("only epoch-based schedules (by_epoch = true) can be converted"), "{e}");
    let e = err(serde_json::json!({"type": "MultiStepLR", "milestone": [3]}), &mut w);
    assert!(e.contains("unknown field `milestone`"), "{e}");
    let e = err(serde_json::json!({"type": "CosineAnnealingLR", "eta_min": 0.0, "eta_min_ratio": 0.1}), &mut w);
    assert!(e.contains("give either `eta_min` or `eta_min_ratio`, not both"), "{e}");
    // Through a TOML config: the file and the full key.
    let config = kinema_core::Config::from_toml_str(
        "[[param_scheduler]]\ntype = \"LinearLR\"\n[[param_scheduler]]\ntype = \"OneCycleLR\"\n",
        "schedule.toml",
    )
    .expect("TOML");
    let path = kinema_core::KeyPath::parse("param_scheduler");
    let site = BuildSite::root(&config).at(path.clone());
    let e = match ParamSchedulers::build(config.get_path(&path).expect("list"), &site, &ctx, w.param_groups_mut()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    };
    assert!(e.starts_with("schedule.toml: `param_scheduler.1.type`: unknown param_scheduler \"OneCycleLR\""), "{e}");
    let e = err(serde_json::json!({"type": "LinearLR", "begin": 1.5}), &mut w);
    assert!(e.contains("`begin`: must be a whole number unless convert_to_iter_based, got 1.5"), "{e}");
}
