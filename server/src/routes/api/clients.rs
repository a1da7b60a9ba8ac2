//! `/api/v1/clients`: the organization's guests.
use app::model::client::ClientInput;
use app::ports::ClientsPort;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::Caller;
use super::page::{self, Cursor};
use super::problem::{ApiJson, ApiPath, ApiQuery, Problem, ProblemBody};
use crate::api_list;
use crate::db::entities::client;
use crate::platform::{internal, sql};
use crate::services::clients::ClientsService;

#[derive(Serialize, ToSchema)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

api_list!(ClientList, Client);

fn out(c: client::Model) -> Client {
    Client {
        id: c.id,
        name: c.name,
        email: c.email,
        phone: c.phone,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientFilter {
    /// Part of the name or email, any case.
    pub q: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

fn service(s: &ApiState) -> ClientsService {
    ClientsService {
        db: s.platform.db.clone(),
        outbox: s.platform.outbox.clone(),
    }
}

async fn load(s: &ApiState, c: &Caller, id: &str) -> Result<client::Model, Problem> {
    client::Entity::find_by_id(id)
        .filter(client::Column::OrganizationId.eq(&c.org.id))
        .one(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?
        .ok_or_else(|| Problem::not_found("client"))
}

#[utoipa::path(get, path = "/api/v1/clients", tag = "clients",
    params(Cursor, ClientFilter),
    responses((status = 200, body = ClientList), (status = 401, body = ProblemBody)))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiQuery(cursor): ApiQuery<Cursor>,
    ApiQuery(f): ApiQuery<ClientFilter>,
) -> Result<Json<ClientList>, Problem> {
    let limit = cursor.limit()?;
    let mut q = client::Entity::find().filter(client::Column::OrganizationId.eq(&c.org.id));
    if let Some(after) = &cursor.after {
        q = q.filter(client::Column::Id.gt(after));
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", text.to_lowercase());
        q = q.filter(
            sea_orm::Condition::any()
                .add(sql::lower_like(client::Column::Name, &pattern))
                .add(sql::lower_like(client::Column::Email, &pattern)),
        );
    }
    let rows = q
        .order_by_asc(client::Column::Id)
        .limit(limit + 1)
        .all(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?;
    let (rows, next_cursor) = page::finish(rows, limit, |r| r.id.clone());
    Ok(Json(ClientList {
        data: rows.into_iter().map(out).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "A `cli_` id")),
    responses((status = 200, body = Client), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Client>, Problem> {
    Ok(Json(out(load(&s, &c, &id).await?)))
}

#[utoipa::path(post, path = "/api/v1/clients", tag = "clients",
    request_body = NewClient,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Client), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiJson(b): ApiJson<NewClient>,
) -> Result<(StatusCode, Json<Client>), Problem> {
    let input = ClientInput {
        name: b.name,
        email: b.email.unwrap_or_default(),
        phone: b.phone.unwrap_or_default(),
    };
    let v = service(&s)
        .create(&c.user, &input)
        .await
        .map_err(Problem::from)?;
    Ok((StatusCode::CREATED, Json(out(load(&s, &c, &v.id).await?))))
}

#[utoipa::path(patch, path = "/api/v1/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "A `cli_` id")),
    request_body = ClientPatch,
    responses((status = 200, body = Client), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(p): ApiJson<ClientPatch>,
) -> Result<Json<Client>, Problem> {
    let cur = load(&s, &c, &id).await?;
    let input = ClientInput {
        name: p.name.unwrap_or(cur.name),
        email: p.email.unwrap_or(cur.email),
        phone: p.phone.unwrap_or(cur.phone),
    };
    service(&s)
        .update(&c.user, &id, &input)
        .await
        .map_err(Problem::from)?;
    Ok(Json(out(load(&s, &c, &id).await?)))
}
