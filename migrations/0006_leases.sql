-- One process drives a sweep at a time: it holds the sweep's lease and renews it while it
-- runs (discovery included); another process takes the sweep over only once the lease has
-- lapsed. Rows from before this migration have no lease, which counts as lapsed: a sweep
-- left running by an older version is resumed by the next process.
alter table sweeps add column lease_owner text, add column lease_expires_at timestamptz;
