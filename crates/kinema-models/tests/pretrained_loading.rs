//! `pretrained` weights and checkpoints of 2D recognizers: a torchvision ResNet-50 state
//! dict becomes what MMAction2 1.2.0 makes of it for `ResNet` and `ResNetTSM`
//! (`tests/reference/make_torchvision_mapping_reference.py`: every entry's sum); a
//! missing, misshaped or unknown key is an error naming it, in the model's and the file's
//! names; MMAction2-layout checkpoints load strictly.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../../tests/support/formula_weights.rs"]
mod formula_weights;

use std::path::Path;

use kinema_core::config::KeyPath;
use kinema_core::registry::{build, BuildSite};
use kinema_models::backbones::BackboneKind;
use kinema_models::recognizer::{ModelContext, RecognizerKind};
use kinema_models::resolve::{load_weights, read_checkpoint};
use kinema_models::weights::LoadMode;
use kinema_torch::checkpoint::{save_pytorch, PyValue};
use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};

fn reference() -> Value {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/recognition/torchvision_mapping_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The reference's torchvision file: sorted names, float entries `x_j`, counters 7.
fn torchvision_entries(reference: &Value, skip: &str, reshape: Option<(&str, Vec<i64>)>) -> Vec<(String, Tensor)> {
    let mut names: Vec<(String, Vec<i64>)> = reference["torchvision_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["shape"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap()).collect(),
            )
        })
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    names
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| n != skip)
        .map(|(k, (name, shape))| {
            let t = if name.ends_with("num_batches_tracked") {
                Tensor::from(7i64)
            } else {
                let shape = match &reshape {
                    Some((n, s)) if n == name => s.clone(),
                    _ => shape.clone(),
                };
                formula_weights::formula_tensor(k, &shape, |x| x)
            };
            (name.clone(), t)
        })
        .collect()
}

fn write_state_dict(path: &Path, tensors: Vec<(String, Tensor)>) {
    let dict = PyValue::dict(tensors.into_iter().map(|(k, t)| (k, PyValue::Tensor(t))).collect(), true);
    save_pytorch(path, &dict).unwrap();
}

/// Builds `backbone` (a table with `pretrained` set) under `backbone.` and runs `init_weights`.
fn load_backbone(table: Value) -> Result<nn::VarStore, String> {
    let site = BuildSite::detached(KeyPath::parse("model.backbone"));
    let spec = build::<BackboneKind>(&table, &site, &()).unwrap().into_inner();
    let vs = nn::VarStore::new(Device::Cpu);
    let net = spec.instantiate(&(vs.root() / "backbone")).unwrap();
    net.init_weights(&vs, "backbone").map_err(|e| e.to_string())?;
    Ok(vs)
}

#[test]
fn torchvision_resnet50_loads_as_mmaction2_maps_it() {
    let reference = reference();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("resnet50-0676ba61.pth");
    write_state_dict(&file, torchvision_entries(&reference, "", None));
    for ty in ["ResNet", "ResNetTSM"] {
        let vs = load_backbone(json!({"type": ty, "depth": 50, "pretrained": file})).unwrap();
        let vars = vs.variables();
        let want = reference[ty].as_array().unwrap();
        assert_eq!(vars.len(), want.len(), "{ty}: entries");
        for e in want {
            let name = format!("backbone.{}", e["name"].as_str().unwrap());
            let t = vars.get(&name).unwrap_or_else(|| panic!("{ty}: no `{name}`"));
            let shape: Vec<i64> = e["shape"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap()).collect();
            assert_eq!(t.size(), shape, "{ty}: {name}");
            let sum = t.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]);
            let want_sum = e["sum"].as_f64().unwrap();
            assert!(
                (sum - want_sum).abs() <= 1e-6 * want_sum.abs().max(1.0),
                "{ty}: {name}: sum {sum} vs MMAction2 {want_sum}"
            );
        }
    }
}

