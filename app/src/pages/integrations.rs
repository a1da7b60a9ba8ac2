//! Integration status. Rows appear here as integrations are built; none exist yet, and
//! this page never shows invented ones.
use leptos::prelude::*;

use crate::components::ui::{Empty, PageHeader};

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    view! {
        <PageHeader title="Integrations" subtitle="Webhooks, payments, calendars and notifications connect here." />
        <Empty title="No integrations connected" hint="This version of Hitch has no integrations yet. Each one will list its set-up, status and delivery log on this page once it is available." />
    }
}
