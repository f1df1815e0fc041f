//! Open event streams: counted per user, so one user cannot hold every
//! connection the server has, and in total for the metrics; and the
//! credentials they were opened with, checked together in the background so
//! a revoked token or an ended session closes its streams within a second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use crate::backend::store::Db;
use tokio::sync::watch;

use super::store;

/// The streams open now.
#[derive(Clone)]
pub struct Streams {
    inner: Arc<Inner>,
}

struct Inner {
    per_user: Mutex<HashMap<i64, usize>>,
    limit: usize,
    /// Per credential: how many open streams hold it, and whether it was found revoked.
    openers: Mutex<HashMap<Opener, Watched>>,
}

struct Watched {
    holders: usize,
    revoked: watch::Sender<bool>,
}

/// What opened a stream, as the database knows it: the hash of a token or
/// of a session cookie (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Opener {
    Token(String),
    Session(String),
}

/// How often the credentials of open streams are checked.
pub const RECHECK: Duration = Duration::from_secs(1);

impl Streams {
    /// A registry that lets each user hold `limit` streams at once.
    pub fn new(limit: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                per_user: Mutex::new(HashMap::new()),
                limit: limit.max(1),
                openers: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// How many streams one user may hold.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// Takes a slot for a stream of `user` opened with `opener`; `None` when
    /// they hold the limit. The slot is given back when dropped.
    pub fn open(&self, user: i64, opener: Option<Opener>) -> Option<StreamSlot> {
        {
            let mut per_user = self.inner.per_user.lock().unwrap_or_else(PoisonError::into_inner);
            let held = per_user.entry(user).or_insert(0);
            if *held >= self.inner.limit {
                return None;
            }
            *held += 1;
        }
        let revoked = opener.as_ref().map(|opener| {
            let mut openers = self.inner.openers.lock().unwrap_or_else(PoisonError::into_inner);
            let watched = openers
                .entry(opener.clone())
                .or_insert_with(|| Watched { holders: 0, revoked: watch::channel(false).0 });
            watched.holders += 1;
            watched.revoked.subscribe()
        });
        Some(StreamSlot { streams: self.clone(), user, opener, revoked })
    }

    /// Streams open now, of every user.
    pub fn open_count(&self) -> usize {
        self.inner.per_user.lock().unwrap_or_else(PoisonError::into_inner).values().sum()
    }

    /// Checks the credentials of all open streams every [`RECHECK`], two
    /// queries a round however many streams there are, and tells the streams
    /// of those no longer accepted. Ends when the registry is dropped.
    pub fn watch_credentials(&self, pool: Db) {
        let inner = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(RECHECK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(inner) = Weak::upgrade(&inner) else { return };
                if let Err(e) = check(&inner, &pool).await {
                    // A database hiccup is not a reason to drop a client.
                    tracing::warn!(error = %e, "cannot check the credentials of open streams");
                }
            }
        });
    }
}

async fn check(inner: &Inner, pool: &Db) -> Result<(), super::Error> {
    let openers: Vec<Opener> = {
        let openers = inner.openers.lock().unwrap_or_else(PoisonError::into_inner);
        openers.iter().filter(|(_, w)| !*w.revoked.borrow()).map(|(o, _)| o.clone()).collect()
    };
    let (mut tokens, mut sessions) = (Vec::new(), Vec::new());
    for opener in &openers {
        match opener {
            Opener::Token(hash) => tokens.push(hash.as_str()),
            Opener::Session(hash) => sessions.push(hash.as_str()),
        }
    }
    let live_tokens =
        if tokens.is_empty() { Default::default() } else { store::live_token_hashes(pool, &tokens).await? };
    let live_sessions = if sessions.is_empty() {
        Default::default()
    } else {
        store::live_session_hashes(pool, &sessions).await?
    };
    let openers_now = inner.openers.lock().unwrap_or_else(PoisonError::into_inner);
    for opener in &openers {
        let live = match opener {
            Opener::Token(hash) => live_tokens.contains(hash),
            Opener::Session(hash) => live_sessions.contains(hash),
        };
        if !live {
            if let Some(watched) = openers_now.get(opener) {
                watched.revoked.send_replace(true);
            }
        }
    }
    Ok(())
}

/// One open stream's place; dropping it closes the place.
pub struct StreamSlot {
    streams: Streams,
    user: i64,
    opener: Option<Opener>,
    revoked: Option<watch::Receiver<bool>>,
}

impl StreamSlot {
    /// Resolves once the stream's credential is no longer accepted (never,
    /// for a stream opened without one).
    pub async fn revoked(&mut self) {
        match &mut self.revoked {
            Some(revoked) => {
                if revoked.wait_for(|revoked| *revoked).await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending().await,
        }
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let inner = &self.streams.inner;
        {
            let mut per_user = inner.per_user.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(held) = per_user.get_mut(&self.user) {
                *held -= 1;
                if *held == 0 {
                    per_user.remove(&self.user);
                }
            }
        }
        if let Some(opener) = &self.opener {
            let mut openers = inner.openers.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(watched) = openers.get_mut(opener) {
                watched.holders -= 1;
                if watched.holders == 0 {
                    openers.remove(opener);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Opener, Streams};

    #[test]
    fn slots_are_limited_per_user_and_given_back() {
        let streams = Streams::new(2);
        let a = streams.open(1, None).expect("first");
        let _b = streams.open(1, None).expect("second");
        assert!(streams.open(1, None).is_none(), "a third is over the limit");
        let _other = streams.open(2, None).expect("another user has their own");
        assert_eq!(streams.open_count(), 3);
        drop(a);
        assert!(streams.open(1, None).is_some(), "a closed stream frees its slot");
        assert_eq!(streams.open_count(), 2);
    }

    #[test]
    fn credentials_are_watched_while_a_stream_holds_them() {
        let streams = Streams::new(8);
        let token = Opener::Token("h".into());
        let a = streams.open(1, Some(token.clone())).unwrap();
        let b = streams.open(1, Some(token.clone())).unwrap();
        let watched = || streams.inner.openers.lock().unwrap().get(&token).map(|w| w.holders);
        assert_eq!(watched(), Some(2), "one entry for both streams");
        drop(a);
        assert_eq!(watched(), Some(1));
        drop(b);
        assert_eq!(watched(), None, "forgotten with its last stream");
    }
}
