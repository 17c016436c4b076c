-- Budget scopes beside the project: the provider configuration's monthly budget
-- (provider_configs.monthly_budget) and an optional per-user monthly limit (user_budgets). One call
-- of app_ledger.reserve reserves on every scope or on none, refusing with each scope's figures so
-- the API can name the one that refused. Scopes are locked in one fixed order (the project row,
-- then the scope summary rows by scope name), so no two ledger calls can deadlock.
--
-- Each scope's spent and reserved are a summary row (budget_scope_totals) updated in the same
-- transaction as the entries (budget_scope_entries) it sums, under that row's lock; it is read in
-- one statement. Only the ledger functions (as app_ledger_writer) write either table.

-- 1. The per-user monthly limit (null or no row: no limit).
create table public.user_budgets (
    user_id uuid primary key default auth.uid() references auth.users (id) on delete cascade,
    monthly_limit numeric check (monthly_limit >= 0 and scale(monthly_limit) <= 10),
    updated_at timestamptz not null default now()
);
alter table public.user_budgets enable row level security;
alter table public.user_budgets force row level security;
create policy user_budgets_select on public.user_budgets for select to authenticated using ((select auth.uid()) = user_id);
create policy user_budgets_insert on public.user_budgets for insert to authenticated with check ((select auth.uid()) = user_id);
create policy user_budgets_update on public.user_budgets for update to authenticated
    using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
revoke all on public.user_budgets from public, anon, authenticated, service_role;
grant select on public.user_budgets to authenticated;
grant insert (monthly_limit, updated_at) on public.user_budgets to authenticated;
grant update (monthly_limit, updated_at) on public.user_budgets to authenticated;
grant select, insert, update, delete on public.user_budgets to service_role;

-- 2. Entries per generation and scope (`user`, `provider:<id>`): append-only, like budget_ledger.
create table public.budget_scope_entries (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    scope text not null check (scope = 'user' or scope ~ '^provider:[a-z]{1,32}$'),
    kind text not null check (kind in ('reservation', 'charge', 'release')),
    amount numeric not null check (amount >= 0 and scale(amount) <= 10),
    generation_id uuid not null,
    created_at timestamptz not null default now()
);
create index budget_scope_entries_user_scope_idx on public.budget_scope_entries (user_id, scope, created_at);
-- One reservation, one release and one charge per generation and scope.
create unique index budget_scope_entries_generation_key on public.budget_scope_entries (generation_id, scope, kind);

alter table public.budget_scope_entries enable row level security;
alter table public.budget_scope_entries force row level security;
create policy budget_scope_entries_select on public.budget_scope_entries for select to authenticated
    using ((select auth.uid()) = user_id);
create policy budget_scope_entries_append on public.budget_scope_entries for insert to app_ledger_writer
    with check ((select auth.uid()) = user_id);
revoke all on public.budget_scope_entries from public, anon, authenticated, service_role;
grant select on public.budget_scope_entries to authenticated, service_role;
grant insert (user_id, scope, kind, amount, generation_id) on public.budget_scope_entries to app_ledger_writer;

-- 3. The summary per user and scope. `spent` is the charges of the UTC month starting at
-- `period_start` (a row from an earlier month counts as 0 spent); `reserved` is reservations minus
-- releases, whenever made (a reservation is held until it ends, as for projects).
create table public.budget_scope_totals (
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    scope text not null check (scope = 'user' or scope ~ '^provider:[a-z]{1,32}$'),
    period_start timestamptz not null,
    spent numeric not null default 0 check (spent >= 0),
    reserved numeric not null default 0 check (reserved >= 0),
    updated_at timestamptz not null default now(),
    primary key (user_id, scope)
);
alter table public.budget_scope_totals enable row level security;
alter table public.budget_scope_totals force row level security;
create policy budget_scope_totals_select on public.budget_scope_totals for select to authenticated
    using ((select auth.uid()) = user_id);
create policy budget_scope_totals_insert on public.budget_scope_totals for insert to app_ledger_writer
    with check ((select auth.uid()) = user_id);
create policy budget_scope_totals_update on public.budget_scope_totals for update to app_ledger_writer
    using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
