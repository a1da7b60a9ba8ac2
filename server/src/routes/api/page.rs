//! Cursor pagination: ids are monotonic ULIDs (creation order), so "after this id" never
//! repeats a row and stays stable while new rows arrive.
use serde::Deserialize;
use utoipa::IntoParams;

use super::problem::Problem;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Cursor {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

impl Cursor {
    pub fn limit(&self) -> Result<u64, Problem> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(Problem::invalid(
                "limit",
                format!("limit must be between 1 and {MAX_LIMIT}."),
            )),
        }
    }
}

/// Trims the extra row fetched to learn whether another page exists.
pub fn finish<T>(
    mut rows: Vec<T>,
    limit: u64,
    id: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(id) } else { None };
    (rows, next)
}

/// Declares `<Name> { data: Vec<Item>, next_cursor }` with its schema.
#[macro_export]
macro_rules! api_list {
    ($name:ident, $item:ty) => {
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            /// Pass as `after` to get the next page; absent on the last page.
            pub next_cursor: Option<String>,
        }
    };
}
