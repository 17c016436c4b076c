-- One project's reservations in one call. The server writes a project's admissions that arrive together
-- in one transaction (one writer per project); app_ledger.reserve_group makes that transaction lock the
-- project row and the budget scopes once and write the group's entries with one statement per table,
-- instead of repeating every check, lock and insert per generation. Each generation is decided in order
-- against the totals the ones before it left, exactly as consecutive app_ledger.reserve calls decide
-- them, and gets the same rows back (numbered by its position in the group). app_ledger.reserve becomes
-- the group of one, so the rule is written once.

grant create on schema app_ledger to app_ledger_writer;

create function app_ledger.reserve_group(project uuid, generations uuid[], amounts numeric[], providers text[])
returns table (ordinal integer, scope text, entry_id uuid, admitted boolean, fits boolean, budget_limit numeric,
               spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    month_start timestamptz := date_trunc('month', now(), 'UTC');
    n integer := coalesce(array_length(generations, 1), 0);
    target record;
    sums record;
    totals public.budget_scope_totals;
    names text[];
    limits numeric[] := '{}';
    spents numeric[] := '{}';
    reserveds numeric[] := '{}';
    project_reserved numeric;
    item_scopes integer[];
    needs_headroom boolean;
    project_fits boolean;
    all_fit boolean;
    scope_fits boolean[];
    -- The rows to return and to write, built in order, written once.
    out_ordinal integer[] := '{}';
    out_scope text[] := '{}';
    out_admitted boolean[] := '{}';
    out_fits boolean[] := '{}';
    out_limit numeric[] := '{}';
    out_spent numeric[] := '{}';
    out_reserved numeric[] := '{}';
    i integer;
    j integer;
    s integer;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if n = 0 or array_length(amounts, 1) is distinct from n or array_length(providers, 1) is distinct from n then
        raise exception 'as many generations, amounts and providers, at least one' using errcode = '22023';
    end if;
    for i in 1 .. n loop
        if generations[i] is null or amounts[i] is null or amounts[i] < 0 or scale(amounts[i]) > 10 then
            raise exception 'a generation id and an amount >= 0 with at most 10 decimals are required' using errcode = '22023';
        end if;
        if providers[i] is not null and providers[i] not in ('openai', 'anthropic', 'openrouter', 'elevenlabs', 'runway', 'veo', 'fal', 'local') then
            raise exception 'unknown provider' using errcode = '22023';
        end if;
    end loop;
    if (select count(distinct g) from unnest(generations) g) <> n
       or exists (select from public.budget_ledger l where l.generation_id = any(reserve_group.generations) and l.kind = 'reservation')
       or exists (select from public.budget_scope_entries e where e.generation_id = any(reserve_group.generations) and e.kind = 'reservation') then
        raise exception 'generation already has a reservation' using errcode = '23505';
    end if;
    -- Every scope any of them reserves on, in the fixed lock order ('provider:…' sorts before 'user').
    names := array(select distinct x from (select 'provider:' || p as x from unnest(providers) p where p is not null
                                           union all select 'user') named order by x);
    for s in 1 .. array_length(names, 1) loop
        if names[s] = 'user' then
            limits := limits || (select b.monthly_limit from public.user_budgets b where b.user_id = caller);
        else
            limits := limits || (select c.monthly_budget from public.provider_configs c
                                 where c.user_id = caller and c.provider = substr(names[s], 10));
        end if;
    end loop;
    select p.id, p.budget_limit, p.budget_period, p.created_at into target
    from public.projects p where p.id = reserve_group.project and p.user_id = caller
    for no key update;
    if not found then
        raise exception 'project not found' using errcode = 'P0002';
    end if;
    select t.spent, t.reserved into sums
    from app_ledger.totals(target.id, target.budget_period, target.created_at) t;
    project_reserved := sums.reserved;
    for s in 1 .. array_length(names, 1) loop
        totals := app_ledger.lock_scope(caller, names[s]);
        spents := spents || case when totals.period_start >= month_start then totals.spent else 0 end;
        reserveds := reserveds || totals.reserved;
    end loop;
    for i in 1 .. n loop
        item_scopes := case when providers[i] is null then array[array_position(names, 'user')]
                            else array[array_position(names, 'provider:' || providers[i]), array_position(names, 'user')] end;
        needs_headroom := amounts[i] = 0 and providers[i] is not null and providers[i] <> 'local';
        project_fits := target.budget_limit is null
                        or sums.spent + project_reserved + amounts[i] <= target.budget_limit
                           and (not needs_headroom or sums.spent + project_reserved < target.budget_limit);
        all_fit := project_fits;
        scope_fits := '{}';
        foreach s in array item_scopes loop
            scope_fits := scope_fits || (limits[s] is null or spents[s] + reserveds[s] + amounts[i] <= limits[s]
                                         and (not needs_headroom or spents[s] + reserveds[s] < limits[s]));
            all_fit := all_fit and scope_fits[array_length(scope_fits, 1)];
        end loop;
        if all_fit then
            project_reserved := project_reserved + amounts[i];
        end if;
        out_ordinal := out_ordinal || i;
        out_scope := out_scope || 'project'::text;
        out_admitted := out_admitted || all_fit;
        out_fits := out_fits || project_fits;
        out_limit := out_limit || target.budget_limit;
        out_spent := out_spent || sums.spent;
        out_reserved := out_reserved || project_reserved;
        for j in 1 .. array_length(item_scopes, 1) loop
            s := item_scopes[j];
            if all_fit then
                reserveds[s] := reserveds[s] + amounts[i];
            end if;
            out_ordinal := out_ordinal || i;
            out_scope := out_scope || names[s];
            out_admitted := out_admitted || all_fit;
            out_fits := out_fits || scope_fits[j];
            out_limit := out_limit || limits[s];
            out_spent := out_spent || spents[s];
            out_reserved := out_reserved || reserveds[s];
        end loop;
    end loop;
    return query
    with result as (
        select r.k, r.ordinal, r.scope, r.admitted, r.fits, r.budget_limit, r.spent, r.reserved,
               reserve_group.generations[r.ordinal] as generation, reserve_group.amounts[r.ordinal] as amount
        from unnest(out_ordinal, out_scope, out_admitted, out_fits, out_limit, out_spent, out_reserved)
             with ordinality as r(ordinal, scope, admitted, fits, budget_limit, spent, reserved, k)
    ), project_entries as (
        insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id)
        select caller, target.id, 'reservation', r.amount, r.generation from result r
        where r.admitted and r.scope = 'project' order by r.k
        returning id, generation_id
    ), scope_entries as (
        insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
        select caller, r.scope, 'reservation', r.amount, r.generation from result r
        where r.admitted and r.scope <> 'project' order by r.k
        returning id, generation_id, budget_scope_entries.scope
    ), scope_sums as (
        update public.budget_scope_totals t
        set reserved = t.reserved + d.amount, updated_at = now()
        from (select r.scope, sum(r.amount) as amount from result r where r.admitted and r.scope <> 'project' group by r.scope) d
        where t.user_id = caller and t.scope = d.scope
        returning t.scope
    )
    select r.ordinal::integer, r.scope, coalesce(p.id, e.id), r.admitted, r.fits, r.budget_limit, r.spent, r.reserved
    from result r
    left join project_entries p on r.scope = 'project' and p.generation_id = r.generation
    left join scope_entries e on r.scope <> 'project' and e.generation_id = r.generation and e.scope = r.scope
    order by r.k;
end
$$;

-- The group of one: the same rows, in the same order (the project, then the scopes in lock order).
create or replace function app_ledger.reserve(project uuid, generation uuid, amount numeric, provider text)
returns table (scope text, entry_id uuid, admitted boolean, fits boolean, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
begin
    return query
    select g.scope, g.entry_id, g.admitted, g.fits, g.budget_limit, g.spent, g.reserved
    from app_ledger.reserve_group(reserve.project, array[reserve.generation], array[reserve.amount], array[reserve.provider]) g;
end
$$;

revoke all on function app_ledger.reserve_group(uuid, uuid[], numeric[], text[]) from public;
alter function app_ledger.reserve_group(uuid, uuid[], numeric[], text[]) owner to app_ledger_writer;
grant execute on function app_ledger.reserve_group(uuid, uuid[], numeric[], text[]) to authenticated;
revoke create on schema app_ledger from app_ledger_writer;
