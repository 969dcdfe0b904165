//! One training iteration (MMEngine's `train_step` + the hooks around it) and the
//! conversion of a loader batch into the model's tensors.

use kinema_data::{Batch, Label};
use kinema_models::recognizer::{LocalGather, ModelBatch, StepEnv};
use tch::{Kind, Tensor};

use super::Runner;
use crate::hooks::TrainStepOutput;
use crate::EngineError;

/// Tells the per-iteration libtorch seed apart from other uses of the run's seed.
const TRAIN_STREAM: u64 = 0x0074_7261_696e;

impl Runner {
    /// Moves a loader batch to the model's device: frames as uint8 (the model's data
    /// preprocessor normalises them), labels as int64 (-1 when unknown).
    pub fn to_model_batch(&self, batch: &Batch, epoch: u64) -> Result<ModelBatch, EngineError> {
        let shape: Vec<i64> = batch.shape.iter().map(|&d| d as i64).collect();
        let inputs = Tensor::f_from_slice(&batch.inputs)?.f_view(shape.as_slice())?.f_to_device(self.env.device)?;
        let labels: Vec<i64> = batch
            .labels
            .iter()
            .map(|l| match l {
                Label::Index(c) => *c,
                _ => -1,
            })
            .collect();
        let labels = Tensor::f_from_slice(&labels)?.f_to_device(self.env.device)?;
        Ok(ModelBatch { inputs, labels, indices: batch.indices.clone(), epoch })
    }

    /// Runs hooks, the forward/backward pass and the optimizer for one batch.
    pub fn run_train_iter(&mut self, batch_idx: usize, batch: &Batch) -> Result<(), EngineError> {
        self.call_hooks(|h, r| h.before_train_iter(r, batch_idx, batch))?;
        let outputs = self.train_step(batch)?;
        self.progress.iter += 1;
        self.progress.batch_in_epoch = batch_idx as u64 + 1;
        self.call_hooks(|h, r| h.after_train_iter(r, batch_idx, batch, &outputs))?;
        self.stop_if_signalled()
    }

    /// The model's named losses for one batch (under the optimizer wrapper's autocast).
    pub(crate) fn model_losses(&mut self, model_batch: &ModelBatch) -> Result<Vec<(String, Tensor)>, EngineError> {
        let parts = self.train_parts.as_ref().ok_or(EngineError::Internal("training parts not built"))?;
        let gather: Box<dyn kinema_models::recognizer::FeatureGather> = match &self.dist {
            Some(d) => Box::new(crate::dist::GatherLayer::new(std::sync::Arc::clone(&d.group))),
            None => Box::new(LocalGather),
        };
        let env = StepEnv { seed: self.env.seed, gather: gather.as_ref() };
        let losses = match parts.optim.autocast_dtype() {
            Some(dtype) => {
                kinema_torch::autocast::with_autocast(self.env.device, dtype, || self.model.loss(model_batch, &env))
                    .map_err(|e| EngineError::Dist { what: "autocast".into(), source: Box::new(e) })?
            }
            None => self.model.loss(model_batch, &env),
        }?;
        Ok(losses)
    }

    /// The model's losses, their sum, backward and (when due) an optimizer step.
    fn train_step(&mut self, batch: &Batch) -> Result<TrainStepOutput, EngineError> {
        let iter = self.progress.iter;
        // Reseed libtorch's generator per iteration: dropout and any other libtorch
        // randomness replays identically after a resume.
        tch::manual_seed(kinema_core::rng::derive_seed(self.env.seed, &[TRAIN_STREAM, iter]) as i64 & i64::MAX);
        let model_batch = self.to_model_batch(batch, self.progress.epoch)?;
        let losses = self.model_losses(&model_batch)?;
        let parts = self.train_parts.as_mut().ok_or(EngineError::Internal("training parts not built"))?;
        let mut total: Option<Tensor> = None;
        let mut log_vars = Vec::with_capacity(losses.len() + 2);
        for (name, value) in &losses {
            let value = value.f_mean(Kind::Float)?;
            if name.contains("loss") {
                total = Some(match total {
                    Some(t) => t.f_add(&value)?,
                    None => value.shallow_clone(),
                });
            }
            log_vars.push((name.clone(), value.f_double_value(&[])?));
        }
        let total = total.ok_or_else(|| {
            EngineError::setting(&self.cfg, "model", "the model returned no value whose name contains `loss`")
        })?;
        let total_value = total.f_double_value(&[])?;
        log_vars.insert(0, ("loss".to_string(), total_value));
        let info = parts.optim.update_params(&total).map_err(|source| EngineError::Optim { iter, source })?;
        if let Some(norm) = info.grad_norm {
            log_vars.push(("grad_norm".into(), norm));
        }
        Ok(TrainStepOutput { log_vars, stepped: info.stepped })
    }
}
