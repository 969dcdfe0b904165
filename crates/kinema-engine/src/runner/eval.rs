//! Validation and test passes: predict every batch without gradients, collect per-sample
//! scores, compute the metrics (MMEngine's `ValLoop` / `TestLoop` bodies).

use kinema_data::Label;
use kinema_torch::precision::{with_precision, Precision};

use super::Runner;
use crate::evaluation::SampleResult;
use crate::hooks::{EvalMode, Metrics};
use crate::EngineError;

impl Runner {
    /// Runs the configured validation or test loop and returns its metrics.
    pub fn run_eval(&mut self, mode: EvalMode) -> Result<Metrics, EngineError> {
        let parts = match mode {
            EvalMode::Val => self.val_parts.as_mut(),
            EvalMode::Test => self.test_parts.as_mut(),
        }
        .ok_or(EngineError::Internal("the evaluation parts are not built"))?;
        let mut eval_loop = parts.eval_loop.take().ok_or(EngineError::Internal("the eval loop is already running"))?;
        let result = eval_loop.run(self, mode);
        if let Some(parts) = match mode {
            EvalMode::Val => self.val_parts.as_mut(),
            EvalMode::Test => self.test_parts.as_mut(),
        } {
            parts.eval_loop = Some(eval_loop);
        }
        result
    }

    /// One evaluation epoch in `precision`: hooks, batches, metrics. Called by the eval loops.
    pub fn eval_epoch(&mut self, mode: EvalMode, precision: Precision) -> Result<Metrics, EngineError> {
        self.call_hooks(|h, r| h.before_eval(r, mode))?;
        self.call_hooks(|h, r| h.before_eval_epoch(r, mode))?;
        self.model.set_training(false);
        let epoch = self.progress.epoch;
        let parts = self.eval_parts_mut(mode)?;
        parts.evaluator.reset();
        let loader = std::sync::Arc::clone(&parts.loader);
        let mut guard = loader.lock().map_err(|_| EngineError::Internal("the eval loader lock is poisoned"))?;
        let dataset = std::sync::Arc::clone(guard.dataset());
        let mut iter = guard.epoch(0);
        let mut batch_idx = 0usize;
        loop {
            let Some(batch) = iter.next() else { break };
            let batch = batch?;
            self.call_hooks(|h, r| h.before_eval_iter(r, mode, batch_idx, &batch))?;
            let model_batch = self.to_model_batch(&batch, epoch)?;
            let device = self.env.device;
            let scores = with_precision(device, precision, || tch::no_grad(|| self.model.predict(&model_batch)))
                .map_err(|e| EngineError::Dist { what: "autocast".into(), source: Box::new(e) })??;
            let scores = scores.f_to_device(tch::Device::Cpu)?.f_to_kind(tch::Kind::Float)?.f_contiguous()?;
            let (rows, classes) = scores.size2()?;
            let flat = Vec::<f32>::try_from(scores.f_view([-1])?)?;
            let parts = self.eval_parts_mut(mode)?;
            for (row, index) in batch.indices.iter().enumerate().take(rows as usize) {
                let start = row * classes as usize;
                let label = match batch.labels.get(row) {
                    Some(Label::Index(c)) if *c >= 0 => Some(*c),
                    _ => None,
                };
                parts.evaluator.add(SampleResult {
                    index: *index,
                    scores: flat[start..start + classes as usize].to_vec(),
                    label,
                    source: Some(dataset.source(*index)),
                });
            }
            self.call_hooks(|h, r| h.after_eval_iter(r, mode, batch_idx, &batch))?;
            batch_idx += 1;
        }
        drop(iter);
        drop(guard);
        let group = self.dist.as_ref().map(|d| std::sync::Arc::clone(&d.group));
        let is_main = self.env.is_main();
        let parts = self.eval_parts_mut(mode)?;
        let dataset_len = parts.dataset_len;
        let metrics = match group {
            None => parts.evaluator.compute(dataset_len)?,
            Some(group) => {
                // Every rank's results to every rank; rank 0 computes (and dumps), then
                // shares the metrics so hooks on all ranks agree.
                let all = crate::dist::gather_results(&group, parts.evaluator.results())?;
                parts.evaluator.set_results(all);
                let local = if is_main { parts.evaluator.compute(dataset_len)? } else { Metrics::new() };
                let shared = crate::dist::broadcast_json(&group, &serde_json::to_value(&local).unwrap_or_default())?;
                serde_json::from_value(shared).map_err(|e| EngineError::dist("metrics from rank 0", e))?
            }
        };
        self.call_hooks(|h, r| h.after_eval_epoch(r, mode, &metrics))?;
        self.call_hooks(|h, r| h.after_eval(r, mode))?;
        Ok(metrics)
    }

    /// Batches per pass of the validation or test loader (0 when not built).
    pub fn eval_loader_len(&self, mode: EvalMode) -> usize {
        let parts = match mode {
            EvalMode::Val => self.val_parts.as_ref(),
            EvalMode::Test => self.test_parts.as_ref(),
        };
        parts.map(|p| p.batches).unwrap_or(0)
    }

    fn eval_parts_mut(&mut self, mode: EvalMode) -> Result<&mut super::EvalParts, EngineError> {
        match mode {
            EvalMode::Val => self.val_parts.as_mut(),
            EvalMode::Test => self.test_parts.as_mut(),
        }
        .ok_or(EngineError::Internal("the evaluation parts are not built"))
    }
}
