//! `atelier shell` and `atelier exec`: the terminal WebSocket from a
//! terminal. They talk to a running server (`ATELIER_URL`) with an API token
//! (`ATELIER_TOKEN`), like any script would.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Where the server is and who is asking.
#[derive(Debug, Args, Clone)]
pub struct RemoteArgs {
    /// The server's URL.
    #[arg(long, env = "ATELIER_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// An API token that may change things (not read-only).
    #[arg(long, env = "ATELIER_TOKEN", hide_env_values = true)]
    pub token: String,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl RemoteArgs {
    fn base(&self) -> &str {
        self.url.trim_end_matches('/')
    }

    /// The id of the caller's workstation named `name` (or with that id).
    async fn resolve(&self, name: &str) -> Result<String, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        let get = |url: String| {
            let request = client.get(url).bearer_auth(&self.token);
            async move {
                let res = request.send().await.map_err(|e| format!("cannot reach {}: {e}", self.base()))?;
                let status = res.status();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                Ok::<_, String>((status.as_u16(), body))
            }
        };
        if name.starts_with("ws-") {
            let (status, body) = get(format!("{}/v1/workstations/{name}", self.base())).await?;
            match status {
                200 => return Ok(name.to_owned()),
                404 => {}
                _ => return Err(problem_words(status, &body)),
            }
        }
        let mut page: Option<String> = None;
        loop {
            let mut url = reqwest::Url::parse(&format!("{}/v1/workstations", self.base()))
                .map_err(|e| format!("ATELIER_URL is not a URL: {e}"))?;
            url.query_pairs_mut().append_pair("namePrefix", name).append_pair("limit", "100");
            if let Some(token) = &page {
                url.query_pairs_mut().append_pair("pageToken", token);
            }
            let (status, body) = get(url.to_string()).await?;
            if status != 200 {
                return Err(problem_words(status, &body));
            }
            let found = body["workstations"].as_array().into_iter().flatten().find(|w| w["name"] == name);
            if let Some(id) = found.and_then(|w| w["id"].as_str()) {
                return Ok(id.to_owned());
            }
            match body["nextPageToken"].as_str() {
                Some(next) => page = Some(next.to_owned()),
                None => return Err(format!("you have no workstation named or with id {name:?}")),
            }
        }
    }

    async fn connect(&self, id: &str, query: &str) -> Result<Socket, String> {
        let base = self.base();
        let ws_base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            return Err(format!("ATELIER_URL must start with http:// or https:// (got {base})"));
        };
        let mut request = format!("{ws_base}/v1/workstations/{id}/terminal{query}")
            .into_client_request()
            .map_err(|e| format!("bad terminal URL: {e}"))?;
        let auth =
            format!("Bearer {}", self.token).parse().map_err(|_| "the token is not valid text".to_owned())?;
        request.headers_mut().insert("authorization", auth);
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                let body: Value =
                    res.body().as_deref().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
                Err(problem_words(res.status().as_u16(), &body))
            }
            Err(e) => Err(format!("cannot open the terminal at {base}: {e}")),
        }
    }
}

/// A problem document's words, or the status.
fn problem_words(status: u16, body: &Value) -> String {
    match body["detail"].as_str() {
        Some(detail) => format!("{detail} ({status})"),
        None => format!("the server answered {status}"),
    }
}

/// `atelier exec WORKSTATION -- CMD…`: runs one command, prints its output,
/// and returns its exit status. Standard input is passed to it unless it is a terminal.
pub async fn exec(remote: &RemoteArgs, workstation: &str, command: &[String]) -> Result<i32, String> {
    let id = remote.resolve(workstation).await?;
    let words = serde_json::to_string(command).map_err(|e| e.to_string())?;
    let query = format!("?tty=false&command={}", encode(&words));
    let socket = remote.connect(&id, &query).await?;
    let (mut tx, mut rx) = socket.split();
    let _ = read_session(&mut rx).await?;
    let stdin_is_terminal = std::io::stdin().is_terminal();
    let feed = async move {
        if !stdin_is_terminal {
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n) = stdin.read(&mut buf).await {
                if n == 0 || tx.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                    break;
                }
            }
        }
        let _ = tx.send(Message::Text(json!({"type": "eof"}).to_string().into())).await;
        tx
    };
    let feeding = tokio::spawn(feed);
    let code = print_until_exit(&mut rx).await;
    feeding.abort();
    code?.ok_or_else(|| "the connection closed before the command ended".to_owned())
}

