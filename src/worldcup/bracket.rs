//! The rules of a single-elimination bracket, free of I/O.
//!
//! A bracket is its entrants in draw order and the winners picked so far, in order. Round `r`
//! (the number of foods still in, 32, 16, …, 2) pairs its entrants two by two: match `m` is
//! entrants `2m-2` and `2m-1` of that round, and the winners, in pick order, are the next
//! round's entrants.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a pick or an undo was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BracketError {
    /// The food is not one of the two in the current match.
    NotInMatch,
    /// The world cup already has its champion.
    Finished,
    /// Nothing was picked yet.
    NothingToUndo,
}

/// One decided match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pick {
    /// Foods in the round (16 for the round of 16, 2 for the final).
    pub round: u32,
    /// 1-based match number within the round.
    #[serde(rename = "match")]
    pub match_no: u32,
    pub left_id: i64,
    pub right_id: i64,
    pub winner_id: i64,
}

/// Where a bracket stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Foods in the current round; 1 once finished.
    pub round: u32,
    /// 1-based number of the current match; 0 once finished.
    pub match_no: u32,
    pub matches_in_round: u32,
    /// The two foods of the current match, if not finished.
    pub current: Option<(i64, i64)>,
    pub champion: Option<i64>,
    pub picks: Vec<Pick>,
}

impl Progress {
    pub fn finished(&self) -> bool {
        self.champion.is_some()
    }

    /// The round label shown to players: `"16강 3/8"`, `"결승"` for the final, `"우승"` after it.
    pub fn label(&self) -> String {
        label(self.round, self.match_no, self.matches_in_round)
    }

    /// The matches the champion won, first round first (empty until there is a champion).
    pub fn champion_path(&self) -> Vec<Pick> {
        match self.champion {
            Some(champion) => self
                .picks
                .iter()
                .filter(|p| p.winner_id == champion)
                .copied()
                .collect(),
            None => Vec::new(),
        }
    }

    /// The loser of the final, once there is a champion.
    pub fn runner_up(&self) -> Option<i64> {
        self.champion?;
        let last = self.picks.last()?;
        Some(if last.winner_id == last.left_id {
            last.right_id
        } else {
            last.left_id
        })
    }
}

/// The Korean label of a match.
pub fn label(round: u32, match_no: u32, matches_in_round: u32) -> String {
    match round {
        0 | 1 => "우승".to_owned(),
        2 => "결승".to_owned(),
        _ => format!("{round}강 {match_no}/{matches_in_round}"),
    }
}

/// Whether `size` is a bracket size ipmat plays: a power of two from 2 to 64.
pub fn is_valid_size(size: u32) -> bool {
    (2..=64).contains(&size) && size.is_power_of_two()
}

/// The default size for `available` foods: the largest valid size ≤ min(available, 32).
pub fn default_size(available: usize) -> Option<u32> {
    let cap = available.min(32) as u32;
    (cap >= 2).then(|| 1 << (31 - cap.leading_zeros()))
}

/// A bracket: entrants in draw order and winners in pick order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bracket {
    entrants: Vec<i64>,
    picks: Vec<i64>,
}

impl Bracket {
    /// A new bracket over `entrants` (a valid size, distinct ids).
    pub fn new(entrants: Vec<i64>) -> Bracket {
        debug_assert!(is_valid_size(entrants.len() as u32));
        Bracket {
            entrants,
            picks: Vec::new(),
        }
    }

    /// Rebuilds a bracket from stored entrants and picks, replaying every pick; `None` when
    /// the stored picks do not form a valid sequence.
    pub fn restore(entrants: Vec<i64>, picks: &[i64]) -> Option<Bracket> {
        if !is_valid_size(entrants.len() as u32) {
            return None;
        }
        let mut bracket = Bracket::new(entrants);
        for &winner in picks {
            bracket.pick(winner).ok()?;
        }
        Some(bracket)
    }

    pub fn size(&self) -> u32 {
        self.entrants.len() as u32
    }

    pub fn entrants(&self) -> &[i64] {
        &self.entrants
    }

    /// Winners picked so far, in order.
    pub fn picks(&self) -> &[i64] {
        &self.picks
    }

