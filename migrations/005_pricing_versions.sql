-- Pricing versions: global reference data, not user data, so they live outside `public` (where
-- every table is user-owned). Each import is one immutable version; old generations keep the
-- version they were priced with, and exactly one version is current.
create schema if not exists pricing;
grant usage on schema pricing to authenticated, service_role;

create table if not exists pricing.versions (
    id text primary key,
    label text not null,
    fingerprint text not null unique,
    currency text not null,
    effective_from text not null,
    -- The version in the repository's catalog format (pricing/README.md), exactly as imported.
    document jsonb not null,
    imported_at timestamptz not null default now(),
    is_current boolean not null default false
);
create unique index if not exists versions_one_current on pricing.versions (is_current) where is_current;

alter table pricing.versions enable row level security;
alter table pricing.versions force row level security;
create policy versions_read on pricing.versions for select to authenticated using (true);
grant select on pricing.versions to authenticated;
grant select, insert, update on pricing.versions to service_role;
