//! The shared MMEngine reference cases (made by mmengine 0.10.7) and our own error cases.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use kinema_core::config::parse_override_value;
use kinema_core::{Config, ConfigError};
use serde_json::Value;

fn fixtures() -> PathBuf {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
        .join("../../tests/fixtures/config")
}

#[test]
fn every_shared_case_matches_mmengine() {
    let cases = fixtures().join("cases");
    let mut seen = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(&cases).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for dir in dirs {
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
        let entry = dir.join(expected["entry_toml"].as_str().unwrap());
        let result = Config::from_file(&entry);
        match (&expected["merged"], result) {
            (Value::Null, Err(err)) => {
                let msg = err.to_string();
                assert!(msg.contains("child.toml"), "{}: error must name the file: {msg}", dir.display());
                assert!(msg.contains("`a`"), "{}: error must name the key: {msg}", dir.display());
                assert!(matches!(err, ConfigError::TableOverNonTable { .. }), "{msg}");
            }
            (Value::Null, Ok(cfg)) => panic!("{}: expected an error, got {}", dir.display(), cfg.to_json_string()),
            (merged, Ok(cfg)) => assert_eq!(cfg.as_value(), merged, "{}", dir.display()),
            (_, Err(err)) => panic!("{}: unexpected error {err}", dir.display()),
        }
        seen += 1;
    }
    assert_eq!(seen, 8, "all shared cases ran");
}

#[test]
fn dict_over_scalar_message() {
    let entry = fixtures().join("cases/10_error_dict_over_scalar/toml/child.toml");
    let err = Config::from_file(&entry).unwrap_err().to_string();
    let base = entry.parent().unwrap().join("base.toml");
    let base = kinema_core::config::normalize(&base);
    assert_eq!(
        err,
        format!(
            "{}: `a` is a table here but an integer in {}; a table cannot inherit from it \
             (set `_delete_ = true` in the table to replace the base value)",
            kinema_core::config::normalize(&entry).display(),
            base.display()
        )
    );
    assert!(err.contains("10_error_dict_over_scalar/toml/base.toml"), "{err}");
}

#[test]
fn every_dict_action_value_parses_like_mmengine() {
    let data: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("dict_action.json")).unwrap()).unwrap();
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let cli = case["cli_value"].as_str().unwrap();
        assert_eq!(parse_override_value(cli).unwrap(), case["parsed"], "value {cli:?}");
        // ints stay ints, floats stay floats
        if case["python_types"] == "float" {
            assert!(parse_override_value(cli).unwrap().as_f64().is_some() || cli == "inf" || cli == "nan");
        }
    }
}

/// Writes `files` (name, text) into a fresh folder and returns it.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn duplicate_key_among_bases_is_an_error() {
    let d = tree(&[("a.toml", "x = 1\n"), ("b.toml", "x = 2\n"), ("c.toml", "_base_ = [\"a.toml\", \"b.toml\"]\n")]);
    let err = Config::from_file(d.path().join("c.toml")).unwrap_err().to_string();
    assert!(err.contains("c.toml: duplicate key `x` among bases: defined in both"), "{err}");
    assert!(err.contains("a.toml and") && err.ends_with("b.toml"), "{err}");
}

#[test]
fn bad_base_path_names_file_and_entry() {
    let d = tree(&[("c.toml", "_base_ = \"../nope/base.toml\"\n")]);
    let err = Config::from_file(d.path().join("c.toml")).unwrap_err().to_string();
    assert!(err.contains("c.toml: `_base_` entry \"../nope/base.toml\" not found (looked for "), "{err}");
    assert!(err.ends_with("nope/base.toml)"), "{err}");
}

#[test]
fn base_cycle_is_reported_with_the_chain() {
    let d = tree(&[("a.toml", "_base_ = \"b.toml\"\n"), ("b.toml", "_base_ = \"a.toml\"\n")]);
    let err = Config::from_file(d.path().join("a.toml")).unwrap_err().to_string();
    assert!(err.starts_with("`_base_` cycle: "), "{err}");
    assert_eq!(err.matches("a.toml").count(), 2, "{err}");
}

#[test]
fn toml_syntax_error_names_file_line() {
    let d = tree(&[("bad.toml", "a = 1\nb = [1, 2\n")]);
    let err = Config::from_file(d.path().join("bad.toml")).unwrap_err().to_string();
    assert!(err.contains("bad.toml: invalid TOML: TOML parse error at line"), "{err}");
}

