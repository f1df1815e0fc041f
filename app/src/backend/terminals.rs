//! Terminal sessions: a shell in a running workstation that outlives the
//! connection showing it. A dropped connection leaves the shell running for
//! a while ([`Terminals::keep_detached`]); a reconnect within it gets what
//! it missed (up to the last [`REPLAY_BYTES`] of output) and carries on.
//! Output is numbered by byte offset from the session's start, so a client
//! says where it stopped reading and gets exactly the rest.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::{broadcast, mpsc, watch};

use super::engine::{Provisioner, Shell, ShellControl, ShellRefusal, ShellRequest};
use crate::domain::Workstation;

/// How much output a session keeps for a reconnect to replay.
pub const REPLAY_BYTES: usize = 64 * 1024;

/// Something for the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Keystrokes or piped input.
    Data(Vec<u8>),
    /// The terminal's new size, columns × rows.
    Resize(u16, u16),
    /// No more input: the shell's stdin is closed.
    Eof,
}

/// The open terminal sessions of this instance.
#[derive(Clone)]
pub struct Terminals {
    sessions: Arc<Mutex<HashMap<String, Arc<Session>>>>,
    keep_detached: Duration,
    /// Where, and how often, a session with a connection records activity
    /// (auto-stop); `None` when nothing stops for being idle.
    activity: Option<(super::store::Db, Duration)>,
}

impl Terminals {
    /// Sessions that stay open `keep_detached` after their last connection dropped.
    pub fn new(keep_detached: Duration) -> Self {
        Self { sessions: Arc::default(), keep_detached, activity: None }
    }

    /// While a connection is attached, a session records activity on its
    /// workstation in `db` every `every`.
    pub fn with_activity(mut self, db: super::store::Db, every: Duration) -> Self {
        self.activity = Some((db, every));
        self
    }

    /// How long a session without a connection keeps its shell.
    pub fn keep_detached(&self) -> Duration {
        self.keep_detached
    }

    /// Closes sessions left without a connection for longer than they are
    /// kept, until the task is dropped.
    pub async fn reap_forever(self) {
        let every = (self.keep_detached / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
        loop {
            tokio::time::sleep(every).await;
            let expired: Vec<Arc<Session>> = {
                let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
                sessions
                    .values()
                    .filter(|s| s.detached_for().is_some_and(|d| d >= self.keep_detached))
                    .cloned()
                    .collect()
            };
            for session in expired {
                tracing::info!(session = %session.id, workstation = %session.workstation_id, "closing a terminal nobody came back to");
                session.close();
                self.forget(&session.id);
            }
        }
    }

    /// Starts a shell in `ws` (of `owner_id`) through `provisioner`.
    pub async fn open(
        &self,
        provisioner: &dyn Provisioner,
        ws: &Workstation,
        owner_id: i64,
        request: &ShellRequest,
    ) -> Result<Arc<Session>, ShellRefusal> {
        let shell = provisioner.open_shell(ws, request).await?;
        let id = format!("term-{:016x}", rand::random::<u64>());
        let (input, inputs) = mpsc::channel(64);
        let session = Arc::new(Session {
            id: id.clone(),
            workstation_id: ws.id.clone(),
            owner_id,
            input,
            output: Mutex::new(Output { kept: VecDeque::new(), start: 0, live: broadcast::channel(256).0 }),
            exited: watch::channel(None).0,
            attached: AtomicUsize::new(0),
            detached_at: Mutex::new(Some(Instant::now())),
            pump: Mutex::new(None),
        });
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).insert(id, session.clone());
        let task = tokio::spawn(pump(shell, inputs, session.clone(), self.clone()));
        *session.pump.lock().unwrap_or_else(PoisonError::into_inner) = Some(task.abort_handle());
        Ok(session)
    }

    /// The session `id` of `owner_id` on workstation `ws_id`, if it is open.
    pub fn find(&self, id: &str, owner_id: i64, ws_id: &str) -> Option<Arc<Session>> {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.get(id).filter(|s| s.owner_id == owner_id && s.workstation_id == ws_id).cloned()
    }

