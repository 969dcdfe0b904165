//! The scheduler bookkeeping shared by every schedule (MMEngine's `_ParamScheduler`):
//! `initial_*` values, the step at construction, `_global_step` / `last_step`, the
//! `[begin, end)` window and the state dict.

use serde_json::{json, Map, Value};

use super::rules::Rule;
use super::ParamScheduler;
use crate::error::{OptimError, Result};
use crate::group::{ParamGroup, ScheduledParam};

/// MMEngine's `INF`: the default `end` of a scheduler.
pub const INF: i64 = 1_000_000_000;

/// A parameter scheduler: one [`Rule`] applied to one group value within a window.
#[derive(Debug, Clone)]
pub struct Scheduler {
    type_name: &'static str,
    param: ScheduledParam,
    begin: i64,
    end: i64,
    by_epoch: bool,
    last_step: i64,
    global_step: i64,
    base_values: Vec<f64>,
    last_value: Vec<f64>,
    verbose: bool,
    rule: Rule,
}

impl Scheduler {
    /// A scheduler over `[begin, end)` (already converted to iterations when needed).
    /// `last_step` other than -1 resumes without a state dict (the groups must then hold
    /// `initial_*` values).
    pub fn new(
        type_name: &'static str,
        param: ScheduledParam,
        window: (i64, i64),
        by_epoch: bool,
        last_step: i64,
        verbose: bool,
        rule: Rule,
    ) -> Result<Self> {
        let (begin, end) = window;
        if end <= begin {
            return Err(OptimError::config(
                "end",
                format!("must be larger than begin, but got begin={begin}, end={end}"),
            ));
        }
        if last_step < -1 {
            return Err(OptimError::config("last_step", format!("must be -1 or a step index, got {last_step}")));
        }
        Ok(Scheduler {
            type_name,
            param,
            begin,
            end,
            by_epoch,
            last_step,
            global_step: -1,
            base_values: Vec::new(),
            last_value: Vec::new(),
            verbose,
            rule,
        })
    }

    /// The rule.
    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    /// `(begin, end)`, in steps of this scheduler (iterations when converted).
    pub fn window(&self) -> (i64, i64) {
        (self.begin, self.end)
    }
}

impl ParamScheduler for Scheduler {
    fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn param(&self) -> ScheduledParam {
        self.param
    }

    fn by_epoch(&self) -> bool {
        self.by_epoch
    }

    fn attach(&mut self, groups: &mut [ParamGroup]) -> Result<()> {
        let p = self.param;
        if self.last_step == -1 {
            for g in groups.iter_mut() {
                if g.initial(p).is_none() {
                    g.set_initial(p, g.value(p));
                }
            }
        }
        let mut base = Vec::with_capacity(groups.len());
        for (i, g) in groups.iter().enumerate() {
            base.push(g.initial(p).ok_or_else(|| {
                OptimError::config(
                    "last_step",
                    format!("param 'initial_{}' is not specified in param_groups[{i}] when resuming", p.name()),
                )
            })?);
        }
        self.base_values = base;
        self.global_step = -1;
        self.step(groups);
        Ok(())
    }

    fn step(&mut self, groups: &mut [ParamGroup]) {
        if groups.len() != self.base_values.len() {
            log::warn!(
                "{} was attached to {} parameter groups but is stepped with {}; only the first ones are scheduled",
                self.type_name,
                self.base_values.len(),
                groups.len()
            );
        }
        self.global_step += 1;
        if self.begin <= self.global_step && self.global_step < self.end {
            self.last_step += 1;
            let n = groups.len().min(self.base_values.len());
            let current: Vec<f64> = groups[..n].iter().map(|g| g.value(self.param)).collect();
            let values = self.rule.values(self.last_step, &current, &self.base_values[..n]);
            for (i, (g, v)) in groups.iter_mut().zip(values).enumerate() {
                g.set_value(self.param, v);
                if self.verbose {
                    log::info!("Adjusting parameter value of group {i} to {v:.4e}.");
                }
            }
        }
        self.last_value = groups.iter().map(|g| g.value(self.param)).collect();
    }

    fn last_values(&self) -> &[f64] {
        &self.last_value
    }

    fn state_dict(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!(self.type_name));
        m.insert("param_name".into(), json!(self.param.name()));
        m.insert("begin".into(), json!(self.begin));
        m.insert("end".into(), json!(self.end));
        m.insert("by_epoch".into(), json!(self.by_epoch));
        m.insert("base_values".into(), json!(self.base_values));
        m.insert("last_step".into(), json!(self.last_step));
        m.insert("_global_step".into(), json!(self.global_step));
        m.insert("verbose".into(), json!(self.verbose));
        m.insert("_last_value".into(), json!(self.last_value));
        m.extend(self.rule.to_json());
        Value::Object(m)
    }

    fn load_state_dict(&mut self, state: &Value) -> std::result::Result<(), String> {
        let s = state.as_object().ok_or("expected an object")?;
        let saved_type = s.get("type").and_then(Value::as_str).unwrap_or("<missing>");
        if saved_type != self.type_name {
            return Err(format!("it was saved by a {saved_type} scheduler"));
        }
        if s.get("param_name").and_then(Value::as_str) != Some(self.param.name()) {
            return Err(format!("`param_name` must be \"{}\"", self.param.name()));
        }
        let int = |k: &str| s.get(k).and_then(Value::as_i64).ok_or(format!("`{k}` must be an integer"));
        let list = |k: &str| -> std::result::Result<Vec<f64>, String> {
            let a = s.get(k).and_then(Value::as_array).ok_or(format!("`{k}` must be a list of numbers"))?;
            a.iter().map(|v| v.as_f64().ok_or(format!("`{k}` must be a list of numbers"))).collect()
        };
        let base_values = list("base_values")?;
        let last_value = list("_last_value")?;
        if base_values.len() != self.base_values.len() || last_value.len() != self.base_values.len() {
            return Err(format!(
                "it schedules {} parameter groups, but the optimizer has {}",
                base_values.len(),
                self.base_values.len()
            ));
        }
        let rule = self.rule.loaded(s)?;
        let by_epoch = s.get("by_epoch").and_then(Value::as_bool).ok_or("`by_epoch` must be a boolean")?;
        let (begin, end, last_step, global_step) =
            (int("begin")?, int("end")?, int("last_step")?, int("_global_step")?);
        *self = Scheduler {
            type_name: self.type_name,
            param: self.param,
            begin,
            end,
            by_epoch,
            last_step,
            global_step,
            base_values,
            last_value,
            verbose: s.get("verbose").and_then(Value::as_bool).unwrap_or(self.verbose),
            rule,
        };
        Ok(())
    }
}
