//! Failure counting for the two doors an outsider can knock on: guessed guest links
//! and wrong passwords. Only failures count, so a guest or a manager who gets it right
//! is never slowed; once a key has used up its failures it waits out the window that
//! began with its first one. Counts live in the process (see README, Known issues).
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Keys tracked before expired ones are swept, so a flood of addresses cannot grow the
/// map without bound.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Clone)]
pub struct FailureLimit<K> {
    max: u32,
    window: Duration,
    seen: Arc<Mutex<HashMap<K, (Instant, u32)>>>,
}

impl<K: Hash + Eq> FailureLimit<K> {
    /// `max` failures per key within `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            seen: Arc::default(),
        }
    }

    /// How long `key` must still wait, when it has used up its failures.
    pub fn wait(&self, key: &K) -> Option<Duration> {
        let map = self.seen.lock().ok()?;
        let (since, n) = map.get(key)?;
        let left = self.window.checked_sub(since.elapsed())?;
        (*n >= self.max && !left.is_zero()).then_some(left)
    }

    pub fn failed(&self, key: K) {
        if let Ok(mut map) = self.seen.lock() {
            let e = self.current(&mut map, key);
            e.1 = e.1.saturating_add(1);
        }
    }

    /// `key`'s count in the current window (a new one once its window is over),
    /// sweeping expired keys when the map has grown large.
    fn current<'m>(
        &self,
        map: &'m mut HashMap<K, (Instant, u32)>,
        key: K,
    ) -> &'m mut (Instant, u32) {
        if map.len() > SWEEP_ABOVE {
            let window = self.window;
            map.retain(|_, (since, _)| since.elapsed() < window);
        }
        let e = map.entry(key).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= self.window {
            *e = (Instant::now(), 0);
        }
        e
    }

    /// Counts an attempt as a failure before it is made, unless `key` must wait: the
    /// check and the count are one step, so many attempts at once cannot all pass the
    /// check before the first of them fails. [`FailureLimit::forgive`] takes a
    /// successful one back.
    pub fn attempt(&self, key: K) -> Result<(), Duration> {
        let Ok(mut map) = self.seen.lock() else {
            return Ok(());
        };
        let e = self.current(&mut map, key);
        if e.1 >= self.max {
            return Err(self.window.saturating_sub(e.0.elapsed()));
        }
        e.1 += 1;
        Ok(())
    }

    /// Like [`FailureLimit::attempt`], but only for a key with nothing counted in its
    /// current window: one try, then it waits like any other.
    pub fn first_attempt(&self, key: K) -> Result<(), Duration> {
        let Ok(mut map) = self.seen.lock() else {
            return Ok(());
        };
        let e = self.current(&mut map, key);
        if e.1 > 0 {
            return Err(self.window.saturating_sub(e.0.elapsed()));
        }
        e.1 = 1;
        Ok(())
    }

    /// Takes back one attempt counted by [`FailureLimit::attempt`] that succeeded.
    pub fn forgive(&self, key: &K) {
        if let Ok(mut map) = self.seen.lock()
            && let Some(e) = map.get_mut(key)
        {
            e.1 = e.1.saturating_sub(1);
        }
    }

    /// Forgets `key`'s failures (a right password after a typo).
    pub fn clear(&self, key: &K) {
        if let Ok(mut map) = self.seen.lock() {
            map.remove(key);
        }
    }
}

/// "3 minutes", rounded up, for a message a person reads.
pub fn minutes(wait: Duration) -> String {
    let m = wait.as_secs().div_ceil(60).max(1);
    if m == 1 {
        "1 minute".into()
    } else {
        format!("{m} minutes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_failure_past_the_limit_blocks_and_only_its_key() {
        let limit = FailureLimit::new(3, Duration::from_secs(60));
        limit.failed("a");
        limit.failed("a");
        assert_eq!(limit.wait(&"a"), None);
        limit.failed("a");
        let wait = limit.wait(&"a").expect("blocked after 3");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        assert_eq!(limit.wait(&"b"), None);
        limit.clear(&"a");
        assert_eq!(limit.wait(&"a"), None);
    }

    #[test]
    fn attempts_count_until_the_limit_and_a_success_is_taken_back() {
        let limit = FailureLimit::new(2, Duration::from_secs(60));
        assert_eq!(limit.attempt("a"), Ok(()));
        limit.forgive(&"a");
        assert_eq!(limit.attempt("a"), Ok(()));
        assert_eq!(limit.attempt("a"), Ok(()));
        assert!(limit.attempt("a").is_err(), "a third attempt waits");
        assert!(limit.wait(&"a").is_some());
        assert_eq!(limit.attempt("b"), Ok(()));
    }

    #[test]
    fn a_first_attempt_passes_once_per_window() {
        let limit = FailureLimit::new(5, Duration::from_secs(60));
        assert_eq!(limit.first_attempt("a"), Ok(()));
        assert!(limit.first_attempt("a").is_err());
        limit.clear(&"a");
        assert_eq!(limit.first_attempt("a"), Ok(()));
        limit.failed("b");
        assert!(limit.first_attempt("b").is_err());
    }

    #[test]
    fn the_window_ends_the_block() {
        let limit = FailureLimit::new(1, Duration::from_millis(30));
        limit.failed(1);
        assert!(limit.wait(&1).is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(limit.wait(&1), None);
        // A new failure starts a new window rather than adding to the old one.
        limit.failed(1);
        assert!(limit.wait(&1).is_some());
    }

    #[test]
    fn waits_read_as_whole_minutes() {
        assert_eq!(minutes(Duration::from_secs(5)), "1 minute");
        assert_eq!(minutes(Duration::from_secs(61)), "2 minutes");
        assert_eq!(minutes(Duration::from_secs(900)), "15 minutes");
    }
}