#[test]
fn a_torchvision_file_with_a_missing_or_misshaped_key_is_an_error_naming_it() {
    let reference = reference();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pth");
    write_state_dict(&missing, torchvision_entries(&reference, "layer1.0.bn2.weight", None));
    let err = load_backbone(json!({"type": "ResNetTSM", "depth": 50, "pretrained": missing})).unwrap_err();
    assert!(err.contains("1 missing, 0 unexpected, 0 with the wrong shape"), "{err}");
    assert!(err.contains("backbone.layer1.0.conv2.bn.weight (torchvision `layer1.0.bn2.weight`) [64]"), "{err}");
    assert!(err.starts_with(&missing.display().to_string()), "{err}");

    let misshaped = dir.path().join("misshaped.pth");
    write_state_dict(
        &misshaped,
        torchvision_entries(&reference, "", Some(("layer2.0.conv1.weight", vec![128, 256, 3, 3]))),
    );
    let err = load_backbone(json!({"type": "ResNet", "depth": 50, "pretrained": misshaped})).unwrap_err();
    assert!(
        err.contains("backbone.layer2.0.conv1.conv.weight (torchvision `layer2.0.conv1.weight`): model [128, 256, 1, 1], checkpoint [128, 256, 3, 3]"),
        "{err}"
    );

    let err =
        load_backbone(json!({"type": "ResNet", "depth": 50, "pretrained": dir.path().join("absent.pth")})).unwrap_err();
    assert!(err.contains("absent.pth"), "{err}");
    let err =
        load_backbone(json!({"type": "ResNet", "depth": 50, "pretrained": "torchvision://resnet51"})).unwrap_err();
    assert!(err.contains("unknown torchvision model `resnet51`"), "{err}");
}

fn small_tsn() -> Box<dyn kinema_models::Recognizer> {
    let table = json!({"type": "Recognizer2D", "backbone": {"type": "ResNet", "depth": 18},
        "cls_head": {"type": "TSNHead", "num_classes": 5, "in_channels": 512}});
    let ctx = ModelContext { device: Device::Cpu, seed: 0 };
    build::<RecognizerKind>(&table, &BuildSite::detached(KeyPath::parse("model")), &ctx).unwrap().into_inner()
}

#[test]
fn mmaction2_checkpoints_load_strictly_and_name_every_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let source = small_tsn();
    formula_weights::fill_var_store(source.var_store(), None);
    let mut tensors: Vec<(String, Tensor)> = source.var_store().variables().into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let path = dir.path().join("tsn.pth");
    let wrap = |tensors: Vec<(String, Tensor)>| {
        let sd = PyValue::dict(tensors.into_iter().map(|(k, t)| (k, PyValue::Tensor(t))).collect(), true);
        PyValue::dict(vec![("meta".into(), PyValue::dict(vec![], false)), ("state_dict".into(), sd)], false)
    };
    save_pytorch(&path, &wrap(tensors.iter().map(|(k, t)| (k.clone(), t.shallow_clone())).collect())).unwrap();
    let mut model = small_tsn();
    let report = load_weights(model.as_mut(), &read_checkpoint(&path).unwrap(), LoadMode::Strict).unwrap();
    assert_eq!(report.loaded, tensors.len());
    let counter = model.var_store().variables()["backbone.layer1.0.conv1.bn.num_batches_tracked"].int64_value(&[]);
    assert_eq!(counter, 100, "num_batches_tracked loads too");

    let broken: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(k, t)| match k.as_str() {
            "backbone.layer1.0.conv1.bn.running_var" => {
                ("backbone.layer1.0.conv1.bn.running_variance".into(), t.shallow_clone())
            }
            "cls_head.fc_cls.weight" => (k.clone(), Tensor::zeros([400, 512], (Kind::Float, Device::Cpu))),
            _ => (k.clone(), t.shallow_clone()),
        })
        .collect();
    let bad = dir.path().join("bad.pth");
    save_pytorch(&bad, &wrap(broken)).unwrap();
    let err =
        load_weights(small_tsn().as_mut(), &read_checkpoint(&bad).unwrap(), LoadMode::Strict).unwrap_err().to_string();
    assert!(err.contains("1 missing, 1 unexpected, 1 with the wrong shape"), "{err}");
    assert!(err.contains("backbone.layer1.0.conv1.bn.running_var [64]"), "{err}");
    assert!(err.contains("backbone.layer1.0.conv1.bn.running_variance [64]"), "{err}");
    assert!(err.contains("cls_head.fc_cls.weight: model [5, 512], checkpoint [400, 512]"), "{err}");
}
