//! Rules every free-text field shares. Control characters have no place in names or
//! notes: NUL cannot be stored at all (PostgreSQL refuses it), and the others break
//! display, CSV exports and calendar files.
use crate::error::FieldError;

/// A one-line text (a name, a label): no control characters at all.
pub fn check_line(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    if value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "Remove the control characters (like tabs or invisible codes) from this text.",
        ));
    }
}

/// A multi-line text (notes, a description): line breaks and tabs are fine.
pub fn check_multiline(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.push(FieldError::new(
            field,
            "Remove the invisible control characters from this text.",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_refuses_nul_and_tabs_but_not_accents() {
        let mut errors = Vec::new();
        check_line("name", "Zoë Ångström", &mut errors);
        assert!(errors.is_empty());
        check_line("name", "a\0b", &mut errors);
        check_line("name", "a\tb", &mut errors);
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|e| e.field == "name"));
    }

    #[test]
    fn notes_keep_line_breaks_and_refuse_nul() {
        let mut errors = Vec::new();
        check_multiline("notes", "window seat\r\nno nuts\tplease", &mut errors);
        assert!(errors.is_empty());
        check_multiline("notes", "ok\u{0}", &mut errors);
        check_multiline("notes", "bell\u{7}", &mut errors);
        assert_eq!(errors.len(), 2);
    }
}
