//! Parameter groups: the parameters an optimizer updates with one set of hyper-parameters,
//! as in `torch.optim.Optimizer.param_groups`.

use serde_json::{json, Map, Value};
use tch::Tensor;

use crate::error::{OptimError, Result};

/// One trainable parameter and its full name (`clip.visual.conv1.weight`).
#[derive(Debug)]
pub struct Param {
    /// The full dotted name, as in a PyTorch state dict.
    pub name: String,
    /// The tensor (requires grad); shares storage with the model's variable.
    pub tensor: Tensor,
}

impl Param {
    /// A parameter sharing `tensor`'s storage.
    pub fn new(name: impl Into<String>, tensor: &Tensor) -> Self {
        Param { name: name.into(), tensor: tensor.shallow_clone() }
    }
}

impl Clone for Param {
    fn clone(&self) -> Self {
        Param { name: self.name.clone(), tensor: self.tensor.shallow_clone() }
    }
}

/// The optimizer-specific hyper-parameters of a group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hyper {
    /// Adam and AdamW.
    Adam {
        /// Coefficients of the running averages of the gradient and its square.
        betas: (f64, f64),
        /// Term added to the denominator.
        eps: f64,
        /// Use the maximum of past squared-gradient averages (AMSGrad).
        amsgrad: bool,
    },
    /// SGD.
    Sgd {
        /// Momentum factor.
        momentum: f64,
        /// Dampening of the momentum.
        dampening: f64,
        /// Nesterov momentum.
        nesterov: bool,
    },
}

/// A group value a parameter scheduler can drive (MMEngine's `param_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduledParam {
    /// The learning rate (`lr`).
    Lr,
    /// SGD's `momentum`, or `betas[0]` for Adam-like optimizers (MMEngine's momentum schedulers).
    Momentum,
}

impl ScheduledParam {
    /// The group key (`lr`, `momentum`).
    pub fn name(self) -> &'static str {
        match self {
            ScheduledParam::Lr => "lr",
            ScheduledParam::Momentum => "momentum",
        }
    }
}

/// Per-group settings that override the optimizer's defaults (a `paramwise_cfg.custom_keys`
/// entry, resolved). `None` keeps the default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupOverrides {
    /// Learning rate.
    pub lr: Option<f64>,
    /// Weight decay.
    pub weight_decay: Option<f64>,
    /// SGD momentum.
    pub momentum: Option<f64>,
    /// SGD dampening.
    pub dampening: Option<f64>,
    /// SGD Nesterov.
    pub nesterov: Option<bool>,
    /// Adam betas.
    pub betas: Option<(f64, f64)>,
    /// Adam eps.
    pub eps: Option<f64>,
    /// Adam AMSGrad.
    pub amsgrad: Option<bool>,
    /// The `lr_mult` that produced `lr` (kept in the group for the record, as MMEngine does).
    pub lr_mult: Option<f64>,
    /// The `decay_mult` that produced `weight_decay` (kept for the record).
    pub decay_mult: Option<f64>,
}

/// A parameter group: parameters plus their hyper-parameters. The *base settings* group
/// (MMEngine's `base_param_settings`) is a group without parameters.
#[derive(Debug, Clone)]
pub struct ParamGroup {
    params: Vec<Param>,
    /// Learning rate (driven by `*LR` schedulers).
    pub lr: f64,
    /// Weight decay (decoupled for AdamW, L2 for Adam and SGD).
    pub weight_decay: f64,
    /// Optimizer-specific hyper-parameters.
    pub hyper: Hyper,
    /// The learning rate before any scheduler ran (`initial_lr`, set by the first LR scheduler).
    pub initial_lr: Option<f64>,
    /// The momentum before any scheduler ran (`initial_momentum`).
    pub initial_momentum: Option<f64>,
    /// The custom key's `lr_mult`, when one applied.
    pub lr_mult: Option<f64>,
    /// The custom key's `decay_mult`, when one applied.
    pub decay_mult: Option<f64>,
}

impl ParamGroup {
    /// A group of `params` with the given hyper-parameters (validated).
    pub fn new(params: Vec<Param>, lr: f64, weight_decay: f64, hyper: Hyper) -> Result<Self> {
        let group = ParamGroup {
            params,
            lr,
            weight_decay,
            hyper,
            initial_lr: None,
            initial_momentum: None,
            lr_mult: None,
            decay_mult: None,
        };
        group.validate("")?;
        Ok(group)
    }

