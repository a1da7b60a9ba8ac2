//! Drag-to-reschedule on the calendar view, once the WASM has loaded: a booking dragged
//! up or down moves in quarter hours, dragged to another column moves to that day (week
//! view) or resource (day view). The move goes through the same server function rules
//! as the edit form (opening hours, capacity, busy time, the revision), so a refused
//! move snaps back with the reason. Without JavaScript, or on a touch screen (where a
//! drag is a scroll), the booking's page has the form.
//!
//! The grid is server-rendered markup; this island only listens on it. What it reads:
//! `#agenda[data-first-minute][data-hour-px]`, `.agenda-col[data-date][data-resource]`
//! and `.agenda-item[data-booking][data-revision][data-start][data-end]`.
use leptos::prelude::*;

/// Moves are made in steps of this many minutes.
pub const STEP_MINUTES: i32 = 15;

/// `HH:MM` for minutes since midnight.
pub fn clock(minutes: i32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The booking's new start after a vertical drag of `dy` pixels: whole steps, kept
/// inside the day.
pub fn moved_start(start: i32, end: i32, dy: f64, hour_px: f64) -> i32 {
    let steps = (dy / hour_px * 60.0 / f64::from(STEP_MINUTES)).round() as i32;
    (start + steps * STEP_MINUTES).clamp(0, 24 * 60 - (end - start))
}

#[island]
pub fn DragReschedule() -> impl IntoView {
    let message = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    listen(message);
    view! {
        <Show when=move || message.get().is_some()>
            <div role="alert" id="agenda-move-error"
                class="mb-3 flex items-start justify-between gap-3 rounded-lg border border-rose-200 bg-rose-50 px-4 py-3 text-sm text-rose-900">
                <span>{move || message.get().unwrap_or_default()}</span>
                <button type="button" class="font-semibold hover:underline" on:click=move |_| message.set(None)>"Dismiss"</button>
            </div>
        </Show>
    }
}

#[cfg(feature = "hydrate")]
fn listen(message: RwSignal<Option<String>>) {
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::{JsCast, closure::Closure};
    use web_sys::{HtmlElement, PointerEvent};

    struct Drag {
        item: HtmlElement,
        x: f64,
        y: f64,
        moved: bool,
    }

    let Some(grid) = document().get_element_by_id("agenda") else {
        return;
    };
    let hour_px: f64 = attr(&grid, "data-hour-px").parse().unwrap_or(56.0);
    let drag: Rc<RefCell<Option<Drag>>> = Rc::new(RefCell::new(None));
    // A drag ends in a click on the booking's link: swallow that one.
    let swallow_click = Rc::new(std::cell::Cell::new(false));

    let down = {
        let drag = drag.clone();
        Closure::<dyn FnMut(PointerEvent)>::new(move |e: PointerEvent| {
            if e.pointer_type() == "touch" || e.button() != 0 {
                return;
            }
            let Some(item) = target_item(&e) else { return };
            if item.get_attribute("data-movable").as_deref() != Some("true") {
                return;
            }
            let _ = item.set_pointer_capture(e.pointer_id());
            *drag.borrow_mut() = Some(Drag {
                item,
                x: f64::from(e.client_x()),
                y: f64::from(e.client_y()),
                moved: false,
            });
        })
    };
    let moving = {
        let drag = drag.clone();
        Closure::<dyn FnMut(PointerEvent)>::new(move |e: PointerEvent| {
            let mut d = drag.borrow_mut();
            let Some(d) = d.as_mut() else { return };
            let (dx, dy) = (f64::from(e.client_x()) - d.x, f64::from(e.client_y()) - d.y);
            if !d.moved && dx.abs() + dy.abs() < 5.0 {
                return;
            }
            d.moved = true;
            e.prevent_default();
            // Snap the preview to the steps the move will be made in.
            let step_px = hour_px * f64::from(STEP_MINUTES) / 60.0;
            let snapped = (dy / step_px).round() * step_px;
            let style = d.item.style();
            let _ = style.set_property("transform", &format!("translate({dx}px, {snapped}px)"));
            let _ = style.set_property("z-index", "30");
            let _ = style.set_property("pointer-events", "none");
            let _ = style.set_property("opacity", "0.85");
        })
    };
    let up = {
        let drag = drag.clone();
        let swallow_click = swallow_click.clone();
        Closure::<dyn FnMut(PointerEvent)>::new(move |e: PointerEvent| {
            let Some(d) = drag.borrow_mut().take() else {
                return;
            };
            if !d.moved {
                return;
            }
            swallow_click.set(true);
            let (x, y) = (e.client_x(), e.client_y());
            let column = document()
                .element_from_point(x as f32, y as f32)
                .and_then(|el| el.closest(".agenda-col").ok().flatten());
            let from_column = d.item.closest(".agenda-col").ok().flatten();
            let (Some(column), Some(from_column)) = (column.or(from_column.clone()), from_column)
            else {
                reset(&d.item);
                return;
            };
            let start: i32 = attr(&d.item, "data-start").parse().unwrap_or(0);
            let end: i32 = attr(&d.item, "data-end").parse().unwrap_or(start);
            let new_start = moved_start(start, end, f64::from(y) - d.y, hour_px);
            let date = attr(&column, "data-date");
            let resource = Some(attr(&column, "data-resource"))
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| attr(&d.item, "data-resource"));
            let same_place = column == from_column;
            if same_place && new_start == start {
                reset(&d.item);
                return;
            }
            let id = attr(&d.item, "data-booking");
            let revision: i64 = attr(&d.item, "data-revision").parse().unwrap_or(0);
            let item = d.item.clone();
            let (from, to) = (clock(new_start), clock(new_start + end - start));
            let _ = d.item.style().set_property("opacity", "0.5");
            leptos::task::spawn_local(async move {
                match crate::api::bookings::reschedule_booking(
                    id, revision, resource, date, from, to,
                )
                .await
                {
                    Ok(_) => {
                        let _ = window().location().reload();
                    }
                    Err(err) => {
                        reset(&item);
                        message.set(Some(format!("Not moved: {}", reason(&err))));
                    }
                }
            });
        })
    };
    let click = Closure::<dyn FnMut(web_sys::MouseEvent)>::new(move |e: web_sys::MouseEvent| {
        if swallow_click.replace(false) {
            e.prevent_default();
            e.stop_propagation();
        }
    });
    let _ = grid.add_event_listener_with_callback("pointerdown", down.as_ref().unchecked_ref());
    let _ = grid.add_event_listener_with_callback("pointermove", moving.as_ref().unchecked_ref());
    let _ = grid.add_event_listener_with_callback("pointerup", up.as_ref().unchecked_ref());
    let _ = grid.add_event_listener_with_callback_and_bool(
        "click",
        click.as_ref().unchecked_ref(),
        true,
    );
    // The grid lives as long as the page: so do its listeners.
    down.forget();
    moving.forget();
    up.forget();
    click.forget();

    fn target_item(e: &PointerEvent) -> Option<HtmlElement> {
        e.target()?
            .dyn_into::<web_sys::Element>()
            .ok()?
            .closest(".agenda-item")
            .ok()
            .flatten()?
            .dyn_into::<HtmlElement>()
            .ok()
    }

    fn reset(item: &HtmlElement) {
        let _ = item.style().remove_property("transform");
        let _ = item.style().remove_property("z-index");
        let _ = item.style().remove_property("pointer-events");
        let _ = item.style().remove_property("opacity");
    }
}

