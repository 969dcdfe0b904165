//! How a child ended, in words and as the launcher's exit code.

use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
    /// It exited with this status.
    Exited(i32),
    /// A signal killed it.
    Signaled(i32),
}

impl ChildEnd {
    /// Classifies a status returned by `wait`.
    pub fn from_status(status: ExitStatus) -> ChildEnd {
        match (status.code(), status.signal()) {
            (Some(code), _) => ChildEnd::Exited(code),
            (None, Some(sig)) => ChildEnd::Signaled(sig),
            // Stopped/continued statuses are not reported by `wait` without WUNTRACED.
            (None, None) => ChildEnd::Exited(1),
        }
    }

    /// Whether the child succeeded (exit status 0).
    pub fn success(self) -> bool {
        self == ChildEnd::Exited(0)
    }

    /// The shell convention: the exit status, or 128 + the signal number.
    pub fn exit_code(self) -> i32 {
        match self {
            ChildEnd::Exited(code) => code,
            ChildEnd::Signaled(sig) => 128 + sig,
        }
    }
}

impl fmt::Display for ChildEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ChildEnd::Exited(code) => write!(f, "exited with status {code}"),
            ChildEnd::Signaled(sig) => write!(f, "was killed by {}", describe_signal(sig)),
        }
    }
}

/// The conventional name of a signal (`SIGTERM`), if it is a common one.
pub fn signal_name(sig: i32) -> Option<&'static str> {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => return None,
    };
    Some(name)
}

/// `signal 9 (SIGKILL)`, or `signal 40` for one without a common name.
pub fn describe_signal(sig: i32) -> String {
    match signal_name(sig) {
        Some(name) => format!("signal {sig} ({name})"),
        None => format!("signal {sig}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(ChildEnd::from_status(ExitStatus::from_raw(3 << 8)), ChildEnd::Exited(3));
        assert_eq!(ChildEnd::from_status(ExitStatus::from_raw(libc::SIGKILL)), ChildEnd::Signaled(9));
        assert_eq!(ChildEnd::Exited(3).exit_code(), 3);
        assert_eq!(ChildEnd::Signaled(libc::SIGTERM).exit_code(), 143);
        assert!(ChildEnd::Exited(0).success() && !ChildEnd::Signaled(2).success());
    }

    #[test]
    fn descriptions_name_the_signal() {
        assert_eq!(ChildEnd::Exited(3).to_string(), "exited with status 3");
        assert_eq!(ChildEnd::Signaled(9).to_string(), "was killed by signal 9 (SIGKILL)");
        assert_eq!(describe_signal(40), "signal 40");
    }
}
