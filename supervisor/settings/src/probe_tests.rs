//! The `respawn probe` grammar: what parses, what is refused (and says why), and that what
//! [`Probe::args`] renders parses back to the same probe.

use super::*;

fn words(s: &[&str]) -> Vec<OsString> {
    s.iter().map(OsString::from).collect()
}

fn parse(s: &[&str]) -> Result<Probe, String> {
    probe(&words(s)).map_err(|e| e.0)
}

#[test]
fn each_check_parses() {
    let p = parse(&[
        "--grace",
        "30s",
        "--timeout=2s",
        "--exec",
        "--",
        "/bin/check",
        "--",
        "-x",
    ])
    .unwrap();
    assert_eq!(p.grace, Duration::from_secs(30));
    assert_eq!(p.timeout, Duration::from_secs(2));
    assert_eq!(
        p.check,
        Check::Exec(words(&["/bin/check", "--", "-x"])),
        "words after -- are literal"
    );
    let p = parse(&["--tcp-socket", "5432"]).unwrap();
    assert_eq!(p.grace, Duration::ZERO, "no grace unless asked");
    assert_eq!(p.timeout, DEFAULT_TIMEOUT);
    assert_eq!(
        p.check,
        Check::TcpSocket {
            port: 5432,
            host: None
        }
    );
    let p = parse(&[
        "--http-get",
        "8080",
        "--path",
        "/healthz?full=1",
        "--header",
        "X-Token: a: b ",
        "--header=Host:example.test",
        "--host",
        "::1",
        "--control-socket",
        "@probe-test",
    ])
    .unwrap();
    assert_eq!(
        p.check,
        Check::HttpGet {
            port: 8080,
            host: Some("::1".parse().unwrap()),
            path: "/healthz?full=1".into(),
            headers: vec![
                ("X-Token".into(), "a: b".into()),
                ("Host".into(), "example.test".into())
            ],
        }
    );
    assert_eq!(p.control_socket.as_deref(), Some("@probe-test"));
}

#[test]
fn mistakes_are_refused_and_named() {
    for (args, want) in [
        (&[][..], "no check given"),
        (&["--grace", "5s"], "no check given"),
        (&["--exec"], "needs the command after `--`"),
        (&["--exec", "--"], "needs the command after `--`"),
        (&["--exec=/bin/x", "--", "y"], "--exec takes no value"),
        (
            &["--tcp-socket", "80", "--exec", "--", "x"],
            "--tcp-socket and --exec both given",
        ),
        (
            &["--http-get", "80", "--http-get", "81"],
            "'--http-get' given twice",
        ),
        (
            &["--tcp-socket", "80", "--", "x"],
            "a command after `--` only applies to --exec",
        ),
        (
            &["--exec", "--host", "127.0.0.1", "--", "x"],
            "--host only applies",
        ),
        (
            &["--tcp-socket", "80", "--path", "/"],
            "--path only applies to --http-get",
        ),
        (
            &["--tcp-socket", "80", "--header", "A: b"],
            "--header only applies to --http-get",
        ),
        (&["--tcp-socket", "http"], "expected a port number"),
        (&["--tcp-socket", "0"], "expected a port number"),
        (&["--tcp-socket", "65536"], "expected a port number"),
        (&["--tcp-socket", "+80"], "expected a port number"),
        (&["--tcp-socket"], "'--tcp-socket' needs a value"),
        (
            &["--tcp-socket", "80", "--host", "localhost"],
            "names are not resolved",
        ),
        (
            &["--http-get", "80", "--header", "NoColon"],
            "expected NAME: VALUE",
        ),
        (
            &["--http-get", "80", "--header", "Bad Name: x"],
            "not an HTTP header name",
        ),
        (
            &["--http-get", "80", "--header", "A: b\r\nC: d"],
            "control characters",
        ),
        (&["--http-get", "80", "--path", "/a\nb"], "control characters"),
        (
            &["--http-get", "80", "--path", "/a", "--path", "/b"],
            "'--path' given twice",
        ),
        (
            &["--grace", "1e30", "--tcp-socket", "80"],
            "invalid value \"1e30\" for --grace",
        ),
        (&["--timeout", "soon", "--tcp-socket", "80"], "for --timeout"),
        (
            &["--control-socket", "rel", "--tcp-socket", "80"],
            "for --control-socket",
        ),
        (
            &["--frobnicate", "--tcp-socket", "80"],
            "unknown option '--frobnicate'",
        ),
        (&["/bin/check"], "unexpected argument \"/bin/check\""),
    ] {
        let e = parse(args).expect_err(&format!("{args:?} parsed"));
        assert!(e.contains(want), "{args:?}: {e}");
    }
}

#[test]
fn what_is_rendered_parses_back_to_the_same_probe() {
    let all = [
        Probe {
            grace: Duration::from_secs(30),
            timeout: Duration::from_secs(1),
            control_socket: None,
            check: Check::Exec(words(&["/bin/sh", "-c", "test -f /tmp/ok && $(X)"])),
        },
        Probe {
            grace: Duration::from_millis(1500),
            timeout: Duration::from_micros(250),
            control_socket: Some("/run/respawn.sock".into()),
            check: Check::TcpSocket {
                port: 6379,
                host: Some("10.1.2.3".parse().unwrap()),
            },
        },
        Probe {
            grace: Duration::from_nanos(7),
            timeout: Duration::from_secs(10),
            control_socket: None,
            check: Check::HttpGet {
                port: 8080,
                host: None,
                path: "/ready z".into(),
                headers: vec![("X-A".into(), "1".into()), ("Accept".into(), String::new())],
            },
        },
    ];
    for p in all {
        let rendered = p.args();
        let back = probe(&rendered.iter().map(OsString::from).collect::<Vec<_>>());
        assert_eq!(back.as_ref(), Ok(&p), "{rendered:?}");
    }
    let p = parse(&["--http-get", "80"]).unwrap();
    assert_eq!(
        p.args(),
        ["--grace", "0s", "--timeout", "1s", "--http-get", "80"],
        "an empty path is not written"
    );
}

#[test]
fn durations_are_written_in_the_grammar() {
    for (d, s) in [
        (Duration::ZERO, "0s"),
        (Duration::from_secs(90), "90s"),
        (Duration::from_millis(1500), "1500ms"),
        (Duration::from_micros(3), "3us"),
        (Duration::from_nanos(1_000_000_001), "1000000001ns"),
    ] {
        assert_eq!(show_duration(d), s);
        assert_eq!(duration(s), Ok(d));
    }
}
