//! What to launch on this node and the environment each local process gets.

use std::ffi::OsString;
use std::time::Duration;

use anyhow::{bail, ensure};

/// The rendezvous host used when none is given (single-node runs).
pub const DEFAULT_MASTER_ADDR: &str = "127.0.0.1";
/// The rendezvous port used when none is given (PyTorch's and MMEngine's default).
pub const DEFAULT_MASTER_PORT: u16 = 29500;

/// The processes to start on this node.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    /// Processes on this node (usually one per GPU).
    pub nproc_per_node: usize,
    /// Nodes taking part in the run.
    pub nnodes: usize,
    /// This node's index, `0..nnodes`.
    pub node_rank: usize,
    /// Host of global rank 0, where the rendezvous store listens.
    pub master_addr: String,
    /// Port of the rendezvous store.
    pub master_port: u16,
    /// The program and its arguments, started once per local process.
    pub command: Vec<OsString>,
    /// How long stopped processes get between SIGTERM (or a forwarded signal) and SIGKILL.
    pub grace_period: Duration,
    /// Pipe each process's stdout/stderr through the launcher, prefixing lines with the rank.
    pub prefix_output: bool,
}

impl LaunchSpec {
    /// A single-node spec with the default rendezvous address, a 30 s grace period and
    /// unprefixed output.
    pub fn new(nproc_per_node: usize, command: Vec<OsString>) -> Self {
        LaunchSpec {
            nproc_per_node,
            nnodes: 1,
            node_rank: 0,
            master_addr: DEFAULT_MASTER_ADDR.to_string(),
            master_port: DEFAULT_MASTER_PORT,
            command,
            grace_period: Duration::from_secs(30),
            prefix_output: false,
        }
    }

    /// Checks that the numbers are consistent and a command is given.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(self.nproc_per_node >= 1, "--nproc-per-node must be at least 1, got {}", self.nproc_per_node);
        ensure!(self.nnodes >= 1, "--nnodes must be at least 1, got {}", self.nnodes);
        ensure!(
            self.node_rank < self.nnodes,
            "--node-rank {} must be below --nnodes {} (node ranks count from 0)",
            self.node_rank,
            self.nnodes
        );
        ensure!(self.master_port != 0, "--master-port must be a port number between 1 and 65535, got 0");
        ensure!(!self.master_addr.trim().is_empty(), "--master-addr is empty; expected a host name or IP address");
        match self.command.first() {
            None => bail!("no command given; expected `launch [OPTIONS] -- PROGRAM [ARGS...]`"),
            Some(program) if program.is_empty() => bail!("the command's program name is empty"),
            Some(_) => {}
        }
        ensure!(
            self.nproc_per_node.checked_mul(self.nnodes).is_some(),
            "--nproc-per-node {} times --nnodes {} overflows",
            self.nproc_per_node,
            self.nnodes
        );
        Ok(())
    }

    /// The number of processes over all nodes.
    pub fn world_size(&self) -> usize {
        self.nproc_per_node.saturating_mul(self.nnodes)
    }

    /// The global rank of local process `local_rank` on this node.
    pub fn global_rank(&self, local_rank: usize) -> usize {
        self.node_rank * self.nproc_per_node + local_rank
    }

    /// The variables set for local process `local_rank` (on top of the launcher's own
    /// environment). `omp_threads_set` says whether the launcher's environment already
    /// has `OMP_NUM_THREADS`; if not and several processes share the node, each gets 1
    /// thread so they do not oversubscribe the cores.
    pub fn child_env(&self, local_rank: usize, omp_threads_set: bool) -> Vec<(String, String)> {
        let mut env = vec![
            ("RANK".to_string(), self.global_rank(local_rank).to_string()),
            ("LOCAL_RANK".to_string(), local_rank.to_string()),
            ("WORLD_SIZE".to_string(), self.world_size().to_string()),
            ("LOCAL_WORLD_SIZE".to_string(), self.nproc_per_node.to_string()),
            ("GROUP_RANK".to_string(), self.node_rank.to_string()),
            ("MASTER_ADDR".to_string(), self.master_addr.clone()),
            ("MASTER_PORT".to_string(), self.master_port.to_string()),
        ];
        if self.sets_omp_threads(omp_threads_set) {
            env.push(("OMP_NUM_THREADS".to_string(), "1".to_string()));
        }
        env
    }

    /// Whether [`LaunchSpec::child_env`] sets `OMP_NUM_THREADS=1`.
    pub fn sets_omp_threads(&self, omp_threads_set: bool) -> bool {
        !omp_threads_set && self.nproc_per_node > 1
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use super::*;

    fn spec(n: usize) -> LaunchSpec {
        LaunchSpec::new(n, vec!["true".into()])
    }

    fn get<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
        env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn ranks_on_the_second_of_two_nodes() {
        let s = LaunchSpec { nnodes: 2, node_rank: 1, master_addr: "10.0.0.1".into(), master_port: 1234, ..spec(4) };
        s.validate().unwrap();
        let env = s.child_env(2, false);
        assert_eq!(get(&env, "RANK"), Some("6"));
        assert_eq!(get(&env, "LOCAL_RANK"), Some("2"));
        assert_eq!(get(&env, "WORLD_SIZE"), Some("8"));
        assert_eq!(get(&env, "LOCAL_WORLD_SIZE"), Some("4"));
        assert_eq!(get(&env, "GROUP_RANK"), Some("1"));
        assert_eq!(get(&env, "MASTER_ADDR"), Some("10.0.0.1"));
        assert_eq!(get(&env, "MASTER_PORT"), Some("1234"));
    }

    #[test]
    fn omp_threads_only_for_several_processes_and_when_unset() {
        assert_eq!(get(&spec(2).child_env(0, false), "OMP_NUM_THREADS"), Some("1"));
        assert_eq!(get(&spec(2).child_env(0, true), "OMP_NUM_THREADS"), None);
        assert_eq!(get(&spec(1).child_env(0, false), "OMP_NUM_THREADS"), None);
    }

    #[test]
    fn bad_specs_are_explained() {
        let err = |s: LaunchSpec| s.validate().unwrap_err().to_string();
        assert_eq!(err(spec(0)), "--nproc-per-node must be at least 1, got 0");
        assert!(
            err(LaunchSpec { nnodes: 2, node_rank: 2, ..spec(1) }).contains("--node-rank 2 must be below --nnodes 2")
        );
        assert!(err(LaunchSpec { command: vec![], ..spec(1) }).starts_with("no command given"));
        assert!(err(LaunchSpec { master_port: 0, ..spec(1) }).contains("--master-port"));
        assert!(err(LaunchSpec { nnodes: usize::MAX, node_rank: 0, ..spec(2) }).contains("overflows"));
    }
}
