//! One feed's `.ics`: the bookings of the last 90 days and all ahead, cancelled ones
//! kept for 30 days as `STATUS:CANCELLED` so subscribed calendars remove them. Times
//! are UTC, so the feed needs no VTIMEZONE.
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::db::entities::{booking, client, organization, resource};
use crate::platform::ical::{self, Entry, Status, Writer};

/// How far back a feed reaches.
pub const PAST_DAYS: i64 = 90;
/// How long a cancelled booking stays in a feed (as cancelled).
pub const CANCELLED_DAYS: i64 = 30;
/// How often calendar apps are asked to refresh (REFRESH-INTERVAL, X-PUBLISHED-TTL).
pub const REFRESH: &str = "PT15M";

/// What a feed is: whose bookings and how much of them.
#[derive(Clone, Debug)]
pub struct FeedSpec {
    pub org_id: String,
    pub resource_id: Option<String>,
    /// Busy times only: no names, notes or contact details.
    pub busy_only: bool,
    pub label: String,
}

/// One booking as the feed reads it, by column position (a name lookup per field
/// was a measurable part of a large feed).
type Row = (
    String,         // id
    String,         // resource_id
    DateTime<Utc>,  // starts_at
    DateTime<Utc>,  // ends_at
    i32,            // party_size
    String,         // status
    String,         // notes
    i64,            // revision
    DateTime<Utc>,  // updated_at
    Option<String>, // client name
    Option<String>, // client email
    Option<String>, // client phone
);

struct Booking<'a> {
    party_size: i32,
    status: &'a str,
    notes: &'a str,
    client_name: Option<&'a str>,
    client_email: Option<&'a str>,
    client_phone: Option<&'a str>,
}

/// Builds the feed as of `now`; `public_url` makes the dashboard links.
pub async fn build(
    db: &impl ConnectionTrait,
    spec: &FeedSpec,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let org = organization::Entity::find_by_id(&spec.org_id)
        .one(db)
        .await?;
    let org_name = org.map(|o| o.name).unwrap_or_default();
    let resources: HashMap<String, String> = resource::Entity::find()
        .filter(resource::Column::OrganizationId.eq(&spec.org_id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let mut q = booking::Entity::find()
        .select_only()
        .columns([
            booking::Column::Id,
            booking::Column::ResourceId,
            booking::Column::StartsAt,
            booking::Column::EndsAt,
            booking::Column::PartySize,
            booking::Column::Status,
            booking::Column::Notes,
            booking::Column::Revision,
            booking::Column::UpdatedAt,
        ])
        .filter(booking::Column::OrganizationId.eq(&spec.org_id))
        .filter(booking::Column::StartsAt.gte(now - Duration::days(PAST_DAYS)))
        .filter(
            Condition::any()
                .add(booking::Column::Status.ne("cancelled"))
                .add(booking::Column::UpdatedAt.gte(now - Duration::days(CANCELLED_DAYS))),
        )
        .order_by_asc(booking::Column::StartsAt)
        .order_by_asc(booking::Column::Id);
    if let Some(r) = &spec.resource_id {
        q = q.filter(booking::Column::ResourceId.eq(r));
    }
    if !spec.busy_only {
        q = q
            .join(JoinType::LeftJoin, booking::client())
            .column_as(client::Column::Name, "client_name")
            .column_as(client::Column::Email, "client_email")
            .column_as(client::Column::Phone, "client_phone");
    } else {
        q = q
            .expr_as(
                sea_orm::sea_query::Expr::cust("CAST(NULL AS TEXT)"),
                "client_name",
            )
            .expr_as(
                sea_orm::sea_query::Expr::cust("CAST(NULL AS TEXT)"),
                "client_email",
            )
            .expr_as(
                sea_orm::sea_query::Expr::cust("CAST(NULL AS TEXT)"),
                "client_phone",
            );
    }
    let rows: Vec<Row> = q.into_tuple().all(db).await?;

    let name = if spec.label.is_empty() {
        org_name.clone()
    } else {
        format!("{org_name} — {}", spec.label)
    };
    let base = public_url.trim_end_matches('/');
    let mut w = Writer::with_capacity(512 + rows.len() * 480);
    w.calendar(&name, Some("PUBLISH"))
        .raw("REFRESH-INTERVAL;VALUE=DURATION", REFRESH)
        .raw("X-PUBLISHED-TTL", REFRESH);
    let mut summary = String::new();
    let mut description = String::new();
    let mut link = String::new();
    for (
        id,
        resource_id,
        starts,
        ends,
        party_size,
        status,
        notes,
        revision,
        updated,
        name,
        email,
        phone,
    ) in &rows
    {
        let uid = ical::uid(id);
        let resource = resources.get(resource_id).map(String::as_str);
        let b = Booking {
            party_size: *party_size,
            status,
            notes,
            client_name: name.as_deref(),
            client_email: email.as_deref(),
            client_phone: phone.as_deref(),
        };
        let status = Status::of_booking(status);
        if spec.busy_only {
            w.event(&Entry {
                uid: &uid,
                sequence: *revision,
                stamp: *updated,
                created: None,
                starts: *starts,
                ends: *ends,
                summary: "Busy",
                description: None,
                location: if spec.resource_id.is_some() {
                    None
                } else {
                    resource
                },
                url: None,
                status,
                private: true,
            });
            continue;
        }
        summary.clear();
        describe(&b, &mut summary, &mut description);
        link.clear();
        link.push_str(base);
        link.push_str("/bookings/");
        link.push_str(id);
        w.event(&Entry {
            uid: &uid,
            sequence: *revision,
            stamp: *updated,
            created: None,
            starts: *starts,
            ends: *ends,
            summary: &summary,
            description: Some(&description),
            location: resource,
            url: Some(&link),
            status,
            private: false,
        });
    }
    w.end("VCALENDAR");
    Ok(w.finish())
}

/// "Ana Ruiz · 4 guests" and the lines staff want at a glance.
fn describe(r: &Booking<'_>, summary: &mut String, description: &mut String) {
    use std::fmt::Write;
    let guests = app::model::booking::guests(i64::from(r.party_size));
    let who = r.client_name.filter(|n| !n.is_empty());
    let _ = match who {
        Some(n) => write!(summary, "{n} · {guests}"),
        None => write!(summary, "Booking · {guests}"),
    };
    if r.status == "pending" {
        summary.push_str(" (pending)");
    }
    description.clear();
    let _ = write!(
        description,
        "Party of {}. Status: {}.",
        r.party_size, r.status
    );
    if let Some(p) = r.client_phone.filter(|p| !p.is_empty()) {
        let _ = write!(description, "\nPhone: {p}");
    }
    if let Some(e) = r.client_email.filter(|e| !e.is_empty()) {
        let _ = write!(description, "\nEmail: {e}");
    }
    if !r.notes.is_empty() {
        let _ = write!(description, "\nNotes: {}", r.notes);
    }
}
