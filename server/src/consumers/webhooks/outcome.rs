//! What an attempt leaves behind: its row in the attempt log, the delivery's new state,
//! and the endpoint's health (failure count, pause, disable), in one transaction.
use std::time::Duration;

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, Func},
};

use super::deliver::Attempt;
use super::policy::{self, Verdict};
use super::{fanout, status, success_log};
use crate::db::entities::{webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::platform::now_ms;

pub(super) async fn finish_without_attempt(
    db: &DatabaseConnection,
    d: &webhook_delivery::Model,
    why: &str,
) -> Result<(), DbErr> {
    let now = now_ms();
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(status::FAILED),
        )
        .col_expr(webhook_delivery::Column::LastError, Expr::value(why))
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(now))
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.eq(&d.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Logs the attempt and moves the delivery and the endpoint's health on, in one
/// transaction. Returns the delay before the next attempt, if there is one.
pub(super) async fn record(
    db: &DatabaseConnection,
    d: &webhook_delivery::Model,
    ep: &webhook_endpoint::Model,
    started: i64,
    request_headers: String,
    a: &Attempt,
    verdict: &Verdict,
) -> Result<Option<Duration>, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let now = now_ms();
    let n = d.attempts + 1;
    webhook_attempt::Entity::insert(success_log::attempt_row(d, started, request_headers, a))
        .exec_without_returning(&txn)
        .await?;

    let (state, next) = match verdict {
        Verdict::Delivered => (status::SUCCEEDED, None),
        Verdict::Gone => (status::FAILED, None),
        Verdict::Failed { .. } if a.error_class == Some("blocked") => (status::FAILED, None),
        Verdict::Failed { retry_after } => match policy::next_delay(n, &mut rand::rng()) {
            Some(delay) => (
                status::PENDING,
                Some(delay.max(retry_after.unwrap_or_default())),
            ),
            None => (status::FAILED, None),
        },
    };
    let error = match (a.status, &a.error) {
        (_, Some(e)) => Some(e.clone()),
        (Some(code), None) if state != status::SUCCEEDED => Some(format!("HTTP {code}")),
        _ => None,
    };
    let next_at = next.map(|d| now + d.as_millis() as i64);
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(state))
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(n))
        .col_expr(
            webhook_delivery::Column::LastStatusCode,
            Expr::value(a.status.map(i32::from)),
        )
        .col_expr(webhook_delivery::Column::LastError, Expr::value(error))
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(next_at),
        )
        .col_expr(
            webhook_delivery::Column::FinishedAt,
            Expr::value(next.is_none().then_some(now)),
        )
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.eq(&d.id))
        .exec(&txn)
        .await?;

    let ep_id = webhook_endpoint::Column::Id.eq(&ep.id);
    match verdict {
        // Only a failing endpoint's row is written (and, on PostgreSQL, locked): a busy
        // healthy endpoint's concurrent deliveries do not queue on its row.
        Verdict::Delivered => {
            webhook_endpoint::Entity::update_many()
                .filter(
                    Condition::any()
                        .add(webhook_endpoint::Column::ConsecutiveFailures.ne(0))
                        .add(webhook_endpoint::Column::FailingSince.is_not_null())
                        .add(webhook_endpoint::Column::PausedUntil.is_not_null()),
                )
                .col_expr(
                    webhook_endpoint::Column::ConsecutiveFailures,
                    Expr::value(0),
                )
                .col_expr(
                    webhook_endpoint::Column::FailingSince,
                    Expr::value(Option::<i64>::None),
                )
                .col_expr(
                    webhook_endpoint::Column::PausedUntil,
                    Expr::value(Option::<i64>::None),
                )
                .filter(ep_id)
                .exec(&txn)
                .await?;
        }
        Verdict::Gone if ep.source == super::endpoints::SOURCE_ZAPIER => {
            // A REST-hook target that is gone unsubscribes itself (Zapier's contract).
            webhook_endpoint::Entity::delete_many()
                .filter(ep_id)
                .exec(&txn)
                .await?;
            crate::jobs::key_limits::remove(&txn, &super::lane_key(&ep.id)).await?;
        }
        Verdict::Gone => {
            webhook_endpoint::Entity::update_many()
                .col_expr(
                    webhook_endpoint::Column::FailingSince,
                    first_failure(d.created_at),
                )
                .filter(ep_id)
                .exec(&txn)
                .await?;
            disable(
                &txn,
                &ep.id,
                now,
                "The receiver answered 410 Gone, which asks never to be called again.",
            )
            .await?;
        }
        Verdict::Failed { retry_after } => {
            // "Wait this long" from the receiver holds every delivery to it, not only
            // this one (the pacing has also cut how many go at once).
            if let Some(wait) = retry_after.filter(|w| !w.is_zero()) {
                let until = now + wait.as_millis() as i64;
                webhook_endpoint::Entity::update_many()
                    .col_expr(webhook_endpoint::Column::PausedUntil, Expr::value(until))
                    .filter(ep_id.clone())
                    .filter(
                        Condition::any()
                            .add(webhook_endpoint::Column::PausedUntil.is_null())
                            .add(webhook_endpoint::Column::PausedUntil.lt(until)),
                    )
                    .exec(&txn)
                    .await?;
            }
            webhook_endpoint::Entity::update_many()
                .col_expr(
                    webhook_endpoint::Column::ConsecutiveFailures,
                    Expr::col(webhook_endpoint::Column::ConsecutiveFailures).add(1),
                )
                .col_expr(
                    webhook_endpoint::Column::FailingSince,
                    first_failure(d.created_at),
                )
                .filter(ep_id.clone())
                .exec(&txn)
                .await?;
            if let Some(fresh) = webhook_endpoint::Entity::find_by_id(&ep.id)
                .one(&txn)
                .await?
            {
                let broken_for = fresh.failing_since.map_or(0, |since| now - since);
                if broken_for >= policy::DISABLE_AFTER.as_millis() as i64 {
                    let days = policy::DISABLE_AFTER.as_secs() / 86400;
                    disable(
                        &txn,
                        &ep.id,
                        now,
                        &format!("Every delivery failed for {days} days."),
                    )
                    .await?;
                } else if let Some(pause) = policy::breaker_pause(fresh.consecutive_failures) {
                    webhook_endpoint::Entity::update_many()
                        .col_expr(
                            webhook_endpoint::Column::PausedUntil,
                            Expr::value(now + pause.as_millis() as i64),
                        )
                        .filter(ep_id)
                        .exec(&txn)
                        .await?;
                }
            }
        }
    }
    txn.commit().await?;
    if matches!(verdict, Verdict::Gone) || next.is_none() {
        fanout::forget(&ep.organization_id);
    }
    Ok(next)
}

/// Keeps the first failure's time: "since it broke" starts at the creation of the first
/// failed delivery, so a replay from there includes it.
fn first_failure(created_at: i64) -> Expr {
    Func::coalesce([
        Expr::col(webhook_endpoint::Column::FailingSince),
        Expr::value(created_at),
    ])
    .into()
}

async fn disable(
    txn: &impl ConnectionTrait,
    id: &str,
    now: i64,
    reason: &str,
) -> Result<(), DbErr> {
    webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::Enabled, Expr::value(false))
        .col_expr(webhook_endpoint::Column::DisabledAt, Expr::value(now))
        .col_expr(
            webhook_endpoint::Column::DisabledReason,
            Expr::value(reason),
        )
        .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_endpoint::Column::Id.eq(id))
        .exec(txn)
        .await?;
    tracing::warn!(endpoint = id, reason, "webhook endpoint disabled");
    Ok(())
}
