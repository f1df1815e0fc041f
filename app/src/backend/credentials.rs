//! Credentials this instance accepted a moment ago, remembered for at most
//! [`FRESH_FOR`] so a busy client does not pay a database round trip on
//! every request to learn again what the last one learned.
//!
//! Revocation still holds:
//! - Every store function that takes a credential away (revoking a token or
//!   moving its expiry, ending sessions, disabling or deleting a user) calls
//!   [`changed`] once its change is committed; deleting a project, which
//!   runs in a transaction, calls it after the commit (`projects::delete`).
//!   A new way of taking a credential away must do the same.
//!   That forgets everything this process remembers, so the very next request
//!   asks the database again.
//! - A change made by another process (another instance on PostgreSQL, the
//!   `atelier` command line) is seen within [`FRESH_FOR`]: the same second in
//!   which open streams learn of it (they ask the database themselves).
//! - Only credentials that stay valid for longer than [`FRESH_FOR`] are
//!   remembered, so none is accepted past its expiry.
//!
//! Refusals are never remembered: a token made a moment ago works at once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::auth::{Principal, Scope};
use super::store::User;

/// How long an accepted credential is trusted without asking the database.
pub const FRESH_FOR: Duration = Duration::from_secs(1);
/// At most this many credentials of each kind are remembered.
const MAX_ENTRIES: usize = 10_000;

/// Bumped by every change that takes a credential away, in this process.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Tells every cache in this process that a credential was taken away: what
/// they remember from before is no longer trusted. Call it after the change
/// is committed.
pub fn changed() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// The generation to note before asking the database: an answer read while
/// a revocation commits is then already out of date when stored.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

/// The credentials one server accepted lately, by the hash of their secret.
#[derive(Default)]
pub struct Credentials {
    tokens: Remembered<String, (Principal, Scope)>,
    sessions: Remembered<String, User>,
}

impl Credentials {
    /// The principal and scope of the token with this hash, if accepted lately.
    pub fn token(&self, hash: &str) -> Option<(Principal, Scope)> {
        self.tokens.get(hash)
    }

    /// Remembers a token's owner and scope, read from the database in
    /// generation `since`.
    pub fn remember_token(&self, hash: String, accepted: (Principal, Scope), since: u64) {
        self.tokens.put(hash, accepted, since);
    }

    /// The user of the session with this hash, if accepted lately.
    pub fn session(&self, hash: &str) -> Option<User> {
        self.sessions.get(hash)
    }

    /// Remembers a session's user, read from the database in generation `since`.
    pub fn remember_session(&self, hash: String, user: User, since: u64) {
        self.sessions.put(hash, user, since);
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").finish_non_exhaustive()
    }
}

struct Entry<V> {
    value: V,
    at: Instant,
    generation: u64,
}

impl<V> Entry<V> {
    fn fresh(&self, now: Instant, generation: u64) -> bool {
        self.generation == generation && now.duration_since(self.at) < FRESH_FOR
    }
}

struct Remembered<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
}

impl<K, V> Default for Remembered<K, V> {
    fn default() -> Self {
        Self { entries: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash + std::borrow::Borrow<str>, V: Clone> Remembered<K, V> {
    fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(key)?;
        entry.fresh(Instant::now(), generation()).then(|| entry.value.clone())
    }

    fn put(&self, key: K, value: V, since: u64) {
        let now = Instant::now();
        let current = generation();
        if since != current {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.fresh(now, current));
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, Entry { value, at: now, generation: since });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64) -> User {
        User { id, name: format!("user{id}") }
    }

    #[test]
    fn a_change_forgets_what_was_accepted_before_it() {
        let cache = Credentials::default();
        // Other tests in this process may take credentials away meanwhile:
        // the hit is asserted for a round no change interrupted.
        let remembered = (0..100).any(|_| {
            let since = generation();
            cache.remember_session("a".into(), user(1), since);
            let got = cache.session("a");
            generation() == since && got == Some(user(1))
        });
        assert!(remembered, "an accepted session is remembered");
        changed();
        assert_eq!(cache.session("a"), None, "taken away: ask the database again");
    }

    #[test]
    fn an_answer_read_before_a_change_is_not_remembered() {
        let cache = Credentials::default();
        let since = generation();
        // A revocation commits while the database answers the lookup.
        changed();
        cache.remember_session("b".into(), user(2), since);
        assert_eq!(cache.session("b"), None);
    }

    #[test]
    fn entries_stay_bounded() {
        let cache = Credentials::default();
        for i in 0..(MAX_ENTRIES as i64 + 10) {
            cache.remember_session(format!("s{i}"), user(i), generation());
        }
        let held = cache.sessions.entries.lock().unwrap().len();
        assert!(held <= MAX_ENTRIES, "{held} entries");
    }
}
