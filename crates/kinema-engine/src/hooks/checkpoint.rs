//! `CheckpointHook`: saves `epoch_N` / `iter_N` checkpoints every `interval`, keeps at most
//! `max_keep_ckpts`, and keeps the best one by a validation metric (`save_best`).

use std::collections::VecDeque;
use std::path::PathBuf;

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use kinema_data::Batch;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{EvalMode, Hook, HookKind, Metrics, Priority, PriorityName, TrainStepOutput};
use crate::checkpoint::SaveFormat;
use crate::runner::{Runner, SaveOptions};
use crate::EngineError;

/// Saves checkpoints during training.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointHookConfig {
    /// Save every this many epochs (or iterations with `by_epoch = false`); -1 never
    /// (except the last one with `save_last`).
    #[serde(default = "minus_one")]
    pub interval: i64,
    /// Count `interval` in epochs (true) or iterations (false).
    #[serde(default = "yes")]
    pub by_epoch: bool,
    /// Include the optimizer state (needed to resume).
    #[serde(default = "yes")]
    pub save_optimizer: bool,
    /// Include the parameter schedulers' state (needed to resume).
    #[serde(default = "yes")]
    pub save_param_scheduler: bool,
    /// Where to save; the work dir by default.
    #[serde(default)]
    pub out_dir: Option<String>,
    /// Keep at most this many periodic checkpoints (-1: all).
    #[serde(default = "minus_one")]
    pub max_keep_ckpts: i64,
    /// Always save after the last epoch/iteration.
    #[serde(default = "yes")]
    pub save_last: bool,
    /// Metric key(s) whose best value is kept in `best_<key>_<epoch|iter>_N`; `"auto"`
    /// takes the first metric.
    #[serde(default)]
    pub save_best: Option<String>,
    /// `greater` or `less`; by default inferred from the key as MMEngine does.
    #[serde(default)]
    pub rule: Option<String>,
    /// Accepted for MMEngine configs (Kinema writes full precision always).
    #[serde(default)]
    pub published_keys: Option<Vec<String>>,
    /// The file format: "safetensors" (Kinema's) or "pth" (a `torch.save` archive in
    /// MMEngine's layout, which MMAction2 and PyTorch read; Kinema resumes from it too).
    #[serde(default)]
    pub save_format: SaveFormat,
}

fn minus_one() -> i64 {
    -1
}
fn yes() -> bool {
    true
}

/// Keys for which larger is better / smaller is better (MMEngine's lists).
const GREATER_KEYS: [&str; 10] = ["acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc"];
const LESS_KEYS: [&str; 1] = ["loss"];

/// The checkpointing hook.
pub struct CheckpointHook {
    config: CheckpointHookConfig,
    kept: VecDeque<PathBuf>,
}

impl Component<HookKind> for CheckpointHook {
    type Config = CheckpointHookConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Hook>, BoxError> {
        if let Some(rule) = &config.rule {
            if rule != "greater" && rule != "less" {
                return Err(format!("rule \"{rule}\": expected \"greater\" or \"less\"").into());
            }
        }
        if config.max_keep_ckpts == 0 {
            return Err("max_keep_ckpts = 0 would delete every checkpoint; use -1 to keep all".into());
        }
        Ok(Box::new(CheckpointHook { config: config.clone(), kept: VecDeque::new() }))
    }
}
register!(HookKind, "CheckpointHook", CheckpointHook);

impl CheckpointHook {
    fn dir(&self, runner: &Runner) -> PathBuf {
        match &self.config.out_dir {
            Some(d) => PathBuf::from(d),
            None => runner.env.work_dir.clone(),
        }
    }

    fn save_periodic(&mut self, runner: &mut Runner, name: String) -> Result<(), EngineError> {
        if !runner.env.is_main() {
            return Ok(());
        }
        let path = self.dir(runner).join(format!("{name}.{}", self.config.save_format.extension()));
        let with_optimizer = self.config.save_optimizer && self.config.save_param_scheduler;
        // Listed before saving, so the state saved in the checkpoint (and restored by a
        // resume) knows the checkpoint itself and removes it in turn.
        let new = !self.kept.contains(&path);
        if new {
            self.kept.push_back(path.clone());
        }
        let opts = SaveOptions { with_optimizer, update_last: true, format: self.config.save_format };
        let saved = runner.save_checkpoint_from(&path, opts, self);
        if let Err(e) = saved {
            if new {
                self.kept.pop_back();
            }
            return Err(e);
        }
        if self.config.max_keep_ckpts > 0 {
            while self.kept.len() > self.config.max_keep_ckpts as usize {
                if let Some(old) = self.kept.pop_front() {
                    match std::fs::remove_file(&old) {
                        Ok(()) => log::info!("removed old checkpoint {}", old.display()),
                        Err(e) => log::warn!("could not remove old checkpoint {}: {e}", old.display()),
                    }
                }
            }
        }
        Ok(())
    }

