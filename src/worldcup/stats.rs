//! Pure rules of the world-cup figures: the order and competition ranks of a book's ranking,
//! and one player's taste summed over their finished cups.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::bracket::Bracket;

/// A food's record in a book: championships, wins, matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub championships: i64,
    pub wins: i64,
    pub matches: i64,
}

impl Record {
    /// Compares win rates exactly (as fractions; no match played counts as 0).
    fn cmp_rate(&self, other: &Record) -> Ordering {
        let (a, b) = (self.rate_fraction(), other.rate_fraction());
        (i128::from(a.0) * i128::from(b.1)).cmp(&(i128::from(b.0) * i128::from(a.1)))
    }

    fn rate_fraction(&self) -> (i64, i64) {
        if self.matches == 0 {
            (0, 1)
        } else {
            (self.wins, self.matches)
        }
    }

    /// Better records first: more championships, then a higher win rate.
    pub fn cmp_rank(&self, other: &Record) -> Ordering {
        other
            .championships
            .cmp(&self.championships)
            .then_with(|| other.cmp_rate(self))
    }
}

/// Competition ranks (1, 2, 2, 4) of records already in ranking order.
pub fn competition_ranks(sorted: &[Record]) -> Vec<u32> {
    let mut ranks = Vec::with_capacity(sorted.len());
    for (i, record) in sorted.iter().enumerate() {
        let rank = match i {
            0 => 1,
            _ if sorted[i - 1].cmp_rank(record) == Ordering::Equal => ranks[i - 1],
            _ => i as u32 + 1,
        };
        ranks.push(rank);
    }
    ranks
}

/// What one player's finished cups add up to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Taste {
    pub cups: u32,
    /// Times each food was crowned.
    pub crowned: HashMap<i64, u32>,
    /// Matches each food won.
    pub wins: HashMap<i64, u32>,
}

impl Taste {
    /// Adds one finished cup (unfinished ones add nothing).
    pub fn add(&mut self, bracket: &Bracket) {
        let Some(champion) = bracket.progress().champion else {
            return;
        };
        self.cups += 1;
        *self.crowned.entry(champion).or_default() += 1;
        for (food, wins, _) in bracket.tallies() {
            if wins > 0 {
                *self.wins.entry(food).or_default() += wins;
            }
        }
    }

    /// Category wins: each food's wins count for every category it is in; most wins first,
    /// then by name, at most `limit`.
    pub fn categories<'a>(
        &self,
        categories_of: impl Fn(i64) -> &'a [String],
        limit: usize,
    ) -> Vec<(String, u32)> {
        let mut totals: HashMap<&str, u32> = HashMap::new();
        for (&food, &wins) in &self.wins {
            for name in categories_of(food) {
                *totals.entry(name.as_str()).or_default() += wins;
            }
        }
        let mut out: Vec<(String, u32)> = totals
            .into_iter()
            .map(|(name, wins)| (name.to_owned(), wins))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.truncate(limit);
        out
    }
}

/// Share of players (0..1): `part` of `whole`, 0 when nobody played.
pub fn share(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(championships: i64, wins: i64, matches: i64) -> Record {
        Record {
            championships,
            wins,
            matches,
        }
    }

    #[test]
    fn equal_records_share_a_rank_and_the_next_skips() {
        let sorted = [r(2, 4, 5), r(1, 4, 5), r(1, 8, 10), r(1, 1, 2), r(0, 0, 0)];
        assert_eq!(competition_ranks(&sorted), vec![1, 2, 2, 4, 5]);
        assert_eq!(competition_ranks(&[r(0, 0, 0), r(0, 0, 3)]), vec![1, 1]);
        assert_eq!(competition_ranks(&[]), Vec::<u32>::new());
    }

    #[test]
    fn rates_compare_as_fractions() {
        assert_eq!(r(0, 1, 3).cmp_rank(&r(0, 2, 6)), Ordering::Equal);
        assert_eq!(
            r(0, 2, 3).cmp_rank(&r(0, 1, 2)),
            Ordering::Less,
            "2/3 ranks above 1/2"
        );
        assert_eq!(
            r(1, 0, 1).cmp_rank(&r(0, 5, 5)),
            Ordering::Less,
            "titles first"
        );
        assert_eq!(r(0, 0, 0).cmp_rank(&r(0, 0, 4)), Ordering::Equal);
    }

    #[test]
    fn taste_counts_crowns_and_wins_of_finished_cups() {
        let mut taste = Taste::default();
        // 1 beats 2, 3 beats 4, 1 beats 3.
        let finished = Bracket::restore(vec![1, 2, 3, 4], &[1, 3, 1]).unwrap();
        let unfinished = Bracket::restore(vec![1, 2, 3, 4], &[2]).unwrap();
        taste.add(&finished);
        taste.add(&finished);
        taste.add(&unfinished);
        assert_eq!(taste.cups, 2);
        assert_eq!(taste.crowned, HashMap::from([(1, 2)]));
        assert_eq!(taste.wins, HashMap::from([(1, 4), (3, 2)]));
        let cats: HashMap<i64, Vec<String>> = HashMap::from([
            (1, vec!["면".to_owned(), "한식".to_owned()]),
            (3, vec!["한식".to_owned()]),
        ]);
        let none = Vec::new();
        let top = taste.categories(|f| cats.get(&f).unwrap_or(&none), 5);
        assert_eq!(top, vec![("한식".to_owned(), 6), ("면".to_owned(), 4)]);
        assert_eq!(
            taste.categories(|f| cats.get(&f).unwrap_or(&none), 1).len(),
            1
        );
        assert_eq!(share(1, 4), 0.25);
        assert_eq!(share(0, 0), 0.0);
    }
}
