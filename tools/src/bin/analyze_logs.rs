//! `tools/analyze_logs`: `kinema_cli::analyze_logs` with the in-tree projects linked.

fn main() -> std::process::ExitCode {
    kinema_tools::link_projects();
    kinema_cli::analyze_logs::main()
}
