//! `tools/print_config`: `kinema_cli::print_config` with the in-tree projects linked.

fn main() -> std::process::ExitCode {
    kinema_tools::link_projects();
    kinema_cli::print_config::main()
}
