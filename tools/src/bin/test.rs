//! `tools/test`: `kinema_cli::test` with the in-tree projects linked.

fn main() -> std::process::ExitCode {
    kinema_tools::link_projects();
    kinema_cli::test::main()
}
