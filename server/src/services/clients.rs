//! Guests (clients), scoped to the organization.
use app::error::AppError;
use app::model::auth::{Actor, CurrentUser};
use app::model::client::{ClientInput, ClientView};
use app::model::page::Page;
use app::ports::{AppResult, ClientsPort};
use async_trait::async_trait;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde_json::json;

use crate::db::audit;
use crate::db::entities::client;
use crate::events::{EventType, Outbox, payloads};
use crate::platform::{OrInternal, ids, sql};

pub const PER_PAGE: u64 = 50;

pub struct ClientsService {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
}

pub fn view(c: client::Model) -> ClientView {
    ClientView {
        id: c.id,
        name: c.name,
        email: c.email,
        phone: c.phone,
    }
}

#[async_trait]
impl ClientsPort for ClientsService {
    async fn list(
        &self,
        user: &CurrentUser,
        query: &str,
        page: u64,
    ) -> AppResult<Page<ClientView>> {
        let mut find =
            client::Entity::find().filter(client::Column::OrganizationId.eq(&user.org_id));
        let q = query.trim().to_lowercase();
        if !q.is_empty() {
            let pattern = format!("%{}%", q.replace(['\\', '%', '_'], ""));
            let lower = |c: client::Column| sql::lower_like(c, &pattern);
            find = find.filter(
                Condition::any()
                    .add(lower(client::Column::Name))
                    .add(lower(client::Column::Email))
                    .add(lower(client::Column::Phone)),
            );
        }
        let pages = find
            .order_by_asc(client::Column::Name)
            .order_by_asc(client::Column::Id)
            .paginate(&self.db, PER_PAGE);
        let total = pages.num_items().await.or_internal()?;
        let page = app::model::page::clamp_page(page);
        let items = pages
            .fetch_page(page - 1)
            .await
            .or_internal()?
            .into_iter()
            .map(view)
            .collect();
        Ok(Page {
            items,
            page,
            per_page: PER_PAGE,
            total,
        })
    }

    async fn get(&self, user: &CurrentUser, id: &str) -> AppResult<ClientView> {
        client::Entity::find_by_id(id)
            .filter(client::Column::OrganizationId.eq(&user.org_id))
            .one(&self.db)
            .await
            .or_internal()?
            .map(view)
            .ok_or_else(|| AppError::not_found("client"))
    }

    async fn create(&self, user: &CurrentUser, input: &ClientInput) -> AppResult<ClientView> {
        let v = input.validate()?;
        let now = Utc::now();
        let mut uow = self.outbox.begin().await.or_internal()?;
        let row = client::ActiveModel {
            id: Set(ids::new("cli")),
            organization_id: Set(user.org_id.clone()),
            name: Set(v.name),
            email: Set(v.email),
            phone: Set(v.phone),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(uow.txn())
        .await
        .or_internal()?;
        uow.emit(
            &user.org_id,
            EventType::ClientCreated,
            &row.id,
            payloads::client(&row),
        )
        .await
        .or_internal()?;
        audit::record(
            uow.txn(),
            &Actor::from(user),
            "client.created",
            "client",
            &row.id,
            json!({ "name": row.name }),
        )
        .await
        .or_internal()?;
        uow.commit().await.or_internal()?;
        Ok(view(row))
    }

    async fn update(
        &self,
        user: &CurrentUser,
        id: &str,
        input: &ClientInput,
    ) -> AppResult<ClientView> {
        let v = input.validate()?;
        let mut uow = self.outbox.begin().await.or_internal()?;
        let res = client::Entity::update_many()
            .col_expr(client::Column::Name, Expr::value(v.name.clone()))
            .col_expr(client::Column::Email, Expr::value(v.email.clone()))
            .col_expr(client::Column::Phone, Expr::value(v.phone.clone()))
            .col_expr(client::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(client::Column::Id.eq(id))
            .filter(client::Column::OrganizationId.eq(&user.org_id))
            .exec(uow.txn())
            .await
            .or_internal()?;
        if res.rows_affected == 0 {
            return Err(AppError::not_found("client"));
        }
        let row = client::Entity::find_by_id(id)
            .one(uow.txn())
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("client"))?;
        uow.emit(
            &user.org_id,
            EventType::ClientUpdated,
            id,
            payloads::client(&row),
        )
        .await
        .or_internal()?;
        audit::record(
            uow.txn(),
            &Actor::from(user),
            "client.updated",
            "client",
            id,
            json!({ "name": v.name }),
        )
        .await
        .or_internal()?;
        uow.commit().await.or_internal()?;
        Ok(view(row))
    }
}
