//! The request and response bodies of playing a world cup.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::bracket::Pick;
use crate::catalog::model::Food;

/// Body of `POST /books/{id}/worldcups`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartWorldcupRequest {
    /// A power of two from 2 to 64; default: the largest such size ≤ 32 that the book allows.
    pub size: Option<u32>,
    /// Foods left out of the draw (at most 64).
    #[serde(default)]
    pub exclude_food_ids: Vec<i64>,
}

/// The two foods of the current match.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Match {
    pub left: Food,
    pub right: Food,
}

/// A world cup as clients see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorldcupState {
    pub id: String,
    pub book_id: i64,
    pub size: u32,
    /// Foods in the current round (16 for the round of 16, 2 for the final, 1 when finished).
    pub round: u32,
    /// 1-based number of the current match (0 when finished).
    #[serde(rename = "match")]
    pub match_no: u32,
    pub matches_in_round: u32,
    /// `"16강 3/8"`, `"결승"` for the final, `"우승"` when finished.
    pub label: String,
    pub current: Option<Match>,
    pub finished: bool,
    pub champion: Option<Food>,
    pub picks: Vec<Pick>,
    /// The matches the champion won, first round first (empty until finished).
    #[serde(default)]
    pub champion_path: Vec<PathStep>,
    /// The loser of the final (null until finished).
    #[serde(default)]
    pub runner_up: Option<Food>,
    /// Whether this request may pick and undo (it holds the play key or comes from the cup's
    /// owner, and the cup is not finished); a shared link alone only views.
    #[serde(default)]
    pub can_pick: bool,
}

/// One match on the champion's way to the title.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PathStep {
    pub round: u32,
    #[serde(rename = "match")]
    pub match_no: u32,
    /// The food the champion beat.
    pub opponent: Food,
}

/// The answer that starts a world cup: its state and the play key.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StartedWorldcup {
    #[serde(flatten)]
    pub state: WorldcupState,
    /// The secret that picks and undoes (send it as `X-Play-Key`); shown only here.
    pub play_key: String,
}

/// Body of `POST /worldcups/{id}/picks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickRequest {
    pub winner: i64,
    /// The round the pick answers (16 for the round of 16); when given with or without
    /// `match`, a pick for another match than the current one is refused with 409.
    pub round: Option<u32>,
    /// The 1-based match within the round the pick answers.
    #[serde(rename = "match")]
    pub match_no: Option<u32>,
}
