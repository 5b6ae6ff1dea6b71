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
fn durations_use_the_shared_grammar_and_out_of_range_is_a_usage_error() {
    let timeout = |v: &str| run(&["--", "x"], &[("RESPAWN_STOP_TIMEOUT", v)]).map(|c| c.stop_timeout);
    assert_eq!(timeout("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(timeout("1m30s"), Ok(Duration::from_secs(90)));
    assert_eq!(timeout("2"), Ok(Duration::from_secs(2)));
    assert_eq!(timeout("1.5s"), Ok(Duration::from_millis(1500)));
    // These aborted PID 1 (Duration::from_secs_f64 panics) before the shared grammar.
    for bad in ["1e30", "99999999999999999999999h", "169h", "5 parsecs", ""] {
        let e = timeout(bad).unwrap_err();
        assert!(e.contains("RESPAWN_STOP_TIMEOUT"), "{bad:?}: {e}");
    }
    let e = run(&["--debounce", "10000000000000000000s", "--", "x"], &[]).unwrap_err();
    assert!(e.contains("--debounce") && e.contains("maximum"), "{e}");
}

#[test]
fn signals_from_the_shared_table_are_libc_numbers() {
    let libc_numbers = [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGILL,
        libc::SIGTRAP,
        libc::SIGABRT,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGKILL,
        libc::SIGUSR1,
        libc::SIGSEGV,
        libc::SIGUSR2,
        libc::SIGPIPE,
        libc::SIGALRM,
        libc::SIGTERM,
        libc::SIGSTKFLT,
        libc::SIGCHLD,
        libc::SIGCONT,
        libc::SIGSTOP,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGURG,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGWINCH,
        libc::SIGIO,
        libc::SIGPWR,
        libc::SIGSYS,
    ];
    assert_eq!(respawn_settings::SIGNAL_NAMES.len(), libc_numbers.len());
    for (&(name, n), want) in respawn_settings::SIGNAL_NAMES.iter().zip(libc_numbers) {
        assert_eq!(n, want, "{name}");
        let c = run(&["--stop-signal", name, "--", "x"], &[]).unwrap();
        assert_eq!(c.stop_signal, want, "{name}");
    }
    let c = run(&["--stop-signal", "RTMIN+2", "--", "x"], &[]).unwrap();
    assert_eq!(c.stop_signal, libc::SIGRTMIN() + 2);
    let e = run(&["--wait-for", "KILL", "--", "x"], &[]).unwrap_err();
    assert!(e.contains("cannot be caught"), "{e}");
}

#[test]
fn words_and_hooks() {
    let hook = |v: &str| run(&["--pre-start", v, "--", "x"], &[]).map(|c| c.pre_start);
    assert_eq!(
        hook(r#"sh -c 'echo "hi there"' a\ b"#).unwrap(),
        vec![os(&["sh", "-c", "echo \"hi there\"", "a b"])]
    );
    assert!(hook("'open").unwrap_err().contains("unbalanced quote"));
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

#[test]
fn probe_takes_the_shared_grammar_and_the_socket_variable() {
    let env = [(
        OsString::from("RESPAWN_CONTROL_SOCKET"),
        OsString::from("@from-env"),
    )];
    let probe = |args: &[&str], env: &[(OsString, OsString)]| match parse(os(args), env) {
        Ok(Invocation::Probe(p)) => Ok(*p),
        Ok(_) => Err("not a probe".to_string()),
        Err(UsageError(m)) => Err(m),
    };
    let p = probe(&["probe", "--grace", "30s", "--tcp-socket", "80"], &env).unwrap();
    assert_eq!(p.grace, Duration::from_secs(30));
    assert_eq!(p.control_socket.as_deref(), Some("@from-env"));
    let p = probe(
        &["probe", "--control-socket", "@flag", "--exec", "--", "--help"],
        &env,
    )
    .unwrap();
    assert_eq!(p.control_socket.as_deref(), Some("@flag"), "the flag wins");
    assert_eq!(
        p.check,
        settings::Check::Exec(os(&["--help"])),
        "--help after -- is the command's"
    );
    // A network check's address: --host, else RESPAWN_POD_IP, else none (loopback).
    let pod_ip = [(OsString::from("RESPAWN_POD_IP"), OsString::from(" 10.1.2.3 "))];
    let host_of = |p: settings::Probe| match p.check {
        settings::Check::TcpSocket { host, .. } | settings::Check::HttpGet { host, .. } => host,
        settings::Check::Exec(_) => panic!("not a network check"),
    };
    let p = probe(&["probe", "--http-get", "80"], &pod_ip).unwrap();
    assert_eq!(host_of(p), Some("10.1.2.3".parse().unwrap()));
    let p = probe(&["probe", "--tcp-socket", "80", "--host", "10.9.9.9"], &pod_ip).unwrap();
    assert_eq!(host_of(p), Some("10.9.9.9".parse().unwrap()), "--host wins");
    assert_eq!(
        host_of(probe(&["probe", "--tcp-socket", "80"], &[]).unwrap()),
        None
    );
    let e = probe(&["probe", "--tcp-socket", "x"], &[]).unwrap_err();
    assert!(
        e.starts_with("probe: invalid value \"x\" for --tcp-socket"),
        "{e}"
    );
    assert!(matches!(
        parse(os(&["probe", "-h"]), &[]),
        Ok(Invocation::Print(_))
    ));
}
