//! Converts an ActionCLIP or CLIP checkpoint (MMAction2 `.pth`, OpenAI `.pt`, original
//! ActionCLIP `.pt`) to Kinema's safetensors format, recording the architecture in the
//! file's metadata.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use actionclip::checkpoint::{infer_spec, read_checkpoint, write_kinema, SourceFormat};
use anyhow::Context;
use clap::Parser;

/// Convert a checkpoint to Kinema safetensors.
#[derive(Parser, Debug)]
#[command(name = "convert_checkpoint", version)]
struct Args {
    /// The checkpoint to read.
    input: PathBuf,
    /// Where to write the `.safetensors` file.
    output: PathBuf,
    /// The input's format: auto, mmaction, openai or actionclip-original.
    #[arg(long = "from", default_value = "auto")]
    from: SourceFormat,
    /// Frames per clip T (required for original ActionCLIP `Transf` checkpoints, whose
    /// position table has 77 rows; recorded in the metadata otherwise).
    #[arg(long)]
    num_segs: Option<i64>,
}

fn main() -> ExitCode {
    kinema_tools::run_main(|| {
        let args = Args::parse();
        let ck = read_checkpoint(&args.input, args.from, args.num_segs)
            .with_context(|| format!("cannot read {}", args.input.display()))?;
        let inferred = infer_spec(&ck, args.num_segs, 6, None)
            .with_context(|| format!("{} is not a CLIP / ActionCLIP checkpoint", args.input.display()))?;
        let spec = &inferred.spec;
        let mut meta: BTreeMap<String, String> = ck.metadata.clone();
        meta.insert("format".into(), "kinema.actionclip.v1".into());
        meta.insert("source_format".into(), ck.format.to_string());
        meta.insert(
            "source_file".into(),
            args.input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        );
        meta.insert("clip_arch".into(), spec.clip.name());
        if inferred.has_adapter {
            meta.insert("adapter".into(), spec.adapter.name().to_string());
            meta.insert("num_layers".into(), spec.num_layers.to_string());
        }
        if inferred.segs_from_checkpoint || args.num_segs.is_some() {
            meta.insert("num_segs".into(), spec.num_segs.to_string());
        }
        write_kinema(&args.output, &ck.tensors, &meta)?;
        let params: i64 = ck.tensors.iter().map(|(_, t)| t.numel() as i64).sum();
        println!(
            "{} ({}) -> {}: {} tensors, {params} parameters, CLIP {}{}",
            args.input.display(),
            ck.format,
            args.output.display(),
            ck.tensors.len(),
            spec.clip.name(),
            if inferred.has_adapter {
                format!(", adapter {} x{} over {} frames", spec.adapter.name(), spec.num_layers, spec.num_segs)
            } else {
                String::new()
            }
        );
        Ok(())
    })
}
