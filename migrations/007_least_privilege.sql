-- Least privilege for the API roles, so the database refuses on its own what the API would refuse,
-- also when PostgREST (Supabase) exposes `public` to the same `authenticated` role and JWT.
--
-- * No blanket default privileges: 002 granted full DML on every future table in `public` to
--   authenticated and service_role. Each table now states exactly what each role may do, per
--   column where the API writes only some columns (SchemaAudit holds the code's allowlist to it).
-- * The budget ledger is append-only and not writable by `authenticated`: entries are made only
--   by app_ledger.reserve/settle/release (SECURITY DEFINER, in a schema no client API exposes).
-- * Server-maintained project columns (version, updated_at) are set by a trigger, so users need
--   no UPDATE privilege on them.

-- 1. Default privileges: revoke what 002 set. They belong to the role that ran 002 (default
-- privileges are per creating role), so this assumes 007 runs as that role, as migrations do. On a
-- Supabase database this also removes Supabase's own defaults for that role (`postgres`): later
-- tables it creates in `public` are no longer open to the API roles until granted, which is the point.
alter default privileges in schema public revoke all on tables from anon, authenticated, service_role;
alter default privileges in schema public revoke all on sequences from anon, authenticated, service_role;
alter default privileges in schema public revoke all on functions from anon, authenticated, service_role;

-- 2. Projects. Users read their whole row; they write only what the API lets them write.
revoke all on public.projects from public, anon, authenticated, service_role;
grant select on public.projects to authenticated;
grant insert (name, description, budget_limit, budget_period) on public.projects to authenticated;
grant update (name, description, budget_limit, budget_period, archived_at) on public.projects to authenticated;
grant delete on public.projects to authenticated;
-- Maintenance (cross-user) work only; service_role bypasses RLS.
grant select, insert, update, delete on public.projects to service_role;

create or replace function app_private.projects_touch() returns trigger
language plpgsql set search_path = '' as $$
begin
    -- Every update is a new version (the ETag) at a new time, whoever writes and whatever they set.
    new.version := old.version + 1;
    new.updated_at := now();
    return new;
end
$$;
revoke all on function app_private.projects_touch() from public;
drop trigger if exists projects_touch on public.projects;
create trigger projects_touch before update on public.projects
    for each row execute function app_private.projects_touch();

-- 3. Provider keys. Users read what listing, the vault and the duplicate check read (never
-- key_version or the check reason); they insert a new key and update only its usage and check
-- columns: never the provider, the ciphertext, the fingerprint or the owner of a stored key.
revoke all on public.user_api_keys from public, anon, authenticated, service_role;
grant select (id, user_id, provider, label, ciphertext, mask_prefix, last4, fingerprint, status,
              last_checked_at, last_used_at, created_at, updated_at) on public.user_api_keys to authenticated;
grant insert (id, user_id, provider, label, ciphertext, key_version, mask_prefix, last4, fingerprint,
              created_at, updated_at) on public.user_api_keys to authenticated;
grant update (status, last_check_reason, last_checked_at, last_used_at, updated_at) on public.user_api_keys to authenticated;
grant delete on public.user_api_keys to authenticated;
-- Key rotation re-encrypts rows across users.
grant select, update on public.user_api_keys to service_role;

-- 4. The budget ledger: readable by its owner, written by nobody but the ledger functions.
revoke all on public.budget_ledger from public, anon, authenticated, service_role;
grant select on public.budget_ledger to authenticated, service_role;
drop policy if exists budget_ledger_insert on public.budget_ledger;
drop policy if exists budget_ledger_update on public.budget_ledger;
drop policy if exists budget_ledger_delete on public.budget_ledger;

-- One reservation, one release and one charge per generation: the functions check this under the
-- project lock, and the index makes it hold even for rows written some other way.
create unique index if not exists budget_ledger_generation_kind_key on public.budget_ledger (generation_id, kind)
    where generation_id is not null;

-- The role the ledger functions run as. It can log in to nothing and nobody is granted it; it is
-- `authenticated` (so it sees only the caller's rows, through the same policies) plus the right to
-- append ledger entries for the caller.
do $$
begin
    if not exists (select from pg_roles where rolname = 'app_ledger_writer') then
        create role app_ledger_writer nologin inherit;
    end if;
    -- Needed to hand the functions over to it (a superuser may do so anyway).
    if not (select rolsuper from pg_roles where rolname = current_user)
       and not pg_has_role(current_user, 'app_ledger_writer', 'member') then
        execute format('grant app_ledger_writer to %I', current_user);
    end if;
end
$$;
-- Needs ADMIN OPTION on authenticated, or (PostgreSQL 15) CREATEROLE: the migrating role has one
-- or the other wherever 002 could run (on Supabase, `postgres` has CREATEROLE).
grant authenticated to app_ledger_writer;
grant insert (user_id, project_id, kind, amount, generation_id) on public.budget_ledger to app_ledger_writer;
drop policy if exists budget_ledger_append on public.budget_ledger;
create policy budget_ledger_append on public.budget_ledger for insert to app_ledger_writer
    with check ((select auth.uid()) = user_id);

-- 5. The ledger functions. Not in `public` (or any schema PostgREST exposes): the API calls them
-- over SQL as `authenticated`, one statement per step.
create schema if not exists app_ledger;
revoke all on schema app_ledger from public;
grant usage on schema app_ledger to authenticated, app_ledger_writer;
-- Only while the functions are handed over (ALTER ... OWNER needs it); revoked below.
grant create on schema app_ledger to app_ledger_writer;

-- Spent in the project's current period and reserved now. The period starts on the first of the
-- UTC month (monthly) or at creation (total). A reservation is held until it is released, whenever
-- it was made, so `reserved` is not cut off at the period start (a reservation from last month
-- released this month must not lower this month's figure).
create or replace function app_ledger.totals(project uuid, period text, created timestamptz,
                                             out spent numeric, out reserved numeric)
language sql stable set search_path = '' as $$
    select coalesce(sum(l.amount) filter (
                where l.kind = 'charge'
                  and l.created_at >= case period when 'monthly' then date_trunc('month', now(), 'UTC') else created end), 0),
           coalesce(sum(case l.kind when 'reservation' then l.amount else -l.amount end)
                        filter (where l.kind in ('reservation', 'release')), 0)
    from public.budget_ledger l
    where l.project_id = project
$$;

-- Holds `amount` against the project's budget for one generation. Admitted only when
-- spent + reserved + amount <= limit (no limit: always); otherwise nothing is written and
-- `admitted` is false. Errors: 42501 no user, 22023 bad argument, P0002 no such project for this
-- user (another user's project is the same as none), 23505 the generation already has a reservation.
create or replace function app_ledger.reserve(project uuid, generation uuid, amount numeric)
returns table (entry_id uuid, admitted boolean, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    target record;
    sums record;
    created uuid;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if generation is null or amount is null or amount < 0 or scale(amount) > 10 then
        raise exception 'a generation id and an amount >= 0 with at most 10 decimals are required' using errcode = '22023';
    end if;
    -- The lock serialises every ledger step of this project, so the check below cannot race.
    select p.id, p.budget_limit, p.budget_period, p.created_at into target
    from public.projects p where p.id = reserve.project and p.user_id = caller
    for update;
    if not found then
        raise exception 'project not found' using errcode = 'P0002';
    end if;
    if exists (select from public.budget_ledger l where l.generation_id = reserve.generation and l.kind = 'reservation') then
        raise exception 'generation already has a reservation' using errcode = '23505';
    end if;
    select t.spent, t.reserved into sums
    from app_ledger.totals(target.id, target.budget_period, target.created_at) t;
    if target.budget_limit is not null and sums.spent + sums.reserved + amount > target.budget_limit then
        return query select null::uuid, false, target.budget_limit, sums.spent, sums.reserved;
        return;
    end if;
    insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id)
    values (caller, target.id, 'reservation', reserve.amount, reserve.generation)
    returning id into created;
    return query select created, true, target.budget_limit, sums.spent, sums.reserved + reserve.amount;
end
$$;

-- Ends a generation's reservation. With a cost (settle): releases it and charges the cost, which
-- may exceed the reservation (the money is spent; the figures then show the overrun). Without
-- (release): releases it, charging nothing. Errors: 42501 no user, 22023 bad argument, P0002 no
-- reservation for this generation and user, 55000 the reservation has already ended.
create or replace function app_ledger.end_reservation(generation uuid, cost numeric)
returns table (entry_id uuid, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql set search_path = '' as $$
declare
    caller uuid := auth.uid();
    held record;
    target record;
    sums record;
    created uuid;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if generation is null or (cost is not null and (cost < 0 or scale(cost) > 10)) then
        raise exception 'a generation id and a cost >= 0 with at most 10 decimals are required' using errcode = '22023';
    end if;
    select l.project_id, l.amount into held
    from public.budget_ledger l
    where l.generation_id = end_reservation.generation and l.kind = 'reservation' and l.user_id = caller;
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
               where l.generation_id = end_reservation.generation and l.kind in ('release', 'charge')) then
        raise exception 'reservation already ended' using errcode = '55000';
    end if;
    insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id)
    values (caller, target.id, 'release', held.amount, end_reservation.generation)
    returning id into created;
    if cost is not null then
        insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id)
        values (caller, target.id, 'charge', cost, end_reservation.generation)
        returning id into created;
    end if;
    select t.spent, t.reserved into sums
    from app_ledger.totals(target.id, target.budget_period, target.created_at) t;
    return query select created, target.budget_limit, sums.spent, sums.reserved;
end
$$;

-- The charge entry's id is returned.
create or replace function app_ledger.settle(generation uuid, cost numeric)
returns table (entry_id uuid, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
begin
    if cost is null then
        raise exception 'a cost is required' using errcode = '22023';
    end if;
    return query select * from app_ledger.end_reservation(settle.generation, settle.cost);
end
$$;

-- The release entry's id is returned.
create or replace function app_ledger.release(generation uuid)
returns table (entry_id uuid, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
begin
    return query select * from app_ledger.end_reservation(release.generation, null);
end
$$;

revoke all on function app_ledger.totals(uuid, text, timestamptz) from public;
revoke all on function app_ledger.end_reservation(uuid, numeric) from public;
revoke all on function app_ledger.reserve(uuid, uuid, numeric) from public;
revoke all on function app_ledger.settle(uuid, numeric) from public;
revoke all on function app_ledger.release(uuid) from public;
alter function app_ledger.totals(uuid, text, timestamptz) owner to app_ledger_writer;
alter function app_ledger.end_reservation(uuid, numeric) owner to app_ledger_writer;
alter function app_ledger.reserve(uuid, uuid, numeric) owner to app_ledger_writer;
alter function app_ledger.settle(uuid, numeric) owner to app_ledger_writer;
alter function app_ledger.release(uuid) owner to app_ledger_writer;
revoke create on schema app_ledger from app_ledger_writer;
grant execute on function app_ledger.reserve(uuid, uuid, numeric), app_ledger.settle(uuid, numeric),
    app_ledger.release(uuid) to authenticated;

-- 6. Pricing is reference data, the same for every user: readable by `authenticated` (its RLS
-- policy is `using (true)`, from 005), writable only by service_role (imports), never by anon.
revoke all on pricing.versions from public, anon;
