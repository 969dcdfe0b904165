//! Build-script helpers shared by every Kinema package that links libtorch.
//!
//! Call [`link_libtorch`] from the `build.rs` of each package that builds a binary or a
//! test and depends (directly or not) on `tch`. It
//! * checks that the libtorch found is exactly the version `tch` 0.26 expects (2.13.0),
//! * gives every binary and test of the package an rpath to libtorch's `lib/` folder, so
//!   nothing needs `LD_LIBRARY_PATH`,
//! * keeps `libtorch_cuda.so` linked (`--no-as-needed`) when the full CUDA wheel is
//!   installed, so CUDA does not silently disappear.

use std::path::{Path, PathBuf};

/// The libtorch version `tch` 0.26 is built against.
pub const REQUIRED_TORCH_VERSION: &str = "2.13.0";

/// What to tell a user whose libtorch is missing or wrong.
pub const SETUP_HINT: &str = "run `make setup` (or `tools/setup.sh`) in the Kinema checkout: it installs \
torch==2.13.0 into ~/.cache/kinema/torch-2.13.0 and writes .cargo/config.toml pointing LIBTORCH at it";

/// Locates libtorch from `LIBTORCH` (set by `.cargo/config.toml`), falling back to the
/// `DEP_TCH_LIBTORCH_LIB` variable that torch-sys exports to direct dependents.
pub fn libtorch_dir() -> Result<PathBuf, String> {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Ok(dir) = std::env::var("LIBTORCH") {
        return Ok(PathBuf::from(dir));
    }
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        if let Some(parent) = Path::new(&lib).parent() {
            return Ok(parent.to_path_buf());
        }
    }
    Err(format!("LIBTORCH is not set; {SETUP_HINT}"))
}

/// Reads the version of the libtorch at `dir`: `version.py` for a PyPI wheel,
/// `build-version` for a standalone libtorch archive.
pub fn installed_version(dir: &Path) -> Result<String, String> {
    let version_py = dir.join("version.py");
    if let Ok(text) = std::fs::read_to_string(&version_py) {
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("__version__") {
                let value = rest.trim_start_matches([' ', '=', ':']).trim();
                let value = value.trim_matches(|c| c == '\'' || c == '"');
                return Ok(value.to_string());
            }
        }
        return Err(format!("{} has no __version__ line", version_py.display()));
    }
    let build_version = dir.join("build-version");
    std::fs::read_to_string(&build_version).map(|s| s.trim().to_string()).map_err(|_| {
        format!(
            "cannot tell the libtorch version at {}: neither version.py nor build-version exists; {SETUP_HINT}",
            dir.display()
        )
    })
}

/// Fails unless `version` is 2.13.0 (any local suffix such as `+cu130` or `+cpu`).
pub fn check_version(version: &str) -> Result<(), String> {
    let base = version.split('+').next().unwrap_or(version);
    if base == REQUIRED_TORCH_VERSION {
        Ok(())
    } else {
        Err(format!("libtorch {version} found, but tch 0.26 needs exactly {REQUIRED_TORCH_VERSION}; {SETUP_HINT}"))
    }
}

/// True when the PyPI wheel's CUDA libraries are installed beside torch
/// (`site-packages/nvidia/cublas`), i.e. `libtorch_cuda.so` can actually be loaded.
pub fn has_cuda_runtime(libtorch: &Path) -> bool {
    libtorch.parent().map(|site| site.join("nvidia").join("cublas").is_dir()).unwrap_or(false)
}

/// Everything a package that links libtorch needs in its `build.rs`: version check,
/// rpath, and `--no-as-needed` CUDA linking when CUDA is installed. Exits the build
/// with a clear message when libtorch is missing or of the wrong version.
pub fn link_libtorch() {
    let dir = match libtorch_dir() {
        Ok(dir) => dir,
        Err(msg) => fail(&msg),
    };
    match installed_version(&dir).and_then(|v| check_version(&v)) {
        Ok(()) => {}
        Err(msg) => fail(&msg),
    }
    let lib = dir.join("lib");
    println!("cargo:rerun-if-changed={}", dir.join("version.py").display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if has_cuda_runtime(&dir) {
        println!("cargo:rustc-link-search=native={}", lib.display());
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,-ltorch,--as-needed");
    }
}

/// The crates a manifest's `[dependencies]` section takes from a folder, one per line as
/// `name = { path = "<folder>/..." }`: the names, in file order.
pub fn path_dependencies(manifest: &str, folder: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if !in_deps || line.starts_with('#') {
            continue;
        }
        let Some((name, spec)) = line.split_once('=') else { continue };
        let wanted = format!("path = \"{}/", folder.trim_end_matches('/'));
        if spec.contains(&wanted) {
            names.push(name.trim().to_string());
        }
    }
    names
}

/// Writes `$OUT_DIR/linked_crates.rs` naming every dependency of this package that lives
/// under `folder` (see [`path_dependencies`]): a `use crate_name as _;` line for each, so
/// the linker keeps their registered components, and `LINKED_CRATES`, their names. The
/// package's `Cargo.toml` is then the one list of linked crates.
pub fn link_path_dependencies(folder: &str) {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| fail("CARGO_MANIFEST_DIR is not set"));
    let manifest_path = Path::new(&dir).join("Cargo.toml");
    println!("cargo:rerun-if-changed={}", manifest_path.display());
    let manifest = std::fs::read_to_string(&manifest_path)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", manifest_path.display())));
    let names = path_dependencies(&manifest, folder);
    let mut code =
        String::from("// Written by kinema-build from Cargo.toml: the crates linked for their registrations.\n");
    for name in &names {
        code.push_str(&format!("use {} as _;\n", name.replace('-', "_")));
    }
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    code.push_str(&format!(
        "/// The linked crates, as `Cargo.toml` names them.\npub const LINKED_CRATES: &[&str] = &[{}];\n",
        quoted.join(", ")
    ));
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| fail("OUT_DIR is not set"));
    let path = Path::new(&out).join("linked_crates.rs");
    std::fs::write(&path, code).unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", path.display())));
}

fn fail(msg: &str) -> ! {
    println!("cargo:warning={msg}");
    eprintln!("error: {msg}");
    std::process::exit(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_local_version_suffixes() {
        assert!(check_version("2.13.0+cu130").is_ok());
        assert!(check_version("2.13.0").is_ok());
        let err = check_version("2.14.0+cpu").unwrap_err();
        assert!(err.contains("needs exactly 2.13.0"), "{err}");
    }

    #[test]
    fn finds_path_dependencies_of_a_folder() {
        let manifest = "[package]\nname = \"x\"\n\n[dependencies]\nkinema-core.workspace = true\n# note\nmy-proj = { path = \"../projects/my-proj\" }\nother = { path = \"../crates/other\" }\n\n[dev-dependencies]\nlate = { path = \"../projects/late\" }\n";
        assert_eq!(path_dependencies(manifest, "../projects"), vec!["my-proj".to_string()]);
    }

    #[test]
    fn reads_wheel_version_file() {
        let dir = std::env::temp_dir().join(format!("kinema-build-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("version.py"), "__version__ = '2.13.0+cu130'\ndebug = False\n").unwrap();
        assert_eq!(installed_version(&dir).unwrap(), "2.13.0+cu130");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