revoke all on public.budget_scope_totals from public, anon, authenticated, service_role;
grant select on public.budget_scope_totals to authenticated, service_role;
grant insert (user_id, scope, period_start) on public.budget_scope_totals to app_ledger_writer;
grant update (period_start, spent, reserved, updated_at) on public.budget_scope_totals to app_ledger_writer;

-- 4. The functions. Created by the migrating role and handed to app_ledger_writer, as in 007.
grant create on schema app_ledger to app_ledger_writer;

-- The scope's summary row, created on first use and locked. Callers lock scopes in ascending name
-- order, after the project row.
create or replace function app_ledger.lock_scope(caller uuid, scope_name text)
returns public.budget_scope_totals
language plpgsql set search_path = '' as $$
declare
    found_row public.budget_scope_totals;
begin
    insert into public.budget_scope_totals (user_id, scope, period_start)
    values (caller, scope_name, date_trunc('month', now(), 'UTC'))
    on conflict (user_id, scope) do nothing;
    select t.* into found_row from public.budget_scope_totals t
    where t.user_id = caller and t.scope = scope_name
    for update;
    return found_row;
end
$$;

-- Holds `amount` for `generation` on the project, the user scope and, when `provider` is given, the
-- provider's scope: all or nothing. One row per scope (project first, then by scope name) with
-- `admitted` (the whole reservation), `fits` (this scope had room), its limit and its figures after
-- the call (before it, when refused). Errors as app_ledger.reserve(project, generation, amount),
-- plus 22023 for an unknown provider.
create or replace function app_ledger.reserve(project uuid, generation uuid, amount numeric, provider text)
returns table (scope text, entry_id uuid, admitted boolean, fits boolean, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    month_start timestamptz := date_trunc('month', now(), 'UTC');
    target record;
    sums record;
    totals public.budget_scope_totals;
    scope_names text[];
    limits numeric[] := '{}';
    spents numeric[] := '{}';
    reserveds numeric[] := '{}';
    project_fits boolean;
    all_fit boolean;
    project_entry uuid;
    scope_entry uuid;
    i integer;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if generation is null or amount is null or amount < 0 or scale(amount) > 10 then
        raise exception 'a generation id and an amount >= 0 with at most 10 decimals are required' using errcode = '22023';
    end if;
    if provider is not null and provider not in ('openai', 'anthropic', 'openrouter', 'elevenlabs', 'runway', 'veo', 'fal', 'local') then
        raise exception 'unknown provider' using errcode = '22023';
    end if;
    select p.id, p.budget_limit, p.budget_period, p.created_at into target
    from public.projects p where p.id = reserve.project and p.user_id = caller
    for update;
    if not found then
        raise exception 'project not found' using errcode = 'P0002';
    end if;
    if exists (select from public.budget_ledger l where l.generation_id = reserve.generation and l.kind = 'reservation')
       or exists (select from public.budget_scope_entries e where e.generation_id = reserve.generation and e.kind = 'reservation') then
        raise exception 'generation already has a reservation' using errcode = '23505';
    end if;
    select t.spent, t.reserved into sums
    from app_ledger.totals(target.id, target.budget_period, target.created_at) t;
    project_fits := target.budget_limit is null or sums.spent + sums.reserved + amount <= target.budget_limit;
    all_fit := project_fits;

    -- 'provider:…' sorts before 'user': the fixed lock order.
    scope_names := case when provider is null then array['user'] else array['provider:' || provider, 'user'] end;
    for i in 1 .. array_length(scope_names, 1) loop
        totals := app_ledger.lock_scope(caller, scope_names[i]);
        if scope_names[i] = 'user' then
            limits := limits || (select b.monthly_limit from public.user_budgets b where b.user_id = caller);
        else
            limits := limits || (select c.monthly_budget from public.provider_configs c
                                 where c.user_id = caller and c.provider = reserve.provider);
        end if;
        spents := spents || case when totals.period_start >= month_start then totals.spent else 0 end;
        reserveds := reserveds || totals.reserved;
        if limits[i] is not null and spents[i] + reserveds[i] + amount > limits[i] then
            all_fit := false;
        end if;
    end loop;

    if all_fit then
        insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id)
        values (caller, target.id, 'reservation', reserve.amount, reserve.generation)
        returning id into project_entry;
    end if;
    return query select 'project'::text, project_entry, all_fit, project_fits, target.budget_limit, sums.spent,
                        sums.reserved + case when all_fit then reserve.amount else 0 end;
    for i in 1 .. array_length(scope_names, 1) loop
        scope_entry := null;
        if all_fit then
            insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
            values (caller, scope_names[i], 'reservation', reserve.amount, reserve.generation)
            returning id into scope_entry;
            update public.budget_scope_totals t
            set reserved = t.reserved + reserve.amount, updated_at = now()
            where t.user_id = caller and t.scope = scope_names[i];
        end if;
        return query select scope_names[i], scope_entry, all_fit,
                            limits[i] is null or spents[i] + reserveds[i] + amount <= limits[i],
                            limits[i], spents[i], reserveds[i] + case when all_fit then reserve.amount else 0 end;
    end loop;
