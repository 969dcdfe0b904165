//! The error texts `docs/config.md` shows, reproduced exactly.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use kinema_core::registry::{build_at, BoxError, BuildSite};
use kinema_core::{register, Component, Config, Kind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

struct BackboneKind;
impl Kind for BackboneKind {
    const NAME: &'static str = "backbone";
    type Context = ();
    type Output = ();
}

/// A backbone.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ResNetConfig {
    /// Layers.
    depth: u32,
    /// Channels.
    #[serde(default)]
    width: u32,
}
struct ResNet;
impl Component<BackboneKind> for ResNet {
    type Config = ResNetConfig;
    fn build(_: &ResNetConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<()>, BoxError> {
        Ok(Box::new(()))
    }
}
register!(BackboneKind, "ResNet", ResNet);

struct TransformKind;
impl Kind for TransformKind {
    const NAME: &'static str = "transform";
    type Context = ();
    type Output = ();
}

/// Frame sampling.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SampleFramesConfig {
    /// Frames per clip.
    clip_len: usize,
    /// Clips.
    #[serde(default)]
    num_clips: usize,
}
struct SampleFrames;
impl Component<TransformKind> for SampleFrames {
    type Config = SampleFramesConfig;
    fn build(_: &SampleFramesConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<()>, BoxError> {
        Ok(Box::new(()))
    }
}
register!(TransformKind, "SampleFrames", SampleFrames);

const FILE: &str = "configs/x.toml";

fn build_err<K: Kind<Context = ()>>(toml: &str, key: &str) -> String {
    let cfg = Config::from_toml_str(toml, FILE).unwrap();
    build_at::<K>(&cfg, key, &()).err().unwrap().to_string()
}

#[test]
fn registry_errors_read_as_documented() {
    assert_eq!(
        build_err::<BackboneKind>("[model.backbone]\ntype = \"ResNt\"\ndepth = 50\n", "model.backbone"),
        "configs/x.toml: `model.backbone.type`: unknown backbone \"ResNt\" (did you mean \"ResNet\"?); known backbones: ResNet"
    );
    assert_eq!(
        build_err::<BackboneKind>("[model.backbone]\ntype = \"ResNet\"\ndept = 50\n", "model.backbone"),
        "configs/x.toml: `model.backbone.dept`: unknown field `dept`; expected one of: depth, width (did you mean `depth`?) (in backbone ResNet)"
    );
    let pipeline =
        "train_pipeline = [{ type = \"SampleFrames\", clip_len = 1 }, { type = \"SampleFrames\", num_clips = 8 }]\n";
    assert_eq!(
        build_err::<TransformKind>(pipeline, "train_pipeline.1"),
        "configs/x.toml: `train_pipeline.1.clip_len`: missing required field `clip_len` (in transform SampleFrames)"
    );
    let pipeline = "train_pipeline = [{ type = \"SampleFrames\", clip_len = 1, num_clips = \"8\" }]\n";
    assert_eq!(
        build_err::<TransformKind>(pipeline, "train_pipeline.0"),
        "configs/x.toml: `train_pipeline.0.num_clips`: wrong type: expected usize, found string \"8\" (in transform SampleFrames)"
    );
}

#[test]
fn config_errors_read_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("configs")).unwrap();
    let strip = |msg: String| msg.replace(&format!("{}/", dir.path().display()), "");
    let x = dir.path().join(FILE);
    std::fs::write(&x, "_base_ = \"../base.toml\"\n").unwrap();
    assert_eq!(
        strip(Config::load(&x, &[] as &[&str]).err().unwrap().to_string()),
        "configs/x.toml: `_base_` entry \"../base.toml\" not found (looked for base.toml)"
    );
    std::fs::write(&x, "a = \"${b}\"\nb = \"${a}\"\n").unwrap();
    assert_eq!(
        strip(Config::load(&x, &[] as &[&str]).err().unwrap().to_string()),
        "configs/x.toml: `a`: reference cycle: a -> b -> a"
    );
    std::fs::write(&x, "train_pipeline = [1, 2, 3]\n").unwrap();
    assert_eq!(
        strip(Config::load(&x, &["train_pipeline.7=1"]).err().unwrap().to_string()),
        "--cfg-options: `train_pipeline.7`: index 7 is out of range for the list at `train_pipeline` (3 items, from configs/x.toml)"
    );
}
