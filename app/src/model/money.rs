//! Amounts are integers in the currency's minor unit (cents); text only at the edges.

/// Currencies the settings page offers, with their minor-unit exponent and symbol.
pub const CURRENCIES: &[(&str, u32, &str)] = &[
    ("EUR", 2, "€"),
    ("USD", 2, "$"),
    ("GBP", 2, "£"),
    ("CHF", 2, "CHF "),
    ("CAD", 2, "CA$"),
    ("AUD", 2, "A$"),
    ("SEK", 2, "kr "),
    ("NOK", 2, "kr "),
    ("DKK", 2, "kr "),
    ("PLN", 2, "zł "),
    ("JPY", 0, "¥"),
];

pub fn is_supported_currency(code: &str) -> bool {
    CURRENCIES.iter().any(|(c, _, _)| *c == code)
}

fn exponent(currency: &str) -> u32 {
    CURRENCIES
        .iter()
        .find(|(c, _, _)| *c == currency)
        .map(|(_, e, _)| *e)
        .unwrap_or(2)
}

/// Parses "12.5", "12,50" or "1200" into minor units; rejects negatives, junk and
/// more decimals than the currency has.
pub fn parse_amount(raw: &str, currency: &str) -> Result<i64, String> {
    let s = raw.trim().replace(',', ".");
    if s.is_empty() {
        return Ok(0);
    }
    let exp = exponent(currency);
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s.as_str(), ""),
    };
    let digits_ok = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits_ok(whole) || !digits_ok(frac) {
        return Err("Enter an amount like 25 or 25.50.".into());
    }
    if frac.len() > exp as usize {
        return Err(format!("{currency} has at most {exp} decimal places."));
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| "That amount is too large.".to_string())?
    };
    let mut frac_val: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse()
            .map_err(|_| "Enter an amount like 25.50.".to_string())?
    };
    for _ in frac.len()..exp as usize {
        frac_val *= 10;
    }
    whole
        .checked_mul(10_i64.pow(exp))
        .and_then(|w| w.checked_add(frac_val))
        .filter(|v| *v <= 100_000_000_000)
        .ok_or_else(|| "That amount is too large.".to_string())
}

/// Plain decimal text for a form field ("12.50").
pub fn amount_input(minor: i64, currency: &str) -> String {
    let exp = exponent(currency);
    if exp == 0 {
        return minor.to_string();
    }
    let div = 10_i64.pow(exp);
    format!(
        "{}.{:0width$}",
        minor / div,
        (minor % div).abs(),
        width = exp as usize
    )
}

/// Display text with the currency symbol ("€12.50").
pub fn format_amount(minor: i64, currency: &str) -> String {
    let symbol = CURRENCIES
        .iter()
        .find(|(c, _, _)| *c == currency)
        .map(|(_, _, s)| *s)
        .unwrap_or(currency);
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{symbol}{}", amount_input(minor.abs(), currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_amount_spellings() {
        assert_eq!(parse_amount("12.5", "EUR"), Ok(1250));
        assert_eq!(parse_amount("12,50", "EUR"), Ok(1250));
        assert_eq!(parse_amount(" 1200 ", "EUR"), Ok(120000));
        assert_eq!(parse_amount("", "EUR"), Ok(0));
        assert_eq!(parse_amount("500", "JPY"), Ok(500));
    }

    #[test]
    fn rejects_junk_negatives_and_extra_decimals() {
        assert!(parse_amount("abc", "EUR").is_err());
        assert!(parse_amount("-5", "EUR").is_err());
        assert!(parse_amount("1.234", "EUR").is_err());
        assert!(parse_amount("1.5", "JPY").is_err());
        assert!(parse_amount("99999999999999999999", "EUR").is_err());
    }

    #[test]
    fn formats_with_symbol_and_minor_digits() {
        assert_eq!(format_amount(1250, "EUR"), "€12.50");
        assert_eq!(format_amount(5, "USD"), "$0.05");
        assert_eq!(format_amount(500, "JPY"), "¥500");
        assert_eq!(amount_input(120000, "GBP"), "1200.00");
    }
}
