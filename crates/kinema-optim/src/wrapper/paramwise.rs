//! Parameter groups from `paramwise_cfg`, with the semantics of MMEngine's
//! `DefaultOptimWrapperConstructor`.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;
use tch::Tensor;

use super::config::{CustomKeyOptions, ParamwiseCfg};
use crate::error::{OptimError, Result};
use crate::group::{GroupOverrides, Param, ParamGroup};

/// The groups for `params`: one group with every parameter when `paramwise` is absent or
/// empty, else one group per trainable parameter, in order.
pub(crate) fn build_groups(
    defaults: &ParamGroup,
    optimizer_cfg: &Value,
    paramwise: Option<&ParamwiseCfg>,
    params: &[(String, Tensor)],
) -> Result<Vec<ParamGroup>> {
    let bypass = paramwise.and_then(|p| p.bypass_duplicate).unwrap_or(false);
    let mut seen = HashSet::new();
    let mut unique = Vec::with_capacity(params.len());
    for (name, tensor) in params {
        if !seen.insert(name.as_str()) {
            if bypass {
                log::warn!("{name} is duplicate. It is skipped since bypass_duplicate=True");
                continue;
            }
            return Err(OptimError::DuplicateParam { name: name.clone() });
        }
        unique.push(Param::new(name.clone(), tensor));
    }
    let cfg = match paramwise {
        Some(cfg) if !cfg.is_empty() => cfg,
        _ => return Ok(vec![defaults.derive(unique, &GroupOverrides::default(), "optimizer")?]),
    };
    let base_lr = optimizer_cfg.get("lr").and_then(Value::as_f64);
    let base_wd = optimizer_cfg.get("weight_decay").and_then(Value::as_f64);
    validate(cfg, base_wd)?;
    if cfg.dcn_offset_lr_mult.is_some() {
        log::warn!("paramwise_cfg.dcn_offset_lr_mult has no effect: there are no deformable convolutions");
    }
    let keys = sorted_keys(cfg);
    let shapes: BTreeMap<String, Vec<i64>> = unique.iter().map(|p| (p.name.clone(), p.tensor.size())).collect();
    let mut groups = Vec::with_capacity(unique.len());
    for param in unique {
        if !param.tensor.requires_grad() {
            log::warn!("{} is skipped since its requires_grad=False", param.name);
            continue;
        }
        let (key, overrides) = match keys.iter().find(|(k, _)| match_name(&param.name).contains(k.as_str())) {
            Some((k, opts)) => {
                let key = format!("paramwise_cfg.custom_keys.{k}");
                (key.clone(), custom_overrides(opts, base_lr, base_wd, &key)?)
            }
            None => ("paramwise_cfg".to_string(), heuristic_overrides(cfg, &param, &shapes, base_lr, base_wd)?),
        };
        log_overrides(&param.name, &overrides);
        groups.push(defaults.derive(vec![param], &overrides, &key)?);
    }
    Ok(groups)
}

/// MMEngine's checks: decay multipliers need the optimizer's `weight_decay`.
fn validate(cfg: &ParamwiseCfg, base_wd: Option<f64>) -> Result<()> {
    if base_wd.is_some() {
        return Ok(());
    }
    if let Some(keys) = &cfg.custom_keys {
        if let Some((k, _)) = keys.iter().find(|(_, o)| o.decay_mult.is_some()) {
            return Err(OptimError::config(
                format!("paramwise_cfg.custom_keys.{k}.decay_mult"),
                "needs `optimizer.weight_decay` to be set",
            ));
        }
    }
    for (name, v) in [
        ("bias_decay_mult", cfg.bias_decay_mult),
        ("norm_decay_mult", cfg.norm_decay_mult),
        ("dwconv_decay_mult", cfg.dwconv_decay_mult),
    ] {
        if v.is_some() {
            return Err(OptimError::config(
                format!("paramwise_cfg.{name}"),
                "needs `optimizer.weight_decay` to be set",
            ));
        }
    }
    Ok(())
}

