//! Aggregates over the active findings: per control × severity × status (`finding_totals`),
//! per control the accounts evaluated and failing (`control_account_totals`), and per account
//! its failing and error counts (`accounts.failing_count`, `error_count`).
//!
//! They exist so that posture, the control results and the account listing never scan the
//! million findings of a large organization. They are changed in one place only:
//! [`apply`], called by `findings::record_account` inside the account's transaction with
//! that account's counts before and after, so they are exact at every commit. [`rebuild`]
//! recomputes them from `findings` (for bulk loads, and for tests that check the deltas).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgConnection, PgPool};

use super::StoreError;
use crate::domain::{ControlId, Severity, Status};

/// One account's active findings counted by (control, severity, status), keyed as the
/// total tables store them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally(BTreeMap<(String, String, String), i64>);

impl Tally {
    /// Counts one active finding.
    pub fn add(&mut self, control_id: &ControlId, severity: Severity, status: Status) {
        let key = (control_id.as_str().to_owned(), severity.as_str().to_owned(), status.as_str().to_owned());
        *self.0.entry(key).or_default() += 1;
    }

    /// Findings with `status`.
    pub fn with_status(&self, status: Status) -> i64 {
        self.0.iter().filter(|((_, _, s), _)| s == status.as_str()).map(|(_, n)| n).sum()
    }

    /// Per control: (has any finding, has a failing one).
    fn controls(&self) -> BTreeMap<&str, (bool, bool)> {
        let mut out: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
        for ((control, _, status), n) in &self.0 {
            if *n > 0 {
                let entry = out.entry(control.as_str()).or_default();
                entry.0 = true;
                entry.1 |= status == Status::Fail.as_str();
            }
        }
        out
    }
}

/// The changes to the totals when one account's findings go from `before` to `after`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Deltas {
    findings: Vec<(String, String, String, i64)>,
    accounts: Vec<(String, i64, i64)>,
}

fn deltas(before: &Tally, after: &Tally) -> Deltas {
    let keys: BTreeSet<&(String, String, String)> = before.0.keys().chain(after.0.keys()).collect();
    let findings = keys
        .into_iter()
        .filter_map(|k| {
            let d = after.0.get(k).copied().unwrap_or(0) - before.0.get(k).copied().unwrap_or(0);
            (d != 0).then(|| (k.0.clone(), k.1.clone(), k.2.clone(), d))
        })
        .collect();
    let (b, a) = (before.controls(), after.controls());
    let controls: BTreeSet<&str> = b.keys().chain(a.keys()).copied().collect();
    let flag = |x: bool| i64::from(x);
    let accounts = controls
        .into_iter()
        .filter_map(|c| {
            let (b_any, b_fail) = b.get(c).copied().unwrap_or_default();
            let (a_any, a_fail) = a.get(c).copied().unwrap_or_default();
            let d = (flag(a_any) - flag(b_any), flag(a_fail) - flag(b_fail));
            (d != (0, 0)).then(|| (c.to_owned(), d.0, d.1))
        })
        .collect();
    Deltas { findings, accounts }
}

