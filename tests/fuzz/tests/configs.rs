//! Fuzzing configs: generated TOML trees with `_base_`, `_delete_` and `${}` references
//! (cycles and missing targets included) plus `--cfg-options`, byte-mutated real configs,
//! and the `--cfg-options` value parser. Every outcome must be `Ok` or an error; a config
//! that loads must render to TOML that parses back to the same values.

use std::path::Path;

use kinema_core::config::parse_override_value;
use kinema_core::Config;
use kinema_fuzz::{fixture, fuzz, mutate, mutations};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just("model"),
        Just("depth"),
        Just("type"),
        Just("_delete_"),
        Just("train_dataloader"),
        Just("batch_size"),
        Just("x y"),
        Just("0"),
    ]
    .prop_map(str::to_string)
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| if f.is_finite() { format!("{f:?}") } else { "nan".into() }),
        any::<bool>().prop_map(|b| b.to_string()),
        prop_oneof![
            Just("\"x\""),
            Just("\"${a}\""),
            Just("\"${a.b}\""),
            Just("\"${b}\""),
            Just("\"$${a}\""),
            Just("\"${\""),
            Just("\"${a}${a}${b}\""),
            Just("\"${missing}\""),
            Just("\"${model.depth}\""),
            Just("\"${model}\""),
            Just("\"pre-${a}-post\""),
            Just("\"${0}\""),
            Just("true"),
        ]
        .prop_map(str::to_string),
    ]
}

/// A TOML value of depth at most `depth`.
fn value(depth: u32) -> BoxedStrategy<String> {
    if depth == 0 {
        return leaf().boxed();
    }
    prop_oneof![
        3 => leaf(),
        1 => proptest::collection::vec(value(depth - 1), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
        2 => proptest::collection::vec((key(), value(depth - 1)), 0..4).prop_map(|kv| {
            let mut seen = std::collections::BTreeSet::new();
            let body: Vec<String> =
                kv.into_iter().filter(|(k, _)| seen.insert(k.clone())).map(|(k, v)| format!("{k:?} = {v}")).collect();
            format!("{{ {} }}", body.join(", "))
        }),
    ]
    .boxed()
}

/// A config file: top-level `key = value` lines (unique keys) and an optional `_base_`.
fn file(bases: &'static [&'static str]) -> impl Strategy<Value = String> {
    (proptest::sample::subsequence(bases.to_vec(), 0..=bases.len()), proptest::collection::vec((key(), value(3)), 0..6))
        .prop_map(|(base, kv)| {
            let mut seen = std::collections::BTreeSet::new();
            let mut out = String::new();
            if !base.is_empty() {
                out.push_str(&format!("_base_ = {base:?}\n"));
            }
            for (k, v) in kv.into_iter().filter(|(k, _)| seen.insert(k.clone())) {
                out.push_str(&format!("{k:?} = {v}\n"));
            }
            out
        })
}

fn override_arg() -> impl Strategy<Value = String> {
    let path = prop_oneof![
        Just("a"),
        Just("a.b"),
        Just("model.depth"),
        Just("a.0"),
        Just("b.1.c"),
        Just("_base_"),
        Just("a..b"),
        Just(""),
        Just("model._delete_"),
    ];
    let value = prop_oneof![
        Just("1"),
        Just("[1,2"),
        Just("(1,(2,3))"),
        Just("'x'"),
        Just("\"${a}\""),
        Just("[[[[1]]]]"),
        Just("None"),
        Just("true"),
        Just("a,b"),
        Just("${b}"),
        Just("{'k': 1}"),
        Just(""),
        Just("[]"),
        Just("(1,)"),
    ];
    (path, value).prop_map(|(p, v)| format!("{p}={v}"))
}

/// Loads `entry` with `overrides`; when it loads, the rendered TOML parses back unchanged.
fn load_and_render(entry: &Path, overrides: &[String]) -> Result<(), TestCaseError> {
    let Ok(cfg) = Config::load(entry, overrides) else { return Ok(()) };
    if let Ok(text) = cfg.to_toml_string() {
        let back = Config::from_toml_str(&text, "rendered.toml");
        prop_assert!(back.is_ok(), "rendered config does not parse: {text}\n{:?}", back.err());
    }
    Ok(())
}

#[test]
fn fuzz_config_trees() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let files = (file(&[]), file(&["base.toml"]), file(&["mid.toml", "base.toml", "child.toml", "gone.toml"]));
    let case = (files, proptest::collection::vec(override_arg(), 0..4));
    fuzz("config trees", file!(), 512, case, |((base, mid, child), overrides)| {
        for (name, text) in [("base.toml", &base), ("mid.toml", &mid), ("child.toml", &child)] {
            std::fs::write(dir.path().join(name), text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        load_and_render(&dir.path().join("child.toml"), &overrides)
    });
}

#[test]
fn fuzz_real_config_bytes() {
    // A copy of the repository's configs, so mutated files keep their bases around them.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = fixture("../../configs");
    let mut seeds = Vec::new();
    for rel in [
        "recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.toml",
        "_base_/default_runtime.toml",
    ] {
        let text = std::fs::read(root.join(rel)).unwrap_or_default();
        seeds.push((rel, text));
    }
    copy_tree(&root, dir.path());
    fuzz("config bytes", file!(), 256, (0..seeds.len(), mutations(6)), |(i, edits)| {
        let (rel, seed) = &seeds[i];
        let path = dir.path().join(rel);
        std::fs::write(&path, mutate(seed, &edits)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let outcome = load_and_render(&dir.path().join(seeds[0].0), &[]);
        std::fs::write(&path, seed).map_err(|e| TestCaseError::fail(e.to_string()))?;
        outcome
    });
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            let _ = std::fs::create_dir_all(&target);
            copy_tree(&entry.path(), &target);
        } else {
            let _ = std::fs::copy(entry.path(), &target);
        }
    }
}

#[test]
fn fuzz_override_values() {
    let text = prop_oneof![
        "[\\[\\](){}',\"\\\\ 0-9a-z.=:-]{0,200}",
        (1usize..20_000, prop_oneof![Just("["), Just("("), Just("[("), Just("'")]).prop_map(|(n, open)| open.repeat(n)),
    ];
    fuzz("--cfg-options values", file!(), 1024, text, |text| {
        let _ = parse_override_value(&text);
        Ok(())
    });
}
