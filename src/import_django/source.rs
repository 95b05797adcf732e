//! Reading the original database (MySQL or MariaDB, the schema Django 2.2 created): one query
//! per table, every row into memory (the original held thousands of rows, not millions).

use anyhow::Context;
use sea_orm::FromQueryResult;

use crate::db::{Db, fetch_all};

#[derive(Debug, Clone, FromQueryResult)]
pub struct Category {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct Food {
    pub id: i64,
    pub name: String,
    pub img: String,
    pub creator: String,
    pub sub_img: String,
    pub sub_creator: String,
    pub oneline_desc: String,
    pub description: String,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct Link {
    pub a: i64,
    pub b: i64,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct Book {
    pub id: i64,
    pub name: String,
    pub image: String,
    pub play_count: i64,
    pub priority: i64,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct Member {
    pub login: String,
    pub birth_year: i64,
    pub birth_month: i64,
    pub birth_day: i64,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct Favorite {
    pub member: String,
    pub book_id: i64,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct Pair {
    pub id: i64,
    pub left_id: i64,
    pub right_id: i64,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct Exam {
    pub id: i64,
    pub title: String,
    pub author: String,
    pub hash_id: String,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct Question {
    pub id: i64,
    pub exam_id: i64,
    pub pair_id: i64,
    pub answer_id: i64,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct Guess {
    pub id: i64,
    pub member: String,
    pub question_id: i64,
    pub answer_id: i64,
    pub exam_id: i64,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct Visitors {
    pub date: String,
    pub count: i64,
}

/// Everything of the original that ipmat takes over.
#[derive(Debug, Default)]
pub struct Original {
    pub categories: Vec<Category>,
    pub foods: Vec<Food>,
    /// (food, category)
    pub food_categories: Vec<Link>,
    pub books: Vec<Book>,
    /// (book, food)
    pub book_foods: Vec<Link>,
    pub members: Vec<Member>,
    pub favorites: Vec<Favorite>,
    pub pairs: Vec<Pair>,
    pub exams: Vec<Exam>,
    pub questions: Vec<Question>,
    pub guesses: Vec<Guess>,
    pub visitors: Vec<Visitors>,
}

impl Original {
    /// Rows read, all tables together (for the progress bar).
    pub fn row_count(&self) -> usize {
        self.categories.len()
            + self.foods.len()
            + self.food_categories.len()
            + self.books.len()
            + self.book_foods.len()
            + self.members.len()
            + self.favorites.len()
            + self.pairs.len()
            + self.exams.len()
            + self.questions.len()
            + self.guesses.len()
            + self.visitors.len()
    }
}

/// The queries, in the order they run, with the table each reads (for messages).
const TABLES: &[&str] = &[
    "food_foodsubcategory",
    "food_food",
    "food_food_category",
    "food_foodbook",
    "food_foodbook_food",
    "member_member",
    "member_member_favorite_book",
    "food_test_testrowone",
    "food_test_foodtest",
    "food_test_testrows",
    "food_test_participantanswer",
    "preference_visitorcount",
];

/// Reads every table of the original; `step` is told after each table.
pub async fn read(db: &Db, mut step: impl FnMut(&str)) -> anyhow::Result<Original> {
    // Integers are cast so that INT and BIGINT columns both decode as i64.
    macro_rules! load {
        ($table:expr, $sql:expr) => {{
            let rows = fetch_all(db, $sql, vec![])
                .await
                .with_context(|| format!("reading {} of the original database", $table))?;
            step($table);
            rows
        }};
    }
    // Fields are evaluated in the order written: one table after the other.
    Ok(Original {
        categories: load!(
            TABLES[0],
            "SELECT CAST(id AS SIGNED) AS id, categoryName AS name FROM food_foodsubcategory ORDER BY id"
        ),
        foods: load!(
            TABLES[1],
            "SELECT CAST(id AS SIGNED) AS id, food_name AS name, img, creator, sub_img, sub_creator, \
         oneline_desc, `desc` AS description FROM food_food ORDER BY id"
        ),
        food_categories: load!(
            TABLES[2],
            "SELECT CAST(food_id AS SIGNED) AS a, CAST(foodsubcategory_id AS SIGNED) AS b \
         FROM food_food_category ORDER BY id"
        ),
        books: load!(
            TABLES[3],
            "SELECT CAST(id AS SIGNED) AS id, food_book_name AS name, image, \
         CAST(playCount AS SIGNED) AS play_count, CAST(priority AS SIGNED) AS priority \
         FROM food_foodbook ORDER BY id"
        ),
        book_foods: load!(
            TABLES[4],
            "SELECT CAST(foodbook_id AS SIGNED) AS a, CAST(food_id AS SIGNED) AS b \
         FROM food_foodbook_food ORDER BY id"
        ),
        members: load!(
            TABLES[5],
            "SELECT `_id` AS login, CAST(birth_year AS SIGNED) AS birth_year, \
         CAST(birth_month AS SIGNED) AS birth_month, CAST(birth_day AS SIGNED) AS birth_day \
         FROM member_member ORDER BY `_id`"
        ),
        favorites: load!(
            TABLES[6],
            "SELECT member_id AS member, CAST(foodbook_id AS SIGNED) AS book_id \
         FROM member_member_favorite_book ORDER BY id"
        ),
        pairs: load!(
            TABLES[7],
            "SELECT CAST(id AS SIGNED) AS id, CAST(left_food_id AS SIGNED) AS left_id, \
         CAST(right_food_id AS SIGNED) AS right_id FROM food_test_testrowone ORDER BY id"
        ),
        exams: load!(
            TABLES[8],
            "SELECT CAST(id AS SIGNED) AS id, title, author_id AS author, hashId AS hash_id \
         FROM food_test_foodtest ORDER BY id"
        ),
        questions: load!(
            TABLES[9],
            "SELECT CAST(id AS SIGNED) AS id, CAST(test_id AS SIGNED) AS exam_id, \
         CAST(row_id AS SIGNED) AS pair_id, CAST(answer_id AS SIGNED) AS answer_id \
         FROM food_test_testrows ORDER BY id"
        ),
        guesses: load!(
            TABLES[10],
            "SELECT CAST(id AS SIGNED) AS id, member_id AS member, \
         CAST(question_id AS SIGNED) AS question_id, CAST(answer_id AS SIGNED) AS answer_id, \
         CAST(test_id AS SIGNED) AS exam_id FROM food_test_participantanswer ORDER BY id"
        ),
        visitors: load!(
            TABLES[11],
            "SELECT `date`, CAST(`count` AS SIGNED) AS `count` FROM preference_visitorcount ORDER BY id"
        ),
    })
}

/// How many tables [`read`] reads.
pub const TABLE_COUNT: u64 = TABLES.len() as u64;
