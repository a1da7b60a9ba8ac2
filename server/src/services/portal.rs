//! The guest portal (`PortalPort`). A guest holds a manage token instead of a session:
//! 32 random bytes, kept as a SHA-256 hash for lookup (and encrypted in the vault so
//! staff can copy the link again). A token works until it is revoked or replaced, and
//! until a day after its booking ends. Guest actions go through the same booking rules
//! as the dashboard, acting as a user whose id is the token's `mt_` id, so the audit
//! log records them as the guest. Failed lookups are limited per client address.
use std::time::Duration;

use app::error::AppError;
use app::model::auth::{Actor, CurrentUser, Role};
use app::model::booking::{BookingInput, BookingStatus};
use app::model::money::{amount_input, format_amount};
use app::model::payment::{DepositState, Subject};
use app::model::portal::{GuestLinkView, PortalView, RescheduleInput};
use app::ports::{AppResult, BookingsPort, PortalPort};
use async_trait::async_trait;
use chrono::{Duration as ChronoDuration, NaiveTime, TimeZone, Utc};
use http::request::Parts;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, JoinType, QueryFilter, QuerySelect, RelationDef,
    sea_query::Expr,
};
use serde_json::json;

use crate::db::audit;
use crate::db::entities::{booking, manage_token, organization, payment_link};
use crate::platform::client_ip::ClientIp;
use crate::platform::clock::{Style, local_ms};
use crate::platform::{OrInternal, now_ms};
use crate::services::bookings::{self, BookingsService};
pub use crate::services::guest_links::{hash, message_link};
use crate::services::guest_links::{issue_token, link, vault_name};
use crate::services::org;
use crate::services::throttle::{self, FailureLimit};
use crate::stripe::{self, Stripe};

/// Failed token lookups allowed per client address and window.
const MAX_FAILURES: u32 = 30;
const FAILURE_WINDOW: Duration = Duration::from_secs(600);
/// A token keeps working this long after its booking ends (for the receipt, the .ics).
const GRACE_AFTER_END_HOURS: i64 = 24;

/// Failed lookups per client address: the guessing limit.
pub type Guesses = FailureLimit;

pub fn guesses(db: &DatabaseConnection) -> Guesses {
    FailureLimit::for_db(db, "portal.guess", MAX_FAILURES, FAILURE_WINDOW)
}

pub struct PortalService {
    pub bookings: BookingsService,
    pub stripe: Stripe,
    pub guesses: Guesses,
}

/// What a valid token opens.
pub struct Opened {
    pub token: manage_token::Model,
    pub booking: booking::Model,
    pub org: organization::Model,
}

impl Opened {
    fn may(&self, scope: &str) -> bool {
        self.token.scopes.split(',').any(|s| s == scope)
    }

    /// The portal acts as this user: the token's id, labelled with the guest's name.
    fn guest(&self, guest_name: &str) -> CurrentUser {
        CurrentUser {
            user_id: self.token.id.clone(),
            org_id: self.org.id.clone(),
            org_name: self.org.name.clone(),
            time_zone: self.org.time_zone.clone(),
            currency: self.org.currency.clone(),
            name: guest_name.into(),
            email: format!("guest: {guest_name}"),
            role: Role::Staff,
        }
    }
}

fn not_found() -> AppError {
    AppError::NotFound {
        what: "booking for this link".into(),
    }
}

impl PortalService {
    /// Finds the booking behind `token`, or a "not found" that says nothing more.
    pub async fn open(&self, parts: &Parts, token: &str) -> AppResult<Opened> {
        let ip = ClientIp::of(parts);
        let address = ip.map(|ip| ip.to_string());
        let waiting = match &address {
            Some(a) => self.guesses.wait(a).await,
            None => None,
        };
        if let Some(wait) = waiting {
            return Err(AppError::TooManyRequests {
                detail: format!(
                    "Too many wrong links from your connection. Please try again in {}.",
                    throttle::minutes(wait)
                ),
            });
        }
        let db = &self.stripe.db;
        // The token and its booking in one query.
        let found = if token.len() == 43 {
            let to_booking: RelationDef = manage_token::Entity::belongs_to(booking::Entity)
                .from(manage_token::Column::BookingId)
                .to(booking::Column::Id)
                .into();
            manage_token::Entity::find()
                .filter(manage_token::Column::TokenHash.eq(hash(token)))
                .join(JoinType::LeftJoin, to_booking)
                .select_also(booking::Entity)
                .one(db)
                .await
                .or_internal()?
        } else {
            None
        };
        let Some((t, b)) = found else {
            if let Some(address) = &address {
                self.guesses.failed(address).await;
            }
            return Err(not_found());
        };
        if t.revoked_at.is_some() {
            return Err(not_found());
        }
        let (Some(b), Some(o)) = (
            b,
            organization::Entity::find_by_id(&t.organization_id)
                .one(db)
                .await
                .or_internal()?,
        ) else {
            return Err(not_found());
        };
        if Utc::now() > b.ends_at + ChronoDuration::hours(GRACE_AFTER_END_HOURS) {
            return Err(not_found());
        }
        let now = now_ms();
        // At most one write a minute per token: views must stay cheap.
        if t.last_used_at.is_none_or(|at| now - at > 60_000) {
            manage_token::Entity::update_many()
                .col_expr(manage_token::Column::LastUsedAt, Expr::value(now))
                .filter(manage_token::Column::Id.eq(&t.id))
                .exec(db)
                .await
                .or_internal()?;
        }
        Ok(Opened {
            token: t,
            booking: b,
            org: o,
        })
    }

