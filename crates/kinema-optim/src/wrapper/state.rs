//! Saving and restoring an [`OptimWrapper`]: hyper-parameters, per-parameter state and the
//! loss scaler, laid out like MMEngine's `optim_wrapper.state_dict()`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tch::Tensor;

use super::OptimWrapper;
use crate::error::{OptimError, Result};

/// An optimizer wrapper's saved state.
///
/// `meta` holds `type` (the optimizer), `param_groups` (hyper-parameters with `params` = the
/// parameter names), `state` (`{"<name>": {"step": n}}`), `base_param_settings` (when there
/// is more than one group) and `loss_scaler` (AMP). `tensors` holds the per-parameter
/// tensors as `state.<param name>.<key>` (`exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`,
/// `momentum_buffer`), sharing storage with the live state: copy or save them before
/// stepping again.
#[derive(Debug)]
pub struct OptimState {
    /// Hyper-parameters, step counts and scaler state.
    pub meta: Value,
    /// Per-parameter state tensors.
    pub tensors: Vec<(String, Tensor)>,
}

impl OptimWrapper {
    /// The state to put in a checkpoint.
    pub fn state_dict(&self) -> OptimState {
        let mut meta = Map::new();
        meta.insert("type".into(), Value::String(self.optimizer.type_name().into()));
        meta.insert("state".into(), self.optimizer.state_meta());
        let groups = self.optimizer_groups().iter().map(|g| g.to_json()).collect();
        meta.insert("param_groups".into(), Value::Array(groups));
        if let Some(base) = self.base_param_settings() {
            meta.insert("base_param_settings".into(), base.to_json());
        }
        if let Some((_, scaler)) = &self.amp {
            meta.insert("loss_scaler".into(), scaler.state_dict());
        }
        OptimState { meta: Value::Object(meta), tensors: self.optimizer.state_tensors() }
    }

    /// Restores a state saved by [`OptimWrapper::state_dict`] for the same optimizer type,
    /// groups and parameters (names and shapes are checked; on error nothing changes). The
    /// accumulation count is not part of the state: call
    /// [`OptimWrapper::initialize_count_status`] afterwards, as MMEngine's runner does.
    pub fn load_state_dict(&mut self, state: OptimState) -> Result<()> {
        let meta = state.meta.as_object().ok_or_else(|| OptimError::State("the state must be an object".into()))?;
        let saved_type = meta.get("type").and_then(Value::as_str).unwrap_or("<missing>");
        if saved_type != self.optimizer.type_name() {
            return Err(OptimError::State(format!(
                "it was saved by a {saved_type} optimizer, but this one is {}",
                self.optimizer.type_name()
            )));
        }
        let saved_groups = meta
            .get("param_groups")
            .and_then(Value::as_array)
            .ok_or_else(|| OptimError::State("`param_groups` is missing".into()))?;
        if saved_groups.len() != self.num_groups {
            return Err(OptimError::State(format!(
                "it has {} parameter groups, but this optimizer has {} (paramwise_cfg or the trainable parameters differ)",
                saved_groups.len(),
                self.num_groups
            )));
        }
        let mut groups: Vec<_> = self.groups.clone();
        for (i, (saved, group)) in saved_groups.iter().zip(groups.iter_mut()).enumerate() {
            check_names(i, saved, group.names().collect())?;
            group.load_json(saved, &format!("param_groups[{i}]"))?;
        }
        if let (Some(saved), Some(base)) = (meta.get("base_param_settings"), groups.get_mut(self.num_groups)) {
            base.load_json(saved, "base_param_settings")?;
        }
        let scaler = match (meta.get("loss_scaler"), &self.amp) {
            (Some(saved), Some((_, scaler))) => Some(scaler.loaded(saved)?),
            (Some(_), None) => {
                log::info!("the saved optimizer state has a loss scaler; this run does not use AMP, ignoring it");
                None
            }
            (None, _) => None,
        };
        let mut tensors: BTreeMap<String, Tensor> = state.tensors.into_iter().collect();
        let empty = Value::Object(Map::new());
        let saved_state = meta.get("state").unwrap_or(&empty);
        let backup = (self.optimizer.state_meta(), self.optimizer.state_tensors());
        self.optimizer.load_state(saved_state, &mut tensors, &groups[..self.num_groups])?;
        if let Some(name) = tensors.keys().next() {
            let error = OptimError::State(format!("unexpected tensor `{name}` ({} tensors not used)", tensors.len()));
            let mut old: BTreeMap<String, Tensor> = backup.1.into_iter().collect();
            self.optimizer.load_state(&backup.0, &mut old, &self.groups[..self.num_groups])?;
            return Err(error);
        }
        self.groups = groups;
        if let (Some(new), Some((_, scaler))) = (scaler, &mut self.amp) {
            *scaler = new;
        }
        Ok(())
    }
}

fn check_names(index: usize, saved: &Value, ours: Vec<&str>) -> Result<()> {
    let names: Vec<&str> = saved
        .get("params")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .ok_or_else(|| OptimError::State(format!("`param_groups[{index}].params` is missing")))?;
    if names.len() != ours.len() {
        return Err(OptimError::State(format!(
            "param_groups[{index}] has {} parameters, but this optimizer's group has {}",
            names.len(),
            ours.len()
        )));
    }
    if let Some((saved, expected)) = names.iter().zip(&ours).find(|(a, b)| a != b) {
        return Err(OptimError::State(format!(
            "param_groups[{index}] holds parameter `{saved}` where this model has `{expected}`"
        )));
    }
    Ok(())
}
