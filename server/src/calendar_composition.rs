//! How calendar sync plugs into the rest: its Google client and OAuth settings from the
//! configuration, and the booking changes a calendar may cause, made by the bookings
//! service (consumers never name a service; this composition root hands one in).
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::consumers::calendars;
use crate::events::WeakOutbox;
use crate::platform::Hub;
use crate::routes;
use crate::services;
use crate::services::bookings::BookingsService;
use crate::vault::Vault;

/// The calendar consumer's Google client, OAuth settings and links.
pub fn deps(
    config: &Config,
    vault: &Vault,
    hub: &Hub,
    outbound: &crate::platform::outbound::OutboundPolicy,
) -> calendars::Deps {
    let public_url = config.public_url.trim_end_matches('/').to_string();
    let oauth = config
        .google_client_id
        .clone()
        .zip(config.google_client_secret.clone())
        .map(|(client_id, secret)| calendars::oauth::GoogleOAuth {
            client_id,
            client_secret: secret.0,
            auth_url: config.google_auth_url.clone(),
            token_url: config.google_token_url.clone(),
            revoke_url: config.google_revoke_url.clone(),
            redirect_url: format!("{public_url}{}", routes::google::CALLBACK),
        });
    calendars::Deps {
        vault: vault.clone(),
        hub: hub.clone(),
        oauth,
        api: calendars::google::GoogleApi::new(&config.google_api_base),
        http: calendars::google::http_client(),
        outbound: outbound.clone(),
        dav_http: outbound.client(calendars::caldav_sync::TIMEOUT),
        public_url,
        changes: std::sync::Arc::default(),
    }
}

/// Booking changes a connected calendar causes, made by the bookings service.
///
/// The outbox is held weakly: it owns the calendar subscriber, which owns this, and a
/// strong reference would keep the whole platform (and its database pool) alive forever.
pub struct BookingChanges {
    pub outbox: WeakOutbox,
    pub db: DatabaseConnection,
}

impl BookingChanges {
    fn bookings(&self) -> Result<BookingsService, String> {
        let outbox = self.outbox.upgrade().ok_or("the server is shutting down")?;
        Ok(BookingsService {
            db: self.db.clone(),
            outbox,
        })
    }
}

#[async_trait::async_trait]
impl calendars::BookingChanges for BookingChanges {
    async fn move_to(
        &self,
        who: &app::model::auth::CurrentUser,
        booking_id: &str,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), String> {
        use app::ports::BookingsPort;
        let (b, org) = services::bookings::with_org(&self.db, &who.org_id, booking_id)
            .await
            .map_err(|e| e.to_string())?;
        let tz = services::org::tz(&org);
        let (s, e) = (start.with_timezone(&tz), end.with_timezone(&tz));
        if s.date_naive() != e.date_naive() {
            return Err("the new time runs past midnight".into());
        }
        let input = app::model::booking::BookingInput {
            resource_id: b.resource_id.clone(),
            client_id: b.client_id.clone(),
            date: s.format("%Y-%m-%d").to_string(),
            start_time: s.format("%H:%M").to_string(),
            end_time: e.format("%H:%M").to_string(),
            party_size: b.party_size.to_string(),
            status: b.status.clone(),
            notes: b.notes.clone(),
            deposit: app::model::money::amount_input(b.deposit_minor, &org.currency),
        };
        self.bookings()?
            .update(who, booking_id, b.revision, &input)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn cancel(
        &self,
        who: &app::model::auth::CurrentUser,
        booking_id: &str,
        reason: &str,
    ) -> Result<(), String> {
        use app::ports::BookingsPort;
        let (b, _) = services::bookings::with_org(&self.db, &who.org_id, booking_id)
            .await
            .map_err(|e| e.to_string())?;
        self.bookings()?
            .cancel(who, booking_id, b.revision, reason)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
