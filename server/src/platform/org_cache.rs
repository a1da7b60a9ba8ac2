//! A short-lived, per-organization memory of what an event subscriber needs on every
//! event (has it webhook endpoints, which notification rules, which calendar
//! connections), so an organization without any costs no query. Changes in this
//! process clear an entry at once ([`OrgCache::forget`]); changes in other processes
//! arrive through the hub ([`OrgCache::watch`]); the time limit covers a lost notice.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Hub;

pub struct OrgCache<T> {
    entries: Mutex<HashMap<String, (Instant, T)>>,
    ttl: Duration,
}

impl<T: Clone + Send + 'static> OrgCache<T> {
    pub fn new(ttl: Duration) -> OrgCache<T> {
        OrgCache {
            entries: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    pub fn get(&self, org_id: &str) -> Option<T> {
        let m = self.entries.lock().ok()?;
        m.get(org_id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, t)| t.clone())
    }

    pub fn put(&self, org_id: &str, value: T) {
        if let Ok(mut m) = self.entries.lock() {
            m.insert(org_id.to_string(), (Instant::now(), value));
        }
    }

    pub fn forget(&self, org_id: &str) {
        if let Ok(mut m) = self.entries.lock() {
            m.remove(org_id);
        }
    }

    /// Clears entries when the hub announces a change of `entity_kind`, from this
    /// process or another; everything when notices were missed. Must run inside the
    /// tokio runtime.
    pub fn watch(&'static self, hub: &Hub, entity_kind: &'static str) {
        let mut rx = hub.subscribe();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(c) if c.entity_kind == entity_kind => self.forget(&c.org_id),
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        if let Ok(mut m) = self.entries.lock() {
                            m.clear();
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_forgotten() {
        let c = OrgCache::new(Duration::from_millis(50));
        c.put("org_a", 1);
        c.put("org_b", 2);
        assert_eq!(c.get("org_a"), Some(1));
        c.forget("org_a");
        assert_eq!(c.get("org_a"), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get("org_b"), None, "too old to trust");
    }
}
