//! Kinema's safetensors format (round trips, atomic writes) and strict / non-strict loading
//! into a VarStore.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::{ckpt, fixture, values};
use kinema_torch::checkpoint::{
    load_checkpoint, load_file_into_varstore, load_into_tensors, load_into_varstore, load_into_varstore_sharing,
    load_safetensors, save_safetensors, CheckpointError, CheckpointFormat, LoadMode,
};
use serde_json::json;
use tch::{nn, Device, Kind, Tensor};

fn sample() -> Vec<(String, Tensor)> {
    let base = Tensor::arange(12, (Kind::Float, Device::Cpu)).view([3, 4]);
    vec![
        ("z.last_in_alphabet".into(), Tensor::from_slice(&[1.5f32, -2.0])),
        ("a.half".into(), Tensor::from_slice(&[0.5f32, 65504.0]).to_kind(Kind::Half)),
        ("m.bf16".into(), Tensor::from_slice(&[-1.5f32, 3.0]).to_kind(Kind::BFloat16)),
        ("m.f64".into(), Tensor::from_slice(&[1e-300f64, 1e300])),
        ("m.i64".into(), Tensor::from_slice(&[i64::MIN, 0, i64::MAX])),
        ("m.i32".into(), Tensor::from_slice(&[-7i32, 7])),
        ("m.u8".into(), Tensor::from_slice(&[0u8, 255])),
        ("m.bool".into(), Tensor::from_slice(&[true, false, true])),
        ("m.scalar".into(), Tensor::from(3.25f32)),
        ("m.empty".into(), Tensor::zeros([0, 4], (Kind::Float, Device::Cpu))),
        ("m.transposed_view".into(), base.tr()),
    ]
}

#[test]
fn safetensors_round_trip_is_identical_and_keeps_order_and_meta() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let tensors = sample();
    let meta = json!({"epoch": 3, "classes": ["a", "b"], "nested": {"lr": 0.1}});
    save_safetensors(&path, &tensors, Some(&meta)).unwrap();

    let back = load_safetensors(&path).unwrap();
    assert_eq!(back.format, CheckpointFormat::Safetensors);
    assert_eq!(back.meta, Some(meta));
    assert_eq!(back.names(), tensors.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>());
    for ((name, a), (_, b)) in tensors.iter().zip(&back.tensors) {
        assert_eq!(a.kind(), b.kind(), "{name}");
        assert_eq!(a.size(), b.size(), "{name}");
        assert!(a.equal(b), "{name}");
    }
    // The generic entry point recognises the format by content, whatever the extension.
    let renamed = dir.path().join("weights.pth");
    std::fs::rename(&path, &renamed).unwrap();
    let any = load_checkpoint(&renamed).unwrap();
    assert_eq!(any.format, CheckpointFormat::Safetensors);
    assert_eq!(any.tensors.len(), tensors.len());
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("weights.pth")]);
}

#[test]
fn converting_mmaction_clip_tiny_to_safetensors_keeps_every_value() {
    let ck = load_checkpoint(fixture("tiny", "mmaction_clip_tiny.pth")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tiny.safetensors");
    save_safetensors(&out, &ck.tensors, ck.meta.as_ref()).unwrap();
    let back = load_checkpoint(&out).unwrap();
    assert_eq!(back.meta, ck.meta);
    assert_eq!(back.names(), ck.names());
    for ((name, a), (_, b)) in ck.tensors.iter().zip(&back.tensors) {
        assert!(a.equal(b), "{name}");
    }
}

#[test]
fn overwriting_replaces_the_old_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.safetensors");
    save_safetensors(&path, &sample(), None).unwrap();
    let one = vec![("only".to_string(), Tensor::from_slice(&[1.0f32]))];
    save_safetensors(&path, &one, None).unwrap();
    let back = load_safetensors(&path).unwrap();
    assert_eq!(back.names(), vec!["only"]);
    assert_eq!(back.meta, None);
}

