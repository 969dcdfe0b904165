//! Arguments every tool shares: `--cfg-options`, the launcher and the device.

use std::path::Path;

use kinema_core::Config;

/// The `--cfg-options key=value ...` argument of MMEngine's tools.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CfgOptions {
    /// Override config values: `key=value` pairs, dotted keys, numeric parts index lists
    /// (`train_pipeline.1.num_clips=16`); values parse as int, float, bool, None, lists
    /// `[a,b]`/`a,b`, tuples `(a,b)`, else strings.
    #[arg(long = "cfg-options", value_name = "KEY=VALUE", num_args = 1.., action = clap::ArgAction::Append)]
    pub cfg_options: Vec<String>,
}

impl CfgOptions {
    /// Loads `path`, applies the overrides and resolves `${}` references.
    pub fn load(&self, path: &Path) -> Result<Config, kinema_core::ConfigError> {
        Config::load(path, &self.cfg_options)
    }
}

/// How the processes of a run were started (`--launcher`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Launcher {
    /// One process.
    None,
    /// `torchrun` / `tools/launch` / `tools/dist_train.sh`: RANK, LOCAL_RANK, WORLD_SIZE,
    /// MASTER_ADDR, MASTER_PORT.
    Pytorch,
    /// `srun`: SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NODELIST.
    Slurm,
}

/// The process arguments `tools/train` and `tools/test` share: `--launcher`, `--device`
/// and torch.distributed.launch's `--local-rank`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProcessArgs {
    /// How the processes were started.
    #[arg(long, value_enum, default_value = "none")]
    pub launcher: Launcher,
    /// `cpu`, `cuda`, `cuda:N` or `auto` (default: CUDA when available).
    #[arg(long)]
    pub device: Option<String>,
    /// Accepted for torch.distributed.launch compatibility (sets LOCAL_RANK).
    #[arg(long = "local-rank", alias = "local_rank", hide = true)]
    pub local_rank: Option<usize>,
}

impl ProcessArgs {
    /// The rank, world size and local rank the launcher set up.
    pub fn dist_info(&self) -> anyhow::Result<kinema_engine::runner::DistInfo> {
        launcher_dist_info(self.launcher, self.local_rank)
    }
}

/// The rank, world size and local rank a launcher set up (from the environment).
pub fn launcher_dist_info(
    launcher: Launcher,
    local_rank_flag: Option<usize>,
) -> anyhow::Result<kinema_engine::runner::DistInfo> {
    let env = kinema_engine::dist::LaunchEnv::from_process_env();
    let info = match launcher {
        Launcher::None => kinema_engine::runner::DistInfo::default(),
        Launcher::Pytorch => env.pytorch(local_rank_flag)?,
        Launcher::Slurm => env.slurm()?,
    };
    Ok(info)
}
