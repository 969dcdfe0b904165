//! Gives this package's binaries and tests an rpath to libtorch (and checks its version),
//! and links every in-tree project listed in `Cargo.toml` (see `src/lib.rs`).

fn main() {
    kinema_build::link_libtorch();
    kinema_build::link_path_dependencies("../projects");
}
