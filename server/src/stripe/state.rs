//! How a payment link's state moves when Stripe tells us something. Stripe delivers
//! events at least once and in any order, and reconciliation reads the session at any
//! time, so every observation is merged into the state by rules that only move forward:
//! a link can go from active to expired/cancelled or completed, and completed beats
//! expired (money received is the truth even if its event arrives last); a payment can go
//! from unpaid to failed or paid, and paid is final; the refunded amount only grows.
//! Replaying any observation is therefore harmless.
use app::model::payment::LinkStatus;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkState {
    pub status: LinkStatus,
    /// `unpaid`, `failed` or `paid`.
    pub payment: Payment,
    pub payment_intent: Option<String>,
    pub refunded_minor: i64,
    pub last_error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Payment {
    Unpaid,
    Failed,
    Paid,
}

impl Payment {
    pub fn as_str(self) -> &'static str {
        match self {
            Payment::Unpaid => "unpaid",
            Payment::Failed => "failed",
            Payment::Paid => "paid",
        }
    }

    /// Stripe's `payment_status` (plus our stored `failed`).
    pub fn parse(s: &str) -> Payment {
        match s {
            "paid" | "no_payment_required" => Payment::Paid,
            "failed" => Payment::Failed,
            _ => Payment::Unpaid,
        }
    }
}

/// Something Stripe said about a link's session or payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// `checkout.session.completed`, or a retrieved session with status `complete`.
    Completed {
        payment: Payment,
        payment_intent: Option<String>,
    },
    /// `checkout.session.async_payment_succeeded`.
    AsyncSucceeded { payment_intent: Option<String> },
    /// `checkout.session.async_payment_failed`.
    AsyncFailed,
    /// `checkout.session.expired`, or a retrieved session with status `expired`.
    Expired,
    /// We expired the session on staff's request.
    Cancelled,
    /// `payment_intent.payment_failed`: a declined attempt; the payer may try again.
    AttemptFailed { message: String },
    /// `charge.refunded` (the charge's cumulative `amount_refunded`) or our own refund.
    Refunded { total_refunded_minor: i64 },
}

fn rank(s: LinkStatus) -> u8 {
    match s {
        LinkStatus::Active => 0,
        LinkStatus::Expired | LinkStatus::Cancelled => 1,
        LinkStatus::Completed => 2,
    }
}

impl LinkState {
    /// The state after `obs`; unchanged when `obs` is old news.
    pub fn advance(&self, obs: &Observation) -> LinkState {
        let mut next = self.clone();
        fn to_status(s: LinkStatus, next: &mut LinkState) {
            if rank(s) > rank(next.status) {
                next.status = s;
            }
        }
        match obs {
            Observation::Completed {
                payment,
                payment_intent,
            } => {
                to_status(LinkStatus::Completed, &mut next);
                next.payment = next.payment.max(*payment);
                if next.payment_intent.is_none() {
                    next.payment_intent = payment_intent.clone();
                }
            }
            Observation::AsyncSucceeded { payment_intent } => {
                to_status(LinkStatus::Completed, &mut next);
                next.payment = Payment::Paid;
                if next.payment_intent.is_none() {
                    next.payment_intent = payment_intent.clone();
                }
            }
            Observation::AsyncFailed => {
                to_status(LinkStatus::Completed, &mut next);
                next.payment = next.payment.max(Payment::Failed);
            }
            Observation::Expired => to_status(LinkStatus::Expired, &mut next),
            Observation::Cancelled => to_status(LinkStatus::Cancelled, &mut next),
            Observation::AttemptFailed { message } => {
                if next.payment != Payment::Paid {
                    next.last_error = Some(message.clone());
                }
            }
            Observation::Refunded {
                total_refunded_minor,
            } => next.refunded_minor = next.refunded_minor.max(*total_refunded_minor),
        }
        next
    }

    pub fn is_paid(&self) -> bool {
        self.payment == Payment::Paid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active() -> LinkState {
        LinkState {
            status: LinkStatus::Active,
            payment: Payment::Unpaid,
            payment_intent: None,
            refunded_minor: 0,
            last_error: None,
        }
    }

    fn paid() -> Observation {
        Observation::Completed {
            payment: Payment::Paid,
            payment_intent: Some("pi_1".into()),
        }
    }

    #[test]
    fn completed_after_expired_still_counts_the_money() {
        let s = active().advance(&Observation::Expired).advance(&paid());
        assert_eq!(s.status, LinkStatus::Completed);
        assert!(s.is_paid());
        assert_eq!(s.payment_intent.as_deref(), Some("pi_1"));
    }

    #[test]
    fn expired_or_failed_after_paid_changes_nothing() {
        let s = active().advance(&paid());
        for late in [
            Observation::Expired,
            Observation::Cancelled,
            Observation::AsyncFailed,
            Observation::AttemptFailed {
                message: "declined".into(),
            },
        ] {
            assert_eq!(s.advance(&late), s, "{late:?} moved a paid link");
        }
    }

    #[test]
    fn delayed_payments_settle_either_way_and_success_wins() {
        let pending = active().advance(&Observation::Completed {
            payment: Payment::Unpaid,
            payment_intent: Some("pi_2".into()),
        });
        assert_eq!(pending.status, LinkStatus::Completed);
        assert!(!pending.is_paid());
        let failed = pending.advance(&Observation::AsyncFailed);
        assert_eq!(failed.payment, Payment::Failed);
        // Succeeded arriving before completed: paid at once, and completed adds nothing.
        let early = active().advance(&Observation::AsyncSucceeded {
            payment_intent: None,
        });
        assert!(early.is_paid());
        assert!(
            early
                .advance(&Observation::Completed {
                    payment: Payment::Unpaid,
                    payment_intent: Some("pi_3".into())
                })
                .is_paid()
        );
    }

    #[test]
    fn refunds_only_grow_and_replays_are_harmless() {
        let s = active().advance(&paid()).advance(&Observation::Refunded {
            total_refunded_minor: 1500,
        });
        let older = s.advance(&Observation::Refunded {
            total_refunded_minor: 500,
        });
        assert_eq!(older.refunded_minor, 1500);
        assert_eq!(s.advance(&paid()), s);
    }
}
