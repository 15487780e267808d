//! The words of post search: how a post's text becomes index terms, how a query is read,
//! and whether a post's terms satisfy a query. Pure functions; the index itself is in
//! `post_search`.

use crate::error::{ServiceError, ServiceResult};

/// Terms indexed per post at most (a post's index writes share its create transaction).
pub const MAX_TERMS: usize = 64;
/// Longer words are indexed (and looked up) by their first this many characters.
pub const MAX_TERM_CHARS: usize = 32;
/// Words of a query beyond this many are ignored.
const MAX_QUERY_WORDS: usize = 8;

/// Lower-cased runs of Unicode letters and digits, two characters or more, cut to
/// [`MAX_TERM_CHARS`], in order of appearance (repeats included).
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().nth(1).is_some())
        .map(|w| w.chars().take(MAX_TERM_CHARS).collect::<String>().to_lowercase())
}

/// The distinct terms of a text, at most [`MAX_TERMS`], in order of first appearance.
pub fn terms(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in words(text) {
        if found.len() == MAX_TERMS {
            break;
        }
        if !found.contains(&word) {
            found.push(word);
        }
    }
    found
}

/// A parsed query: every word must match a term, the last one as a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextQuery {
    /// Words that must each match a whole term.
    pub words: Vec<String>,
    /// The last word, matched as a prefix of a term.
    pub prefix: String,
}

impl TextQuery {
    /// The query in `q`; a bad request when it has no word of two or more letters or digits.
    pub fn parse(q: Option<&str>) -> ServiceResult<TextQuery> {
        let mut found: Vec<String> = Vec::new();
        for word in words(q.unwrap_or_default()).take(MAX_QUERY_WORDS) {
            if !found.contains(&word) {
                found.push(word);
            }
        }
        let prefix = found.pop().ok_or_else(|| {
            ServiceError::validation("q", "q must contain a word of two or more letters or digits")
        })?;
        Ok(TextQuery { words: found, prefix })
    }

    /// Whether a post with these terms answers the query.
    pub fn matches(&self, terms: &[String]) -> bool {
        self.words.iter().all(|w| terms.contains(w)) && terms.iter().any(|t| t.starts_with(&self.prefix))
    }

    /// The whole word to walk the index by: the longest (long words tend to be rare), or
    /// none when the query is a single prefix.
    pub fn driving_word(&self) -> Option<&str> {
        self.words.iter().max_by_key(|w| w.chars().count()).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn terms_are_lowercase_alphanumeric_runs_of_two_or_more() {
        assert_eq!(
            terms("Hello, WORLD! a b2 c-3po hello Ünïcode 東京タワー"),
            strings(&["hello", "world", "b2", "3po", "ünïcode", "東京タワー"])
        );
        assert_eq!(terms("!!! a ? -"), Vec::<String>::new());
    }

    #[test]
    fn terms_are_capped_in_number_and_length() {
        let many: String = (0..200).map(|i| format!("w{i} ")).collect();
        assert_eq!(terms(&many).len(), MAX_TERMS);
        let long = "x".repeat(100);
        assert_eq!(terms(&long), vec!["x".repeat(MAX_TERM_CHARS)]);
    }

    #[test]
    fn queries_take_the_last_word_as_a_prefix() {
        let q = TextQuery::parse(Some("Rust  servers ru")).unwrap();
        assert_eq!(q, TextQuery { words: strings(&["rust", "servers"]), prefix: "ru".into() });
        assert_eq!(q.driving_word(), Some("servers"));
        assert_eq!(TextQuery::parse(Some("rus")).unwrap().driving_word(), None);
        for bad in [None, Some(""), Some("  "), Some("a"), Some("?! x")] {
            assert!(
                matches!(TextQuery::parse(bad), Err(ServiceError::Validation { field: "q", .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn matching_needs_every_word_and_the_prefix() {
        let q = TextQuery::parse(Some("great ru")).unwrap();
        assert!(q.matches(&terms("Rust is great")));
        assert!(q.matches(&terms("great rusty nails")));
        assert!(!q.matches(&terms("great python")));
        assert!(!q.matches(&terms("rust is fine")));
        // A whole word of the query is not a prefix.
        assert!(!TextQuery::parse(Some("gre ru")).unwrap().matches(&terms("great rust")));
    }
}
