//! The `param_scheduler` config tables and their registry entries: `LinearLR`,
//! `CosineAnnealingLR`, `MultiStepLR`, `StepLR`, `ConstantLR`, `ExponentialLR`, `PolyLR`
//! and their `*Momentum` twins.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::core::{Scheduler, INF};
use super::rules::Rule;
use super::{ParamScheduler, ParamSchedulerKind, SchedulerContext};
use crate::error::{OptimError, Result};
use crate::group::ScheduledParam;

fn yes() -> bool {
    true
}
fn minus_one() -> i64 {
    -1
}
fn one_third() -> f64 {
    1.0 / 3.0
}
fn one() -> f64 {
    1.0
}
fn tenth() -> f64 {
    0.1
}

macro_rules! scheduler_config {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// First step of the window (an epoch when `by_epoch`; may be fractional with
            /// `convert_to_iter_based`).
            #[serde(default)]
            pub begin: f64,
            /// End of the window, exclusive. Default: the run's max epochs (`by_epoch`) or max
            /// iterations, else 1e9.
            #[serde(default)]
            pub end: Option<f64>,
            /// Step once per epoch (true) or once per iteration (false).
            #[serde(default = "yes")]
            pub by_epoch: bool,
            /// Turn this epoch-based schedule into an iteration-based one (begin, end and
            /// periods are multiplied by the number of iterations per epoch).
            #[serde(default)]
            pub convert_to_iter_based: bool,
            /// Resume from this step without a state dict (-1: a fresh start).
            #[serde(default = "minus_one")]
            pub last_step: i64,
            /// Log every value change.
            #[serde(default)]
            pub verbose: bool,
        }
    };
}

scheduler_config!(
    /// Linear change of the value from `start_factor` to `end_factor` times its initial value.
    LinearConfig {
        /// Factor at the first step, in [0, 1].
        #[serde(default = "one_third")]
        start_factor: f64,
        /// Factor at the end of the window, in [0, 1].
        #[serde(default = "one")]
        end_factor: f64,
    }
);

scheduler_config!(
    /// Cosine annealing from the current value to `eta_min` over `T_max` steps.
    CosineConfig {
        /// Steps of a half period (epochs before conversion). Default: `end - begin`.
        #[serde(rename = "T_max", default)]
        t_max: Option<f64>,
        /// Minimum value (default 0 unless `eta_min_ratio` is given).
        #[serde(default)]
        eta_min: Option<f64>,
        /// Minimum value as a ratio of each group's initial value.
        #[serde(default)]
        eta_min_ratio: Option<f64>,
    }
);

scheduler_config!(
    /// Multiplies the value by `gamma` at each milestone.
    MultiStepConfig {
        /// Steps (epochs before conversion) at which the value decays; repeats decay again.
        milestones: Vec<i64>,
        /// Decay factor.
        #[serde(default = "tenth")]
        gamma: f64,
    }
);

scheduler_config!(
    /// Multiplies the value by `gamma` every `step_size` steps.
    StepConfig {
        /// Period (epochs before conversion).
        step_size: i64,
        /// Decay factor.
        #[serde(default = "tenth")]
        gamma: f64,
    }
);

scheduler_config!(
    /// Multiplies the value by `factor` until the end of the window.
    ConstantConfig {
        /// The factor, in (0, 1].
        #[serde(default = "one_third")]
        factor: f64,
    }
);

scheduler_config!(
    /// Multiplies the value by `gamma` every step.
    ExponentialConfig {
        /// Decay factor.
        gamma: f64,
    }
);

scheduler_config!(
    /// Polynomial decay to `eta_min` over the window.
    PolyConfig {
        /// Final value.
        #[serde(default)]
        eta_min: f64,
        /// Power of the polynomial.
        #[serde(default = "one")]
        power: f64,
    }
);

/// The window and flags common to every scheduler, resolved against the run.
struct Resolved {
    begin: i64,
    end: i64,
    by_epoch: bool,
    /// The epoch length when the schedule was converted to iterations.
    scale: Option<i64>,
}

fn resolve(begin: f64, end: Option<f64>, by_epoch: bool, convert: bool, ctx: &SchedulerContext) -> Result<Resolved> {
    let default_end = if by_epoch { ctx.max_epochs } else { ctx.max_iters };
    let end = end.or(default_end.map(|e| e as f64)).unwrap_or(INF as f64);
    if begin.is_nan() || begin < 0.0 {
        return Err(OptimError::config("begin", format!("must be >= 0, got {begin}")));
    }
    if convert {
        if !by_epoch {
            return Err(OptimError::config(
                "convert_to_iter_based",
                "only epoch-based schedules (by_epoch = true) can be converted to iteration-based ones",
            ));
        }
        let e = ctx.epoch_length;
        if e == 0 {
            return Err(OptimError::config("convert_to_iter_based", "the epoch length (batches per epoch) is 0"));
        }
        let scaled = |v: f64| (v * e as f64).trunc() as i64;
        let end = if end == INF as f64 { INF } else { scaled(end) };
        return Ok(Resolved { begin: scaled(begin), end, by_epoch: false, scale: Some(e as i64) });
    }
    for (key, v) in [("begin", begin), ("end", end)] {
        if v.fract() != 0.0 {
            return Err(OptimError::config(
                key,
                format!("must be a whole number unless convert_to_iter_based, got {v}"),
            ));
        }
    }
    Ok(Resolved { begin: begin as i64, end: end as i64, by_epoch, scale: None })
}

