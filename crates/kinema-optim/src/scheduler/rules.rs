//! The schedules: MMEngine's chainable (recursive) formulas, evaluated with the same
//! floating-point operations in the same order, so that values agree to the last bit.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// A schedule rule and its parameters (iteration- or epoch-based, already converted).
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// `LinearLR`: from `start_factor` to `end_factor` times the value over the window.
    Linear {
        /// Factor at the first step.
        start_factor: f64,
        /// Factor at the last step of the window.
        end_factor: f64,
        /// `end - begin - 1`.
        total_iters: i64,
    },
    /// `CosineAnnealingLR`.
    Cosine {
        /// Half period.
        t_max: f64,
        /// Minimum value.
        eta_min: Option<f64>,
        /// Minimum value as a ratio of the base value.
        eta_min_ratio: Option<f64>,
    },
    /// `MultiStepLR`: multiply by `gamma` at each milestone (repeated milestones count).
    MultiStep {
        /// Milestone → multiplicity.
        milestones: BTreeMap<i64, u32>,
        /// Decay factor.
        gamma: f64,
    },
    /// `StepLR`: multiply by `gamma` every `step_size` steps.
    Step {
        /// Period.
        step_size: i64,
        /// Decay factor.
        gamma: f64,
    },
    /// `ConstantLR`: `factor` times the value until the end of the window.
    Constant {
        /// The factor.
        factor: f64,
        /// `end - begin - 1`.
        total_iters: i64,
    },
    /// `ExponentialLR`: multiply by `gamma` every step.
    Exponential {
        /// Decay factor.
        gamma: f64,
    },
    /// `PolyLR`: polynomial decay to `eta_min`.
    Poly {
        /// Final value.
        eta_min: f64,
        /// Power of the polynomial.
        power: f64,
        /// `end - begin - 1`.
        total_iters: i64,
    },
}

impl Rule {
    /// The next values, from the groups' current values (`current`), the base values and the
    /// scheduler's `last_step` (already incremented).
    pub fn values(&self, last_step: i64, current: &[f64], base: &[f64]) -> Vec<f64> {
        let keep = || current.to_vec();
        match self {
            Rule::Linear { start_factor, end_factor, total_iters } => {
                if last_step == 0 {
                    return current.iter().map(|v| v * start_factor).collect();
                }
                let denom = *total_iters as f64 * start_factor + (last_step - 1) as f64 * (end_factor - start_factor);
                current.iter().map(|v| v * (1.0 + (end_factor - start_factor) / denom)).collect()
            }
            Rule::Cosine { t_max, eta_min, eta_min_ratio } => {
                let eta = |b: f64| match eta_min_ratio {
                    Some(r) => b * r,
                    None => eta_min.unwrap_or(0.0),
                };
                if last_step == 0 {
                    return keep();
                }
                let t = *t_max;
                if (last_step as f64 - 1.0 - t).rem_euclid(2.0 * t) == 0.0 {
                    let c = 1.0 - (std::f64::consts::PI / t).cos();
                    return current.iter().zip(base).map(|(v, b)| v + (b - eta(*b)) * c / 2.0).collect();
                }
                let num = 1.0 + (std::f64::consts::PI * last_step as f64 / t).cos();
                let den = 1.0 + (std::f64::consts::PI * (last_step - 1) as f64 / t).cos();
                current.iter().zip(base).map(|(v, b)| num / den * (v - eta(*b)) + eta(*b)).collect()
            }
            Rule::MultiStep { milestones, gamma } => match milestones.get(&last_step) {
                Some(&count) => current.iter().map(|v| v * gamma.powf(count as f64)).collect(),
                None => keep(),
            },
            Rule::Step { step_size, gamma } => {
                if last_step == 0 || last_step % step_size != 0 {
                    keep()
                } else {
                    current.iter().map(|v| v * gamma).collect()
                }
            }
            Rule::Constant { factor, total_iters } => {
                if last_step == 0 {
                    current.iter().map(|v| v * factor).collect()
                } else if last_step != *total_iters {
                    keep()
                } else {
                    current.iter().map(|v| v * (1.0 / factor)).collect()
                }
            }
            Rule::Exponential { gamma } => {
                if last_step == 0 {
                    keep()
                } else {
                    current.iter().map(|v| v * gamma).collect()
                }
            }
            Rule::Poly { eta_min, power, total_iters } => {
                if last_step == 0 {
                    return keep();
                }
                let f = (1.0 - 1.0 / (total_iters - last_step + 1) as f64).powf(*power);
                current.iter().map(|v| (v - eta_min) * f + eta_min).collect()
            }
        }
    }

