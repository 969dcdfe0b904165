//! Writes a small run through the TensorBoard backend (train scalars, val metrics, the config
//! as text) into `DIR` and `DIR/expected.json` listing what was written, for
//! `tests/reference/check_tensorboard.py DIR --expect DIR/expected.json`.
//!
//! `cargo run -p kinema-logging --example tensorboard_demo -- /tmp/tb-demo`

use std::path::PathBuf;

use kinema_logging::{ScalarDict, TensorboardVisBackend, VisBackend};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir: PathBuf = std::env::args().nth(1).map(PathBuf::from).ok_or("usage: tensorboard_demo DIR")?;
    let config = "model = { type = \"Recognizer2D\", backbone = { type = \"ResNet\" } }\n# café ✓ unicode survives\n";
    let mut backend = TensorboardVisBackend::new(&dir);
    backend.add_config(config)?;
    let mut scalars = Vec::new();
    for iter in 1..=30u64 {
        let mut tag = ScalarDict::new();
        let loss = 3.0 / (iter as f64).sqrt();
        tag.insert("lr", 5e-6 * iter as f64 / 30.0);
        tag.insert("loss", loss);
        tag.insert("epoch", (iter - 1) / 10 + 1);
        backend.add_scalars(&tag, iter)?;
        for (k, v) in tag.iter() {
            scalars.push((k.to_string(), iter, v.as_f64() as f32));
        }
    }
    for epoch in 1..=3u64 {
        let mut tag = ScalarDict::new();
        tag.insert("acc/top1", 0.25 * epoch as f64);
        backend.add_scalars(&tag, epoch)?;
        scalars.push(("acc/top1".to_string(), epoch, 0.25 * epoch as f32));
    }
    backend.close()?;
    let expected = serde_json::json!({
        "scalars": scalars.iter().map(|(t, s, v)| serde_json::json!([t, s, v])).collect::<Vec<_>>(),
        "texts": [["config/text_summary", 0, config]],
    });
    std::fs::write(dir.join("expected.json"), serde_json::to_string_pretty(&expected)?)?;
    println!("{}", dir.display());
    Ok(())
}
