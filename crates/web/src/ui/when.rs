//! Times as pages show them: a `<time>` element whose `datetime` and
//! tooltip carry the UTC value; the portal's script rewrites the text into
//! the reader's own zone (without the script, the UTC text stays).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// A time ready for a template.
#[derive(Debug, Clone)]
pub struct When {
    /// RFC 3339, UTC.
    pub iso: String,
    /// `2026-05-10 14:03 UTC`.
    pub text: String,
}

impl When {
    pub fn of(at: OffsetDateTime) -> Self {
        let at = at.to_offset(time::UtcOffset::UTC);
        let text = at
            .format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .unwrap_or_default();
        Self {
            iso: at.format(&Rfc3339).unwrap_or_default(),
            text,
        }
    }

    pub fn opt(at: Option<OffsetDateTime>) -> Option<Self> {
        at.map(Self::of)
    }
}

/// The date part, for `<input type="date">`.
pub fn date_input(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// A date from `<input type="date">`: the end of that day, UTC (a token
/// "expires on" a day works through it).
pub fn parse_date_end(value: &str) -> Option<OffsetDateTime> {
    let date = time::Date::parse(value.trim(), format_description!("[year]-[month]-[day]")).ok()?;
    Some(date.with_hms(23, 59, 59).ok()?.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_to_the_end_of_the_day() {
        let at = parse_date_end("2030-02-03").unwrap();
        assert_eq!(date_input(at), "2030-02-03");
        assert_eq!(at.hour(), 23);
        assert!(parse_date_end("03.02.2030").is_none());
        assert_eq!(When::of(at).text, "2030-02-03 23:59 UTC");
        assert_eq!(When::of(at).iso, "2030-02-03T23:59:59Z");
    }
}