end
$$;

-- Ends a generation's reservation on every scope it holds. With a cost (settle): charges it on the
-- project, the user scope and a provider scope — `charge_provider`'s when given (the provider that
-- finally served it after a fallback), else the reserved one. Without: releases only. One row per
-- scope touched (project first, then by scope name): the entry made last there (the charge when
-- charging) and the scope's figures after it. Errors as app_ledger.end_reservation.
create or replace function app_ledger.end_scoped(generation uuid, cost numeric, charge_provider text)
returns table (scope text, entry_id uuid, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql set search_path = '' as $$
declare
    caller uuid := auth.uid();
    month_start timestamptz := date_trunc('month', now(), 'UTC');
    held record;
    target record;
    sums record;
    totals public.budget_scope_totals;
    project_entry uuid;
    scope_entry uuid;
    scope_name text;
    held_amount numeric;
    reserved_provider text;
    charged_scopes text[] := '{}';
    touched text[];
    scope_limit numeric;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if generation is null or (cost is not null and (cost < 0 or scale(cost) > 10)) then
        raise exception 'a generation id and a cost >= 0 with at most 10 decimals are required' using errcode = '22023';
    end if;
    if charge_provider is not null and charge_provider not in ('openai', 'anthropic', 'openrouter', 'elevenlabs', 'runway', 'veo', 'fal', 'local') then
        raise exception 'unknown provider' using errcode = '22023';
    end if;
    select l.project_id, l.amount into held
    from public.budget_ledger l
    where l.generation_id = end_scoped.generation and l.kind = 'reservation' and l.user_id = caller;
    if not found then
        raise exception 'reservation not found' using errcode = 'P0002';
    end if;
    select p.id, p.budget_limit, p.budget_period, p.created_at into target
    from public.projects p where p.id = held.project_id and p.user_id = caller
    for update;
    if not found then
        raise exception 'reservation not found' using errcode = 'P0002';
    end if;
    if exists (select from public.budget_ledger l
               where l.generation_id = end_scoped.generation and l.kind in ('release', 'charge')) then
        raise exception 'reservation already ended' using errcode = '55000';
    end if;
    insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id)
    values (caller, target.id, 'release', held.amount, end_scoped.generation)
    returning id into project_entry;
    if cost is not null then
        insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id)
        values (caller, target.id, 'charge', cost, end_scoped.generation)
        returning id into project_entry;
    end if;
    select t.spent, t.reserved into sums
    from app_ledger.totals(target.id, target.budget_period, target.created_at) t;
    return query select 'project'::text, project_entry, target.budget_limit, sums.spent, sums.reserved;

    -- Scopes reserved (a generation reserved through the project-only path has none) and charged.
    select substr(e.scope, 10) into reserved_provider from public.budget_scope_entries e
    where e.generation_id = end_scoped.generation and e.kind = 'reservation' and e.user_id = caller and e.scope like 'provider:%';
    if cost is not null and exists (select from public.budget_scope_entries e
                                    where e.generation_id = end_scoped.generation and e.kind = 'reservation' and e.user_id = caller) then
        charged_scopes := array['user'];
        if coalesce(charge_provider, reserved_provider) is not null then
            charged_scopes := charged_scopes || ('provider:' || coalesce(charge_provider, reserved_provider));
        end if;
    end if;
    select array_agg(distinct s order by s) into touched
    from unnest(charged_scopes || array(select e.scope from public.budget_scope_entries e
                                        where e.generation_id = end_scoped.generation and e.kind = 'reservation'
                                          and e.user_id = caller)) as s;
    if touched is null then
        return;
    end if;
    foreach scope_name in array touched loop
        totals := app_ledger.lock_scope(caller, scope_name);
        scope_entry := null;
        select e.amount into held_amount from public.budget_scope_entries e
        where e.generation_id = end_scoped.generation and e.kind = 'reservation' and e.scope = scope_name and e.user_id = caller;
        if found then
            insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
            values (caller, scope_name, 'release', held_amount, end_scoped.generation)
            returning id into scope_entry;
        else
            held_amount := 0;
        end if;
        if scope_name = any(charged_scopes) then
            insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
            values (caller, scope_name, 'charge', cost, end_scoped.generation)
            returning id into scope_entry;
        end if;
        update public.budget_scope_totals t
        set reserved = t.reserved - held_amount,
            spent = case when scope_name = any(charged_scopes)
                         then (case when t.period_start >= month_start then t.spent else 0 end) + cost
                         else t.spent end,
            period_start = case when scope_name = any(charged_scopes) then month_start else t.period_start end,
            updated_at = now()
        where t.user_id = caller and t.scope = scope_name
        returning * into totals;
        if scope_name = 'user' then
            scope_limit := (select b.monthly_limit from public.user_budgets b where b.user_id = caller);
        else
            scope_limit := (select c.monthly_budget from public.provider_configs c
                            where c.user_id = caller and c.provider = substr(scope_name, 10));
        end if;
        return query select scope_name, scope_entry, scope_limit,
                            case when totals.period_start >= month_start then totals.spent else 0 end, totals.reserved;
    end loop;
