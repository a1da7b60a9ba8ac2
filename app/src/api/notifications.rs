//! Notification channels, templates, rules and the log, for the dashboard. Every call
//! works as a plain form POST too (it redirects back with a notice).
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::notification::{
    ChannelForm, ChannelStats, ChannelView, NotificationFilter, NotificationView, Preview,
    RuleForm, RuleView, TemplateInput, TemplateView,
};
use crate::model::page::Page;

#[server(prefix = "/rpc", endpoint = "notifications/channels")]
pub async fn list_channels() -> Result<Vec<ChannelView>, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.notifications.channels(&user).await
}

#[server(prefix = "/rpc", endpoint = "notifications/channels/create")]
pub async fn create_channel(input: ChannelForm) -> Result<ChannelView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let input = input.to_input()?;
    let c = ctx::ports()?
        .notifications
        .create_channel(&user, &input)
        .await?;
    leptos_axum::redirect("/notifications?notice=channel_added");
    Ok(c)
}

/// `enabled`: "true" or "false", from a button.
#[server(prefix = "/rpc", endpoint = "notifications/channels/enable")]
pub async fn set_channel_enabled(id: String, enabled: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?
        .notifications
        .set_channel_enabled(&user, &id, enabled == "true")
        .await?;
    leptos_axum::redirect("/notifications?notice=saved");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "notifications/channels/delete")]
pub async fn delete_channel(id: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?
        .notifications
        .delete_channel(&user, &id)
        .await?;
    leptos_axum::redirect("/notifications?notice=channel_deleted");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "notifications/channels/test")]
pub async fn send_test_message(id: String) -> Result<NotificationView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let n = ctx::ports()?.notifications.send_test(&user, &id).await?;
    let notice = if n.status == "sent" {
        "test_sent"
    } else {
        "test_failed"
    };
    leptos_axum::redirect(&format!("/notifications?notice={notice}#log"));
    Ok(n)
}

#[server(prefix = "/rpc", endpoint = "notifications/templates")]
pub async fn list_templates() -> Result<Vec<TemplateView>, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.notifications.templates(&user).await
}

#[server(prefix = "/rpc", endpoint = "notifications/template")]
pub async fn get_template(event_type: String, family: String) -> Result<TemplateView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?
        .notifications
        .template(&user, &event_type, &family)
        .await
}

/// `action`: `save`, `preview` (the no-JavaScript preview) or `reset`.
#[server(prefix = "/rpc", endpoint = "notifications/template/save")]
pub async fn save_template(
    input: TemplateInput,
    action: Option<String>,
) -> Result<TemplateView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let ports = ctx::ports()?;
    let back = format!(
        "/notifications/templates?event_type={}&family={}",
        input.event_type, input.family
    );
    match action.as_deref() {
        // The preview follows typing already; nothing is saved.
        Some("preview") => {
            ports
                .notifications
                .template(&user, &input.event_type, &input.family)
                .await
        }
        Some("reset") => {
            let t = ports
                .notifications
                .reset_template(&user, &input.event_type, &input.family)
                .await?;
            leptos_axum::redirect(&format!("{back}&notice=template_reset"));
            Ok(t)
        }
        _ => {
            let t = ports.notifications.save_template(&user, &input).await?;
            leptos_axum::redirect(&format!("{back}&notice=template_saved"));
            Ok(t)
        }
    }
}

#[server(prefix = "/rpc", endpoint = "notifications/template/preview")]
pub async fn preview_template(input: TemplateInput) -> Result<Preview, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.notifications.preview(&user, &input).await
}

#[server(prefix = "/rpc", endpoint = "notifications/rules")]
pub async fn list_rules() -> Result<Vec<RuleView>, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.notifications.rules(&user).await
}

#[server(prefix = "/rpc", endpoint = "notifications/rules/create")]
pub async fn create_rule(input: RuleForm) -> Result<RuleView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let input = input.to_input()?;
    let r = ctx::ports()?
        .notifications
        .create_rule(&user, &input)
        .await?;
    leptos_axum::redirect("/notifications?notice=rule_added#rules");
    Ok(r)
}

/// `op`: `enable`, `disable` or `delete`.
#[server(prefix = "/rpc", endpoint = "notifications/rules/change")]
pub async fn change_rule(id: String, op: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let n = ctx::ports()?.notifications;
    match op.as_str() {
        "enable" => n.set_rule_enabled(&user, &id, true).await?,
        "disable" => n.set_rule_enabled(&user, &id, false).await?,
        "delete" => n.delete_rule(&user, &id).await?,
        _ => return Err(AppError::field("op", "Unknown change.")),
    }
    leptos_axum::redirect("/notifications?notice=saved#rules");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "notifications/log")]
pub async fn list_notifications(
    filter: NotificationFilter,
) -> Result<Page<NotificationView>, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.notifications.log(&user, &filter).await
}

#[server(prefix = "/rpc", endpoint = "notifications/retry")]
pub async fn retry_notification(id: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.notifications.retry(&user, &id).await?;
    leptos_axum::redirect("/notifications?notice=retried#log");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "notifications/stats")]
pub async fn notification_stats() -> Result<Vec<ChannelStats>, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.notifications.stats(&user, 14).await
}
