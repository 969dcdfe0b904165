//! `tools/train`: `kinema_cli::train` with the in-tree projects linked.

fn main() -> std::process::ExitCode {
    kinema_tools::link_projects();
    kinema_cli::train::main()
}
