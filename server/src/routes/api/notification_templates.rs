//! `/api/v1/notification-templates`: what each notification says, per event type and
//! channel family (`email`, `sms`, `slack`, `discord`). Saving checks the template
//! strictly: a syntax error or an unknown variable is a 422 naming line and column.
use app::model::notification::{TemplateInput, TemplateView};
use app::ports::NotificationsPort;
use axum::Json;
use axum::extract::{Extension, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiState;
use super::auth::Caller;
use super::problem::{ApiJson, ApiPath, Problem, ProblemBody};

#[derive(Serialize, ToSchema)]
pub struct Variable {
    pub name: String,
    /// What it holds and which filter formats it.
    pub kind: String,
    pub example: String,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationTemplate {
    /// A domain event type, or `booking.reminder`.
    pub event_type: String,
    /// `email`, `sms`, `slack` or `discord`.
    pub family: String,
    /// Email subject, Slack header, Discord title; empty for SMS.
    pub subject: String,
    /// minijinja (Jinja2) source.
    pub body: String,
    /// False while Hitch's default applies.
    pub customized: bool,
    pub variables: Vec<Variable>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationTemplateList {
    pub data: Vec<NotificationTemplate>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateSource {
    #[serde(default)]
    pub subject: String,
    pub body: String,
}

fn out(t: TemplateView) -> NotificationTemplate {
    NotificationTemplate {
        event_type: t.event_type,
        family: t.family,
        subject: t.subject,
        body: t.body,
        customized: t.customized,
        variables: t
            .variables
            .into_iter()
            .map(|v| Variable {
                name: v.name,
                kind: v.kind,
                example: v.example,
            })
            .collect(),
    }
}

fn service(s: &ApiState) -> crate::consumers::notifications::manage::NotificationsService {
    crate::notifications_service(&s.platform)
}

#[utoipa::path(get, path = "/api/v1/notification-templates", tag = "notifications",
    responses((status = 200, body = NotificationTemplateList)))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> Result<Json<NotificationTemplateList>, Problem> {
    let all = service(&s)
        .templates(&c.user)
        .await
        .map_err(Problem::from)?;
    Ok(Json(NotificationTemplateList {
        data: all.into_iter().map(out).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/notification-templates/{event_type}/{family}", tag = "notifications",
    params(("event_type" = String, Path), ("family" = String, Path)),
    responses((status = 200, body = NotificationTemplate), (status = 422, body = ProblemBody)))]
pub async fn get(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath((event_type, family)): ApiPath<(String, String)>,
) -> Result<Json<NotificationTemplate>, Problem> {
    let t = service(&s)
        .template(&c.user, &event_type, &family)
        .await
        .map_err(Problem::from)?;
    Ok(Json(out(t)))
}

#[utoipa::path(put, path = "/api/v1/notification-templates/{event_type}/{family}", tag = "notifications",
    params(("event_type" = String, Path), ("family" = String, Path)),
    request_body = TemplateSource,
    responses((status = 200, body = NotificationTemplate), (status = 422, body = ProblemBody)))]
pub async fn put(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath((event_type, family)): ApiPath<(String, String)>,
    ApiJson(src): ApiJson<TemplateSource>,
) -> Result<Json<NotificationTemplate>, Problem> {
    let t = service(&s)
        .save_template(
            &c.user,
            &TemplateInput {
                event_type,
                family,
                subject: src.subject,
                body: src.body,
            },
        )
        .await
        .map_err(Problem::from)?;
    Ok(Json(out(t)))
}

/// Goes back to Hitch's default and answers it.
#[utoipa::path(delete, path = "/api/v1/notification-templates/{event_type}/{family}", tag = "notifications",
    params(("event_type" = String, Path), ("family" = String, Path)),
    responses((status = 200, body = NotificationTemplate), (status = 422, body = ProblemBody)))]
pub async fn reset(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath((event_type, family)): ApiPath<(String, String)>,
) -> Result<Json<NotificationTemplate>, Problem> {
    let t = service(&s)
        .reset_template(&c.user, &event_type, &family)
        .await
        .map_err(Problem::from)?;
    Ok(Json(out(t)))
}
