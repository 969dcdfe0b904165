//! `tools/make_synthetic_dataset`: `kinema_cli::make_synthetic_dataset` with the in-tree projects linked.

fn main() -> std::process::ExitCode {
    kinema_tools::link_projects();
    kinema_cli::make_synthetic_dataset::main()
}
