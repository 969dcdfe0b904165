//! Rank, world size and rendezvous address from the environment, with MMEngine's
//! conventions for `--launcher pytorch` and `--launcher slurm`.

use std::collections::HashMap;

use super::hostlist::expand_hostlist;
use crate::runner::DistInfo;
use crate::EngineError;

/// The default rendezvous port (MMEngine's and PyTorch's).
pub const DEFAULT_MASTER_PORT: u16 = 29500;

/// A snapshot of the environment variables a launcher sets.
#[derive(Debug, Clone, Default)]
pub struct LaunchEnv {
    vars: HashMap<String, String>,
    /// Path of `scontrol`, when installed (looked up on PATH).
    scontrol: Option<std::path::PathBuf>,
}

impl LaunchEnv {
    /// Reads the current process's environment.
    pub fn from_process_env() -> Self {
        let scontrol = std::env::var_os("PATH")
            .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join("scontrol")).find(|p| p.is_file()));
        LaunchEnv { vars: std::env::vars().collect(), scontrol }
    }

    /// An environment from explicit variables (tests); `scontrol` as given.
    pub fn from_vars(vars: &[(&str, &str)], scontrol: Option<std::path::PathBuf>) -> Self {
        LaunchEnv { vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), scontrol }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn number(&self, key: &str, launcher: &str) -> Result<Option<usize>, EngineError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .parse::<usize>()
                .map(Some)
                .map_err(|_| launcher_error(launcher, format!("{key}={v:?} is not a non-negative integer"))),
        }
    }

    /// MASTER_PORT, else (under Slurm) a port derived from SLURM_JOB_ID, else 29500;
    /// with where it came from.
    fn port(&self, launcher: &str) -> Result<(u16, String), EngineError> {
        if let Some(p) = self.get("MASTER_PORT") {
            let port = p
                .parse::<u16>()
                .map_err(|_| launcher_error(launcher, format!("MASTER_PORT={p:?} is not a port number")))?;
            return Ok((port, "MASTER_PORT".into()));
        }
        match (launcher, self.number("SLURM_JOB_ID", launcher)?) {
            ("slurm", Some(job)) => Ok((slurm_job_port(job), format!("SLURM_JOB_ID={job}"))),
            _ => Ok((DEFAULT_MASTER_PORT, "the default port".into())),
        }
    }

    /// `--launcher pytorch`: RANK and WORLD_SIZE are required; LOCAL_RANK (or the
    /// `--local-rank` flag) defaults to 0; MASTER_ADDR defaults to 127.0.0.1 for a single
    /// node and MASTER_PORT to 29500.
    pub fn pytorch(&self, local_rank_flag: Option<usize>) -> Result<DistInfo, EngineError> {
        let missing = |k: &str| {
            launcher_error(
                "pytorch",
                format!("{k} is not set; start the processes with tools/launch, tools/dist_train.sh or torchrun"),
            )
        };
        let rank = self.number("RANK", "pytorch")?.ok_or_else(|| missing("RANK"))?;
        let world_size = self.number("WORLD_SIZE", "pytorch")?.ok_or_else(|| missing("WORLD_SIZE"))?;
        let local_rank = self.number("LOCAL_RANK", "pytorch")?.or(local_rank_flag).unwrap_or(0);
        check_rank(rank, world_size, "pytorch")?;
        let (master_addr, addr_source) = match self.get("MASTER_ADDR") {
            Some(a) => (a.to_string(), "MASTER_ADDR".to_string()),
            None => ("127.0.0.1".to_string(), "the default address".to_string()),
        };
        let (master_port, port_source) = self.port("pytorch")?;
        let master_source = format!("{addr_source} and {port_source}");
        Ok(DistInfo { rank, world_size, local_rank, master_addr, master_port, master_source })
    }

    /// `--launcher slurm`: RANK = SLURM_PROCID, WORLD_SIZE = SLURM_NTASKS, LOCAL_RANK =
    /// SLURM_LOCALID; MASTER_ADDR = the environment's if set, else the first host of
    /// SLURM_NODELIST (`scontrol show hostname` when installed, else our parser);
    /// MASTER_PORT from the environment, else [`slurm_job_port`] of SLURM_JOB_ID, else 29500.
    pub fn slurm(&self) -> Result<DistInfo, EngineError> {
        let missing = |k: &str| launcher_error("slurm", format!("{k} is not set; run under srun"));
        let rank = self.number("SLURM_PROCID", "slurm")?.ok_or_else(|| missing("SLURM_PROCID"))?;
        let world_size = self.number("SLURM_NTASKS", "slurm")?.ok_or_else(|| missing("SLURM_NTASKS"))?;
        check_rank(rank, world_size, "slurm")?;
        let local_rank = self.number("SLURM_LOCALID", "slurm")?.unwrap_or(0);
        let (master_addr, addr_source) = match self.get("MASTER_ADDR") {
            Some(a) => (a.to_string(), "MASTER_ADDR".to_string()),
            None => {
                let list = self.get("SLURM_NODELIST").ok_or_else(|| missing("SLURM_NODELIST"))?;
                (self.first_host(list)?, format!("the first node of SLURM_NODELIST={list}"))
            }
        };
        let (master_port, port_source) = self.port("slurm")?;
        let master_source = format!("{addr_source} and {port_source}");
        Ok(DistInfo { rank, world_size, local_rank, master_addr, master_port, master_source })
    }

    fn first_host(&self, list: &str) -> Result<String, EngineError> {
        if let Some(scontrol) = &self.scontrol {
            let out = std::process::Command::new(scontrol).args(["show", "hostname", list]).output();
            match out {
                Ok(o) if o.status.success() => {
                    if let Some(first) =
                        String::from_utf8_lossy(&o.stdout).lines().map(str::trim).find(|l| !l.is_empty())
                    {
                        return Ok(first.to_string());
                    }
                    log::warn!("`scontrol show hostname {list}` printed nothing; parsing the list instead");
                }
                Ok(o) => log::warn!("`scontrol show hostname {list}` failed ({}); parsing the list instead", o.status),
                Err(e) => log::warn!("cannot run {}: {e}; parsing the list instead", scontrol.display()),
            }
        }
        let hosts = expand_hostlist(list).map_err(|e| launcher_error("slurm", e.to_string()))?;
        Ok(hosts[0].clone())
    }
}

