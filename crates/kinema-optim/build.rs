fn main() {
    kinema_build::link_libtorch();
}