/// What was wrong, in the form's own words: a field's message rather than the
/// form's "correct the highlighted fields", since no field is shown here.
pub fn reason(err: &crate::error::AppError) -> String {
    match err {
        crate::error::AppError::Validation { fields } if !fields.is_empty() => fields
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

#[cfg(feature = "hydrate")]
fn attr(el: &web_sys::Element, name: &str) -> String {
    el.get_attribute(name).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drag_moves_in_quarter_hours_and_stays_inside_the_day() {
        // 56 px an hour: 14 px a quarter.
        assert_eq!(moved_start(19 * 60, 21 * 60, 56.0, 56.0), 20 * 60);
        assert_eq!(moved_start(19 * 60, 21 * 60, 20.0, 56.0), 19 * 60 + 15);
        assert_eq!(moved_start(19 * 60, 21 * 60, 6.0, 56.0), 19 * 60);
        assert_eq!(moved_start(19 * 60, 21 * 60, -28.0, 56.0), 18 * 60 + 30);
        assert_eq!(moved_start(60, 120, -500.0, 56.0), 0);
        assert_eq!(moved_start(22 * 60, 23 * 60, 500.0, 56.0), 23 * 60);
        assert_eq!(clock(20 * 60 + 15), "20:15");
    }

    #[test]
    fn a_refusal_names_the_rule_not_the_form() {
        let err = crate::error::AppError::field("start_time", "The Main room opens at 12:00.");
        assert_eq!(reason(&err), "The Main room opens at 12:00.");
        let stale = crate::error::AppError::StaleRevision {
            what: "booking".into(),
        };
        assert_eq!(reason(&stale), stale.to_string());
    }
}
