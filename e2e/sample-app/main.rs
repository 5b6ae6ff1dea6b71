//! `sample-app`: the app of `make demo` and the runtime e2e suite, shipped in a FROM-scratch image
//! with no shell. Standard library only, built static with plain `rustc` by `e2e/stack/images.sh`.
//!
//! It prints one line with its pid and argv, then one heartbeat line every `--tick` seconds
//! (default 5), reading `/app/message` each time when that file exists, so a file copied into the
//! container is visible in the logs after a restart. It never exits by itself.

use std::{env, fs, process, thread, time::Duration};

fn main() {
    let args: Vec<String> = env::args().collect();
    let tick = args
        .windows(2)
        .find(|w| w[0] == "--tick")
        .and_then(|w| w[1].parse::<u64>().ok())
        .unwrap_or(5);
    let message = fs::read_to_string("/app/message")
        .map(|m| m.trim().to_string())
        .ok();
    println!(
        "sample-app: started pid={} argv={:?} message={:?}",
        process::id(),
        &args[1..],
        message
    );
    for n in 1.. {
        thread::sleep(Duration::from_secs(tick));
        println!("sample-app: pid={} alive tick={n}", process::id());
    }
}