#[test]
fn a_value_written_through_a_reference_is_blamed_on_the_file_that_wrote_it() {
    let d = tree(&[
        ("base.toml", "base_lr = 0.01\n[optim]\nlr = \"${base_lr}\"\nname = \"run-${base_lr}\"\n"),
        ("child.toml", "_base_ = \"base.toml\"\nbase_lr = \"fast\"\n"),
    ]);
    let none: &[&str] = &[];
    let cfg = Config::load(d.path().join("child.toml"), none).unwrap();
    let src = |k: &str| cfg.source_of(&kinema_core::KeyPath::parse(k)).to_string();
    let child = d.path().join("child.toml").display().to_string();
    assert_eq!(src("optim.lr"), format!("{child} (via ${{base_lr}})"));
    // Text around a reference was written by the file that holds it.
    assert_eq!(src("optim.name"), d.path().join("base.toml").display().to_string());
    let mut cfg = Config::from_file(d.path().join("base.toml")).unwrap();
    cfg.apply_overrides(&["base_lr=fast".to_string()]).unwrap();
    cfg.resolve_references().unwrap();
    assert_eq!(cfg.source_of(&kinema_core::KeyPath::parse("optim.lr")).to_string(), "--cfg-options (via ${base_lr})");
}

#[test]
fn items_of_a_referenced_list_keep_the_file_or_option_that_wrote_them() {
    // MMAction2's layout: the pipeline is a variable the dataset refers to, and one of its
    // items refers to another variable; a child file and the command line change items.
    let d = tree(&[
        (
            "base.toml",
            "num_segs = 8\ntrain_pipeline = [{ type = \"Init\" }, { type = \"SampleFrames\", num_clips = \"${num_segs}\", clip_len = 1 }]\n\
             [train_dataloader.dataset]\npipeline = \"${train_pipeline}\"\n",
        ),
        ("child.toml", "_base_ = \"base.toml\"\nnum_segs = 100000000\n"),
    ]);
    let cfg = Config::load(d.path().join("child.toml"), &["train_pipeline.1.clip_len=0"]).unwrap();
    let src = |k: &str| cfg.source_of(&kinema_core::KeyPath::parse(k)).to_string();
    let (base, child) =
        (d.path().join("base.toml").display().to_string(), d.path().join("child.toml").display().to_string());
    let item = "train_dataloader.dataset.pipeline.1";
    assert_eq!(src(&format!("{item}.num_clips")), format!("{child} (via ${{num_segs}}) (via ${{train_pipeline}})"));
    assert_eq!(src(&format!("{item}.clip_len")), "--cfg-options (via ${train_pipeline})");
    assert_eq!(src(&format!("{item}.type")), format!("{base} (via ${{train_pipeline}})"));
}

#[test]
fn long_or_fanned_out_reference_chains_are_errors_not_overflows() {
    // 10,000 references in a row: stops at MAX_REFERENCE_DEPTH instead of the stack's end.
    let mut text: String = (0..10_000).map(|i| format!("v{i} = \"${{v{}}}\"\n", i + 1)).collect();
    text.push_str("v10000 = 1\nx = \"${v0}\"\n");
    let d = tree(&[("deep.toml", &text)]);
    let none: &[&str] = &[];
    let err = Config::load(d.path().join("deep.toml"), none).unwrap_err();
    assert!(matches!(err, ConfigError::ReferencesTooDeep { max: 64, .. }), "{err}");
    assert!(err.to_string().contains("references nest more than 64 deep (v0 -> v1 -> v2 -> v3, ...)"), "{err}");
    // Each level repeats the next four times: 4^40 characters if nothing stopped it.
    let mut text: String =
        (0..40).map(|i| format!("f{i} = \"${{f{n}}}${{f{n}}}${{f{n}}}${{f{n}}}\"\n", n = i + 1)).collect();
    text.push_str("f40 = \"ab\"\n");
    let d = tree(&[("fan.toml", &text)]);
    let err = Config::load(d.path().join("fan.toml"), none).unwrap_err();
    assert!(matches!(err, ConfigError::ReferencesTooLarge { .. }), "{err}");
    assert!(err.to_string().contains("builds more than 16777216 values and characters"), "{err}");
}

#[test]
fn missing_file_names_it() {
    let err = Config::from_file("/nonexistent/x.toml").unwrap_err().to_string();
    assert_eq!(err, "/nonexistent/x.toml: does not exist");
}

#[test]
fn folders_pipes_and_link_loops_are_named_not_opened() {
    let d = tree(&[("a.toml", "x = 1\n")]);
    let dir = d.path().display().to_string();
    let err = |p: &std::path::Path| Config::from_file(p).unwrap_err().to_string();
    assert_eq!(err(d.path()), format!("{dir}: is a folder, not a config file"));
    // Opening a named pipe with no writer would block forever.
    let fifo = d.path().join("pipe.toml");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    assert_eq!(
        err(&fifo),
        format!("{dir}/pipe.toml: is not a regular file (a named pipe, socket or device), not a config file")
    );
    std::os::unix::fs::symlink(d.path().join("l2.toml"), d.path().join("l1.toml")).unwrap();
    std::os::unix::fs::symlink(d.path().join("l1.toml"), d.path().join("l2.toml")).unwrap();
    assert_eq!(err(&d.path().join("l1.toml")), format!("{dir}/l1.toml: is a symbolic link loop"));
    std::fs::write(d.path().join("child.toml"), "_base_ = \"pipe.toml\"\n").unwrap();
    assert!(err(&d.path().join("child.toml"))
        .ends_with("pipe.toml: is not a regular file (a named pipe, socket or device), not a config file"));
}

