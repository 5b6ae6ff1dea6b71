//! The `--help` text, generated from the shared option table (`respawn_settings::OPTIONS`).

use respawn_settings::OPTIONS;

/// The `--help` text, generated from the option table.
pub fn help() -> String {
    let mut s = String::from(concat!(
        "respawn ",
        env!("CARGO_PKG_VERSION"),
        ": a tiny PID 1 that supervises and restarts a process in place\n\n",
        "Usage:\n  respawn [OPTIONS] -- CMD [ARGS...]   run CMD; forward signals, reap zombies, keep its exit code\n",
        "  respawn install DEST                copy this executable to DEST (mode 0755, atomically)\n",
        "  respawn restart                     restart the supervised command; prints the new pid\n",
        "  respawn status                      print pid, generation, restarts, last exit, uptime\n",
        "  respawn probe [--grace D] [--timeout D] CHECK\n",
        "      a liveness/startup check: succeeds at once while a restart is in progress or for D\n",
        "      (--grace, default 0s) after one; else runs CHECK within --timeout (default 1s):\n",
        "      --exec -- CMD [ARGS...] | --tcp-socket PORT [--host IP] |\n",
        "      --http-get PORT [--host IP] [--path PATH] [--header 'NAME: VALUE']...\n",
        "      (host: --host, else $RESPAWN_POD_IP, else 127.0.0.1; HTTP success: status 200-399)\n\n",
        "Restart triggers: SIGHUP, the trigger file, --watch, `respawn restart`.\n",
        "SIGTERM/SIGINT stop the child (stop signal, then SIGKILL after the stop timeout) and exit\n",
        "with its code (128+N when killed by signal N). Other signals go to the child's process group.\n\n",
        "Options (each also from the environment variable shown; flags win):\n",
    ));
    for o in OPTIONS {
        s.push_str(&format!(
            "  --{} {}\n      {}\n      env: {}\n",
            o.name, o.arg, o.help, o.env
        ));
    }
    s.push_str(&format!(
        "  --argv-for PLATFORM COUNT ARGS...\n      run these COUNT words instead of CMD when PLATFORM (OS/ARCH[/VARIANT], e.g. linux/arm64) is this binary's ({}); repeatable, before --\n",
        super::platform::own()
    ));
    s.push_str("  -h, --help       print this help\n  -V, --version    print the version\n\n");
    s.push_str("DURATION: 10s, 500ms, 1m30s, 1.5s or plain seconds, at most 168h. SIGNAL: TERM, SIGTERM, 15 or RTMIN+N.\n");
    s.push_str(
        "Exit codes: the child's; 2 usage error; 126 command not executable; 127 command not found;\n\
         probe: 0 success, 1 failed check (an --exec check: its code).\n",
    );
    s
}
