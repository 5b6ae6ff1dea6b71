//! `respawn-webhook` binary entry point.

fn main() {
    eprintln!("respawn-webhook: not implemented yet");
    std::process::exit(2);
}
