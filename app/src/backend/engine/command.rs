//! A provisioner that runs an administrator's executable.
//!
//! The program gets the workstation as JSON on stdin and as `ATELIER_*`
//! environment variables. Each line it prints (stdout or stderr) becomes a log
//! event; a line `::progress <percent> <phase>` sets the phase instead. Exit
//! status 0 means success; anything else fails the job with the last lines
//! as the reason. When the job is stopped before the program exits (a cancel,
//! the timeout, a shutdown, a lost lease) the program is killed with every
//! process it started: it runs in a process group of its own.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use super::{BoxFuture, Failure, Progress, Provisioner};
use crate::domain::{JobKind, Workstation};

/// How many trailing output lines a failure quotes.
const TAIL_LINES: usize = 5;

/// Runs `program` for each job.
pub struct CommandProvisioner {
    program: PathBuf,
}

impl CommandProvisioner {
    /// A driver that runs `program`.
    pub fn new(program: PathBuf) -> Self {
        Self { program }
    }
}

async fn forward_lines(stream: impl tokio::io::AsyncRead + Unpin, tx: tokio::sync::mpsc::Sender<String>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if tx.send(line).await.is_err() {
            break;
        }
    }
}

/// A `::progress <percent> <phase words>` line, parsed.
pub fn parse_progress(line: &str) -> Option<(u8, String)> {
    let rest = line.trim().strip_prefix("::progress")?;
    let rest = rest.trim_start();
    let (percent, phase) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let percent: u8 = percent.parse().ok().filter(|p| *p <= 100)?;
    let phase = phase.trim();
    Some((percent, if phase.is_empty() { "working".to_owned() } else { phase.to_owned() }))
}

impl CommandProvisioner {
    /// Runs the program for a job of `kind` (`provision`, `launch`, `stop`
    /// or `delete`: its first argument and `ATELIER_ACTION`).
    fn run_program<'a>(
        &'a self,
        kind: JobKind,
        ws: &'a Workstation,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let action = kind.as_str();
            let c = &ws.configuration;
            let spec =
                serde_json::to_vec(ws).map_err(|e| Failure(format!("cannot encode the workstation: {e}")))?;
            let mut child = Command::new(&self.program)
                .arg(action)
                .env("ATELIER_ACTION", action)
                .env("ATELIER_WORKSTATION_ID", &ws.id)
                .env("ATELIER_NAME", &ws.name)
                .env("ATELIER_CPU_CORES", c.cpu_cores.to_string())
                .env("ATELIER_MEMORY_GB", c.memory_gb.to_string())
                .env("ATELIER_GPU", &c.gpu)
                .env("ATELIER_STORAGE_GB", c.storage_gb.to_string())
                .env("ATELIER_REGION", &c.region)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .process_group(0)
                .spawn()
                .map_err(|e| {
                    Failure(format!("cannot start the provisioner {}: {e}", self.program.display()))
                })?;
            let group = child.id().map(KillGroup);

            if let Some(mut stdin) = child.stdin.take() {
                // A program that ignores stdin may close it early; that is fine.
                let _ = stdin.write_all(&spec).await;
                let _ = stdin.write_all(b"\n").await;
            }
            // Both streams feed one channel, so lines keep their arrival order.
            let (tx, mut lines) = tokio::sync::mpsc::channel::<String>(64);
            if let Some(stdout) = child.stdout.take() {
                tokio::spawn(forward_lines(stdout, tx.clone()));
            }
            if let Some(stderr) = child.stderr.take() {
                tokio::spawn(forward_lines(stderr, tx.clone()));
            }
            drop(tx);
            let mut tail = VecDeque::with_capacity(TAIL_LINES);
            let lost = |e: std::io::Error| Failure(format!("lost the provisioner process: {e}"));
            let status = loop {
                tokio::select! {
                    line = lines.recv() => match line {
                        Some(line) => take_line(line, &mut tail, progress).await?,
                        None => break child.wait().await.map_err(lost)?,
                    },
                    // It exited, but what it left running (a VM it launched) may
                    // hold its output open: read what it wrote, then stop reading.
                    status = child.wait() => {
                        let status = status.map_err(lost)?;
                        while let Ok(Some(line)) = tokio::time::timeout(LAST_LINES_WAIT, lines.recv()).await {
                            take_line(line, &mut tail, progress).await?;
                        }
                        break status;
                    }
                }
            };
            // It ended by itself: what it left running stays.
            if let Some(group) = group {
                group.disarm();
            }
            if status.success() {
                return Ok(());
            }
            let how = match status.code() {
                Some(code) => format!("exited with status {code}"),
                None => "was killed by a signal".to_owned(),
            };
            let lines: Vec<_> = tail.into_iter().collect();
            Err(Failure(if lines.is_empty() {
                format!("The provisioner {how}")
            } else {
                format!("The provisioner {how}: {}", lines.join(" | "))
            }))
        })
    }
}

/// How long output written just before the program exited may take to arrive.
const LAST_LINES_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// Records a line of the program's output: a phase, or a log line (kept in
/// `tail` for a failure to quote).
async fn take_line(line: String, tail: &mut VecDeque<String>, progress: &Progress) -> Result<(), Failure> {
    if let Some((percent, phase)) = parse_progress(&line) {
        progress.phase(phase.parse().map_err(Failure)?, percent, None).await?;
        return Ok(());
    }
    progress.log(&line).await?;
    if tail.len() == TAIL_LINES {
        tail.pop_front();
    }
    tail.push_back(line);
    Ok(())
}

/// Kills a provisioner's process group when dropped: the job was stopped
/// before the program ended, so nothing it started may go on.
struct KillGroup(u32);

impl KillGroup {
    /// The program ended by itself: the group is left alone.
    fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for KillGroup {
    fn drop(&mut self) {
        if let Ok(group) = libc::pid_t::try_from(self.0) {
            // SAFETY: killpg only sends a signal; a group that is gone is an error we ignore.
            unsafe {
                libc::killpg(group, libc::SIGKILL);
            }
        }
    }
}

impl Provisioner for CommandProvisioner {
    fn kind(&self) -> &'static str {
        "command-provisioned"
    }

    fn run<'a>(
        &'a self,
        kind: JobKind,
        ws: &'a Workstation,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        self.run_program(kind, ws, progress)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_progress;

    #[test]
    fn progress_lines() {
        assert_eq!(parse_progress("::progress 40 booting"), Some((40, "booting".into())));
        assert_eq!(
            parse_progress("  ::progress 100 attaching storage "),
            Some((100, "attaching storage".into()))
        );
        assert_eq!(parse_progress("::progress 7"), Some((7, "working".into())));
        assert_eq!(parse_progress("::progress 101 x"), None);
        assert_eq!(parse_progress("::progress abc"), None);
        assert_eq!(parse_progress("progress 40 booting"), None);
    }
}
