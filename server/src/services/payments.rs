//! Stripe settings and payment links for the dashboard and the API (`PaymentsPort`).
use app::error::AppError;
use app::model::auth::{Actor, CurrentUser};
use app::model::money::format_amount;
use app::model::payment::{
    LinkStatus, PaymentLinkView, PaymentOverview, RefundInput, RefundView, StripeSettingsInput,
    StripeSettingsView, Subject, key_is_live,
};
use app::ports::{AppResult, PaymentsPort};
use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait, sea_query::OnConflict};
use serde_json::json;

use crate::db::audit;
use crate::db::entities::{payment_link, refund, stripe_settings};
use crate::platform::access::require_manager;
use crate::platform::clock::{Style, local_ms};
use crate::platform::{OrInternal, now_ms};
use crate::services::org;
use crate::stripe::inbound::SecretCache;
use crate::stripe::{self, SECRET_KEY, Stripe, WEBHOOK_SECRET, links, refunds};

pub struct PaymentsService {
    pub stripe: Stripe,
    /// Cleared when keys change, so the webhook endpoint uses the new secret at once.
    pub cache: SecretCache,
}

fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub fn link_view(
    l: &payment_link::Model,
    refunds: &[refund::Model],
    tz: chrono_tz::Tz,
) -> PaymentLinkView {
    PaymentLinkView {
        id: l.id.clone(),
        subject: Subject::parse(&l.subject_kind).unwrap_or(Subject::Invoice),
        subject_id: l.subject_id.clone(),
        url: l.url.clone(),
        amount_minor: l.amount_minor,
        amount_label: format_amount(l.amount_minor, &l.currency),
        currency: l.currency.clone(),
        status: LinkStatus::parse(&l.status).unwrap_or(LinkStatus::Active),
        payment_status: l.payment_status.clone(),
        paid: l.payment_status == "paid",
        refunded_minor: l.refunded_minor,
        refunded_label: format_amount(l.refunded_minor, &l.currency),
        last_error: l.last_error.clone(),
        expires_at: rfc3339(l.expires_at),
        created_at: rfc3339(l.created_at),
        completed_at: l.completed_at.map(rfc3339),
        expires_label: local_ms(l.expires_at, tz, Style::Friendly),
        created_label: local_ms(l.created_at, tz, Style::Friendly),
        completed_label: l.completed_at.map(|t| local_ms(t, tz, Style::Friendly)),
        refunds: refunds
            .iter()
            .map(|r| RefundView {
                id: r.id.clone(),
                amount_minor: r.amount_minor,
                amount_label: format_amount(r.amount_minor, &l.currency),
                reason: r.reason.clone(),
                status: r.status.clone(),
                created_at: rfc3339(r.created_at),
                created_label: local_ms(r.created_at, tz, Style::Friendly),
            })
            .collect(),
    }
}

impl PaymentsService {
    async fn view_of(&self, l: &payment_link::Model) -> AppResult<PaymentLinkView> {
        let org = org::load(&self.stripe.db, &l.organization_id).await?;
        let refunds = refunds::for_link(&self.stripe, &l.id).await.or_internal()?;
        Ok(link_view(l, &refunds, org::tz(&org)))
    }

