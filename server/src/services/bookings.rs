//! Bookings over SeaORM, with capacity enforced inside one transaction per write
//! (see [`super::placement`]).
use app::error::AppError;
use app::model::auth::{Actor, CurrentUser};
use app::model::booking::{
    BookingFilter, BookingFormOptions, BookingInput, BookingListItem, BookingStatus, BookingView,
};
use app::model::money::format_amount;
use app::model::page::Page;
use app::ports::{AppResult, BookingsPort};
use async_trait::async_trait;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationDef,
    sea_query::{Expr, Query},
};
use serde_json::json;

use crate::db::audit;
use crate::db::entities::{booking, client, organization, resource};
use crate::events::{EventType, Outbox, payloads};
use crate::platform::clock::tz_named;
use crate::platform::sql::{self, stmt};
use crate::platform::{OrInternal, ids};
use crate::services::org::{self, tz};
use crate::services::placement::{place, to_utc};

pub const PER_PAGE: u64 = 50;

pub struct BookingsService {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
}

/// A booking's local date, start and end time in `tz`, as the forms and the list show
/// them ("2026-12-01", "19:30", "21:00"). Written out by hand: the bookings list calls
/// this for every row, and chrono's `format` parses its pattern again on each call.
fn local_times(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> (String, String, String) {
    let (start, end) = (start.with_timezone(&tz), end.with_timezone(&tz));
    (
        format!(
            "{:04}-{:02}-{:02}",
            start.year(),
            start.month(),
            start.day()
        ),
        format!("{:02}:{:02}", start.hour(), start.minute()),
        format!("{:02}:{:02}", end.hour(), end.minute()),
    )
}

fn status_of(status: &str) -> BookingStatus {
    BookingStatus::parse(status).unwrap_or(BookingStatus::Pending)
}

/// A booking as the dashboard shows it, given its (resource, client) names.
fn view(
    b: booking::Model,
    tz: Tz,
    currency: &str,
    (resource_name, client_name): (String, String),
) -> BookingView {
    let (date, start_time, end_time) = local_times(b.starts_at, b.ends_at, tz);
    BookingView {
        resource_name,
        client_name,
        date,
        start_time,
        end_time,
        party_size: b.party_size.max(0) as u32,
        status: status_of(&b.status),
        notes: b.notes,
        deposit_label: format_amount(b.deposit_minor, currency),
        deposit_minor: b.deposit_minor,
        revision: b.revision,
        id: b.id,
        resource_id: b.resource_id,
        client_id: b.client_id,
    }
}

/// A row of the bookings list: only the columns the list shows (so no notes or
/// bookkeeping columns are copied and decoded for every row), and the filter's total.
#[derive(FromQueryResult)]
struct ListedBooking {
    id: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    party_size: i32,
    status: String,
    deposit_minor: i64,
    resource_name: Option<String>,
    client_name: Option<String>,
    total: i64,
}

impl ListedBooking {
    fn item(self, tz: Tz, currency: &str) -> BookingListItem {
        let (date, start_time, end_time) = local_times(self.starts_at, self.ends_at, tz);
        BookingListItem {
            resource_name: self.resource_name.unwrap_or_default(),
            client_name: self.client_name.unwrap_or_default(),
            date,
            start_time,
            end_time,
            party_size: self.party_size.max(0) as u32,
            status: status_of(&self.status),
            deposit: (self.deposit_minor > 0).then(|| format_amount(self.deposit_minor, currency)),
            id: self.id,
        }
    }
}

fn to_resource() -> RelationDef {
    booking::Entity::belongs_to(resource::Entity)
        .from(booking::Column::ResourceId)
        .to(resource::Column::Id)
        .into()
}

fn to_client() -> RelationDef {
    booking::Entity::belongs_to(client::Entity)
        .from(booking::Column::ClientId)
        .to(client::Column::Id)
        .into()
}

/// A booking of the organization, with the organization (for its zone and currency).
pub async fn with_org(
    db: &DatabaseConnection,
    org_id: &str,
    id: &str,
) -> AppResult<(booking::Model, organization::Model)> {
    let org = org::load(db, org_id).await?;
    let b = booking::Entity::find_by_id(id)
        .filter(booking::Column::OrganizationId.eq(org_id))
        .one(db)
        .await
        .or_internal()?
        .ok_or_else(|| AppError::not_found("booking"))?;
    Ok((b, org))
}

/// The (resource, client) names `b` refers to, in one query; `None` for a row gone.
pub async fn names_of(
    db: &impl ConnectionTrait,
    b: &booking::Model,
) -> AppResult<(Option<String>, Option<String>)> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT (SELECT name FROM resources WHERE id = $1) AS resource_name,
                    (SELECT name FROM clients WHERE id = $2) AS client_name",
            vec![b.resource_id.as_str().into(), b.client_id.as_str().into()],
        ))
        .await
        .or_internal()?;
    let get = |col: &str| {
        row.as_ref()
            .and_then(|r| r.try_get::<Option<String>>("", col).ok())
            .flatten()
    };
    Ok((get("resource_name"), get("client_name")))
}

