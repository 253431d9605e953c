-- Where each CloudTrail digest chain was last verified (BR.LOG.6): per trail, account and
-- region, the last digest verified (key, end, signature, hash) and the breaks found so far,
-- as `snapshot::ChainCursor` JSON. The next sweep reads only the digests after it and
-- checks that the first of them links to it; a break stays reported every sweep.
create table digest_cursors (
    account_id  text not null,
    trail_arn   text not null,
    region      text not null,
    cursor      jsonb not null,
    updated_at  timestamptz not null default now(),
    primary key (account_id, trail_arn, region)
);
