-- The dashboard's search box finds a resource ARN among the findings: without an index it
-- would read every finding (1M at the largest organizations we plan for).
create index findings_resource on findings (resource_id);
