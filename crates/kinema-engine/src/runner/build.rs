//! Building the runner from the config, in MMEngine's order: the typed top level is
//! checked, the environment set up, the config dumped as written and as resolved, then
//! the model, the visualizer and the hooks are built.

use std::path::Path;

use kinema_core::registry::{build, build_at, BuildSite};
use kinema_core::{Config, KeyPath};
use kinema_logging::{MessageHub, RunPaths, Visualizer};
use kinema_models::recognizer::{ModelContext, RecognizerKind};
use serde_json::Value;

use super::config::{apply_default_types, check_top_level, resolved_config, typed, DEFAULT_HOOKS};
use super::env::{draw_seed, resolve_work_dir, select_device, RunEnv};
use super::{HookEntry, Progress, RunOptions, Runner};
use crate::hooks::HookKind;
use crate::vis::VisBackendKind;
use crate::EngineError;

impl Runner {
    /// Builds a runner: checks the config's top level, sets up the environment and
    /// logging, dumps the config, builds the model and the hooks (MMEngine's
    /// `Runner.from_cfg`).
    pub fn from_config(mut cfg: Config, options: RunOptions) -> Result<Runner, EngineError> {
        check_top_level(&cfg)?;
        let dist = options.dist.clone();
        let device = select_device(options.device.as_deref(), dist.local_rank)?;
        super::amp::apply_amp(&mut cfg, options.amp, device)?;
        let written = cfg.clone();
        apply_default_types(&mut cfg)?;
        let top = typed(&cfg)?;
        let randomness = top.randomness.clone().unwrap_or_default();
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
        let work_dir = resolve_work_dir(options.work_dir.as_deref(), top.work_dir.as_deref(), &options.config_path);
        let timestamp = super::env::format_timestamp(start_secs);
        let log_dir = work_dir.join(&timestamp);
        let stem = options.config_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let experiment_name = top.experiment_name.clone().unwrap_or_else(|| format!("{stem}_{timestamp}"));
        let env = RunEnv {
            device,
            seed,
            rank: dist.rank,
            world_size: dist.world_size,
            work_dir,
            log_dir,
            experiment_name,
            timestamp,
        };
        if env.is_main() {
            create_dir(&env.log_dir)?;
            write_config_dumps(&written, &env, &options.config_path)?;
            let level = serde_json::to_value(top.log_level.unwrap_or_default()).unwrap_or_default();
            let level = level.as_str().unwrap_or("INFO");
            let log_file = env.log_dir.join(format!("{}.log", env.timestamp));
            kinema_logging::attach_log_file(&log_file, level)
                .map_err(|e| EngineError::logging(format!("opening the log file {}", log_file.display()), e))?;
        }
        if options.deterministic || randomness.deterministic {
            tch::Cuda::cudnn_set_benchmark(false);
        }
        tch::manual_seed(seed as i64);

        let model = build_at::<RecognizerKind>(&cfg, "model", &ModelContext { device, seed })?.into_inner();
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
            stop_signals: None,
        };
        super::header::log_environment(&runner, &runner.options);
        runner.register_hooks()?;
        Ok(runner)
    }

    /// Builds `default_hooks` (MMEngine's defaults, overridden or disabled by the config)
    /// and `custom_hooks`, sorted by priority (stable).
    fn register_hooks(&mut self) -> Result<(), EngineError> {
        let user_defaults = self.cfg.get("default_hooks").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut specs: Vec<(KeyPath, Value)> = Vec::new();
        for (slot, _) in DEFAULT_HOOKS {
            if let Some(v) = user_defaults.get(slot).filter(|v| v.is_object()) {
                specs.push((KeyPath::parse("default_hooks").key(slot), v.clone()));
            }
        }
        for (key, v) in &user_defaults {
            if DEFAULT_HOOKS.iter().all(|(k, _)| k != key) && v.is_object() {
                specs.push((KeyPath::parse("default_hooks").key(key), v.clone()));
            }
        }
        if let Some(Value::Array(custom)) = self.cfg.get("custom_hooks") {
            for (i, v) in custom.iter().enumerate() {
                specs.push((KeyPath::parse("custom_hooks").index(i), v.clone()));
            }
        }
        let mut entries = Vec::new();
        for (path, mut spec) in specs {
            let priority = take_priority(&mut spec, &path, &self.cfg)?;
            let site = BuildSite::root(&self.cfg).at(path);
            let hook = build::<HookKind>(&spec, &site, &())?.into_inner();
            let priority = priority.unwrap_or_else(|| hook.priority().value());
            entries.push(HookEntry { priority, hook });
        }
        entries.sort_by_key(|e| e.priority);
        self.hooks = entries;
        Ok(())
    }
}

