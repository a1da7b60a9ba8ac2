use serde::{Deserialize, Serialize};

/// One page of a list, with enough to draw "page 2 of 5" and the links around it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

impl<T> Page<T> {
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(self.per_page.max(1)).max(1)
    }
    pub fn has_next(&self) -> bool {
        self.page < self.pages()
    }
    pub fn has_prev(&self) -> bool {
        self.page > 1
    }
}

/// No list goes this deep; a larger number asked for is read as this page, so the
/// offset arithmetic below it can never overflow.
pub const MAX_PAGE: u64 = 1_000_000;

/// A page number from a request, within `1..=MAX_PAGE`.
pub fn clamp_page(page: u64) -> u64 {
    page.clamp(1, MAX_PAGE)
}

/// Reads a 1-based page number from a query string value; anything odd becomes page 1.
pub fn parse_page(raw: Option<&str>) -> u64 {
    raw.and_then(|p| p.trim().parse::<u64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_count_rounds_up_and_never_drops_below_one() {
        let p = Page::<u8> {
            items: vec![],
            page: 1,
            per_page: 25,
            total: 51,
        };
        assert_eq!(p.pages(), 3);
        assert!(p.has_next());
        let empty = Page::<u8> {
            items: vec![],
            page: 1,
            per_page: 25,
            total: 0,
        };
        assert_eq!(empty.pages(), 1);
        assert!(!empty.has_next() && !empty.has_prev());
    }

    #[test]
    fn bad_page_numbers_fall_back_to_the_first_page() {
        assert_eq!(parse_page(Some("3")), 3);
        assert_eq!(parse_page(Some("0")), 1);
        assert_eq!(parse_page(Some("-2")), 1);
        assert_eq!(parse_page(Some("x")), 1);
        assert_eq!(parse_page(None), 1);
    }
}
