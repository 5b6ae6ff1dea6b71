//! The env file is re-read before every start; a malformed file is reported with its line
//! number and the previous environment is kept. Default: /tmp/.env when present.

mod common;
use common::*;

#[test]
fn env_file_is_reloaded_before_every_start() {
    let dir = tempdir();
    let (log, envf) = (p(dir.path(), "log"), p(dir.path(), "app.env"));
    std::fs::write(
        &envf,
        "# comment\nexport GREETING=\"hello world\"\nRESPAWN_SECRET=x\n",
    )
    .unwrap();
    let s = format!("echo \"$GREETING|${{RESPAWN_SECRET:-unset}}\" >> {log}; while :; do sleep 0.05; done");
    let (child, sup) = spawn_pid1(&[
        "--env-file",
        &envf,
        "--trigger-file",
        "none",
        "--",
        "sh",
        "-c",
        &s,
    ]);
    assert_eq!(wait_lines(&log, 1, 10), vec!["hello world|unset"]);
    std::fs::write(&envf, "GREETING='second'\n").unwrap();
    signal(sup, "HUP");
    assert_eq!(wait_lines(&log, 2, 10)[1], "second|unset");
    // Malformed on line 2: reported, and the previous values stay.
    std::fs::write(&envf, "GREETING=third\nthis is not an assignment\n").unwrap();
    signal(sup, "HUP");
    assert_eq!(wait_lines(&log, 3, 10)[2], "second|unset");
    signal(sup, "TERM");
    let out = finish(child, 20);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{envf}:2")) && err.contains("keeping the previous environment"),
        "{err}"
    );
}

#[test]
fn default_env_file_is_tmp_dot_env() {
    let dir = tempdir();
    let log = p(dir.path(), "log");
    let s = format!("echo \"$FROM_DEFAULT\" >> {log}");
    let (child, _) = spawn_pid1_private_tmp("echo FROM_DEFAULT=yes > /tmp/.env", &["--", "sh", "-c", &s]);
    let out = finish(child, 20);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(lines(&log), vec!["yes"]);
}
