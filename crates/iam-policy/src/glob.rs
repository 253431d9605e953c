//! `*` / `?` wildcard matching, used for actions (case-insensitive, §3.2), resource ARN
//! segments and `StringLike`/`ArnLike` values (case-sensitive, §3.3, §3.5).
//!
//! Patterns are tokenized rather than turned into regexes, so characters such as `.` are
//! never special (§3.2 "Implementation").

/// A piece of pattern text: either text whose `*`/`?` are wildcards, or literal text
/// (policy-variable values and the `${*}`/`${?}`/`${$}` escapes, §3.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Wild(String),
    Lit(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Star,
    One,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    toks: Vec<Tok>,
    fold: bool,
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters and `?` exactly
/// one, over the whole text (case-sensitive, as for ARNs and `StringLike`).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    Glob::new(pattern, false).matches(text)
}

/// Lowercases with plain `str::to_lowercase`, not Unicode case folding (§3.8).
fn fold_text(s: &str, fold: bool) -> String {
    if fold { s.to_lowercase() } else { s.to_owned() }
}

impl Glob {
    /// Compiles a pattern in which every `*` and `?` is a wildcard.
    pub(crate) fn new(pattern: &str, fold: bool) -> Self {
        Self::from_parts(&[Part::Wild(pattern.to_owned())], fold)
    }

    /// Compiles a pattern from wildcard and literal parts.
    pub(crate) fn from_parts(parts: &[Part], fold: bool) -> Self {
        let mut toks = Vec::new();
        for part in parts {
            match part {
                Part::Wild(s) => {
                    for c in fold_text(s, fold).chars() {
                        toks.push(match c {
                            '*' => Tok::Star,
                            '?' => Tok::One,
                            c => Tok::Lit(c),
                        });
                    }
                }
                Part::Lit(s) => toks.extend(fold_text(s, fold).chars().map(Tok::Lit)),
            }
        }
        Self { toks, fold }
    }

    /// Whether the whole of `text` matches. Greedy two-pointer matching with a single
    /// backtrack point: O(n·m) worst case, no recursion.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = fold_text(text, self.fold).chars().collect();
        let (mut p, mut s) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while s < text.len() {
            match self.toks.get(p) {
                Some(Tok::Star) => {
                    star = Some((p, s));
                    p += 1;
                    continue;
                }
                Some(Tok::One) => {
                    p += 1;
                    s += 1;
                    continue;
                }
                Some(Tok::Lit(c)) if text.get(s) == Some(c) => {
                    p += 1;
                    s += 1;
                    continue;
                }
                _ => {}
            }
            match star {
                Some((sp, ss)) => {
                    p = sp + 1;
                    s = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            }
        }
        self.toks[p.min(self.toks.len())..].iter().all(|t| *t == Tok::Star)
    }
}

/// Concatenates parts into plain text (for operators without wildcards).
pub(crate) fn parts_to_text(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Wild(s) | Part::Lit(s) => s.as_str(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let cases = [
            ("*", "", true),
            ("*", "anything", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*Model*", "InvokeModelWithResponseStream", true),
            ("a.b", "axb", false),
            ("**a", "a", true),
            ("a*b*c", "aXbYbZc", true),
            ("", "", true),
            ("", "x", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(Glob::new(p, false).matches(t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn case_folding_and_literals() {
        assert!(Glob::new("Bedrock:invoke*", true).matches("bedrock:InvokeModel"));
        assert!(!Glob::new("Bedrock:invoke*", false).matches("bedrock:InvokeModel"));
        let lit = Glob::from_parts(&[Part::Wild("a".into()), Part::Lit("*".into())], false);
        assert!(lit.matches("a*"));
        assert!(!lit.matches("ab"));
    }
}
