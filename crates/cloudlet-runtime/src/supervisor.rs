//! The life of one service instance: start the process, wait for its health check, keep checking,
//! restart it with backoff when it dies, and stop it with SIGTERM then SIGKILL when asked.
//!
//! The supervisor owns the process; it reports every change into the instance's [`InstanceCell`] and
//! wakes the workload controller, which decides about traffic and replicas.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cloudlet_gateway::{Endpoint, Protocol};
use nix::sys::signal::Signal;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use crate::backoff;
use crate::deployment::ServiceDeployment;
use crate::health::Probe;
use crate::instance::{Health, InstanceCell, InstanceState};
use crate::logs::{LogRing, MAX_LINE, Stream};
use crate::metrics::RuntimeMetrics;
use crate::process::{self, Launch};

/// Time between health checks while an instance starts: every [`STARTUP_PAUSE`] for its first
/// [`FAST_STARTUP`], then every [`STARTUP_PAUSE_SLOW`]. Checks are cheap (a local connect, refused
/// until the process listens, or a GET), and how soon a passing one comes is how soon the instance
/// takes traffic — scale from zero waits for exactly this.
const STARTUP_PAUSE: Duration = Duration::from_millis(2);
const FAST_STARTUP: Duration = Duration::from_secs(5);
const STARTUP_PAUSE_SLOW: Duration = Duration::from_millis(50);
/// Start failures in a row after which a rollout is reported as failed.
pub const FAILED_STARTS: u32 = 3;

pub(crate) struct Supervisor {
    pub(crate) id: String,
    pub(crate) deployment: Arc<ServiceDeployment>,
    pub(crate) cell: Arc<InstanceCell>,
    pub(crate) ring: Arc<LogRing>,
    pub(crate) changed: Arc<Notify>,
    pub(crate) stop: CancellationToken,
    pub(crate) metrics: RuntimeMetrics,
}

/// How one run of the process ended.
enum RunEnd {
    /// Asked to stop; the process is gone.
    Stopped,
    /// The process ended, or was killed for failing its checks; restart it.
    Failed { error: String, was_ready: bool, ran_for: Duration },
}

impl Supervisor {
    pub(crate) async fn run(self) {
        let mut failures_in_a_row: u32 = 0;
        loop {
            if self.stop.is_cancelled() {
                break;
            }
            let RunEnd::Failed { error, was_ready, ran_for } = self.run_once().await else { break };
            if ran_for >= backoff::RESET_AFTER {
                failures_in_a_row = 0;
            }
            let delay = backoff::delay(failures_in_a_row);
            failures_in_a_row = failures_in_a_row.saturating_add(1);
            self.ring.push(Stream::System, &format!("{error}; restarting in {}ms", delay.as_millis()));
            self.cell.set_endpoint(None);
            self.cell.set_state(InstanceState::Crashed);
            self.cell.update(|status| {
                status.pid = None;
                status.last_error = Some(error.clone());
                status.health = Health::Unknown;
                if !was_ready {
                    status.start_failures = status.start_failures.saturating_add(1);
                }
            });
            self.changed.notify_one();
            tokio::select! {
                () = self.stop.cancelled() => break,
                () = sleep(delay) => {}
            }
            self.cell.update(|status| status.restarts = status.restarts.saturating_add(1));
            self.metrics.restarted(&self.deployment.app, &self.deployment.spec.name);
        }
        self.cell.set_endpoint(None);
        self.cell.set_state(InstanceState::Stopped);
        self.cell.update(|status| status.pid = None);
        self.ring.push(Stream::System, "stopped");
        self.changed.notify_one();
    }