const PIPELINE: &str = r#"
num_segs = 8
[model]
type = "Recognizer2D"
num_adapter_segs = "${num_segs}"
name = "clip_${num_segs}f_${model.arch}"
arch = "ViT-B/32"

[[train_pipeline]]
type = "DecordInit"

[[train_pipeline]]
type = "SampleFrames"
clip_len = 1
num_clips = "${num_segs}"

[[train_pipeline]]
type = "Resize"
scale = [-1, 256]
"#;

#[test]
fn overrides_then_references() {
    let d = tree(&[("cfg.toml", PIPELINE)]);
    let cfg = Config::load(
        d.path().join("cfg.toml"),
        &["num_segs=16", "train_pipeline.2.scale=(-1,320)", "model.arch=ViT-B/16"],
    )
    .unwrap();
    assert_eq!(cfg.get("model.num_adapter_segs"), Some(&serde_json::json!(16)));
    assert_eq!(cfg.get("train_pipeline.1.num_clips"), Some(&serde_json::json!(16)));
    assert_eq!(cfg.get("train_pipeline.2.scale"), Some(&serde_json::json!([-1, 320])));
    assert_eq!(cfg.get("model.name"), Some(&serde_json::json!("clip_16f_ViT-B/16")));
    assert_eq!(cfg.get("train_pipeline.0.type"), Some(&serde_json::json!("DecordInit")));
}

#[test]
fn override_index_out_of_range() {
    let d = tree(&[("cfg.toml", PIPELINE)]);
    let err = Config::load(d.path().join("cfg.toml"), &["train_pipeline.7.num_clips=4"]).unwrap_err().to_string();
    assert!(err.starts_with("--cfg-options: `train_pipeline.7`: index 7 is out of range for the list at `train_pipeline` (3 items, from "), "{err}");
}

#[test]
fn override_without_equals_or_into_scalar() {
    let d = tree(&[("cfg.toml", PIPELINE)]);
    let err = Config::load(d.path().join("cfg.toml"), &["num_segs"]).unwrap_err().to_string();
    assert_eq!(err, "--cfg-options: `num_segs`: expected `key=value` (for example `train_dataloader.batch_size=8`)");
    let err = Config::load(d.path().join("cfg.toml"), &["num_segs.x=1"]).unwrap_err().to_string();
    assert!(err.starts_with("--cfg-options: `num_segs` is a table here but an integer in "), "{err}");
}

#[test]
fn reference_errors_name_key_and_target() {
    let d = tree(&[("r.toml", "a = \"${b}\"\nb = \"${c}\"\nc = \"x${a}\"\nm = \"${nothing.here}\"\n")]);
    let mut cfg = Config::from_file(d.path().join("r.toml")).unwrap();
    let err = cfg.resolve_references().unwrap_err().to_string();
    assert!(err.contains("r.toml: `a`: reference cycle: a -> b -> c -> a"), "{err}");
    let d = tree(&[("m.toml", "m = \"${nothing.here}\"\n")]);
    let mut cfg = Config::from_file(d.path().join("m.toml")).unwrap();
    let err = cfg.resolve_references().unwrap_err().to_string();
    assert!(err.ends_with("m.toml: `m`: reference ${nothing.here} points to no value (expected a key that exists after merging and overrides)"), "{err}");
}

#[test]
fn references_keep_types_and_escape() {
    let d = tree(&[("r.toml", "a = [1, 2]\nb = \"${a}\"\nc = \"$${a} stays\"\nt = { x = \"${a.1}\" }\n")]);
    let cfg = Config::load(d.path().join("r.toml"), &[] as &[&str]).unwrap();
    assert_eq!(cfg.get("b"), Some(&serde_json::json!([1, 2])));
    assert_eq!(cfg.get("c"), Some(&serde_json::json!("${a} stays")));
    assert_eq!(cfg.get("t.x"), Some(&serde_json::json!(2)));
}

#[test]
fn toml_render_round_trips() {
    let d = tree(&[("cfg.toml", PIPELINE)]);
    let cfg = Config::load(d.path().join("cfg.toml"), &["model.extra=None"]).unwrap();
    let text = cfg.to_toml_string().unwrap();
    let again = Config::from_toml_str(&text, "rendered.toml").unwrap();
    let mut expected = cfg.as_value().clone();
    expected["model"].as_object_mut().unwrap().shift_remove("extra");
    assert_eq!(again.as_value(), &expected);
}

#[test]
fn values_remember_their_file() {
    let d =
        tree(&[("base.toml", "[model]\ndepth = 50\n"), ("child.toml", "_base_ = \"base.toml\"\n[model]\nwidth = 2\n")]);
    let cfg = Config::load(d.path().join("child.toml"), &["model.heads=4"]).unwrap();
    let src = |k: &str| cfg.source_of(&kinema_core::KeyPath::parse(k)).to_string();
    assert!(src("model.depth").ends_with("base.toml"));
    assert!(src("model.width").ends_with("child.toml"));
    assert_eq!(src("model.heads"), "--cfg-options");
}
