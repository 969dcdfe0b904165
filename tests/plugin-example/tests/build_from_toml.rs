//! The plugin's components build from TOML through the registry, with no change to core.

#![allow(clippy::unwrap_used)]

use kinema_core::registry::{build_at, build_list, describe_all, BuildSite};
use kinema_core::rng::sample_rng;
use kinema_core::Config;
use kinema_data::{FrameStack, Sample, TransformKind};
use kinema_engine::HookKind;
use kinema_plugin_example as _;

const CONFIG: &str = r#"
[[pipeline]]
type = "InvertColors"

[[pipeline]]
type = "InvertColors"
prob = 0.0

[[custom_hooks]]
type = "CountItersHook"
label = "seen"
"#;

#[test]
fn transform_builds_and_runs() {
    let cfg = Config::from_toml_str(CONFIG, "plugin.toml").unwrap();
    let site = BuildSite::root(&cfg).key("pipeline");
    let built = build_list::<TransformKind>(cfg.get("pipeline").unwrap(), &site, &()).unwrap();
    assert_eq!(built.len(), 2);
    assert_eq!(built[0].resolved_config(), serde_json::json!({"type": "InvertColors", "prob": 1.0}));
    let mut sample = Sample { imgs: FrameStack::new(vec![0, 10, 200, 255, 1, 2], 1, 1, 2, 3), ..Default::default() };
    let mut rng = sample_rng(0, 0, 0);
    for b in &built {
        b.component.apply(&mut sample, &mut rng).unwrap();
    }
    assert_eq!(sample.imgs.unwrap().data, vec![255, 245, 55, 0, 254, 253]);
}

#[test]
fn hook_builds_with_its_defaults() {
    let cfg = Config::from_toml_str(CONFIG, "plugin.toml").unwrap();
    let hook = build_at::<HookKind>(&cfg, "custom_hooks.0", &()).unwrap();
    assert_eq!(hook.type_name, "CountItersHook");
    assert_eq!(hook.resolved_config(), serde_json::json!({"type": "CountItersHook", "label": "seen"}));
    assert_eq!(hook.component.priority().value(), 60);
}

#[test]
fn bad_plugin_config_is_reported_with_file_and_key() {
    let cfg = Config::from_toml_str("[[pipeline]]\ntype = \"InvertColors\"\nprob = 2.0\n", "bad.toml").unwrap();
    let site = BuildSite::root(&cfg).key("pipeline");
    let err = build_list::<TransformKind>(cfg.get("pipeline").unwrap(), &site, &()).err().unwrap().to_string();
    assert_eq!(err, "bad.toml: `pipeline.0`: cannot build transform InvertColors: prob must be in [0, 1], got 2");
}

#[test]
fn list_registry_sees_plugin_components() {
    let all = describe_all();
    let find = |kind: &str, name: &str| all.iter().find(|c| c.kind == kind && c.name == name).cloned();
    let t = find("transform", "InvertColors").expect("transform registered");
    assert!(t.module.starts_with("kinema_plugin_example"));
    assert_eq!(t.fields[0].name, "prob");
    assert!(find("hook", "CountItersHook").is_some());
}
