//! Building the runner and its parts from the config, MMEngine's order and defaults.

use std::path::Path;
use std::sync::{Arc, Mutex};

use kinema_core::registry::{build, build_at, BuildSite};
use kinema_core::{Config, KeyPath};
use kinema_data::{DataLoader, LoaderContext};
use kinema_logging::{LocalVisBackend, MessageHub, RunPaths, TensorboardVisBackend, Visualizer};
use kinema_models::recognizer::{ModelContext, RecognizerKind};
use kinema_optim::{build_optim_wrapper, build_schedulers, OptimContext, SchedulerContext};
use serde_json::Value;

use super::env::{draw_seed, resolve_work_dir, select_device, RandomnessConfig, RunEnv};
use super::{EvalParts, HookEntry, Progress, RunOptions, Runner, TrainParts};
use crate::evaluation::Evaluator;
use crate::hooks::{EvalMode, HookKind};
use crate::loops::{build_eval_loop, build_train_loop, TrainLoop};
use crate::EngineError;

/// MMEngine's default hooks, by their `default_hooks` key, in registration order.
const DEFAULT_HOOKS: [(&str, &str); 6] = [
    ("runtime_info", "RuntimeInfoHook"),
    ("timer", "IterTimerHook"),
    ("sampler_seed", "DistSamplerSeedHook"),
    ("logger", "LoggerHook"),
    ("param_scheduler", "ParamSchedulerHook"),
    ("checkpoint", "CheckpointHook"),
];

impl Runner {
    /// Builds a runner: environment, logging, model and hooks (MMEngine's `Runner.from_cfg`).
    pub fn from_config(cfg: Config, options: RunOptions) -> Result<Runner, EngineError> {
        let randomness: RandomnessConfig = section(&cfg, "randomness")?.unwrap_or_default();
        let dist = options.dist.clone();
        let device = select_device(options.device.as_deref(), dist.local_rank)?;
        let dist_runtime = crate::dist::DistRuntime::init(&dist, device, &cfg)?;
        let group = dist_runtime.as_ref().map(|d| d.group.as_ref());
        let mut base_seed = options.seed.or(randomness.seed).unwrap_or_else(draw_seed);
        let mut start_secs = chrono::Utc::now().timestamp().max(0) as u64;
        if let Some(g) = group {
            // MMEngine's sync_random_seed and timestamp broadcast: rank 0 decides.
            base_seed = crate::dist::broadcast_u64(g, base_seed)?;
            start_secs = crate::dist::broadcast_u64(g, start_secs)?;
            if dist.rank != 0 {
                if let Some(logger) = kinema_logging::global_logger() {
                    logger.set_level(log::LevelFilter::Error);
                }
            }
        }
        let seed = if randomness.diff_rank_seed { base_seed + dist.rank as u64 } else { base_seed };
        let work_dir = resolve_work_dir(
            options.work_dir.as_deref(),
            cfg.get("work_dir").and_then(Value::as_str),
            &options.config_path,
        );
        let timestamp = super::env::format_timestamp(start_secs);
        let log_dir = work_dir.join(&timestamp);
        let stem = options.config_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let env = RunEnv {
            device,
            seed,
            rank: dist.rank,
            world_size: dist.world_size,
            work_dir,
            log_dir,
            experiment_name: format!("{stem}_{timestamp}"),
            timestamp,
        };
        if env.is_main() {
            create_dir(&env.log_dir)?;
            write_config_dump(&cfg, &env, &options.config_path)?;
        }
        let log_level = cfg.get("log_level").and_then(Value::as_str).unwrap_or("INFO");
        if env.is_main() {
            kinema_logging::attach_log_file(&env.log_dir.join(format!("{}.log", env.timestamp)), log_level).map_err(
                |e| EngineError::Invalid(format!("cannot open the log file in {}: {e}", env.log_dir.display())),
            )?;
        }
        if options.deterministic || randomness.deterministic {
            tch::Cuda::cudnn_set_benchmark(false);
        }
        tch::manual_seed(seed as i64);
        log::info!("seed {seed}, device {:?}, work dir {}", env.device, env.work_dir.display());

        let model_built = build_at::<RecognizerKind>(&cfg, "model", &ModelContext { device, seed })?;
        let mut resolved = serde_json::Map::new();
        resolved.insert("model".into(), model_built.resolved_config());
        let model = model_built.into_inner();

        let mut runner = Runner {
            hub: MessageHub::new(),
            visualizer: build_visualizer(&cfg, &env)?,
            eta_secs: None,
            dist: dist_runtime,
            cfg,
            env,
            model,
            progress: Progress::default(),
            train_parts: None,
            val_parts: None,
            test_parts: None,
            stop_training: false,
            options,
            best: None,
            hooks: Vec::new(),
            resolved,
        };
        runner.register_hooks()?;
        Ok(runner)
    }

