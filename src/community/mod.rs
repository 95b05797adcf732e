//! Community world cups: books made by members, with their own foods, the community list,
//! comments that show the poster's champion, reports and moderation, quotas.

pub mod access;
pub mod books;
pub mod comments;
pub mod limits;
pub mod reports;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use self::access::{
    BOOK_ACCESS_FROM, BookAccess, check_food_visible, check_playable, check_visible, managed_book,
    refresh_listing,
};
pub use self::books::{
    create_book, delete_book, record_finish, set_catalog_foods, sweep_popularity, update_book,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(books::list_community_books))
        .routes(routes!(books::list_my_books))
        .routes(routes!(books::add_own_food))
        .routes(routes!(books::remove_book_food))
        .routes(routes!(comments::list_comments, comments::post_comment))
        .routes(routes!(comments::delete_comment))
        .routes(routes!(reports::report_book))
        .routes(routes!(reports::report_comment))
        .routes(routes!(reports::list_reports))
        .routes(routes!(reports::resolve_report))
}
