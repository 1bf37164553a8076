//! My profile.

use axum::response::Response;

use super::pages::see_other;

pub async fn show() -> Response {
    see_other("/")
}
pub async fn change_password() -> Response {
    see_other("/")
}
pub async fn end_session() -> Response {
    see_other("/")
}
