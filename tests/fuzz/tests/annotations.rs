//! Fuzzing annotation lists, label maps and prompt templates: lines from a grammar of
//! real and broken fields, and arbitrary (also non-UTF-8) bytes.

use std::path::Path;

use kinema_data::dataset::annotations::{parse_rawframe_list, parse_video_list, read_label_map};
use kinema_fuzz::fuzz;
use kinema_text::{LabelSource, PromptSet, TemplateSource};
use proptest::prelude::*;

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a.mp4".to_string()),
        Just("dir/b c.mp4".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        (0i64..10).prop_map(|n| n.to_string()),
        Just("-1".to_string()),
        Just("99999999999999999999999".to_string()),
        Just("{}".to_string()),
        Just("a photo of {}.".to_string()),
        Just("{0}{1}".to_string()),
        Just("id,name".to_string()),
        "\\PC{0,12}",
    ]
}

fn document() -> impl Strategy<Value = Vec<u8>> {
    let line = proptest::collection::vec(field(), 0..5).prop_map(|f| f.join(" "));
    let seps = prop_oneof![Just("\n"), Just("\r\n"), Just("\r"), Just("\t")];
    prop_oneof![
        4 => (proptest::collection::vec(line, 0..12), seps).prop_map(|(lines, sep)| lines.join(sep).into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..400),
    ]
}

fn names_file(path: &Path, text: &str) -> bool {
    text.contains(&path.display().to_string())
}

#[test]
fn fuzz_annotation_lists_and_label_maps() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("list.txt");
    fuzz(
        "annotation lists and label maps",
        file!(),
        512,
        (document(), any::<bool>(), any::<bool>()),
        |(bytes, a, b)| {
            std::fs::write(&path, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let lines = bytes.split(|&c| c == b'\n' || c == b'\r').count();
            match parse_video_list(&path, " ", a) {
                Ok(records) => prop_assert!(records.len() <= lines),
                Err(e) => prop_assert!(names_file(&path, &e.to_string()), "{e}"),
            }
            match parse_rawframe_list(&path, a, b) {
                Ok(records) => prop_assert!(records.len() <= lines),
                Err(e) => prop_assert!(names_file(&path, &e.to_string()), "{e}"),
            }
            if let Err(e) = read_label_map(&path) {
                prop_assert!(names_file(&path, &e.to_string()), "{e}");
            }
            let labels = LabelSource::File(path.clone());
            let templates = TemplateSource::File(path.clone());
            let _ = PromptSet::from_sources(&templates, &labels);
            let _ = PromptSet::from_sources(&TemplateSource::List(vec!["a video of {}.".into()]), &labels);
            Ok(())
        },
    );
}
