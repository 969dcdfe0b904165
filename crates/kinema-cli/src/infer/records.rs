//! One record per video, written as it goes: JSON lines (`.jsonl`, and standard output)
//! or CSV (`.csv`). `--resume` reads what an earlier run wrote, cuts a line a killed run
//! left half written, and appends the rest.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use super::labels::top_k;

/// The outcome of one video.
pub enum Outcome {
    /// Class probabilities, one per label.
    Scores(Vec<f32>),
    /// Why the video could not be scored.
    Failed(String),
}

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    JsonLines,
    Csv,
}

/// Writes records to a file or standard output.
pub struct RecordWriter {
    out: Box<dyn Write>,
    csv: Option<csv::Writer<Box<dyn Write>>>,
    labels: Vec<String>,
    k: usize,
    all_scores: bool,
}

impl RecordWriter {
    /// A writer to `path` (`None`: standard output, JSON lines), the format from its
    /// extension. With `resume`, the videos already recorded are returned and new
    /// records are appended; without it an existing file is replaced.
    pub fn open(
        path: Option<&Path>,
        resume: bool,
        labels: &[String],
        k: usize,
        all_scores: bool,
    ) -> anyhow::Result<(RecordWriter, HashSet<String>)> {
        let k = k.min(labels.len());
        let format = match path.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::JsonLines,
        };
        let Some(path) = path else {
            if resume {
                bail!("--resume needs --out FILE (the records of the earlier run)");
            }
            let w =
                RecordWriter { out: Box::new(std::io::stdout()), csv: None, labels: labels.to_vec(), k, all_scores };
            return Ok((w, HashSet::new()));
        };
        let done = if resume && path.exists() { recorded(path, format)? } else { HashSet::new() };
        let append = resume && path.exists();
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .with_context(|| format!("cannot open {} for writing", path.display()))?;
        let mut w = RecordWriter { out: Box::new(std::io::sink()), csv: None, labels: labels.to_vec(), k, all_scores };
        if format == Format::Csv {
            let mut csv = csv::WriterBuilder::new().from_writer(Box::new(file) as Box<dyn Write>);
            if !append || std::fs::metadata(path)?.len() == 0 {
                csv.write_record(w.csv_header())?;
                csv.flush()?;
            }
            w.csv = Some(csv);
        } else {
            w.out = Box::new(file);
        }
        if !done.is_empty() {
            log::info!("{}: {} videos already recorded, skipped", path.display(), done.len());
        }
        Ok((w, done))
    }

    fn csv_header(&self) -> Vec<String> {
        let mut h = vec!["video".to_string()];
        for r in 1..=self.k {
            h.push(format!("label_{r}"));
            h.push(format!("score_{r}"));
        }
        if self.all_scores {
            h.extend(self.labels.iter().map(|l| format!("score:{l}")));
        }
        h.push("error".into());
        h
    }

    /// Writes the record of `video` and flushes it.
    pub fn write(&mut self, video: &str, outcome: &Outcome) -> anyhow::Result<()> {
        let best = match outcome {
            Outcome::Scores(s) => top_k(s, self.k)?,
            Outcome::Failed(_) => Vec::new(),
        };
        if let Some(csv) = &mut self.csv {
            let mut row = vec![video.to_string()];
            for r in 0..self.k {
                match best.get(r) {
                    Some((i, s)) => row.extend([self.labels[*i].clone(), s.to_string()]),
                    None => row.extend([String::new(), String::new()]),
                }
            }
            if self.all_scores {
                match outcome {
                    Outcome::Scores(s) => row.extend(s.iter().map(f32::to_string)),
                    Outcome::Failed(_) => row.extend(self.labels.iter().map(|_| String::new())),
                }
            }
            row.push(match outcome {
                Outcome::Failed(e) => e.clone(),
                Outcome::Scores(_) => String::new(),
            });
            csv.write_record(&row)?;
            csv.flush()?;
            return Ok(());
        }
        let record = match outcome {
            Outcome::Scores(s) => {
                let top: Vec<Value> = best.iter().map(|(i, p)| json!({"label": self.labels[*i], "score": p})).collect();
                let mut r = json!({"video": video, "top_k": top});
                if self.all_scores {
                    r["scores"] = json!(s);
                }
                r
            }
            Outcome::Failed(e) => json!({"video": video, "error": e}),
        };
        writeln!(self.out, "{}", serde_json::to_string(&record)?)?;
        self.out.flush()?;
        Ok(())
    }
}

/// The videos an earlier run recorded in `path`; a last line without its newline (a run
/// killed while writing) is cut off so the next record starts on a line of its own.
fn recorded(path: &Path, format: Format) -> anyhow::Result<HashSet<String>> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if complete < text.len() {
        log::warn!("{}: the last record was cut short (a killed run?); it is written again", path.display());
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(complete as u64)?;
    }
    let reader = BufReader::new(File::open(path)?);
    let mut done = HashSet::new();
    match format {
        Format::JsonLines => {
            for (n, line) in reader.lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let v: Value = serde_json::from_str(&line)
                    .with_context(|| format!("{}:{}: not a JSON record of this tool", path.display(), n + 1))?;
                match v.get("video").and_then(Value::as_str) {
                    Some(name) => done.insert(name.to_string()),
                    None => bail!("{}:{}: a record without \"video\"", path.display(), n + 1),
                };
            }
        }
        Format::Csv => {
            let mut r = csv::Reader::from_reader(reader);
            for row in r.records() {
                let row = row.with_context(|| format!("{}: not a CSV file of this tool", path.display()))?;
                if let Some(name) = row.get(0) {
                    done.insert(name.to_string());
                }
            }
        }
    }
    Ok(done)
}

/// The name a video is recorded under.
pub fn record_name(path: &Path) -> String {
    path.display().to_string()
}

/// Video paths of an MMAction2 list file (`path label` per line, parsed as
/// `VideoDataset` parses it), under `prefix` when given.
pub fn read_list(list: &Path, prefix: Option<&Path>) -> anyhow::Result<Vec<PathBuf>> {
    let records = kinema_data::dataset::annotations::parse_video_list(list, " ", false)?;
    let root = prefix.map(|p| p.to_string_lossy().into_owned());
    Ok(records.iter().map(|r| kinema_data::dataset::join_root(root.as_deref(), &r.path)).collect())
}
