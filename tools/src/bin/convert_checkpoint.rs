//! `tools/convert_checkpoint`: `kinema_cli::convert_checkpoint` with the in-tree projects linked.

fn main() -> std::process::ExitCode {
    kinema_tools::link_projects();
    kinema_cli::convert_checkpoint::main()
}
