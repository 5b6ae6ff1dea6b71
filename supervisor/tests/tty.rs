//! With a terminal on stdin (`podman run -it`), the child's process group gets the foreground,
//! so Ctrl-C and terminal reads reach it directly.

mod common;
use common::*;

#[test]
fn child_gets_the_terminal_foreground() {
    let dir = tempdir();
    let out_file = p(dir.path(), "stat");
    // Fields 5 and 8 of /proc/self/stat: process group and terminal foreground group.
    // `\$$`: expanded by the child's shell, not by the one script(1) starts.
    let child = format!("cut -d' ' -f5,8 /proc/\\$$/stat > {out_file}");
    let inner = format!("{} --trigger-file none -- sh -c \"{child}\"", respawn_line());
    // script(1) runs the command on a fresh pseudo-terminal.
    let out = run(
        std::process::Command::new("script").args(["-qec", &inner, "/dev/null"]),
        20,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let stat = std::fs::read_to_string(&out_file).unwrap();
    let fields: Vec<&str> = stat.split_whitespace().collect();
    assert_eq!(fields.len(), 2, "{stat:?}");
    assert_eq!(
        fields[0], fields[1],
        "child group {} is not the terminal's foreground {}",
        fields[0], fields[1]
    );
}
