-- Project search (`q`) is case-insensitive for all of Unicode. The clusters use the C locale, where
-- lower() folds only ASCII ('Élan' stays 'Élan'); lower() under the ICU root collation folds
-- every script ('élan'). The trigram index is rebuilt on exactly the expression the search uses,
-- so the planner can still answer `like '%…%'` from it. (An ICU library upgrade can change case
-- mappings: PostgreSQL then warns about the collation version, and this index should be rebuilt.)
create index if not exists projects_name_icu_trgm_idx on public.projects
    using gin (lower(name collate "und-x-icu") gin_trgm_ops);
drop index if exists public.projects_name_trgm_idx;
