//! The project boundary: nothing under `crates/` names a project (in code, docs or
//! manifests, case-insensitively), no crate under `crates/` depends on one, and under
//! `tools/` only `Cargo.toml`, the one list that links the in-tree projects into the
//! stock binaries, names them.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
        .join("..")
}

/// The in-tree projects: the folders under `projects/`.
fn projects() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("projects"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every text file under `dir` (sources, manifests, docs, scripts), skipping build output.
fn text_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                text_files(&path, out);
            }
        } else if ["rs", "toml", "md", "sh", "txt", "py"].iter().any(|e| name.ends_with(&format!(".{e}")))
            || !name.contains('.')
        {
            out.push(path);
        }
    }
}

/// `(file, line number, line)` of every line of the files under `dir` naming a project.
fn mentions(dir: &Path, projects: &[String]) -> Vec<(PathBuf, usize, String)> {
    let mut files = Vec::new();
    text_files(dir, &mut files);
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        for (i, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            if projects.iter().any(|p| lower.contains(&p.to_lowercase())) {
                found.push((file.clone(), i + 1, line.trim().to_string()));
            }
        }
    }
    found
}

#[test]
fn there_are_projects_to_check() {
    assert!(!projects().is_empty(), "no project under projects/: the boundary checks would check nothing");
}

#[test]
fn nothing_under_crates_names_a_project() {
    let found = mentions(&repo().join("crates"), &projects());
    assert!(found.is_empty(), "crates/ names a project (move the code into the project): {found:#?}");
}

#[test]
fn under_tools_only_the_manifest_names_projects() {
    let found: Vec<_> = mentions(&repo().join("tools"), &projects())
        .into_iter()
        .filter(|(file, _, _)| file != &repo().join("tools/Cargo.toml"))
        .collect();
    assert!(found.is_empty(), "tools/ names a project outside tools/Cargo.toml: {found:#?}");
    let manifest = std::fs::read_to_string(repo().join("tools/Cargo.toml")).unwrap();
    let linked = kinema_build_path_deps(&manifest);
    assert_eq!(linked, projects(), "tools/Cargo.toml must link every in-tree project");
}

/// The dependencies of a manifest taken from `../projects/` (the same rule as
/// `kinema_build::path_dependencies`).
fn kinema_build_path_deps(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
        } else if in_deps && line.contains("path = \"../projects/") {
            names.push(line.split('=').next().unwrap().trim().to_string());
        }
    }
    names.sort();
    names
}

#[test]
fn no_crate_under_crates_depends_on_a_project() {
    let projects = projects();
    for entry in std::fs::read_dir(repo().join("crates")).unwrap().filter_map(|e| e.ok()) {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let table: toml::Table = text.parse().unwrap();
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            if let Some(deps) = table.get(section).and_then(|d| d.as_table()) {
                for name in deps.keys() {
                    assert!(!projects.contains(name), "{} depends on the project {name}", manifest.display());
                }
            }
        }
    }
}

#[test]
fn the_stock_tools_link_the_projects_listed_in_the_manifest() {
    assert_eq!(kinema_tools::LINKED_CRATES.len(), projects().len());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_list_registry")).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    for project in kinema_tools::LINKED_CRATES {
        let module = project.replace('-', "_");
        assert!(
            all.iter().any(|c| c["module"].as_str().is_some_and(|m| m.starts_with(&module))),
            "no component of {project} is registered in the stock list_registry"
        );
    }
}
