-- Generations, their attempts, outputs (assets), events and idempotency keys (issue #14).
--
-- The database refuses what the API would refuse (issue #12): users read their own rows and
-- write none of them directly. A user behind PostgREST must not mark a generation succeeded,
-- change its cost or forge an event, so every write goes through the SECURITY DEFINER functions
-- in `app_engine` (a schema no client API exposes), which run as `app_engine_writer`:
-- `authenticated` plus the right to write these tables for the caller (auth.uid()), and they
-- allow only the lifecycle's transitions. Cross-user work (a worker claiming queued or
-- expired-lease rows) runs as service_role and then acts for the owner through the same functions.

create table public.generations (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    project_id uuid not null,
    kind text not null check (kind in ('text', 'image', 'video', 'audio', 'image_to_video')),
    prompt text not null,
    parameters jsonb not null default '{}',
    requested_provider text,
    requested_model text,
    -- The candidate being (or last) tried, and the ordered candidates admitted with their estimates.
    provider text,
    model text,
    candidates jsonb not null default '[]',
    status text not null default 'queued'
        check (status in ('queued', 'running', 'succeeded', 'failed', 'canceled', 'expired')),
    -- USD, at most 10 decimals as Money. The estimate is what was reserved.
    estimate numeric check (estimate >= 0 and scale(estimate) <= 10),
    actual_cost numeric check (actual_cost >= 0 and scale(actual_cost) <= 10),
    provider_reported_cost numeric check (provider_reported_cost >= 0 and scale(provider_reported_cost) <= 10),
    cost_lines jsonb,
    usage jsonb,
    max_cost numeric check (max_cost >= 0 and scale(max_cost) <= 10),
    pricing_version text not null,
    error_code text,
    error_message text,
    output_text text,
    lease_owner text,
    lease_expires_at timestamptz,
    -- The provider's pending task (ProviderTask as JSON), stored before the first poll.
    provider_task jsonb,
    provider_task_id text,
    cancel_requested boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz,
    foreign key (user_id, project_id) references public.projects (user_id, id) on delete cascade
);
create index generations_user_created_idx on public.generations (user_id, created_at desc, id desc);
create index generations_claimable_idx on public.generations (status, lease_expires_at) where status in ('queued', 'running');

create table public.generation_attempts (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    generation_id uuid not null references public.generations (id) on delete cascade,
    number integer not null check (number >= 1),
    provider text not null,
    model text not null,
    status text not null check (status in ('succeeded', 'failed')),
    error_code text,
    error_message text,
    http_status integer,
    retryable boolean,
    provider_request_id text,
    created_at timestamptz not null default now(),
    unique (generation_id, number)
);
create index generation_attempts_user_idx on public.generation_attempts (user_id, generation_id);

-- Stored files. Issue #17 (assets) extends this table; today every row is a generation output.
create table public.assets (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    project_id uuid not null,
    generation_id uuid references public.generations (id) on delete set null,
    kind text not null check (kind in ('text', 'image', 'video', 'audio')),
    content_type text not null,
    bytes bigint not null check (bytes >= 0),
    sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    storage_key text not null,
    created_at timestamptz not null default now(),
    foreign key (user_id, project_id) references public.projects (user_id, id) on delete cascade
);
create index assets_user_idx on public.assets (user_id, created_at desc);
create index assets_generation_idx on public.assets (generation_id);

-- Written at every state change. Ids increase (globally, so also per generation): the SSE
-- endpoint resumes after a Last-Event-ID.
create table public.generation_events (
    id bigint generated always as identity primary key,
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    generation_id uuid not null references public.generations (id) on delete cascade,
    type text not null,
    payload jsonb not null default '{}',
    created_at timestamptz not null default now()
);
create index generation_events_user_idx on public.generation_events (user_id, generation_id, id);

-- One row per (user, Idempotency-Key): the request's hash and, once answered, the response.
-- Kept at least 24 hours (the API never deletes a younger one).
create table public.idempotency_keys (
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    key text not null check (char_length(key) between 1 and 255),
    request_hash text not null,
    response_status integer,
    response_body text,
    created_at timestamptz not null default now(),
    primary key (user_id, key)
);

do $$
declare
    t text;
begin
    foreach t in array array['generations', 'generation_attempts', 'assets', 'generation_events', 'idempotency_keys'] loop
        execute format('alter table public.%I enable row level security', t);
        execute format('alter table public.%I force row level security', t);
        execute format('revoke all on public.%I from public, anon, authenticated, service_role', t);
        execute format('grant select on public.%I to authenticated', t);
        execute format('grant select, insert, update, delete on public.%I to service_role', t);
        execute format('create policy %I on public.%I for select to authenticated using ((select auth.uid()) = user_id)',
                       t || '_select', t);
    end loop;
end
$$;

-- The role the engine functions run as (as app_ledger_writer for the ledger, migration 007).
do $$
begin
    if not exists (select from pg_roles where rolname = 'app_engine_writer') then
        create role app_engine_writer nologin inherit;
    end if;
    if not (select rolsuper from pg_roles where rolname = current_user)
       and not pg_has_role(current_user, 'app_engine_writer', 'member') then
        execute format('grant app_engine_writer to %I', current_user);
    end if;
end
$$;
grant authenticated to app_engine_writer;
grant insert, update on public.generations, public.idempotency_keys to app_engine_writer;
grant insert on public.generation_attempts, public.assets, public.generation_events to app_engine_writer;
create policy generations_engine_insert on public.generations for insert to app_engine_writer
    with check ((select auth.uid()) = user_id);
create policy generations_engine_update on public.generations for update to app_engine_writer
    using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy generation_attempts_engine_insert on public.generation_attempts for insert to app_engine_writer
    with check ((select auth.uid()) = user_id);
create policy assets_engine_insert on public.assets for insert to app_engine_writer
    with check ((select auth.uid()) = user_id);
create policy generation_events_engine_insert on public.generation_events for insert to app_engine_writer
    with check ((select auth.uid()) = user_id);
create policy idempotency_keys_engine_insert on public.idempotency_keys for insert to app_engine_writer
    with check ((select auth.uid()) = user_id);
create policy idempotency_keys_engine_update on public.idempotency_keys for update to app_engine_writer
    using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
grant delete on public.idempotency_keys to app_engine_writer;
create policy idempotency_keys_engine_delete on public.idempotency_keys for delete to app_engine_writer
    using ((select auth.uid()) = user_id);

create schema if not exists app_engine;
revoke all on schema app_engine from public;
grant usage on schema app_engine to authenticated, app_engine_writer;
grant create on schema app_engine to app_engine_writer;

-- A new generation, already leased to the admitting process. Errors: 42501 no user.
create or replace function app_engine.create_generation(
    generation uuid, project uuid, kind text, prompt text, parameters jsonb, requested_provider text,
    requested_model text, provider text, model text, candidates jsonb, estimate numeric, max_cost numeric,
    pricing_version text, lease_owner text, lease_seconds integer)
returns setof public.generations
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    created public.generations;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    insert into public.generations (id, user_id, project_id, kind, prompt, parameters, requested_provider, requested_model,
                                    provider, model, candidates, estimate, max_cost, pricing_version, lease_owner, lease_expires_at)
    values (generation, caller, project, kind, prompt, coalesce(parameters, '{}'), requested_provider, requested_model,
            provider, model, coalesce(candidates, '[]'), estimate, max_cost, pricing_version, lease_owner,
            now() + make_interval(secs => greatest(lease_seconds, 1)))
    returning * into created;
    insert into public.generation_events (user_id, generation_id, type, payload)
    values (caller, generation, 'queued', jsonb_build_object('status', 'queued', 'estimate', estimate::text));
    return next created;
end
$$;

-- Moves a generation along the lifecycle, and only along it: queued → running; queued or
-- running → succeeded, failed, canceled, expired. Terminal states never change. `changes` may set
-- only the columns named below; the cost columns only with `succeeded`. Appends the event.
-- Returns the row, or nothing when the transition is not allowed from the current state.
create or replace function app_engine.advance(generation uuid, to_status text, event_type text, changes jsonb, event jsonb)
returns setof public.generations
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    current public.generations;
    updated public.generations;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    select * into current from public.generations g where g.id = advance.generation and g.user_id = caller for update;
    if not found then
        return;
    end if;
    if to_status is not null and not (
        (current.status = 'queued' and to_status in ('running', 'succeeded', 'failed', 'canceled', 'expired'))
        or (current.status = 'running' and to_status in ('running', 'succeeded', 'failed', 'canceled', 'expired'))) then
        return;
    end if;
    if to_status is null and current.status not in ('queued', 'running') then
        return;
    end if;
    update public.generations g set
        status = coalesce(to_status, g.status),
        provider = case when changes ? 'provider' then changes->>'provider' else g.provider end,
        model = case when changes ? 'model' then changes->>'model' else g.model end,
        provider_task = case when changes ? 'provider_task' then changes->'provider_task' else g.provider_task end,
        provider_task_id = case when changes ? 'provider_task_id' then changes->>'provider_task_id' else g.provider_task_id end,
        error_code = case when changes ? 'error_code' then changes->>'error_code' else g.error_code end,
        error_message = case when changes ? 'error_message' then changes->>'error_message' else g.error_message end,
        output_text = case when changes ? 'output_text' then changes->>'output_text' else g.output_text end,
        cancel_requested = case when changes ? 'cancel_requested' then (changes->>'cancel_requested')::boolean else g.cancel_requested end,
        lease_owner = case when changes ? 'lease_owner' then changes->>'lease_owner' else g.lease_owner end,
        lease_expires_at = case when changes ? 'lease_seconds'
                                then now() + make_interval(secs => (changes->>'lease_seconds')::integer) else g.lease_expires_at end,
        actual_cost = case when to_status = 'succeeded' and changes ? 'actual_cost' then (changes->>'actual_cost')::numeric else g.actual_cost end,
        provider_reported_cost = case when to_status = 'succeeded' and changes ? 'provider_reported_cost'
                                      then (changes->>'provider_reported_cost')::numeric else g.provider_reported_cost end,
        cost_lines = case when to_status = 'succeeded' and changes ? 'cost_lines' then changes->'cost_lines' else g.cost_lines end,
        usage = case when to_status = 'succeeded' and changes ? 'usage' then changes->'usage' else g.usage end,
        started_at = case when to_status = 'running' and g.started_at is null then now() else g.started_at end,
        finished_at = case when to_status in ('succeeded', 'failed', 'canceled', 'expired') then now() else g.finished_at end,
        updated_at = now()
    where g.id = current.id
    returning * into updated;
    if event_type is not null then
        insert into public.generation_events (user_id, generation_id, type, payload)
        values (caller, current.id, event_type, coalesce(event, '{}'));
    end if;
    return next updated;
end
$$;

-- Records one provider attempt of a generation that is still queued or running.
create or replace function app_engine.record_attempt(generation uuid, provider text, model text, status text, error_code text,
                                                     error_message text, http_status integer, retryable boolean,
                                                     provider_request_id text)
returns integer
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    next_number integer;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    perform from public.generations g
    where g.id = record_attempt.generation and g.user_id = caller and g.status in ('queued', 'running') for update;
    if not found then
        raise exception 'generation not found or finished' using errcode = 'P0002';
    end if;
    select coalesce(max(a.number), 0) + 1 into next_number from public.generation_attempts a where a.generation_id = record_attempt.generation;
    insert into public.generation_attempts (user_id, generation_id, number, provider, model, status, error_code, error_message,
                                            http_status, retryable, provider_request_id)
    values (caller, generation, next_number, provider, model, status, error_code, error_message, http_status, retryable,
            provider_request_id);
    if status = 'failed' then
        insert into public.generation_events (user_id, generation_id, type, payload)
        values (caller, generation, 'attempt_failed', jsonb_build_object('attempt', next_number, 'provider', provider,
                'model', model, 'code', error_code, 'retryable', retryable));
    end if;
    return next_number;
end
$$;

-- Records one stored output of a generation that is still running.
create or replace function app_engine.add_asset(generation uuid, kind text, content_type text, bytes bigint, sha256 text,
                                                storage_key text)
returns uuid
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    target record;
    created uuid;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    select g.id, g.project_id into target from public.generations g
    where g.id = add_asset.generation and g.user_id = caller and g.status in ('queued', 'running');
    if not found then
        raise exception 'generation not found or finished' using errcode = 'P0002';
    end if;
    insert into public.assets (user_id, project_id, generation_id, kind, content_type, bytes, sha256, storage_key)
    values (caller, target.project_id, target.id, kind, content_type, bytes, sha256, storage_key)
    returning id into created;
    return created;
end
$$;

-- Idempotency: claims (user, key) for a request, or reports what is there. `state` is
-- 'claimed' (go ahead), 'replay' (same request, answered: status and body given), 'pending'
-- (same request, still being answered), 'mismatch' (another request used the key). A claim left
-- unanswered for `stale_seconds` (its process died) is taken over.
create or replace function app_engine.claim_idempotency_key(key text, request_hash text, stale_seconds integer)
returns table (state text, response_status integer, response_body text)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    existing public.idempotency_keys;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    insert into public.idempotency_keys (user_id, key, request_hash)
    values (caller, claim_idempotency_key.key, claim_idempotency_key.request_hash)
    on conflict do nothing;
    if found then
        return query select 'claimed'::text, null::integer, null::text;
        return;
    end if;
    select * into existing from public.idempotency_keys k
    where k.user_id = caller and k.key = claim_idempotency_key.key for update;
    if existing.request_hash <> claim_idempotency_key.request_hash then
        return query select 'mismatch'::text, null::integer, null::text;
    elsif existing.response_status is not null then
        return query select 'replay'::text, existing.response_status, existing.response_body;
    elsif existing.created_at < now() - make_interval(secs => stale_seconds) then
        update public.idempotency_keys k set created_at = now() where k.user_id = caller and k.key = claim_idempotency_key.key;
        return query select 'claimed'::text, null::integer, null::text;
    else
        return query select 'pending'::text, null::integer, null::text;
    end if;
end
$$;

-- Stores the answer of a claimed key; a failed request that left nothing behind gives the key up
-- (status null), so a retry may run again.
create or replace function app_engine.finish_idempotency_key(key text, response_status integer, response_body text)
returns void
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if response_status is null then
        delete from public.idempotency_keys k where k.user_id = caller and k.key = finish_idempotency_key.key
            and k.response_status is null;
    else
        update public.idempotency_keys k set response_status = finish_idempotency_key.response_status,
            response_body = finish_idempotency_key.response_body
        where k.user_id = caller and k.key = finish_idempotency_key.key and k.response_status is null;
    end if;
end
$$;

do $$
declare
    f text;
begin
    foreach f in array array[
        'app_engine.create_generation(uuid, uuid, text, text, jsonb, text, text, text, text, jsonb, numeric, numeric, text, text, integer)',
        'app_engine.advance(uuid, text, text, jsonb, jsonb)',
        'app_engine.record_attempt(uuid, text, text, text, text, text, integer, boolean, text)',
        'app_engine.add_asset(uuid, text, text, bigint, text, text)',
        'app_engine.claim_idempotency_key(text, text, integer)',
        'app_engine.finish_idempotency_key(text, integer, text)'] loop
        execute format('revoke all on function %s from public', f);
        execute format('alter function %s owner to app_engine_writer', f);
        execute format('grant execute on function %s to authenticated', f);
    end loop;
end
$$;
revoke create on schema app_engine from app_engine_writer;
