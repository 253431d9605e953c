//! Migrations applied to a database that already holds history: 0004 must rebuild the
//! aggregates and the trend's posture points from what is there, so an upgrade loses nothing.

use serde_json::json;

use super::helpers::{assert_totals_match_findings, empty_db};

/// Applies the migrations up to and including `last` from the repository's folder.
async fn migrate_up_to(pool: &sqlx::PgPool, last: i64) {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version <= last {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    sqlx::migrate::Migrator::new(dir.path()).await.unwrap().run(pool).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_path_migration_rebuilds_aggregates_and_the_trend_from_history() {
    let (pool, _) = empty_db().await;
    migrate_up_to(&pool, 3).await;

    // Two completed sweeps and a failed one; four findings with their transitions:
    // f1 failed at s1 and was fixed by s2; f2 fails throughout; f3 could not be evaluated
    // from s2 on; f4 failed at s1 and its subject was gone by s2.
    let script = "
        insert into accounts (id, name, email, status, parent_id, ou_path)
        values ('111111111111', 'a', 'a@x', 'ACTIVE', 'ou-1', 'Root/Sandbox'),
               ('222222222222', 'b', 'b@x', 'ACTIVE', 'r-1', 'Root');
        insert into sweeps (id, trigger, status, started_at, finished_at) values
          ('00000000-0000-0000-0000-000000000001', 'cli', 'completed', '2026-01-01T03:00:00Z', '2026-01-01T04:00:00Z'),
          ('00000000-0000-0000-0000-000000000002', 'cli', 'completed', '2026-01-02T03:00:00Z', '2026-01-02T04:00:00Z'),
          ('00000000-0000-0000-0000-000000000003', 'cli', 'failed',    '2026-01-03T03:00:00Z', '2026-01-03T03:01:00Z');
        insert into findings (id, control_id, account_id, region, resource_id, status, severity, title, detail,
                              active, first_seen_at, last_seen_at, status_since, last_sweep_id) values
          ('f1', 'BR.NET.1', '111111111111', 'us-east-1', 'x', 'pass', 'high', 't', 'd', true,
           '2026-01-01T03:10:00Z', '2026-01-02T03:10:00Z', '2026-01-02T03:10:00Z', '00000000-0000-0000-0000-000000000002'),
          ('f2', 'BR.CFG.1', '111111111111', 'us-east-1', 'x', 'fail', 'medium', 't', 'd', true,
           '2026-01-01T03:10:00Z', '2026-01-02T03:10:00Z', '2026-01-01T03:10:00Z', '00000000-0000-0000-0000-000000000002'),
          ('f3', 'BR.CFG.1', '222222222222', 'us-east-1', 'x', 'error', 'medium', 't', 'd', true,
           '2026-01-02T03:10:00Z', '2026-01-02T03:10:00Z', '2026-01-02T03:10:00Z', '00000000-0000-0000-0000-000000000002'),
          ('f4', 'BR.NET.1', '222222222222', 'us-east-1', 'y', 'fail', 'high', 't', 'd', false,
           '2026-01-01T03:10:00Z', '2026-01-01T03:10:00Z', '2026-01-02T03:10:00Z', '00000000-0000-0000-0000-000000000002');
        insert into finding_events (finding_id, sweep_id, at, kind, old_status, new_status) values
          ('f1', '00000000-0000-0000-0000-000000000001', '2026-01-01T03:10:00Z', 'opened', null, 'fail'),
          ('f2', '00000000-0000-0000-0000-000000000001', '2026-01-01T03:10:00Z', 'opened', null, 'fail'),
          ('f4', '00000000-0000-0000-0000-000000000001', '2026-01-01T03:10:00Z', 'opened', null, 'fail'),
          ('f1', '00000000-0000-0000-0000-000000000002', '2026-01-02T03:10:00Z', 'resolved', 'fail', 'pass'),
          ('f3', '00000000-0000-0000-0000-000000000002', '2026-01-02T03:10:00Z', 'first_seen', null, 'error'),
          ('f4', '00000000-0000-0000-0000-000000000002', '2026-01-02T03:10:00Z', 'resolved', 'fail', null);";
    sqlx::raw_sql(script).execute(&pool).await.unwrap();
    bedrock_sweeper::store::migrate(&pool).await.unwrap();

    assert_totals_match_findings(&pool).await;
    let totals: Vec<(String, String, String, i64)> =
        sqlx::query_as("select control_id, severity, status, findings from finding_totals order by 1, 2, 3")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected =
        [("BR.CFG.1", "medium", "error", 1), ("BR.CFG.1", "medium", "fail", 1), ("BR.NET.1", "high", "pass", 1)];
    let expected: Vec<(String, String, String, i64)> =
        expected.iter().map(|(c, s, t, n)| ((*c).into(), (*s).into(), (*t).into(), *n)).collect();
    assert_eq!(totals, expected);

    let points: Vec<(String, serde_json::Value, serde_json::Value)> =
        sqlx::query_as("select sweep_id::text, failing_by_severity, controls from posture_points order by at")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(points.len(), 2, "one point per completed sweep: {points:?}");
    assert_eq!(points[0].1, json!({"high": 2, "medium": 1}), "after s1: f1, f4 (high) and f2 (medium) failing");
    assert_eq!(
        points[0].2,
        json!({"BR.NET.1": {"accounts_compliant": 0, "accounts_evaluated": 2},
               "BR.CFG.1": {"accounts_compliant": 0, "accounts_evaluated": 1}})
    );
    assert_eq!(points[1].1, json!({"medium": 1}), "after s2: only f2");
    assert_eq!(
        points[1].2,
        json!({"BR.NET.1": {"accounts_compliant": 1, "accounts_evaluated": 1},
               "BR.CFG.1": {"accounts_compliant": 1, "accounts_evaluated": 2}})
    );
    let ranks: Vec<(String, i16)> =
        sqlx::query_as("select id, severity_rank from findings order by id").fetch_all(&pool).await.unwrap();
    assert_eq!(ranks.iter().map(|(_, r)| *r).collect::<Vec<_>>(), [1, 2, 2, 1], "high = 1, medium = 2");
}
