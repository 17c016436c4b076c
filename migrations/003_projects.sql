-- Projects and the budget ledger their budget summaries are computed from.
--
-- Spent and reserved amounts are never stored on the project: they are sums over
-- public.budget_ledger for the current period, so they cannot drift from the entries that
-- generations will write (reservation when queued, charge on success, release when a
-- reservation ends). Both tables follow the rules in DESIGN.md: user_id owned by auth.users,
-- RLS enabled and forced, policies for authenticated written with (select auth.uid()),
-- indexes leading with user_id. Grants come from the default privileges set in 002.

-- Trigram search on project names (`q`); trusted extension, contrib is installed.
create extension if not exists pg_trgm;

create table public.projects (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    name text not null check (char_length(name) between 1 and 120),
    description text check (char_length(description) <= 2000),
    -- USD; null means no limit. At most 10 decimals, as Money in Swift and on the wire.
    budget_limit numeric check (budget_limit >= 0 and scale(budget_limit) <= 10),
    budget_period text not null default 'total' check (budget_period in ('total', 'monthly')),
    archived_at timestamptz,
    -- Incremented by every update; the ETag is "v<version>".
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    -- Target of the ledger's (user_id, project_id) key, so an entry always belongs to its project's owner.
    unique (user_id, id)
);

-- Keyset pagination: (user_id, updated_at desc, id desc) and (user_id, lower(name), id).
create index projects_user_updated_idx on public.projects (user_id, updated_at desc, id desc);
create index projects_user_name_idx on public.projects (user_id, lower(name), id);
-- Case-insensitive substring search on the name (`q`), through a trigram GIN index.
create index projects_name_trgm_idx on public.projects using gin (lower(name) gin_trgm_ops);

alter table public.projects enable row level security;
alter table public.projects force row level security;
create policy projects_select on public.projects for select to authenticated using ((select auth.uid()) = user_id);
create policy projects_insert on public.projects for insert to authenticated with check ((select auth.uid()) = user_id);
create policy projects_update on public.projects for update to authenticated
    using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy projects_delete on public.projects for delete to authenticated using ((select auth.uid()) = user_id);

create table public.budget_ledger (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    project_id uuid not null,
    -- reservation: held for a queued generation; release: ends (part of) a reservation;
    -- charge: the settled cost. reserved = reservations - releases, spent = charges.
    kind text not null check (kind in ('reservation', 'charge', 'release')),
    amount numeric not null check (amount >= 0 and scale(amount) <= 10),
    generation_id uuid,
    created_at timestamptz not null default now(),
    -- Composite, so nobody can book an entry against another user's project (FK checks skip RLS).
    foreign key (user_id, project_id) references public.projects (user_id, id) on delete cascade
);

-- Summaries sum one project's entries of one period.
create index budget_ledger_user_project_idx on public.budget_ledger (user_id, project_id, created_at);
create index budget_ledger_project_idx on public.budget_ledger (project_id);

alter table public.budget_ledger enable row level security;
alter table public.budget_ledger force row level security;
create policy budget_ledger_select on public.budget_ledger for select to authenticated using ((select auth.uid()) = user_id);
create policy budget_ledger_insert on public.budget_ledger for insert to authenticated with check ((select auth.uid()) = user_id);
create policy budget_ledger_update on public.budget_ledger for update to authenticated
    using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy budget_ledger_delete on public.budget_ledger for delete to authenticated using ((select auth.uid()) = user_id);
