//! The render context of one notification, read when it is sent: the record as it is
//! now (names, times, links), plus what only the event knows (a cancellation's reason,
//! a reschedule's previous start). Same shape as the catalog's sample.
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use super::Deps;
use super::variables::{self, entity_kind};
use crate::db::entities::{
    booking, client, event, invoice, notification, organization, payment_link, resource,
};
use crate::platform::ical;

/// The context and what the channel needs beside the text.
pub struct Built {
    pub ctx: Value,
    /// Email and phone of the guest or client the record belongs to.
    pub person: Option<(String, String)>,
    pub booking: Option<booking::Model>,
    /// The booking's calendar entry, for emails.
    pub ics: Option<(String, &'static str)>,
    pub dashboard_url: String,
}

fn base(public_url: &str) -> &str {
    public_url.trim_end_matches('/')
}

/// Builds the context; `Ok(None)` when the record no longer exists.
pub async fn build(
    db: &impl ConnectionTrait,
    deps: &Deps,
    org: &organization::Model,
    n: &notification::Model,
    wants_manage_url: bool,
) -> Result<Option<Built>, DbErr> {
    let data: Value = match &n.event_id {
        Some(id) => event::Entity::find_by_id(id)
            .one(db)
            .await?
            .and_then(|e| serde_json::from_str(&e.payload).ok())
            .unwrap_or(Value::Null),
        None => Value::Null,
    };
    let mut ctx = json!({
        "org": { "name": org.name, "time_zone": org.time_zone, "currency": org.currency },
        "dashboard_url": base(&deps.public_url),
    });
    let mut built = Built {
        ctx: Value::Null,
        person: None,
        booking: None,
        ics: None,
        dashboard_url: base(&deps.public_url).to_string(),
    };
    match entity_kind(&n.event_type) {
        "booking" => {
            let Some(b) = booking::Entity::find_by_id(&n.entity_id)
                .filter(booking::Column::OrganizationId.eq(&org.id))
                .one(db)
                .await?
            else {
                return Ok(None);
            };
            let guest = client::Entity::find_by_id(&b.client_id).one(db).await?;
            let res = resource::Entity::find_by_id(&b.resource_id).one(db).await?;
            let manage_url = if wants_manage_url {
                deps.links
                    .manage_url(&org.id, &b.id)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(booking = %b.id, error = %e, "no manage link for a notification");
                        None
                    })
                    .unwrap_or_default()
            } else {
                String::new()
            };
            built.dashboard_url = format!("{}/bookings/{}", base(&deps.public_url), b.id);
            ctx["dashboard_url"] = json!(built.dashboard_url);
            ctx["booking"] = json!({
                "id": b.id,
                "starts_at": b.starts_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "ends_at": b.ends_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "party_size": b.party_size,
                "status": b.status,
                "notes": b.notes,
                "deposit_minor": b.deposit_minor,
                "reason": data["reason"].as_str().unwrap_or_default(),
                "previous_starts_at": data["previous"]["starts_at"].as_str().unwrap_or_default(),
                "manage_url": manage_url,
            });
            let (name, email, phone) = guest
                .map(|g| (g.name, g.email, g.phone))
                .unwrap_or_default();
            ctx["guest"] = json!({ "name": name, "email": email, "phone": phone });
            ctx["resource"] =
                json!({ "name": res.as_ref().map(|r| r.name.clone()).unwrap_or_default() });
            built.person = Some((email, phone));
            built.ics = Some(ics(
                &b,
                &org.name,
                res.map(|r| r.name).unwrap_or_default().as_str(),
                &manage_url,
            ));
            built.booking = Some(b);
        }
        "invoice" => {
            let Some(i) = invoice::Entity::find_by_id(&n.entity_id)
                .filter(invoice::Column::OrganizationId.eq(&org.id))
                .one(db)
                .await?
            else {
                return Ok(None);
            };
            let c = client::Entity::find_by_id(&i.client_id).one(db).await?;
            let pay_url = payment_link::Entity::find()
                .filter(payment_link::Column::SubjectKind.eq("invoice"))
                .filter(payment_link::Column::SubjectId.eq(&i.id))
                .filter(payment_link::Column::Status.eq("active"))
                .filter(payment_link::Column::ExpiresAt.gt(Utc::now().timestamp_millis()))
                .order_by_desc(payment_link::Column::CreatedAt)
                .one(db)
                .await?
                .map(|l| l.url)
                .unwrap_or_default();
            built.dashboard_url = format!("{}/invoices/{}", base(&deps.public_url), i.id);
            ctx["dashboard_url"] = json!(built.dashboard_url);
            ctx["invoice"] = json!({
                "id": i.id,
                "number": i.number,
                "total_minor": i.total_minor,
                "currency": i.currency,
                "due_on": i.due_on.to_string(),
                "status": i.status,
                "pay_url": pay_url,
            });
            let (name, email, phone) = c.map(|c| (c.name, c.email, c.phone)).unwrap_or_default();
            ctx["client"] = json!({ "name": name, "email": email, "phone": phone });
            built.person = Some((email, phone));
        }
        "client" => {
            let Some(c) = client::Entity::find_by_id(&n.entity_id)
                .filter(client::Column::OrganizationId.eq(&org.id))
                .one(db)
                .await?
            else {
                return Ok(None);
            };
            built.dashboard_url = format!("{}/clients/{}", base(&deps.public_url), c.id);
            ctx["dashboard_url"] = json!(built.dashboard_url);
            ctx["client"] = json!({ "name": c.name, "email": c.email, "phone": c.phone });
            built.person = Some((c.email, c.phone));
        }
        kind => {
            // Hitch's own events (notification.failed, channel.broken): the data is all.
            let mut obj = json!({});
            for (name, _, _) in variables::catalog(&n.event_type) {
                if let Some(field) = name.strip_prefix(&format!("{kind}.")) {
                    let v = data.get(field).cloned().unwrap_or(json!(""));
                    variables::set(&mut obj, field, v);
                }
            }
            ctx[kind] = obj;
            built.dashboard_url = format!("{}/notifications", base(&deps.public_url));
            ctx["dashboard_url"] = json!(built.dashboard_url);
        }
    }
    built.ctx = ctx;
    Ok(Some(built))
}

/// The booking as an iTIP calendar entry: REQUEST while it stands, CANCEL once it
/// is cancelled. The UID matches the guest portal's `.ics` and the feeds, so calendars
/// update the same entry; SEQUENCE follows the booking's revision.
fn ics(
    b: &booking::Model,
    org_name: &str,
    resource: &str,
    manage_url: &str,
) -> (String, &'static str) {
    let cancelled = b.status == "cancelled";
    let method = if cancelled { "CANCEL" } else { "REQUEST" };
    let mut description = format!("Party of {}.", b.party_size);
    if !manage_url.is_empty() {
        description.push_str(&format!(" Manage your booking: {manage_url}"));
    }
    let mut w = ical::Writer::default();
    w.calendar(&format!("Booking at {org_name}"), Some(method))
        .event(&ical::Entry {
            uid: &ical::uid(&b.id),
            sequence: b.revision,
            stamp: Utc::now(),
            created: Some(b.created_at),
            starts: b.starts_at,
            ends: b.ends_at,
            summary: &format!("{resource} at {org_name}"),
            description: Some(&description),
            location: Some(org_name),
            url: None,
            status: ical::Status::of_booking(&b.status),
            private: false,
        })
        .end("VCALENDAR");
    (w.finish(), method)
}
