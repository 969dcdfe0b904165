//! Prompt construction: sources, file formats, order and errors.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};

use common::fixture;
use kinema_text::prompts::{read_label_file, read_template_file};
use kinema_text::{LabelSource, PromptSet, TemplateSource, TextError};

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write temp file");
    path
}

fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn relative_sources_are_found_beside_the_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "labels_beside.txt", "a\nb\n");
    let source = LabelSource::File(PathBuf::from("labels_beside.txt")).relative_to(Some(dir.path()));
    assert_eq!(source, LabelSource::File(dir.path().join("labels_beside.txt")));
    assert_eq!(source.load().expect("labels"), list(&["a", "b"]));
    let missing = LabelSource::File(PathBuf::from("nowhere.txt")).relative_to(Some(dir.path()));
    assert_eq!(missing, LabelSource::File(PathBuf::from("nowhere.txt")));
    let templates = TemplateSource::List(list(&["{}"]));
    assert_eq!(templates.relative_to(Some(dir.path())), templates);
}

#[test]
fn prompts_are_template_major_with_raw_class_names() {
    let templates = TemplateSource::List(list(&["a {}", "{}, b"]));
    let labels = LabelSource::List(list(&["Run", "jump (high)", "c"]));
    let prompts = PromptSet::from_sources(&templates, &labels).expect("prompts");
    assert_eq!(
        prompts.texts(),
        list(&["a Run", "a jump (high)", "a c", "Run, b", "jump (high), b", "c, b"]).as_slice()
    );
    assert_eq!(prompts.row(1, 2), Some(5));
    assert_eq!(prompts.row(2, 0), None);
    assert_eq!(prompts.row(0, 3), None);
}

#[test]
fn label_map_file_as_mmengine_reads_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "labels.txt", "\u{feff}abseiling\r\nair drumming \rarchery\n\n\n");
    assert_eq!(read_label_file(&path).expect("labels"), list(&["abseiling", "air drumming ", "archery"]));
    let k400 = read_label_file(&fixture("label_map_k400.txt")).expect("k400");
    assert_eq!(k400.len(), 400);
    assert_eq!(k400[0], "abseiling");
    assert_eq!(k400[399], "zumba");
}

#[test]
fn csv_label_map_with_id_name_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "kinetics_400_labels.csv",
        "id,name\n0,abseiling\n1,air drumming\n2,\"tying bow tie, \"\"neatly\"\"\"\n",
    );
    assert_eq!(read_label_file(&path).expect("csv"), list(&["abseiling", "air drumming", "tying bow tie, \"neatly\""]));

    let wrong_id = write(dir.path(), "bad_id.csv", "id,name\n0,a\n2,b\n");
    let msg = read_label_file(&wrong_id).expect_err("id gap").to_string();
    assert!(msg.contains("bad_id.csv") && msg.contains("line 3") && msg.contains("expected id 1"), "{msg}");

    let no_header = write(dir.path(), "no_header.csv", "0,a\n1,b\n");
    let msg = read_label_file(&no_header).expect_err("no header").to_string();
    assert!(msg.contains("no_header.csv") && msg.contains("'id,name'"), "{msg}");

    let bad_quote = write(dir.path(), "quote.csv", "id,name\n0,\"a\"b\"\n");
    let msg = read_label_file(&bad_quote).expect_err("bad quote").to_string();
    assert!(msg.contains("line 2") && msg.contains("quoted"), "{msg}");
}

#[test]
fn blank_and_missing_labels_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "gap.txt", "a\n\nc\n");
    match read_label_file(&path) {
        Err(TextError::EmptyLabel { index: 1, line: 2, origin }) => assert!(origin.ends_with("gap.txt")),
        other => panic!("expected an empty-label error, got {other:?}"),
    }
    let csv = write(dir.path(), "gap.csv", "id,name\n0,a\n1,  \n");
    assert!(matches!(read_label_file(&csv), Err(TextError::EmptyLabel { index: 1, line: 3, .. })));
    let empty = write(dir.path(), "empty.txt", "\n\n");
    let msg = read_label_file(&empty).expect_err("empty").to_string();
    assert!(msg.contains("label list") && msg.contains("empty.txt") && msg.contains("is empty"), "{msg}");
    assert!(matches!(LabelSource::List(vec![]).load(), Err(TextError::Empty { .. })));
    assert!(matches!(
        LabelSource::List(list(&["a", " "])).load(),
        Err(TextError::EmptyLabel { index: 1, line: 2, .. })
    ));
}

