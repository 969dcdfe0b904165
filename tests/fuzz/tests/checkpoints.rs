//! Fuzzing the checkpoint readers: legacy `torch.save` pickles, `torch.save` zip archives,
//! TorchScript archives and safetensors files, each mutated from a real file; the zip
//! targets mutate an entry and re-zip it (bytes alone would fail the CRC and never reach
//! the pickle), and a pickle target assembles programs from real opcodes.

use std::io::Write;
use std::path::Path;

use kinema_fuzz::{fixture, fuzz, mutate, mutations};
use proptest::prelude::*;

/// Any outcome but a panic: errors must name the file.
fn load_any(path: &Path) -> Result<(), TestCaseError> {
    if let Err(e) = kinema_torch::checkpoint::load_checkpoint(path) {
        let text = e.to_string();
        prop_assert!(text.contains(&path.display().to_string()), "error does not name the file: {text}");
    }
    Ok(())
}

#[test]
fn fuzz_checkpoint_bytes() {
    let seeds: Vec<Vec<u8>> = ["legacy.pth", "mmengine_ckpt.pth", "tiny_jit.pt", "views.pth", "numpy_meta.pth"]
        .iter()
        .map(|f| std::fs::read(fixture(&format!("checkpoint/{f}"))).unwrap_or_default())
        .collect();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("mutated.pth");
    fuzz("checkpoint bytes", file!(), 256, (0..seeds.len(), mutations(8)), |(i, edits)| {
        std::fs::write(&path, mutate(&seeds[i], &edits)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        load_any(&path)
    });
}

/// The entries of a zip archive, in order.
fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap_or_else(|e| panic!("seed zip: {e}"));
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap_or_else(|e| panic!("seed entry: {e}"));
            let mut data = Vec::new();
            std::io::copy(&mut f, &mut data).unwrap_or_else(|e| panic!("seed entry: {e}"));
            (f.name().to_string(), data)
        })
        .collect()
}

/// A stored (uncompressed) zip of `entries`, as `torch.save` writes.
fn rezip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        out.start_file(name.as_str(), options).unwrap_or_else(|e| panic!("zip: {e}"));
        out.write_all(data).unwrap_or_else(|e| panic!("zip: {e}"));
    }
    out.finish().unwrap_or_else(|e| panic!("zip: {e}")).into_inner()
}

