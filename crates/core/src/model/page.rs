//! Cursor pagination: every list is ordered by `(created_at, id)`, and a
//! page starts after a given row's key. The key travels as an opaque
//! cursor; a list answers at most `limit` rows and, if there are more, the
//! cursor of its last one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The most rows one page holds, and the default.
pub const MAX_PAGE: u32 = 100;

/// A row's place in the `(created_at, id)` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PageKey {
    pub created_at: OffsetDateTime,
    pub id: Uuid,
}

impl PageKey {
    /// The cursor naming this key: URL-safe base64 of a versioned text.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "1.{}.{}",
            self.created_at.unix_timestamp(),
            self.id.simple()
        ))
    }

    /// Reads a cursor made by [`Self::encode`]; anything else is `None`.
    pub fn decode(cursor: &str) -> Option<Self> {
        if cursor.len() > 128 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let mut parts = text.split('.');
        let (Some("1"), Some(seconds), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if id.len() != 32 {
            return None;
        }
        Some(Self {
            created_at: OffsetDateTime::from_unix_timestamp(seconds.parse().ok()?).ok()?,
            id: Uuid::try_parse(id).ok()?,
        })
    }
}

/// Which page of a list to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows after this key; `None` for the first page.
    pub after: Option<PageKey>,
    /// At most this many rows (1 to [`MAX_PAGE`]).
    pub limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            after: None,
            limit: MAX_PAGE,
        }
    }
}

impl PageRequest {
    /// Parses `?limit=` and `?cursor=`, naming the bad one.
    pub fn parse(limit: Option<u32>, cursor: Option<&str>) -> Result<Self> {
        let limit = limit.unwrap_or(MAX_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let after = cursor
            .map(|c| {
                PageKey::decode(c).ok_or_else(|| {
                    Error::invalid("cursor", "is not a cursor this server handed out")
                })
            })
            .transpose()?;
        Ok(Self { after, limit })
    }

    /// The request a store answers: one row more than the page, to tell
    /// whether another page follows.
    pub fn probe(&self) -> Self {
        Self {
            after: self.after,
            limit: self.limit + 1,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next: Option<PageKey>,
}

impl<T> Page<T> {
    /// The page of `rows` (fetched with [`PageRequest::probe`]) for
    /// `request`: at most `limit` items, and the next key if a row was left
    /// over.
    pub fn of(mut rows: Vec<T>, request: &PageRequest, key: impl Fn(&T) -> PageKey) -> Self {
        let more = rows.len() > request.limit as usize;
        rows.truncate(request.limit as usize);
        let next = if more { rows.last().map(key) } else { None };
        Self { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let key = PageKey {
            created_at: OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap(),
            id: Uuid::from_u128(0xdead_beef),
        };
        assert_eq!(PageKey::decode(&key.encode()), Some(key));
        for bad in ["", "x", "MS4xLjE", "%%%", &"A".repeat(500)] {
            assert_eq!(PageKey::decode(bad), None, "{bad}");
        }
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(101), None).is_err());
        assert!(matches!(
            PageRequest::parse(None, Some("nope")),
            Err(Error::InvalidArgument { field, .. }) if field == "cursor"
        ));
    }

    #[test]
    fn a_page_keeps_limit_rows_and_knows_if_more_follow() {
        let request = PageRequest {
            after: None,
            limit: 2,
        };
        let key = |n: &u128| PageKey {
            created_at: OffsetDateTime::UNIX_EPOCH,
            id: Uuid::from_u128(*n),
        };
        let page = Page::of(vec![1, 2, 3], &request, key);
        assert_eq!(page.items, [1, 2]);
        assert_eq!(page.next, Some(key(&2)));
        let last = Page::of(vec![1, 2], &request, key);
        assert_eq!(last.next, None);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any cursor text decodes without panicking; every key
            /// round-trips.
            #[test]
            fn cursors_are_safe_and_round_trip(text in "[ -~]{0,200}", seconds in -10_000_000_000i64..10_000_000_000, id in any::<u128>()) {
                let _ = PageKey::decode(&text);
                let key = PageKey {
                    created_at: OffsetDateTime::from_unix_timestamp(seconds).unwrap(),
                    id: Uuid::from_u128(id),
                };
                prop_assert_eq!(PageKey::decode(&key.encode()), Some(key));
            }
        }
    }
}
