//! Gives this package's binaries and tests an rpath to libtorch (and checks its version).

fn main() {
    kinema_build::link_libtorch();
}
