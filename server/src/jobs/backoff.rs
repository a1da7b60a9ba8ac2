//! When to try a failed job again: exponential growth from a base, capped, with jitter so
//! a burst of failures does not come back as a burst of retries.
use std::time::Duration;

use rand::Rng;

#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    /// Fraction of the delay added or removed at random (0.2 = +-20 %).
    pub jitter: f64,
}

impl Backoff {
    pub const fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            base,
            max,
            jitter: 0.2,
        }
    }

    /// The delay before attempt `attempt + 1`, after `attempt` (1-based) failed.
    pub fn delay(&self, attempt: i32, rng: &mut impl Rng) -> Duration {
        let exp = attempt.clamp(1, 30) - 1;
        let raw = self.base.as_secs_f64() * 2f64.powi(exp);
        let capped = raw.min(self.max.as_secs_f64());
        let factor = if self.jitter > 0.0 {
            1.0 + rng.random_range(-self.jitter..=self.jitter)
        } else {
            1.0
        };
        Duration::from_secs_f64((capped * factor).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_doubles_and_caps_within_jitter() {
        let b = Backoff::new(Duration::from_secs(2), Duration::from_secs(60));
        let mut rng = rand::rng();
        for (attempt, nominal) in [(1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (20, 60.0)] {
            for _ in 0..200 {
                let d = b.delay(attempt, &mut rng).as_secs_f64();
                assert!(
                    (nominal * 0.8 - 1e-9..=nominal * 1.2 + 1e-9).contains(&d),
                    "attempt {attempt}: {d} not within 20 % of {nominal}"
                );
            }
        }
    }

    #[test]
    fn jitter_spreads_retries() {
        let b = Backoff::new(Duration::from_secs(10), Duration::from_secs(600));
        let mut rng = rand::rng();
        let delays: std::collections::HashSet<u128> =
            (0..50).map(|_| b.delay(1, &mut rng).as_millis()).collect();
        assert!(
            delays.len() > 10,
            "50 retries landed on {} instants",
            delays.len()
        );
    }
}
