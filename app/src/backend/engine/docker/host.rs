//! One container engine: its client, made when first needed (and again
//! after the engine was unreachable), and its errors in words.

use std::sync::Mutex;

use bollard::errors::Error as EngineError;
use bollard::Docker;

use super::settings::HostSpec;
use crate::backend::engine::Failure;

/// The API version asked for before the engine says its own: the version
/// Podman 4's compatible service speaks, which Docker Engine also serves.
const FIRST_VERSION: bollard::ClientVersion = bollard::ClientVersion { major_version: 1, minor_version: 41 };

/// How long one call to the engine may take.
const CALL_TIMEOUT_SECS: u64 = 120;

/// A container engine workstations run on.
pub struct Host {
    pub spec: HostSpec,
    client: tokio::sync::Mutex<Option<Docker>>,
    /// What the last contact said: `Ok(version)` or why it failed.
    pub last_seen: Mutex<Result<String, String>>,
}

impl Host {
    pub fn new(spec: HostSpec) -> Self {
        Self {
            spec,
            client: tokio::sync::Mutex::new(None),
            last_seen: Mutex::new(Err("not contacted yet".to_owned())),
        }
    }

    /// How messages to users name this engine: by name only (its address
    /// is the operator's, and goes to the log).
    pub fn describe(&self) -> String {
        format!("the container engine {}", self.spec.name)
    }

    /// A client that has talked to the engine (its API version agreed).
    pub async fn client(&self) -> Result<Docker, Failure> {
        let mut client = self.client.lock().await;
        if let Some(docker) = client.as_ref() {
            return Ok(docker.clone());
        }
        let connected = match self.spec.url.strip_prefix("unix://") {
            Some(path) => Docker::connect_with_unix(path, CALL_TIMEOUT_SECS, &FIRST_VERSION),
            None => Docker::connect_with_http(&self.spec.url, CALL_TIMEOUT_SECS, &FIRST_VERSION),
        };
        let docker = connected.map_err(|e| self.unreachable(&e))?;
        let docker = docker.negotiate_version().await.map_err(|e| self.unreachable(&e))?;
        *client = Some(docker.clone());
        Ok(docker)
    }

    /// Records how a call went; a failed connection is made anew next time.
    pub async fn saw<T>(&self, result: &Result<T, EngineError>) {
        if let Err(e) = result {
            self.saw_error(e).await;
        }
    }

    /// Records a failed call; a failed connection is made anew next time.
    pub async fn saw_error(&self, e: &EngineError) {
        if is_unreachable(e) {
            *self.client.lock().await = None;
            self.set_seen(Err(unreachable_words(e)));
        }
    }

    pub fn set_seen(&self, seen: Result<String, String>) {
        *self.last_seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = seen;
    }

    /// Asks the engine its version: for `/readyz` and the reconciler.
    pub async fn check(&self) -> Result<String, String> {
        let seen = match self.client().await {
            Ok(docker) => {
                let version = docker.version().await;
                self.saw(&version).await;
                version
                    .map(|v| {
                        let name = v
                            .components
                            .and_then(|c| c.into_iter().next().map(|c| c.name))
                            .unwrap_or_else(|| "Docker Engine".to_owned());
                        format!("{name} {}", v.version.unwrap_or_default())
                    })
                    .map_err(|e| unreachable_words(&e))
            }
            Err(Failure(reason)) => Err(reason),
        };
        self.set_seen(seen.clone());
        seen
    }

    fn unreachable(&self, e: &EngineError) -> Failure {
        let words = unreachable_words(e);
        tracing::warn!(engine = %self.spec.name, url = %self.spec.url, error = %e, "cannot reach the container engine");
        self.set_seen(Err(words.clone()));
        Failure(format!("Cannot reach {}: {words}", self.describe()))
    }

    /// An engine error in words for the user, naming the engine when it
    /// could not be reached and what was being done.
    pub fn failure(&self, doing: &str, e: &EngineError) -> Failure {
        if is_unreachable(e) {
            return self.unreachable(e);
        }
        Failure(format!("{doing} failed on {}: {}", self.describe(), engine_words(e)))
    }
}

/// Whether `e` says the engine could not be reached at all.
pub fn is_unreachable(e: &EngineError) -> bool {
    matches!(
        e,
        EngineError::SocketNotFoundError(_)
            | EngineError::HyperResponseError { .. }
            | EngineError::IOError { .. }
            | EngineError::RequestTimeoutError
            | EngineError::HyperLegacyError { .. }
    )
}

fn unreachable_words(e: &EngineError) -> String {
    match e {
        EngineError::SocketNotFoundError(_) => "its socket does not exist".to_owned(),
        EngineError::RequestTimeoutError => "it did not answer in time".to_owned(),
        other => first_line(&other.to_string()),
    }
}

/// Whether the engine answered 404 (no such container, volume or image).
pub fn is_not_found(e: &EngineError) -> bool {
    matches!(e, EngineError::DockerResponseServerError { status_code: 404, .. })
}

/// Whether the engine answered 304 (already started or stopped).
pub fn is_not_modified(e: &EngineError) -> bool {
    matches!(e, EngineError::DockerResponseServerError { status_code: 304, .. })
}

/// What the engine said, in words a user can act on.
pub fn engine_words(e: &EngineError) -> String {
    let EngineError::DockerResponseServerError { status_code, message } = e else {
        return first_line(&e.to_string());
    };
    let said = first_line(message);
    let lower = said.to_ascii_lowercase();
    if lower.contains("no such image") || lower.contains("image not known") {
        format!("the image is not on the engine ({said})")
    } else if lower.contains("could not select device driver") || lower.contains("unresolvable cdi devices") {
        format!("the engine has no such GPU device or no driver for it ({said})")
    } else if lower.contains("out of memory") || lower.contains("cannot allocate memory") {
        format!("the host is out of memory ({said})")
    } else if lower.contains("no space left") {
        format!("the host's disk is full ({said})")
    } else {
        format!("the engine answered {status_code}: {said}")
    }
}

/// The first line of a message, at most 300 characters.
pub fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    match line.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}
