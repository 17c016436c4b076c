-- app_engine.admit_group (migration 172) checks that each generation of a group has its reservation
-- on the project before creating it. That check was an exists() over the ledger, which PostgreSQL
-- turned into a hash semi-join: it read every reservation of the user's project into a hash table to
-- match a handful of items (the planner takes a jsonb array for 100 rows), so each group's creation
-- cost grew with the project's history. At 64 connections on a ledger of a few tens of thousands of
-- rows that hash was a fifth of PostgreSQL's CPU (BENCHMARKS.md, run T). The check is now one probe of
-- the ledger's unique (generation_id, kind) index per item. Nothing else changes: the same rows, in the
-- same order, for the same items.

grant create on schema app_engine to app_engine_writer;

create or replace function app_engine.admit_group(project uuid, items jsonb)
returns void
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if jsonb_typeof(items) is distinct from 'array' or jsonb_array_length(items) not between 1 and 64 then
        raise exception 'an array of 1 to 64 generations is required' using errcode = '22023';
    end if;
    -- Only a generation whose reservation on this project committed is created; another is not (as
    -- admit_reserved leaves it).
    with admitted as (
        select x.*, e.k
        from jsonb_array_elements(items) with ordinality e(value, k)
        cross join lateral jsonb_to_record(e.value) as x(generation uuid, kind text, prompt text, parameters jsonb,
                                                         requested_provider text, requested_model text, provider text,
                                                         model text, candidates jsonb, estimate numeric, max_cost numeric,
                                                         pricing_version text, lease_owner text, lease_seconds integer,
                                                         start boolean)
        -- One probe of the (generation_id, kind) index per item: a lateral subquery with a limit cannot
        -- become the hash semi-join over the user's whole ledger that an exists() was planned as.
        cross join lateral (select 1 from public.budget_ledger l
                            where l.generation_id = x.generation and l.kind = 'reservation' and l.user_id = caller
                              and l.project_id = admit_group.project
                            limit 1) reserved
    ), created as (
        insert into public.generations (id, user_id, project_id, kind, prompt, parameters, requested_provider, requested_model,
                                        provider, model, candidates, status, estimate, max_cost, pricing_version, lease_owner,
                                        lease_expires_at, started_at, submitting)
        select a.generation, caller, admit_group.project, a.kind, a.prompt, coalesce(nullif(a.parameters, 'null'::jsonb), '{}'),
               a.requested_provider, a.requested_model, a.provider, a.model, coalesce(nullif(a.candidates, 'null'::jsonb), '[]'),
               case when a.start then 'running' else 'queued' end, a.estimate, a.max_cost, a.pricing_version,
               a.lease_owner, now() + make_interval(secs => greatest(a.lease_seconds, 1)),
               case when a.start then now() end,
               case when a.start then jsonb_build_object('provider', a.provider, 'model', a.model) end
        from admitted a
        order by a.k
        returning id
    )
    insert into public.generation_events (user_id, generation_id, type, payload)
    select caller, a.generation, v.type, v.payload
    from admitted a
    join created c on c.id = a.generation
    cross join lateral (values (1, 'queued', jsonb_build_object('status', 'queued', 'estimate', a.estimate::text)),
                               (2, 'started', '{}'::jsonb)) v(o, type, payload)
    where v.type = 'queued' or a.start
    order by a.k, v.o;
end
$$;

revoke create on schema app_engine from app_engine_writer;
