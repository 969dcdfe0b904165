//! `tools/list_registry [--kind K] [--json]`: every registered component with its
//! config fields, types, defaults and doc lines.

use std::process::ExitCode;

use clap::Parser;
use kinema_core::registry::{describe_all, ComponentInfo};
use kinema_tools::run_main;

/// List registered components (transforms, datasets, models, hooks, ...).
#[derive(Parser)]
#[command(name = "list_registry", version)]
struct Args {
    /// Only this kind (transform, dataset, data_sampler, model, data_preprocessor, loss,
    /// optimizer, optim_wrapper, param_scheduler, hook, metric, train_loop, eval_loop, ...).
    #[arg(long)]
    kind: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    kinema_plugins::link();
    let args = Args::parse();
    run_main(|| {
        let all = describe_all();
        let chosen: Vec<&ComponentInfo> =
            all.iter().filter(|c| args.kind.as_deref().map(|k| c.kind == k).unwrap_or(true)).collect();
        if let (Some(kind), true) = (&args.kind, chosen.is_empty()) {
            let mut kinds: Vec<&str> = all.iter().map(|c| c.kind.as_str()).collect();
            kinds.dedup();
            anyhow::bail!("no component of kind \"{kind}\"; kinds: {}", kinds.join(", "));
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