async fn one_view(
    db: &impl ConnectionTrait,
    org: &organization::Model,
    b: booking::Model,
) -> AppResult<BookingView> {
    let (r, c) = names_of(db, &b).await?;
    let names = (r.unwrap_or_default(), c.unwrap_or_default());
    Ok(view(b, tz(org), &org.currency, names))
}

fn filter_range(f: &BookingFilter, tz: Tz) -> AppResult<Condition> {
    let mut cond = Condition::all();
    if !f.status.is_empty() {
        let s = BookingStatus::parse(&f.status)
            .ok_or_else(|| AppError::field("status", "Unknown status."))?;
        cond = cond.add(booking::Column::Status.eq(s.as_str()));
    }
    let day = if f.day.is_empty() {
        None
    } else {
        Some(
            NaiveDate::parse_from_str(&f.day, "%Y-%m-%d")
                .map_err(|_| AppError::field("day", "Enter a day like 2026-12-24."))?,
        )
    };
    let today = Utc::now().with_timezone(&tz).date_naive();
    let from = to_utc(
        tz,
        day.unwrap_or(today)
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default(),
        "day",
    )?;
    cond = cond.add(booking::Column::StartsAt.gte(from));
    if let Some(day) = day {
        let next = to_utc(
            tz,
            (day + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
            "day",
        )?;
        cond = cond.add(booking::Column::StartsAt.lt(next));
    }
    Ok(cond)
}

#[async_trait]
impl BookingsPort for BookingsService {
    async fn list(
        &self,
        user: &CurrentUser,
        filter: &BookingFilter,
    ) -> AppResult<Page<BookingListItem>> {
        // The busiest page: the time zone and currency come with the user, which saves
        // reading the organization again.
        let tz = tz_named(&user.time_zone);
        let page = app::model::page::clamp_page(filter.page);
        let cond = Condition::all()
            .add(booking::Column::OrganizationId.eq(&user.org_id))
            .add(filter_range(filter, tz)?);
        // The page, its names and the filter's total in one query. The page is read in
        // the index's order (`idx_bookings_org_start_id`), so the database stops at the
        // page's end; the total is a subquery that runs once, on the index alone. (A
        // window count made SQLite copy and sort every match first; a second query
        // costs another round trip to the database.)
        let count = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from(booking::Entity)
            .cond_where(cond.clone())
            .to_owned();
        let rows: Vec<ListedBooking> = booking::Entity::find()
            .select_only()
            .columns([
                booking::Column::Id,
                booking::Column::StartsAt,
                booking::Column::EndsAt,
                booking::Column::PartySize,
                booking::Column::Status,
                booking::Column::DepositMinor,
            ])
            .filter(cond.clone())
            .join(JoinType::LeftJoin, to_resource())
            .join(JoinType::LeftJoin, to_client())
            .column_as(resource::Column::Name, "resource_name")
            .column_as(client::Column::Name, "client_name")
            .column_as(Expr::SubQuery(None, Box::new(count.into())), "total")
            .order_by_asc(booking::Column::StartsAt)
            .order_by_asc(booking::Column::Id)
            .limit(PER_PAGE)
            .offset((page - 1).saturating_mul(PER_PAGE))
            .into_model()
            .all(&self.db)
            .await
            .or_internal()?;
        let total = match rows.first() {
            Some(r) => r.total.max(0) as u64,
            // Past the last page no row carries the total: count on its own.
            None if page > 1 => booking::Entity::find()
                .filter(cond)
                .count(&self.db)
                .await
                .or_internal()?,
            None => 0,
        };
        let items = rows
            .into_iter()
            .map(|r| r.item(tz, &user.currency))
            .collect();
        Ok(Page {
            items,
            page,
            per_page: PER_PAGE,
            total,
        })
    }

    async fn get(&self, user: &CurrentUser, id: &str) -> AppResult<BookingView> {
        let org = org::load(&self.db, &user.org_id).await?;
        let b = booking::Entity::find_by_id(id)
            .filter(booking::Column::OrganizationId.eq(&org.id))
            .one(&self.db)
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("booking"))?;
        one_view(&self.db, &org, b).await
    }

    async fn create(&self, user: &CurrentUser, input: &BookingInput) -> AppResult<BookingView> {
        let org = org::load(&self.db, &user.org_id).await?;
        let v = input.validate(&org.currency)?;
        let mut uow = self.outbox.begin().await.or_internal()?;
        let p = place(uow.txn(), &org, &v, None).await?;
        let now = Utc::now();
        let row = booking::ActiveModel {
            id: Set(ids::new("bk")),
            organization_id: Set(org.id.clone()),
            resource_id: Set(p.resource.id.clone()),
            client_id: Set(v.client_id.clone()),
            starts_at: Set(p.start),
            ends_at: Set(p.end),
            party_size: Set(v.party_size as i32),
            status: Set(v.status.as_str().into()),
            notes: Set(v.notes.clone()),
            deposit_minor: Set(v.deposit_minor),
            revision: Set(1),
            reminders_opt_out: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(uow.txn())
        .await
        .or_internal()?;
        // The event goes first: the audit row after it is the last write before commit.
        uow.emit(
            &org.id,
            EventType::BookingCreated,
            &row.id,
            payloads::booking(&row, &org.currency),
        )
        .await
        .or_internal()?;
        let details = json!({ "resource_id": row.resource_id, "starts_at": row.starts_at, "ends_at": row.ends_at, "party_size": row.party_size });
        audit::record(
            uow.txn(),
            &Actor::from(user),
            "booking.created",
            "booking",
            &row.id,
            details,
        )
        .await
        .or_internal()?;
        uow.commit().await.or_internal()?;
        tracing::info!(booking = %row.id, "booking created");
        one_view(&self.db, &org, row).await
    }

    async fn update(
        &self,
        user: &CurrentUser,
        id: &str,
        revision: i64,
        input: &BookingInput,
    ) -> AppResult<BookingView> {
        let org = org::load(&self.db, &user.org_id).await?;
        let v = input.validate(&org.currency)?;
        let mut uow = self.outbox.begin().await.or_internal()?;
        let p = place(uow.txn(), &org, &v, Some(id)).await?;
        let current = booking::Entity::find_by_id(id)
            .filter(booking::Column::OrganizationId.eq(&org.id))
            .one(uow.txn())
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("booking"))?;
        if current.revision != revision {
            return Err(AppError::StaleRevision {
                what: "booking".into(),
            });
        }
        if current.status == BookingStatus::Cancelled.as_str() {
            return Err(AppError::InvalidTransition {
                detail: "A cancelled booking cannot be changed; create a new one.".into(),
            });
        }
        let rescheduled = current.starts_at != p.start
            || current.ends_at != p.end
            || current.resource_id != p.resource.id;
        let confirmed = current.status != BookingStatus::Confirmed.as_str()
            && v.status == BookingStatus::Confirmed;
        let previous = json!({ "resource_id": current.resource_id, "starts_at": current.starts_at, "ends_at": current.ends_at });
        let before = json!({ "resource_id": current.resource_id, "starts_at": current.starts_at, "ends_at": current.ends_at, "status": current.status });
        let mut active: booking::ActiveModel = current.into();
        active.resource_id = Set(p.resource.id.clone());
        active.client_id = Set(v.client_id.clone());
        active.starts_at = Set(p.start);
        active.ends_at = Set(p.end);
        active.party_size = Set(v.party_size as i32);
        active.status = Set(v.status.as_str().into());
        active.notes = Set(v.notes.clone());
        active.deposit_minor = Set(v.deposit_minor);
        active.revision = Set(revision + 1);
        active.updated_at = Set(Utc::now());
        let row = active.update(uow.txn()).await.or_internal()?;
        let action = if rescheduled {
            "booking.rescheduled"
        } else {
            "booking.updated"
        };
        let after = json!({ "resource_id": row.resource_id, "starts_at": row.starts_at, "ends_at": row.ends_at, "status": row.status });
        let mut kinds = Vec::new();
        if rescheduled {
            kinds.push(EventType::BookingRescheduled);
        }
        if confirmed {
            kinds.push(EventType::BookingConfirmed);
        }
        if kinds.is_empty() {
            kinds.push(EventType::BookingUpdated);
        }
        for kind in kinds {
            let mut data = payloads::booking(&row, &org.currency);
            if kind == EventType::BookingRescheduled {
                data["previous"] = previous.clone();
            }
            uow.emit(&org.id, kind, &row.id, data).await.or_internal()?;
        }
        audit::record(
            uow.txn(),
            &Actor::from(user),
            action,
            "booking",
            &row.id,
            json!({ "before": before, "after": after }),
        )
        .await
        .or_internal()?;
        uow.commit().await.or_internal()?;
        one_view(&self.db, &org, row).await
    }

    async fn cancel(
        &self,
        user: &CurrentUser,
        id: &str,
        revision: i64,
        reason: &str,
    ) -> AppResult<BookingView> {
        let org = org::load(&self.db, &user.org_id).await?;
        let reason: String = reason.trim().chars().take(500).collect();
        let mut uow = self.outbox.begin().await.or_internal()?;
        // One conditional write: it succeeds only for the expected revision of a booking
        // that still holds its seats.
        let res = booking::Entity::update_many()
            .col_expr(
                booking::Column::Status,
                Expr::value(BookingStatus::Cancelled.as_str()),
            )
            .col_expr(
                booking::Column::Revision,
                sql::incr(booking::Column::Revision),
            )
            .col_expr(booking::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(booking::Column::Id.eq(id))
            .filter(booking::Column::OrganizationId.eq(&org.id))
            .filter(booking::Column::Revision.eq(revision))
            .filter(booking::Column::Status.is_in([
                BookingStatus::Pending.as_str(),
                BookingStatus::Confirmed.as_str(),
            ]))
            .exec(uow.txn())
            .await
            .or_internal()?;
        let row = booking::Entity::find_by_id(id)
            .filter(booking::Column::OrganizationId.eq(&org.id))
            .one(uow.txn())
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("booking"))?;
        if res.rows_affected == 0 {
            return Err(if row.revision != revision {
                AppError::StaleRevision {
                    what: "booking".into(),
                }
            } else {
                AppError::InvalidTransition {
                    detail: format!(
                        "A {} booking cannot be cancelled.",
                        row.status.replace('_', "-")
                    ),
                }
            });
        }
        let mut data = payloads::booking(&row, &org.currency);
        data["reason"] = json!(reason);
        uow.emit(&org.id, EventType::BookingCancelled, id, data)
            .await
            .or_internal()?;
        audit::record(
            uow.txn(),
            &Actor::from(user),
            "booking.cancelled",
            "booking",
            id,
            json!({ "reason": reason }),
        )
        .await
        .or_internal()?;
        uow.commit().await.or_internal()?;
        one_view(&self.db, &org, row).await
    }

    async fn form_options(&self, user: &CurrentUser) -> AppResult<BookingFormOptions> {
        let org = org::load(&self.db, &user.org_id).await?;
        let clients = client::Entity::find()
            .filter(client::Column::OrganizationId.eq(&org.id))
            .order_by_asc(client::Column::Name)
            .all(&self.db)
            .await
            .or_internal()?;
        Ok(BookingFormOptions {
            resources: org::resources(&self.db, &org.id).await?,
            clients: clients
                .into_iter()
                .map(crate::services::clients::view)
                .collect(),
            today: Utc::now()
                .with_timezone(&tz(&org))
                .format("%Y-%m-%d")
                .to_string(),
            currency: org.currency,
        })
    }
}
