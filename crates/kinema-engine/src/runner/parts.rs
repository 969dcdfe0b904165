//! Building the parts of training, validation and testing: data loaders, the optimizer
//! wrapper (with MMEngine's `auto_scale_lr`), the schedulers, the loops and evaluators.

use std::sync::{Arc, Mutex};

use kinema_core::registry::BuildSite;
use kinema_data::{DataLoader, LoaderContext};
use kinema_optim::{build_optim_wrapper, build_schedulers, OptimContext, SchedulerContext};

use super::config::typed;
use super::{EvalParts, Runner, TrainParts};
use crate::evaluation::Evaluator;
use crate::hooks::EvalMode;
use crate::loops::{build_eval_loop, build_train_loop, TrainLoop};
use crate::EngineError;

impl Runner {
    /// Builds the train loader, optimizer wrapper, schedulers, train loop and (when
    /// configured) the validation parts.
    pub(crate) fn build_train_parts(&mut self) -> Result<Box<dyn TrainLoop>, EngineError> {
        for key in ["train_dataloader", "train_cfg", "optim_wrapper"] {
            if self.cfg.get(key).is_none() {
                return Err(EngineError::setting(
                    &self.cfg,
                    key,
                    "missing: training needs `train_dataloader`, `train_cfg` and `optim_wrapper`",
                ));
            }
        }
        let loader = self.build_loader("train_dataloader")?;
        let epoch_length = loader.len();
        if epoch_length == 0 {
            return Err(EngineError::setting(
                &self.cfg,
                "train_dataloader",
                "yields no batch (empty dataset, or drop_last with fewer samples than batch_size)",
            ));
        }
        let params = super::params::named_trainable(self.model.var_store());
        let optim_ctx = OptimContext { params, device: self.env.device };
        let optim_value = self.cfg.get("optim_wrapper").cloned().unwrap_or_default();
        let optim_site = BuildSite::root(&self.cfg).key("optim_wrapper");
        let mut optim = *build_optim_wrapper(&optim_value, &optim_site, &optim_ctx)?.into_inner();
        self.scale_lr(&mut optim, loader.batch_size())?;

        let train_loop = build_train_loop(&self.cfg, epoch_length)?;
        self.progress.max_epochs = train_loop.max_epochs();
        self.progress.max_iters = train_loop.max_iters();
        self.progress.batches_per_epoch = epoch_length as u64;
        let sched_ctx = SchedulerContext {
            epoch_length,
            max_epochs: train_loop.max_epochs().map(|e| e as usize),
            max_iters: Some(train_loop.max_iters() as usize),
        };
        let schedulers = match self.cfg.get("param_scheduler") {
            Some(v) => {
                let site = BuildSite::root(&self.cfg).key("param_scheduler");
                build_schedulers(v, &site, &sched_ctx, optim.param_groups_mut())?
            }
            None => Vec::new(),
        };
        let class_names = loader.dataset().class_names().map(<[String]>::to_vec);
        self.train_parts = Some(TrainParts { loader: Arc::new(Mutex::new(loader)), optim, schedulers, class_names });
        if self.cfg.get("val_dataloader").is_some() && self.cfg.get("val_evaluator").is_some() {
            self.build_eval_parts(EvalMode::Val)?;
        }
        Ok(train_loop)
    }

    /// MMEngine's `scale_lr`: with `auto_scale_lr.enable`, every optimizer group's learning
    /// rate times `world_size * batch_size / base_batch_size` (before the schedulers
    /// record it as the initial learning rate).
    fn scale_lr(&self, optim: &mut kinema_optim::OptimWrapper, batch_size: usize) -> Result<(), EngineError> {
        let Some(auto) = typed(&self.cfg)?.auto_scale_lr.filter(|a| a.enable) else { return Ok(()) };
        if auto.base_batch_size == 0 {
            return Err(EngineError::setting(&self.cfg, "auto_scale_lr.base_batch_size", "must be positive"));
        }
        let real = self.env.world_size * batch_size;
        let ratio = real as f64 / auto.base_batch_size as f64;
        log::info!(
            "LR is set based on batch size of {} and the current batch size is {real}. Scaling the original LR by {ratio}.",
            auto.base_batch_size
        );
        optim.scale_lr(ratio);
        Ok(())
    }

    /// Builds the loader, evaluator and loop of validation or test.
    pub(crate) fn build_eval_parts(&mut self, mode: EvalMode) -> Result<(), EngineError> {
        let prefix = match mode {
            EvalMode::Val => "val",
            EvalMode::Test => "test",
        };
        let loader = self.build_loader(&format!("{prefix}_dataloader"))?;
        let evaluator_key = format!("{prefix}_evaluator");
        let evaluator = match self.cfg.get(&evaluator_key) {
            Some(v) => Evaluator::from_config(v, &BuildSite::root(&self.cfg).key(&evaluator_key))?,
            None => {
                return Err(EngineError::setting(
                    &self.cfg,
                    &evaluator_key,
                    format!("missing (for example `{evaluator_key} = {{ type = \"AccMetric\" }}`)"),
                ))
            }
        };
        let mut evaluator = evaluator;
        let names = loader.dataset().class_names().map(<[String]>::to_vec).or_else(|| self.model.class_names());
        evaluator.set_class_names(names);
        let eval_loop = build_eval_loop(&self.cfg, mode)?;
        let batches = loader.len();
        let dataset_len = loader.dataset().len();
        let parts = EvalParts {
            loader: Arc::new(Mutex::new(loader)),
            batches,
            dataset_len,
            evaluator,
            eval_loop: Some(eval_loop),
        };
        match mode {
            EvalMode::Val => self.val_parts = Some(parts),
            EvalMode::Test => self.test_parts = Some(parts),
        }
        Ok(())
    }

    fn build_loader(&self, key: &str) -> Result<DataLoader, EngineError> {
        let ctx = LoaderContext { seed: self.env.seed, rank: self.env.rank, world_size: self.env.world_size };
        let value = self.cfg.get(key).ok_or_else(|| EngineError::setting(&self.cfg, key, "missing"))?;
        Ok(kinema_data::build_dataloader_at(value, &BuildSite::root(&self.cfg).key(key), &ctx)?)
    }
}
