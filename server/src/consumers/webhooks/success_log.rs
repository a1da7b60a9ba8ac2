//! Successful attempts to healthy endpoints, written many to a transaction: the attempt
//! rows in one insert and the deliveries marked done in one update per status code.
//! A delivery's job finishes only once its batch has committed, so nothing is less
//! durable than one transaction per attempt; a busy endpoint just stops paying a
//! transaction per delivery. Failures and recoveries keep the one-by-one path
//! (`outcome::record`), which also moves the endpoint's health.
use std::collections::BTreeMap;

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};

use super::status;
use crate::db::entities::{webhook_attempt, webhook_delivery};
use crate::platform::batch::Batcher;
use crate::platform::{ids, now_ms};

/// Most attempts in one transaction (SQLite's bound-parameter limit allows 32,766;
/// an attempt row takes 12).
const PER_WRITE: usize = 256;

pub struct Success {
    pub attempt: webhook_attempt::ActiveModel,
    pub delivery_id: String,
    pub status_code: i32,
}

/// One writer per delivery handler, started with the first success.
pub struct SuccessLog(Batcher<Success, Result<(), String>>);

impl Default for SuccessLog {
    fn default() -> Self {
        SuccessLog(Batcher::new(PER_WRITE))
    }
}

impl SuccessLog {
    /// Writes the success with others arriving meanwhile; returns once committed.
    pub async fn record(&self, db: &DatabaseConnection, s: Success) -> Result<(), DbErr> {
        let serve = || {
            let db = db.clone();
            move |batch: Vec<Success>| {
                let db = db.clone();
                async move {
                    let result = write(&db, &batch).await.map_err(|e| e.to_string());
                    vec![result; batch.len()]
                }
            }
        };
        self.0
            .call(s, serve)
            .await
            .ok_or_else(|| DbErr::Custom("the attempt log writer stopped".into()))?
            .map_err(DbErr::Custom)
    }
}

async fn write(db: &DatabaseConnection, batch: &[Success]) -> Result<(), DbErr> {
    let txn = crate::db::begin_write(db).await?;
    webhook_attempt::Entity::insert_many(batch.iter().map(|s| s.attempt.clone()))
        .exec_without_returning(&txn)
        .await?;
    let now = now_ms();
    let mut by_code: BTreeMap<i32, Vec<&str>> = BTreeMap::new();
    for s in batch {
        by_code
            .entry(s.status_code)
            .or_default()
            .push(&s.delivery_id);
    }
    for (code, ids) in by_code {
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::Status,
                Expr::value(status::SUCCEEDED),
            )
            .col_expr(
                webhook_delivery::Column::Attempts,
                Expr::col(webhook_delivery::Column::Attempts).add(1),
            )
            .col_expr(webhook_delivery::Column::LastStatusCode, Expr::value(code))
            .col_expr(
                webhook_delivery::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(now))
            .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
            .filter(webhook_delivery::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
    }
    txn.commit().await
}

/// An attempt's row in the log (for either path).
pub fn attempt_row(
    d: &webhook_delivery::Model,
    started_at: i64,
    request_headers: String,
    a: &super::deliver::Attempt,
) -> webhook_attempt::ActiveModel {
    webhook_attempt::ActiveModel {
        id: Set(ids::new("wha")),
        delivery_id: Set(d.id.clone()),
        endpoint_id: Set(d.endpoint_id.clone()),
        attempt: Set(d.attempts + 1),
        started_at: Set(started_at),
        duration_ms: Set(a.duration.as_millis().min(i32::MAX as u128) as i32),
        request_headers: Set(request_headers),
        status_code: Set(a.status.map(i32::from)),
        response_headers: Set(a.response_headers.clone()),
        response_body: Set(a.response_body.clone()),
        error_class: Set(a.error_class.map(str::to_string)),
        error: Set(a.error.clone()),
    }
}
