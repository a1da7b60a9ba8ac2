//! Accounts and the demo organization: `hitch create-admin` and `hitch demo`.
use app::error::AppError;
use app::model::auth::Role;
use app::model::booking::BookingStatus;
use app::model::invoice::InvoiceStatus;
use app::model::org::slugify;
use app::model::resource::OpeningHours;
use chrono::{Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

use crate::db::entities::{booking, client, invoice, invoice_line, organization, resource, user};
use crate::platform::{OrInternal, ids};
use crate::services::auth::{end_sessions_of, hash_password, verify_password};
use crate::services::placement::to_utc;

pub const DEMO_SLUG: &str = "demo-bistro";
pub const DEMO_EMAIL: &str = "owner@demo.hitch.test";
pub const DEMO_PASSWORD: &str = "hitch-demo-2026";

/// Finds the organization with this name's slug, or creates it.
pub async fn ensure_org(
    db: &DatabaseConnection,
    name: &str,
    time_zone: &str,
    currency: &str,
) -> Result<organization::Model, AppError> {
    let slug = slugify(name);
    if slug.is_empty() {
        return Err(AppError::field(
            "org",
            "The organization name needs letters or digits.",
        ));
    }
    if time_zone.parse::<Tz>().is_err() {
        return Err(AppError::field(
            "time_zone",
            format!("`{time_zone}` is not a time zone name like Europe/Paris."),
        ));
    }
    if let Some(org) = organization::Entity::find()
        .filter(organization::Column::Slug.eq(&slug))
        .one(db)
        .await
        .or_internal()?
    {
        return Ok(org);
    }
    organization::ActiveModel {
        id: Set(ids::new("org")),
        name: Set(name.to_string()),
        slug: Set(slug),
        time_zone: Set(time_zone.to_string()),
        currency: Set(currency.to_string()),
        next_invoice_number: Set(1),
        cancel_cutoff_hours: Set(24),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .or_internal()
}

/// Creates a user, or resets the password and role of an existing one with that email.
pub async fn upsert_user(
    db: &DatabaseConnection,
    org: &organization::Model,
    email: &str,
    name: &str,
    password: &str,
    role: Role,
) -> Result<user::Model, AppError> {
    let email = email.trim().to_lowercase();
    if !app::model::client::looks_like_email(&email) {
        return Err(AppError::field(
            "email",
            "Enter an email address like owner@example.com.",
        ));
    }
    if password.chars().count() < crate::services::auth::MIN_PASSWORD {
        return Err(AppError::field(
            "password",
            format!(
                "Use a password of at least {} characters.",
                crate::services::auth::MIN_PASSWORD
            ),
        ));
    }
    let hash = hash_password(password)?;
    if let Some(existing) = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(db)
        .await
        .or_internal()?
    {
        if existing.organization_id != org.id {
            return Err(AppError::field(
                "email",
                "This email belongs to a user of another organization.",
            ));
        }
        let changed = !verify_password(password, &existing.password_hash);
        let mut a: user::ActiveModel = existing.into();
        a.password_hash = Set(hash);
        a.role = Set(role.as_str().into());
        let user = a.update(db).await.or_internal()?;
        if changed {
            end_sessions_of(db, &user.id).await.or_internal()?;
        }
        return Ok(user);
    }
    user::ActiveModel {
        id: Set(ids::new("usr")),
        organization_id: Set(org.id.clone()),
        email: Set(email),
        name: Set(name.to_string()),
        role: Set(role.as_str().into()),
        password_hash: Set(hash),
        created_at: Set(Utc::now()),
        last_login_at: Set(None),
    }
    .insert(db)
    .await
    .or_internal()
}

const GUESTS: [(&str, &str, &str); 12] = [
    ("Ada Lovelace", "ada@example.org", "+44 20 7946 0001"),
    ("Grace Hopper", "grace@example.org", "+1 202 555 0102"),
    ("Alan Turing", "alan@example.org", "+44 20 7946 0003"),
    ("Hedy Lamarr", "hedy@example.org", "+43 1 555 0104"),
    (
        "Katherine Johnson",
        "katherine@example.org",
        "+1 757 555 0105",
    ),
    ("Marie Curie", "marie@example.org", "+33 1 55 55 01 06"),
    ("Tim Berners-Lee", "tim@example.org", "+44 20 7946 0007"),
    (
        "Margaret Hamilton",
        "margaret@example.org",
        "+1 617 555 0108",
    ),
    ("Linus Torvalds", "linus@example.org", "+358 9 555 0109"),
    ("Barbara Liskov", "barbara@example.org", "+1 617 555 0110"),
    ("Edsger Dijkstra", "edsger@example.org", "+31 20 555 0111"),
    ("Frances Allen", "frances@example.org", "+1 914 555 0112"),
];

/// Seeds the demo organization once; later runs only reset the demo login.
pub async fn seed_demo(db: &DatabaseConnection) -> Result<organization::Model, AppError> {
    let org = ensure_org(db, "Demo Bistro", "Europe/Paris", "EUR").await?;
    upsert_user(
        db,
        &org,
        DEMO_EMAIL,
        "Olivia Owner",
        DEMO_PASSWORD,
        Role::Owner,
    )
    .await?;
    let seeded = resource::Entity::find()
        .filter(resource::Column::OrganizationId.eq(&org.id))
        .one(db)
        .await
        .or_internal()?
        .is_some();
    if seeded {
        return Ok(org);
    }
    let tz: Tz = org.time_zone.parse().unwrap_or(Tz::UTC);
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await.or_internal()?;
    let hours = |o: u16, c: u16| {
        serde_json::to_string(&OpeningHours::every_day(o * 60, c * 60)).unwrap_or_default()
    };
    let mut resources = Vec::new();
    for (name, cap, slot, open, close) in [
        ("Main room", 40, 120, 12, 23),
        ("Terrace", 24, 90, 12, 22),
        ("Private room", 12, 180, 18, 24),
    ] {
        let r = resource::ActiveModel {
            id: Set(ids::new("res")),
            organization_id: Set(org.id.clone()),
            name: Set(name.into()),
            capacity: Set(cap),
            slot_minutes: Set(slot),
            opening_hours: Set(hours(open, close)),
            lock_version: Set(0),
            created_at: Set(now),
        }
        .insert(&txn)
        .await
        .or_internal()?;
        resources.push(r);
    }
    let mut clients = Vec::new();
    for (name, email, phone) in GUESTS {
        let c = client::ActiveModel {
            id: Set(ids::new("cli")),
            organization_id: Set(org.id.clone()),
            name: Set(name.into()),
            email: Set(email.into()),
            phone: Set(phone.into()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .or_internal()?;
        clients.push(c);
    }
    // A week of dinners: a few tables an evening in the main room and on the terrace.
    let today = now.with_timezone(&tz).date_naive();
    let mut n = 0usize;
    let mut first_booking = None;
    for day in 0..7 {
        let date = today + Duration::days(day);
        for (slot, hh) in [(0, 12), (1, 13), (2, 19), (3, 19), (4, 20), (5, 21)] {
            let r = &resources[slot % 2];
            let c = &clients[n % clients.len()];
            let start = date.and_time(
                NaiveTime::from_hms_opt(hh, if slot % 2 == 0 { 0 } else { 30 }, 0)
                    .unwrap_or_default(),
            );
            let len = Duration::minutes(i64::from(r.slot_minutes));
            let status = match n % 9 {
                0 => BookingStatus::Pending,
                8 if day == 0 => BookingStatus::Cancelled,
                _ => BookingStatus::Confirmed,
            };
            let b = booking::ActiveModel {
                id: Set(ids::new("bk")),
                organization_id: Set(org.id.clone()),
                resource_id: Set(r.id.clone()),
                client_id: Set(c.id.clone()),
                starts_at: Set(to_utc(tz, start, "start")?),
                ends_at: Set(to_utc(tz, start + len, "end")?),
                party_size: Set(2 + (n % 5) as i32),
                status: Set(status.as_str().into()),
                notes: Set(if n.is_multiple_of(4) {
                    "Window table if possible".into()
                } else {
                    String::new()
                }),
                deposit_minor: Set(if n.is_multiple_of(3) { 2000 } else { 0 }),
                revision: Set(1),
                reminders_opt_out: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await
            .or_internal()?;
            first_booking.get_or_insert(b.id);
            n += 1;
        }
    }
    let invoices = [
        (
            0,
            InvoiceStatus::Paid,
            vec![("Dinner for 4", 4, 4500), ("Wine pairing", 4, 2500)],
        ),
        (
            1,
            InvoiceStatus::Sent,
            vec![("Private room hire", 1, 30000), ("Set menu", 10, 5500)],
        ),
        (2, InvoiceStatus::Draft, vec![("Birthday cake", 1, 4000)]),
        (
            3,
            InvoiceStatus::Overdue,
            vec![("Terrace event deposit", 1, 15000)],
        ),
    ];
    let count = invoices.len() as i64;
    for (i, (ci, status, lines)) in invoices.into_iter().enumerate() {
        let inv_id = ids::new("inv");
        let total: i64 = lines.iter().map(|(_, q, a)| q * a).sum();
        invoice::ActiveModel {
            id: Set(inv_id.clone()),
            organization_id: Set(org.id.clone()),
            number: Set(format!("INV-{:05}", i + 1)),
            client_id: Set(clients[ci].id.clone()),
            booking_id: Set(if i == 0 { first_booking.clone() } else { None }),
            currency: Set(org.currency.clone()),
            total_minor: Set(total),
            due_on: Set(today + Duration::days(14 - 10 * i as i64)),
            status: Set(status.as_str().into()),
            notes: Set(String::new()),
            created_at: Set(now - Duration::minutes(10 * (4 - i as i64))),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .or_internal()?;
        for (pos, (desc, qty, amount)) in lines.into_iter().enumerate() {
            invoice_line::ActiveModel {
                id: Set(ids::new("il")),
                invoice_id: Set(inv_id.clone()),
                position: Set(pos as i32),
                description: Set(desc.into()),
                quantity: Set(qty as i32),
                unit_amount_minor: Set(amount),
            }
            .insert(&txn)
            .await
            .or_internal()?;
        }
    }
    let mut o: organization::ActiveModel = org.into();
    o.next_invoice_number = Set(count + 1);
    let org = o.update(&txn).await.or_internal()?;
    txn.commit().await.or_internal()?;
    Ok(org)
}