    /// Builds `default_hooks` (MMEngine's defaults, overridden or disabled by the config)
    /// and `custom_hooks`, sorted by priority (stable).
    fn register_hooks(&mut self) -> Result<(), EngineError> {
        let user_defaults = self.cfg.get("default_hooks").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut specs: Vec<(KeyPath, Value)> = Vec::new();
        for (key, type_name) in DEFAULT_HOOKS {
            let path = KeyPath::parse("default_hooks").key(key);
            match user_defaults.get(key) {
                Some(Value::Null) | Some(Value::Bool(false)) => {}
                Some(v) => specs.push((path, v.clone())),
                None => specs.push((path, serde_json::json!({ "type": type_name }))),
            }
        }
        for (key, v) in &user_defaults {
            if DEFAULT_HOOKS.iter().all(|(k, _)| k != key) && !matches!(v, Value::Null | Value::Bool(false)) {
                specs.push((KeyPath::parse("default_hooks").key(key), v.clone()));
            }
        }
        if let Some(Value::Array(custom)) = self.cfg.get("custom_hooks") {
            for (i, v) in custom.iter().enumerate() {
                specs.push((KeyPath::parse("custom_hooks").index(i), v.clone()));
            }
        }
        let mut entries = Vec::new();
        let mut dumped = Vec::new();
        for (path, mut spec) in specs {
            let priority = take_priority(&mut spec, &path, &self.cfg)?;
            let site = BuildSite::root(&self.cfg).at(path);
            let built = build::<HookKind>(&spec, &site, &())?;
            dumped.push(built.resolved_config());
            let hook = built.into_inner();
            let priority = priority.unwrap_or_else(|| hook.priority().value());
            entries.push(HookEntry { priority, hook });
        }
        entries.sort_by_key(|e| e.priority);
        self.resolved.insert("hooks".into(), Value::Array(dumped));
        self.hooks = entries;
        Ok(())
    }

    /// Builds the train loader, optimizer wrapper, schedulers, train loop and (when
    /// configured) the validation parts.
    pub(crate) fn build_train_parts(&mut self) -> Result<Box<dyn TrainLoop>, EngineError> {
        for key in ["train_dataloader", "train_cfg", "optim_wrapper"] {
            if self.cfg.get(key).is_none() {
                return Err(EngineError::Invalid(format!(
                    "{}: training needs `train_dataloader`, `train_cfg` and `optim_wrapper`; `{key}` is missing",
                    self.cfg.entry()
                )));
            }
        }
        let loader = self.build_loader("train_dataloader")?;
        let epoch_length = loader.len();
        if epoch_length == 0 {
            return Err(EngineError::Invalid(format!(
                "{}: `train_dataloader` yields no batch (empty dataset, or drop_last with fewer samples than batch_size)",
                self.cfg.entry()
            )));
        }
        if self.options.amp {
            self.cfg.set("optim_wrapper.type", Value::String("AmpOptimWrapper".into()))?;
        }
        let params = super::params::named_trainable(self.model.var_store());
        let optim_ctx = OptimContext { params, device: self.env.device };
        let optim_value = self.cfg.get("optim_wrapper").cloned().unwrap_or_default();
        let optim_site = BuildSite::root(&self.cfg).key("optim_wrapper");
        let optim_built = build_optim_wrapper(&optim_value, &optim_site, &optim_ctx)?;
        self.resolved.insert("optim_wrapper".into(), optim_built.resolved_config());
        let mut optim = *optim_built.into_inner();

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
        self.train_parts = Some(TrainParts { loader: Arc::new(Mutex::new(loader)), optim, schedulers });
        if self.cfg.get("val_dataloader").is_some() && self.cfg.get("val_evaluator").is_some() {
            self.build_eval_parts(EvalMode::Val)?;
        }
        Ok(train_loop)
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
                return Err(EngineError::Invalid(format!(
                    "{}: `{evaluator_key}` is missing (for example `{evaluator_key} = {{ type = \"AccMetric\" }}`)",
                    self.cfg.entry()
                )))
            }
        };
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
        let value = self
            .cfg
            .get(key)
            .ok_or_else(|| EngineError::Invalid(format!("{}: `{key}` is missing", self.cfg.entry())))?;
        Ok(kinema_data::build_dataloader_at(value, &BuildSite::root(&self.cfg).key(key), &ctx)?)
    }
}

