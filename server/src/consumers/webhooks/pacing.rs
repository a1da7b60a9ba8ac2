//! How many deliveries an endpoint gets at once, adapted to how it answers (AIMD, as
//! TCP does it): start generous, double every window of fast answers until the first
//! sign of trouble (slow start), then add one per window; halve on a 429, a 5xx, a
//! timeout or a refused connection, and ease off when answers slow down.
//! A cut happens at most once per [`CUT_SPACING`], so one bad moment with many
//! deliveries in flight halves the limit once, not once per delivery.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where a new endpoint starts.
pub const START: f64 = 16.0;
/// The most an endpoint ever gets at once.
pub const CEILING: f64 = 128.0;
const FLOOR: f64 = 1.0;
const CUT_SPACING: Duration = Duration::from_secs(1);
/// Weight of the newest answer in the running latency average.
const ALPHA: f64 = 0.2;
/// Answers count as slowing once the average is this many times the best seen...
const SLOW_FACTOR: f64 = 3.0;
/// ...and at least this much slower, so a 2 ms receiver taking 8 ms is not "slow".
const SLOW_MARGIN_MS: f64 = 200.0;

/// How one attempt went, as far as the receiver's capacity is concerned.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// Any answer in time that is not a capacity signal (2xx, and 4xx other than 429).
    Answered {
        ms: f64,
    },
    TooMany {
        retry_after: Option<String>,
    },
    ServerError {
        status: u16,
    },
    Timeout,
    Unreachable,
}

/// A change worth recording: the new limit and, for a cut, why.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub limit: i32,
    pub reason: Option<String>,
}

#[derive(Debug)]
struct Lane {
    limit: f64,
    ceiling: f64,
    avg_ms: Option<f64>,
    best_ms: f64,
    last_cut: Option<Instant>,
    /// Until the first cut every fast answer adds one (the limit doubles per window),
    /// so a burst reaches the receiver's pace in a few windows, not thousands.
    slow_start: bool,
    /// The limit last reported, so callers only write real changes.
    reported: i32,
}

impl Lane {
    fn new(ceiling: f64) -> Lane {
        let limit = START.min(ceiling);
        Lane {
            limit,
            ceiling,
            avg_ms: None,
            best_ms: f64::MAX,
            last_cut: None,
            slow_start: true,
            reported: limit as i32,
        }
    }

    fn cut(&mut self, now: Instant, factor: f64) -> bool {
        if self
            .last_cut
            .is_some_and(|at| now.duration_since(at) < CUT_SPACING)
        {
            return false;
        }
        self.last_cut = Some(now);
        self.slow_start = false;
        self.limit = (self.limit * factor).max(FLOOR);
        true
    }

    fn observe(&mut self, answer: &Answer, now: Instant) -> Option<Change> {
        let reason = match answer {
            Answer::Answered { ms } => {
                let avg = self.avg_ms.map_or(*ms, |a| a + ALPHA * (ms - a));
                self.avg_ms = Some(avg);
                self.best_ms = self.best_ms.min(avg);
                let slow = avg > self.best_ms * SLOW_FACTOR && avg > self.best_ms + SLOW_MARGIN_MS;
                if slow && self.cut(now, 0.75) {
                    Some(format!(
                        "answers slowed to {avg:.0} ms on average (fastest {:.0} ms)",
                        self.best_ms
                    ))
                } else {
                    if !slow {
                        let step = if self.slow_start {
                            1.0
                        } else {
                            1.0 / self.limit
                        };
                        self.limit = (self.limit + step).min(self.ceiling);
                    }
                    None
                }
            }
            Answer::TooMany { retry_after } => self.cut(now, 0.5).then(|| match retry_after {
                Some(r) => format!("429 Too Many Requests (Retry-After: {r})"),
                None => "429 Too Many Requests".to_string(),
            }),
            Answer::ServerError { status } => self
                .cut(now, 0.5)
                .then(|| format!("HTTP {status} from the receiver")),
            Answer::Timeout => self
                .cut(now, 0.5)
                .then(|| "a delivery timed out".to_string()),
            Answer::Unreachable => self
                .cut(now, 0.5)
                .then(|| "the receiver could not be reached".to_string()),
        };
        let limit = self.limit.floor() as i32;
        if limit == self.reported && reason.is_none() {
            return None;
        }
        self.reported = limit;
        Some(Change { limit, reason })
    }
}

/// Every endpoint's lane in this process.
#[derive(Default)]
pub struct Pacer {
    lanes: Mutex<HashMap<String, Lane>>,
}

