//! `tools/list_registry [--kind K] [--json]`: every registered component with its
//! config fields, types, defaults and doc lines.

use std::process::ExitCode;

use clap::Parser;
use kinema_core::registry::{describe_all, kind_names, ComponentInfo};

use crate::run_main;

/// List registered components (transforms, datasets, models, hooks, ...).
#[derive(Parser)]
#[command(name = "list_registry", version)]
pub struct Args {
    /// Only this kind (`transform`, `model`, `hook`, ...); `loss` also lists every
    /// `*_loss` kind. Without a value, the kinds are listed.
    #[arg(long)]
    pub kind: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Whether `kind` (a registered kind name) answers the `--kind` the user typed.
pub fn kind_matches(kind: &str, asked: &str) -> bool {
    let asked = asked.trim().to_lowercase().replace(['-', ' '], "_");
    kind == asked || kind.ends_with(&format!("_{asked}"))
}

/// Runs the tool on the process arguments.
pub fn main() -> ExitCode {
    let args = Args::parse();
    run_main(|| {
        let all = describe_all();
        let chosen: Vec<&ComponentInfo> =
            all.iter().filter(|c| args.kind.as_deref().map(|k| kind_matches(&c.kind, k)).unwrap_or(true)).collect();
        if let (Some(kind), true) = (&args.kind, chosen.is_empty()) {
            anyhow::bail!("no component of kind \"{kind}\"; the kinds are: {}", kind_names().join(", "));
        }
        if args.json {
            println!("{}", serde_json::to_string_pretty(&chosen)?);
            return Ok(());
        }
        let mut last_kind = "";
        for c in chosen {
            if c.kind != last_kind {
                println!("\n== {} ==", c.kind);
                last_kind = &c.kind;
            }
            println!("{}  ({})", c.name, c.module);
            if !c.doc.is_empty() {
                println!("    {}", c.doc.replace('\n', "\n    "));
            }
            for f in &c.fields {
                let default = match (&f.default, f.required) {
                    (_, true) => "required".to_string(),
                    (Some(d), _) => format!("default {d}"),
                    (None, _) => "optional".to_string(),
                };
                println!("    {:<24} {:<28} {default}", f.name, f.ty);
                if !f.doc.is_empty() {
                    println!("        {}", f.doc.replace('\n', " "));
                }
            }
        }
        Ok(())
    })
}
