//! The supervisor's exit code is the child's: every code 0..=255, and 128+N when the child
//! dies of signal N, as PID 1 of its own PID namespace.

mod common;
use common::*;
use std::thread;

#[test]
fn every_exit_code_passes_through_as_pid1() {
    let workers: Vec<_> = (0..4)
        .map(|w| {
            thread::spawn(move || {
                for c in (0..=255).filter(|c| c % 4 == w) {
                    let out = run(&mut pid1(&["--", "sh", "-c", &format!("exit {c}")]), 30);
                    assert_eq!(code(&out), c, "exit {c}: {}", stderr(&out));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
}

/// Signals whose default action terminates the process (the rest stop or are ignored).
const DEADLY: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("IO", 29),
    ("PWR", 30),
    ("SYS", 31),
];

#[test]
fn death_by_each_signal_gives_128_plus_n() {
    for &(name, n) in DEADLY {
        // ulimit -c 0: no core files; the child kills itself with default dispositions
        // (which proves the supervisor reset them, e.g. Rust's ignored SIGPIPE).
        let script = format!("ulimit -c 0; kill -{n} $$; sleep 5");
        let out = run(&mut pid1(&["--", "sh", "-c", &script]), 30);
        assert_eq!(code(&out), 128 + n, "SIG{name}: {}", stderr(&out));
    }
}

#[test]
fn death_by_each_realtime_signal_gives_128_plus_n() {
    if native_only(
        "death_by_each_realtime_signal_gives_128_plus_n",
        QEMU_RT_RENUMBERED,
    ) {
        return;
    }
    // SIGRTMIN..SIGRTMAX as the kernel numbers them (musl reserves 32 and 33 for itself).
    for n in 34..=64 {
        let out = run(
            &mut pid1(&["--", "sh", "-c", &format!("kill -{n} $$; sleep 5")]),
            30,
        );
        assert_eq!(code(&out), 128 + n, "signal {n}: {}", stderr(&out));
    }
}

#[test]
fn exit_code_passes_through_when_not_pid1() {
    let out = run(&mut plain(&["--", "sh", "-c", "exit 42"]), 10);
    assert_eq!(code(&out), 42);
    let out = run(&mut plain(&["--", "sh", "-c", "kill -TERM $$"]), 10);
    assert_eq!(code(&out), 143);
}