#[test]
fn unreadable_files_name_the_file() {
    let missing = PathBuf::from("/nonexistent/kinema/labels.txt");
    let msg = LabelSource::File(missing.clone()).load().expect_err("missing").to_string();
    assert_eq!(msg, "/nonexistent/kinema/labels.txt: does not exist");
    let msg = TemplateSource::File(missing).load().expect_err("missing").to_string();
    assert_eq!(msg, "/nonexistent/kinema/labels.txt: does not exist");
    let folder = tempfile::tempdir().expect("tempdir");
    let msg = LabelSource::File(folder.path().to_path_buf()).load().expect_err("folder").to_string();
    assert!(msg.ends_with(": is a folder, not a label map file"), "{msg}");
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("latin1.txt");
    std::fs::write(&binary, b"caf\xe9\n").expect("write");
    let msg = read_label_file(&binary).expect_err("not utf-8").to_string();
    assert!(msg.contains("latin1.txt") && msg.contains("UTF-8"), "{msg}");
}

#[test]
fn template_files_and_bad_templates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write(dir.path(), "t.txt", "The woman is {}\r\n{} in a video\n");
    let templates = read_template_file(&good).expect("templates");
    assert_eq!(templates.iter().map(|t| t.fill("x")).collect::<Vec<_>>(), list(&["The woman is x", "x in a video"]));

    let bad = write(dir.path(), "bad.txt", "The woman is {}\nno placeholder\n");
    match read_template_file(&bad) {
        Err(err @ TextError::Template { index: 1, .. }) => {
            let msg = err.to_string();
            assert!(msg.contains("bad.txt") && msg.contains("no placeholder") && msg.contains("'{}'"), "{msg}");
        }
        other => panic!("expected a template error, got {other:?}"),
    }
    let empty = write(dir.path(), "empty.txt", "");
    assert!(matches!(read_template_file(&empty), Err(TextError::Empty { what: "template list", .. })));
    assert!(matches!(TemplateSource::List(vec![]).load(), Err(TextError::Empty { .. })));
}

#[test]
fn too_long_prompt_names_class_and_template() {
    let long_name = "very ".repeat(80);
    let labels = LabelSource::List(vec!["ok".into(), long_name.clone()]);
    let templates = TemplateSource::List(list(&["{}", "A video of {}"]));
    let prompts = PromptSet::from_sources(&templates, &labels).expect("prompts");
    let tokenizer = kinema_text::ClipTokenizer::shared().expect("tokenizer");
    match prompts.tokenize(&tokenizer) {
        Err(TextError::PromptTooLong { class_index: 1, label, template, num_tokens: 82, context_length: 77 }) => {
            assert_eq!((label.as_str(), template.as_str()), (long_name.as_str(), "{}"));
        }
        other => panic!("expected PromptTooLong, got {other:?}"),
    }
}

#[test]
fn sources_deserialize_from_config_values() {
    let file: LabelSource = serde_json::from_str("\"configs/label_map_k400.txt\"").expect("path");
    assert_eq!(file, LabelSource::File("configs/label_map_k400.txt".into()));
    let inline: LabelSource = serde_json::from_str("[\"a\", \"b\"]").expect("list");
    assert_eq!(inline, LabelSource::List(list(&["a", "b"])));
    let templates: TemplateSource = serde_json::from_str("[\"a {}\"]").expect("list");
    assert_eq!(templates, TemplateSource::List(list(&["a {}"])));
    let err = serde_json::from_str::<LabelSource>("42").expect_err("number").to_string();
    assert!(err.contains("a label-map file path or a list of class names"), "{err}");
    let err = serde_json::from_str::<TemplateSource>("[1]").expect_err("number in list").to_string();
    assert!(err.contains("expected a string"), "{err}");
    let sixteen = TemplateSource::File(fixture("templates_16.txt")).load().expect("16 templates");
    assert_eq!(sixteen.len(), 16);
    assert_eq!(sixteen[15].fill("x"), "The woman is x");
}