    /// Starts the process and watches it until it ends or is stopped.
    async fn run_once(&self) -> RunEnd {
        let started = Instant::now();
        let failed = |error: String| RunEnd::Failed { error, was_ready: false, ran_for: started.elapsed() };
        let port = match process::free_port() {
            Ok(port) => port,
            Err(error) => return failed(format!("no free port: {error}")),
        };
        let spec = &self.deployment.spec;
        let launch = Launch { command: &spec.command, workdir: &self.deployment.workdir, env: self.environment(port) };
        let mut child = match process::spawn(&launch) {
            Ok(child) => child,
            Err(error) => return failed(format!("could not start {:?}: {error}", spec.command[0])),
        };
        let Some(pid) = child.id() else { return failed("process exited at once".to_string()) };
        self.cell.set_state(InstanceState::Starting);
        self.cell.update(|status| {
            status.pid = Some(pid);
            status.port = Some(port);
            status.health = Health::Unknown;
            status.started_at_ms = Some(now_ms());
        });
        self.changed.notify_one();
        self.ring.push(Stream::System, &format!("started pid {pid} on port {port}"));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(pump(stdout, self.ring.clone(), Stream::Stdout));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(pump(stderr, self.ring.clone(), Stream::Stderr));
        }
        let end = self.watch(&mut child, pid, port, started).await;
        // Whatever ended the run, nothing of the group may outlive it.
        process::signal_group(pid, Signal::SIGKILL);
        let _ = child.wait().await;
        end
    }

    async fn watch(&self, child: &mut Child, pid: u32, port: u16, started: Instant) -> RunEnd {
        let probe = Probe::new(self.deployment.spec.health.as_deref());
        let check = self.deployment.spec.health_check;
        let failed = |error: String, was_ready: bool| RunEnd::Failed { error, was_ready, ran_for: started.elapsed() };

        // Startup: check often until the first pass, within the startup timeout.
        let deadline = started + self.deployment.spec.startup_timeout;
        loop {
            let last_error = match probe.check(port, check.timeout).await {
                Ok(()) => break,
                Err(error) => error,
            };
            if Instant::now() >= deadline {
                let timeout = self.deployment.spec.startup_timeout.as_secs();
                return failed(format!("not healthy within {timeout}s ({last_error})"), false);
            }
            tokio::select! {
                () = self.stop.cancelled() => return self.terminate(child, pid).await,
                exit = child.wait() => return failed(describe_exit(exit), false),
                () = sleep(if started.elapsed() < FAST_STARTUP { STARTUP_PAUSE } else { STARTUP_PAUSE_SLOW }) => {}
            }
        }

        let protocol = match self.deployment.spec.protocol {
            cloudlet_config::Protocol::Http1 => Protocol::Http1,
            cloudlet_config::Protocol::H2c => Protocol::H2c,
        };
        let endpoint =
            Endpoint::with_protocol(self.id.clone(), SocketAddr::from((Ipv4Addr::LOCALHOST, port)), protocol);
        self.mark_ready(&endpoint);
        self.ring.push(Stream::System, "healthy; taking traffic");

        // Running: check every interval; `fall` failures in a row take the instance out of rotation,
        // `rise` passes in a row bring it back, twice `fall` restart it.
        let (mut failures, mut passes, mut in_rotation) = (0, 0, true);
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return self.terminate(child, pid).await,
                exit = child.wait() => return failed(describe_exit(exit), true),
                () = sleep(check.interval) => {}
            }
            match probe.check(port, check.timeout).await {
                Ok(()) => {
                    failures = 0;
                    passes += 1;
                    if !in_rotation && passes >= check.rise {
                        in_rotation = true;
                        self.mark_ready(&endpoint);
                        self.ring.push(Stream::System, "health check passing again; back in rotation");
                    }
                }
                Err(error) => {
                    passes = 0;
                    failures += 1;
                    self.cell.update(|status| {
                        status.health = Health::Failing;
                        status.last_error = Some(error.clone());
                    });
                    if in_rotation && failures >= check.fall {
                        in_rotation = false;
                        self.cell.set_endpoint(None);
                        self.cell.set_state(InstanceState::Unhealthy);
                        self.changed.notify_one();
                        self.ring.push(Stream::System, &format!("health check failing ({error}); out of rotation"));
                    }
                    if failures >= check.fall.saturating_mul(2) {
                        return failed(format!("health check failed {failures} times in a row ({error})"), true);
                    }
                }
            }
        }
    }

    fn mark_ready(&self, endpoint: &Arc<Endpoint>) {
        self.cell.set_state(InstanceState::Ready);
        self.cell.update(|status| {
            status.health = Health::Passing;
            status.start_failures = 0;
            status.last_error = None;
        });
        self.cell.set_endpoint(Some(endpoint.clone()));
        self.changed.notify_one();
    }

    /// SIGTERM to the group, then SIGKILL after the stop timeout.
    async fn terminate(&self, child: &mut Child, pid: u32) -> RunEnd {
        self.cell.set_state(InstanceState::Stopping);
        self.changed.notify_one();
        process::signal_group(pid, Signal::SIGTERM);
        let grace = self.deployment.spec.stop_timeout;
        match tokio::time::timeout(grace, child.wait()).await {
            Ok(exit) => self.ring.push(Stream::System, &format!("{} after SIGTERM", describe_exit(exit))),
            Err(_) => {
                self.ring.push(
                    Stream::System,
                    &format!("still running {}s after SIGTERM; sending SIGKILL", grace.as_secs()),
                );
                process::signal_group(pid, Signal::SIGKILL);
            }
        }
        RunEnd::Stopped
    }

    fn environment(&self, port: u16) -> Vec<(String, String)> {
        let deployment = &self.deployment;
        let mut env = vec![
            ("PORT".to_string(), port.to_string()),
            ("CLOUDLET_APP".to_string(), deployment.app.clone()),
            ("CLOUDLET_WORKLOAD".to_string(), deployment.spec.name.clone()),
            ("CLOUDLET_INSTANCE".to_string(), self.id.clone()),
        ];
        env.extend(deployment.spec.env.iter().map(|(name, value)| (name.clone(), value.clone())));
        env
    }
}

fn describe_exit(exit: std::io::Result<ExitStatus>) -> String {
    match exit {
        Ok(status) => match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "exited".to_string(),
        },
        Err(error) => format!("could not wait for the process: {error}"),
    }
}

/// Copies a pipe into the ring line by line, splitting lines longer than [`MAX_LINE`].
async fn pump(mut pipe: impl AsyncRead + Unpin, ring: Arc<LogRing>, stream: Stream) {
    let mut buffer = vec![0u8; 8192];
    let mut line: Vec<u8> = Vec::new();
    loop {
        let read = match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        for &byte in &buffer[..read] {
            if byte == b'\n' {
                ring.push(stream, String::from_utf8_lossy(&line).trim_end_matches('\r'));
                line.clear();
            } else {
                line.push(byte);
                if line.len() >= MAX_LINE {
                    ring.push(stream, &String::from_utf8_lossy(&line));
                    line.clear();
                }
            }
        }
    }
    if !line.is_empty() {
        ring.push(stream, &String::from_utf8_lossy(&line));
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}
