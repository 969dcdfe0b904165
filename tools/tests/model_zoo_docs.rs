//! docs/model_zoo.md lists exactly the model-zoo names every linked crate registers, each
//! with its URL.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[test]
fn the_docs_table_is_the_registered_zoo() {
    kinema_tools::link_projects(); // every project's names are registered
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/model_zoo.md");
    let text = std::fs::read_to_string(&docs).unwrap();
    let mut rows: Vec<(String, String)> = text
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].trim_matches('`').to_string(), cells[cells.len() - 1].to_string())
        })
        .collect();
    rows.sort();
    let zoo: Vec<(String, String)> =
        kinema_hub::zoo::entries().iter().map(|e| (e.name.to_string(), e.url.to_string())).collect();
    assert!(zoo.len() >= 19, "{zoo:?}");
    assert_eq!(rows, zoo);
}