/// Custom keys, alphabetical then stably by decreasing length (in characters).
fn sorted_keys(cfg: &ParamwiseCfg) -> Vec<(String, CustomKeyOptions)> {
    let mut keys: Vec<(String, CustomKeyOptions)> =
        cfg.custom_keys.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    keys.sort_by_key(|(k, _)| std::cmp::Reverse(k.chars().count()));
    keys
}

/// The string MMEngine matches keys against: `f"{prefix}.{name}"`, i.e. the full name, or
/// `.name` for a parameter of the top-level module.
fn match_name(full: &str) -> String {
    if full.contains('.') {
        full.to_string()
    } else {
        format!(".{full}")
    }
}

fn custom_overrides(
    o: &CustomKeyOptions,
    base_lr: Option<f64>,
    base_wd: Option<f64>,
    key: &str,
) -> Result<GroupOverrides> {
    let base_lr = base_lr.ok_or_else(|| {
        OptimError::config(key, "custom keys need the optimizer's `lr` to be set (it is multiplied by `lr_mult`)")
    })?;
    let mut out = GroupOverrides {
        lr: Some(base_lr * o.lr_mult.unwrap_or(1.0)),
        weight_decay: base_wd.map(|wd| wd * o.decay_mult.unwrap_or(1.0)),
        lr_mult: o.lr_mult,
        decay_mult: o.decay_mult,
        momentum: o.momentum,
        dampening: o.dampening,
        nesterov: o.nesterov,
        betas: o.betas.map(|b| (b[0], b[1])),
        eps: o.eps,
        amsgrad: o.amsgrad,
    };
    if o.lr.is_some() {
        out.lr = o.lr;
    }
    if o.weight_decay.is_some() {
        out.weight_decay = o.weight_decay;
    }
    Ok(out)
}

/// The module-type rules of MMEngine, decided from names and shapes (see [`ParamwiseCfg`]).
fn heuristic_overrides(
    cfg: &ParamwiseCfg,
    param: &Param,
    shapes: &BTreeMap<String, Vec<i64>>,
    base_lr: Option<f64>,
    base_wd: Option<f64>,
) -> Result<GroupOverrides> {
    let (module, own) = match param.name.rsplit_once('.') {
        Some((m, o)) => (m, o),
        None => ("", param.name.as_str()),
    };
    let is_norm = is_norm_module(module);
    let is_bias = own == "bias";
    let weight_shape = shapes.get(format!("{module}.weight").trim_start_matches('.'));
    let is_dwconv = weight_shape.is_some_and(|s| s.len() == 4 && s[1] == 1);
    let mut out = GroupOverrides::default();
    if let (true, false, Some(mult)) = (is_bias, is_norm, cfg.bias_lr_mult) {
        let lr = base_lr
            .ok_or_else(|| OptimError::config("paramwise_cfg.bias_lr_mult", "needs the optimizer's `lr` to be set"))?;
        out.lr = Some(lr * mult);
    }
    if let Some(wd) = base_wd {
        let mult = match () {
            _ if is_norm && cfg.norm_decay_mult.is_some() => cfg.norm_decay_mult,
            _ if is_bias && cfg.bias_decay_mult.is_some() => cfg.bias_decay_mult,
            _ if is_dwconv && cfg.dwconv_decay_mult.is_some() => cfg.dwconv_decay_mult,
            _ if param.tensor.dim() == 1 && cfg.flat_decay_mult.is_some() => cfg.flat_decay_mult,
            _ => None,
        };
        out.weight_decay = mult.map(|m| wd * m);
    }
    Ok(out)
}

/// True when the module named `module` (dotted path) looks like a normalization layer.
pub(crate) fn is_norm_module(module: &str) -> bool {
    let last = module.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    if last.contains("norm") {
        return true;
    }
    ["ln", "bn", "gn"].iter().any(|prefix| match last.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('_') || rest.chars().all(|c| c.is_ascii_digit()),
        None => false,
    })
}

fn log_overrides(name: &str, o: &GroupOverrides) {
    let fields = [("lr", o.lr), ("weight_decay", o.weight_decay), ("lr_mult", o.lr_mult), ("decay_mult", o.decay_mult)];
    for (k, v) in fields {
        if let Some(v) = v {
            log::debug!("paramwise_options -- {name}:{k}={v}");
        }
    }
}