    /// How many sessions are open.
    pub fn count(&self) -> usize {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn forget(&self, id: &str) {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
    }
}

/// Moves output to the session until the shell ends; its input goes through
/// a task of its own, so a shell slow to read its input never holds up its
/// output (a command that writes as it reads would otherwise stall both).
async fn pump(shell: Shell, inputs: mpsc::Receiver<Input>, session: Arc<Session>, terminals: Terminals) {
    let Shell { mut output, input, control } = shell;
    let control: Arc<dyn ShellControl> = Arc::from(control);
    let writer = AbortOnDrop(tokio::spawn(write_input(input, inputs, control.clone())));
    let every = terminals.activity.as_ref().map_or(Duration::from_secs(3600), |(_, every)| *every);
    let mut activity = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = activity.tick(), if terminals.activity.is_some() => {
                if let Some((db, _)) = &terminals.activity {
                    if session.attached.load(Ordering::Acquire) > 0 {
                        super::auto_stop::terminal_activity(db, session.owner_id, &session.workstation_id).await;
                    }
                }
            },
            chunk = output.next() => match chunk {
                Some(bytes) => session.push(bytes),
                None => break,
            },
        }
    }
    drop(writer);
    let code = control.exit_code().await;
    session.exited.send_replace(Some(code));
    terminals.forget(&session.id);
}

/// Writes what arrives to the shell's input, and resizes its terminal.
async fn write_input(
    stdin: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    mut inputs: mpsc::Receiver<Input>,
    control: Arc<dyn ShellControl>,
) {
    let mut stdin = Some(stdin);
    while let Some(input) = inputs.recv().await {
        match input {
            Input::Data(bytes) => {
                if let Some(writer) = stdin.as_mut() {
                    if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                        stdin = None;
                    }
                }
            }
            Input::Resize(cols, rows) => {
                if let Err(e) = control.resize(cols, rows).await {
                    tracing::debug!(reason = %e.0, "terminal resize refused");
                }
            }
            Input::Eof => {
                if let Some(mut writer) = stdin.take() {
                    let _ = writer.shutdown().await;
                }
            }
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A shell and the output it wrote.
pub struct Session {
    pub id: String,
    pub workstation_id: String,
    pub owner_id: i64,
    input: mpsc::Sender<Input>,
    output: Mutex<Output>,
    /// `Some(exit status)` once the shell ended.
    exited: watch::Sender<Option<Option<i64>>>,
    attached: AtomicUsize,
    /// When its last connection dropped; `None` while one is attached.
    detached_at: Mutex<Option<Instant>>,
    /// The task moving its output, ended when nobody comes back.
    pump: Mutex<Option<tokio::task::AbortHandle>>,
}

struct Output {
    /// The newest output, at most [`REPLAY_BYTES`].
    kept: VecDeque<u8>,
    /// The offset of `kept[0]` in everything written.
    start: u64,
    /// Each chunk as it arrives, with its offset.
    live: broadcast::Sender<(u64, Arc<[u8]>)>,
}

/// What a connection attached to a session gets.
pub struct Attachment {
    /// The output from `from` (or the oldest kept) up to now.
    pub replay: Vec<u8>,
    /// The offset `replay` starts at (later than asked when that was dropped).
    pub from: u64,
    /// Output from then on.
    pub live: broadcast::Receiver<(u64, Arc<[u8]>)>,
    /// Set once the shell ended, with its exit status.
    pub exited: watch::Receiver<Option<Option<i64>>>,
    session: Arc<Session>,
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if self.session.attached.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.session.detached_at.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        }
    }
}

impl Session {
    fn push(&self, bytes: Vec<u8>) {
        let mut out = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        let offset = out.start + out.kept.len() as u64;
        out.kept.extend(bytes.iter().copied());
        let excess = out.kept.len().saturating_sub(REPLAY_BYTES);
        out.kept.drain(..excess);
        out.start += excess as u64;
        let _ = out.live.send((offset, Arc::from(bytes)));
    }

    /// Attaches a connection that has read everything before `from`
    /// (`None`: a new connection, which gets everything kept).
    pub fn attach(self: &Arc<Self>, from: Option<u64>) -> Attachment {
        let out = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        let end = out.start + out.kept.len() as u64;
        let from = from.unwrap_or(0).clamp(out.start, end);
        let skip = usize::try_from(from - out.start).unwrap_or(usize::MAX);
        let replay: Vec<u8> = out.kept.iter().skip(skip).copied().collect();
        let live = out.live.subscribe();
        drop(out);
        self.attached.fetch_add(1, Ordering::AcqRel);
        *self.detached_at.lock().unwrap_or_else(PoisonError::into_inner) = None;
        Attachment { replay, from, live, exited: self.exited.subscribe(), session: self.clone() }
    }

    /// Sends input to the shell; false once it has ended.
    pub async fn send(&self, input: Input) -> bool {
        self.input.send(input).await.is_ok()
    }

    /// Ends the session: closes the shell's input (a shell exits at the end
    /// of its input) and drops its connection to the engine.
    pub fn close(&self) {
        let _ = self.input.try_send(Input::Eof);
        if let Some(pump) = self.pump.lock().unwrap_or_else(PoisonError::into_inner).take() {
            pump.abort();
        }
    }