    /// Replays the picks into rounds and matches.
    pub fn progress(&self) -> Progress {
        let mut round_entrants = self.entrants.clone();
        let mut picks = Vec::with_capacity(self.picks.len());
        let mut remaining = self.picks.iter();
        loop {
            let round = round_entrants.len() as u32;
            if round == 1 {
                return Progress {
                    round: 1,
                    match_no: 0,
                    matches_in_round: 0,
                    current: None,
                    champion: Some(round_entrants[0]),
                    picks,
                };
            }
            let mut winners = Vec::with_capacity(round_entrants.len() / 2);
            for (i, pair) in round_entrants.chunks(2).enumerate() {
                let (left, right) = (pair[0], pair[1]);
                match remaining.next() {
                    Some(&winner) => {
                        picks.push(Pick {
                            round,
                            match_no: i as u32 + 1,
                            left_id: left,
                            right_id: right,
                            winner_id: winner,
                        });
                        winners.push(winner);
                    }
                    None => {
                        return Progress {
                            round,
                            match_no: i as u32 + 1,
                            matches_in_round: round / 2,
                            current: Some((left, right)),
                            champion: None,
                            picks,
                        };
                    }
                }
            }
            round_entrants = winners;
        }
    }

    /// Picks the winner of the current match.
    pub fn pick(&mut self, winner: i64) -> Result<(), BracketError> {
        match self.progress().current {
            None => Err(BracketError::Finished),
            Some((left, right)) if winner == left || winner == right => {
                self.picks.push(winner);
                Ok(())
            }
            Some(_) => Err(BracketError::NotInMatch),
        }
    }

    /// Takes back the last pick, unless the bracket is finished.
    pub fn undo(&mut self) -> Result<(), BracketError> {
        if self.picks.len() as u32 == self.size() - 1 {
            return Err(BracketError::Finished);
        }
        self.picks
            .pop()
            .map(|_| ())
            .ok_or(BracketError::NothingToUndo)
    }

    /// Per food: (wins, matches played) over every decided match.
    pub fn tallies(&self) -> Vec<(i64, u32, u32)> {
        let mut out: Vec<(i64, u32, u32)> = self.entrants.iter().map(|&id| (id, 0, 0)).collect();
        let index = |out: &Vec<(i64, u32, u32)>, id: i64| out.iter().position(|t| t.0 == id);
        for p in self.progress().picks {
            for id in [p.left_id, p.right_id] {
                if let Some(i) = index(&out, id) {
                    out[i].2 += 1;
                    if id == p.winner_id {
                        out[i].1 += 1;
                    }
                }
            }
        }
        out
    }
}