#[test]
fn fuzz_checkpoint_zip_entries() {
    let seeds: Vec<Vec<(String, Vec<u8>)>> = ["mmengine_ckpt.pth", "tiny_jit.pt", "nested_p4.pth"]
        .iter()
        .map(|f| entries(&std::fs::read(fixture(&format!("checkpoint/{f}"))).unwrap_or_default()))
        .collect();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("entry.pth");
    // Mostly the pickles (data.pkl, constants.pkl), sometimes any entry.
    let target = (0..seeds.len(), any::<usize>(), any::<bool>(), mutations(8));
    fuzz("checkpoint zip entries", file!(), 256, target, |(s, pick, any_entry, edits)| {
        let mut files = seeds[s].clone();
        let pickles: Vec<usize> = (0..files.len()).filter(|&i| files[i].0.ends_with(".pkl")).collect();
        let i = if any_entry || pickles.is_empty() { pick % files.len() } else { pickles[pick % pickles.len()] };
        files[i].1 = mutate(&files[i].1, &edits);
        std::fs::write(&path, rezip(&files)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        load_any(&path)
    });
}

/// Pickle opcodes (protocol 2-4) with plausible arguments: programs made of these get past
/// the first byte, which random bytes rarely do.
fn opcode() -> impl Strategy<Value = Vec<u8>> {
    let small = any::<u8>();
    prop_oneof![
        Just(vec![b'}']),                  // EMPTY_DICT
        Just(vec![b']']),                  // EMPTY_LIST
        Just(vec![b')']),                  // EMPTY_TUPLE
        Just(vec![b'(']),                  // MARK
        Just(vec![b'e']),                  // APPENDS
        Just(vec![b'u']),                  // SETITEMS
        Just(vec![b's']),                  // SETITEM
        Just(vec![b'a']),                  // APPEND
        Just(vec![b't']),                  // TUPLE
        Just(vec![0x85]),                  // TUPLE1
        Just(vec![0x86]),                  // TUPLE2
        Just(vec![b'R']),                  // REDUCE
        Just(vec![b'b']),                  // BUILD
        Just(vec![b'0']),                  // POP
        Just(vec![b'2']),                  // DUP
        Just(vec![b'N']),                  // NONE
        Just(vec![0x88]),                  // NEWTRUE
        Just(vec![0x94]),                  // MEMOIZE
        Just(vec![b'.']),                  // STOP
        Just(vec![b'Q']),                  // BINPERSID
        small.prop_map(|n| vec![b'K', n]), // BININT1
        small.prop_map(|n| vec![b'h', n]), // BINGET
        small.prop_map(|n| vec![b'q', n]), // BINPUT
        any::<i32>().prop_map(|n| {
            let mut v = vec![b'J'];
            v.extend(n.to_le_bytes());
            v
        }),
        "[a-z_.]{0,12}".prop_map(|s| {
            let mut v = vec![0x8c, s.len() as u8];
            v.extend(s.bytes());
            v
        }),
        prop_oneof![
            Just("collections\nOrderedDict\n"),
            Just("torch._utils\n_rebuild_tensor_v2\n"),
            Just("torch\nFloatStorage\n"),
            Just("os\nsystem\n"),
            Just("builtins\neval\n"),
        ]
        .prop_map(|g| {
            let mut v = vec![b'c'];
            v.extend(g.bytes());
            v
        }),
        Just(vec![0x93]), // STACK_GLOBAL
    ]
}

#[test]
fn fuzz_pickle_programs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("program.pkl");
    let program = proptest::collection::vec(opcode(), 0..64);
    fuzz("pickle programs", file!(), 512, program, |ops| {
        let mut bytes = vec![0x80, 2];
        bytes.extend(ops.concat());
        bytes.push(b'.');
        std::fs::write(&path, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Err(e) = kinema_torch::checkpoint::load_pickle(&path) {
            prop_assert!(e.to_string().contains("program.pkl"), "error does not name the file: {e}");
        }
        Ok(())
    });
}

#[test]
fn fuzz_safetensors_headers() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let good = dir.path().join("good.safetensors");
    let t = tch::Tensor::arange(12, (tch::Kind::Float, tch::Device::Cpu)).reshape([3, 4]);
    kinema_torch::checkpoint::save_safetensors(&good, &[("w".to_string(), t)], None)
        .unwrap_or_else(|e| panic!("seed: {e}"));
    let seed = std::fs::read(&good).unwrap_or_default();
    let path = dir.path().join("mutated.safetensors");
    // Structure-aware: a header with chosen dtype, shape and offsets, or the real file mutated.
    let dtype = prop_oneof![Just("F32"), Just("F16"), Just("BF16"), Just("I64"), Just("U8"), Just("BOOL"), Just("X9")];
    let header = (dtype, proptest::collection::vec(0u64..1 << 40, 0..4), 0u64..64, 0u64..1 << 34, 0usize..80);
    let case = prop_oneof![header.prop_map(Ok), mutations(8).prop_map(Err)];
    fuzz("safetensors", file!(), 256, case, |case| {
        let bytes = match case {
            Ok((dtype, shape, start, end, data)) => {
                let json = format!(r#"{{"w":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{start},{end}]}}}}"#);
                let mut b = (json.len() as u64).to_le_bytes().to_vec();
                b.extend(json.bytes());
                b.extend(std::iter::repeat_n(7u8, data));
                b
            }
            Err(edits) => mutate(&seed, &edits),
        };
        std::fs::write(&path, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        load_any(&path)
    });
}
