//! The JSON API under `/api/v1`, plus health endpoints. One file per resource.

pub mod admin;
pub mod apps;
pub mod audit;
pub mod health;
pub mod paging;
pub mod renewal;
pub mod session;
pub mod timefmt;
pub mod tokens;
pub mod verify;

use serde::Serialize;
use utoipa::ToSchema;

/// `{"ok": true}`, the answer of deletions and logout.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ok {
    pub ok: bool,
}

impl Ok {
    pub const fn yes() -> Self {
        Ok { ok: true }
    }
}
