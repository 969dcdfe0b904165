//! Checks the libtorch version and gives this crate's tests an rpath to libtorch.

fn main() {
    kinema_build::link_libtorch();
}
