//! Catalog types as the API shows them, and the validation rules of their fields.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;

/// A food as clients see it: `name`, `description`, `details` and `categories` in the
/// request's language (Korean where no English is written); with `?translations=true` also
/// each language's own text.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Food {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub details: String,
    #[serde(flatten)]
    pub texts: FoodTexts,
    pub image_url: Option<String>,
    pub credit: String,
    pub alt_image_url: Option<String>,
    pub alt_credit: Option<String>,
    pub categories: Vec<String>,
    /// `image_url`'s picture as lossy WebP; null when there is none (yet).
    pub image_webp_url: Option<String>,
    /// `alt_image_url`'s picture as lossy WebP; null when there is none (yet).
    pub alt_image_webp_url: Option<String>,
}

/// A category with the number of foods in it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Category {
    pub id: i64,
    /// In the request's language.
    pub name: String,
    /// Only with `?translations=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_ko: Option<String>,
    /// Only with `?translations=true`; empty when not translated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    pub food_count: i64,
}

/// Each language's own texts of a food, present only with `?translations=true`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FoodTexts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_ko: Option<String>,
    /// Empty when not translated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_ko: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_ko: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_en: Option<String>,
}

/// Each language's own name and description of a book, present only with
/// `?translations=true`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BookTexts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_ko: Option<String>,
    /// Empty when not translated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_ko: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_en: Option<String>,
}

/// A text in the request's language, and both languages' texts when it asks for them.
pub struct Localized {
    pub chosen: String,
    pub ko: Option<String>,
    pub en: Option<String>,
}

impl Localized {
    /// Chooses between the Korean and the English text by [`crate::lang::current`].
    pub fn new(ko: String, en: String) -> Localized {
        let choice = crate::lang::current();
        let chosen = choice.lang.pick(&ko, &en).to_owned();
        if choice.translations {
            Localized {
                chosen,
                ko: Some(ko),
                en: Some(en),
            }
        } else {
            Localized {
                chosen,
                ko: None,
                en: None,
            }
        }
    }
}

/// A food book (one world cup's set of foods).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Book {
    pub id: i64,
    pub name: String,
    pub cover_url: Option<String>,
    /// `cover_url`'s picture as lossy WebP; null when there is none (yet).
    pub cover_webp_url: Option<String>,
    pub food_count: i64,
    /// World cups started (as the original counted).
    pub play_count: i64,
    /// World cups played to their champion.
    pub finished_count: i64,
    pub priority: i64,
    /// `official` (made by the admins) or `community` (made by a member).
    pub kind: String,
    /// The member who made a community book; null for official ones.
    pub owner: Option<BookOwner>,
    /// `public`, `unlisted` (only by link) or `private` (only the owner).
    pub visibility: String,
    /// In the request's language, like `name`.
    pub description: String,
    #[serde(flatten)]
    pub texts: BookTexts,
    /// Hidden pending review after reports (only its owner and admins still see it).
    pub hidden: bool,
}

/// Who made a community book.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BookOwner {
    pub username: String,
    pub display_name: String,
}

/// A food book with its foods, ordered by name.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BookDetail {
    #[serde(flatten)]
    pub book: Book,
    pub foods: Vec<Food>,
}

/// A page of foods.
#[derive(Debug, Serialize, ToSchema)]
pub struct FoodPage {
    pub items: Vec<Food>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Body of `POST /foods`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFoodRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub details: String,
    /// English name; empty falls back to the Korean.
    #[serde(default)]
    pub name_en: String,
    #[serde(default)]
    pub description_en: String,
    #[serde(default)]
    pub details_en: String,
    #[serde(default)]
    pub credit: String,
    /// Category names; each must exist.
    #[serde(default)]
    pub categories: Vec<String>,
    pub image_key: Option<String>,
    pub alt_image_key: Option<String>,
    pub alt_credit: Option<String>,
}

/// Body of `PATCH /foods/{id}`: only the fields present change; `null` clears a nullable one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFoodRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub details: Option<String>,
    /// English texts; `""` clears one (the Korean is shown instead).
    pub name_en: Option<String>,
    pub description_en: Option<String>,
    pub details_en: Option<String>,
    pub credit: Option<String>,
    pub categories: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub image_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub alt_image_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub alt_credit: Option<Option<String>>,
}