    /// How long it has had no connection, if it has none.
    fn detached_for(&self) -> Option<Duration> {
        self.detached_at.lock().unwrap_or_else(PoisonError::into_inner).map(|at| at.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::engine::{BoxFuture, Failure, ShellControl};

    struct Fixed;
    impl ShellControl for Fixed {
        fn resize(&self, _: u16, _: u16) -> BoxFuture<'_, Result<(), Failure>> {
            Box::pin(async { Ok(()) })
        }
        fn exit_code(&self) -> BoxFuture<'_, Option<i64>> {
            Box::pin(async { Some(0) })
        }
    }

    fn session() -> Arc<Session> {
        Arc::new(Session {
            id: "t".into(),
            workstation_id: "ws".into(),
            owner_id: 1,
            input: mpsc::channel(1).0,
            output: Mutex::new(Output { kept: VecDeque::new(), start: 0, live: broadcast::channel(8).0 }),
            exited: watch::channel(None).0,
            attached: AtomicUsize::new(0),
            detached_at: Mutex::new(None),
            pump: Mutex::new(None),
        })
    }

    #[test]
    fn a_reconnect_gets_what_it_missed_and_no_more() {
        let s = session();
        s.push(b"hello ".to_vec());
        s.push(b"world".to_vec());
        let all = s.attach(None);
        assert_eq!((all.from, all.replay.as_slice()), (0, &b"hello world"[..]));
        let rest = s.attach(Some(6));
        assert_eq!((rest.from, rest.replay.as_slice()), (6, &b"world"[..]));
        let beyond = s.attach(Some(99));
        assert_eq!((beyond.from, beyond.replay.len()), (11, 0));
    }

    #[test]
    fn only_the_newest_output_is_kept() {
        let s = session();
        s.push(vec![b'a'; REPLAY_BYTES]);
        s.push(b"tail".to_vec());
        let old = s.attach(Some(0));
        assert_eq!(old.from, 4, "the first bytes are gone");
        assert_eq!(old.replay.len(), REPLAY_BYTES);
        assert!(old.replay.ends_with(b"tail"));
    }

    #[test]
    fn detached_time_counts_from_the_last_connection() {
        let s = session();
        let a = s.attach(None);
        let b = s.attach(None);
        drop(a);
        assert!(s.detached_for().is_none());
        drop(b);
        assert!(s.detached_for().is_some());
        let _ = Fixed;
    }
}

/// Why a terminal cannot be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The owner has no such workstation.
    NotFound,
    /// It is not running (its status and phase, and what it allows).
    NotRunning {
        status: crate::domain::WorkstationStatus,
        phase: Option<crate::domain::Phase>,
        allowed: Vec<crate::domain::Action>,
    },
    /// Its provisioner makes workstations without a shell (its kind).
    NotAvailable(&'static str),
    /// The engine failed, in words.
    Failed(String),
    Backend(super::Error),
}

impl From<super::Error> for OpenError {
    fn from(e: super::Error) -> Self {
        Self::Backend(e)
    }
}

/// Opens a new terminal session on the owner's running workstation `id`:
/// `command` (default: the configured shell) with a TTY of `size`, or
/// without a TTY for one command's output.
pub async fn open(
    state: &super::AppState,
    owner: &super::store::User,
    id: &str,
    command: Option<Vec<String>>,
    tty: bool,
    size: Option<(u16, u16)>,
) -> Result<Arc<Session>, OpenError> {
    use crate::domain::{allowed_actions, WorkstationStatus};
    let Some(ws) = super::store::get_workstation_state(&state.pool, owner.id, id).await? else {
        return Err(OpenError::NotFound);
    };
    let provisioner = state.engine.provisioner();
    let status = ws.workstation.status;
    if status != WorkstationStatus::Running || ws.phase.is_some() {
        // Said first when nothing could ever run here.
        if !provisioner.has_terminal() {
            return Err(OpenError::NotAvailable(provisioner.kind()));
        }
        let allowed = allowed_actions(status, ws.phase.as_ref());
        return Err(OpenError::NotRunning { status, phase: ws.phase, allowed });
    }
    let request =
        ShellRequest { command: command.unwrap_or_else(|| state.settings.shell_command()), tty, size };
    state.terminals.open(provisioner.as_ref(), &ws.workstation, owner.id, &request).await.map_err(|refused| {
        match refused {
            ShellRefusal::NotAvailable(_) => OpenError::NotAvailable(provisioner.kind()),
            ShellRefusal::Failed(failure) => OpenError::Failed(failure.0),
        }
    })
}
