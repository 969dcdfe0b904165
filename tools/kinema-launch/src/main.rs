//! `tools/launch [--nproc-per-node N] [--nnodes M --node-rank R] [--master-addr A]
//! [--master-port P] [--grace-period S] [--prefix-output] -- PROGRAM [ARGS...]`: starts N
//! copies of PROGRAM with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and
//! MASTER_PORT set, as `torchrun` does.

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use kinema_launch::{signals, LaunchSpec, DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT};

/// Start one process per GPU on this node (a torchrun equivalent).
///
/// Each process gets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR
/// and MASTER_PORT (and OMP_NUM_THREADS=1 when several share the node and it is unset); its
/// stdin is closed. SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to every process.
/// When one process fails, the others get SIGTERM (SIGKILL after the grace period) and the
/// launcher exits with the first failure's status (128 + N for a process killed by signal
/// N; 127 when the program does not exist; 2 for bad launcher arguments).
#[derive(Parser)]
#[command(name = "launch", version)]
struct Args {
    /// Processes to start on this node (usually the number of GPUs).
    #[arg(long = "nproc-per-node", alias = "nproc_per_node", default_value_t = 1, value_name = "N")]
    nproc_per_node: usize,
    /// Nodes taking part in the run; start the launcher once on each.
    #[arg(long, default_value_t = 1, value_name = "M")]
    nnodes: usize,
    /// This node's index, 0 to M-1; node 0 hosts rank 0.
    #[arg(long = "node-rank", alias = "node_rank", default_value_t = 0, value_name = "R")]
    node_rank: usize,
    /// Address of node 0, reachable from every node.
    #[arg(long = "master-addr", alias = "master_addr", default_value = DEFAULT_MASTER_ADDR, value_name = "HOST")]
    master_addr: String,
    /// Free TCP port on node 0 for the rendezvous.
    #[arg(long = "master-port", alias = "master_port", default_value_t = DEFAULT_MASTER_PORT, value_name = "PORT")]
    master_port: u16,
    /// Seconds stopped processes get to exit before SIGKILL.
    #[arg(long = "grace-period", default_value_t = 30.0, value_name = "SECONDS")]
    grace_period: f64,
    /// Pipe each process's output through the launcher, prefixing every line with `[rank N] `.
    #[arg(long = "prefix-output")]
    prefix_output: bool,
    /// The program to run and its arguments (after `--`).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

fn launch(args: Args) -> anyhow::Result<i32> {
    anyhow::ensure!(
        args.grace_period.is_finite() && args.grace_period >= 0.0,
        "--grace-period must be a non-negative number of seconds, got {}",
        args.grace_period
    );
    let spec = LaunchSpec {
        nproc_per_node: args.nproc_per_node,
        nnodes: args.nnodes,
        node_rank: args.node_rank,
        master_addr: args.master_addr,
        master_port: args.master_port,
        command: args.command,
        grace_period: Duration::from_secs_f64(args.grace_period),
        prefix_output: args.prefix_output,
    };
    spec.validate()?;
    if spec.nnodes > 1 && (spec.master_addr == "127.0.0.1" || spec.master_addr == "localhost") {
        eprintln!(
            "launch: warning: --nnodes {} with --master-addr {}: the other nodes cannot reach a loopback address; \
             pass node 0's address",
            spec.nnodes, spec.master_addr
        );
    }
    signals::install().context("setting up signal forwarding")?;
    let outcome = kinema_launch::run(&spec)?;
    let code = outcome.exit_code();
    if let Some(failure) = &outcome.failure {
        eprintln!("launch: failed: {failure} (first failure); exiting with status {code}");
    } else if let Some(sig) = outcome.interrupted_by {
        eprintln!("launch: stopped by {}; exiting with status {code}", kinema_launch::describe_signal(sig));
    }
    Ok(code)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match launch(args) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            eprintln!("launch: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