#[test]
fn saving_rejects_duplicate_names_and_a_missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let dup = vec![("a".to_string(), Tensor::from(1.0f32)), ("a".to_string(), Tensor::from(2.0f32))];
    let msg = save_safetensors(dir.path().join("d.safetensors"), &dup, None).unwrap_err().to_string();
    assert!(msg.contains("`a` is repeated"), "{msg}");
    let msg = save_safetensors(dir.path().join("no/such/dir/x.safetensors"), &sample(), None).unwrap_err().to_string();
    assert!(msg.contains("no/such/dir/x.safetensors"), "{msg}");
}

#[test]
fn corrupt_safetensors_header_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    let mut bytes = 30u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{\"a\": {\"dtype\": \"F32\", \"shape\"");
    std::fs::write(&path, &bytes).unwrap();
    let msg = load_checkpoint(&path).unwrap_err().to_string();
    assert!(msg.contains("bad.safetensors") && msg.contains("safetensors"), "{msg}");
}

/// A model shaped like `ordered_metadata.pth` (Linear(3, 2) + BatchNorm1d(2)), with one twist
/// per test.
fn model(vs: &nn::VarStore, bias_len: i64, extra: bool) {
    let root = vs.root();
    let l = &root / "0";
    let _ = l.zeros("weight", &[2, 3]);
    let _ = l.zeros("bias", &[bias_len]);
    let bn = &root / "1";
    let _ = bn.zeros("weight", &[2]);
    let _ = bn.zeros("bias", &[2]);
    let _ = bn.zeros_no_train("running_mean", &[2]);
    if extra {
        let _ = bn.zeros("extra", &[5]);
    }
    // `running_var` and `num_batches_tracked` are deliberately absent: unexpected keys.
}

#[test]
fn strict_load_reports_missing_unexpected_and_shapes_together() {
    let vs = nn::VarStore::new(Device::Cpu);
    model(&vs, 3, true);
    let err = load_file_into_varstore(&vs, ckpt("ordered_metadata.pth"), LoadMode::Strict).unwrap_err();
    let CheckpointError::Mismatch(report) = &err else { panic!("{err:?}") };
    assert_eq!(report.missing, vec![("1.extra".to_string(), vec![5])]);
    assert_eq!(
        report.unexpected,
        vec![("1.running_var".to_string(), vec![2]), ("1.num_batches_tracked".to_string(), vec![])]
    );
    assert_eq!(report.mismatched.len(), 1);
    assert_eq!(report.mismatched[0].name, "0.bias");
    assert_eq!((report.mismatched[0].model.clone(), report.mismatched[0].checkpoint.clone()), (vec![3], vec![2]));
    let msg = err.to_string();
    for needle in [
        "ordered_metadata.pth",
        "1 missing, 2 unexpected, 1 with the wrong shape",
        "1.extra [5]",
        "1.running_var [2]",
        "1.num_batches_tracked []",
        "0.bias: model [3], checkpoint [2]",
    ] {
        assert!(msg.contains(needle), "`{needle}` not in:\n{msg}");
    }
    // Strict failure copies nothing.
    let w = vs.variables()["0.weight"].shallow_clone();
    assert_eq!(values(&w), vec![0.0; 6]);
}

#[test]
fn non_strict_load_copies_what_matches_and_returns_the_report() {
    let vs = nn::VarStore::new(Device::Cpu);
    model(&vs, 3, true);
    let ck = load_checkpoint(ckpt("ordered_metadata.pth")).unwrap();
    let report = load_into_varstore(&vs, &ck.tensors, LoadMode::NonStrict, "ordered_metadata.pth").unwrap();
    assert_eq!(report.loaded, 4);
    assert!(!report.is_clean());
    let vars = vs.variables();
    assert_eq!(values(&vars["0.weight"]), vec![0.0, 0.125, 0.25, 0.375, 0.5, 0.625]);
    assert_eq!(values(&vars["1.running_mean"]), vec![0.5, 0.5]);
    assert_eq!(values(&vars["0.bias"]), vec![0.0; 3], "wrong-shape keys are skipped");
}

