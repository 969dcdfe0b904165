//! The environment header every run starts its log with (MMEngine's `_log_env`): what
//! ran where, so a log alone tells how to reproduce a result.

use super::{RunOptions, Runner};

const DASH_LINE: &str = "------------------------------------------------------------";

/// The libtorch version the binary runs with (`torch/version.py` of the linked wheel is
/// not at hand at run time; tch pins 2.13).
pub const LIBTORCH_VERSION: &str = "2.13.0";

/// `key: value` lines of one block of the header.
pub type HeaderLines = Vec<(String, String)>;

/// The lines of the "System environment" and "Runtime environment" blocks.
pub fn environment(runner: &Runner, options: &RunOptions) -> (HeaderLines, HeaderLines) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let system = vec![
        ("sys.platform".into(), format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)),
        ("Kinema".into(), env!("CARGO_PKG_VERSION").into()),
        ("libtorch".into(), LIBTORCH_VERSION.into()),
        ("CUDA available".into(), tch::Cuda::is_available().to_string()),
        ("GPU count".into(), tch::Cuda::device_count().to_string()),
        ("FFmpeg".into(), kinema_video::ffmpeg_version()),
        ("CPU cores".into(), cores.to_string()),
        ("libtorch threads".into(), tch::get_num_threads().to_string()),
    ];
    let amp = runner.cfg.get("optim_wrapper.type").and_then(|v| v.as_str()) == Some("AmpOptimWrapper");
    let launcher = match (runner.env.world_size, &options.dist.master_addr) {
        (1, _) => "none".to_string(),
        (_, addr) => format!("c10d at {addr}:{}", options.dist.master_port),
    };
    let runtime = vec![
        ("device".into(), format!("{:?}", runner.env.device)),
        ("seed".into(), runner.env.seed.to_string()),
        ("deterministic".into(), options.deterministic.to_string()),
        ("AMP".into(), amp.to_string()),
        ("Distributed launcher".into(), launcher),
        ("Distributed training".into(), (runner.env.world_size > 1).to_string()),
        ("world size".into(), runner.env.world_size.to_string()),
        ("rank".into(), runner.env.rank.to_string()),
        ("work dir".into(), runner.env.work_dir.display().to_string()),
    ];
    (system, runtime)
}

/// Logs the header (MMEngine's layout: a dashed block of `key: value` lines).
pub fn log_environment(runner: &Runner, options: &RunOptions) {
    let (system, runtime) = environment(runner, options);
    let block = |lines: &HeaderLines| lines.iter().map(|(k, v)| format!("\n    {k}: {v}")).collect::<String>();
    log::info!(
        "\n{DASH_LINE}\nSystem environment:{}\n\nRuntime environment:{}\n{DASH_LINE}",
        block(&system),
        block(&runtime)
    );
}
