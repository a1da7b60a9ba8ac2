//! The dashboard's calendar view: a day (a column per resource) or a week (a column per
//! day) of bookings, laid out in the organization's time zone. Cancelled bookings are
//! left out; a booking past midnight is cut at the day's end.
use std::collections::HashMap;

use app::error::AppError;
use app::model::auth::CurrentUser;
use app::model::booking::guests;
use app::model::calendar::{
    Agenda, AgendaBusy, AgendaColumn, AgendaItem, AgendaQuery, assign_lanes,
};
use app::ports::AppResult;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
};

use crate::db::entities::{
    booking, calendar_busy_block as busy_block, calendar_conflict as conflict, client, resource,
};
use crate::platform::OrInternal;
use crate::platform::clock::tz_named;
use crate::services::placement::to_utc;

/// Bookings one view shows at most (a week of a very busy place is far below).
const MAX_BOOKINGS: u64 = 2_000;
/// Busy blocks one view shows at most.
const MAX_BUSY: u64 = 2_000;
/// A conflict waiting for staff (`calendar_conflicts.status`).
const OPEN: &str = "open";
/// Hours shown when nothing is booked outside them.
const DEFAULT_HOURS: (u32, u32) = (8 * 60, 22 * 60);

type Row = (
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    i32,
    String,
    i64,
    Option<String>,
);

fn midnight(tz: Tz, day: NaiveDate) -> AppResult<DateTime<Utc>> {
    to_utc(tz, day.and_hms_opt(0, 0, 0).unwrap_or_default(), "date")
}

fn minutes_into(day_start: DateTime<Utc>, at: DateTime<Utc>, tz: Tz, day: NaiveDate) -> u32 {
    if at <= day_start {
        return 0;
    }
    let local = at.with_timezone(&tz);
    if local.date_naive() > day {
        return 24 * 60;
    }
    local.hour() * 60 + local.minute()
}

