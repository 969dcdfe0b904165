//! Links libtorch (version check, rpath) for the tests of this package.

fn main() {
    kinema_build::link_libtorch();
}
