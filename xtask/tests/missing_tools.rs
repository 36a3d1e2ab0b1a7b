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
    cmd.args(args)
        .env_clear()
        .env("PATH", empty.path())
        .env("HOME", empty.path())
        .current_dir(empty.path());
    cmd.output().expect("run xtask")
}

#[test]
fn commands_needing_tools_stop_at_once_with_the_install_command() {
    let verilator = "sudo apt-get install --no-install-recommends verilator g++ make";
    let cases: &[(&[&str], &str)] = &[
        (&["report"], "sudo apt-get install --no-install-recommends verilator g++ make yosys"),
        (&["report", "--skip-synth"], verilator),
        (&["gate"], "sudo apt-get install --no-install-recommends verilator g++ make yosys"),
        (&["sweep", "--skip-synth"], verilator),
        (&["sweep"], "yosys"),
        (&["sim"], verilator),
        (&["verify"], verilator),
        (&["lint"], verilator),
        (&["mutate"], verilator),
        (&["bench-sim"], verilator),
        (&["replay", "case.json"], verilator),
        (&["synth"], "sudo apt-get install --no-install-recommends yosys"),
        (&["test"], "sudo apt-get install --no-install-recommends verilator g++ make yosys"),
    ];
    for (args, install) in cases {
        let out = run_without_tools(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded without tools: {stderr}");
        assert!(stderr.contains(install), "{args:?}: expected `{install}` in:\n{stderr}");
        // Nothing else happened first: no progress lines, no output, just the error.
        assert!(stderr.starts_with("error: "), "{args:?} printed something before the error:\n{stderr}");
        assert!(out.stdout.is_empty(), "{args:?} wrote to stdout:\n{}", String::from_utf8_lossy(&out.stdout));
    }
}
