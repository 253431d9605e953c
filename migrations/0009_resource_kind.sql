-- What each finding is about, as the evaluator that judged it knows it (the ASFF resource
-- type is taken from it). Rows written before this migration get the kind their resource id
-- shows; every sweep from now on writes the evaluator's.
alter table findings add column resource_kind text;

update findings set resource_kind = case
    when resource_id = account_id then 'account'
    when resource_id like 'o-%' then 'organization'
    when resource_id like 'vpce-%' then 'vpc_endpoint'
    when resource_id like '%:cloudtrail:%' then 'trail'
    when resource_id like '%:kms:%' then 'kms_key'
    when resource_id like '%:role/%' then 'iam_role'
    when resource_id like '%:user/%' then 'iam_user'
    when resource_id like '%:group/%' then 'iam_group'
    when resource_id like '%:custom-model/%' then 'custom_model'
    when resource_id like '%:guardrail/%' then 'guardrail'
    else 'account'
end;

alter table findings alter column resource_kind set not null;