/// `atelier shell WORKSTATION`: an interactive shell in raw mode, resized
/// with the terminal, reconnecting by itself if the connection drops.
/// Returns the shell's exit status.
pub async fn shell(remote: &RemoteArgs, workstation: &str) -> Result<i32, String> {
    let id = remote.resolve(workstation).await?;
    let raw = RawMode::enter();
    let size = terminal_size();
    let mut query = size.map(|(cols, rows)| format!("?cols={cols}&rows={rows}")).unwrap_or_default();
    let mut resumes = 0;
    let (input, mut inputs) = tokio::sync::mpsc::channel::<Message>(64);
    tokio::spawn(read_keys(input.clone()));
    tokio::spawn(watch_size(input));
    loop {
        let socket = remote.connect(&id, &query).await?;
        let (mut tx, mut rx) = socket.split();
        let (session, mut offset) = read_session(&mut rx).await?;
        let outcome = loop {
            tokio::select! {
                message = inputs.recv() => match message {
                    Some(message) => {
                        if tx.send(message).await.is_err() {
                            break None;
                        }
                    }
                    None => break None,
                },
                message = rx.next() => match message {
                    Some(Ok(Message::Binary(bytes))) => {
                        offset += bytes.len() as u64;
                        let mut out = std::io::stdout().lock();
                        let _ = out.write_all(&bytes);
                        let _ = out.flush();
                    }
                    Some(Ok(Message::Text(text))) => {
                        let control: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        if control["type"] == "exit" {
                            break Some(control["code"].as_i64().unwrap_or(1));
                        }
                        if let Some(skipped_to) = control["offset"].as_u64().filter(|_| control["type"] == "offset") {
                            offset = skipped_to;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break None,
                },
            }
        };
        if let Some(code) = outcome {
            drop(raw);
            return Ok(i32::try_from(code).unwrap_or(1));
        }
        resumes += 1;
        if resumes > 5 {
            drop(raw);
            return Err("the connection dropped and could not be resumed".to_owned());
        }
        eprint!("\r\n[atelier: connection lost; reconnecting…]\r\n");
        tokio::time::sleep(Duration::from_millis(500 * resumes)).await;
        query = format!("?session={session}&offset={offset}");
    }
}

/// Reads the first message: the session's id and the offset its output starts at.
async fn read_session(
    rx: &mut (impl futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Result<(String, u64), String> {
    match rx.next().await {
        Some(Ok(Message::Text(text))) => {
            let hello: Value =
                serde_json::from_str(&text).map_err(|e| format!("unexpected first message: {e}"))?;
            Ok((hello["id"].as_str().unwrap_or_default().to_owned(), hello["offset"].as_u64().unwrap_or(0)))
        }
        other => Err(format!("unexpected first message: {other:?}")),
    }
}

/// Copies output to stdout until the exit message; its status.
async fn print_until_exit(
    rx: &mut (impl futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Result<Option<i32>, String> {
    while let Some(message) = rx.next().await {
        match message.map_err(|e| format!("the connection failed: {e}"))? {
            Message::Binary(bytes) => {
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes).map_err(|e| e.to_string())?;
                out.flush().map_err(|e| e.to_string())?;
            }
            Message::Text(text) => {
                let control: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if control["type"] == "exit" {
                    return Ok(Some(control["code"].as_i64().map_or(1, |c| i32::try_from(c).unwrap_or(1))));
                }
            }
            _ => {}
        }
    }
    Ok(None)
}

/// Sends what is typed, as it is typed.
async fn read_keys(input: tokio::sync::mpsc::Sender<Message>) {
    let mut stdin = tokio::io::stdin();
    let mut buf = vec![0u8; 4096];
    while let Ok(n) = stdin.read(&mut buf).await {
        if n == 0 || input.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
            break;
        }
    }
}

/// Sends the terminal's new size on every SIGWINCH.
async fn watch_size(input: tokio::sync::mpsc::Sender<Message>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut changes) = signal(SignalKind::window_change()) else { return };
    while changes.recv().await.is_some() {
        if let Some((cols, rows)) = terminal_size() {
            let resize = json!({"type": "resize", "cols": cols, "rows": rows}).to_string();
            if input.send(Message::Text(resize.into())).await.is_err() {
                break;
            }
        }
    }
}

/// The controlling terminal's size, columns × rows.
fn terminal_size() -> Option<(u16, u16)> {
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes a winsize into the pointer it is given.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0 && size.ws_row > 0).then_some((size.ws_col, size.ws_row))
}

/// The terminal in raw mode (keys as typed, no echo) until dropped.
struct RawMode(Option<libc::termios>);

impl RawMode {
    fn enter() -> Self {
        if !std::io::stdin().is_terminal() {
            return Self(None);
        }
        // SAFETY: tcgetattr fills the termios it is given; cfmakeraw and
        // tcsetattr only read and write that struct and the terminal.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return Self(None);
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw);
            Self(Some(saved))
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            // SAFETY: puts back the settings read in `enter`.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved);
            }
        }
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
