-- A group's ends hold the project's row for as short a time as they can.
--
-- end_group (migration 171, as 185 left it) locked the project's row first and then decided, in
-- PL/pgSQL, every end's entries and figures before writing them, so the row stayed locked for the
-- whole call and its commit (about 1.3 ms for a group of four chat completions at one connection),
-- and the project's next admissions, which lock the same row to reserve, waited behind it.
--
-- It now reads the holds and decides every entry and scope change before it takes any lock, then
-- locks the project and the scopes (in the same order as before), checks that nothing ended or
-- moved meanwhile, works out the figures with arithmetic alone and writes. A group whose holds
-- changed between the read and the lock (an end of a provider's scope alone, a fallback's move:
-- neither happens to a generation its runner is ending) fails with a serialization error, and its
-- ends run one by one as after any failed group. The same entries, figures, answers and errors.
--
-- The common group (every chat completion's since migration 183: no scope entries, the holds implied
-- by the reservation rows) is decided by two statements instead of a loop of a dozen per
-- generation, and the figures every call returns (finish_group ignores them) are worked out by the
-- statement that writes the rows, with window sums over the locked figures, instead of a loop
-- appending to six arrays. pgbench (`BASE=185 ROUNDS=3 DURATION=5 bash scripts/bench-ledger-functions.sh`):
-- eight reservations and their ends, PostgreSQL's CPU per generation 0.90x, latency 0.91x. Under
-- 64 connections the admission groups' reservations waited less behind the ends (their mean
-- 1.54-1.75 -> 1.12-1.45 ms, three alternated runs); neither the throughput there nor the latency at one connection moved
-- beyond the host's noise (BENCHMARKS.md, run AA).

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
    s integer;
    i integer;
    scope_name text;
    -- The scope entries to write, built in order, written once.
    entry_generation uuid[] := '{}';
    entry_scope text[] := '{}';
    entry_kind text[] := '{}';
    entry_amount numeric[] := '{}';
    -- Each scope row a generation's end changes (the rows after its project's, in name order),
    -- decided before the locks and applied to the locked figures after them: its generation's
    -- position, its scope, the amount its hold gives back, and whether the end charges it.
    step_generation integer[] := '{}';
    step_scope text[] := '{}';
    step_held numeric[] := '{}';
    step_charged boolean[] := '{}';
    charged boolean;
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
    if entries_read = 0 then
        -- The common end (every chat completion's since migration 183): no scope entries, each
        -- reservation row implying its holds. The scope rows each end changes, in name order, and the
        -- provider its charge names, in one statement each.
        select coalesce(array_agg(x.k order by x.k, x.scope), '{}'), coalesce(array_agg(x.scope order by x.k, x.scope), '{}'),
               coalesce(array_agg(x.held order by x.k, x.scope), '{}'), coalesce(array_agg(x.charged order by x.k, x.scope), '{}')
        into step_generation, step_scope, step_held, step_charged
        from (select g.k::integer as k, h.scope, sum(h.held) as held, bool_or(h.charged) as charged
              from unnest(held_implied, held_providers, held_amounts, end_group.costs, end_group.charge_providers)
                   with ordinality g(implied, provider, amount, cost, charge_provider, k)
              cross join lateral (values ('user', g.amount, g.cost is not null, true),
                                         ('provider:' || g.provider, g.amount, false, true),
                                         ('provider:' || coalesce(g.charge_provider, g.provider), 0::numeric, g.cost is not null,
                                          g.cost is not null)) h(scope, held, charged, applies)
              where g.implied and h.scope is not null and h.applies
              group by g.k, h.scope) x;
        charge_scope_providers := array(select case when g.implied and g.cost is not null then coalesce(g.charge_provider, g.provider) end
                                        from unnest(held_implied, held_providers, end_group.costs, end_group.charge_providers)
                                             with ordinality g(implied, provider, cost, charge_provider, k)
                                        order by g.k);
    else
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

    end if;
    -- Every scope the ends touch, in the fixed lock order ('provider:…' sorts before 'user').
    names := array(select distinct x from unnest(step_scope) x order by x);
    for s in 1 .. coalesce(array_length(names, 1), 0) loop
        if names[s] = 'user' then
            limits := limits || (select b.monthly_limit from public.user_budgets b where b.user_id = caller);
        else
            limits := limits || (select c.monthly_budget from public.provider_configs c
                                 where c.user_id = caller and c.provider = substr(names[s], 10));
        end if;
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

    -- The figures after each end (for the caller; finish_group ignores them) and the rows written,
    -- worked out by the statement that writes them from the locked figures and the steps above.
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
    ), steps as (
        select st.k, st.scope, st.held, st.charged, st.o, b.budget_limit,
               case when b.period_start >= month_start then b.spent else 0 end as spent_before, b.spent, b.reserved, b.period_start
        from unnest(step_generation, step_scope, step_held, step_charged) with ordinality st(k, scope, held, charged, o)
        join unnest(names, limits, scope_spent, scope_reserved, scope_starts) b(scope, budget_limit, spent, reserved, period_start)
          on b.scope = st.scope
    ), scope_rows as (
        -- A scope's spent restarts with this month's first charge (as lock_scope's figures would).
        select x.k, x.o, x.scope, case when x.charged then 'charge' else 'release' end as kind, x.budget_limit,
               x.spent_before + coalesce(sum(case when x.charged then end_group.costs[x.k] end) over w, 0) as spent,
               x.reserved - sum(x.held) over w as reserved
        from steps x
        window w as (partition by x.scope order by x.o rows between unbounded preceding and current row)
    ), scope_sums as (
        update public.budget_scope_totals t
        set reserved = f.reserved, spent = f.spent, period_start = f.period_start, updated_at = now()
        from (select x.scope, min(x.reserved) - sum(x.held) as reserved,
                     case when bool_or(x.charged) then min(x.spent_before) + sum(case when x.charged then end_group.costs[x.k] end)
                          else min(x.spent) end as spent,
                     case when bool_or(x.charged) then month_start else min(x.period_start) end as period_start
              from steps x group by x.scope) f
        where t.user_id = caller and t.scope = f.scope
        returning t.scope
    ), project_rows as (
        select g.k, 0::bigint as o, 'project'::text as scope, case when g.cost is null then 'release' else 'charge' end as kind,
               p.budget_limit, p.spent + coalesce(sum(g.cost) over w, 0) as spent, p.reserved - sum(g.held) over w as reserved
        from unnest(held_projects, held_amounts, end_group.costs) with ordinality g(project, held, cost, k)
        join unnest(project_ids, project_limits, project_spent, project_reserved) p(id, budget_limit, spent, reserved) on p.id = g.project
        window w as (partition by g.project order by g.k rows between unbounded preceding and current row)
    )
    select r.k::integer, r.scope, coalesce(se.id, pe.id), r.budget_limit, r.spent, r.reserved
    from (select pr.k, pr.o, pr.scope, pr.kind, pr.budget_limit, pr.spent, pr.reserved from project_rows pr
          union all
          select sr.k, sr.o, sr.scope, sr.kind, sr.budget_limit, sr.spent, sr.reserved from scope_rows sr) r
    left join project_entries pe on pe.generation_id = end_group.generations[r.k] and pe.kind = r.kind
    left join scope_entries se on r.scope <> 'project' and se.generation_id = end_group.generations[r.k]
                                  and se.scope = r.scope and se.kind = r.kind
    order by r.k, r.o;
end
$$;

revoke create on schema app_ledger from app_ledger_writer;
