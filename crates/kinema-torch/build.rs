//! Checks the libtorch version, gives this crate's tests an rpath to libtorch, and
//! compiles the C++ bridge (`cpp/bridge.cpp`: c10d process groups and autocast) against
//! libtorch's headers. NCCL support is compiled in when the CUDA wheel and NCCL headers
//! are installed (or `KINEMA_WITH_NCCL=1`).

use std::path::{Path, PathBuf};

fn main() {
    kinema_build::link_libtorch();
    println!("cargo:rerun-if-changed=cpp/bridge.cpp");
    println!("cargo:rerun-if-env-changed=KINEMA_WITH_NCCL");
    let libtorch = match kinema_build::libtorch_dir() {
        Ok(dir) => dir,
        Err(msg) => panic!("{msg}"),
    };
    let include = libtorch.join("include");
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .file("cpp/bridge.cpp")
        .include(&include)
        .include(include.join("torch/csrc/api/include"))
        .define("USE_C10D_GLOO", None)
        .define("_GLIBCXX_USE_CXX11_ABI", "1")
        .flag("-std=c++17")
        .flag_if_supported("-Wno-unused-parameter")
        .warnings(false);
    if let Some(dirs) = nccl_include_dirs(&libtorch) {
        build.define("KINEMA_WITH_NCCL", None).define("USE_C10D_NCCL", None).define("USE_CUDA", None);
        for d in dirs {
            build.include(d);
        }
        println!("cargo:rustc-link-search=native={}", libtorch.join("lib").display());
        println!("cargo:rustc-link-lib=dylib=c10_cuda");
        println!("cargo:warning=kinema-torch: building the c10d bridge with NCCL");
    }
    build.compile("kinema_bridge");
}

/// The CUDA/NCCL header folders of the PyPI wheels, when NCCL should be compiled in.
fn nccl_include_dirs(libtorch: &Path) -> Option<Vec<PathBuf>> {
    let forced = std::env::var("KINEMA_WITH_NCCL").map(|v| v == "1").unwrap_or(false);
    if !forced && !kinema_build::has_cuda_runtime(libtorch) {
        return None;
    }
    let nvidia = libtorch.parent()?.join("nvidia");
    // The CUDA runtime, CRT and CCCL wheels all unpack into nvidia/cu13/include (CCCL in
    // its cccl/ subfolder); NCCL's headers are in nvidia/nccl/include.
    let candidates = ["cu13/include", "cu13/include/cccl", "nccl/include"];
    let dirs: Vec<PathBuf> = candidates.iter().map(|c| nvidia.join(c)).filter(|d| d.is_dir()).collect();
    let has_nccl = dirs.iter().any(|d| d.join("nccl.h").is_file());
    if has_nccl {
        Some(dirs)
    } else {
        if forced {
            println!("cargo:warning=KINEMA_WITH_NCCL=1 but no nccl.h under {}", nvidia.display());
        }
        None
    }
}
