//! What every inference mode starts from: the model built and loaded once, its class
//! names, and the test pipeline built once (shared by decoding threads).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use kinema_core::{BuildSite, Config, KeyPath};
use kinema_data::transform::Pipeline;
use kinema_models::flags::apply_model_flags;
use kinema_models::recognizer::ModelContext;
use kinema_models::resolve::{build_model, model_table, read_checkpoint};
use kinema_models::weights_source::resolve_weights;
use kinema_models::Recognizer;
use kinema_torch::checkpoint::LoadMode;
use kinema_torch::precision::{loop_precision, with_precision, Precision};
use serde_json::Value;
use tch::{Device, Kind, Tensor};

use super::labels::class_names;
use super::video::config_test_pipeline;

/// A loaded model ready to score videos.
pub struct Session {
    /// The recognizer, in evaluation mode.
    pub model: Box<dyn Recognizer>,
    /// The class names, one per score.
    pub labels: Vec<String>,
    /// Where the model runs.
    pub device: Device,
    /// The precision it runs in (`--precision`, else the config's `test_cfg.precision`).
    pub precision: Precision,
    /// The config, when one was given.
    pub config: Option<Config>,
    /// The test pipeline as written (config or model default) and where it was written.
    pipeline_value: Value,
    pipeline_path: Option<KeyPath>,
}

impl Session {
    /// Loads the checkpoint at `checkpoint` into the model of `config` (else the model the
    /// checkpoint describes), with the model `flags` applied to its table. Without
    /// `need_labels`, a model whose class names nothing gives gets none (features only).
    pub fn open(
        checkpoint: &Path,
        config: Option<Config>,
        flags: &[(String, Vec<String>)],
        device: Device,
        need_labels: bool,
    ) -> anyhow::Result<Session> {
        let start = Instant::now();
        // A zoo name or URL is fetched into the cache first.
        let checkpoint = &resolve_weights(&checkpoint.to_string_lossy(), "--checkpoint")?;
        let ck = read_checkpoint(checkpoint)?;
        let model_path = KeyPath::parse("model");
        // A config without a `model` table (only a pipeline, labels) takes the checkpoint's.
        let (mut table, site) = match config.as_ref().and_then(|c| Some((c, c.get_path(&model_path)?))) {
            Some((c, table)) => (table.clone(), BuildSite::root(c).at(model_path.clone())),
            None => (model_table(&ck)?, BuildSite::detached(model_path.clone())),
        };
        apply_model_flags(&mut table, flags)?;
        let ctx = ModelContext { device, seed: 0 };
        let mut model = build_model(&table, &site, &ctx, Some((&ck, LoadMode::Strict)))
            .with_context(|| format!("cannot load the model of {}", checkpoint.display()))?
            .into_inner();
        model.set_training(false);
        let labels = match class_names(model.as_ref(), config.as_ref(), &ck) {
            Ok(labels) => labels,
            Err(e) if !need_labels => {
                log::debug!("{e}");
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let (pipeline_value, pipeline_path) = match config.as_ref().and_then(config_test_pipeline) {
            Some((p, path)) => (p, Some(path)),
            None => match model.default_test_pipeline() {
                Some(p) => (p, None),
                None => bail!("no test pipeline: pass --config with a `test_pipeline` (this model has no default)"),
            },
        };
        let precision = config_precision(config.as_ref(), device)?;
        log::info!("model ready in {:.3} s", start.elapsed().as_secs_f64());
        Ok(Session { model, labels, device, precision, config, pipeline_value, pipeline_path })
    }

    /// Runs `f` on the model without gradients, in the session's precision.
    pub fn run<T>(&mut self, f: impl FnOnce(&mut dyn Recognizer) -> T) -> anyhow::Result<T> {
        let (device, precision) = (self.device, self.precision);
        let model = self.model.as_mut();
        Ok(with_precision(device, precision, || tch::no_grad(|| f(model)))?)
    }

    /// Builds the test pipeline (errors name the config key it was read from).
    pub fn build_pipeline(&self) -> anyhow::Result<Pipeline> {
        let site = match (&self.config, &self.pipeline_path) {
            (Some(c), Some(path)) => BuildSite::root(c).at(path.clone()),
            _ => BuildSite::detached(KeyPath::parse("test_pipeline")),
        };
        Pipeline::build(&self.pipeline_value, &site).context("cannot build the test pipeline")
    }

    /// The test pipeline, built once, for decoding threads.
    pub fn shared_pipeline(&self) -> anyhow::Result<Arc<Pipeline>> {
        Ok(Arc::new(self.build_pipeline()?))
    }

    /// Class scores of raw model inputs `[1, ...]` (uint8, as a pipeline packs them).
    pub fn scores(&mut self, inputs: &Tensor) -> anyhow::Result<Vec<f32>> {
        let x = self.model.preprocess(&inputs.to_device(self.device))?;
        let scores = self.run(|m| m.predict_inputs(&x))??;
        self.row(&scores, 0)
    }

    /// Row `r` of a score matrix as floats, checked against the label count.
    pub fn row(&self, scores: &Tensor, r: i64) -> anyhow::Result<Vec<f32>> {
        let row: Vec<f32> = Vec::try_from(scores.get(r).to_kind(Kind::Float).to_device(Device::Cpu))?;
        if row.len() != self.labels.len() {
            bail!("the model gave {} scores for {} labels", row.len(), self.labels.len());
        }
        Ok(row)
    }
}

/// Frames per clip of the test pipeline: `clip_len * num_clips` of its sampling step.
pub fn frames_per_clip(pipeline: &Pipeline) -> anyhow::Result<usize> {
    let sampler = pipeline.resolved_configs().into_iter().find_map(|c| {
        let get = |k: &str| c.get(k).and_then(Value::as_u64);
        Some(get("clip_len")? * get("num_clips")?)
    });
    match sampler {
        Some(n) if n > 0 => Ok(n as usize),
        _ => bail!(
            "the test pipeline has no sampling step with `clip_len` and `num_clips`: cannot tell the frames per clip"
        ),
    }
}

/// The video files named by `inputs`: files as given, folders searched recursively for
/// files with one of `extensions` (sorted, so runs list them in the same order).
pub fn expand_inputs(inputs: &[PathBuf], extensions: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            walk(input, extensions, &mut found)?;
            found.sort();
            if found.is_empty() {
                log::warn!("{}: no files ending in {} here", input.display(), extensions.join(", "));
            }
            out.extend(found);
        } else {
            out.push(input.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, extensions: &[String], out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        let kind = entry.file_type().with_context(|| format!("cannot stat {}", path.display()))?;
        if kind.is_dir() {
            walk(&path, extensions, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The precision a config's `test_cfg` asks for (the rule of the test loop), fp32 without one.
fn config_precision(config: Option<&Config>, device: Device) -> anyhow::Result<Precision> {
    let test_cfg = config.and_then(|c| c.get("test_cfg"));
    let precision = test_cfg.and_then(|t| t.get("precision")).and_then(Value::as_str);
    let fp16 = test_cfg.and_then(|t| t.get("fp16")).and_then(Value::as_bool).unwrap_or(false);
    loop_precision(precision, fp16, device).map_err(|(key, message)| anyhow::anyhow!("test_cfg.{key}: {message}"))
}