    /// The rule's fields as MMEngine names them in a scheduler's state dict.
    pub fn to_json(&self) -> Map<String, Value> {
        let v = match self {
            Rule::Linear { start_factor, end_factor, total_iters } => {
                json!({"start_factor": start_factor, "end_factor": end_factor, "total_iters": total_iters})
            }
            Rule::Cosine { t_max, eta_min, eta_min_ratio } => {
                json!({"T_max": t_max, "eta_min": eta_min, "eta_min_ratio": eta_min_ratio})
            }
            Rule::MultiStep { milestones, gamma } => {
                let list: Vec<i64> =
                    milestones.iter().flat_map(|(m, c)| std::iter::repeat_n(*m, *c as usize)).collect();
                json!({"milestones": list, "gamma": gamma})
            }
            Rule::Step { step_size, gamma } => json!({"step_size": step_size, "gamma": gamma}),
            Rule::Constant { factor, total_iters } => json!({"factor": factor, "total_iters": total_iters}),
            Rule::Exponential { gamma } => json!({"gamma": gamma}),
            Rule::Poly { eta_min, power, total_iters } => {
                json!({"eta_min": eta_min, "power": power, "total_iters": total_iters})
            }
        };
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// This rule with the fields of a saved state (MMEngine's `__dict__.update`).
    pub fn loaded(&self, s: &Map<String, Value>) -> Result<Rule, String> {
        let num = |k: &str| s.get(k).and_then(Value::as_f64).ok_or(format!("`{k}` must be a number"));
        let int = |k: &str| s.get(k).and_then(Value::as_i64).ok_or(format!("`{k}` must be an integer"));
        let opt = |k: &str| match s.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or(format!("`{k}` must be a number or null")),
        };
        Ok(match self {
            Rule::Linear { .. } => Rule::Linear {
                start_factor: num("start_factor")?,
                end_factor: num("end_factor")?,
                total_iters: int("total_iters")?,
            },
            Rule::Cosine { .. } => {
                let t_max = num("T_max")?;
                if t_max.is_nan() || t_max <= 0.0 {
                    return Err(format!("`T_max` must be positive, got {t_max}"));
                }
                Rule::Cosine { t_max, eta_min: opt("eta_min")?, eta_min_ratio: opt("eta_min_ratio")? }
            }
            Rule::MultiStep { .. } => {
                let list = s.get("milestones").and_then(Value::as_array).ok_or("`milestones` must be a list")?;
                let mut milestones = BTreeMap::new();
                for m in list {
                    *milestones.entry(m.as_i64().ok_or("`milestones` must hold integers")?).or_insert(0) += 1;
                }
                Rule::MultiStep { milestones, gamma: num("gamma")? }
            }
            Rule::Step { .. } => {
                let step_size = int("step_size")?;
                if step_size <= 0 {
                    return Err(format!("`step_size` must be positive, got {step_size}"));
                }
                Rule::Step { step_size, gamma: num("gamma")? }
            }
            Rule::Constant { .. } => Rule::Constant { factor: num("factor")?, total_iters: int("total_iters")? },
            Rule::Exponential { .. } => Rule::Exponential { gamma: num("gamma")? },
            Rule::Poly { .. } => {
                Rule::Poly { eta_min: num("eta_min")?, power: num("power")?, total_iters: int("total_iters")? }
            }
        })
    }
}
