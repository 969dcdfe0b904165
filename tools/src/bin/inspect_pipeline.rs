//! `tools/inspect_pipeline`: `kinema_cli::inspect_pipeline` with the in-tree projects linked.

fn main() -> std::process::ExitCode {
    kinema_tools::link_projects();
    kinema_cli::inspect_pipeline::main()
}