/// Body of `POST /books`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBookRequest {
    pub name: String,
    /// English name; empty falls back to the Korean.
    #[serde(default)]
    pub name_en: String,
    /// English description; empty falls back to the Korean.
    #[serde(default)]
    pub description_en: String,
    #[serde(default)]
    pub priority: i64,
    pub cover_key: Option<String>,
    /// Initial member foods.
    #[serde(default)]
    pub food_ids: Vec<i64>,
    /// At most 200 characters (community and official books).
    pub description: Option<String>,
    /// Community books: `public` (default), `unlisted` or `private`.
    pub visibility: Option<String>,
}

/// Body of `PATCH /books/{id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBookRequest {
    pub name: Option<String>,
    pub name_en: Option<String>,
    pub description_en: Option<String>,
    pub priority: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub cover_key: Option<Option<String>>,
    /// At most 200 characters.
    pub description: Option<String>,
    /// Community books only: `public`, `unlisted` or `private`.
    pub visibility: Option<String>,
}

/// Body of `PUT /books/{id}/foods`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetBookFoodsRequest {
    pub food_ids: Vec<i64>,
}

/// Body of `POST /categories`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategoryRequest {
    pub name: String,
    /// English name; empty falls back to the Korean.
    #[serde(default)]
    pub name_en: String,
}

/// Body of `PATCH /categories/{id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategoryRequest {
    pub name: Option<String>,
    pub name_en: Option<String>,
}

/// Most member foods a book may have.
pub const MAX_BOOK_FOODS: usize = 1000;

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn nullable<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Collects field errors while checking a request.
#[derive(Default, Debug)]
pub struct Checks(pub Vec<FieldError>);

impl Checks {
    /// A required single-line text of 1..=max characters (after trimming).
    pub fn name(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim().to_owned();
        let n = value.chars().count();
        if n == 0 {
            self.fail(field, "must not be empty");
        } else if n > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if value.chars().any(char::is_control) {
            self.fail(field, "must be a single line without control characters");
        }
        value
    }

    /// An optional single-line text of at most `max` characters.
    pub fn line(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim().to_owned();
        if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if value.chars().any(char::is_control) {
            self.fail(field, "must be a single line without control characters");
        }
        value
    }

    /// A multi-line text of at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim().to_owned();
        if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if value.chars().any(|c| c.is_control() && c != '\n') {
            self.fail(field, "must not contain control characters");
        }
        value
    }

    /// A storage key as answered by `POST /images` (or a bundled seed image).
    pub fn image_key(&mut self, field: &str, value: &str) -> String {
        if !crate::media::is_valid_key(value) {
            self.fail(field, "is not an image key from POST /images");
        }
        value.to_owned()
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// `Ok` when nothing failed, else the validation error listing every failure.
    pub fn finish(self) -> Result<(), crate::error::AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::error::AppError::Validation(self.0))
        }
    }
}

/// Limits of the food fields (SPEC §3).
pub mod limits {
    pub const FOOD_NAME: usize = 15;
    pub const DESCRIPTION: usize = 30;
    pub const DETAILS: usize = 300;
    pub const CREDIT: usize = 30;
    pub const CATEGORY_NAME: usize = 15;
    pub const BOOK_NAME: usize = 30;
    // English takes about twice the characters of the same Korean.
    pub const FOOD_NAME_EN: usize = 40;
    pub const DESCRIPTION_EN: usize = 60;
    pub const DETAILS_EN: usize = 600;
    pub const CATEGORY_NAME_EN: usize = 30;
    pub const BOOK_NAME_EN: usize = 60;
    pub const BOOK_DESCRIPTION_EN: usize = 400;
}

/// Escapes `%`, `_` and the escape character itself for `LIKE … ESCAPE '!'`.
pub fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_counted_in_characters() {
        let mut c = Checks::default();
        assert_eq!(c.name("name", "  김치찌개 ", 15), "김치찌개");
        c.name("name", &"가".repeat(15), 15);
        assert!(c.0.is_empty());
        c.name("name", &"가".repeat(16), 15);
        c.name("name", "   ", 15);
        c.name("name", "a\nb", 15);
        assert_eq!(c.0.len(), 3);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("a%b_c!"), "%a!%b!_c!!%");
        assert_eq!(like_pattern("Ra"), "%ra%");
    }

    #[test]
    fn patch_bodies_tell_null_from_absent() {
        let r: UpdateFoodRequest = serde_json::from_str(r#"{"alt_credit": null}"#).unwrap();
        assert_eq!(r.alt_credit, Some(None));
        assert_eq!(r.image_key, None);
        let r: UpdateFoodRequest = serde_json::from_str(r#"{"image_key": "k"}"#).unwrap();
        assert_eq!(r.image_key, Some(Some("k".to_owned())));
    }
}
