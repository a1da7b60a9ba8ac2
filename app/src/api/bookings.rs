use leptos::prelude::*;

use crate::error::AppError;
use crate::model::booking::{
    BookingFilter, BookingFormOptions, BookingInput, BookingListItem, BookingView,
};
use crate::model::page::Page;

#[server(prefix = "/rpc", endpoint = "bookings/list")]
pub async fn list_bookings(filter: BookingFilter) -> Result<Page<BookingListItem>, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?.bookings.list(&user, &filter).await
}

#[server(prefix = "/rpc", endpoint = "bookings/get")]
pub async fn get_booking(id: String) -> Result<BookingView, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?.bookings.get(&user, &id).await
}

#[server(prefix = "/rpc", endpoint = "bookings/form-options")]
pub async fn booking_options() -> Result<BookingFormOptions, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?.bookings.form_options(&user).await
}

#[server(prefix = "/rpc", endpoint = "bookings/create")]
pub async fn create_booking(input: BookingInput) -> Result<BookingView, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    let booking = ctx::ports()?.bookings.create(&user, &input).await?;
    leptos_axum::redirect(&format!("/bookings?day={}&notice=created", booking.date));
    Ok(booking)
}

#[server(prefix = "/rpc", endpoint = "bookings/update")]
pub async fn update_booking(
    id: String,
    revision: i64,
    input: BookingInput,
) -> Result<BookingView, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    let booking = ctx::ports()?
        .bookings
        .update(&user, &id, revision, &input)
        .await?;
    leptos_axum::redirect(&format!("/bookings?day={}&notice=updated", booking.date));
    Ok(booking)
}

/// Moves a booking to another time, day or resource, keeping everything else (the
/// calendar's drag-to-reschedule). The same rules as the edit form apply: opening
/// hours, capacity, busy time, and `revision` must still be the stored one.
#[server(prefix = "/rpc", endpoint = "bookings/reschedule")]
pub async fn reschedule_booking(
    id: String,
    revision: i64,
    resource_id: String,
    date: String,
    start_time: String,
    end_time: String,
) -> Result<BookingView, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    let bookings = &ctx::ports()?.bookings;
    let b = bookings.get(&user, &id).await?;
    let currency = bookings.form_options(&user).await?.currency;
    let input = BookingInput {
        resource_id,
        client_id: b.client_id,
        date,
        start_time,
        end_time,
        party_size: b.party_size.to_string(),
        status: b.status.as_str().to_string(),
        notes: b.notes,
        deposit: if b.deposit_minor > 0 {
            crate::model::money::amount_input(b.deposit_minor, &currency)
        } else {
            String::new()
        },
    };
    bookings.update(&user, &id, revision, &input).await
}

#[server(prefix = "/rpc", endpoint = "bookings/cancel")]
pub async fn cancel_booking(
    id: String,
    revision: i64,
    #[server(default)] reason: String,
) -> Result<BookingView, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    let booking = ctx::ports()?
        .bookings
        .cancel(&user, &id, revision, &reason)
        .await?;
    leptos_axum::redirect(&format!("/bookings?day={}&notice=cancelled", booking.date));
    Ok(booking)
}
