//! The portal's static files (its stylesheet and its one script), embedded
//! in the binary and served under names that carry a hash of their content,
//! so they can be cached for a year: a new build has new names.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
struct Asset {
    /// The name pages link to: `portal.<hash>.css`.
    name: String,
    content_type: &'static str,
    body: &'static [u8],
}

fn asset(stem: &str, ext: &str, content_type: &'static str, body: &'static [u8]) -> Asset {
    let hash = Sha256::digest(body);
    let hash: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    Asset {
        name: format!("{stem}.{hash}.{ext}"),
        content_type,
        body,
    }
}

static ASSETS: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [
        asset(
            "portal",
            "css",
            "text/css; charset=utf-8",
            include_bytes!("../../static/portal.css"),
        ),
        asset(
            "portal",
            "js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../static/portal.js"),
        ),
    ]
});

/// Where pages link the stylesheet from.
pub fn css_url() -> String {
    format!("/static/{}", ASSETS[0].name)
}

/// Where pages load the script from.
pub fn js_url() -> String {
    format!("/static/{}", ASSETS[1].name)
}

/// `GET /static/{name}`: an embedded file, cached for a year.
pub async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        assert!(css_url().starts_with("/static/portal.") && css_url().ends_with(".css"));
        assert!(js_url().ends_with(".js"));
        assert_ne!(css_url(), "/static/portal.css");
    }
}
