//! `tools/check_videos`: `kinema_cli::check_videos` with the in-tree projects linked.

fn main() -> std::process::ExitCode {
    kinema_tools::link_projects();
    kinema_cli::check_videos::main()
}
