//! Where a booking fits: its resource and guest exist, it is inside opening hours, and
//! the guests present at every moment stay within the resource's capacity.
//!
//! Every write starts by bumping the resource's `lock_version`. That first statement
//! takes the row lock on PostgreSQL and the write lock on SQLite, so concurrent writes
//! to one resource queue up and each sees the bookings committed before it.
use app::error::{AppError, FieldError};
use app::model::booking::{BookingStatus, ValidBooking, guests};
use app::ports::AppResult;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
};

use crate::db::entities::{booking, calendar_busy_block, client, organization, resource};
use crate::platform::OrInternal;
use crate::platform::sql;
use crate::services::org::{resource_view, tz};

/// Local wall time in `tz` to UTC; a time skipped by a clock change is a field error.
pub fn to_utc(tz: Tz, local: NaiveDateTime, field: &str) -> AppResult<DateTime<Utc>> {
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            AppError::field(
                field,
                "That time does not exist on this day (the clocks change).",
            )
        })
}

/// The largest number of guests present at any moment of `[start, end)` across `others`.
pub fn peak_guests(
    others: &[(DateTime<Utc>, DateTime<Utc>, i64)],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> i64 {
    // Sweep the clipped intervals: +party at each start, -party at each end; ends first
    // at equal times because a booking ending at 19:00 frees its seats for one at 19:00.
    let mut edges: Vec<(DateTime<Utc>, i64)> = Vec::new();
    for &(s, e, party) in others {
        let (s, e) = (s.max(start), e.min(end));
        if s < e {
            edges.push((s, party));
            edges.push((e, -party));
        }
    }
    edges.sort_by_key(|&(t, delta)| (t, delta));
    let (mut now, mut peak) = (0, 0);
    for (_, delta) in edges {
        now += delta;
        peak = peak.max(now);
    }
    peak
}

pub struct Placement {
    pub resource: resource::Model,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Locks the resource, then checks it exists in this organization, the client too, the
/// opening hours and the capacity left. Runs inside the write transaction.
pub async fn place(
    txn: &DatabaseTransaction,
    org: &organization::Model,
    v: &ValidBooking,
    exclude: Option<&str>,
) -> AppResult<Placement> {
    let locked = resource::Entity::update_many()
        .col_expr(
            resource::Column::LockVersion,
            sql::incr(resource::Column::LockVersion),
        )
        .filter(resource::Column::Id.eq(&v.resource_id))
        .filter(resource::Column::OrganizationId.eq(&org.id))
        .exec(txn)
        .await
        .or_internal()?;
    let mut errors = Vec::new();
    if locked.rows_affected == 0 {
        errors.push(FieldError::new(
            "resource_id",
            "This resource does not exist.",
        ));
    }
    let client_exists = client::Entity::find_by_id(&v.client_id)
        .filter(client::Column::OrganizationId.eq(&org.id))
        .count(txn)
        .await
        .or_internal()?
        > 0;
    if !client_exists {
        errors.push(FieldError::new("client_id", "This guest does not exist."));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation { fields: errors });
    }
    let resource = resource::Entity::find_by_id(&v.resource_id)
        .one(txn)
        .await
        .or_internal()?
        .ok_or_else(|| AppError::not_found("resource"))?;
    let rv = resource_view(&resource);
    if !rv.opening_hours.allows(v.start, v.end) {
        return Err(AppError::field(
            "start_time",
            format!(
                "{} is open {}; choose a time inside those hours.",
                rv.name,
                rv.opening_hours.summary()
            ),
        ));
    }
    if v.party_size > rv.capacity {
        return Err(AppError::field(
            "party_size",
            format!("{} holds at most {}.", rv.name, guests(rv.capacity.into())),
        ));
    }
    let tz = tz(org);
    let start = to_utc(tz, v.start, "start_time")?;
    let end = to_utc(tz, v.end, "end_time")?;

    let mut overlapping = booking::Entity::find()
        .filter(booking::Column::ResourceId.eq(&resource.id))
        .filter(booking::Column::StartsAt.lt(end))
        .filter(booking::Column::EndsAt.gt(start))
        .filter(booking::Column::Status.is_in([
            BookingStatus::Pending.as_str(),
            BookingStatus::Confirmed.as_str(),
        ]));
    if let Some(id) = exclude {
        overlapping = overlapping.filter(booking::Column::Id.ne(id));
    }
    let others: Vec<_> = overlapping
        .all(txn)
        .await
        .or_internal()?
        .into_iter()
        .map(|b| (b.starts_at, b.ends_at, i64::from(b.party_size)))
        .collect();
    let free = i64::from(rv.capacity) - peak_guests(&others, start, end);
    if i64::from(v.party_size) > free {
        let detail = if free <= 0 {
            format!(
                "{} is fully booked at that time. Choose another time or resource.",
                rv.name
            )
        } else {
            format!(
                "That slot is taken: {} has room for only {} more at that time.",
                rv.name,
                guests(free)
            )
        };
        return Err(AppError::SlotTaken {
            detail,
            field: "start_time".into(),
        });
    }
    if blocked_by_calendar(txn, &org.id, &resource.id, start, end, exclude).await? {
        return Err(AppError::SlotTaken {
            detail: format!(
                "{} is busy at that time in a connected calendar. Choose another time or resource.",
                rv.name
            ),
            field: "start_time".into(),
        });
    }
    Ok(Placement {
        resource,
        start,
        end,
    })
}

/// Whether busy time pulled from a connected calendar overlaps `[start, end)` on this
/// resource (a block without a resource takes them all). A busy block takes the whole
/// resource, whatever its capacity. A booking keeping its time and resource is not
/// refused for a block added over it later (its notes or party can still change).
async fn blocked_by_calendar(
    txn: &DatabaseTransaction,
    org_id: &str,
    resource_id: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    exclude: Option<&str>,
) -> AppResult<bool> {
    if let Some(id) = exclude {
        let unchanged = booking::Entity::find_by_id(id)
            .one(txn)
            .await
            .or_internal()?
            .is_some_and(|b| {
                b.resource_id == resource_id && b.starts_at == start && b.ends_at == end
            });
        if unchanged {
            return Ok(false);
        }
    }
    let hits = calendar_busy_block::Entity::find()
        .filter(calendar_busy_block::Column::OrganizationId.eq(org_id))
        .filter(
            Condition::any()
                .add(calendar_busy_block::Column::ResourceId.eq(resource_id))
                .add(calendar_busy_block::Column::ResourceId.is_null()),
        )
        .filter(calendar_busy_block::Column::StartsAt.lt(end.timestamp_millis()))
        .filter(calendar_busy_block::Column::EndsAt.gt(start.timestamp_millis()))
        .count(txn)
        .await
        .or_internal()?;
    Ok(hits > 0)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 24, h, m, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn peak_counts_only_simultaneous_guests() {
        // 18-20 (4), 19-21 (2), 20-22 (3): peak in 18..22 is 6 (19-20), not 9.
        let others = [
            (t(18, 0), t(20, 0), 4),
            (t(19, 0), t(21, 0), 2),
            (t(20, 0), t(22, 0), 3),
        ];
        assert_eq!(peak_guests(&others, t(18, 0), t(22, 0)), 6);
        assert_eq!(peak_guests(&others, t(21, 0), t(22, 0)), 3);
        assert_eq!(peak_guests(&others, t(22, 0), t(23, 0)), 0);
    }

    #[test]
    fn back_to_back_bookings_do_not_overlap() {
        let others = [(t(18, 0), t(19, 0), 4), (t(19, 0), t(20, 0), 4)];
        assert_eq!(peak_guests(&others, t(18, 0), t(20, 0)), 4);
    }

    #[test]
    fn nonexistent_local_times_are_field_errors() {
        let tz: Tz = "Europe/Paris".parse().expect("tz");
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29)
            .and_then(|d| d.and_hms_opt(2, 30, 0))
            .expect("date");
        let err = to_utc(tz, gap, "start_time").unwrap_err();
        assert!(err.field_message("start_time").is_some());
        let ok = NaiveDate::from_ymd_opt(2026, 7, 1)
            .and_then(|d| d.and_hms_opt(19, 0, 0))
            .expect("date");
        assert_eq!(
            to_utc(tz, ok, "start_time").expect("utc").to_rfc3339(),
            "2026-07-01T17:00:00+00:00"
        );
    }
}
