//! Three-valued logic used throughout evaluation: true, false with a human reason, or
//! "depends on keys the caller declared unknowable" (scp-semantics.md §8.3).

/// Outcome of one evaluation step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tri {
    True,
    /// False, with a sentence explaining why.
    False(String),
    /// Cannot be decided without the named context keys.
    Depends(Vec<String>),
}

impl Tri {
    /// Conjunction: a definite `False` wins over `Depends`, because the result is false
    /// whatever the unknown keys hold.
    pub(crate) fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False(r), _) | (_, Tri::False(r)) => Tri::False(r),
            (Tri::Depends(a), Tri::Depends(b)) => Tri::Depends(merge(a, b)),
            (Tri::Depends(a), Tri::True) | (Tri::True, Tri::Depends(a)) => Tri::Depends(a),
            (Tri::True, Tri::True) => Tri::True,
        }
    }
}

/// Union of two key lists, keeping first-seen order and dropping duplicates.
pub(crate) fn merge(mut a: Vec<String>, b: Vec<String>) -> Vec<String> {
    for k in b {
        if !a.iter().any(|x| x.eq_ignore_ascii_case(&k)) {
            a.push(k);
        }
    }
    a
}
