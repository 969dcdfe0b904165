//! Event files: exact protobuf bytes, TFRecord framing, round trips, flush policy, damage.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use kinema_logging::tensorboard::proto::{event, summary, Event, Summary};
use kinema_logging::tensorboard::record::{encode_record, masked_crc32c};
use kinema_logging::tensorboard::{read_events, scalars, texts, EventWriter, FlushPolicy, FILE_VERSION};
use kinema_logging::LoggingError;
use prost::Message;

fn event_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("events.out.tfevents.")))
        .collect();
    files.sort();
    files
}

#[test]
fn scalar_event_has_tensorflows_field_numbers() {
    let value =
        summary::Value { tag: "a".to_string(), metadata: None, value: Some(summary::value::Value::SimpleValue(2.0)) };
    let e = Event { wall_time: 1.5, step: 3, what: Some(event::What::Summary(Summary { value: vec![value] })) };
    let expected: Vec<u8> = [
        &[0x09][..], // field 1 (wall_time), fixed64
        &1.5f64.to_le_bytes(),
        &[0x10, 0x03],       // field 2 (step), varint 3
        &[0x2a, 0x0a],       // field 5 (summary), 10 bytes
        &[0x0a, 0x08],       // Summary field 1 (value), 8 bytes
        &[0x0a, 0x01, b'a'], // Value field 1 (tag) "a"
        &[0x15],             // Value field 2 (simple_value), fixed32
        &2.0f32.to_le_bytes(),
    ]
    .concat();
    assert_eq!(e.encode_to_vec(), expected);
    let version = Event { wall_time: 0.0, step: 0, what: Some(event::What::FileVersion(FILE_VERSION.to_string())) };
    let mut expected = vec![0x1a, 13];
    expected.extend_from_slice(b"brain.Event:2");
    assert_eq!(version.encode_to_vec(), expected);
}

#[test]
fn writer_round_trip_with_checksums() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = EventWriter::create(dir.path()).expect("create");
    let path = w.path().to_path_buf();
    let name = path.file_name().expect("name").to_string_lossy().into_owned();
    let host = gethostname_for_test();
    assert!(name.starts_with("events.out.tfevents."), "{name}");
    assert!(name.contains(&format!(".{host}.{}.", std::process::id())), "{name}");
    w.add_scalar("loss", 2.5, 20).expect("scalar");
    w.add_scalar("loss", 1.25, 40).expect("scalar");
    w.add_scalar("acc/top1", 0.8125, 1).expect("scalar");
    w.add_text("config/text_summary", "model = \"Recognizer2D\"\nlr = 5e-6", 0).expect("text");
    w.close().expect("close");

    let events = read_events(&path).expect("read");
    assert_eq!(events.len(), 5);
    assert_eq!(events[0].what, Some(event::What::FileVersion(FILE_VERSION.to_string())));
    assert!(events[0].wall_time > 1.6e9);
    let s: Vec<_> = scalars(&events).into_iter().map(|p| (p.tag, p.step, p.value)).collect();
    assert_eq!(
        s,
        [("loss".to_string(), 20, 2.5f32), ("loss".to_string(), 40, 1.25), ("acc/top1".to_string(), 1, 0.8125)]
    );
    let t = texts(&events);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].tag, "config/text_summary");
    assert_eq!(t[0].text, "model = \"Recognizer2D\"\nlr = 5e-6");
    // Every record is framed as TensorFlow defines it: check the first one byte by byte.
    let bytes = std::fs::read(&path).expect("bytes");
    let first = events[0].encode_to_vec();
    assert_eq!(&bytes[..first.len() + 16], encode_record(&first).as_slice());
    assert_eq!(&bytes[8..12], &masked_crc32c(&(first.len() as u64).to_le_bytes()).to_le_bytes());
}

fn gethostname_for_test() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

#[test]
fn every_event_policy_survives_a_kill_and_every_n_buffers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = EventWriter::create(dir.path()).expect("create");
    w.add_scalar("x", 1.0, 1).expect("scalar");
    let path = w.path().to_path_buf();
    // No Drop, no flush: what a SIGKILL leaves behind.
    std::mem::forget(w);
    assert_eq!(scalars(&read_events(&path).expect("read")).len(), 1);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = EventWriter::create_with_policy(dir.path(), FlushPolicy::EveryN(3)).expect("create");
    let path = w.path().to_path_buf();
    w.add_scalar("x", 1.0, 1).expect("scalar");
    w.add_scalar("x", 2.0, 2).expect("scalar");
    assert_eq!(read_events(&path).expect("read").len(), 1, "only the file_version event is flushed");
    w.add_scalar("x", 3.0, 3).expect("scalar");
    assert_eq!(scalars(&read_events(&path).expect("read")).len(), 3);
    w.add_scalar("x", 4.0, 4).expect("scalar");
    drop(w);
    assert_eq!(scalars(&read_events(&path).expect("read")).len(), 4, "drop flushes");
}

#[test]
fn two_writers_in_one_second_get_distinct_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = EventWriter::create(dir.path()).expect("a");
    let b = EventWriter::create(dir.path()).expect("b");
    assert_ne!(a.path(), b.path());
    assert_eq!(event_files(dir.path()).len(), 2);
}

#[test]
fn damaged_files_name_the_file_and_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = EventWriter::create(dir.path()).expect("create");
    w.add_scalar("loss", 1.0, 1).expect("scalar");
    let path = w.path().to_path_buf();
    drop(w);
    let bytes = std::fs::read(&path).expect("bytes");
    let first_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) + 16;

    // Cut inside the second record: a killed writer without flushing would leave this.
    std::fs::write(&path, &bytes[..bytes.len() - 3]).expect("write");
    match read_events(&path) {
        Err(LoggingError::TruncatedRecord { path: p, offset, .. }) => {
            assert_eq!(p, path);
            assert_eq!(offset, first_len);
        }
        other => panic!("expected a truncation error, got {other:?}"),
    }
    // Flip a data byte of the second record.
    let mut bad = bytes.clone();
    let at = first_len as usize + 14;
    bad[at] ^= 0x40;
    std::fs::write(&path, &bad).expect("write");
    let err = read_events(&path).expect_err("checksum");
    assert!(matches!(err, LoggingError::RecordChecksum { part: "data", .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()) && message.contains(&format!("byte {first_len}")),
        "{message}"
    );
}