impl Pacer {
    /// Feeds one attempt's answer; returns the new limit when it changed. `ceiling`
    /// is the endpoint's own bound (its rate limit per second, when it has one).
    pub fn observe(&self, endpoint: &str, ceiling: f64, answer: &Answer) -> Option<Change> {
        let mut lanes = self.lanes.lock().ok()?;
        let ceiling = ceiling.clamp(FLOOR, CEILING);
        let lane = lanes
            .entry(endpoint.to_string())
            .or_insert_with(|| Lane::new(ceiling));
        if lane.ceiling != ceiling {
            lane.ceiling = ceiling;
            lane.limit = lane.limit.min(ceiling);
        }
        lane.observe(answer, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Answer {
        Answer::Answered { ms: 3.0 }
    }

    #[test]
    fn doubles_per_window_until_the_first_cut_then_grows_by_one_per_window() {
        let mut lane = Lane::new(CEILING);
        let t = Instant::now();
        for _ in 0..16 {
            lane.observe(&fast(), t);
        }
        assert_eq!(lane.limit, 32.0, "a window of 16 fast answers doubles 16");
        for _ in 0..200 {
            lane.observe(&fast(), t);
        }
        assert_eq!(lane.limit, CEILING, "never beyond the ceiling");
        lane.observe(&Answer::ServerError { status: 502 }, t);
        assert_eq!(lane.limit, CEILING / 2.0);
        for _ in 0..65 {
            lane.observe(&fast(), t);
        }
        assert_eq!(
            lane.limit.floor() as i32,
            65,
            "after a cut, a window of 64 adds one"
        );
    }

    #[test]
    fn a_burst_of_failures_cuts_once_per_spacing() {
        let mut lane = Lane::new(CEILING);
        let t = Instant::now();
        let first = lane.observe(&Answer::ServerError { status: 503 }, t);
        assert_eq!(
            first,
            Some(Change {
                limit: 8,
                reason: Some("HTTP 503 from the receiver".into())
            })
        );
        for _ in 0..20 {
            assert_eq!(lane.observe(&Answer::Timeout, t), None);
        }
        let later = lane.observe(&Answer::Timeout, t + CUT_SPACING);
        assert_eq!(later.map(|c| c.limit), Some(4));
    }

    #[test]
    fn retry_after_is_named_and_the_floor_is_one() {
        let mut lane = Lane::new(CEILING);
        let mut t = Instant::now();
        let mut last = None;
        for _ in 0..10 {
            last = lane.observe(
                &Answer::TooMany {
                    retry_after: Some("5".into()),
                },
                t,
            );
            t += CUT_SPACING;
        }
        let last = last.expect("a cut");
        assert_eq!(last.limit, 1);
        assert_eq!(
            last.reason.as_deref(),
            Some("429 Too Many Requests (Retry-After: 5)")
        );
    }

    #[test]
    fn slowing_answers_ease_off_and_fast_ones_recover() {
        let mut lane = Lane::new(CEILING);
        let mut t = Instant::now();
        for _ in 0..50 {
            lane.observe(&fast(), t);
        }
        let before = lane.limit;
        let mut reason = None;
        for _ in 0..50 {
            t += Duration::from_millis(100);
            if let Some(c) = lane.observe(&Answer::Answered { ms: 900.0 }, t) {
                reason = reason.or(c.reason);
            }
        }
        assert!(lane.limit < before, "{} !< {before}", lane.limit);
        assert!(
            reason.is_some_and(|r| r.starts_with("answers slowed to")),
            "the reason says answers slowed"
        );
        let low = lane.limit;
        assert!(!lane.slow_start, "a cut ends the slow start");
        for _ in 0..500 {
            lane.observe(&fast(), t);
        }
        assert!(lane.limit > low, "recovers once answers are fast again");
    }

    #[test]
    fn a_rate_limited_endpoint_never_exceeds_its_rate() {
        let pacer = Pacer::default();
        for _ in 0..1000 {
            pacer.observe("ep", 5.0, &fast());
        }
        let lanes = pacer.lanes.lock().expect("lock");
        assert_eq!(lanes["ep"].limit, 5.0);
    }

    #[test]
    fn other_client_errors_are_not_capacity_signals() {
        let mut lane = Lane::new(CEILING);
        let t = Instant::now();
        let seen = lane.observe(&Answer::Answered { ms: 4.0 }, t);
        assert!(
            seen.as_ref().is_none_or(|c| c.reason.is_none()),
            "no cut: {seen:?}"
        );
        assert!(lane.limit >= START);
    }
}
