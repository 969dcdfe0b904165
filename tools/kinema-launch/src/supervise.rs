//! Starting the local processes, watching them, and stopping them all when one fails or
//! the launcher is told to stop.

use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::output::{Relays, Stream};
use crate::status::{describe_signal, ChildEnd};
use crate::{signals, LaunchSpec};

/// How often the supervision loop looks at the children and the received signals.
const POLL: Duration = Duration::from_millis(50);
/// How long the output threads may take to drain after every child ended.
const OUTPUT_DRAIN: Duration = Duration::from_secs(2);

/// Why a rank failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The process ended unsuccessfully.
    Ended(ChildEnd),
    /// The process could not be started (`error`); the launcher exits with `exit_code`
    /// (127 when the program does not exist, 126 when it cannot be executed, as shells do).
    NotStarted {
        /// The operating system's reason.
        error: String,
        /// The launcher's exit code for this failure.
        exit_code: i32,
    },
}

/// The first rank that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Its global rank.
    pub rank: usize,
    /// Its rank on this node.
    pub local_rank: usize,
    /// Its process id, if it was started.
    pub pid: Option<u32>,
    /// What went wrong.
    pub kind: FailureKind,
}

impl Failure {
    /// The exit code the launcher reports for this failure.
    pub fn exit_code(&self) -> i32 {
        match &self.kind {
            FailureKind::Ended(end) => end.exit_code(),
            FailureKind::NotStarted { exit_code, .. } => *exit_code,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rank {} (local rank {}", self.rank, self.local_rank)?;
        if let Some(pid) = self.pid {
            write!(f, ", pid {pid}")?;
        }
        match &self.kind {
            FailureKind::Ended(end) => write!(f, ") {end}"),
            FailureKind::NotStarted { error, .. } => write!(f, ") could not be started: {error}"),
        }
    }
}

/// How a launch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The first rank that failed, if any (later failures are consequences of stopping).
    pub failure: Option<Failure>,
    /// The first signal the launcher received and forwarded, if any.
    pub interrupted_by: Option<i32>,
    /// How every started process ended, by local rank.
    pub ends: Vec<ChildEnd>,
}

impl Outcome {
    /// The launcher's exit code: the first failure's (a signal `s` counts as `128 + s`),
    /// else `128 + s` for a received signal `s`, else 0.
    pub fn exit_code(&self) -> i32 {
        match (&self.failure, self.interrupted_by) {
            (Some(failure), _) => failure.exit_code(),
            (None, Some(sig)) => 128 + sig,
            (None, None) => 0,
        }
    }
}

/// Starts `spec.nproc_per_node` processes and supervises them until all have ended.
///
/// Signals recorded by [`signals`] (install them first with [`signals::install`]) are
/// forwarded to every running process. When a process fails, the others get SIGTERM; any
/// still running `spec.grace_period` later get SIGKILL (the same after a forwarded signal).
/// Each process leads its own process group, and signals go to the whole group, so
/// helpers a rank started are stopped with it.
pub fn run(spec: &LaunchSpec) -> anyhow::Result<Outcome> {
    spec.validate()?;
    let omp_set = std::env::var_os("OMP_NUM_THREADS").is_some();
    if spec.sets_omp_threads(omp_set) {
        eprintln!(
            "launch: setting OMP_NUM_THREADS=1 for each of the {} processes (export it to choose another value)",
            spec.nproc_per_node
        );
    }
    let relays = spec.prefix_output.then(Relays::new);
    let mut sup = Supervisor { procs: Vec::new(), failure: None, interrupted_by: None, stop: None, spec };
    for local_rank in 0..spec.nproc_per_node {
        sup.handle_signals();
        if sup.stop.is_some() {
            break;
        }
        let rank = spec.global_rank(local_rank);
        match spawn(spec, local_rank, omp_set, relays.as_ref()) {
            Ok(child) => sup.procs.push(Proc { rank, child, end: None }),
            Err(e) => {
                let program = spec.command[0].to_string_lossy();
                let exit_code = match e.kind() {
                    io::ErrorKind::NotFound => 127,
                    io::ErrorKind::PermissionDenied => 126,
                    _ => 1,
                };
                let error = format!("cannot run `{program}`: {e}");
                sup.fail(Failure { rank, local_rank, pid: None, kind: FailureKind::NotStarted { error, exit_code } });
                break;
            }
        }
    }
    sup.supervise();
    if let Some(relays) = relays {
        relays.finish(OUTPUT_DRAIN);
    }
    Ok(Outcome {
        failure: sup.failure,
        interrupted_by: sup.interrupted_by,
        ends: sup.procs.iter().map(|p| p.end.unwrap_or(ChildEnd::Exited(1))).collect(),
    })
}

struct Proc {
    rank: usize,
    child: Child,
    end: Option<ChildEnd>,
}

struct Stop {
    deadline: Instant,
    killed: bool,
}

struct Supervisor<'a> {
    spec: &'a LaunchSpec,
    procs: Vec<Proc>,
    failure: Option<Failure>,
    interrupted_by: Option<i32>,
    stop: Option<Stop>,
}

