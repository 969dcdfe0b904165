//! `test` over Kinema's components and this crate's.

fn main() -> std::process::ExitCode {
    kinema_plugin_example::link();
    kinema_cli::test::main()
}