end
$$;

-- The project-only forms of 007 keep their signatures and results and now end every scope too;
-- the three-argument reserve reserves on the project and the user scope.
create or replace function app_ledger.end_reservation(generation uuid, cost numeric)
returns table (entry_id uuid, budget_limit numeric, spent numeric, reserved numeric)
language sql set search_path = '' as $$
    select s.entry_id, s.budget_limit, s.spent, s.reserved
    from app_ledger.end_scoped(end_reservation.generation, end_reservation.cost, null) s
    where s.scope = 'project'
$$;

create or replace function app_ledger.reserve(project uuid, generation uuid, amount numeric)
returns table (entry_id uuid, admitted boolean, budget_limit numeric, spent numeric, reserved numeric)
language sql security definer set search_path = '' as $$
    select r.entry_id, r.admitted, r.budget_limit, r.spent, r.reserved
    from app_ledger.reserve(reserve.project, reserve.generation, reserve.amount, null::text) r
    where r.scope = 'project'
$$;

create or replace function app_ledger.settle(generation uuid, cost numeric, provider text)
returns table (scope text, entry_id uuid, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
begin
    if cost is null then
        raise exception 'a cost is required' using errcode = '22023';
    end if;
    return query select * from app_ledger.end_scoped(settle.generation, settle.cost, settle.provider);
end
$$;

create or replace function app_ledger.release_scoped(generation uuid)
returns table (scope text, entry_id uuid, budget_limit numeric, spent numeric, reserved numeric)
language sql security definer set search_path = '' as $$
    select * from app_ledger.end_scoped(release_scoped.generation, null, null)
$$;

revoke all on function app_ledger.lock_scope(uuid, text) from public;
revoke all on function app_ledger.reserve(uuid, uuid, numeric, text) from public;
revoke all on function app_ledger.end_scoped(uuid, numeric, text) from public;
revoke all on function app_ledger.settle(uuid, numeric, text) from public;
revoke all on function app_ledger.release_scoped(uuid) from public;
alter function app_ledger.lock_scope(uuid, text) owner to app_ledger_writer;
alter function app_ledger.reserve(uuid, uuid, numeric, text) owner to app_ledger_writer;
alter function app_ledger.end_scoped(uuid, numeric, text) owner to app_ledger_writer;
alter function app_ledger.settle(uuid, numeric, text) owner to app_ledger_writer;
alter function app_ledger.release_scoped(uuid) owner to app_ledger_writer;
revoke create on schema app_ledger from app_ledger_writer;
grant execute on function app_ledger.reserve(uuid, uuid, numeric, text), app_ledger.settle(uuid, numeric, text),
    app_ledger.release_scoped(uuid) to authenticated;