/// Reads an optional typed section (`randomness`, `env_cfg`) with path-aware errors.
fn section<T: serde::de::DeserializeOwned>(cfg: &Config, key: &str) -> Result<Option<T>, EngineError> {
    let Some(value) = cfg.get(key) else { return Ok(None) };
    serde_path_to_error::deserialize(value.clone()).map(Some).map_err(|e| {
        let path = KeyPath::parse(key).join_dotted(&e.path().to_string());
        EngineError::Invalid(format!("{}: `{path}`: {}", cfg.source_of(&path), e.inner()))
    })
}

/// Pops a hook table's `priority` (a name such as `"NORMAL"` or a number 0-100).
fn take_priority(spec: &mut Value, path: &KeyPath, cfg: &Config) -> Result<Option<u8>, EngineError> {
    let Some(table) = spec.as_object_mut() else { return Ok(None) };
    let Some(p) = table.shift_remove("priority") else { return Ok(None) };
    serde_json::from_value::<crate::hooks::Priority>(p.clone()).map(|p| Some(p.value())).map_err(|_| {
        EngineError::Invalid(format!(
            "{}: `{}.priority`: expected HIGHEST, VERY_HIGH, HIGH, ABOVE_NORMAL, NORMAL, BELOW_NORMAL, LOW, VERY_LOW, LOWEST or 0-100, found {p}",
            cfg.source_of(path),
            path
        ))
    })
}

/// The visualizer backends of `visualizer.vis_backends` (or a top-level `vis_backends`),
/// on the main process only: `LocalVisBackend` (scalars.json) and `TensorboardVisBackend`.
fn build_visualizer(cfg: &Config, env: &RunEnv) -> Result<Visualizer, EngineError> {
    let mut vis = Visualizer::new();
    if !env.is_main() {
        return Ok(vis);
    }
    let (key, list) = match (cfg.get("visualizer.vis_backends"), cfg.get("vis_backends")) {
        (Some(v), _) => ("visualizer.vis_backends", v.clone()),
        (None, Some(v)) => ("vis_backends", v.clone()),
        (None, None) => ("", serde_json::json!([{ "type": "LocalVisBackend" }])),
    };
    let paths = RunPaths::new(&env.work_dir, &env.timestamp);
    let items = list.as_array().cloned().unwrap_or_default();
    for (i, item) in items.iter().enumerate() {
        match item.get("type").and_then(Value::as_str) {
            Some("LocalVisBackend") => vis.add_backend(Box::new(
                LocalVisBackend::new(paths.vis_dir()).with_json_log(paths.json_log_name()),
            )),
            Some("TensorboardVisBackend") => vis.add_backend(Box::new(TensorboardVisBackend::new(paths.vis_dir()))),
            other => {
                return Err(EngineError::Invalid(format!(
                    "{}: `{key}.{i}.type`: {other:?} is not a visualizer backend; expected \"LocalVisBackend\" or \"TensorboardVisBackend\"",
                    cfg.source_of(&KeyPath::parse(key).index(i))
                )))
            }
        }
    }
    vis.add_config(&cfg.to_toml_string()?).map_err(|e| EngineError::Invalid(format!("visualizer: {e}")))?;
    Ok(vis)
}

fn create_dir(dir: &Path) -> Result<(), EngineError> {
    std::fs::create_dir_all(dir).map_err(|source| EngineError::Io { path: dir.to_path_buf(), source })
}

/// MMEngine dumps the config beside the run; we dump the merged, resolved TOML into
/// `work_dir/<config file name>` and the log dir.
fn write_config_dump(cfg: &Config, env: &RunEnv, config_path: &Path) -> Result<(), EngineError> {
    let name =
        config_path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "config.toml".into());
    let text = cfg.to_toml_string()?;
    for path in [env.work_dir.join(&name), env.log_dir.join(&name)] {
        crate::checkpoint::write_atomic(&path, text.as_bytes())?;
    }
    Ok(())
}