/// Applies the change of one account's findings from `before` to `after` to the totals, and
/// sets the account's own counts. Call it last in the account's transaction: it locks the
/// shared total rows (always in key order, so concurrent accounts cannot deadlock) until commit.
pub async fn apply(conn: &mut PgConnection, account_id: &str, before: &Tally, after: &Tally) -> Result<(), StoreError> {
    sqlx::query!(
        "update accounts set failing_count = $2, error_count = $3 where id = $1",
        account_id,
        i32::try_from(after.with_status(Status::Fail)).unwrap_or(i32::MAX),
        i32::try_from(after.with_status(Status::Error)).unwrap_or(i32::MAX),
    )
    .execute(&mut *conn)
    .await?;
    let d = deltas(before, after);
    if !d.findings.is_empty() {
        let (controls, severities, statuses, counts): (Vec<&str>, Vec<&str>, Vec<&str>, Vec<i64>) =
            d.findings.iter().map(|(c, sev, st, n)| (c.as_str(), sev.as_str(), st.as_str(), *n)).collect();
        sqlx::query!(
            "insert into finding_totals (control_id, severity, status, findings)
             select * from unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) as d(c, sev, st, n)
             order by c, sev, st
             on conflict (control_id, severity, status) do update set findings = finding_totals.findings + excluded.findings",
            controls.as_slice() as &[&str],
            severities.as_slice() as &[&str],
            statuses.as_slice() as &[&str],
            &counts,
        )
        .execute(&mut *conn)
        .await?;
    }
    if !d.accounts.is_empty() {
        let (controls, evaluated, failing): (Vec<&str>, Vec<i64>, Vec<i64>) =
            d.accounts.iter().map(|(c, e, f)| (c.as_str(), *e, *f)).collect();
        sqlx::query!(
            "insert into control_account_totals (control_id, accounts_evaluated, accounts_failing)
             select * from unnest($1::text[], $2::bigint[], $3::bigint[]) as d(c, e, f)
             order by c
             on conflict (control_id) do update set
               accounts_evaluated = control_account_totals.accounts_evaluated + excluded.accounts_evaluated,
               accounts_failing = control_account_totals.accounts_failing + excluded.accounts_failing",
            controls.as_slice() as &[&str],
            &evaluated,
            &failing,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Recomputes every total from `findings`, in one transaction. For bulk loads (the API
/// benchmark's generator): not while a sweep records accounts, which lock their account row
/// and then the totals, the reverse of this order.
pub async fn rebuild(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    // Exclusive: no account may apply deltas to totals that are being replaced.
    sqlx::query!("lock table finding_totals, control_account_totals in exclusive mode").execute(&mut *tx).await?;
    sqlx::query!("delete from finding_totals").execute(&mut *tx).await?;
    sqlx::query!("delete from control_account_totals").execute(&mut *tx).await?;
    sqlx::query!(
        "insert into finding_totals (control_id, severity, status, findings)
         select control_id, severity, status, count(*) from findings where active group by 1, 2, 3",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into control_account_totals (control_id, accounts_evaluated, accounts_failing)
         select control_id, count(distinct account_id), count(distinct account_id) filter (where status = 'fail')
         from findings where active group by 1",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("update accounts set failing_count = 0, error_count = 0").execute(&mut *tx).await?;
    sqlx::query!(
        "update accounts a set failing_count = c.failing, error_count = c.errors
         from (select account_id, count(*) filter (where status = 'fail') as failing,
                      count(*) filter (where status = 'error') as errors
               from findings where active group by 1) c
         where c.account_id = a.id",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A row of `finding_totals`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FindingTotal {
    /// The control.
    pub control_id: String,
    /// Its severity.
    pub severity: String,
    /// The status.
    pub status: String,
    /// Active findings.
    pub findings: i64,
}

/// A row of `control_account_totals`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ControlAccounts {
    /// The control.
    pub control_id: String,
    /// Accounts with an active finding of it.
    pub accounts_evaluated: i64,
    /// Accounts with an active failing finding of it.
    pub accounts_failing: i64,
}

/// Every non-zero finding total, by key.
pub async fn finding_totals(pool: &PgPool) -> Result<Vec<FindingTotal>, StoreError> {
    Ok(sqlx::query_as!(
        FindingTotal,
        "select control_id, severity, status, findings from finding_totals where findings > 0 order by 1, 2, 3"
    )
    .fetch_all(pool)
    .await?)
}

/// Every control with accounts, by id.
pub async fn control_accounts(pool: &PgPool) -> Result<Vec<ControlAccounts>, StoreError> {
    Ok(sqlx::query_as!(
        ControlAccounts,
        "select control_id, accounts_evaluated, accounts_failing from control_account_totals
         where accounts_evaluated > 0 order by 1"
    )
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(rows: &[(&str, &str, &str)]) -> Tally {
        let mut t = Tally::default();
        for (c, sev, st) in rows {
            let control = ControlId::parse(c).unwrap();
            t.add(&control, sev.parse().unwrap(), st.parse().unwrap());
        }
        t
    }

    #[test]
    fn a_fixed_finding_moves_one_count_and_the_account_stops_failing() {
        let before = tally(&[("BR.NET.1", "high", "fail"), ("BR.NET.1", "high", "pass"), ("BR.LOG.1", "high", "pass")]);
        let after = tally(&[("BR.NET.1", "high", "pass"), ("BR.NET.1", "high", "pass"), ("BR.LOG.1", "high", "pass")]);
        let d = deltas(&before, &after);
        assert_eq!(
            d.findings,
            [
                ("BR.NET.1".into(), "high".into(), "fail".into(), -1),
                ("BR.NET.1".into(), "high".into(), "pass".into(), 1)
            ]
        );
        assert_eq!(d.accounts, [("BR.NET.1".into(), 0, -1)], "still evaluated, no longer failing");
    }

    #[test]
    fn a_second_failure_of_the_same_control_does_not_count_the_account_twice() {
        let before = tally(&[("BR.NET.2", "medium", "fail")]);
        let after = tally(&[("BR.NET.2", "medium", "fail"), ("BR.NET.2", "medium", "fail")]);
        let d = deltas(&before, &after);
        assert_eq!(d.findings, [("BR.NET.2".into(), "medium".into(), "fail".into(), 1)]);
        assert!(d.accounts.is_empty());
    }

    #[test]
    fn a_new_account_and_a_vanished_control_count_both_ways() {
        let d = deltas(&Tally::default(), &tally(&[("BR.CFG.1", "medium", "error")]));
        assert_eq!(d.accounts, [("BR.CFG.1".into(), 1, 0)]);
        let d = deltas(&tally(&[("BR.CFG.1", "medium", "fail")]), &Tally::default());
        assert_eq!(d.accounts, [("BR.CFG.1".into(), -1, -1)]);
        assert_eq!(d.findings, [("BR.CFG.1".into(), "medium".into(), "fail".into(), -1)]);
        assert!(
            deltas(&tally(&[("BR.A.1", "low", "pass")]), &tally(&[("BR.A.1", "low", "pass")])) == Deltas::default()
        );
    }
}
