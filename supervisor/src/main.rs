//! `respawn`: a tiny PID 1 that supervises and restarts a container's process in place.

fn main() {
    eprintln!("respawn: not implemented yet");
    std::process::exit(2);
}
