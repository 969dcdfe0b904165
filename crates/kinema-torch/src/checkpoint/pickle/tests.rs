//! Hand-made pickles for the opcodes and attacks that real checkpoints rarely show.
#![allow(clippy::unwrap_used)]

use tch::Tensor;

use super::object::TensorSpec;
use super::{unpickle, PickleError};
use crate::checkpoint::value::PyValue;

fn read(data: &[u8]) -> Result<PyValue, PickleError> {
    let mut no_tensors =
        |_: &TensorSpec| -> Result<Tensor, PickleError> { Err(PickleError::at(0, "no storages here")) };
    unpickle(data, &mut no_tensors)
}

#[test]
fn protocol_0_text_opcodes() {
    let v = read(b"(lp0\nI1\naI01\naF1.5\naS'a\\'b'\naVcaf\\u00e9\naL12345678901L\naNa.").unwrap();
    let items = v.as_slice().unwrap();
    assert_eq!(items[0].as_i64(), Some(1));
    assert!(matches!(items[1], PyValue::Bool(true)));
    assert_eq!(items[2].as_f64(), Some(1.5));
    assert_eq!(items[3].as_str(), Some("a'b"));
    assert_eq!(items[4].as_str(), Some("café"));
    assert_eq!(items[5].as_i64(), Some(12_345_678_901));
    assert!(matches!(items[6], PyValue::None));
}

#[test]
fn long_integers_keep_sign_and_size() {
    // LONG1 of -2 (one byte 0xfe) and of 2**64 + 5 (9 bytes).
    let v = read(b"\x80\x02(\x8a\x01\xfe\x8a\x09\x05\x00\x00\x00\x00\x00\x00\x00\x01t.").unwrap();
    let items = v.as_slice().unwrap();
    assert_eq!(items[0].as_i64(), Some(-2));
    match &items[1] {
        PyValue::BigInt(b) => assert_eq!(b, &[5, 0, 0, 0, 0, 0, 0, 0, 1]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_globals_are_recorded_never_called() {
    // What `pickle.dumps` of `os.system('echo hi')` looks like: kept as inert data.
    let v = read(b"cos\nsystem\n(S'echo hi'\ntR.").unwrap();
    let PyValue::Object(o) = v else { panic!("{v:?}") };
    assert_eq!(o.class_path(), "os.system");
    assert_eq!(o.args[0].as_str(), Some("echo hi"));
    // And builtins.getattr / eval are just names too.
    let v = read(b"\x80\x02cbuiltins\neval\nX\x03\x00\x00\x001+1\x85R.").unwrap();
    assert!(matches!(v, PyValue::Object(ref o) if o.class_path() == "builtins.eval"));
}

#[test]
fn old_numpy_module_name_and_scalars() {
    // numpy 1.x: numpy.core.multiarray.scalar(dtype('f8'), bytes) with the dtype's BUILD state.
    let mut p = b"\x80\x02cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R".to_vec();
    p.extend_from_slice(b"(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb");
    p.extend_from_slice(b"C\x08");
    p.extend_from_slice(&2.5f64.to_le_bytes());
    p.extend_from_slice(b"\x86R.");
    let v = read(&p).unwrap();
    assert_eq!(v.as_f64(), Some(2.5));
    assert!(matches!(v, PyValue::Array(ref a) if a.dtype == "<f8"));
}

#[test]
fn repeated_dict_keys_keep_the_last_value_in_first_place() {
    let v = read(b"\x80\x02}(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00bK\x02X\x01\x00\x00\x00aK\x03u.").unwrap();
    let d = v.as_dict().unwrap();
    assert_eq!(d.str_keys(), vec!["a", "b"]);
    assert_eq!(d.get("a").and_then(PyValue::as_i64), Some(3));
}

#[test]
fn exponential_sharing_is_refused() {
    // Each list holds the previous one twice: 2^40 nodes from a few hundred bytes.
    let mut p = b"\x80\x02]q\x00".to_vec();
    for i in 1u8..=40 {
        p.extend_from_slice(&[b'(', b'h', i - 1, b'h', i - 1, b'l', b'q', i]);
    }
    p.push(b'.');
    let err = read(&p).unwrap_err();
    assert!(err.message.contains("expands to far more data"), "{err}");
}

#[test]
fn cycles_are_refused() {
    let err = read(b"\x80\x02]q\x00h\x00a.").unwrap_err();
    assert!(err.message.contains("nested too deeply"), "{err}");
}

#[test]
fn malformed_pickles_report_offsets() {
    let err = read(b"\x80\x02h\x07.").unwrap_err();
    assert_eq!((err.offset, err.message.as_str()), (2, "memo key 7 read before it was written"));
    let err = read(b"\x80\x02X\xff\x00\x00\x00ab").unwrap_err();
    assert!(err.message.contains("truncated pickle"), "{err}");
    let err = read(b"\x80\x02a.").unwrap_err();
    assert!(err.message.contains("stack underflow"), "{err}");
    let err = read(b"\x80\x02K\x01\x82\x01.").unwrap_err();
    assert_eq!(err.offset, 4);
    assert!(err.message.contains("EXT1"), "{err}");
    assert!(read(b"\x80\x06.").unwrap_err().message.contains("protocol 6"));
    assert!(read(b"").unwrap_err().message.contains("truncated"));
}

#[test]
fn persistent_ids_other_than_storages_are_refused() {
    let err = read(b"\x80\x02X\x03\x00\x00\x00abcQ.").unwrap_err();
    assert!(err.message.contains("unsupported persistent id"), "{err}");
}

/// A 2 MB pickle of lists nested 1,000,000 deep (and the same depth left on the stack
/// when the pickle is cut short): an error, never a stack overflow while building,
/// converting or freeing the values.
#[test]
fn a_million_nested_lists_are_refused_without_overflow() {
    let n = 1_000_000;
    let mut p = b"\x80\x02".to_vec();
    p.extend(std::iter::repeat_n(b']', n));
    p.extend(std::iter::repeat_n(b'a', n - 1));
    p.push(b'.');
    let err = read(&p).unwrap_err();
    assert!(err.message.contains("nested too deeply"), "{err}");
    // Truncated after the appends: the nested value is dropped from the machine's stack.
    let err = read(&p[..p.len() - 1]).unwrap_err();
    assert!(err.message.contains("truncated"), "{err}");
}
