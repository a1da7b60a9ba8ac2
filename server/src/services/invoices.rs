//! Invoices with line items. Numbers come from a per-organization counter that is
//! bumped as the transaction's first write, so two invoices never share a number.
use std::collections::HashMap;

use app::error::{AppError, FieldError};
use app::model::auth::{Actor, CurrentUser};
use app::model::invoice::{
    InvoiceFormOptions, InvoiceInput, InvoiceLineView, InvoiceStatus, InvoiceView,
};
use app::model::money::format_amount;
use app::model::page::Page;
use app::ports::{AppResult, InvoicesPort};
use async_trait::async_trait;
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde_json::json;

use crate::db::audit;
use crate::db::entities::{booking, client, invoice, invoice_line, organization};
use crate::events::{EventType, Outbox, payloads};
use crate::platform::{OrInternal, ids, sql};
use crate::services::org::{self, tz};

pub const PER_PAGE: u64 = 50;

pub struct InvoicesService {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
}

fn view(i: invoice::Model, lines: Vec<invoice_line::Model>, client_name: String) -> InvoiceView {
    let cur = i.currency.clone();
    InvoiceView {
        lines: lines
            .into_iter()
            .map(|l| InvoiceLineView {
                unit_label: format_amount(l.unit_amount_minor, &cur),
                amount_label: format_amount(l.unit_amount_minor * i64::from(l.quantity), &cur),
                description: l.description,
                quantity: l.quantity.max(0) as u32,
                unit_amount_minor: l.unit_amount_minor,
            })
            .collect(),
        total_label: format_amount(i.total_minor, &cur),
        status: InvoiceStatus::parse(&i.status).unwrap_or(InvoiceStatus::Draft),
        due_on: i.due_on.format("%Y-%m-%d").to_string(),
        id: i.id,
        number: i.number,
        client_id: i.client_id,
        client_name,
        booking_id: i.booking_id,
        currency: i.currency,
        total_minor: i.total_minor,
        notes: i.notes,
    }
}

async fn full_view(db: &impl ConnectionTrait, i: invoice::Model) -> AppResult<InvoiceView> {
    let lines = invoice_line::Entity::find()
        .filter(invoice_line::Column::InvoiceId.eq(&i.id))
        .order_by_asc(invoice_line::Column::Position)
        .all(db)
        .await
        .or_internal()?;
    let name = client::Entity::find_by_id(&i.client_id)
        .one(db)
        .await
        .or_internal()?
        .map(|c| c.name)
        .unwrap_or_default();
    Ok(view(i, lines, name))
}

async fn find(db: &impl ConnectionTrait, org_id: &str, id: &str) -> AppResult<invoice::Model> {
    invoice::Entity::find_by_id(id)
        .filter(invoice::Column::OrganizationId.eq(org_id))
        .one(db)
        .await
        .or_internal()?
        .ok_or_else(|| AppError::not_found("invoice"))
}

#[async_trait]
impl InvoicesPort for InvoicesService {
    async fn list(
        &self,
        user: &CurrentUser,
        status: &str,
        page: u64,
    ) -> AppResult<Page<InvoiceView>> {
        let mut q =
            invoice::Entity::find().filter(invoice::Column::OrganizationId.eq(&user.org_id));
        if !status.is_empty() {
            let s = InvoiceStatus::parse(status)
                .ok_or_else(|| AppError::field("status", "Unknown invoice status."))?;
            q = q.filter(invoice::Column::Status.eq(s.as_str()));
        }
        let pages = q
            .order_by_desc(invoice::Column::CreatedAt)
            .order_by_desc(invoice::Column::Id)
            .paginate(&self.db, PER_PAGE);
        let total = pages.num_items().await.or_internal()?;
        let page = app::model::page::clamp_page(page);
        let rows = pages.fetch_page(page - 1).await.or_internal()?;
        let ids: Vec<&str> = rows.iter().map(|i| i.client_id.as_str()).collect();
        let names: HashMap<String, String> = client::Entity::find()
            .filter(client::Column::Id.is_in(ids))
            .all(&self.db)
            .await
            .or_internal()?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        // The list shows totals, not lines: skip loading them.
        let items = rows
            .into_iter()
            .map(|i| {
                let name = names.get(&i.client_id).cloned().unwrap_or_default();
                view(i, Vec::new(), name)
            })
            .collect();
        Ok(Page {
            items,
            page,
            per_page: PER_PAGE,
            total,
        })
    }

    async fn get(&self, user: &CurrentUser, id: &str) -> AppResult<InvoiceView> {
        full_view(&self.db, find(&self.db, &user.org_id, id).await?).await
    }

