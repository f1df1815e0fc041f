//! Open event streams: counted per user, so one user cannot hold every
//! connection the server has, and in total for the metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The streams open now.
#[derive(Clone)]
pub struct Streams {
    inner: Arc<Inner>,
}

struct Inner {
    per_user: Mutex<HashMap<i64, usize>>,
    limit: usize,
}

impl Streams {
    /// A registry that lets each user hold `limit` streams at once.
    pub fn new(limit: usize) -> Self {
        Self { inner: Arc::new(Inner { per_user: Mutex::new(HashMap::new()), limit: limit.max(1) }) }
    }

    /// How many streams one user may hold.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// Takes a slot for a stream of `user`; `None` when they hold the limit.
    /// The slot is given back when dropped.
    pub fn open(&self, user: i64) -> Option<StreamSlot> {
        let mut per_user = self.inner.per_user.lock().unwrap_or_else(PoisonError::into_inner);
        let held = per_user.entry(user).or_insert(0);
        if *held >= self.inner.limit {
            return None;
        }
        *held += 1;
        Some(StreamSlot { streams: self.clone(), user })
    }

    /// Streams open now, of every user.
    pub fn open_count(&self) -> usize {
        self.inner.per_user.lock().unwrap_or_else(PoisonError::into_inner).values().sum()
    }
}

/// One open stream's place; dropping it closes the place.
pub struct StreamSlot {
    streams: Streams,
    user: i64,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut per_user = self.streams.inner.per_user.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = per_user.get_mut(&self.user) {
            *held -= 1;
            if *held == 0 {
                per_user.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Streams;

    #[test]
    fn slots_are_limited_per_user_and_given_back() {
        let streams = Streams::new(2);
        let a = streams.open(1).expect("first");
        let _b = streams.open(1).expect("second");
        assert!(streams.open(1).is_none(), "a third is over the limit");
        let _other = streams.open(2).expect("another user has their own");
        assert_eq!(streams.open_count(), 3);
        drop(a);
        assert!(streams.open(1).is_some(), "a closed stream frees its slot");
        assert_eq!(streams.open_count(), 2);
    }
}
