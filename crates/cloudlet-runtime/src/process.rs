//! Starting and signalling the operating-system processes behind service instances.
//!
//! Each instance runs in its own process group so that a stop reaches everything it started (a shell
//! wrapper and its children alike), and is asked to die with the node (`PR_SET_PDEATHSIG`) so that a
//! node killed with SIGKILL leaves no orphans serving stale code.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

/// Variables passed through from the node's environment; everything else is cleared so that secrets
/// such as `CLOUDLET_TOKEN` never reach an app.
const INHERITED_ENV: &[&str] =
    &["PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR"];

/// What to run.
pub(crate) struct Launch<'a> {
    pub(crate) command: &'a [String],
    pub(crate) workdir: &'a Path,
    pub(crate) env: Vec<(String, String)>,
}

/// Starts the process with piped stdout and stderr in a new process group.
pub(crate) fn spawn(launch: &Launch<'_>) -> io::Result<Child> {
    let Some((program, args)) = launch.command.split_first() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
    };
    let mut command = Command::new(resolve_program(program, launch.workdir));
    command
        .args(args)
        .current_dir(launch.workdir)
        .env_clear()
        .envs(INHERITED_ENV.iter().filter_map(|name| std::env::var(name).ok().map(|value| (*name, value))))
        .envs(launch.env.iter().map(|(name, value)| (name.as_str(), value.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    die_with_parent(&mut command);
    command.spawn()
}

/// A program with a `/` is a path in the app's files; a bare name is looked up in `PATH`.
fn resolve_program(program: &str, workdir: &Path) -> PathBuf {
    if program.contains('/') { workdir.join(program) } else { PathBuf::from(program) }
}

#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec; it only makes the prctl(2) system call,
    // which is async-signal-safe, and allocates nothing.
    unsafe {
        command.pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from));
    }
}

/// Sends `signal` to the process group led by `pid`; a group that is already gone is not an error.
pub(crate) fn signal_group(pid: u32, signal: Signal) {
    let Ok(pid) = i32::try_from(pid) else { return };
    let _ = killpg(Pid::from_raw(pid), signal);
}

/// A TCP port on 127.0.0.1 that is free right now.
pub(crate) fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    Ok(listener.local_addr()?.port())
}