#[test]
fn strict_load_converts_fp16_into_fp32_variables() {
    let vs = nn::VarStore::new(Device::Cpu);
    let _ = vs.root().zeros("w", &[2]);
    let src = vec![("w".to_string(), Tensor::from_slice(&[0.5f32, -3.0]).to_kind(Kind::Half))];
    let report = load_into_varstore(&vs, &src, LoadMode::Strict, "in-memory").unwrap();
    assert!(report.is_clean());
    assert_eq!(report.loaded, 1);
    let w = vs.variables()["w"].shallow_clone();
    assert_eq!(w.kind(), Kind::Float);
    assert_eq!(values(&w), vec![0.5, -3.0]);
}

#[test]
fn sharing_load_takes_over_what_it_can_and_copies_the_rest() {
    let vs = nn::VarStore::new(Device::Cpu);
    for name in ["own", "half", "view_a", "view_b", "strided"] {
        let _ = vs.root().zeros(name, &[2]);
    }
    let own = Tensor::from_slice(&[1.0f32, 2.0]);
    let flat = Tensor::from_slice(&[3.0f32, 4.0, 5.0]);
    let wide = Tensor::from_slice(&[6.0f32, 0.0, 7.0, 0.0]);
    let src = vec![
        ("own".to_string(), own.shallow_clone()),
        ("half".to_string(), Tensor::from_slice(&[0.5f32, 1.5]).to_kind(Kind::Half)),
        // Two overlapping views of one storage: neither may be taken over.
        ("view_a".to_string(), flat.narrow(0, 0, 2)),
        ("view_b".to_string(), flat.narrow(0, 1, 2)),
        ("strided".to_string(), wide.slice(0, 0, 4, 2)),
    ];
    let report = load_into_varstore_sharing(&vs, &src, LoadMode::Strict, "in-memory").unwrap();
    assert_eq!(report.loaded, 5);
    let vars = vs.variables();
    assert_eq!(vars["own"].data_ptr(), own.data_ptr(), "same dtype, contiguous, alone: taken over");
    assert!(vars["own"].requires_grad(), "still a trainable variable");
    for (name, want) in [("half", [0.5, 1.5]), ("view_a", [3.0, 4.0]), ("view_b", [4.0, 5.0]), ("strided", [6.0, 7.0])]
    {
        assert_ne!(vars[name].data_ptr(), src.iter().find(|(n, _)| n == name).unwrap().1.data_ptr(), "{name} copied");
        assert_eq!(values(&vars[name]), want.to_vec(), "{name}");
    }
    assert_eq!(vars["half"].kind(), Kind::Float);
    let mut a = vars["view_a"].shallow_clone();
    let _ = tch::no_grad(|| a.f_add_(&Tensor::from(10.0f32)).unwrap());
    assert_eq!(values(&vars["view_b"]), vec![4.0, 5.0], "copied variables share nothing");
    assert_eq!(values(&flat), vec![3.0, 4.0, 5.0]);
}

#[test]
fn load_into_plain_tensors_by_name() {
    let a = Tensor::zeros([2], (Kind::Double, Device::Cpu));
    let src = vec![("a".to_string(), Tensor::from_slice(&[1.0f32, 2.0]))];
    let report = load_into_tensors([("a", &a)], &src, LoadMode::Strict, "mem").unwrap();
    assert_eq!(report.loaded, 1);
    assert_eq!(a.kind(), Kind::Double);
    assert_eq!(values(&a), vec![1.0, 2.0]);
}

#[test]
fn empty_or_truncated_safetensors_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.safetensors");
    save_safetensors(&good, &sample(), None).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    for (name, len) in [("empty.safetensors", 0), ("header_only.safetensors", 8), ("cut.safetensors", bytes.len() - 3)]
    {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes[..len]).unwrap();
        let msg = load_safetensors(&path).unwrap_err().to_string();
        assert!(msg.contains(name), "{msg}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn saved_files_get_the_usual_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let umask = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    save_safetensors(&path, &sample(), None).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o666 & !umask, "mode {mode:o}, umask {umask:o}");
}
