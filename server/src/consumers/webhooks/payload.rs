//! The body a receiver gets. `standard`: `{"type", "timestamp", "data"}` as the Standard
//! Webhooks spec shows. `flat`: one level of `snake_case` keys, as Zapier-style
//! consumers map fields (`data.booking.start` becomes `booking_start`).
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Standard,
    Flat,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "standard" => Some(Format::Standard),
            "flat" => Some(Format::Flat),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Standard => "standard",
            Format::Flat => "flat",
        }
    }
}

pub fn body(
    format: Format,
    event_id: &str,
    event_type: &str,
    at: DateTime<Utc>,
    data: &Value,
) -> String {
    let timestamp = at.to_rfc3339_opts(SecondsFormat::Millis, true);
    match format {
        Format::Standard => {
            json!({"type": event_type, "timestamp": timestamp, "data": data}).to_string()
        }
        Format::Flat => {
            let mut out = Map::new();
            out.insert("event_id".into(), event_id.into());
            out.insert("event_type".into(), event_type.into());
            out.insert("occurred_at".into(), timestamp.into());
            flatten("", data, &mut out);
            Value::Object(out).to_string()
        }
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}_{k}")
                };
                flatten(&key, v, out);
            }
        }
        // Lists stay lists: Zapier line-item support reads arrays of objects.
        other if !prefix.is_empty() => {
            out.entry(prefix.to_string())
                .or_insert_with(|| other.clone());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_wraps_the_data() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .to_utc();
        let b: Value = serde_json::from_str(&body(
            Format::Standard,
            "evt_1",
            "booking.created",
            at,
            &json!({"booking": {"id": "bkg_1"}}),
        ))
        .unwrap();
        assert_eq!(
            b,
            json!({"type": "booking.created", "timestamp": "2026-11-22T10:00:00.000Z", "data": {"booking": {"id": "bkg_1"}}})
        );
    }

    #[test]
    fn flat_joins_nested_keys() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .to_utc();
        let data = json!({"booking": {"id": "bkg_1", "party": {"size": 4}}, "lines": [{"a": 1}]});
        let b: Value =
            serde_json::from_str(&body(Format::Flat, "evt_1", "booking.created", at, &data))
                .unwrap();
        assert_eq!(b["event_id"], "evt_1");
        assert_eq!(b["event_type"], "booking.created");
        assert_eq!(b["booking_id"], "bkg_1");
        assert_eq!(b["booking_party_size"], 4);
        assert_eq!(b["lines"], json!([{"a": 1}]));
    }
}
