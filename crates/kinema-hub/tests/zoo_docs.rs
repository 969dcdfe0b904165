//! docs/model_zoo.md lists exactly the names and URLs of `kinema_hub::zoo::ZOO`, in order.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[test]
fn the_docs_table_is_the_zoo() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/model_zoo.md");
    let text = std::fs::read_to_string(&docs).unwrap();
    let rows: Vec<(String, String)> = text
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].trim_matches('`').to_string(), cells[cells.len() - 1].to_string())
        })
        .collect();
    let zoo: Vec<(String, String)> =
        kinema_hub::zoo::ZOO.iter().map(|e| (e.name.to_string(), e.url.to_string())).collect();
    assert_eq!(rows, zoo);
}
