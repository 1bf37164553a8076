//! Lists answer one page at a time: `?limit=` (1–100, default 100) and
//! `?cursor=` (from the previous page) ask for it, the body stays the plain
//! array the seeds' scripts read, and a `Link: <…>; rel="next"` header
//! (RFC 8288) names the next page while there is one.

use axum::Json;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use keyward_core::model::{Page, PageKey, PageRequest};
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;

/// `?limit=` and `?cursor=` as a request.
pub fn page_request(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    Ok(PageRequest::parse(limit, cursor)?)
}

/// A page as an answer: the items, and the next page's link.
pub struct Paged<T> {
    items: Vec<T>,
    next: Option<String>,
}

impl<T> Paged<T> {
    /// `page` of the list at `uri` (the request's), its items mapped by `f`.
    pub fn new<U>(state: &AppState, uri: &Uri, page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        Self {
            next: page.next.map(|key| next_link(&state.issuer, uri, key)),
            items: page.items.into_iter().map(f).collect(),
        }
    }
}

/// The URL of the page after `key`: the request's, with `cursor` replaced.
fn next_link(issuer: &str, uri: &Uri, key: PageKey) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if k != "cursor" {
            query.append_pair(&k, &v);
        }
    }
    query.append_pair("cursor", &key.encode());
    // The issuer is the public URL, perhaps with a path of its own.
    let base = url::Url::parse(issuer).map(|u| u.origin().ascii_serialization());
    format!(
        "{}{}?{}",
        base.unwrap_or_default(),
        uri.path(),
        query.finish()
    )
}

impl<T: Serialize> IntoResponse for Paged<T> {
    fn into_response(self) -> Response {
        let mut response = Json(self.items).into_response();
        if let Some(next) = self.next
            && let Ok(value) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\""))
        {
            response.headers_mut().insert(header::LINK, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_keeps_the_filters_and_replaces_the_cursor() {
        let key = PageKey {
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            id: uuid::Uuid::nil(),
        };
        let uri: Uri = "/api/v1/integrations/tokens?status=active&cursor=old&limit=5"
            .parse()
            .unwrap();
        let link = next_link("https://keys.example.com", &uri, key);
        assert_eq!(
            link,
            format!(
                "https://keys.example.com/api/v1/integrations/tokens?status=active&limit=5&cursor={}",
                key.encode()
            )
        );
    }
}