pub async fn agenda(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    q: &AgendaQuery,
) -> AppResult<Agenda> {
    let tz = tz_named(&user.time_zone);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let date = match q.date.trim() {
        "" => today,
        d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| AppError::field("date", "Enter a day like 2026-12-24."))?,
    };
    let week = match q.view.as_str() {
        "" | "day" => false,
        "week" => true,
        _ => return Err(AppError::field("view", "Choose day or week.")),
    };
    let resources: Vec<(String, String)> = resource::Entity::find()
        .filter(resource::Column::OrganizationId.eq(&user.org_id))
        .order_by_asc(resource::Column::Name)
        .all(db)
        .await
        .or_internal()?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let only = Some(q.resource_id.trim()).filter(|r| !r.is_empty());
    if let Some(r) = only
        && !resources.iter().any(|(id, _)| id == r)
    {
        return Err(AppError::field("resource_id", "No such resource."));
    }
    let first_day = if week {
        date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
    } else {
        date
    };
    let days: Vec<NaiveDate> = (0..if week { 7 } else { 1 })
        .map(|i| first_day + Duration::days(i))
        .collect();
    let from = midnight(tz, first_day)?;
    let to = midnight(tz, first_day + Duration::days(days.len() as i64))?;

    let mut query = booking::Entity::find()
        .select_only()
        .columns([
            booking::Column::Id,
            booking::Column::ResourceId,
            booking::Column::StartsAt,
            booking::Column::EndsAt,
            booking::Column::PartySize,
            booking::Column::Status,
            booking::Column::Revision,
        ])
        .join(JoinType::LeftJoin, booking::client())
        .column_as(client::Column::Name, "client_name")
        .filter(booking::Column::OrganizationId.eq(&user.org_id))
        .filter(booking::Column::Status.ne("cancelled"))
        .filter(booking::Column::StartsAt.lt(to))
        .filter(booking::Column::EndsAt.gt(from))
        .order_by_asc(booking::Column::StartsAt)
        .limit(MAX_BOOKINGS);
    if let Some(r) = only {
        query = query.filter(booking::Column::ResourceId.eq(r));
    }
    let rows: Vec<Row> = query.into_tuple().all(db).await.or_internal()?;
    let mut blocks = busy_block::Entity::find()
        .filter(busy_block::Column::OrganizationId.eq(&user.org_id))
        .filter(busy_block::Column::StartsAt.lt(to.timestamp_millis()))
        .filter(busy_block::Column::EndsAt.gt(from.timestamp_millis()))
        .order_by_asc(busy_block::Column::StartsAt)
        .limit(MAX_BUSY)
        .all(db)
        .await
        .or_internal()?;
    if let Some(r) = only {
        blocks.retain(|b| b.resource_id.as_deref().is_none_or(|br| br == r));
    }
    let waiting: HashMap<String, String> = if rows.is_empty() {
        HashMap::new()
    } else {
        conflict::Entity::find()
            .filter(conflict::Column::OrganizationId.eq(&user.org_id))
            .filter(conflict::Column::Status.eq(OPEN))
            .filter(conflict::Column::BookingId.is_in(rows.iter().map(|r| r.0.clone())))
            .all(db)
            .await
            .or_internal()?
            .into_iter()
            .map(|c| {
                let what = conflict_line(&c, tz);
                (c.booking_id, what)
            })
            .collect()
    };

    let names: HashMap<&str, &str> = resources
        .iter()
        .map(|(id, n)| (id.as_str(), n.as_str()))
        .collect();
    let shown: Vec<&(String, String)> = resources
        .iter()
        .filter(|(id, _)| only.is_none_or(|r| r == id))
        .collect();
    let mut columns: Vec<AgendaColumn> = if week {
        days.iter()
            .map(|d| AgendaColumn {
                label: d.format("%a").to_string(),
                sublabel: d.format("%-d %b").to_string(),
                today: *d == today,
                date: d.format("%Y-%m-%d").to_string(),
                resource_id: String::new(),
                items: Vec::new(),
                busy: Vec::new(),
            })
            .collect()
    } else {
        shown
            .iter()
            .map(|(id, name)| AgendaColumn {
                label: name.clone(),
                sublabel: String::new(),
                today: false,
                date: date.format("%Y-%m-%d").to_string(),
                resource_id: id.clone(),
                items: Vec::new(),
                busy: Vec::new(),
            })
            .collect()
    };
    let (mut first, mut last) = DEFAULT_HOURS;
    let bounds = days
        .iter()
        .map(|d| Ok((midnight(tz, *d)?, midnight(tz, *d + Duration::days(1))?)))
        .collect::<AppResult<Vec<_>>>()?;
    for (id, resource_id, starts, ends, party, status, revision, name) in rows {
        for (di, (day, (day_start, day_end))) in days.iter().zip(&bounds).enumerate() {
            let (day_start, day_end) = (*day_start, *day_end);
            if starts >= day_end || ends <= day_start {
                continue;
            }
            let column = if week {
                di
            } else {
                match shown.iter().position(|(r, _)| *r == resource_id) {
                    Some(c) => c,
                    None => continue,
                }
            };
            let start_minute = minutes_into(day_start, starts, tz, *day);
            let end_minute = minutes_into(day_start, ends, tz, *day).max(start_minute + 15);
            first = first.min(start_minute / 60 * 60);
            last = last.max(end_minute.div_ceil(60) * 60).min(24 * 60);
            let resource = names.get(resource_id.as_str()).copied().unwrap_or("");
            let detail = if week && only.is_none() {
                format!("{} · {resource}", guests(i64::from(party)))
            } else {
                guests(i64::from(party))
            };
            columns[column].items.push(AgendaItem {
                booking_id: id.clone(),
                revision,
                movable: starts >= day_start && ends <= day_end,
                resource_id: resource_id.clone(),
                start_minute,
                end_minute: end_minute.min(24 * 60),
                time: format!(
                    "{}–{}",
                    starts.with_timezone(&tz).format("%H:%M"),
                    ends.with_timezone(&tz).format("%H:%M")
                ),
                title: name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "Booking".into()),
                detail,
                status: status.clone(),
                lane: 0,
                lanes: 1,
                conflict: waiting.get(id.as_str()).cloned(),
            });
        }
    }
    for b in &blocks {
        let (Some(starts), Some(ends)) = (
            DateTime::from_timestamp_millis(b.starts_at),
            DateTime::from_timestamp_millis(b.ends_at),
        ) else {
            continue;
        };
        for (di, (day, (day_start, day_end))) in days.iter().zip(&bounds).enumerate() {
            if starts >= *day_end || ends <= *day_start {
                continue;
            }
            let start_minute = minutes_into(*day_start, starts, tz, *day);
            let end_minute = minutes_into(*day_start, ends, tz, *day).max(start_minute + 15);
            first = first.min(start_minute / 60 * 60);
            last = last.max(end_minute.div_ceil(60) * 60).min(24 * 60);
            let time = format!(
                "{}–{}",
                starts.with_timezone(&tz).format("%H:%M"),
                ends.with_timezone(&tz).format("%H:%M")
            );
            let resource = b.resource_id.as_deref().and_then(|r| names.get(r).copied());
            let targets: Vec<usize> = if week {
                vec![di]
            } else {
                shown
                    .iter()
                    .enumerate()
                    .filter(|(_, (r, _))| b.resource_id.as_ref().is_none_or(|br| br == r))
                    .map(|(c, _)| c)
                    .collect()
            };
            let label = match resource {
                Some(r) if week => format!("Busy in your calendar {time} · {r}"),
                _ => format!("Busy in your calendar {time}"),
            };
            for c in targets {
                columns[c].busy.push(AgendaBusy {
                    start_minute,
                    end_minute: end_minute.min(24 * 60),
                    label: label.clone(),
                });
            }
        }
    }
    for c in &mut columns {
        assign_lanes(&mut c.items);
    }
    let step = if week { 7 } else { 1 };
    let ymd = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let title = if week {
        let end = first_day + Duration::days(6);
        format!(
            "{} – {}",
            first_day.format("%-d %b"),
            end.format("%-d %b %Y")
        )
    } else {
        date.format("%a %-d %b %Y").to_string()
    };
    Ok(Agenda {
        view: if week { "week" } else { "day" }.into(),
        date: ymd(date),
        title,
        prev: ymd(date - Duration::days(step)),
        next: ymd(date + Duration::days(step)),
        today: ymd(today),
        resource_id: only.unwrap_or("").to_string(),
        resources,
        first_minute: first,
        last_minute: last.max(first + 60),
        columns,
    })
}

/// What the calendar did, for the booking's block, the new time first so a narrow
/// block still shows it: "Moved to 20:00–22:00 Mon 14 Dec in your calendar".
fn conflict_line(c: &conflict::Model, tz: Tz) -> String {
    let at = |ms: Option<i64>| {
        ms.and_then(DateTime::from_timestamp_millis)
            .map(|t| t.with_timezone(&tz))
    };
    match (
        c.kind.as_str(),
        at(c.remote_starts_at),
        at(c.remote_ends_at),
    ) {
        ("moved", Some(s), Some(e)) => format!(
            "Moved to {}–{} {} in your calendar",
            s.format("%H:%M"),
            e.format("%H:%M"),
            s.format("%a %-d %b")
        ),
        ("deleted", _, _) => "Deleted in your calendar".into(),
        _ => "Changed in your calendar".into(),
    }
}
