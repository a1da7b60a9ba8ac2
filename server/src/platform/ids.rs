//! Prefixed, sortable ids (`bk_01j...`): the prefix says what the id names.
//!
//! Ids come from one monotonic ULID generator per process, so ids made in the same
//! millisecond still sort in the order they were made (events list in the order they
//! happened, and the API's `after` cursors follow that order).
use std::sync::Mutex;

use ulid::{Generator, Ulid};

static GENERATOR: Mutex<Generator> = Mutex::new(Generator::new());

fn next() -> Ulid {
    GENERATOR
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .generate()
        // Overflow means 2^80 ids in one millisecond; a fresh random id is fine then.
        .unwrap_or_else(|_| Ulid::new())
}

pub fn new(prefix: &str) -> String {
    format!("{prefix}_{}", next().to_string().to_lowercase())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_made_in_a_burst_sort_in_order() {
        let ids: Vec<String> = (0..10_000).map(|_| super::new("evt")).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids[0].starts_with("evt_") && ids[0].len() == 30);
    }
}
