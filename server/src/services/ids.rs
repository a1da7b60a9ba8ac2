//! Prefixed, sortable ids (`bk_01j...`): the prefix says what the id names.
pub fn new(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new().to_string().to_lowercase())
}