impl Supervisor<'_> {
    fn supervise(&mut self) {
        loop {
            self.handle_signals();
            self.reap();
            if self.procs.iter().all(|p| p.end.is_some()) {
                return;
            }
            self.escalate_if_due();
            thread::sleep(POLL);
        }
    }

    fn running(&self) -> usize {
        self.procs.iter().filter(|p| p.end.is_none()).count()
    }

    /// Forwards the signals received since the last look.
    fn handle_signals(&mut self) {
        for sig in signals::take_pending() {
            let running = self.running();
            if self.interrupted_by.is_none() {
                self.interrupted_by = Some(sig);
            }
            eprintln!("launch: received {}; forwarding it to {running} running process(es)", describe_signal(sig));
            self.signal_all(sig);
            self.start_grace_period();
        }
    }

    /// Collects the processes that ended; the first failure stops the others.
    fn reap(&mut self) {
        for i in 0..self.procs.len() {
            let proc = &mut self.procs[i];
            if proc.end.is_some() {
                continue;
            }
            let end = match proc.child.try_wait() {
                Ok(None) => continue,
                Ok(Some(status)) => ChildEnd::from_status(status),
                Err(e) => {
                    eprintln!(
                        "launch: cannot wait for rank {} (pid {}): {e}; counting it as failed",
                        proc.rank,
                        proc.child.id()
                    );
                    ChildEnd::Exited(1)
                }
            };
            proc.end = Some(end);
            if !end.success() && self.stop.is_none() {
                let (rank, pid) = (proc.rank, proc.child.id());
                let local_rank = rank - self.spec.global_rank(0);
                self.fail(Failure { rank, local_rank, pid: Some(pid), kind: FailureKind::Ended(end) });
            }
        }
    }

    /// Records the first failure and asks every running process to stop.
    fn fail(&mut self, failure: Failure) {
        let running = self.running();
        if running > 0 {
            eprintln!("launch: {failure}; stopping the other {running} process(es)");
        } else {
            eprintln!("launch: {failure}");
        }
        if self.failure.is_none() {
            self.failure = Some(failure);
        }
        self.signal_all(libc::SIGTERM);
        self.start_grace_period();
    }

    fn start_grace_period(&mut self) {
        if self.stop.is_none() {
            self.stop = Some(Stop { deadline: Instant::now() + self.spec.grace_period, killed: false });
        }
    }

    fn escalate_if_due(&mut self) {
        let due = matches!(&self.stop, Some(stop) if !stop.killed && Instant::now() >= stop.deadline);
        if !due {
            return;
        }
        eprintln!(
            "launch: {} process(es) still running {:.1} s after being asked to stop; sending SIGKILL",
            self.running(),
            self.spec.grace_period.as_secs_f64()
        );
        self.signal_all(libc::SIGKILL);
        if let Some(stop) = &mut self.stop {
            stop.killed = true;
        }
    }

    /// Sends `sig` to the process group of every process not yet reaped (a reaped
    /// process's id may already belong to someone else).
    fn signal_all(&self, sig: i32) {
        for proc in self.procs.iter().filter(|p| p.end.is_none()) {
            let pid = proc.child.id() as libc::pid_t;
            // SAFETY: plain system call; `pid` is our unreaped child, which leads its group.
            if unsafe { libc::kill(-pid, sig) } != 0 {
                let err = io::Error::last_os_error();
                if err.raw_os_error() != Some(libc::ESRCH) {
                    eprintln!("launch: cannot send {} to rank {} (pid {pid}): {err}", describe_signal(sig), proc.rank);
                }
            }
        }
    }
}

