//! `respawn`: a tiny PID 1 that supervises and restarts a container's process in place.

fn main() {
    let code = respawn::main(std::env::args_os().skip(1).collect());
    std::process::exit(code);
}
