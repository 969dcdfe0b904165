//! Measures tokenizer construction and tokenizing all 6,400 K400 prompts (400 classes x 16
//! templates).
//!
//! `cargo run --release -p kinema-text --example tokenize_k400 [label_map.txt]` (the 16
//! templates are read from `templates_16.txt` beside the label map).

use std::path::PathBuf;
use std::time::Instant;

use kinema_text::{ClipTokenizer, LabelSource, PromptSet, TemplateSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let labels = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(|| {
        // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
            .join("../../tests/fixtures/text/label_map_k400.txt")
    });
    let start = Instant::now();
    let tokenizer = ClipTokenizer::new()?;
    println!("build tokenizer: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);

    let start = Instant::now();
    let templates = labels.with_file_name("templates_16.txt");
    let prompts = PromptSet::from_sources(&TemplateSource::File(templates), &LabelSource::File(labels))?;
    println!("build {} prompts: {:.2} ms", prompts.texts().len(), start.elapsed().as_secs_f64() * 1e3);

    let start = Instant::now();
    let batch = prompts.tokenize(&tokenizer)?;
    println!("tokenize {:?} (first, cold BPE cache): {:.2} ms", batch.shape(), start.elapsed().as_secs_f64() * 1e3);

    let mut times = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let again = prompts.tokenize(&tokenizer)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(again, batch);
    }
    times.sort_by(f64::total_cmp);
    println!("tokenize again (warm, 20 runs): min {:.2} ms, median {:.2} ms", times[0], times[10]);

    let start = Instant::now();
    for text in prompts.texts() {
        tokenizer.tokenize(&[text])?;
    }
    println!("one text per call, 6,400 calls: {:.2} ms", start.elapsed().as_secs_f64() * 1e3);
    println!("longest prompt: {} tokens", batch.max_len());
    Ok(())
}
