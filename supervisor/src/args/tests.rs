//! Table tests for the argument parser.

use super::*;

fn os(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
    let env: Vec<(OsString, OsString)> = env.iter().map(|(k, v)| (k.into(), v.into())).collect();
    match parse(os(args), &env) {
        Ok(Invocation::Run(c)) => Ok(*c),
        Ok(_) => Err("not a run".into()),
        Err(UsageError(m)) => Err(m),
    }
}

#[test]
fn defaults_and_command() {
    let c = run(&["--", "sleep", "1"], &[]).unwrap();
    assert_eq!(c.command, os(&["sleep", "1"]));
    assert_eq!(c.stop_signal, libc::SIGTERM);
    assert_eq!(c.stop_timeout, Duration::from_secs(10));
    assert_eq!(c.trigger_file, Some(PathBuf::from("/tmp/.restart-proc")));
    assert_eq!(c.on_exit, OnExit::Exit);
}

#[test]
fn flags_override_env() {
    let env = [
        ("RESPAWN_STOP_SIGNAL", "INT"),
        ("RESPAWN_STOP_TIMEOUT", "3s"),
        ("RESPAWN_WATCH", "/a,/b"),
    ];
    let c = run(&["--stop-signal=QUIT", "--", "x"], &env).unwrap();
    assert_eq!(c.stop_signal, libc::SIGQUIT);
    assert_eq!(c.stop_timeout, Duration::from_secs(3));
    assert_eq!(c.watch, vec![PathBuf::from("/a"), PathBuf::from("/b")]);
    let c = run(&["--watch", "/c", "--", "x"], &env).unwrap();
    assert_eq!(c.watch, vec![PathBuf::from("/c")]);
}

#[test]
fn usage_errors_name_the_problem() {
    assert!(run(&["--bogus", "--", "x"], &[]).unwrap_err().contains("--bogus"));
    assert!(run(&["--"], &[]).unwrap_err().contains("no command"));
    assert!(run(&[], &[]).unwrap_err().contains("no command"));
    assert!(
        run(&["--stop-timeout"], &[])
            .unwrap_err()
            .contains("needs a value")
    );
    let e = run(&["--", "x"], &[("RESPAWN_ON_EXIT", "sometimes")]).unwrap_err();
    assert!(e.contains("RESPAWN_ON_EXIT") && e.contains("sometimes"), "{e}");
}

#[test]
fn none_disables_files() {
    let c = run(
        &[
            "--trigger-file",
            "none",
            "--env-file=none",
            "--control-socket",
            "none",
            "x",
        ],
        &[],
    )
    .unwrap();
    assert_eq!((c.trigger_file, c.env_file, c.control_socket), (None, None, None));
}

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
    assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
    assert_eq!(parse_duration("5 parsecs"), None);
    assert_eq!(parse_duration(""), None);
}

#[test]
fn words_and_hooks() {
    assert_eq!(
        split_words(r#"sh -c 'echo "hi there"' a\ b"#).unwrap(),
        vec!["sh", "-c", "echo \"hi there\"", "a b"]
    );
    assert_eq!(split_words("'open"), None);
    let c = run(
        &["--", "x"],
        &[("RESPAWN_PRE_START", "make build\n\ntouch /tmp/x")],
    )
    .unwrap();
    assert_eq!(
        c.pre_start,
        vec![os(&["make", "build"]), os(&["touch", "/tmp/x"])]
    );
}

#[test]
fn subcommands() {
    assert!(matches!(
        parse(os(&["install", "/d/respawn"]), &[]),
        Ok(Invocation::Install(_))
    ));
    assert!(parse(os(&["install"]), &[]).is_err());
    assert!(matches!(
        parse(os(&["restart"]), &[]),
        Ok(Invocation::Control("restart", None))
    ));
    assert!(matches!(
        parse(os(&["status", "--control-socket", "@x"]), &[]),
        Ok(Invocation::Control("status", Some(_)))
    ));
    assert!(parse(os(&["status", "extra"]), &[]).is_err());
}
