//! The committed corpus of hostile inputs (`tests/hostile/cases.toml`, inputs written by
//! `tests/hostile/make_inputs.sh`): every case runs a tool and checks the outcome the case
//! states (exit status, what stderr and stdout must say, files that must not appear). A
//! case killed by a signal (abort, stack overflow) or running past its time limit fails.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{bin, tiny_tsn};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// Which defect class of the hostile-input campaign the case belongs to.
    class: String,
    /// Tool and arguments; `{in}` is the inputs folder, `{fix}` tests/fixtures,
    /// `{text:NAME}` the contents of the input NAME.
    run: Vec<String>,
    exit: i32,
    #[serde(default)]
    stderr: Vec<String>,
    #[serde(default)]
    stdout: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default = "default_limit")]
    limit_s: u64,
    /// Environment variables for the run.
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
}

fn default_limit() -> u64 {
    120
}

#[derive(serde::Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

fn expand(text: &str, inputs: &Path, fixtures: &Path) -> String {
    let mut out = text.replace("{in}", &inputs.display().to_string()).replace("{fix}", &fixtures.display().to_string());
    while let Some(start) = out.find("{text:") {
        let end = out[start..].find('}').map(|e| start + e).unwrap_or(out.len() - 1);
        let name = &out[start + 6..end];
        let contents = std::fs::read_to_string(inputs.join(name)).unwrap_or_else(|e| panic!("input {name}: {e}"));
        out.replace_range(start..=end, contents.trim_end());
    }
    out
}

/// Runs `cmd` to completion or `limit`; `None` when it had to be killed.
fn run_bounded(mut cmd: Command, limit: Duration) -> Option<std::process::Output> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let (out, err) = (child.stdout.take().expect("stdout"), child.stderr.take().expect("stderr"));
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    status.map(|status| std::process::Output { status, stdout, stderr })
}

#[test]
fn every_hostile_input_gets_the_outcome_its_case_states() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixtures = root.join("tests/fixtures");
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = dir.path();
    tiny_tsn(inputs, 2);
    let made = Command::new("bash").arg(root.join("tests/hostile/make_inputs.sh")).arg(inputs).status().expect("bash");
    assert!(made.success(), "make_inputs.sh failed");
    let text = std::fs::read_to_string(root.join("tests/hostile/cases.toml")).expect("cases.toml");
    let corpus: Corpus = toml::from_str(&text).expect("cases.toml parses");
    let mut failures = Vec::new();
    for case in &corpus.case {
        let args: Vec<String> = case.run.iter().map(|a| expand(a, inputs, &fixtures)).collect();
        let mut cmd = Command::new(bin(&args[0]));
        cmd.args(&args[1..]).current_dir(inputs).env("RUST_BACKTRACE", "0").envs(&case.env);
        let started = Instant::now();
        let Some(out) = run_bounded(cmd, Duration::from_secs(case.limit_s)) else {
            failures.push(format!("{} ({}): still running after {} s", case.name, case.class, case.limit_s));
            continue;
        };
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let mut problems = Vec::new();
        match out.status.code() {
            Some(code) if code == case.exit => {}
            Some(code) => problems.push(format!("exit status {code}, expected {}", case.exit)),
            None => problems.push(format!("killed by a signal: {:?}", out.status)),
        }
        if stderr.contains("panicked at") || stderr.contains("stack backtrace") {
            problems.push("panicked".into());
        }
        for want in &case.stderr {
            let want = expand(want, inputs, &fixtures);
            if !stderr.contains(&want) {
                problems.push(format!("stderr lacks {want:?}"));
            }
        }
        for want in &case.stdout {
            let want = expand(want, inputs, &fixtures);
            if !stdout.contains(&want) {
                problems.push(format!("stdout lacks {want:?}"));
            }
        }
        for path in &case.absent {
            if Path::new(&expand(path, inputs, &fixtures)).exists() {
                problems.push(format!("{path} exists"));
            }
        }
        eprintln!(
            "{:<44} {:>5.1} s  {}",
            case.name,
            started.elapsed().as_secs_f64(),
            if problems.is_empty() { "ok" } else { "FAILED" }
        );
        if !problems.is_empty() {
            let tail: String =
                stderr.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n    ");
            failures.push(format!("{} ({}): {}\n    {tail}", case.name, case.class, problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases failed:\n{}",
        failures.len(),
        corpus.case.len(),
        failures.join("\n")
    );
    eprintln!("{} hostile cases behaved as stated", corpus.case.len());
}