    /// Asks Stripe whose account the key opens, and records the answer.
    async fn check(&self, org_id: &str) -> AppResult<()> {
        let client = self.stripe.client(org_id).await?;
        let (account, error) = match client.retrieve_account().await {
            Ok(a) => (Some(a), None),
            Err(e) => (None, Some(stripe::provider_error(e).to_string())),
        };
        let livemode = self
            .stripe
            .vault
            .get(&self.stripe.db, org_id, SECRET_KEY)
            .await
            .or_internal()?
            .is_some_and(|k| key_is_live(k.expose()));
        let now = now_ms();
        stripe_settings::Entity::insert(stripe_settings::ActiveModel {
            organization_id: Set(org_id.into()),
            livemode: Set(livemode),
            account_id: Set(account.as_ref().map(|a| a.id.clone())),
            account_name: Set(account.as_ref().and_then(|a| a.display_name())),
            checked_at: Set(Some(now)),
            check_error: Set(error),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(stripe_settings::Column::OrganizationId)
                .update_columns([
                    stripe_settings::Column::Livemode,
                    stripe_settings::Column::AccountId,
                    stripe_settings::Column::AccountName,
                    stripe_settings::Column::CheckedAt,
                    stripe_settings::Column::CheckError,
                    stripe_settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&self.stripe.db)
        .await
        .or_internal()?;
        Ok(())
    }
}

#[async_trait]
impl PaymentsPort for PaymentsService {
    async fn stripe_settings(&self, user: &CurrentUser) -> AppResult<StripeSettingsView> {
        let db = &self.stripe.db;
        let org = org::load(db, &user.org_id).await?;
        let vault = &self.stripe.vault;
        let secret_key_hint = vault.hint(db, &org.id, SECRET_KEY).await.or_internal()?;
        let webhook_secret_hint = vault
            .hint(db, &org.id, WEBHOOK_SECRET)
            .await
            .or_internal()?;
        let row = stripe_settings::Entity::find_by_id(&org.id)
            .one(db)
            .await
            .or_internal()?;
        Ok(StripeSettingsView {
            configured: secret_key_hint.is_some() && webhook_secret_hint.is_some(),
            secret_key_hint,
            webhook_secret_hint,
            livemode: row.as_ref().map(|r| r.livemode),
            account_id: row.as_ref().and_then(|r| r.account_id.clone()),
            account_name: row.as_ref().and_then(|r| r.account_name.clone()),
            checked_at: row
                .as_ref()
                .and_then(|r| r.checked_at)
                .map(|t| local_ms(t, org::tz(&org), Style::Friendly)),
            check_error: row.and_then(|r| r.check_error),
            webhook_url: self.stripe.webhook_url(&org.slug),
        })
    }

    async fn save_stripe_settings(
        &self,
        user: &CurrentUser,
        input: &StripeSettingsInput,
    ) -> AppResult<StripeSettingsView> {
        require_manager(user)?;
        let db = &self.stripe.db;
        let vault = &self.stripe.vault;
        let stored = (
            vault
                .hint(db, &user.org_id, SECRET_KEY)
                .await
                .or_internal()?
                .is_some(),
            vault
                .hint(db, &user.org_id, WEBHOOK_SECRET)
                .await
                .or_internal()?
                .is_some(),
        );
        input.validate(stored)?;
        let txn = crate::db::begin_write(db).await.or_internal()?;
        let mut changed = Vec::new();
        if !input.secret_key.trim().is_empty() {
            vault
                .put(&txn, &user.org_id, SECRET_KEY, input.secret_key.trim())
                .await
                .or_internal()?;
            changed.push("secret_key");
        }
        if !input.webhook_secret.trim().is_empty() {
            vault
                .put(
                    &txn,
                    &user.org_id,
                    WEBHOOK_SECRET,
                    input.webhook_secret.trim(),
                )
                .await
                .or_internal()?;
            changed.push("webhook_secret");
        }
        audit::record(
            &txn,
            &Actor::from(user),
            "stripe.settings_saved",
            "organization",
            &user.org_id,
            json!({ "changed": changed }),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        self.cache.forget_all();
        // The keys are saved whatever Stripe says; the page shows the check's outcome.
        self.check(&user.org_id).await?;
        self.stripe_settings(user).await
    }

    async fn test_stripe(&self, user: &CurrentUser) -> AppResult<StripeSettingsView> {
        require_manager(user)?;
        self.check(&user.org_id).await?;
        self.stripe_settings(user).await
    }

    async fn remove_stripe(&self, user: &CurrentUser) -> AppResult<()> {
        require_manager(user)?;
        let db = &self.stripe.db;
        let txn = crate::db::begin_write(db).await.or_internal()?;
        for name in [SECRET_KEY, WEBHOOK_SECRET] {
            self.stripe
                .vault
                .delete(&txn, &user.org_id, name)
                .await
                .or_internal()?;
        }
        stripe_settings::Entity::delete_by_id(&user.org_id)
            .exec(&txn)
            .await
            .or_internal()?;
        audit::record(
            &txn,
            &Actor::from(user),
            "stripe.removed",
            "organization",
            &user.org_id,
            json!({}),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        self.cache.forget_all();
        Ok(())
    }

    async fn overview(
        &self,
        user: &CurrentUser,
        subject: Subject,
        subject_id: &str,
    ) -> AppResult<PaymentOverview> {
        let db = &self.stripe.db;
        let org = org::load(db, &user.org_id).await?;
        let (collect, rows) = (
            links::what_to_collect(&self.stripe, &org, subject, subject_id).await,
            links::for_subject(&self.stripe, &org.id, subject, subject_id)
                .await
                .or_internal()?,
        );
        let (amount_label, blocked) = match collect {
            Ok(c) => (Some(format_amount(c.amount_minor, &c.currency)), None),
            // Someone else's id or a deleted record: the page says "not found" itself.
            Err(AppError::NotFound { .. }) if rows.is_empty() => {
                return Err(AppError::not_found(subject.as_str()));
            }
            Err(AppError::InvalidTransition { detail }) => (None, Some(detail)),
            Err(e) => return Err(e),
        };
        let mut refunds =
            refunds::for_links(&self.stripe, rows.iter().map(|l| l.id.clone()).collect())
                .await
                .or_internal()?;
        let views = rows
            .iter()
            .map(|l| link_view(l, &refunds.remove(&l.id).unwrap_or_default(), org::tz(&org)))
            .collect();
        Ok(PaymentOverview {
            links: views,
            stripe_ready: self
                .stripe
                .vault
                .hint(db, &org.id, SECRET_KEY)
                .await
                .or_internal()?
                .is_some(),
            amount_label,
            blocked,
        })
    }

    async fn create_link(
        &self,
        user: &CurrentUser,
        subject: Subject,
        subject_id: &str,
    ) -> AppResult<PaymentLinkView> {
        let link =
            links::create(&self.stripe, &Actor::from(user), subject, subject_id, None).await?;
        self.view_of(&link).await
    }

    async fn expire_link(&self, user: &CurrentUser, link_id: &str) -> AppResult<PaymentLinkView> {
        let link = links::expire(&self.stripe, &Actor::from(user), link_id).await?;
        self.view_of(&link).await
    }

    async fn refund(
        &self,
        user: &CurrentUser,
        link_id: &str,
        input: &RefundInput,
    ) -> AppResult<PaymentLinkView> {
        require_manager(user)?;
        let link = links::find(&self.stripe, &user.org_id, link_id).await?;
        let refundable = if link.payment_status == "paid" {
            link.amount_minor - link.refunded_minor
        } else {
            0
        };
        let amount = input.amount_minor(&link.currency, refundable)?;
        let link = refunds::refund(
            &self.stripe,
            &Actor::from(user),
            link_id,
            amount,
            &input.reason,
        )
        .await?;
        self.view_of(&link).await
    }
}
