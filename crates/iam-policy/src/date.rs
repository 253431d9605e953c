//! Date parsing for the `Date*` operators: ISO 8601 date/times or epoch seconds, compared
//! as instants (scp-semantics.md §3.5). Implemented here to keep runtime deps minimal.

/// Parses a date value into milliseconds since the Unix epoch.
///
/// Accepts epoch seconds (`1700000000`, `1700000000.5`), `YYYY-MM-DD`, and
/// `YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM|±HHMM]` (no zone = UTC).
pub(crate) fn parse_millis(s: &str) -> Option<i128> {
    let s = s.trim();
    let body = s.strip_prefix('-').unwrap_or(s);
    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let secs: f64 = s.parse().ok()?;
        // `as` saturates for huge values, which is fine for comparisons.
        return secs.is_finite().then_some((secs * 1000.0) as i128);
    }
    let (date, time) = match s.find(['T', 't']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut it = date.split('-');
    let year: i64 = num(it.next()?, 4)?;
    let month: i64 = num(it.next()?, 2)?;
    let day: i64 = num(it.next()?, 2)?;
    if it.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let mut millis = i128::from(days) * 86_400_000;
    if let Some(time) = time {
        millis += parse_time(time)?;
    }
    Some(millis)
}

fn num(s: &str, width: usize) -> Option<i64> {
    (s.len() == width && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// Parses the time part including zone; returns milliseconds to add (UTC-adjusted).
fn parse_time(t: &str) -> Option<i128> {
    let (clock, offset_ms) = if let Some(c) = t.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = t.rfind(['+', '-']) {
        let (c, z) = t.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let z = z[1..].replace(':', "");
        let h = num(z.get(..2)?, 2)?;
        let m = num(z.get(2..)?, 2)?;
        (c, sign * (h * 3600 + m * 60) * 1000)
    } else {
        (t, 0)
    };
    let mut it = clock.split(':');
    let h = num(it.next()?, 2)?;
    let m = num(it.next()?, 2)?;
    let (sec, frac_ms) = match it.next() {
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let s = num(whole, 2)?;
            let frac_ms = if frac.is_empty() {
                0
            } else {
                if !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let padded = format!("{frac:0<3}");
                padded[..3].parse::<i64>().ok()?
            };
            (s, frac_ms)
        }
        None => (0, 0),
    };
    if it.next().is_some() || h > 24 || m > 59 || sec > 60 {
        return None;
    }
    Some(i128::from((h * 3600 + m * 60 + sec) * 1000 + frac_ms - offset_ms))
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_millis("1970-01-01"), Some(0));
        assert_eq!(parse_millis("1970-01-02T00:00:00Z"), Some(86_400_000));
        assert_eq!(parse_millis("2020-01-01T00:00:00Z"), Some(1_577_836_800_000));
        assert_eq!(parse_millis("1577836800"), Some(1_577_836_800_000));
        assert_eq!(parse_millis("2020-01-01T01:00:00+01:00"), parse_millis("2020-01-01T00:00:00Z"));
        assert_eq!(parse_millis("2020-01-01T00:00:00.250Z"), Some(1_577_836_800_250));
        assert_eq!(parse_millis("2020-13-01"), None);
        assert_eq!(parse_millis("yesterday"), None);
        assert_eq!(parse_millis(""), None);
    }
}
