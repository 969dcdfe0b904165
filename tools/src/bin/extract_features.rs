//! `tools/extract_features`: `kinema_cli::extract_features` with the in-tree projects linked.

fn main() -> std::process::ExitCode {
    kinema_tools::link_projects();
    kinema_cli::extract_features::main()
}