/// Starts local process `local_rank` in its own process group, with stdin closed (a
/// background group reading the terminal would be stopped).
fn spawn(spec: &LaunchSpec, local_rank: usize, omp_set: bool, relays: Option<&Relays>) -> io::Result<Child> {
    let mut cmd = Command::new(&spec.command[0]);
    cmd.args(&spec.command[1..]).envs(spec.child_env(local_rank, omp_set)).process_group(0).stdin(Stdio::null());
    if relays.is_some() {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    #[cfg(target_os = "linux")]
    {
        let launcher = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs between fork and exec and only makes async-signal-safe
        // system calls; it allocates nothing (errors are built from raw OS codes).
        unsafe {
            cmd.pre_exec(move || {
                // If the launcher dies (even by SIGKILL), its children get SIGTERM.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if libc::getppid() != launcher {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn()?;
    if let Some(relays) = relays {
        let rank = spec.global_rank(local_rank);
        if let Some(out) = child.stdout.take() {
            relays.spawn(rank, out, Stream::Stdout);
        }
        if let Some(err) = child.stderr.take() {
            relays.spawn(rank, err, Stream::Stderr);
        }
    }
    Ok(child)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use super::*;

    fn sh(n: usize, script: &str) -> LaunchSpec {
        LaunchSpec::new(n, vec!["sh".into(), "-c".into(), script.into()])
    }

    #[test]
    fn all_succeed() {
        let outcome = run(&sh(2, "exit 0")).unwrap();
        assert_eq!(outcome.exit_code(), 0);
        assert_eq!(outcome.ends, vec![ChildEnd::Exited(0); 2]);
        assert_eq!(outcome.failure, None);
    }

    #[test]
    fn the_first_failure_decides_and_stops_the_rest() {
        let spec = sh(3, r#"if [ "$RANK" = 2 ]; then exit 7; fi; exec sleep 600"#);
        let outcome = run(&spec).unwrap();
        assert_eq!(outcome.exit_code(), 7);
        let failure = outcome.failure.unwrap();
        assert_eq!((failure.rank, failure.local_rank), (2, 2));
        assert_eq!(outcome.ends[0], ChildEnd::Signaled(libc::SIGTERM));
        assert_eq!(outcome.ends[1], ChildEnd::Signaled(libc::SIGTERM));
    }

    #[test]
    fn a_missing_program_is_127() {
        let spec = LaunchSpec::new(2, vec!["/nonexistent/kinema-launch-test".into()]);
        let outcome = run(&spec).unwrap();
        assert_eq!(outcome.exit_code(), 127);
        let text = outcome.failure.unwrap().to_string();
        assert!(text.starts_with("rank 0 (local rank 0) could not be started: cannot run `/nonexistent"), "{text}");
    }

    #[test]
    fn ignoring_sigterm_gets_sigkill_after_the_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let script = r#"
            if [ "$LOCAL_RANK" = 0 ]; then while [ ! -f "$0/ready" ]; do sleep 0.05; done; exit 4; fi
            trap '' TERM; touch "$0/ready"; sleep 600"#;
        let mut spec = sh(2, script);
        spec.command.push(dir.path().into());
        spec.grace_period = Duration::from_millis(300);
        let outcome = run(&spec).unwrap();
        assert_eq!(outcome.exit_code(), 4);
        assert_eq!(outcome.ends[1], ChildEnd::Signaled(libc::SIGKILL));
    }
}