    /// This group's settings with `overrides` applied and `params` instead of its own.
    pub fn derive(&self, params: Vec<Param>, overrides: &GroupOverrides, key: &str) -> Result<Self> {
        let mut group = ParamGroup { params, ..self.clone_settings() };
        group.lr = overrides.lr.unwrap_or(group.lr);
        group.weight_decay = overrides.weight_decay.unwrap_or(group.weight_decay);
        group.lr_mult = overrides.lr_mult;
        group.decay_mult = overrides.decay_mult;
        let wrong = |field: &str, optimizer: &str| {
            Err(OptimError::config(key, format!("`{field}` is not a hyper-parameter of {optimizer}")))
        };
        match &mut group.hyper {
            Hyper::Adam { betas, eps, amsgrad } => {
                if overrides.momentum.is_some() {
                    return wrong("momentum", "Adam/AdamW (use `betas`)");
                }
                if overrides.dampening.is_some() {
                    return wrong("dampening", "Adam/AdamW");
                }
                if overrides.nesterov.is_some() {
                    return wrong("nesterov", "Adam/AdamW");
                }
                *betas = overrides.betas.unwrap_or(*betas);
                *eps = overrides.eps.unwrap_or(*eps);
                *amsgrad = overrides.amsgrad.unwrap_or(*amsgrad);
            }
            Hyper::Sgd { momentum, dampening, nesterov } => {
                if overrides.betas.is_some() {
                    return wrong("betas", "SGD (use `momentum`)");
                }
                if overrides.eps.is_some() {
                    return wrong("eps", "SGD");
                }
                if overrides.amsgrad.is_some() {
                    return wrong("amsgrad", "SGD");
                }
                *momentum = overrides.momentum.unwrap_or(*momentum);
                *dampening = overrides.dampening.unwrap_or(*dampening);
                *nesterov = overrides.nesterov.unwrap_or(*nesterov);
            }
        }
        group.validate(key)?;
        Ok(group)
    }

    /// The same settings without parameters.
    pub fn clone_settings(&self) -> Self {
        ParamGroup { params: Vec::new(), ..self.clone() }
    }

    /// Checks the ranges PyTorch's optimizers check.
    pub fn validate(&self, key: &str) -> Result<()> {
        let err = |m: String| Err(OptimError::config(key, m));
        if self.lr.is_nan() || self.lr < 0.0 {
            return err(format!("invalid learning rate {}; expected >= 0", self.lr));
        }
        if self.weight_decay.is_nan() || self.weight_decay < 0.0 {
            return err(format!("invalid weight_decay {}; expected >= 0", self.weight_decay));
        }
        match self.hyper {
            Hyper::Adam { betas: (b1, b2), eps, .. } => {
                if !(0.0..1.0).contains(&b1) {
                    return err(format!("invalid beta parameter at index 0: {b1}; expected 0 <= beta < 1"));
                }
                if !(0.0..1.0).contains(&b2) {
                    return err(format!("invalid beta parameter at index 1: {b2}; expected 0 <= beta < 1"));
                }
                if eps.is_nan() || eps < 0.0 {
                    return err(format!("invalid eps {eps}; expected >= 0"));
                }
            }
            Hyper::Sgd { momentum, dampening, nesterov } => {
                if momentum.is_nan() || momentum < 0.0 {
                    return err(format!("invalid momentum {momentum}; expected >= 0"));
                }
                if nesterov && (momentum <= 0.0 || dampening != 0.0) {
                    return err("Nesterov momentum requires a momentum > 0 and zero dampening".into());
                }
            }
        }
        Ok(())
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The parameter names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params.iter().map(|p| p.name.as_str())
    }

    /// The momentum a momentum scheduler drives: SGD's `momentum` or Adam's `betas[0]`.
    pub fn momentum(&self) -> f64 {
        match self.hyper {
            Hyper::Adam { betas, .. } => betas.0,
            Hyper::Sgd { momentum, .. } => momentum,
        }
    }

