//! Reading real `torch.save` / TorchScript files made by `tests/reference/make_checkpoint_fixtures.py`
//! and an upstream MMAction2 checkpoint (a tiny CLIP video model), and the errors for broken or unsupported files.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::io::{Read, Write};
use std::time::Instant;

use common::{canon, ckpt, dtype_name, expected, first_difference, fixture, values};
use kinema_torch::checkpoint::{
    detect_format, load_checkpoint, load_pytorch, load_torchscript, state_dict, CheckpointError, CheckpointFormat,
    PyValue,
};
use serde_json::Value;
use tch::Kind;

fn assert_canonical(file: &str) {
    let exp = expected();
    let want = &exp["files"][file]["canonical"];
    assert!(!want.is_null(), "expected.json lacks {file}");
    let tree = load_pytorch(ckpt(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let got = canon(&tree);
    if let Some(diff) = first_difference(&got, want, file) {
        panic!("{file} differs from what torch.load gives: {diff}");
    }
}

#[test]
fn nested_values_protocol_2_match_torch_load() {
    assert_canonical("nested_p2.pth");
}

#[test]
fn nested_values_protocol_4_match_torch_load() {
    assert_canonical("nested_p4.pth");
}

#[test]
fn views_and_shared_storages_match_torch_load() {
    assert_canonical("views.pth");
    // Views really share memory with their base, as in PyTorch.
    let tree = load_pytorch(ckpt("views.pth")).unwrap();
    let base = tree.get("base").and_then(PyValue::as_tensor).unwrap();
    let row = tree.get("row").and_then(PyValue::as_tensor).unwrap();
    let b = base.shallow_clone();
    let _ = b.get(1).get(0).fill_(-100.0);
    assert_eq!(values(row)[0], -100.0);
}

#[test]
fn numpy_scalars_and_arrays_match_torch_load() {
    assert_canonical("numpy_meta.pth");
    let tree = load_pytorch(ckpt("numpy_meta.pth")).unwrap();
    let meta = tree.get("meta").unwrap();
    assert_eq!(meta.get("np_i64").and_then(PyValue::as_i64), Some(-7));
    assert_eq!(meta.get("np_f64").and_then(PyValue::as_f64), Some(0.1));
    assert_eq!(meta.get("np_bool").and_then(PyValue::as_i64), Some(1));
    let fortran = match meta.get("arr_fortran") {
        Some(PyValue::Array(a)) => a.to_tensor().unwrap(),
        other => panic!("arr_fortran is {other:?}"),
    };
    assert_eq!(values(&fortran), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(fortran.size(), vec![2, 3]);
}

#[test]
fn ordered_dict_state_dict_keeps_order_and_metadata() {
    assert_canonical("ordered_metadata.pth");
    let tree = load_pytorch(ckpt("ordered_metadata.pth")).unwrap();
    let dict = tree.as_dict().unwrap();
    assert!(dict.ordered);
    let meta = dict.attr("_metadata").and_then(PyValue::as_dict).unwrap();
    assert_eq!(meta.get("1").and_then(|v| v.get("version")).and_then(PyValue::as_i64), Some(2));
    let sd = state_dict(ckpt("ordered_metadata.pth")).unwrap();
    let names: Vec<&str> = sd.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"]
    );
    assert_eq!(sd[6].1.kind(), Kind::Int64);
    assert_eq!(values(&sd[6].1), vec![3.0]);
}

#[test]
fn module_prefix_is_stripped_like_mmengine() {
    assert_canonical("module_prefix.pth");
    let plain = state_dict(ckpt("ordered_metadata.pth")).unwrap();
    let prefixed = state_dict(ckpt("module_prefix.pth")).unwrap();
    assert_eq!(plain.len(), prefixed.len());
    for ((a, ta), (b, tb)) in plain.iter().zip(&prefixed) {
        assert_eq!(a, b);
        assert!(ta.equal(tb), "{a}");
    }
}

#[test]
fn mmengine_checkpoint_with_message_hub_and_optimizer() {
    assert_canonical("mmengine_ckpt.pth");
    let ck = load_checkpoint(ckpt("mmengine_ckpt.pth")).unwrap();
    assert_eq!(ck.format, CheckpointFormat::TorchZip);
    assert_eq!(ck.names()[0], "0.weight");
    assert_eq!(ck.tensors.len(), 7);
    let meta = ck.meta.as_ref().unwrap();
    assert_eq!(meta["epoch"], 1);
    assert_eq!(meta["dataset_meta"]["classes"], serde_json::json!(["a", "b"]));
    // HistoryBuffer objects are kept as data, their numpy history readable.
    let tree = ck.tree.as_ref().unwrap();
    let loss = tree.get_path("message_hub.log_scalars.train/loss");
    let Some(PyValue::Object(buffer)) = loss else { panic!("loss buffer is {loss:?}") };
    assert_eq!(buffer.class_path(), "mmengine.logging.history_buffer.HistoryBuffer");
    let Some(PyValue::Array(history)) = buffer.attr("_log_history") else { panic!("no _log_history") };
    assert_eq!(values(&history.to_tensor().unwrap()), vec![0.5, 0.25, 0.125]);
    let momentum = tree.get_path("optimizer.state").and_then(PyValue::as_dict).unwrap();
    assert_eq!(momentum.len(), 4);
}

#[test]
fn mmaction_clip_tiny_has_the_upstream_keys_dtypes_shapes_and_meta() {
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt("mmaction_clip_tiny_expected.json")).unwrap()).unwrap();
    let sums = &expected()["files"]["../tiny/mmaction_clip_tiny.pth"];
    let path = fixture("tiny", "mmaction_clip_tiny.pth");
    let start = Instant::now();
    let ck = load_checkpoint(&path).unwrap();
    let cold = start.elapsed();
    let start = Instant::now();
    let again = load_checkpoint(&path).unwrap();
    let warm = start.elapsed();
    eprintln!(
        "mmaction_clip_tiny.pth: load_checkpoint took {:.1} ms (first in process), {:.1} ms (again)",
        cold.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3
    );
    assert_eq!(again.names(), ck.names());

    let listed = want["checkpoint_state_dict"].as_array().unwrap();
    assert_eq!(ck.tensors.len(), 87);
    assert_eq!(listed.len(), 87);
    for ((name, t), item) in ck.tensors.iter().zip(listed) {
        assert_eq!(name, item[0].as_str().unwrap());
        assert_eq!(dtype_name(t.kind()), item[1].as_str().unwrap(), "{name}");
        let shape: Vec<i64> = item[2].as_array().unwrap().iter().map(|d| d.as_i64().unwrap()).collect();
        assert_eq!(t.size(), shape, "{name}");
    }
    for ((name, t), item) in ck.tensors.iter().zip(sums["tensor_sums"].as_array().unwrap()) {
        assert_eq!(name, item[0].as_str().unwrap());
        let v = values(t);
        let sum: f64 = v.iter().sum();
        let abs: f64 = v.iter().map(|x| x.abs()).sum();
        let (want_sum, want_abs) = (item[1].as_f64().unwrap(), item[2].as_f64().unwrap());
        assert!((sum - want_sum).abs() <= 1e-9 * want_abs.max(1.0), "{name}: sum {sum} vs {want_sum}");
        assert!((abs - want_abs).abs() <= 1e-9 * want_abs.max(1.0), "{name}: |sum| {abs} vs {want_abs}");
    }
    let meta = ck.meta.as_ref().unwrap();
    let keys: Vec<&str> = meta.as_object().unwrap().keys().map(String::as_str).collect();
    let want_keys: Vec<&str> = want["meta_keys"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(keys, want_keys);
    let tree = ck.tree.as_ref().unwrap();
    assert_eq!(canon(tree.get("meta").unwrap()), sums["meta"]);
}

#[test]
fn torchscript_archive_gives_fp32_state_dict_without_clip_ints() {
    let exp = expected();
    let want = exp["files"]["tiny_jit.pt"]["named_tensors"].as_array().unwrap();
    let path = ckpt("tiny_jit.pt");
    assert_eq!(detect_format(&path).unwrap(), CheckpointFormat::TorchScript);
    let tensors = load_torchscript(&path).unwrap();
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    let want_names: Vec<&str> = want.iter().map(|w| w[0].as_str().unwrap()).collect();
    assert_eq!(names, want_names);
    for ((name, t), w) in tensors.iter().zip(want) {
        assert_eq!(dtype_name(t.kind()), w[1].as_str().unwrap(), "{name}");
        let want_values: Vec<f64> = w[3].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        assert_eq!(values(t), want_values, "{name}");
    }
    // The generic entry point detects the format and gives the same.
    let via_any = state_dict(&path).unwrap();
    assert_eq!(via_any.len(), tensors.len());
}

#[test]
fn legacy_format_is_explained() {
    let path = ckpt("legacy.pth");
    assert_eq!(detect_format(&path).unwrap(), CheckpointFormat::Legacy);
    let err = load_checkpoint(&path).unwrap_err();
    assert!(matches!(err, CheckpointError::LegacyFormat { .. }));
    let msg = err.to_string();
    assert!(msg.contains("legacy.pth") && msg.contains("legacy non-zip") && msg.contains("torch.save("), "{msg}");
    assert!(load_pytorch(&path).unwrap_err().to_string().contains("legacy"));
}

fn temp_copy(bytes: &[u8], name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

#[test]
fn truncated_zip_names_the_file() {
    let bytes = std::fs::read(ckpt("ordered_metadata.pth")).unwrap();
    let (_dir, path) = temp_copy(&bytes[..bytes.len() / 2], "half.pth");
    let err = load_checkpoint(&path).unwrap_err();
    assert!(matches!(err, CheckpointError::Zip { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("half.pth") && msg.contains("truncated or corrupt"), "{msg}");
}

/// Rewrites a checkpoint zip entry by entry; `edit` may drop (None) or replace an entry.
fn rewrite_zip(src: &std::path::Path, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) -> Vec<u8> {
    let mut input = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..input.len() {
        let mut f = input.by_index(i).unwrap();
        let name = f.name().to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        if let Some(data) = edit(&name, data) {
            out.start_file(name, opts).unwrap();
            out.write_all(&data).unwrap();
        }
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn missing_storage_names_file_key_and_entry() {
    let bytes = rewrite_zip(&ckpt("ordered_metadata.pth"), |name, data| (!name.ends_with("data/1")).then_some(data));
    let (_dir, path) = temp_copy(&bytes, "nostorage.pth");
    let err = load_checkpoint(&path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, CheckpointError::Storage { .. }), "{err:?}");
    assert!(
        msg.contains("nostorage.pth")
            && msg.contains("storage `1`")
            && msg.contains("data/1")
            && msg.contains("missing"),
        "{msg}"
    );
}

#[test]
fn short_storage_is_reported_not_read_past() {
    let bytes = rewrite_zip(&ckpt("ordered_metadata.pth"), |name, mut data| {
        if name.ends_with("data/0") {
            data.truncate(8);
        }
        Some(data)
    });
    let (_dir, path) = temp_copy(&bytes, "short.pth");
    let msg = load_checkpoint(&path).unwrap_err().to_string();
    assert!(msg.contains("short.pth") && msg.contains("holds 8 bytes") && msg.contains("6 × 4 = 24"), "{msg}");
}

#[test]
fn corrupt_storage_bytes_fail_the_crc_check() {
    let path = ckpt("ordered_metadata.pth");
    let mut bytes = std::fs::read(&path).unwrap();
    let start = {
        let mut z = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let name = z.file_names().find(|n| n.ends_with("data/0")).unwrap().to_string();
        let f = z.by_name(&name).unwrap();
        f.data_start() as usize
    };
    bytes[start + 5] ^= 0x40;
    let (_dir, corrupt) = temp_copy(&bytes, "flipped.pth");
    let msg = load_checkpoint(&corrupt).unwrap_err().to_string();
    assert!(msg.contains("flipped.pth") && msg.contains("storage `0`") && msg.contains("CRC-32 mismatch"), "{msg}");
}

#[test]
fn bool_storage_with_other_bytes_is_refused() {
    // The bool tensor [True, False, True] is the only storage holding exactly 01 00 01.
    let bytes = rewrite_zip(&ckpt("nested_p2.pth"), |name, data| {
        Some(if name.contains("/data/") && data == [1, 0, 1] { vec![2, 0, 1] } else { data })
    });
    let (_dir, path) = temp_copy(&bytes, "badbool.pth");
    let msg = load_pytorch(&path).unwrap_err().to_string();
    assert!(msg.contains("badbool.pth") && msg.contains("bytes other than 0 and 1"), "{msg}");
}

#[test]
fn big_endian_archives_are_byte_swapped() {
    let bytes = rewrite_zip(&ckpt("nested_p2.pth"), |name, mut data| {
        if name.ends_with("byteorder") {
            return Some(b"big".to_vec());
        }
        if name.contains("/data/") {
            // Every storage of the f32 tensor is 4-byte; swap as a big-endian writer would.
            data.chunks_exact_mut(4).for_each(<[u8]>::reverse);
        }
        Some(data)
    });
    let (_dir, path) = temp_copy(&bytes, "big.pth");
    let tree = load_pytorch(&path).unwrap();
    let t = tree.get_path("tensors.f32").and_then(PyValue::as_tensor).unwrap();
    assert_eq!(values(t), vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.25]);
}

#[test]
fn unknown_content_shows_its_first_bytes() {
    let (_dir, path) = temp_copy(b"hello, not a checkpoint", "text.pth");
    let msg = load_checkpoint(&path).unwrap_err().to_string();
    assert!(
        msg.contains("text.pth") && msg.contains("not a supported checkpoint format") && msg.contains("hello"),
        "{msg}"
    );
    let (_dir2, empty) = temp_copy(b"", "empty.pth");
    assert!(load_checkpoint(&empty).unwrap_err().to_string().contains("the file is empty"));
    let missing = load_checkpoint("/nonexistent/dir/x.pth").unwrap_err().to_string();
    assert!(missing.contains("/nonexistent/dir/x.pth"), "{missing}");
}

#[test]
fn unsupported_opcode_names_file_and_offset() {
    let bytes = rewrite_zip(&ckpt("ordered_metadata.pth"), |name, data| {
        Some(if name.ends_with("data.pkl") { vec![0x80, 0x02, 0xff] } else { data })
    });
    let (_dir, path) = temp_copy(&bytes, "badop.pth");
    let msg = load_checkpoint(&path).unwrap_err().to_string();
    assert!(msg.contains("badop.pth") && msg.contains("byte 2") && msg.contains("opcode 0xff"), "{msg}");
}

#[test]
fn non_tensor_state_dict_lists_candidate_keys() {
    let msg = state_dict(ckpt("nested_p2.pth")).unwrap_err().to_string();
    assert!(msg.contains("nested_p2.pth") && msg.contains("key `ints` holds a list, not a tensor"), "{msg}");
    assert!(msg.contains("\"tensors\""), "{msg}");
}
