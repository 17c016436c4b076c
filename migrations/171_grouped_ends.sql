-- One project's ends in one call, as migration 170 did for its reservations. The server already
-- writes the ends of a project that arrive together in one transaction (one writer per project), but
-- each end still ran app_engine.finish_generation and app_ledger.end_scoped on its own: the project
-- row, the scope rows and every check and insert once per generation, the project row held meanwhile
-- (under 64 connections the next group's reservations waited about 25 ms for it).
--
-- app_ledger.end_group ends a group's reservations with one statement per table: every project and
-- scope locked once, in the fixed order (projects by id, then scopes by name), each generation's
-- entries and figures exactly as consecutive app_ledger.end_scoped calls give them (numbered by its
-- position in the group). app_engine.finish_group writes a group's ends: each generation's own rows
-- in order, then the group's ledger step in one end_group call, then every asset.
--
-- A lone end keeps app_ledger.end_scoped and app_engine.finish_generation (migration 142): as groups
-- of one these cost a lone generation about 2 ms more of PostgreSQL's time (measured at one
-- connection), so the two forms stay side by side and the tests hold each group to the same calls
-- one by one.

grant create on schema app_ledger to app_ledger_writer;
grant create on schema app_engine to app_engine_writer;

create function app_ledger.end_group(generations uuid[], costs numeric[], charge_providers text[])
returns table (ordinal integer, scope text, entry_id uuid, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    month_start timestamptz := date_trunc('month', now(), 'UTC');
    n integer := coalesce(array_length(generations, 1), 0);
    held_projects uuid[];
    held_amounts numeric[];
    held_count integer;
    target record;
    sums record;
    totals public.budget_scope_totals;
    -- The group's projects (by id) with their limits and running figures.
    project_ids uuid[] := '{}';
    project_limits numeric[] := '{}';
    project_spent numeric[] := '{}';
    project_reserved numeric[] := '{}';
    -- Every scope reservation of the group: its generation, scope, amount, and whether it is open.
    held_generations uuid[];
    held_scopes text[];
    held_scope_amounts numeric[];
    held_open boolean[];
    -- The scopes the group touches (by name) with their limits and running figures.
    names text[];
    limits numeric[] := '{}';
    scope_spent numeric[] := '{}';
    scope_reserved numeric[] := '{}';
    scope_starts timestamptz[] := '{}';
    open_scopes text[];
    charged_scopes text[];
    touched text[];
    reserved_provider text;
    held_amount numeric;
    p integer;
    s integer;
    i integer;
    scope_name text;
    -- The rows to return and the scope entries to write, built in order, written once.
    out_ordinal integer[] := '{}';
    out_scope text[] := '{}';
    out_kind text[] := '{}';
    out_limit numeric[] := '{}';
    out_spent numeric[] := '{}';
    out_reserved numeric[] := '{}';
    entry_generation uuid[] := '{}';
    entry_scope text[] := '{}';
    entry_kind text[] := '{}';
    entry_amount numeric[] := '{}';
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if n = 0 or array_length(costs, 1) is distinct from n or array_length(charge_providers, 1) is distinct from n then
        raise exception 'as many generations, costs and providers, at least one' using errcode = '22023';
    end if;
    for i in 1 .. n loop
        if generations[i] is null or (costs[i] is not null and (costs[i] < 0 or scale(costs[i]) > 10)) then
            raise exception 'a generation id and a cost >= 0 with at most 10 decimals are required' using errcode = '22023';
        end if;
        if charge_providers[i] is not null
           and charge_providers[i] not in ('openai', 'anthropic', 'openrouter', 'elevenlabs', 'runway', 'veo', 'fal', 'local') then
            raise exception 'unknown provider' using errcode = '22023';
        end if;
    end loop;
    select array_agg(l.project_id order by g.k), array_agg(l.amount order by g.k), count(l.project_id)
    into held_projects, held_amounts, held_count
    from unnest(end_group.generations) with ordinality g(id, k)
    left join public.budget_ledger l on l.generation_id = g.id and l.kind = 'reservation' and l.user_id = caller;
    if held_count <> n then
        raise exception 'reservation not found' using errcode = 'P0002';
    end if;
    for target in select pr.id, pr.budget_limit, pr.budget_period, pr.created_at from public.projects pr
                  where pr.id = any(held_projects) and pr.user_id = caller
                  order by pr.id for no key update loop
        select t.spent, t.reserved into sums from app_ledger.totals(target.id, target.budget_period, target.created_at) t;
        project_ids := project_ids || target.id;
        project_limits := project_limits || target.budget_limit;
        project_spent := project_spent || sums.spent;
        project_reserved := project_reserved || sums.reserved;
    end loop;
    if exists (select from unnest(held_projects) h where h <> all(project_ids)) then
        raise exception 'reservation not found' using errcode = 'P0002';
    end if;
    -- A generation named twice ends once: the second, as a second end_scoped call would, finds it ended.
    if (select count(distinct g) from unnest(end_group.generations) g) <> n
       or exists (select from public.budget_ledger l
                  where l.generation_id = any(end_group.generations) and l.kind in ('release', 'charge')) then
        raise exception 'reservation already ended' using errcode = '55000';
    end if;

    select array_agg(e.generation_id), array_agg(e.scope), array_agg(e.amount),
           array_agg(not exists (select from public.budget_scope_entries r
                                 where r.generation_id = e.generation_id and r.scope = e.scope and r.kind in ('release', 'charge')))
    into held_generations, held_scopes, held_scope_amounts, held_open
    from public.budget_scope_entries e
    where e.generation_id = any(end_group.generations) and e.kind = 'reservation' and e.user_id = caller;
    held_generations := coalesce(held_generations, '{}');
    -- Every scope any of them touches, in the fixed lock order ('provider:…' sorts before 'user').
    names := array(select distinct x from (
                       select held_scopes[k] as x from generate_subscripts(held_generations, 1) k where held_open[k]
                       union all
                       select 'user' from unnest(end_group.costs, end_group.generations) c(cost, g)
                       where c.cost is not null and c.g = any(held_generations)
                       union all
                       select 'provider:' || coalesce(c.provider,
                                                      (select min(substr(held_scopes[k], 10)) from generate_subscripts(held_generations, 1) k
                                                       where held_generations[k] = c.g and held_open[k] and held_scopes[k] like 'provider:%'))
                       from unnest(end_group.costs, end_group.generations, end_group.charge_providers) c(cost, g, provider)
                       where c.cost is not null and c.g = any(held_generations)) named
                   where x is not null order by x);
    for s in 1 .. coalesce(array_length(names, 1), 0) loop
        totals := app_ledger.lock_scope(caller, names[s]);
        scope_spent := scope_spent || totals.spent;
        scope_starts := scope_starts || totals.period_start;
        scope_reserved := scope_reserved || totals.reserved;
        if names[s] = 'user' then
            limits := limits || (select b.monthly_limit from public.user_budgets b where b.user_id = caller);
        else
            limits := limits || (select c.monthly_budget from public.provider_configs c
                                 where c.user_id = caller and c.provider = substr(names[s], 10));
        end if;
    end loop;

    for i in 1 .. n loop
        p := array_position(project_ids, held_projects[i]);
        project_reserved[p] := project_reserved[p] - held_amounts[i];
        if costs[i] is not null then
            project_spent[p] := project_spent[p] + costs[i];
        end if;
        out_ordinal := out_ordinal || i;
        out_scope := out_scope || 'project'::text;
        out_kind := out_kind || case when costs[i] is null then 'release' else 'charge' end;
        out_limit := out_limit || project_limits[p];
        out_spent := out_spent || project_spent[p];
        out_reserved := out_reserved || project_reserved[p];

        open_scopes := array(select held_scopes[k] from generate_subscripts(held_generations, 1) k
                             where held_generations[k] = generations[i] and held_open[k]);
        reserved_provider := (select min(substr(x, 10)) from unnest(open_scopes) x where x like 'provider:%');
        charged_scopes := '{}';
        if costs[i] is not null and generations[i] = any(held_generations) then
            charged_scopes := array['user'];
            if coalesce(charge_providers[i], reserved_provider) is not null then
                charged_scopes := charged_scopes || ('provider:' || coalesce(charge_providers[i], reserved_provider));
            end if;
        end if;
        touched := array(select distinct x from unnest(charged_scopes || open_scopes) x order by x);
        foreach scope_name in array touched loop
            s := array_position(names, scope_name);
            held_amount := 0;
            if scope_name = any(open_scopes) then
                held_amount := (select held_scope_amounts[k] from generate_subscripts(held_generations, 1) k
                                where held_generations[k] = generations[i] and held_scopes[k] = scope_name);
                entry_generation := entry_generation || generations[i];
                entry_scope := entry_scope || scope_name;
                entry_kind := entry_kind || 'release'::text;
                entry_amount := entry_amount || held_amount;
            end if;
            scope_reserved[s] := scope_reserved[s] - held_amount;
            if scope_name = any(charged_scopes) then
                entry_generation := entry_generation || generations[i];
                entry_scope := entry_scope || scope_name;
                entry_kind := entry_kind || 'charge'::text;
                entry_amount := entry_amount || costs[i];
                scope_spent[s] := case when scope_starts[s] >= month_start then scope_spent[s] else 0 end + costs[i];
                scope_starts[s] := month_start;
            end if;
            out_ordinal := out_ordinal || i;
            out_scope := out_scope || scope_name;
            out_kind := out_kind || case when scope_name = any(charged_scopes) then 'charge' else 'release' end;
            out_limit := out_limit || limits[s];
            out_spent := out_spent || case when scope_starts[s] >= month_start then scope_spent[s] else 0 end;
            out_reserved := out_reserved || scope_reserved[s];
        end loop;
    end loop;

    return query
    with project_entries as (
        insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id)
        select caller, held_projects[g.k], e.kind, e.amount, g.id
        from unnest(end_group.generations) with ordinality g(id, k)
        cross join lateral (values (1, 'release', held_amounts[g.k]), (2, 'charge', end_group.costs[g.k])) e(o, kind, amount)
        where e.kind = 'release' or end_group.costs[g.k] is not null
        order by g.k, e.o
        returning id, generation_id, kind
    ), scope_entries as (
        insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
        select caller, x.scope, x.kind, x.amount, x.generation
        from unnest(entry_generation, entry_scope, entry_kind, entry_amount) with ordinality x(generation, scope, kind, amount, k)
        order by x.k
        returning id, generation_id, budget_scope_entries.scope, kind
    ), scope_sums as (
        update public.budget_scope_totals t
        set reserved = x.reserved, spent = x.spent, period_start = x.period_start, updated_at = now()
        from unnest(names, scope_reserved, scope_spent, scope_starts) x(scope, reserved, spent, period_start)
        where t.user_id = caller and t.scope = x.scope
        returning t.scope
    )
    select r.ordinal::integer, r.scope, coalesce(pe.id, se.id), r.budget_limit, r.spent, r.reserved
    from unnest(out_ordinal, out_scope, out_kind, out_limit, out_spent, out_reserved)
         with ordinality r(ordinal, scope, kind, budget_limit, spent, reserved, k)
    left join project_entries pe on r.scope = 'project' and pe.generation_id = end_group.generations[r.ordinal] and pe.kind = r.kind
    left join scope_entries se on r.scope <> 'project' and se.generation_id = end_group.generations[r.ordinal]
                                  and se.scope = r.scope and se.kind = r.kind
    order by r.k;
