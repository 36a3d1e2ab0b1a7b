//! A new user without Verilator or Yosys, not root: every command that needs one stops at once,
//! before any work, with the exact install command (as root it would install them itself).

use std::process::Command;

/// The xtask binary run as a user with nothing on PATH. As root, privileges are dropped to
/// `nobody` with util-linux's `setpriv`, so the not-root path is what runs.
fn run_without_tools(args: &[&str]) -> std::process::Output {
    let empty = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_xtask");
    let mut cmd = if std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap() == 0 {
        // Looked up on this process's PATH: the child's is empty.
        let setpriv = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|d| d.join("setpriv"))
            .find(|p| p.is_file())
            .expect("setpriv (util-linux) on PATH, to drop root privileges");
        let mut c = Command::new(setpriv);
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", exe]);
        c
    } else {
        Command::new(exe)
    };
    // An empty target directory too: no project venv with PyPI tools to find.
    cmd.args(args)
        .env_clear()
        .env("PATH", empty.path())
        .env("HOME", empty.path())
        .env("CARGO_TARGET_DIR", empty.path())
        .current_dir(empty.path());
    cmd.output().expect("run xtask")
}

#[test]
fn commands_needing_tools_stop_at_once_with_the_install_command() {
    // Packages the install line must name (it may name more: zlib1g-dev and liblz4-dev on a machine
    // without their headers, for commands that write FST).
    const VERILATOR: &[&str] = &["verilator", "g++", "make"];
    const BOTH: &[&str] = &["verilator", "g++", "make", "yosys"];
    let cases: &[(&[&str], &[&str])] = &[
        (&["report"], BOTH),
        (&["report", "--skip-synth"], VERILATOR),
        (&["gate"], BOTH),
        (&["sweep", "--skip-synth"], VERILATOR),
        (&["sweep"], BOTH),
        (&["curve"], BOTH),
        (&["curve", "--skip-synth"], VERILATOR),
        (&["sim"], VERILATOR),
        (&["sim", "--trace", "wave.fst"], VERILATOR),
        (&["verify"], VERILATOR),
        (&["lint"], VERILATOR),
        (&["mutate"], VERILATOR),
        (&["bench-sim"], VERILATOR),
        (&["replay", "case.json"], VERILATOR),
        (&["synth"], &["yosys"]),
        // YoWASP comes from PyPI into the project's venv; creating that needs python3 with venv.
        (&["synth", "--synth", "yowasp"], &["python3", "python3-venv"]),
        (&["report", "--synth", "yowasp"], VERILATOR),
        (&["tools", "--verilator-root"], VERILATOR),
        (&["test"], BOTH),
    ];
    for (args, packages) in cases {
        let out = run_without_tools(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded without tools: {stderr}");
        let line = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("sudo apt-get install --no-install-recommends "))
            .unwrap_or_else(|| panic!("{args:?}: no install command in:\n{stderr}"));
        let named: Vec<&str> = line.split_whitespace().collect();
        for p in *packages {
            assert!(named.contains(p), "{args:?}: `{p}` missing from the install command in:\n{stderr}");
        }
        if !packages.contains(&"yosys") {
            assert!(!named.contains(&"yosys"), "{args:?} asks for Yosys it does not need:\n{stderr}");
        }
        // Nothing else happened first: no progress lines, no output, just the error.
        assert!(stderr.starts_with("error: "), "{args:?} printed something before the error:\n{stderr}");
        assert!(out.stdout.is_empty(), "{args:?} wrote to stdout:\n{}", String::from_utf8_lossy(&out.stdout));
    }
}
