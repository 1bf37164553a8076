//! The fields of a posted form (`application/x-www-form-urlencoded`), and
//! the errors shown beside them when the service refuses the input.

use std::collections::BTreeMap;

use keyward_core::Error;

/// A posted form's fields in order; a name may repeat (checkboxes).
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or empty.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    /// The value of `name` trimmed, if not empty.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// Every value of `name` (checked boxes, one name each).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether box `name` is checked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Messages to show beside fields (keyed by the service's field names), and
/// one for the form as a whole.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    fields: BTreeMap<String, String>,
    pub general: Option<String>,
}

impl FormErrors {
    /// The message beside `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    pub fn field(mut self, field: &str, message: impl Into<String>) -> Self {
        self.fields.insert(field.to_owned(), message.into());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }

    /// A refusal of the service, beside its field when it names one that
    /// the form has (`known`), else for the whole form.
    pub fn from_error(err: &Error, known: &[&str]) -> Self {
        match err {
            Error::InvalidArgument { field, message } => {
                let base = field.split('[').next().unwrap_or(field);
                if known.contains(&base) {
                    Self::default().field(base, message.clone())
                } else {
                    Self {
                        general: Some(format!("{field}: {message}")),
                        ..Self::default()
                    }
                }
            }
            other => Self {
                general: Some(super::message_of(other)),
                ..Self::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_and_errors_by_field() {
        let f = Fields::parse(b"scopes=a&scopes=b&name=+x+&empty=");
        assert_eq!(f.all("scopes"), ["a", "b"]);
        assert_eq!(f.optional("name").as_deref(), Some("x"));
        assert_eq!(f.optional("empty"), None);
        let e =
            FormErrors::from_error(&Error::invalid("redirectUris[1]", "bad"), &["redirectUris"]);
        assert_eq!(e.get("redirectUris"), Some("bad"));
        let e = FormErrors::from_error(&Error::invalid("other", "bad"), &["name"]);
        assert_eq!(e.general.as_deref(), Some("other: bad"));
    }
}