/// Ids as stored: `3,14,15`.
pub fn encode_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Parses stored ids; `None` when malformed.
pub fn decode_ids(text: &str) -> Option<Vec<i64>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',').map(|s| s.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn labels_follow_the_original() {
        assert_eq!(label(16, 3, 8), "16강 3/8");
        assert_eq!(label(32, 1, 16), "32강 1/16");
        assert_eq!(label(4, 2, 2), "4강 2/2");
        assert_eq!(label(2, 1, 1), "결승");
        assert_eq!(label(1, 0, 0), "우승");
    }

    #[test]
    fn the_champion_path_lists_the_foods_it_beat_round_by_round() {
        // 1 beats 2, 4 beats 3, then 4 beats 1 in the final.
        let b = Bracket::restore(vec![1, 2, 3, 4], &[1, 4, 4]).unwrap();
        let path: Vec<(u32, i64, i64)> = b
            .progress()
            .champion_path()
            .iter()
            .map(|p| (p.round, p.left_id, p.right_id))
            .collect();
        assert_eq!(path, vec![(4, 3, 4), (2, 1, 4)]);
        assert_eq!(b.progress().runner_up(), Some(1));
        let open = Bracket::restore(vec![1, 2, 3, 4], &[1, 4]).unwrap();
        assert!(open.progress().champion_path().is_empty());
        assert_eq!(open.progress().runner_up(), None);
    }

    #[test]
    fn sizes_are_powers_of_two_up_to_64() {
        let valid: Vec<u32> = (0..=128).filter(|&s| is_valid_size(s)).collect();
        assert_eq!(valid, [2, 4, 8, 16, 32, 64]);
        assert_eq!(default_size(1), None);
        assert_eq!(default_size(2), Some(2));
        assert_eq!(default_size(20), Some(16));
        assert_eq!(default_size(32), Some(32));
        assert_eq!(default_size(64), Some(32));
    }

    #[test]
    fn a_four_food_bracket_plays_out() {
        let mut b = Bracket::new(vec![1, 2, 3, 4]);
        let p = b.progress();
        assert_eq!(
            (p.round, p.match_no, p.matches_in_round, p.current),
            (4, 1, 2, Some((1, 2)))
        );
        assert_eq!(b.pick(3), Err(BracketError::NotInMatch));
        b.pick(2).unwrap();
        assert_eq!(b.progress().current, Some((3, 4)));
        assert_eq!(b.progress().label(), "4강 2/2");
        b.pick(3).unwrap();
        let p = b.progress();
        assert_eq!(
            (p.round, p.current, p.label().as_str()),
            (2, Some((2, 3)), "결승")
        );
        b.pick(3).unwrap();
        let p = b.progress();
        assert_eq!(p.champion, Some(3));
        assert!(p.finished());
        assert_eq!(p.picks.len(), 3);
        assert_eq!(
            p.picks[2],
            Pick {
                round: 2,
                match_no: 1,
                left_id: 2,
                right_id: 3,
                winner_id: 3
            }
        );
        assert_eq!(b.pick(3), Err(BracketError::Finished));
        assert_eq!(b.undo(), Err(BracketError::Finished));
        assert_eq!(
            b.tallies(),
            vec![(1, 0, 1), (2, 1, 2), (3, 2, 2), (4, 0, 1)]
        );
    }

    #[test]
    fn undo_needs_a_pick() {
        let mut b = Bracket::new(vec![1, 2]);
        assert_eq!(b.undo(), Err(BracketError::NothingToUndo));
    }

    #[test]
    fn stored_ids_round_trip() {
        assert_eq!(decode_ids(&encode_ids(&[3, 14, 15])), Some(vec![3, 14, 15]));
        assert_eq!(decode_ids(""), Some(vec![]));
        assert_eq!(decode_ids("1,x"), None);
        assert!(Bracket::restore(vec![1, 2, 3, 4], &[1, 9]).is_none());
    }

    fn bracket_and_choices() -> impl Strategy<Value = (Vec<i64>, Vec<bool>)> {
        (1u32..=6).prop_flat_map(|exp| {
            let size = 1usize << exp;
            (
                Just((1..=size as i64).map(|i| i * 7).collect::<Vec<_>>()).prop_shuffle(),
                prop::collection::vec(any::<bool>(), size - 1),
            )
        })
    }

    proptest! {
        #[test]
        fn any_valid_picks_end_with_one_champion_after_size_minus_one((entrants, choices) in bracket_and_choices()) {
            let size = entrants.len();
            let mut b = Bracket::new(entrants.clone());
            for (n, left) in choices.iter().enumerate() {
                let p = b.progress();
                prop_assert!(!p.finished(), "finished early after {n} picks");
                let (l, r) = p.current.unwrap();
                b.pick(if *left { l } else { r }).unwrap();
            }
            let p = b.progress();
            prop_assert!(p.finished());
            prop_assert_eq!(p.picks.len(), size - 1);
            prop_assert!(entrants.contains(&p.champion.unwrap()));
            // Every food but the champion loses exactly once; wins add up to the matches.
            let tallies = b.tallies();
            let losses: usize = tallies.iter().filter(|(_, w, m)| m > w).count();
            prop_assert_eq!(losses, size - 1);
            let wins: u32 = tallies.iter().map(|t| t.1).sum();
            prop_assert_eq!(wins as usize, size - 1);
            prop_assert_eq!(Bracket::restore(entrants, b.picks()), Some(b));
        }

        #[test]
        fn undo_then_redo_reaches_the_same_state((entrants, choices) in bracket_and_choices(), cut in 0usize..63) {
            let mut b = Bracket::new(entrants);
            let cut = cut % choices.len();
            for left in &choices[..cut + 1] {
                let (l, r) = b.progress().current.unwrap();
                b.pick(if *left { l } else { r }).unwrap();
            }
            if b.progress().finished() {
                prop_assert_eq!(b.undo(), Err(BracketError::Finished));
            } else {
                let before = b.clone();
                let last = *b.picks().last().unwrap();
                b.undo().unwrap();
                b.pick(last).unwrap();
                prop_assert_eq!(b, before);
            }
        }
    }
}
