//! Templates (strictly checked at save, previewed with sample data) and rules, with the
//! first rules a new channel gets.
use app::error::{AppError, FieldError};
use app::model::auth::{Actor, CurrentUser};
use app::model::notification::{
    FAMILIES, MAX_TEMPLATE_LEN, Preview, RECIPIENTS, REMINDER, RuleInput, RuleView, TemplateInput,
    TemplateView, VariableView, family_of, sms_segments,
};
use app::ports::AppResult;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use serde_json::json;

use super::manage::NotificationsService;
use super::render::{self, Escape};
use super::{defaults, variables};
use crate::db::audit;
use crate::db::entities::{notification_channel, notification_rule, notification_template};
use crate::db::org;
use crate::platform::access::require_manager;
use crate::platform::{OrInternal, ids, now_ms};

const MAX_RULES: u64 = 200;

pub(super) fn template_view(
    event_type: &str,
    family: &str,
    subject: String,
    body: String,
    customized: bool,
) -> TemplateView {
    let v = |(n, k, e): &(&str, &str, &str)| VariableView {
        name: n.to_string(),
        kind: k.to_string(),
        example: e.to_string(),
    };
    TemplateView {
        event_type: event_type.into(),
        family: family.into(),
        subject,
        body,
        customized,
        variables: variables::catalog(event_type).iter().map(v).collect(),
        filters: variables::FILTERS.iter().map(v).collect(),
    }
}

pub(super) fn check_pair(event_type: &str, family: &str) -> AppResult<()> {
    if !defaults::event_types().contains(&event_type) {
        return Err(AppError::field(
            "event_type",
            "Choose an event type from the list.",
        ));
    }
    if !FAMILIES.iter().any(|(f, _)| *f == family) {
        return Err(AppError::field(
            "family",
            "Choose email, SMS, Slack or Discord.",
        ));
    }
    Ok(())
}

/// Refuses a template that does not compile or names an unknown variable.
pub(super) fn check_template(input: &TemplateInput) -> AppResult<()> {
    check_pair(&input.event_type, &input.family)?;
    let mut fields = Vec::new();
    for (field, src) in [("subject", &input.subject), ("body", &input.body)] {
        if src.len() > MAX_TEMPLATE_LEN {
            fields.push(FieldError::new(
                field,
                format!("Keep it under {MAX_TEMPLATE_LEN} characters."),
            ));
        } else if let Err(e) = render::check(src, &input.event_type) {
            fields.push(FieldError::new(field, e.to_string()));
        }
    }
    if input.body.trim().is_empty() {
        fields.push(FieldError::new("body", "The message needs some text."));
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation { fields })
    }
}

