//! The files of a feature extraction: one part file per video while the run goes
//! (`parts/000012.safetensors`, or `parts/000012.failed.json` for an unreadable video;
//! written to a temporary name and renamed, so a killed run leaves no half file), and at
//! the end `features.safetensors` (`features` `[rows, D]`), `index.jsonl` (one line per
//! row), `failed.jsonl`, `text.safetensors` and `labels.txt`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use safetensors::tensor::{Dtype, TensorView};
use serde_json::json;
use tch::Tensor;

/// One row of features.
#[derive(Debug, Clone)]
pub struct PartRow {
    /// First frame the row covers.
    pub start_frame: usize,
    /// End (exclusive) of the frames the row covers.
    pub end_frame: usize,
    /// The video's frame rate (for seconds).
    pub fps: f64,
    /// The features.
    pub values: Vec<f32>,
}

/// What a video gave.
pub enum Part {
    /// Its rows.
    Rows(Vec<PartRow>),
    /// Why it could not be read.
    Failed(String),
}

fn part_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("{index:06}.safetensors"))
}

fn failed_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("{index:06}.failed.json"))
}

/// Whether video `index` has a part already (done by an earlier run).
pub fn exists(dir: &Path, index: usize) -> bool {
    part_path(dir, index).is_file() || failed_path(dir, index).is_file()
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Serialises named `[rows, dim]` float32 matrices with `metadata`.
fn safetensors_bytes(
    tensors: &[(&str, &[f32], usize, usize)],
    metadata: HashMap<String, String>,
) -> anyhow::Result<Vec<u8>> {
    let data: Vec<(String, Vec<u8>, Vec<usize>)> =
        tensors.iter().map(|(n, v, r, d)| (n.to_string(), f32_bytes(v), vec![*r, *d])).collect();
    let views = data
        .iter()
        .map(|(n, b, shape)| Ok((n.clone(), TensorView::new(Dtype::F32, shape.clone(), b)?)))
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    Ok(safetensors::serialize(views, Some(metadata))?)
}

/// Writes the part of video `index` (`video`).
pub fn write(dir: &Path, index: usize, video: &Path, part: &Part) -> anyhow::Result<()> {
    match part {
        Part::Failed(reason) => {
            let text = json!({"video": video.display().to_string(), "error": reason}).to_string();
            write_atomic(&failed_path(dir, index), text.as_bytes())
        }
        Part::Rows(rows) => {
            let dim = rows.first().map_or(0, |r| r.values.len());
            if rows.iter().any(|r| r.values.len() != dim) {
                bail!("{}: rows of different lengths", video.display());
            }
            let values: Vec<f32> = rows.iter().flat_map(|r| r.values.iter().copied()).collect();
            let spans: Vec<(usize, usize)> = rows.iter().map(|r| (r.start_frame, r.end_frame)).collect();
            let fps = rows.first().map_or(0.0, |r| r.fps);
            let meta = HashMap::from([
                ("video".to_string(), video.display().to_string()),
                ("spans".to_string(), serde_json::to_string(&spans)?),
                ("fps".to_string(), fps.to_string()),
            ]);
            let bytes = safetensors_bytes(&[("features", &values, rows.len(), dim)], meta)?;
            write_atomic(&part_path(dir, index), &bytes)
        }
    }
}

/// Writes the label embeddings (`text.safetensors`, `labels.txt`, and `text.npy`).
pub fn write_text(out: &Path, text: &Tensor, labels: &[String], npy: bool) -> anyhow::Result<()> {
    let text = text.to_kind(tch::Kind::Float).to_device(tch::Device::Cpu).contiguous();
    let (rows, dim) = match text.size().as_slice() {
        [r, d] => (*r as usize, *d as usize),
        s => bail!("text embeddings of shape {s:?}, expected [rows, dim]"),
    };
    let values = Vec::<f32>::try_from(text.flatten(0, -1))?;
    let meta = HashMap::from([("labels".to_string(), serde_json::to_string(labels)?)]);
    write_atomic(&out.join("text.safetensors"), &safetensors_bytes(&[("text", &values, rows, dim)], meta)?)?;
    write_atomic(&out.join("labels.txt"), format!("{}\n", labels.join("\n")).as_bytes())?;
    if npy {
        text.write_npy(out.join("text.npy")).context("cannot write text.npy")?;
    }
    Ok(())
}

/// What [`merge`] wrote.
#[derive(Debug, Default)]
pub struct MergeSummary {
    /// Rows in `features.safetensors`.
    pub rows: usize,
    /// Features per row.
    pub dim: usize,
    /// Videos with rows.
    pub videos: usize,
    /// Videos that could not be read.
    pub failed: usize,
}

/// Merges every part of `videos` (in their order) into `features.safetensors`,
/// `index.jsonl` and `failed.jsonl` (and `features.npy`).
pub fn merge(out: &Path, videos: &[PathBuf], npy: bool) -> anyhow::Result<MergeSummary> {
    let dir = out.join("parts");
    let mut values: Vec<f32> = Vec::new();
    let mut index = String::new();
    let mut failed = String::new();
    let mut s = MergeSummary::default();
    for (i, video) in videos.iter().enumerate() {
        let failed_file = failed_path(&dir, i);
        if failed_file.is_file() {
            failed.push_str(std::fs::read_to_string(&failed_file)?.trim());
            failed.push('\n');
            s.failed += 1;
            continue;
        }
        let path = part_path(&dir, i);
        let bytes =
            std::fs::read(&path).with_context(|| format!("{}: missing part of {}", path.display(), video.display()))?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)?;
        let st = safetensors::SafeTensors::deserialize(&bytes)?;
        let t = st.tensor("features")?;
        let (rows, dim) = (t.shape()[0], t.shape()[1]);
        if s.rows > 0 && dim != s.dim {
            bail!("{}: {dim} features per row, other videos have {}", path.display(), s.dim);
        }
        let meta = meta.metadata().clone().unwrap_or_default();
        if meta.get("video").map(String::as_str) != Some(&video.display().to_string()) {
            bail!(
                "{}: written for {:?}, not {} (the video list changed; use another --out)",
                path.display(),
                meta.get("video"),
                video.display()
            );
        }
        let spans: Vec<(usize, usize)> = serde_json::from_str(meta.get("spans").map_or("[]", String::as_str))?;
        let fps: f64 = meta.get("fps").and_then(|f| f.parse().ok()).unwrap_or(0.0);
        let secs = |f: usize| if fps > 0.0 { f as f64 / fps } else { 0.0 };
        for (r, (a, b)) in spans.iter().enumerate() {
            let line = json!({"row": s.rows + r, "video": video.display().to_string(), "start_frame": a,
                              "end_frame": b, "start_s": secs(*a), "end_s": secs(*b)});
            index.push_str(&format!("{line}\n"));
        }
        values.extend(t.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        s.rows += rows;
        s.dim = dim;
        s.videos += 1;
    }
    let meta = HashMap::from([("rows".to_string(), s.rows.to_string())]);
    write_atomic(
        &out.join("features.safetensors"),
        &safetensors_bytes(&[("features", &values, s.rows, s.dim)], meta)?,
    )?;
    write_atomic(&out.join("index.jsonl"), index.as_bytes())?;
    write_atomic(&out.join("failed.jsonl"), failed.as_bytes())?;
    if npy {
        let t = Tensor::from_slice(&values).view([s.rows as i64, s.dim as i64]);
        t.write_npy(out.join("features.npy")).context("cannot write features.npy")?;
    }
    Ok(s)
}