    async fn deposit_state(&self, b: &booking::Model) -> AppResult<DepositState> {
        if b.deposit_minor <= 0 {
            return Ok(DepositState::None);
        }
        let paid = payment_link::Entity::find()
            .filter(payment_link::Column::SubjectKind.eq(Subject::Deposit.as_str()))
            .filter(payment_link::Column::SubjectId.eq(&b.id))
            .filter(payment_link::Column::PaymentStatus.eq("paid"))
            .one(&self.stripe.db)
            .await
            .or_internal()?;
        Ok(match paid {
            Some(l) if l.refunded_minor >= l.amount_minor => DepositState::Refunded,
            Some(_) => DepositState::Paid,
            None => DepositState::Due,
        })
    }

    /// The booking's (resource, guest) names.
    async fn names(&self, b: &booking::Model) -> AppResult<(String, String)> {
        let (resource, guest) = bookings::names_of(&self.stripe.db, b).await?;
        Ok((
            resource.unwrap_or_default(),
            guest.unwrap_or_else(|| "Guest".into()),
        ))
    }

    /// Why the guest may not change the booking now, if they may not.
    fn change_blocked(o: &Opened, scope: &str, verb: &str) -> Option<String> {
        let b = &o.booking;
        if !o.may(scope) {
            return Some(format!(
                "This link does not allow you to {verb} the booking."
            ));
        }
        if !matches!(b.status.as_str(), "pending" | "confirmed") {
            return Some(format!(
                "This booking is {}.",
                BookingStatus::parse(&b.status)
                    .map(|s| s.label().to_lowercase())
                    .unwrap_or_else(|| b.status.clone())
            ));
        }
        let cutoff = b.starts_at - ChronoDuration::hours(o.org.cancel_cutoff_hours.into());
        if Utc::now() > cutoff {
            return Some(format!(
                "Online changes close {} hours before the booking. Please contact {} directly.",
                o.org.cancel_cutoff_hours, o.org.name
            ));
        }
        None
    }

    async fn view_of(&self, o: &Opened) -> AppResult<PortalView> {
        let db = &self.stripe.db;
        let b = &o.booking;
        let tz = org::tz(&o.org);
        let (start, end) = (b.starts_at.with_timezone(&tz), b.ends_at.with_timezone(&tz));
        let (resource_name, guest_name) = self.names(b).await?;
        let deposit = self.deposit_state(b).await?;
        let stripe_ready = self
            .stripe
            .vault
            .hint(db, &o.org.id, stripe::SECRET_KEY)
            .await
            .or_internal()?
            .is_some();
        let holds = matches!(b.status.as_str(), "pending" | "confirmed");
        let cutoff = b.starts_at - ChronoDuration::hours(o.org.cancel_cutoff_hours.into());
        Ok(PortalView {
            org_name: o.org.name.clone(),
            guest_name,
            resource_name,
            date_label: start.format("%A %-d %B %Y").to_string(),
            date: start.format("%Y-%m-%d").to_string(),
            start_time: start.format("%H:%M").to_string(),
            end_time: end.format("%H:%M").to_string(),
            time_zone: o.org.time_zone.clone(),
            party_size: b.party_size.max(0) as u32,
            status: BookingStatus::parse(&b.status).unwrap_or(BookingStatus::Pending),
            deposit,
            deposit_label: (b.deposit_minor > 0)
                .then(|| format_amount(b.deposit_minor, &o.org.currency)),
            cancel_blocked: Self::change_blocked(o, "cancel", "cancel"),
            reschedule_blocked: Self::change_blocked(o, "reschedule", "move"),
            can_pay: o.may("pay") && deposit == DepositState::Due && holds && stripe_ready,
            cancel_until: holds.then(|| {
                cutoff
                    .with_timezone(&tz)
                    .format("%A %-d %B, %H:%M")
                    .to_string()
            }),
            reminders_off: b.reminders_opt_out,
        })
    }

