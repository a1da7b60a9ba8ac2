//! `/api/v1/invoices`: invoices with their line items; status changes follow the same
//! lifecycle as the dashboard (draft -> sent -> paid, ...).
use app::model::invoice::{InvoiceInput, InvoiceStatus, InvoiceView, LineInput};
use app::model::money::amount_input;
use app::ports::InvoicesPort;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::Caller;
use super::page::{self, Cursor};
use super::problem::{ApiJson, ApiPath, ApiQuery, Problem, ProblemBody};
use crate::api_list;
use crate::db::entities::invoice;
use crate::platform::internal;
use crate::services::invoices::InvoicesService;

#[derive(Serialize, ToSchema)]
pub struct Invoice {
    pub id: String,
    /// `INV-00042`
    pub number: String,
    pub client_id: String,
    pub booking_id: Option<String>,
    pub currency: String,
    pub total_minor: i64,
    pub due_on: String,
    /// draft, sent, paid, overdue, void or refunded
    pub status: String,
    pub notes: String,
    pub lines: Vec<Line>,
}

#[derive(Serialize, ToSchema)]
pub struct Line {
    pub description: String,
    pub quantity: u32,
    pub unit_amount_minor: i64,
}

/// A list entry: the invoice without its lines.
#[derive(Serialize, ToSchema)]
pub struct InvoiceSummary {
    pub id: String,
    pub number: String,
    pub client_id: String,
    pub booking_id: Option<String>,
    pub currency: String,
    pub total_minor: i64,
    pub due_on: String,
    pub status: String,
}

api_list!(InvoiceList, InvoiceSummary);

fn full(v: InvoiceView) -> Invoice {
    Invoice {
        id: v.id,
        number: v.number,
        client_id: v.client_id,
        booking_id: v.booking_id,
        currency: v.currency,
        total_minor: v.total_minor,
        due_on: v.due_on,
        status: v.status.as_str().into(),
        notes: v.notes,
        lines: v
            .lines
            .into_iter()
            .map(|l| Line {
                description: l.description,
                quantity: l.quantity,
                unit_amount_minor: l.unit_amount_minor,
            })
            .collect(),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceFilter {
    pub status: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoice {
    pub client_id: String,
    pub booking_id: Option<String>,
    pub due_on: NaiveDate,
    pub notes: Option<String>,
    pub lines: Vec<NewLine>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    pub description: String,
    pub quantity: u32,
    pub unit_amount_minor: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// sent, paid, overdue, void or refunded
    pub status: String,
}

fn service(s: &ApiState) -> InvoicesService {
    InvoicesService {
        db: s.platform.db.clone(),
        outbox: s.platform.outbox.clone(),
    }
}

const FIELDS: &[(&str, &str)] = &[("unit_amount", "unit_amount_minor")];

#[utoipa::path(get, path = "/api/v1/invoices", tag = "invoices",
    params(Cursor, InvoiceFilter),
    responses((status = 200, body = InvoiceList), (status = 401, body = ProblemBody)))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiQuery(cursor): ApiQuery<Cursor>,
    ApiQuery(f): ApiQuery<InvoiceFilter>,
) -> Result<Json<InvoiceList>, Problem> {
    let limit = cursor.limit()?;
    let mut q = invoice::Entity::find().filter(invoice::Column::OrganizationId.eq(&c.org.id));
    if let Some(after) = &cursor.after {
        q = q.filter(invoice::Column::Id.gt(after));
    }
    if let Some(st) = &f.status {
        if InvoiceStatus::parse(st).is_none() {
            return Err(Problem::invalid(
                "status",
                "Unknown status; use draft, sent, paid, overdue, void or refunded.",
            ));
        }
        q = q.filter(invoice::Column::Status.eq(st));
    }
    let rows = q
        .order_by_asc(invoice::Column::Id)
        .limit(limit + 1)
        .all(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?;
    let (rows, next_cursor) = page::finish(rows, limit, |r| r.id.clone());
    Ok(Json(InvoiceList {
        data: rows
            .into_iter()
            .map(|i| InvoiceSummary {
                id: i.id,
                number: i.number,
                client_id: i.client_id,
                booking_id: i.booking_id,
                currency: i.currency,
                total_minor: i.total_minor,
                due_on: i.due_on.to_string(),
                status: i.status,
            })
            .collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/invoices/{id}", tag = "invoices",
    params(("id" = String, Path, description = "An `inv_` id")),
    responses((status = 200, body = Invoice), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Invoice>, Problem> {
    let v = service(&s).get(&c.user, &id).await.map_err(Problem::from)?;
    Ok(Json(full(v)))
}

#[utoipa::path(post, path = "/api/v1/invoices", tag = "invoices",
    request_body = NewInvoice,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Invoice), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiJson(b): ApiJson<NewInvoice>,
) -> Result<(StatusCode, Json<Invoice>), Problem> {
    if b.lines.is_empty() {
        return Err(Problem::invalid(
            "lines",
            "An invoice needs at least one line.",
        ));
    }
    for (i, l) in b.lines.iter().enumerate() {
        if l.unit_amount_minor < 0 {
            return Err(Problem::invalid(
                &format!("lines.{i}.unit_amount_minor"),
                "Amounts cannot be negative.",
            ));
        }
    }
    let input = InvoiceInput {
        client_id: b.client_id,
        booking_id: b.booking_id.unwrap_or_default(),
        due_on: b.due_on.to_string(),
        notes: b.notes.unwrap_or_default(),
        lines: b
            .lines
            .into_iter()
            .map(|l| LineInput {
                description: l.description,
                quantity: l.quantity.to_string(),
                unit_amount: amount_input(l.unit_amount_minor, &c.org.currency),
            })
            .collect(),
    };
    let v = service(&s)
        .create(&c.user, &input)
        .await
        .map_err(|e| Problem::from(e).rename_fields(FIELDS))?;
    Ok((StatusCode::CREATED, Json(full(v))))
}

#[utoipa::path(post, path = "/api/v1/invoices/{id}/status", tag = "invoices",
    params(("id" = String, Path, description = "An `inv_` id")),
    request_body = StatusChange,
    responses((status = 200, body = Invoice), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody, description = "invalid_transition")))]
pub async fn set_status(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<StatusChange>,
) -> Result<Json<Invoice>, Problem> {
    let next = InvoiceStatus::parse(&b.status).ok_or_else(|| {
        Problem::invalid(
            "status",
            "Unknown status; use sent, paid, overdue, void or refunded.",
        )
    })?;
    let v = service(&s)
        .set_status(&c.user, &id, next)
        .await
        .map_err(Problem::from)?;
    Ok(Json(full(v)))
}
