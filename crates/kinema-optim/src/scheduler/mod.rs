//! Parameter schedulers with MMEngine's semantics: chainable formulas, a first step at
//! construction, `[begin, end)` windows, epoch- or iteration-based stepping, and
//! `convert_to_iter_based`.
//!
//! The runner builds the config's `param_scheduler` (a table or a list) with
//! [`build_schedulers`] (or [`ParamSchedulers::build`]) right after the optimizer wrapper,
//! then steps the iteration-based ones after every training iteration and the epoch-based
//! ones after every training epoch (MMEngine's `ParamSchedulerHook`), passing
//! [`OptimWrapper::param_groups_mut`](crate::OptimWrapper::param_groups_mut).

mod configs;
mod core;
mod rules;

use kinema_core::registry::{self, BuildError, BuildSite};
use serde_json::Value;

use crate::error::{OptimError, Result};
use crate::group::{ParamGroup, ScheduledParam};

pub use self::core::{Scheduler, INF};
pub use configs::{
    Constant, ConstantConfig, CosineAnnealing, CosineConfig, Exponential, ExponentialConfig, Linear, LinearConfig, Lr,
    Momentum, MultiStep, MultiStepConfig, ParamMarker, Poly, PolyConfig, StepConfig, StepSchedule,
};
pub use rules::Rule;

/// Registry kind of parameter schedulers (`param_scheduler`).
pub struct ParamSchedulerKind;

impl kinema_core::Kind for ParamSchedulerKind {
    const NAME: &'static str = "param_scheduler";
    type Context = SchedulerContext;
    type Output = dyn ParamScheduler;
}

/// What schedulers need to know about the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerContext {
    /// Batches per epoch (`len(train_dataloader)`), for `convert_to_iter_based`.
    pub epoch_length: usize,
    /// The train loop's max epochs (the default `end` of epoch-based schedules). MMEngine's
    /// iteration-based loop reports 1.
    pub max_epochs: Option<usize>,
    /// The train loop's max iterations (the default `end` of iteration-based schedules).
    pub max_iters: Option<usize>,
}

/// A parameter scheduler (MMEngine's `_ParamScheduler`).
pub trait ParamScheduler: Send {
    /// The registered type (`"LinearLR"`).
    fn type_name(&self) -> &'static str;
    /// The group value it drives.
    fn param(&self) -> ScheduledParam;
    /// Stepped after every epoch (true) or after every iteration (false).
    fn by_epoch(&self) -> bool;
    /// What MMEngine's constructor does to the optimizer: record `initial_*` in every group
    /// (unless set), take them as base values, and make the first step.
    fn attach(&mut self, groups: &mut [ParamGroup]) -> Result<()>;
    /// One step: advance the global step and, inside the window, update every group.
    fn step(&mut self, groups: &mut [ParamGroup]);
    /// The groups' values after the last step (`get_last_value()`).
    fn last_values(&self) -> &[f64];
    /// The state to checkpoint (MMEngine's `__dict__` minus the optimizer, plus `type`).
    fn state_dict(&self) -> Value;
    /// Restores a state saved by [`ParamScheduler::state_dict`] (saved fields win over the
    /// config, as MMEngine's `__dict__.update`).
    fn load_state_dict(&mut self, state: &Value) -> std::result::Result<(), String>;
}

/// Builds the config's `param_scheduler` (`value`: one table, or a list of tables) in order and
/// attaches each to `groups` ([`OptimWrapper::param_groups_mut`](crate::OptimWrapper::param_groups_mut)),
/// applying the initial steps exactly as MMEngine's runner does. Step the result after each
/// iteration (schedulers with `by_epoch() == false`) and after each epoch (the others), in
/// order, as MMEngine's `ParamSchedulerHook` does.
#[allow(clippy::result_large_err)] // the registry's error type, as `registry::build` returns it
pub fn build_schedulers(
    value: &Value,
    site: &BuildSite<'_>,
    ctx: &SchedulerContext,
    groups: &mut [ParamGroup],
) -> std::result::Result<Vec<Box<dyn ParamScheduler>>, BuildError> {
    let tables: Vec<(&Value, BuildSite<'_>)> = match value {
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| (v, site.index(i))).collect(),
        other => vec![(other, site.clone())],
    };
    let mut schedulers = Vec::with_capacity(tables.len());
    for (table, site) in tables {
        let built = registry::build::<ParamSchedulerKind>(table, &site, ctx)?;
        let type_name = built.type_name;
        let mut scheduler = built.into_inner();
        scheduler.attach(groups).map_err(|e| BuildError::Component {
            source_of: site.source_of(site.path()),
            path: site.path().clone(),
            kind: "param_scheduler",
            type_name: type_name.to_string(),
            source: Box::new(e),
        })?;
        schedulers.push(scheduler);
    }
    Ok(schedulers)
}