    /// A fresh token for `booking_id`, revoking earlier ones. Returns the link.
    async fn issue(&self, actor: &Actor, booking_id: &str) -> AppResult<GuestLinkView> {
        let url = issue_token(
            &self.stripe.db,
            &self.stripe.vault,
            &self.stripe.public_url,
            actor,
            booking_id,
        )
        .await?;
        Ok(GuestLinkView {
            url,
            created: "just now".into(),
            last_used: None,
        })
    }

    fn url(&self, token: &str) -> String {
        link(&self.stripe.public_url, token)
    }

    /// The `.ics` of the booking behind `token`.
    pub async fn ics(&self, parts: &Parts, token: &str) -> AppResult<String> {
        use crate::platform::ical;
        let o = self.open(parts, token).await?;
        let v = self.view_of(&o).await?;
        let b = &o.booking;
        let mut w = ical::Writer::default();
        w.calendar(&format!("Booking at {}", v.org_name), Some("PUBLISH"))
            .event(&ical::Entry {
                uid: &ical::uid(&b.id),
                sequence: b.revision,
                stamp: b.updated_at,
                created: Some(b.created_at),
                starts: b.starts_at,
                ends: b.ends_at,
                summary: &format!("{} at {}", v.resource_name, v.org_name),
                description: Some(&format!(
                    "Party of {}. Manage your booking: {}",
                    v.party_size,
                    self.url(token)
                )),
                location: Some(&v.org_name),
                url: None,
                status: ical::Status::of_booking(&b.status),
                private: false,
            })
            .end("VCALENDAR");
        Ok(w.finish())
    }
}

#[async_trait]
impl PortalPort for PortalService {
    async fn set_reminders(&self, parts: &Parts, token: &str, wanted: bool) -> AppResult<()> {
        let o = self.open(parts, token).await?;
        let guest = o.guest(&self.names(&o.booking).await?.1);
        let db = &self.stripe.db;
        let txn = crate::db::begin_write(db).await.or_internal()?;
        booking::Entity::update_many()
            .col_expr(booking::Column::RemindersOptOut, Expr::value(!wanted))
            .filter(booking::Column::Id.eq(&o.booking.id))
            .exec(&txn)
            .await
            .or_internal()?;
        audit::record(
            &txn,
            &Actor::from(&guest),
            if wanted {
                "booking.reminders_opted_in"
            } else {
                "booking.reminders_opted_out"
            },
            "booking",
            &o.booking.id,
            json!({}),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        Ok(())
    }

    async fn view(&self, parts: &Parts, token: &str) -> AppResult<PortalView> {
        let o = self.open(parts, token).await?;
        self.view_of(&o).await
    }

    async fn cancel(&self, parts: &Parts, token: &str, reason: &str) -> AppResult<PortalView> {
        let o = self.open(parts, token).await?;
        if let Some(why) = Self::change_blocked(&o, "cancel", "cancel") {
            return Err(AppError::InvalidTransition { detail: why });
        }
        let guest = o.guest(&self.names(&o.booking).await?.1);
        let reason = if reason.trim().is_empty() {
            "Cancelled by the guest online".to_string()
        } else {
            format!("Guest: {}", reason.trim())
        };
        self.bookings
            .cancel(&guest, &o.booking.id, o.booking.revision, &reason)
            .await?;
        let o = self.open(parts, token).await?;
        self.view_of(&o).await
    }

    async fn reschedule(
        &self,
        parts: &Parts,
        token: &str,
        input: &RescheduleInput,
    ) -> AppResult<PortalView> {
        let o = self.open(parts, token).await?;
        if let Some(why) = Self::change_blocked(&o, "reschedule", "move") {
            return Err(AppError::InvalidTransition { detail: why });
        }
        let b = &o.booking;
        let start = NaiveTime::parse_from_str(input.start_time.trim(), "%H:%M")
            .map_err(|_| AppError::field("start_time", "Choose a time like 19:30."))?;
        let length = b.ends_at - b.starts_at;
        let end = start + length;
        if end <= start {
            return Err(AppError::field(
                "start_time",
                "The booking would run past midnight; choose an earlier time.",
            ));
        }
        let new_start = chrono::NaiveDate::parse_from_str(input.date.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::field("date", "Choose a date."))?
            .and_time(start);
        let tz = org::tz(&o.org);
        let starts_at = tz
            .from_local_datetime(&new_start)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| AppError::field("start_time", "That time does not exist that day."))?;
        if starts_at - ChronoDuration::hours(o.org.cancel_cutoff_hours.into()) < Utc::now() {
            return Err(AppError::field(
                "date",
                format!(
                    "Choose a time at least {} hours from now.",
                    o.org.cancel_cutoff_hours
                ),
            ));
        }
        let form = BookingInput {
            resource_id: b.resource_id.clone(),
            client_id: b.client_id.clone(),
            date: input.date.trim().into(),
            start_time: start.format("%H:%M").to_string(),
            end_time: end.format("%H:%M").to_string(),
            party_size: b.party_size.to_string(),
            status: b.status.clone(),
            notes: b.notes.clone(),
            deposit: amount_input(b.deposit_minor, &o.org.currency),
        };
        let guest = o.guest(&self.names(b).await?.1);
        self.bookings
            .update(&guest, &b.id, b.revision, &form)
            .await
            .map_err(|e| match e {
                // The guest form has no resource or time-range fields: say it on the time.
                AppError::SlotTaken { detail, .. } => AppError::SlotTaken {
                    detail,
                    field: "start_time".into(),
                },
                other => other,
            })?;
        let o = self.open(parts, token).await?;
        self.view_of(&o).await
    }

