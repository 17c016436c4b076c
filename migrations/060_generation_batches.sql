-- Batches of generations (issue #14, `POST /v1/generations/batch`).
--
-- A batch holds ONE budget reservation for the sum of its items' estimates: its id is the
-- ledger's generation key (app_ledger.reserve allows one reservation per key). The items are
-- ordinary generations that hold no reservation of their own; each item's cost is its row's
-- actual_cost, and when every item has ended the batch's reservation is settled once with the
-- sum of those costs, which releases the rest. As with generations, users read their rows and
-- write none: the app_engine functions below are the only writers.

create table public.generation_batches (
    id uuid primary key,
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    project_id uuid not null,
    status text not null default 'running' check (status in ('running', 'finished', 'canceled')),
    -- USD, at most 10 decimals as Money: what was reserved, and what was charged at the end.
    estimate numeric not null check (estimate >= 0 and scale(estimate) <= 10),
    charged numeric check (charged >= 0 and scale(charged) <= 10),
    -- [{"generation_id": uuid, "idempotency_key": text|null}] in request order.
    items jsonb not null,
    cancel_requested boolean not null default false,
    created_at timestamptz not null default now(),
    finished_at timestamptz,
    foreign key (user_id, project_id) references public.projects (user_id, id) on delete cascade
);
create index generation_batches_user_idx on public.generation_batches (user_id, created_at desc);

alter table public.generation_batches enable row level security;
alter table public.generation_batches force row level security;
revoke all on public.generation_batches from public, anon, authenticated, service_role;
grant select on public.generation_batches to authenticated;
grant select, insert, update, delete on public.generation_batches to service_role;
create policy generation_batches_select on public.generation_batches for select to authenticated
    using ((select auth.uid()) = user_id);

grant insert, update on public.generation_batches to app_engine_writer;
create policy generation_batches_engine_insert on public.generation_batches for insert to app_engine_writer
    with check ((select auth.uid()) = user_id);
create policy generation_batches_engine_update on public.generation_batches for update to app_engine_writer
    using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);

grant create on schema app_engine to app_engine_writer;

-- A new running batch. Errors: 42501 no user.
create or replace function app_engine.create_batch(batch uuid, project uuid, estimate numeric, items jsonb)
returns setof public.generation_batches
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    created public.generation_batches;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    insert into public.generation_batches (id, user_id, project_id, estimate, items)
    values (batch, caller, project, estimate, coalesce(items, '[]'))
    returning * into created;
    return next created;
end
$$;

-- Marks a running batch's remaining items as to be canceled. Returns the row (nothing when it is
-- not the caller's or already ended).
create or replace function app_engine.request_batch_cancel(batch uuid)
returns setof public.generation_batches
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    updated public.generation_batches;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    update public.generation_batches b set cancel_requested = true
    where b.id = request_batch_cancel.batch and b.user_id = caller and b.status = 'running'
    returning * into updated;
    if found then
        return next updated;
    end if;
end
$$;

-- Ends a running batch with what its reservation was settled at. Returns the row, or nothing when
-- it already ended (or is not the caller's).
create or replace function app_engine.end_batch(batch uuid, charged numeric)
returns setof public.generation_batches
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    updated public.generation_batches;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    update public.generation_batches b
    set status = case when b.cancel_requested then 'canceled' else 'finished' end,
        charged = end_batch.charged, finished_at = now()
    where b.id = end_batch.batch and b.user_id = caller and b.status = 'running'
    returning * into updated;
    if found then
        return next updated;
    end if;
end
$$;

do $$
declare
    f text;
begin
    foreach f in array array[
        'app_engine.create_batch(uuid, uuid, numeric, jsonb)',
        'app_engine.request_batch_cancel(uuid)',
        'app_engine.end_batch(uuid, numeric)'] loop
        execute format('revoke all on function %s from public', f);
        execute format('alter function %s owner to app_engine_writer', f);
        execute format('grant execute on function %s to authenticated', f);
    end loop;
end
$$;
revoke create on schema app_engine from app_engine_writer;
