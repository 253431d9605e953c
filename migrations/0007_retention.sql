-- Retention (database.retention_days): a snapshot is stored once per distinct content, so
-- its age is when a sweep last produced that content, not when it was first stored.
alter table snapshots add column last_seen_at timestamptz;
update snapshots set last_seen_at = created_at;
alter table snapshots alter column last_seen_at set default now();
alter table snapshots alter column last_seen_at set not null;
create index snapshots_last_seen on snapshots (last_seen_at);
