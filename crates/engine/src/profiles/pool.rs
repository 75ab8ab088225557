//! A small LRU pool of open profiles, so switching between a few profiles is instant while
//! profiles nobody touched for a while give back their memory (database connections, the
//! memory-mapped vector index, a loaded model session).
//!
//! The pool hands out `Arc`s: evicting an entry only drops the pool's reference, so a search
//! or an index run holding the profile finishes undisturbed and the profile closes when it
//! ends. Generic over the pooled value so its policy is tested without opening engines.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Result;

/// The pool's counters, reported by `ferret profile stats` and the engine API.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
pub struct PoolStats {
    pub capacity: usize,
    pub idle_ttl_secs: u64,
    pub open: usize,
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
}

struct Entry<T> {
    id: String,
    value: Arc<T>,
    last_used: Instant,
}

struct Inner<T> {
    /// Least recently used first.
    entries: Vec<Entry<T>>,
    hits: u64,
    misses: u64,
    evictions: u64,
}

pub struct ProfilePool<T> {
    capacity: usize,
    idle_ttl: Duration,
    inner: Mutex<Inner<T>>,
}

impl<T> ProfilePool<T> {
    /// A pool holding at most `capacity` (at least 1) profiles, each closed after `idle_ttl`
    /// without use.
    pub fn new(capacity: usize, idle_ttl: Duration) -> Self {
        ProfilePool {
            capacity: capacity.max(1),
            idle_ttl,
            inner: Mutex::new(Inner {
                entries: Vec::new(),
                hits: 0,
                misses: 0,
                evictions: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The open profile `id`, opening it with `open` on a miss. Idle entries are closed
    /// first, then the least recently used one if the pool is full.
    pub fn get(&self, id: &str, open: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        self.get_at(id, Instant::now(), open)
    }

    fn get_at(&self, id: &str, now: Instant, open: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        let mut inner = self.lock();
        self.sweep_locked(&mut inner, now);
        if let Some(pos) = inner.entries.iter().position(|e| e.id == id) {
            let mut entry = inner.entries.remove(pos);
            entry.last_used = now;
            let value = entry.value.clone();
            inner.entries.push(entry);
            inner.hits += 1;
            return Ok(value);
        }
        inner.misses += 1;
        // Opening happens under the lock: two callers asking for the same profile must not
        // open it twice (two engines each keeping a vector index in step), and opening is
        // milliseconds.
        let value = Arc::new(open()?);
        while inner.entries.len() >= self.capacity {
            inner.entries.remove(0);
            inner.evictions += 1;
        }
        inner.entries.push(Entry {
            id: id.to_string(),
            value: value.clone(),
            last_used: now,
        });
        Ok(value)
    }

    /// Closes profiles idle for longer than the TTL; returns how many.
    pub fn sweep(&self) -> usize {
        let mut inner = self.lock();
        self.sweep_locked(&mut inner, Instant::now())
    }

    fn sweep_locked(&self, inner: &mut Inner<T>, now: Instant) -> usize {
        let before = inner.entries.len();
        let ttl = self.idle_ttl;
        inner
            .entries
            .retain(|e| now.saturating_duration_since(e.last_used) <= ttl);
        let evicted = before - inner.entries.len();
        inner.evictions += evicted as u64;
        evicted
    }

    /// Drops profile `id` from the pool (before deleting it); true if it was open.
    pub fn remove(&self, id: &str) -> bool {
        let mut inner = self.lock();
        let before = inner.entries.len();
        inner.entries.retain(|e| e.id != id);
        before != inner.entries.len()
    }

    /// The ids currently open, least recently used first.
    pub fn open_ids(&self) -> Vec<String> {
        self.lock().entries.iter().map(|e| e.id.clone()).collect()
    }

    pub fn stats(&self) -> PoolStats {
        let inner = self.lock();
        PoolStats {
            capacity: self.capacity,
            idle_ttl_secs: self.idle_ttl.as_secs(),
            open: inner.entries.len(),
            hits: inner.hits,
            misses: inner.misses,
            evictions: inner.evictions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn hits_misses_and_lru_eviction() {
        let pool = ProfilePool::new(2, Duration::from_secs(60));
        let opened = Cell::new(0);
        let open = |id: &str| {
            opened.set(opened.get() + 1);
            Ok(id.to_string())
        };
        assert_eq!(*pool.get("a", || open("a")).unwrap(), "a");
        pool.get("b", || open("b")).unwrap();
        pool.get("a", || open("a")).unwrap(); // hit; b is now least recent
        pool.get("c", || open("c")).unwrap(); // evicts b
        assert_eq!(pool.open_ids(), ["a", "c"]);
        pool.get("b", || open("b")).unwrap(); // evicts a
        assert_eq!(pool.open_ids(), ["c", "b"]);
        let s = pool.stats();
        assert_eq!((s.hits, s.misses, s.evictions, s.open), (1, 4, 2, 2));
        assert_eq!(opened.get(), 4);
    }

    #[test]
    fn idle_profiles_are_closed_after_the_ttl() {
        let pool = ProfilePool::new(4, Duration::from_secs(10));
        let t0 = Instant::now();
        pool.get_at("a", t0, || Ok(1)).unwrap();
        pool.get_at("b", t0 + Duration::from_secs(8), || Ok(2))
            .unwrap();
        // At t0+15 s, a (idle 15 s) goes, b (idle 7 s) stays.
        pool.get_at("b", t0 + Duration::from_secs(15), || Ok(3))
            .unwrap();
        assert_eq!(pool.open_ids(), ["b"]);
        assert_eq!(pool.stats().evictions, 1);
        assert_eq!(pool.stats().hits, 1);
    }

    #[test]
    fn a_failed_open_is_not_cached_and_removal_works() {
        let pool: ProfilePool<u8> = ProfilePool::new(2, Duration::from_secs(60));
        assert!(pool
            .get("x", || Err(crate::Error::NotFound("no".into())))
            .is_err());
        assert!(pool.open_ids().is_empty());
        let held = pool.get("x", || Ok(5)).unwrap();
        assert!(pool.remove("x"));
        assert!(!pool.remove("x"));
        assert_eq!(*held, 5, "an evicted value stays usable by its holder");
    }
}