/// The rendezvous port of a Slurm job without MASTER_PORT: 20000 + job id mod 20000, so
/// jobs sharing a node do not collide (MMEngine uses 29500 for every job) and a requeued
/// job keeps its port.
pub fn slurm_job_port(job_id: usize) -> u16 {
    (20000 + job_id % 20000) as u16
}

fn launcher_error(launcher: &str, message: String) -> EngineError {
    EngineError::Option { option: format!("--launcher {launcher}"), message }
}

fn check_rank(rank: usize, world_size: usize, launcher: &str) -> Result<(), EngineError> {
    if world_size == 0 || rank >= world_size {
        return Err(launcher_error(launcher, format!("rank {rank} is not below the world size {world_size}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytorch_variables() {
        let env = LaunchEnv::from_vars(
            &[
                ("RANK", "3"),
                ("WORLD_SIZE", "4"),
                ("LOCAL_RANK", "1"),
                ("MASTER_ADDR", "10.1.1.1"),
                ("MASTER_PORT", "1234"),
            ],
            None,
        );
        let d = env.pytorch(None).unwrap();
        assert_eq!(
            (d.rank, d.world_size, d.local_rank, d.master_addr.as_str(), d.master_port),
            (3, 4, 1, "10.1.1.1", 1234)
        );
        let err = LaunchEnv::from_vars(&[("WORLD_SIZE", "2")], None).pytorch(None).unwrap_err().to_string();
        assert!(err.starts_with("--launcher pytorch: RANK is not set"), "{err}");
        let err =
            LaunchEnv::from_vars(&[("RANK", "2"), ("WORLD_SIZE", "2")], None).pytorch(None).unwrap_err().to_string();
        assert_eq!(err, "--launcher pytorch: rank 2 is not below the world size 2");
    }

    #[test]
    fn slurm_without_scontrol_parses_the_list() {
        let env = LaunchEnv::from_vars(
            &[("SLURM_PROCID", "5"), ("SLURM_NTASKS", "8"), ("SLURM_LOCALID", "1"), ("SLURM_NODELIST", "gpu[07-08]")],
            None,
        );
        let d = env.slurm().unwrap();
        assert_eq!(
            (d.rank, d.world_size, d.local_rank, d.master_addr.as_str(), d.master_port),
            (5, 8, 1, "gpu07", 29500)
        );
        assert_eq!(d.master_source, "the first node of SLURM_NODELIST=gpu[07-08] and the default port");
    }

    #[test]
    fn slurm_port_from_the_job_id_unless_master_port_is_set() {
        let vars =
            [("SLURM_PROCID", "0"), ("SLURM_NTASKS", "2"), ("SLURM_NODELIST", "n[1-2]"), ("SLURM_JOB_ID", "123457")];
        let d = LaunchEnv::from_vars(&vars, None).slurm().unwrap();
        assert_eq!((d.master_addr.as_str(), d.master_port), ("n1", 23457));
        assert_eq!(d.master_source, "the first node of SLURM_NODELIST=n[1-2] and SLURM_JOB_ID=123457");
        let mut vars = vars.to_vec();
        vars.extend([("MASTER_PORT", "1234"), ("MASTER_ADDR", "10.0.0.9")]);
        let d = LaunchEnv::from_vars(&vars, None).slurm().unwrap();
        assert_eq!((d.master_addr.as_str(), d.master_port), ("10.0.0.9", 1234));
        assert_eq!(d.master_source, "MASTER_ADDR and MASTER_PORT");
    }
}
