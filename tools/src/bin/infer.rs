//! `tools/infer`: `kinema_cli::infer` with the in-tree projects linked.

fn main() -> std::process::ExitCode {
    kinema_tools::link_projects();
    kinema_cli::infer::main()
}
