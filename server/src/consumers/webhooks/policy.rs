//! What a delivery attempt's result means: success, retry (when), disable, or give up.
//! Pure functions, so the rules are tested without a network or a clock.
use std::time::Duration;

use rand::Rng;

/// Delay before each attempt: the first goes at once, then 5 s, 5 min, 30 min, 2 h,
/// 5 h, 10 h, 10 h (the schedule Svix popularised), each +-20 % at random.
pub const SCHEDULE: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

pub const MAX_ATTEMPTS: i32 = SCHEDULE.len() as i32;

/// A receiver's `Retry-After` is honoured up to this; beyond it the schedule rules.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Consecutive failures that open an endpoint's circuit, and how long it stays open
/// before a probe (doubling while the probes fail, up to the cap).
pub const BREAKER_THRESHOLD: i32 = 5;
pub const BREAKER_BASE: Duration = Duration::from_secs(60);
pub const BREAKER_MAX: Duration = Duration::from_secs(3600);

/// An endpoint failing without a single success this long is disabled.
pub const DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);

/// The delay before attempt `done + 1` after `done` attempts failed (`None`: give up).
pub fn next_delay(done: i32, rng: &mut impl Rng) -> Option<Duration> {
    let base = *SCHEDULE.get(usize::try_from(done).ok()?)?;
    let factor = 1.0 + rng.random_range(-0.2..=0.2);
    Some(base.mul_f64(factor))
}

/// How long an open circuit stays open after `failures` consecutive failures.
pub fn breaker_pause(failures: i32) -> Option<Duration> {
    if failures < BREAKER_THRESHOLD {
        return None;
    }
    let doublings = (failures - BREAKER_THRESHOLD).min(10) as u32;
    Some((BREAKER_BASE * 2u32.pow(doublings)).min(BREAKER_MAX))
}

/// The verdict on one HTTP answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Failed; retry on the schedule, or after the receiver's `Retry-After` if later.
    Failed {
        retry_after: Option<Duration>,
    },
    /// `410 Gone`: the receiver asked never to be called again.
    Gone,
}

/// 2xx is success. 3xx is a failure (redirects are never followed). 410 disables.
/// 429 and 502/503/504 (and 408/409/425) are throttling: their `Retry-After` counts.
/// Any other 4xx/5xx is a failure that keeps retrying: the receiver may be fixed.
pub fn judge(status: u16, retry_after: Option<&str>) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        410 => Verdict::Gone,
        408 | 409 | 425 | 429 | 502 | 503 | 504 => Verdict::Failed {
            retry_after: retry_after.and_then(parse_retry_after),
        },
        _ => Verdict::Failed { retry_after: None },
    }
}

/// `Retry-After` as seconds or an HTTP date, capped.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
        (when.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(d.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_schedule_with_jitter() {
        let mut rng = rand::rng();
        assert_eq!(next_delay(0, &mut rng), Some(Duration::ZERO));
        for (done, base) in [(1, 5.0), (2, 300.0), (3, 1800.0), (4, 7200.0), (7, 36000.0)] {
            for _ in 0..50 {
                let d = next_delay(done, &mut rng).unwrap().as_secs_f64();
                assert!(
                    d >= base * 0.8 && d <= base * 1.2,
                    "attempt {done}: {d}s vs {base}s"
                );
            }
        }
        assert_eq!(
            next_delay(8, &mut rng),
            None,
            "eight attempts, then give up"
        );
    }

    #[test]
    fn judges_statuses_like_the_spec() {
        assert_eq!(judge(200, None), Verdict::Delivered);
        assert_eq!(judge(204, None), Verdict::Delivered);
        assert_eq!(judge(301, None), Verdict::Failed { retry_after: None });
        assert_eq!(judge(410, None), Verdict::Gone);
        assert_eq!(
            judge(400, Some("60")),
            Verdict::Failed { retry_after: None }
        );
        assert_eq!(judge(500, None), Verdict::Failed { retry_after: None });
        assert_eq!(
            judge(429, Some("120")),
            Verdict::Failed {
                retry_after: Some(Duration::from_secs(120))
            }
        );
        assert_eq!(
            judge(503, Some("999999")),
            Verdict::Failed {
                retry_after: Some(MAX_RETRY_AFTER)
            }
        );
    }

    #[test]
    fn retry_after_accepts_http_dates() {
        let at = chrono::Utc::now() + chrono::Duration::seconds(90);
        let d = parse_retry_after(&at.to_rfc2822()).unwrap().as_secs();
        assert!((85..=90).contains(&d), "{d}");
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn breaker_opens_after_the_threshold_and_backs_off() {
        assert_eq!(breaker_pause(BREAKER_THRESHOLD - 1), None);
        assert_eq!(breaker_pause(BREAKER_THRESHOLD), Some(BREAKER_BASE));
        assert_eq!(breaker_pause(BREAKER_THRESHOLD + 1), Some(BREAKER_BASE * 2));
        assert_eq!(breaker_pause(100), Some(BREAKER_MAX));
    }
}