/// A sensible first set of rules for a new channel.
pub(super) async fn default_rules(
    txn: &impl sea_orm::ConnectionTrait,
    c: &notification_channel::Model,
) -> Result<(), sea_orm::DbErr> {
    let family = family_of(&c.kind).unwrap_or_default();
    let rules: Vec<(&str, &str, Option<i32>)> = match family {
        "slack" | "discord" => vec![
            ("booking.created", "team", None),
            ("booking.cancelled", "team", None),
            ("booking.deposit_paid", "team", None),
            ("invoice.paid", "team", None),
            ("channel.broken", "team", None),
        ],
        "email" => vec![
            ("booking.created", "guest", None),
            ("booking.rescheduled", "guest", None),
            ("booking.cancelled", "guest", None),
            (REMINDER, "guest", Some(24)),
            ("invoice.sent", "client", None),
            ("invoice.paid", "client", None),
        ],
        _ => vec![(REMINDER, "guest", Some(3))],
    };
    for (event_type, recipient, hours) in rules {
        notification_rule::Entity::insert(notification_rule::ActiveModel {
            id: Set(ids::new("nru")),
            organization_id: Set(c.organization_id.clone()),
            event_type: Set(event_type.into()),
            channel_id: Set(c.id.clone()),
            recipient: Set(recipient.into()),
            remind_hours: Set(hours),
            enabled: Set(true),
            created_at: Set(now_ms()),
        })
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

impl NotificationsService {
    pub(super) async fn all_templates(&self, user: &CurrentUser) -> AppResult<Vec<TemplateView>> {
        require_manager(user)?;
        let own = notification_template::Entity::find()
            .filter(notification_template::Column::OrganizationId.eq(&user.org_id))
            .all(&self.db)
            .await
            .or_internal()?;
        let mut out = Vec::new();
        for t in defaults::event_types() {
            for (family, _) in FAMILIES {
                let (subject, body, customized) =
                    match own.iter().find(|o| o.event_type == t && o.family == family) {
                        Some(o) => (o.subject.clone(), o.body.clone(), true),
                        None => {
                            let (s, b) = defaults::template(t, family);
                            (s, b, false)
                        }
                    };
                out.push(template_view(t, family, subject, body, customized));
            }
        }
        Ok(out)
    }

    pub(super) async fn one_template(
        &self,
        user: &CurrentUser,
        event_type: &str,
        family: &str,
    ) -> AppResult<TemplateView> {
        require_manager(user)?;
        check_pair(event_type, family)?;
        let own = notification_template::Entity::find()
            .filter(notification_template::Column::OrganizationId.eq(&user.org_id))
            .filter(notification_template::Column::EventType.eq(event_type))
            .filter(notification_template::Column::Family.eq(family))
            .one(&self.db)
            .await
            .or_internal()?;
        Ok(match own {
            Some(o) => template_view(event_type, family, o.subject, o.body, true),
            None => {
                let (s, b) = defaults::template(event_type, family);
                template_view(event_type, family, s, b, false)
            }
        })
    }

    pub(super) async fn store_template(
        &self,
        user: &CurrentUser,
        input: &TemplateInput,
    ) -> AppResult<TemplateView> {
        require_manager(user)?;
        check_template(input)?;
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        let existing = notification_template::Entity::find()
            .filter(notification_template::Column::OrganizationId.eq(&user.org_id))
            .filter(notification_template::Column::EventType.eq(&input.event_type))
            .filter(notification_template::Column::Family.eq(&input.family))
            .one(&txn)
            .await
            .or_internal()?;
        let row = notification_template::ActiveModel {
            id: Set(existing.map_or_else(|| ids::new("ntp"), |e| e.id)),
            organization_id: Set(user.org_id.clone()),
            event_type: Set(input.event_type.clone()),
            family: Set(input.family.clone()),
            subject: Set(input.subject.clone()),
            body: Set(input.body.clone()),
            updated_at: Set(now_ms()),
        };
        notification_template::Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(notification_template::Column::Id)
                    .update_columns([
                        notification_template::Column::Subject,
                        notification_template::Column::Body,
                        notification_template::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .or_internal()?;
        audit::record(
            &txn,
            &Actor::from(user),
            "notification_template.saved",
            "notification_template",
            &format!("{}/{}", input.event_type, input.family),
            json!({}),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        Ok(template_view(
            &input.event_type,
            &input.family,
            input.subject.clone(),
            input.body.clone(),
            true,
        ))
    }

    pub(super) async fn restore_template(
        &self,
        user: &CurrentUser,
        event_type: &str,
        family: &str,
    ) -> AppResult<TemplateView> {
        require_manager(user)?;
        check_pair(event_type, family)?;
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        notification_template::Entity::delete_many()
            .filter(notification_template::Column::OrganizationId.eq(&user.org_id))
            .filter(notification_template::Column::EventType.eq(event_type))
            .filter(notification_template::Column::Family.eq(family))
            .exec(&txn)
            .await
            .or_internal()?;
        audit::record(
            &txn,
            &Actor::from(user),
            "notification_template.reset",
            "notification_template",
            &format!("{event_type}/{family}"),
            json!({}),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        let (s, b) = defaults::template(event_type, family);
        Ok(template_view(event_type, family, s, b, false))
    }

    pub(super) async fn render_preview(
        &self,
        user: &CurrentUser,
        input: &TemplateInput,
    ) -> AppResult<Preview> {
        require_manager(user)?;
        check_pair(&input.event_type, &input.family)?;
        if let Err(AppError::Validation { fields }) = check_template(input) {
            return Ok(Preview {
                error: Some(
                    fields
                        .into_iter()
                        .map(|f| format!("{}: {}", f.field, f.message))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
                ..Preview::default()
            });
        }
        let o = org::load(&self.db, &user.org_id).await?;
        let mut ctx = variables::sample(&input.event_type);
        ctx["org"] = json!({ "name": o.name, "time_zone": o.time_zone, "currency": o.currency });
        let (subject_escape, body_escape) = render::escapes(input.family.as_str());
        let r = |e, src: &str| render::render_once(e, src, &ctx).map(|s| s.trim().to_string());
        let out = (|| -> Result<Preview, minijinja::Error> {
            let subject = r(subject_escape, &input.subject)?;
            let body = r(body_escape, &input.body)?;
            Ok(Preview {
                html: (input.family == "email")
                    .then(|| r(Escape::Html, &input.body).map(|h| render::email_html(&h, &subject)))
                    .transpose()?,
                segments: (input.family == "sms").then(|| sms_segments(&body)),
                subject,
                body,
                error: None,
            })
        })();
        Ok(out.unwrap_or_else(|e| Preview {
            error: Some(e.to_string()),
            ..Preview::default()
        }))
    }

    pub(super) async fn all_rules(&self, user: &CurrentUser) -> AppResult<Vec<RuleView>> {
        require_manager(user)?;
        let names = self.channel_names(&user.org_id).await?;
        Ok(notification_rule::Entity::find()
            .filter(notification_rule::Column::OrganizationId.eq(&user.org_id))
            .order_by_asc(notification_rule::Column::ChannelId)
            .order_by_asc(notification_rule::Column::EventType)
            .all(&self.db)
            .await
            .or_internal()?
            .into_iter()
            .map(|r| RuleView {
                channel_name: names.get(&r.channel_id).cloned().unwrap_or_default(),
                id: r.id,
                event_type: r.event_type,
                channel_id: r.channel_id,
                recipient: r.recipient,
                remind_hours: r.remind_hours.and_then(|h| u32::try_from(h).ok()),
                enabled: r.enabled,
            })
            .collect())
    }

    pub(super) async fn add_rule(
        &self,
        user: &CurrentUser,
        input: &RuleInput,
    ) -> AppResult<RuleView> {
        require_manager(user)?;
        if !defaults::event_types().contains(&input.event_type.as_str()) {
            return Err(AppError::field(
                "event_type",
                "Choose an event type from the list.",
            ));
        }
        if !RECIPIENTS.iter().any(|(r, _)| *r == input.recipient) {
            return Err(AppError::field("recipient", "Choose who receives it."));
        }
        if input.event_type == REMINDER && input.remind_hours.is_none() {
            return Err(AppError::field(
                "remind_hours",
                "Say how many hours before the booking.",
            ));
        }
        let c = self
            .channel(user, &input.channel_id)
            .await
            .map_err(|_| AppError::field("channel_id", "Choose one of your channels."))?;
        let count = notification_rule::Entity::find()
            .filter(notification_rule::Column::OrganizationId.eq(&user.org_id))
            .count(&self.db)
            .await
            .or_internal()?;
        if count >= MAX_RULES {
            return Err(AppError::InvalidTransition {
                detail: format!("An organization can have up to {MAX_RULES} rules."),
            });
        }
        let id = ids::new("nru");
        let hours = if input.event_type == REMINDER {
            input.remind_hours.map(|h| h.min(720) as i32)
        } else {
            None
        };
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        notification_rule::Entity::insert(notification_rule::ActiveModel {
            id: Set(id.clone()),
            organization_id: Set(user.org_id.clone()),
            event_type: Set(input.event_type.clone()),
            channel_id: Set(c.id.clone()),
            recipient: Set(input.recipient.clone()),
            remind_hours: Set(hours),
            enabled: Set(true),
            created_at: Set(now_ms()),
        })
        .exec_without_returning(&txn)
        .await
        .or_internal()?;
        audit::record(&txn, &Actor::from(user), "notification_rule.created", "notification_rule", &id, json!({ "event_type": input.event_type, "channel_id": c.id, "recipient": input.recipient })).await.or_internal()?;
        txn.commit().await.or_internal()?;
        self.rules_changed(&user.org_id);
        Ok(RuleView {
            id,
            event_type: input.event_type.clone(),
            channel_id: c.id,
            channel_name: c.name,
            recipient: input.recipient.clone(),
            remind_hours: hours.map(|h| h as u32),
            enabled: true,
        })
    }

    pub(super) async fn toggle_rule(
        &self,
        user: &CurrentUser,
        id: &str,
        enabled: bool,
    ) -> AppResult<()> {
        require_manager(user)?;
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        let r = notification_rule::Entity::update_many()
            .col_expr(notification_rule::Column::Enabled, Expr::value(enabled))
            .filter(notification_rule::Column::Id.eq(id))
            .filter(notification_rule::Column::OrganizationId.eq(&user.org_id))
            .exec(&txn)
            .await
            .or_internal()?;
        if r.rows_affected == 0 {
            return Err(AppError::not_found("rule"));
        }
        audit::record(
            &txn,
            &Actor::from(user),
            if enabled {
                "notification_rule.enabled"
            } else {
                "notification_rule.disabled"
            },
            "notification_rule",
            id,
            json!({}),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        self.rules_changed(&user.org_id);
        Ok(())
    }

    pub(super) async fn remove_rule(&self, user: &CurrentUser, id: &str) -> AppResult<()> {
        require_manager(user)?;
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        let r = notification_rule::Entity::delete_many()
            .filter(notification_rule::Column::Id.eq(id))
            .filter(notification_rule::Column::OrganizationId.eq(&user.org_id))
            .exec(&txn)
            .await
            .or_internal()?;
        if r.rows_affected == 0 {
            return Err(AppError::not_found("rule"));
        }
        audit::record(
            &txn,
            &Actor::from(user),
            "notification_rule.deleted",
            "notification_rule",
            id,
            json!({}),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        self.rules_changed(&user.org_id);
        Ok(())
    }
}