/// Pops a hook table's `priority` (a name such as `"NORMAL"` or a number 0-100).
fn take_priority(spec: &mut Value, path: &KeyPath, cfg: &Config) -> Result<Option<u8>, EngineError> {
    let Some(table) = spec.as_object_mut() else { return Ok(None) };
    let Some(p) = table.shift_remove("priority") else { return Ok(None) };
    serde_json::from_value::<crate::hooks::Priority>(p.clone()).map(|p| Some(p.value())).map_err(|_| {
        EngineError::Setting {
            source_of: cfg.source_of(path),
            key: path.key("priority"),
            message: format!(
                "expected HIGHEST, VERY_HIGH, HIGH, ABOVE_NORMAL, NORMAL, BELOW_NORMAL, LOW, VERY_LOW, LOWEST or 0-100, found {p}"
            ),
        }
    })
}

/// The backends of `visualizer.vis_backends` (registered `vis_backend` components;
/// `LocalVisBackend` by default), on the main process only.
fn build_visualizer(cfg: &Config, env: &RunEnv) -> Result<Visualizer, EngineError> {
    let mut vis = Visualizer::new();
    if !env.is_main() {
        return Ok(vis);
    }
    let paths = RunPaths::new(&env.work_dir, &env.timestamp);
    let key = KeyPath::parse("visualizer.vis_backends");
    match cfg.get_path(&key) {
        Some(list) => {
            for built in
                kinema_core::registry::build_list::<VisBackendKind>(list, &BuildSite::root(cfg).at(key), &paths)?
            {
                vis.add_backend(built.into_inner());
            }
        }
        None => {
            let local = serde_json::json!({ "type": "LocalVisBackend" });
            vis.add_backend(build::<VisBackendKind>(&local, &BuildSite::detached(key), &paths)?.into_inner());
        }
    }
    vis.add_config(&cfg.to_toml_string()?).map_err(|e| EngineError::logging("visualizer", e))?;
    Ok(vis)
}

fn create_dir(dir: &Path) -> Result<(), EngineError> {
    std::fs::create_dir_all(dir).map_err(|source| EngineError::Io { path: dir.to_path_buf(), source })
}

/// The file name of the resolved dump beside `name` (`b16_8f.toml` -> `b16_8f.resolved.toml`).
pub fn resolved_dump_name(name: &str) -> String {
    match name.strip_suffix(".toml") {
        Some(stem) => format!("{stem}.resolved.toml"),
        None => format!("{name}.resolved.toml"),
    }
}

/// MMEngine dumps the config beside the run. Kinema writes two: the merged config as
/// written (`work_dir/<config name>`, after `--cfg-options` and the command line's
/// flags) and what ran, with every component's defaults filled in
/// (`<config stem>.resolved.toml`), in the work dir and the run's log dir.
fn write_config_dumps(cfg: &Config, env: &RunEnv, config_path: &Path) -> Result<(), EngineError> {
    let name =
        config_path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "config.toml".into());
    let merged = cfg.to_toml_string()?;
    let resolved = kinema_core::config::to_toml_string(&resolved_config(cfg)?)?;
    for dir in [&env.work_dir, &env.log_dir] {
        crate::checkpoint::write_atomic(&dir.join(&name), merged.as_bytes())?;
        crate::checkpoint::write_atomic(&dir.join(resolved_dump_name(&name)), resolved.as_bytes())?;
    }
    Ok(())
}
