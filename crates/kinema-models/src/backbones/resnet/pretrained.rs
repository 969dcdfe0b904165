//! `pretrained` weights of a ResNet: a torchvision ImageNet ResNet renamed as MMAction2's
//! `_load_torchvision_checkpoint` (and TSM's `load_original_weights`) do, or a state dict
//! in the backbone's own names. Unlike MMAction2, which skips what does not fit, any
//! missing, misshaped or unknown key is an error naming it.

use std::collections::HashSet;

use tch::{nn, Tensor};

use super::{PretrainedLayout, ResNet};
use crate::recognizer::ModelError;
use crate::weights::LoadMode;
use crate::weights_source::resolve_weights;

/// The torchvision key of a backbone key: `conv1.conv.weight` -> `conv1.weight`,
/// `conv1.bn.*` -> `bn1.*`, `layer1.0.conv2.bn.*` -> `layer1.0.bn2.*`,
/// `layer1.0.downsample.conv.weight` -> `layer1.0.downsample.0.weight`,
/// `layer1.0.downsample.bn.*` -> `layer1.0.downsample.1.*`; TSM's `.net` wrappers are
/// dropped first. `None` for keys with no torchvision counterpart.
pub fn torchvision_name(key: &str) -> Option<String> {
    let original = key.replace(".net.", ".");
    let (module, param) = original.rsplit_once('.')?;
    if let Some(m) = module.strip_suffix(".conv").or_else(|| module.strip_suffix("conv").filter(|m| m.is_empty())) {
        return Some(if m.contains("downsample") { format!("{m}.0.{param}") } else { format!("{m}.{param}") });
    }
    let m = module.strip_suffix(".bn")?;
    Some(if m.contains("downsample") {
        format!("{m}.1.{param}")
    } else {
        format!("{}.{param}", m.replace("conv", "bn"))
    })
}

/// Loads `spec` into the backbone's variables (named `<prefix>.<key>` in `vs`).
pub(super) fn load(net: &ResNet, spec: &str, vs: &nn::VarStore, prefix: &str) -> Result<(), ModelError> {
    let path = resolve_weights(spec, &format!("{prefix}.pretrained"))?;
    let ck = crate::resolve::read_checkpoint(&path)?;
    let full = |k: &str| format!("{prefix}.{k}");
    let vars = vs.variables();
    let mut targets: Vec<(String, &Tensor)> =
        vars.iter().filter_map(|(n, t)| n.strip_prefix(&format!("{prefix}.")).map(|k| (k.to_string(), t))).collect();
    targets.sort_by(|a, b| a.0.cmp(&b.0));
    let file_names: HashSet<&str> = ck.tensors.iter().map(|(n, _)| n.as_str()).collect();
    let PretrainedLayout { torchvision, copy_counters } = net.layout;

    let mut source: Vec<(String, Tensor)> = Vec::new();
    let mut used = HashSet::new();
    targets.retain(|(key, _)| {
        let file_key = if torchvision { torchvision_name(key) } else { Some(key.clone()) };
        let counter = key.ends_with("num_batches_tracked");
        match file_key {
            // TSM never copies the counters; ResNet copies them when the file has them.
            Some(_) if counter && !copy_counters => false,
            Some(f) if counter && !file_names.contains(f.as_str()) => false,
            Some(f) => {
                if let Some((_, t)) = ck.tensors.iter().find(|(n, _)| *n == f) {
                    source.push((full(key), t.shallow_clone()));
                    used.insert(f);
                }
                true
            }
            None => true,
        }
    });
    let mut ignored = Vec::new();
    for (name, t) in &ck.tensors {
        if used.contains(name) {
            continue;
        }
        let head = torchvision && name.starts_with("fc.");
        let counter = name.ends_with("num_batches_tracked");
        if head || (counter && !copy_counters) {
            ignored.push(name.as_str());
        } else {
            source.push((name.clone(), t.shallow_clone()));
        }
    }
    let target_refs: Vec<(String, &Tensor)> = targets.iter().map(|(k, t)| (full(k), *t)).collect();
    let report = kinema_torch::checkpoint::load_into_tensors(
        target_refs.iter().map(|(k, t)| (k.as_str(), *t)),
        &source,
        LoadMode::Strict,
        &path.display().to_string(),
    )
    .map_err(|e| match e {
        kinema_torch::checkpoint::CheckpointError::Mismatch(mut report) => {
            if torchvision {
                // Say which torchvision key each model key was looked up under.
                let with_file_name = |name: &mut String| {
                    if let Some(f) = name.strip_prefix(&format!("{prefix}.")).and_then(torchvision_name) {
                        *name = format!("{name} (torchvision `{f}`)");
                    }
                };
                report.missing.iter_mut().for_each(|(n, _)| with_file_name(n));
                report.mismatched.iter_mut().for_each(|m| with_file_name(&mut m.name));
            }
            ModelError::Weights(report)
        }
        other => ModelError::Checkpoint(other),
    })?;
    log::info!(
        "{prefix}: loaded {} tensors of {}{}{}",
        report.loaded,
        path.display(),
        if torchvision { " (torchvision names)" } else { "" },
        if ignored.is_empty() { String::new() } else { format!("; not loaded: {}", ignored.join(", ")) }
    );
    Ok(())
}