end
$$;

create function app_engine.finish_group(items jsonb)
returns table (ordinal integer, generation public.generations)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    item jsonb;
    k integer;
    current public.generations;
    updated public.generations;
    canceled_meanwhile boolean;
    next_number integer;
    item_status text;
    item_cost numeric;
    item_assets jsonb;
    -- The running ends, written with one statement per table (see below).
    running uuid[];
    -- The group's ledger step and assets, written after every generation's own rows.
    ended_generations uuid[] := '{}';
    ended_costs numeric[] := '{}';
    ended_providers text[] := '{}';
    finished_ordinals integer[] := '{}';
    finished_rows public.generations[] := '{}';
    finished_assets jsonb[] := '{}';
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if jsonb_typeof(items) is distinct from 'array' or jsonb_array_length(items) not between 1 and 64 then
        raise exception 'an array of 1 to 64 ends is required' using errcode = '22023';
    end if;
    if exists (select from jsonb_array_elements(items) e
               where (e.value->>'to_status') is null or (e.value->>'to_status') not in ('succeeded', 'failed', 'expired')
                  or (e.value->>'cost_status') is null or (e.value->>'cost_status') not in ('priced', 'unpriced', 'estimated')
                  or jsonb_typeof(coalesce(nullif(e.value->'assets', 'null'::jsonb), '[]')) <> 'array') then
        raise exception 'a final status, a cost status and an array of assets are required' using errcode = '22023';
    end if;
    -- The common end: the caller's generation, still queued or running, named once in the group and
    -- settled on all its scopes. These are locked in id order and written with one statement per
    -- table, each exactly as finish_generation writes it; the rest (canceled meanwhile, ended, not the
    -- caller's, named twice, ending its provider scope only) go one by one below.
    select coalesce(array_agg(l.id), '{}') into running
    from (select g.id from public.generations g
          where g.id = any(array(select (e.value->>'generation')::uuid from jsonb_array_elements(items) e
                                 group by 1
                                 having count(*) = 1 and not bool_or(coalesce((e.value->>'provider_scope_only')::boolean, false))))
            and g.user_id = caller and g.status in ('queued', 'running')
          order by g.id
          for update) l;
    if cardinality(running) > 0 then
        insert into public.generation_attempts (user_id, generation_id, number, provider, model, status, provider_request_id)
        select caller, x.generation,
               coalesce((select max(a.number) from public.generation_attempts a where a.generation_id = x.generation), 0) + 1,
               x.provider, x.model, 'succeeded', x.provider_request_id
        from jsonb_array_elements(items) with ordinality e(value, k)
        cross join lateral jsonb_to_record(e.value) as x(generation uuid, provider text, model text, provider_request_id text,
                                                         with_attempt boolean)
        where x.generation = any(running) and coalesce(x.with_attempt, false)
        order by e.k;
        with ended as (
            update public.generations g set
                status = x.to_status,
                provider = x.provider,
                model = x.model,
                error_code = x.error_code,
                error_message = x.error_message,
                output_text = x.output_text,
                finish_reason = left(x.finish_reason, 64),
                actual_cost = x.cost,
                cost_status = x.cost_status,
                provider_reported_cost = x.provider_reported_cost,
                cost_lines = nullif(x.cost_lines, 'null'::jsonb),
                usage = nullif(x.usage, 'null'::jsonb),
                submitting = null,
                finished_at = now(),
                updated_at = now()
            from jsonb_array_elements(items) with ordinality e(value, k)
            cross join lateral jsonb_to_record(e.value) as x(generation uuid, to_status text, provider text, model text, cost numeric,
                                                             cost_status text, provider_reported_cost numeric, cost_lines jsonb,
                                                             usage jsonb, output_text text, error_code text, error_message text,
                                                             finish_reason text)
            where g.id = x.generation and g.id = any(running)
            returning e.k::integer as k, g as ended_row, x.cost, x.provider, coalesce(nullif(e.value->'assets', 'null'::jsonb), '[]') as assets
        )
        select coalesce(array_agg(n.k order by n.k), '{}'), coalesce(array_agg(n.ended_row order by n.k), '{}'),
               coalesce(array_agg(n.assets order by n.k), '{}'), coalesce(array_agg((n.ended_row).id order by n.k), '{}'),
               coalesce(array_agg(n.cost order by n.k), '{}'),
               coalesce(array_agg(case when n.cost is not null then n.provider end order by n.k), '{}')
        into finished_ordinals, finished_rows, finished_assets, ended_generations, ended_costs, ended_providers
        from ended n;
        insert into public.generation_events (user_id, generation_id, type, payload)
        select caller, x.generation, x.to_status, coalesce(nullif(x.event, 'null'::jsonb), '{}')
        from jsonb_array_elements(items) with ordinality e(value, k)
        cross join lateral jsonb_to_record(e.value) as x(generation uuid, to_status text, event jsonb)
        where x.generation = any(running)
        order by e.k;
    end if;
    for item, k in select e.value, e.k::integer from jsonb_array_elements(items) with ordinality e(value, k)
                   where (e.value->>'generation')::uuid <> all(running) order by e.k loop
        item_status := item->>'to_status';
        item_cost := (item->>'cost')::numeric;
        item_assets := coalesce(nullif(item->'assets', 'null'::jsonb), '[]');
        select * into current from public.generations g where g.id = (item->>'generation')::uuid and g.user_id = caller for update;
        if not found then
            continue;
        end if;
        -- Canceled while the provider held work that may be billed (a submission in flight, or a
        -- provider task whose cancel did not stop it): the reservation waits for this charge. A
        -- task's reservation may have been released already (its cancel stopped the billing).
        canceled_meanwhile := current.status = 'canceled' and current.cost_status is null
                              and (current.submitting is not null
                                   or current.provider_task is not null
                                      and exists (select from public.budget_ledger l
                                                  where l.generation_id = current.id and l.kind = 'reservation')
                                      and not exists (select from public.budget_ledger l
                                                      where l.generation_id = current.id and l.kind in ('release', 'charge')));
        if current.status not in ('queued', 'running') and not canceled_meanwhile then
            continue;
        end if;
        if coalesce((item->>'with_attempt')::boolean, false) then
            select coalesce(max(a.number), 0) + 1 into next_number from public.generation_attempts a where a.generation_id = current.id;
            insert into public.generation_attempts (user_id, generation_id, number, provider, model, status, provider_request_id)
            values (caller, current.id, next_number, item->>'provider', item->>'model', 'succeeded', item->>'provider_request_id');
        end if;
        update public.generations g set
            status = case when canceled_meanwhile then g.status else item_status end,
            provider = item->>'provider',
            model = item->>'model',
            error_code = case when canceled_meanwhile then g.error_code else item->>'error_code' end,
            error_message = case when canceled_meanwhile then g.error_message else item->>'error_message' end,
            output_text = item->>'output_text',
            finish_reason = left(item->>'finish_reason', 64),
            actual_cost = item_cost,
            cost_status = item->>'cost_status',
            provider_reported_cost = (item->>'provider_reported_cost')::numeric,
            cost_lines = nullif(item->'cost_lines', 'null'::jsonb),
            usage = nullif(item->'usage', 'null'::jsonb),
            submitting = null,
            finished_at = case when canceled_meanwhile then g.finished_at else now() end,
            updated_at = now()
        where g.id = current.id
        returning * into updated;
        -- A canceled generation's stream ended with `canceled`: nothing follows a terminal event.
        if not canceled_meanwhile then
            insert into public.generation_events (user_id, generation_id, type, payload)
            values (caller, current.id, item_status, coalesce(nullif(item->'event', 'null'::jsonb), '{}'));
        end if;
        if coalesce((item->>'provider_scope_only')::boolean, false) then
            perform app_ledger.end_provider(current.id, item_cost);
        else
            ended_generations := ended_generations || current.id;
            ended_costs := ended_costs || item_cost;
            ended_providers := ended_providers || case when item_cost is not null then item->>'provider' end;
        end if;
        finished_ordinals := finished_ordinals || k;
        finished_rows := finished_rows || updated;
        finished_assets := finished_assets || item_assets;
    end loop;
    if array_length(ended_generations, 1) > 0 then
        perform from app_ledger.end_group(ended_generations, ended_costs, ended_providers);
    end if;
    -- The assets reference the project, so they take a key-share lock on its row: after the ledger's
    -- own lock on it, never before, so that no transaction holds that weak lock while it waits for
    -- the strong one (a project being deleted holds its row FOR UPDATE, and would deadlock with it).
    insert into public.assets (user_id, project_id, generation_id, kind, content_type, bytes, sha256, storage_key)
    select caller, (finished_rows[f]).project_id, (finished_rows[f]).id, a.value->>'kind', a.value->>'content_type',
           (a.value->>'bytes')::bigint, a.value->>'sha256', a.value->>'storage_key'
    from generate_subscripts(finished_rows, 1) f
    cross join lateral jsonb_array_elements(finished_assets[f]) with ordinality a(value, position)
    order by f, a.position;
    for k in 1 .. coalesce(array_length(finished_rows, 1), 0) loop
        ordinal := finished_ordinals[k];
        generation := finished_rows[k];
        return next;
    end loop;
end
$$;

revoke all on function app_ledger.end_group(uuid[], numeric[], text[]) from public;
alter function app_ledger.end_group(uuid[], numeric[], text[]) owner to app_ledger_writer;
-- As settle and release_scoped, which it does for several generations at once.
grant execute on function app_ledger.end_group(uuid[], numeric[], text[]) to authenticated;
revoke all on function app_engine.finish_group(jsonb) from public;
alter function app_engine.finish_group(jsonb) owner to app_engine_writer;
grant execute on function app_engine.finish_group(jsonb) to authenticated;
revoke create on schema app_ledger from app_ledger_writer;
revoke create on schema app_engine from app_engine_writer;