    /// The current value of a scheduled parameter.
    pub fn value(&self, p: ScheduledParam) -> f64 {
        match p {
            ScheduledParam::Lr => self.lr,
            ScheduledParam::Momentum => self.momentum(),
        }
    }

    /// Sets a scheduled parameter (for Adam, momentum writes `betas[0]`).
    pub fn set_value(&mut self, p: ScheduledParam, v: f64) {
        match (p, &mut self.hyper) {
            (ScheduledParam::Lr, _) => self.lr = v,
            (ScheduledParam::Momentum, Hyper::Adam { betas, .. }) => betas.0 = v,
            (ScheduledParam::Momentum, Hyper::Sgd { momentum, .. }) => *momentum = v,
        }
    }

    /// `initial_lr` / `initial_momentum`.
    pub fn initial(&self, p: ScheduledParam) -> Option<f64> {
        match p {
            ScheduledParam::Lr => self.initial_lr,
            ScheduledParam::Momentum => self.initial_momentum,
        }
    }

    /// Sets `initial_lr` / `initial_momentum`.
    pub fn set_initial(&mut self, p: ScheduledParam, v: f64) {
        match p {
            ScheduledParam::Lr => self.initial_lr = Some(v),
            ScheduledParam::Momentum => self.initial_momentum = Some(v),
        }
    }

    /// The hyper-parameters as a JSON object, keys as in a PyTorch optimizer state dict
    /// (`params` lists the parameter names).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("params".into(), json!(self.names().collect::<Vec<_>>()));
        m.insert("lr".into(), json!(self.lr));
        m.insert("weight_decay".into(), json!(self.weight_decay));
        match self.hyper {
            Hyper::Adam { betas, eps, amsgrad } => {
                m.insert("betas".into(), json!([betas.0, betas.1]));
                m.insert("eps".into(), json!(eps));
                m.insert("amsgrad".into(), json!(amsgrad));
            }
            Hyper::Sgd { momentum, dampening, nesterov } => {
                m.insert("momentum".into(), json!(momentum));
                m.insert("dampening".into(), json!(dampening));
                m.insert("nesterov".into(), json!(nesterov));
            }
        }
        let optional = [
            ("initial_lr", self.initial_lr),
            ("initial_momentum", self.initial_momentum),
            ("lr_mult", self.lr_mult),
            ("decay_mult", self.decay_mult),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        Value::Object(m)
    }

    /// Restores the hyper-parameters saved by [`ParamGroup::to_json`] (the parameters stay).
    pub fn load_json(&mut self, v: &Value, what: &str) -> Result<()> {
        let err = |m: String| OptimError::State(format!("{what}: {m}"));
        let obj = v.as_object().ok_or_else(|| err("expected an object".into()))?;
        let num = |k: &str| -> Result<f64> {
            obj.get(k).and_then(Value::as_f64).ok_or_else(|| err(format!("missing number `{k}`")))
        };
        let flag = |k: &str| -> Result<bool> {
            obj.get(k).and_then(Value::as_bool).ok_or_else(|| err(format!("missing boolean `{k}`")))
        };
        let opt = |k: &str| obj.get(k).and_then(Value::as_f64);
        self.lr = num("lr")?;
        self.weight_decay = num("weight_decay")?;
        match &mut self.hyper {
            Hyper::Adam { betas, eps, amsgrad } => {
                let b = obj.get("betas").and_then(Value::as_array).ok_or_else(|| err("missing `betas`".into()))?;
                match b.as_slice() {
                    [b1, b2] => match (b1.as_f64(), b2.as_f64()) {
                        (Some(b1), Some(b2)) => *betas = (b1, b2),
                        _ => return Err(err("`betas` must hold two numbers".into())),
                    },
                    _ => return Err(err("`betas` must hold two numbers".into())),
                }
                *eps = num("eps")?;
                *amsgrad = flag("amsgrad")?;
            }
            Hyper::Sgd { momentum, dampening, nesterov } => {
                *momentum = num("momentum")?;
                *dampening = num("dampening")?;
                *nesterov = flag("nesterov")?;
            }
        }
        self.initial_lr = opt("initial_lr");
        self.initial_momentum = opt("initial_momentum");
        self.lr_mult = opt("lr_mult");
        self.decay_mult = opt("decay_mult");
        Ok(())
    }
}
