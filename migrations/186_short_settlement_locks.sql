-- A group's ends hold the project's row for as short a time as they can.
--
-- end_group (migration 171, as 185 left it) locked the project's row first and then decided, in
-- PL/pgSQL, every end's entries and figures before writing them, so the row stayed locked for the
-- whole call and its commit: about 1.4 ms for a group of four chat completions at one connection.
-- The next admission of the project, which locks the same row to reserve, waited behind it about
-- one time in four (its settlements are written in groups of four while the next request is
-- admitted), and that wait made the latency's upper quartile; on a loaded host, where each takes
-- longer, it reached the median.
--
-- It now reads the holds and decides every entry and scope change before it takes any lock, then
-- locks the project and the scopes (in the same order as before), checks that nothing ended or
-- moved meanwhile, works out the figures with arithmetic alone and writes. A group whose holds
-- changed between the read and the lock (an end of a provider's scope alone, a fallback's move:
-- neither happens to a generation its runner is ending) fails with a serialization error, and its
-- ends run one by one as after any failed group. The same entries, figures, answers and errors.

grant create on schema app_ledger to app_ledger_writer;

create or replace function app_ledger.end_group(generations uuid[], costs numeric[], charge_providers text[])
returns table (ordinal integer, scope text, entry_id uuid, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    month_start timestamptz := date_trunc('month', now(), 'UTC');
    n integer := coalesce(array_length(generations, 1), 0);
    held_projects uuid[];
    held_amounts numeric[];
    held_implied boolean[];
    held_providers text[];
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
    held_scope_implied boolean[];
    -- Scope entries that ended a hold (release or charge), by generation and scope.
    ended_generations uuid[];
    ended_scopes text[];
    -- The provider scope each implied reservation's charge names (migration 183).
    charge_scope_providers text[] := '{}';
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
    -- Each scope row a generation's end changes (the rows after its project's), decided before the
    -- locks and applied to the locked figures after them: its scope, the amount its hold gives back,
    -- and whether the end charges it.
    step_generation integer[] := '{}';
    step_scope text[] := '{}';
    step_held numeric[] := '{}';
    step_charged boolean[] := '{}';
    charged boolean;
    j integer := 1;
    -- How many scope entries the group's generations had when their holds were read.
    entries_read integer;
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
    select array_agg(l.project_id order by g.k), array_agg(l.amount order by g.k), array_agg(l.scopes_implied order by g.k),
           array_agg(l.scope_provider order by g.k), count(l.project_id)
    into held_projects, held_amounts, held_implied, held_providers, held_count
    from unnest(end_group.generations) with ordinality g(id, k)
    left join public.budget_ledger l on l.generation_id = g.id and l.kind = 'reservation' and l.user_id = caller;
    if held_count <> n then
        raise exception 'reservation not found' using errcode = 'P0002';
    end if;
    -- A generation named twice ends once: the second, as a second end_scoped call would, finds it ended.
    if (select count(distinct g) from unnest(end_group.generations) g) <> n then
        raise exception 'reservation already ended' using errcode = '55000';
    end if;
    -- Every scope hold: those scope entries made (older reservations, a fallback's new provider),
    -- then those each reservation row implies (the user's; its provider's unless a scope entry ended
    -- that hold, a fallback's move), one read of the group's scope entries for both.
    select coalesce(array_agg(e.generation_id) filter (where e.kind = 'reservation'), '{}'),
           coalesce(array_agg(e.scope) filter (where e.kind = 'reservation'), '{}'),
           coalesce(array_agg(e.amount) filter (where e.kind = 'reservation'), '{}'),
           coalesce(array_agg(not exists (select from public.budget_scope_entries r
                                          where r.generation_id = e.generation_id and r.scope = e.scope
                                            and r.kind in ('release', 'charge'))) filter (where e.kind = 'reservation'), '{}'),
           coalesce(array_agg(e.generation_id) filter (where e.kind in ('release', 'charge')), '{}'),
           coalesce(array_agg(e.scope) filter (where e.kind in ('release', 'charge')), '{}'),
           count(*)
    into held_generations, held_scopes, held_scope_amounts, held_open, ended_generations, ended_scopes, entries_read
    from public.budget_scope_entries e
    where e.generation_id = any(end_group.generations) and e.user_id = caller;
    held_scope_implied := array_fill(false, array[cardinality(held_generations)]);
    for i in 1 .. n loop
        if held_implied[i] then
            held_generations := held_generations || generations[i];
            held_scopes := held_scopes || 'user'::text;
            held_scope_amounts := held_scope_amounts || held_amounts[i];
            held_open := held_open || true;
            held_scope_implied := held_scope_implied || true;
            if held_providers[i] is not null then
                held_generations := held_generations || generations[i];
                held_scopes := held_scopes || ('provider:' || held_providers[i]);
                held_scope_amounts := held_scope_amounts || held_amounts[i];
                held_scope_implied := held_scope_implied || true;
                if cardinality(ended_generations) = 0 then
                    held_open := held_open || true;
                else
                    held_open := held_open || not exists (select from unnest(ended_generations, ended_scopes) x(g, s)
                                                          where x.g = generations[i] and x.s = 'provider:' || held_providers[i]);
                end if;
            end if;
        end if;
    end loop;
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
        if names[s] = 'user' then
            limits := limits || (select b.monthly_limit from public.user_budgets b where b.user_id = caller);
        else
            limits := limits || (select c.monthly_budget from public.provider_configs c
                                 where c.user_id = caller and c.provider = substr(names[s], 10));
        end if;
    end loop;
    -- What each end writes and which scope rows it changes: decided from the holds, before the locks.
    for i in 1 .. n loop
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
        charge_scope_providers := charge_scope_providers
                                  || case when held_implied[i] and costs[i] is not null
                                          then coalesce(charge_providers[i], reserved_provider) end;
        touched := array(select distinct x from unnest(charged_scopes || open_scopes) x order by x);
        foreach scope_name in array touched loop
            held_amount := 0;
            if scope_name = any(open_scopes) then
                held_amount := (select held_scope_amounts[k] from generate_subscripts(held_generations, 1) k
                                where held_generations[k] = generations[i] and held_scopes[k] = scope_name and held_open[k]);
                -- An implied hold ends with the project's release or charge: no entry of its own.
                if not (select held_scope_implied[k] from generate_subscripts(held_generations, 1) k
                        where held_generations[k] = generations[i] and held_scopes[k] = scope_name and held_open[k]) then
                    entry_generation := entry_generation || generations[i];
                    entry_scope := entry_scope || scope_name;
                    entry_kind := entry_kind || 'release'::text;
                    entry_amount := entry_amount || held_amount;
                end if;
            end if;
            charged := scope_name = any(charged_scopes);
            -- An implied reservation's charge row charges its scopes.
            if charged and not held_implied[i] then
                entry_generation := entry_generation || generations[i];
                entry_scope := entry_scope || scope_name;
                entry_kind := entry_kind || 'charge'::text;
                entry_amount := entry_amount || costs[i];
            end if;
            step_generation := step_generation || i;
            step_scope := step_scope || scope_name;
            step_held := step_held || held_amount;
            step_charged := step_charged || charged;
        end loop;
    end loop;

    -- From here to the commit the project row and the scope rows are locked: in the fixed order,
    -- project first, as every ledger function takes them.
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
    -- Checked under the project's lock, which every end of its generations takes: one ended
    -- meanwhile (a cancel, say) is seen here.
    if exists (select from public.budget_ledger l
               where l.generation_id = any(end_group.generations) and l.kind in ('release', 'charge')) then
        raise exception 'reservation already ended' using errcode = '55000';
    end if;
    -- The holds were read before the locks: a hold that moved or ended since (a fallback's move, an
    -- end of the provider's scope alone) fails the group, whose ends then run one by one.
    if (select count(*) from public.budget_scope_entries e
        where e.generation_id = any(end_group.generations) and e.user_id = caller) <> entries_read then
        raise exception 'the holds of the group changed while its ends were decided' using errcode = '40001';
    end if;

    for s in 1 .. coalesce(array_length(names, 1), 0) loop
        totals := app_ledger.lock_scope(caller, names[s]);
        scope_spent := scope_spent || totals.spent;
        scope_starts := scope_starts || totals.period_start;
        scope_reserved := scope_reserved || totals.reserved;
    end loop;

    -- The figures after each end, from the locked rows: arithmetic only, no statement.
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
        while j <= coalesce(array_length(step_generation, 1), 0) and step_generation[j] = i loop
            s := array_position(names, step_scope[j]);
            scope_reserved[s] := scope_reserved[s] - step_held[j];
            if step_charged[j] then
                scope_spent[s] := case when scope_starts[s] >= month_start then scope_spent[s] else 0 end + costs[i];
                scope_starts[s] := month_start;
            end if;
            out_ordinal := out_ordinal || i;
            out_scope := out_scope || step_scope[j];
            out_kind := out_kind || case when step_charged[j] then 'charge' else 'release' end;
            out_limit := out_limit || limits[s];
            out_spent := out_spent || case when scope_starts[s] >= month_start then scope_spent[s] else 0 end;
            out_reserved := out_reserved || scope_reserved[s];
            j := j + 1;
        end loop;
    end loop;

    return query
    with project_entries as (
        insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id, scopes_implied, scope_provider, folded)
        select caller, held_projects[g.k], e.kind, e.amount, g.id,
               e.kind = 'charge' and held_implied[g.k], case when e.kind = 'charge' then charge_scope_providers[g.k] end, true
        from unnest(end_group.generations) with ordinality g(id, k)
        cross join lateral (values (1, 'release', held_amounts[g.k]), (2, 'charge', end_group.costs[g.k])) e(o, kind, amount)
        where e.kind = 'release' or end_group.costs[g.k] is not null
        order by g.k, e.o
        returning id, generation_id, kind
    ), project_sums as (
        -- The entries above, folded here (migration 185): one upsert per project, in id order.
        insert into public.project_budget_totals as t (project_id, user_id, spent_total, month_start, spent_month, reserved)
        select x.project, caller, sum(coalesce(x.cost, 0)), date_trunc('month', now(), 'UTC'), sum(coalesce(x.cost, 0)), -sum(x.held)
        from unnest(held_projects, end_group.costs, held_amounts) x(project, cost, held)
        group by x.project
        order by x.project
        on conflict (project_id) do update
        set spent_total = t.spent_total + excluded.spent_total,
            spent_month = case when excluded.month_start > t.month_start then excluded.spent_month
                               when excluded.month_start = t.month_start then t.spent_month + excluded.spent_month
                               else t.spent_month end,
            month_start = greatest(t.month_start, excluded.month_start),
            reserved = t.reserved + excluded.reserved,
            updated_at = now()
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
    select r.ordinal::integer, r.scope, coalesce(se.id, pe.id), r.budget_limit, r.spent, r.reserved
    from unnest(out_ordinal, out_scope, out_kind, out_limit, out_spent, out_reserved)
         with ordinality r(ordinal, scope, kind, budget_limit, spent, reserved, k)
    left join project_entries pe on pe.generation_id = end_group.generations[r.ordinal] and pe.kind = r.kind
    left join scope_entries se on r.scope <> 'project' and se.generation_id = end_group.generations[r.ordinal]
                                  and se.scope = r.scope and se.kind = r.kind
    order by r.k;
end
$$;

revoke create on schema app_ledger from app_ledger_writer;
