//! Rules every free-text field shares. Control characters have no place in names or
//! notes: NUL cannot be stored at all (PostgreSQL refuses it), and the others break
//! display, CSV exports and calendar files.
use crate::error::FieldError;

/// What is wrong with a one-line text (a name, a label): any control character.
pub fn line_problem(value: &str) -> Option<&'static str> {
    value
        .chars()
        .any(char::is_control)
        .then_some("Remove the control characters (like tabs or invisible codes) from this text.")
}

/// What is wrong with a multi-line text (notes, a description): line breaks and tabs
/// are fine, other control characters are not.
pub fn multiline_problem(value: &str) -> Option<&'static str> {
    value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .then_some("Remove the invisible control characters from this text.")
}

pub fn check_line(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    errors.extend(line_problem(value).map(|m| FieldError::new(field, m)));
}

pub fn check_multiline(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    errors.extend(multiline_problem(value).map(|m| FieldError::new(field, m)));
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
