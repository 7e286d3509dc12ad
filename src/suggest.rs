//! "Did you mean …?": the closest known word to a mistyped command, flag, key or package.

/// Edit distance (insertions, deletions, substitutions and swaps of neighbours), compared
/// without regard to ASCII case.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev2: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

/// The known word closest to `word`, when it is close enough to be a typo: at most a third
/// of the word's length away (and at most 3 edits).
pub fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    known
        .into_iter()
        .filter(|k| !k.is_empty())
        .map(|k| (distance(word, k), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// "; did you mean X?" or nothing, to append to an error message.
pub fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, known).map(|k| format!("; did you mean {k}?")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word_and_strangers_find_none() {
        let cmds = ["install", "info", "remove", "search"];
        assert_eq!(closest("instal", cmds), Some("install"));
        assert_eq!(closest("isntall", cmds), Some("install"));
        assert_eq!(closest("serach", cmds), Some("search"));
        assert_eq!(closest("fooo", ["foo", "bar"]), Some("foo"));
        assert_eq!(closest("JQ", ["jq"]), Some("jq"));
        assert_eq!(closest("zzzzzz", cmds), None);
    }
}