    async fn pay(&self, parts: &Parts, token: &str) -> AppResult<String> {
        let o = self.open(parts, token).await?;
        let v = self.view_of(&o).await?;
        if !v.can_pay {
            return Err(AppError::InvalidTransition {
                detail: match v.deposit {
                    DepositState::Paid => "The deposit is already paid.".into(),
                    DepositState::None => "This booking needs no deposit.".into(),
                    _ => "The deposit cannot be paid online right now.".into(),
                },
            });
        }
        let guest = o.guest(&v.guest_name);
        let link = stripe::links::create(
            &self.stripe,
            &Actor::from(&guest),
            Subject::Deposit,
            &o.booking.id,
            Some(format!("{}?notice=paid", self.url(token))),
        )
        .await?;
        Ok(link.url)
    }

    async fn guest_link(
        &self,
        user: &CurrentUser,
        booking_id: &str,
    ) -> AppResult<Option<GuestLinkView>> {
        let db = &self.stripe.db;
        let Some(t) = manage_token::Entity::find()
            .filter(manage_token::Column::OrganizationId.eq(&user.org_id))
            .filter(manage_token::Column::BookingId.eq(booking_id))
            .filter(manage_token::Column::RevokedAt.is_null())
            .one(db)
            .await
            .or_internal()?
        else {
            return Ok(None);
        };
        let Some(token) = self
            .stripe
            .vault
            .get(db, &user.org_id, &vault_name(booking_id))
            .await
            .or_internal()?
        else {
            return Ok(None);
        };
        let org = org::load(db, &user.org_id).await?;
        let tz = org::tz(&org);
        let when = |ms: i64| local_ms(ms, tz, Style::Short);
        Ok(Some(GuestLinkView {
            url: self.url(token.expose()),
            created: when(t.created_at),
            last_used: t.last_used_at.map(when),
        }))
    }

    async fn issue_guest_link(
        &self,
        user: &CurrentUser,
        booking_id: &str,
    ) -> AppResult<GuestLinkView> {
        self.issue(&Actor::from(user), booking_id).await
    }

    async fn revoke_guest_link(&self, user: &CurrentUser, booking_id: &str) -> AppResult<()> {
        let db = &self.stripe.db;
        let txn = crate::db::begin_write(db).await.or_internal()?;
        manage_token::Entity::update_many()
            .col_expr(manage_token::Column::RevokedAt, Expr::value(now_ms()))
            .filter(manage_token::Column::OrganizationId.eq(&user.org_id))
            .filter(manage_token::Column::BookingId.eq(booking_id))
            .filter(manage_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .or_internal()?;
        self.stripe
            .vault
            .delete(&txn, &user.org_id, &vault_name(booking_id))
            .await
            .or_internal()?;
        audit::record(
            &txn,
            &Actor::from(user),
            "guest_link.revoked",
            "booking",
            booking_id,
            json!({}),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        Ok(())
    }
}