/// The run's schedulers, in config order, with the runner's stepping and an all-or-nothing
/// state restore.
pub struct ParamSchedulers {
    schedulers: Vec<Box<dyn ParamScheduler>>,
}

impl ParamSchedulers {
    /// [`build_schedulers`], kept together.
    #[allow(clippy::result_large_err)] // the registry's error type, as `registry::build` returns it
    pub fn build(
        value: &Value,
        site: &BuildSite<'_>,
        ctx: &SchedulerContext,
        groups: &mut [ParamGroup],
    ) -> std::result::Result<Self, BuildError> {
        Ok(ParamSchedulers { schedulers: build_schedulers(value, site, ctx, groups)? })
    }

    /// Schedulers built elsewhere (already attached).
    pub fn from_schedulers(schedulers: Vec<Box<dyn ParamScheduler>>) -> Self {
        ParamSchedulers { schedulers }
    }

    /// The schedulers.
    pub fn iter(&self) -> impl Iterator<Item = &dyn ParamScheduler> {
        self.schedulers.iter().map(|s| s.as_ref())
    }

    /// Number of schedulers.
    pub fn len(&self) -> usize {
        self.schedulers.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.schedulers.is_empty()
    }

    /// After a training iteration: steps every iteration-based scheduler, in order.
    pub fn step_iter(&mut self, groups: &mut [ParamGroup]) {
        self.schedulers.iter_mut().filter(|s| !s.by_epoch()).for_each(|s| s.step(groups))
    }

    /// After a training epoch: steps every epoch-based scheduler, in order.
    pub fn step_epoch(&mut self, groups: &mut [ParamGroup]) {
        self.schedulers.iter_mut().filter(|s| s.by_epoch()).for_each(|s| s.step(groups))
    }

    /// The schedulers, to store elsewhere.
    pub fn into_inner(self) -> Vec<Box<dyn ParamScheduler>> {
        self.schedulers
    }

    /// One state per scheduler, in order (MMEngine's `param_schedulers` checkpoint entry).
    pub fn state_dict(&self) -> Value {
        Value::Array(self.schedulers.iter().map(|s| s.state_dict()).collect())
    }

    /// Restores the states saved by [`ParamSchedulers::state_dict`]; on error nothing changes.
    pub fn load_state_dict(&mut self, state: &Value) -> Result<()> {
        let list = state.as_array().ok_or_else(|| OptimError::SchedulerState {
            index: 0,
            scheduler: "param_schedulers".into(),
            message: "expected a list".into(),
        })?;
        if list.len() != self.schedulers.len() {
            return Err(OptimError::SchedulerState {
                index: list.len().min(self.schedulers.len()),
                scheduler: "param_schedulers".into(),
                message: format!("the checkpoint has {} schedulers, the config {}", list.len(), self.schedulers.len()),
            });
        }
        let backups: Vec<Value> = self.schedulers.iter().map(|s| s.state_dict()).collect();
        for (index, saved) in list.iter().enumerate() {
            let s = &mut self.schedulers[index];
            if let Err(message) = s.load_state_dict(saved) {
                let scheduler = s.type_name().to_string();
                for (s, backup) in self.schedulers.iter_mut().zip(&backups).take(index) {
                    // A scheduler always accepts its own state.
                    let _ = s.load_state_dict(backup);
                }
                return Err(OptimError::SchedulerState { index, scheduler, message });
            }
        }
        Ok(())
    }
}
