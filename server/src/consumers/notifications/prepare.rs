//! What a notification says and to whom: the template (the organization's or Hitch's),
//! the rendered message, the recipients, and whether a reminder is still wanted.
use app::model::auth::Role;
use app::model::notification::ChannelSettings;
use chrono::{Datelike, TimeZone, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;

use super::channels::Message;
use super::context::Built;
use super::defaults;
use super::render::{self, Escape};
use crate::db::entities::{notification, notification_template, organization, user};

/// The organization's template for the pair, or Hitch's default.
pub async fn template(
    db: &impl ConnectionTrait,
    org_id: &str,
    event_type: &str,
    family: &str,
) -> Result<(String, String), DbErr> {
    let lookup = if event_type == "test" {
        "booking.created"
    } else {
        event_type
    };
    Ok(notification_template::Entity::find()
        .filter(notification_template::Column::OrganizationId.eq(org_id))
        .filter(notification_template::Column::EventType.eq(lookup))
        .filter(notification_template::Column::Family.eq(family))
        .one(db)
        .await?
        .map(|t| (t.subject, t.body))
        .unwrap_or_else(|| defaults::template(lookup, family)))
}

pub(super) fn test_context(org: &organization::Model) -> serde_json::Value {
    let mut ctx = super::variables::sample("booking.created");
    ctx["org"] = json!({ "name": org.name, "time_zone": org.time_zone, "currency": org.currency });
    ctx
}

/// Renders the message for its family; values escaped for where they are shown.
pub fn compose(
    family: &str,
    subject: &str,
    body: &str,
    b: &Built,
    org: &organization::Model,
    event_type: &str,
) -> Result<Message, minijinja::Error> {
    let (subject_escape, body_escape) = render::escapes(family);
    let subject = render::render(subject_escape, subject, &b.ctx)?
        .trim()
        .to_string();
    let text = render::render(body_escape, body, &b.ctx)?
        .trim()
        .to_string();
    let html = if family == "email" {
        Some(render::email_html(
            render::render(Escape::Html, body, &b.ctx)?.trim(),
            &subject,
        ))
    } else {
        None
    };
    Ok(Message {
        event_type: event_type.into(),
        subject,
        body: text,
        html,
        ics: if family == "email" {
            b.ics.clone()
        } else {
            None
        },
        org_name: org.name.clone(),
        dashboard_url: b.dashboard_url.clone(),
    })
}

/// Why a reminder should not go out any more, if so.
pub(super) fn reminder_unwanted(
    n: &notification::Model,
    b: Option<&crate::db::entities::booking::Model>,
) -> Option<&'static str> {
    let Some(b) = b else {
        return Some("The booking no longer exists.");
    };
    if matches!(b.status.as_str(), "cancelled" | "no_show" | "completed") {
        return Some("The booking is no longer on.");
    }
    if b.reminders_opt_out {
        return Some("The guest opted out of reminders.");
    }
    if n.scheduled_for != Some(b.starts_at.timestamp_millis()) {
        return Some("The booking moved; a new reminder replaces this one.");
    }
    if b.starts_at <= Utc::now() {
        return Some("The booking has already started.");
    }
    None
}

/// Who receives the message, or why nobody can.
pub(super) async fn recipients(
    db: &impl ConnectionTrait,
    n: &notification::Model,
    kind: &str,
    family: &str,
    s: &ChannelSettings,
    b: &Built,
) -> Result<Result<Vec<String>, String>, DbErr> {
    if let Some(r) = n.recipient.as_ref().filter(|r| !r.is_empty()) {
        return Ok(Ok(r.split(", ").map(str::to_string).collect()));
    }
    let chat = matches!(family, "slack" | "discord");
    let out = match (n.recipient_kind.as_str(), chat) {
        (_, true) if n.recipient_kind == "team" || n.recipient_kind == "managers" => Ok(vec![]),
        (_, true) => Err(format!(
            "{kind} channels post to the team; choose \"team\" as the recipient."
        )),
        ("team", false) if s.team_to.is_empty() => {
            Err("No team address is set on this channel.".to_string())
        }
        ("team", false) => Ok(vec![s.team_to.clone()]),
        ("managers", false) if family == "sms" => {
            Err("Managers have no phone numbers in Hitch; use the team number.".to_string())
        }
        ("managers", false) => {
            let emails: Vec<String> = user::Entity::find()
                .filter(user::Column::OrganizationId.eq(&n.organization_id))
                // Whoever may manage the organization: owners and admins.
                .filter(user::Column::Role.is_in([Role::Owner.as_str(), Role::Admin.as_str()]))
                .order_by_asc(user::Column::Email)
                .all(db)
                .await?
                .into_iter()
                .map(|u| u.email)
                .collect();
            if emails.is_empty() {
                Err("The organization has no managers.".to_string())
            } else {
                Ok(emails)
            }
        }
        (_, false) => {
            let (email, phone) = b.person.clone().unwrap_or_default();
            let who = if n.recipient_kind == "client" {
                "client"
            } else {
                "guest"
            };
            if family == "sms" {
                let phone: String = phone
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == '+')
                    .collect();
                if phone.starts_with('+') && phone.len() > 8 {
                    Ok(vec![phone])
                } else {
                    Err(format!(
                        "The {who} has no phone number in international form (+…)."
                    ))
                }
            } else if email.contains('@') {
                Ok(vec![email])
            } else {
                Err(format!("The {who} has no email address."))
            }
        }
    };
    Ok(out)
}

/// Messages a channel sent since the start of this month (UTC).
pub async fn sent_this_month(db: &impl ConnectionTrait, channel_id: &str) -> Result<u64, DbErr> {
    let now = Utc::now();
    let start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .map_or(0, |t| t.timestamp_millis());
    notification::Entity::find()
        .filter(notification::Column::ChannelId.eq(channel_id))
        .filter(notification::Column::SentAt.gte(start))
        .count(db)
        .await
}