/// Which group value a scheduler type drives.
pub trait ParamMarker: Send + Sync + 'static {
    /// The value.
    const PARAM: ScheduledParam;
    /// Picks the registered name.
    fn pick(lr: &'static str, momentum: &'static str) -> &'static str;
}

/// Marks learning-rate schedulers (`*LR`).
pub struct Lr;
/// Marks momentum schedulers (`*Momentum`).
pub struct Momentum;

impl ParamMarker for Lr {
    const PARAM: ScheduledParam = ScheduledParam::Lr;
    fn pick(lr: &'static str, _: &'static str) -> &'static str {
        lr
    }
}

impl ParamMarker for Momentum {
    const PARAM: ScheduledParam = ScheduledParam::Momentum;
    fn pick(_: &'static str, momentum: &'static str) -> &'static str {
        momentum
    }
}

macro_rules! scheduler_component {
    ($ty:ident, $cfg:ident, $lr:literal, $mom:literal, |$c:ident, $r:ident| $rule:expr) => {
        #[doc = concat!("The `", $lr, "` / `", $mom, "` registry entries.")]
        pub struct $ty<P>(PhantomData<P>);

        impl<P: ParamMarker> Component<ParamSchedulerKind> for $ty<P> {
            type Config = $cfg;
            fn build(
                $c: &$cfg,
                ctx: &SchedulerContext,
                _: &BuildSite<'_>,
            ) -> std::result::Result<Box<dyn ParamScheduler>, BoxError> {
                let $r = resolve($c.begin, $c.end, $c.by_epoch, $c.convert_to_iter_based, ctx)?;
                let rule: Result<Rule> = $rule;
                let name = P::pick($lr, $mom);
                let s =
                    Scheduler::new(name, P::PARAM, ($r.begin, $r.end), $r.by_epoch, $c.last_step, $c.verbose, rule?)?;
                Ok(Box::new(s))
            }
        }

        register!(ParamSchedulerKind, $lr, $ty<Lr>);
        register!(ParamSchedulerKind, $mom, $ty<Momentum>);
    };
}

fn unit_factor(key: &str, v: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(OptimError::config(key, format!("must be between 0 and 1, got {v}")))
    }
}

scheduler_component!(Linear, LinearConfig, "LinearLR", "LinearMomentum", |c, r| Ok(Rule::Linear {
    start_factor: unit_factor("start_factor", c.start_factor)?,
    end_factor: unit_factor("end_factor", c.end_factor)?,
    total_iters: r.end - r.begin - 1,
}));

scheduler_component!(CosineAnnealing, CosineConfig, "CosineAnnealingLR", "CosineAnnealingMomentum", |c, r| {
    if c.eta_min.is_some() && c.eta_min_ratio.is_some() {
        return Err(Box::new(OptimError::config(
            "eta_min_ratio",
            "give either `eta_min` or `eta_min_ratio`, not both",
        )));
    }
    let t_max = c.t_max.map(|t| t * r.scale.unwrap_or(1) as f64).filter(|t| *t != 0.0);
    let t_max = t_max.unwrap_or((r.end - r.begin) as f64);
    if t_max.is_nan() || t_max <= 0.0 {
        return Err(Box::new(OptimError::config("T_max", format!("must be positive, got {t_max}"))));
    }
    let eta_min = if c.eta_min.is_none() && c.eta_min_ratio.is_none() { Some(0.0) } else { c.eta_min };
    Ok(Rule::Cosine { t_max, eta_min, eta_min_ratio: c.eta_min_ratio })
});

scheduler_component!(MultiStep, MultiStepConfig, "MultiStepLR", "MultiStepMomentum", |c, r| {
    let mut milestones = BTreeMap::new();
    for m in &c.milestones {
        *milestones.entry(m.saturating_mul(r.scale.unwrap_or(1))).or_insert(0u32) += 1;
    }
    Ok(Rule::MultiStep { milestones, gamma: c.gamma })
});

scheduler_component!(StepSchedule, StepConfig, "StepLR", "StepMomentum", |c, r| {
    if c.step_size <= 0 {
        return Err(Box::new(OptimError::config("step_size", format!("must be positive, got {}", c.step_size))));
    }
    Ok(Rule::Step { step_size: c.step_size.saturating_mul(r.scale.unwrap_or(1)), gamma: c.gamma })
});

scheduler_component!(Constant, ConstantConfig, "ConstantLR", "ConstantMomentum", |c, r| {
    if !(c.factor > 0.0 && c.factor <= 1.0) {
        return Err(Box::new(OptimError::config("factor", format!("must be in (0, 1], got {}", c.factor))));
    }
    Ok(Rule::Constant { factor: c.factor, total_iters: r.end - r.begin - 1 })
});

scheduler_component!(Exponential, ExponentialConfig, "ExponentialLR", "ExponentialMomentum", |c, _r| Ok(
    Rule::Exponential { gamma: c.gamma }
));

scheduler_component!(Poly, PolyConfig, "PolyLR", "PolyMomentum", |c, r| Ok(Rule::Poly {
    eta_min: c.eta_min,
    power: c.power,
    total_iters: r.end - r.begin - 1,
}));
