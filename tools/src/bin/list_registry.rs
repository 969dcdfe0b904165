//! `tools/list_registry`: `kinema_cli::list_registry` with the in-tree projects linked.

fn main() -> std::process::ExitCode {
    kinema_tools::link_projects();
    kinema_cli::list_registry::main()
}