    async fn create(&self, user: &CurrentUser, input: &InvoiceInput) -> AppResult<InvoiceView> {
        let org = org::load(&self.db, &user.org_id).await?;
        let v = input.validate(&org.currency)?;
        let mut uow = self.outbox.begin().await.or_internal()?;
        organization::Entity::update_many()
            .col_expr(
                organization::Column::NextInvoiceNumber,
                sql::incr(organization::Column::NextInvoiceNumber),
            )
            .filter(organization::Column::Id.eq(&org.id))
            .exec(uow.txn())
            .await
            .or_internal()?;
        let mut errors = Vec::new();
        let client_ok = client::Entity::find_by_id(&v.client_id)
            .filter(client::Column::OrganizationId.eq(&org.id))
            .count(uow.txn())
            .await
            .or_internal()?
            > 0;
        if !client_ok {
            errors.push(FieldError::new("client_id", "This client does not exist."));
        }
        if let Some(b) = &v.booking_id {
            let ok = booking::Entity::find_by_id(b)
                .filter(booking::Column::OrganizationId.eq(&org.id))
                .count(uow.txn())
                .await
                .or_internal()?
                > 0;
            if !ok {
                errors.push(FieldError::new(
                    "booking_id",
                    "This booking does not exist.",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation { fields: errors });
        }
        let counter = org::load(uow.txn(), &org.id).await?.next_invoice_number - 1;
        let now = Utc::now();
        let row = invoice::ActiveModel {
            id: Set(ids::new("inv")),
            organization_id: Set(org.id.clone()),
            number: Set(format!("INV-{counter:05}")),
            client_id: Set(v.client_id.clone()),
            booking_id: Set(v.booking_id.clone()),
            currency: Set(org.currency.clone()),
            total_minor: Set(v.total_minor()),
            due_on: Set(v.due_on),
            status: Set(InvoiceStatus::Draft.as_str().into()),
            notes: Set(v.notes.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(uow.txn())
        .await
        .or_internal()?;
        let lines: Vec<invoice_line::ActiveModel> = v
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| invoice_line::ActiveModel {
                id: Set(ids::new("il")),
                invoice_id: Set(row.id.clone()),
                position: Set(i as i32),
                description: Set(l.description.clone()),
                quantity: Set(l.quantity as i32),
                unit_amount_minor: Set(l.unit_amount_minor),
            })
            .collect();
        invoice_line::Entity::insert_many(lines)
            .exec_without_returning(uow.txn())
            .await
            .or_internal()?;
        uow.emit(
            &org.id,
            EventType::InvoiceCreated,
            &row.id,
            payloads::invoice(&row),
        )
        .await
        .or_internal()?;
        let details = json!({ "number": row.number, "total_minor": row.total_minor, "currency": row.currency });
        audit::record(
            uow.txn(),
            &Actor::from(user),
            "invoice.created",
            "invoice",
            &row.id,
            details,
        )
        .await
        .or_internal()?;
        let out = full_view(uow.txn(), row).await?;
        uow.commit().await.or_internal()?;
        Ok(out)
    }

    async fn set_status(
        &self,
        user: &CurrentUser,
        id: &str,
        next: InvoiceStatus,
    ) -> AppResult<InvoiceView> {
        let mut uow = self.outbox.begin().await.or_internal()?;
        let current = find(uow.txn(), &user.org_id, id).await?;
        let from = InvoiceStatus::parse(&current.status).unwrap_or(InvoiceStatus::Draft);
        if !from.can_become(next) {
            return Err(AppError::InvalidTransition {
                detail: format!(
                    "A {} invoice cannot become {}.",
                    from.as_str(),
                    next.as_str()
                ),
            });
        }
        // Conditional on the status we read, so a concurrent change is not overwritten.
        let res = invoice::Entity::update_many()
            .col_expr(invoice::Column::Status, Expr::value(next.as_str()))
            .col_expr(invoice::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(invoice::Column::Id.eq(id))
            .filter(invoice::Column::Status.eq(from.as_str()))
            .exec(uow.txn())
            .await
            .or_internal()?;
        if res.rows_affected == 0 {
            return Err(AppError::StaleRevision {
                what: "invoice".into(),
            });
        }
        let row = find(uow.txn(), &user.org_id, id).await?;
        let kind = match next {
            InvoiceStatus::Draft => None,
            InvoiceStatus::Sent => Some(EventType::InvoiceSent),
            InvoiceStatus::Paid => Some(EventType::InvoicePaid),
            InvoiceStatus::Overdue => Some(EventType::InvoiceOverdue),
            InvoiceStatus::Void => Some(EventType::InvoiceVoided),
            InvoiceStatus::Refunded => Some(EventType::InvoiceRefunded),
        };
        if let Some(kind) = kind {
            uow.emit(&user.org_id, kind, id, payloads::invoice(&row))
                .await
                .or_internal()?;
        }
        let action = format!("invoice.{}", next.as_str());
        audit::record(
            uow.txn(),
            &Actor::from(user),
            &action,
            "invoice",
            id,
            json!({ "from": from.as_str() }),
        )
        .await
        .or_internal()?;
        let out = full_view(uow.txn(), row).await?;
        uow.commit().await.or_internal()?;
        Ok(out)
    }

    async fn form_options(&self, user: &CurrentUser) -> AppResult<InvoiceFormOptions> {
        let org = org::load(&self.db, &user.org_id).await?;
        let clients = client::Entity::find()
            .filter(client::Column::OrganizationId.eq(&org.id))
            .order_by_asc(client::Column::Name)
            .all(&self.db)
            .await
            .or_internal()?;
        let due = Utc::now().with_timezone(&tz(&org)).date_naive() + Duration::days(14);
        Ok(InvoiceFormOptions {
            clients: clients
                .into_iter()
                .map(crate::services::clients::view)
                .collect(),
            currency: org.currency,
            default_due_on: due.format("%Y-%m-%d").to_string(),
        })
    }
}