    fn greater_is_better(&self, key: &str) -> Result<bool, EngineError> {
        match self.config.rule.as_deref() {
            Some(rule) => Ok(rule == "greater"),
            None if GREATER_KEYS.iter().any(|k| key.contains(k)) => Ok(true),
            None if LESS_KEYS.iter().any(|k| key.contains(k)) => Ok(false),
            None => Err(EngineError::Hook {
                hook: "CheckpointHook".into(),
                message: format!(
                    "cannot tell whether larger `{key}` is better; set `rule = \"greater\"` or `\"less\"`"
                ),
            }),
        }
    }
}

impl Hook for CheckpointHook {
    fn name(&self) -> &str {
        "CheckpointHook"
    }
    fn priority(&self) -> Priority {
        Priority::Named(PriorityName::VeryLow)
    }

    /// The checkpoint folder exists (or is created) before the first epoch, not at the first
    /// save after a whole epoch.
    fn before_train(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        if !runner.env.is_main() {
            return Ok(());
        }
        let dir = self.dir(runner);
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::Hook {
            hook: "CheckpointHook".into(),
            message: format!(
                "cannot create the checkpoint folder {} (default_hooks.checkpoint.out_dir): {e}",
                dir.display()
            ),
        })
    }

    fn after_train_iter(
        &mut self,
        runner: &mut Runner,
        _: usize,
        _: &Batch,
        _: &TrainStepOutput,
    ) -> Result<(), EngineError> {
        if self.config.by_epoch {
            return Ok(());
        }
        let iter = runner.progress.iter;
        let every = self.config.interval > 0 && iter.is_multiple_of(self.config.interval as u64);
        let last = self.config.save_last && iter == runner.progress.max_iters;
        if every || last {
            self.save_periodic(runner, format!("iter_{iter}"))?;
        }
        Ok(())
    }

    fn after_train_epoch(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        if !self.config.by_epoch {
            return Ok(());
        }
        let done = runner.progress.epoch + 1;
        let every = self.config.interval > 0 && done.is_multiple_of(self.config.interval as u64);
        let last = self.config.save_last && Some(done) == runner.progress.max_epochs;
        if every || last {
            self.save_periodic(runner, format!("epoch_{done}"))?;
        }
        Ok(())
    }

    fn after_eval_epoch(&mut self, runner: &mut Runner, mode: EvalMode, metrics: &Metrics) -> Result<(), EngineError> {
        let Some(save_best) = self.config.save_best.clone() else { return Ok(()) };
        if mode != EvalMode::Val || metrics.is_empty() || !runner.env.is_main() {
            return Ok(());
        }
        let key = if save_best == "auto" { metrics.keys().next().cloned().unwrap_or_default() } else { save_best };
        let Some(&value) = metrics.get(&key) else {
            return Err(EngineError::Hook {
                hook: "CheckpointHook".into(),
                message: format!(
                    "save_best `{key}` is not among the metrics ({})",
                    metrics.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        };
        let greater = self.greater_is_better(&key)?;
        let better = match &runner.best {
            Some((k, best, _)) if *k == key => {
                if greater {
                    value > *best
                } else {
                    value < *best
                }
            }
            _ => true,
        };
        if !better {
            return Ok(());
        }
        let (unit, n) =
            if self.config.by_epoch { ("epoch", runner.progress.epoch) } else { ("iter", runner.progress.iter) };
        let path = self.dir(runner).join(format!(
            "best_{}_{unit}_{n}.{}",
            key.replace('/', "_"),
            self.config.save_format.extension()
        ));
        if let Some((_, _, old)) = runner.best.take() {
            if old != path {
                let _ = std::fs::remove_file(&old);
            }
        }
        runner.best = Some((key.clone(), value, path.clone()));
        runner.save_checkpoint(
            &path,
            SaveOptions { with_optimizer: false, update_last: false, format: self.config.save_format },
        )?;
        log::info!("The best checkpoint with {value:.4} {key} at {unit} {n} is saved to {}", path.display());
        Ok(())
    }

    fn state_dict(&self) -> Option<Value> {
        Some(json!({ "kept": self.kept.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>() }))
    }

    fn load_state_dict(&mut self, state: &Value) -> Result<(), EngineError> {
        self.kept = state["kept"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(PathBuf::from).collect())
            .unwrap_or_default();
        Ok(())
    }
}
