-- A lone end's release and charge on the project ledger in one statement. app_ledger.end_scoped
-- (migration 142) inserted them as two, so the statement-level trigger that folds the project's summary
-- row (migration 173) ran twice per charged end, writing that hot row twice: at one connection, where
-- every end is a lone one, about a third of a millisecond of PostgreSQL's time and one of the 23 or so
-- rows a chat completion writes. The entries, their amounts and the figures returned are as before (the
-- fold of both in one statement is the fold of each in turn: one month, one project); a group's ends
-- (app_ledger.end_group) already write theirs in one statement. Otherwise the body is 142's.

grant create on schema app_ledger to app_ledger_writer;

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
    open_scopes text[];
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
    for no key update;
    if not found then
        raise exception 'reservation not found' using errcode = 'P0002';
    end if;
    if exists (select from public.budget_ledger l
               where l.generation_id = end_scoped.generation and l.kind in ('release', 'charge')) then
        raise exception 'reservation already ended' using errcode = '55000';
    end if;
    -- The release and the charge in one statement, so the project's summary row is folded once.
    with written as (
        insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id)
        select caller, target.id, v.kind, v.amount, end_scoped.generation
        from (values ('release', held.amount), ('charge', end_scoped.cost)) v(kind, amount)
        where v.kind = 'release' or end_scoped.cost is not null
        returning id, kind
    )
    select coalesce((array_agg(w.id) filter (where w.kind = 'charge'))[1], (array_agg(w.id) filter (where w.kind = 'release'))[1])
    into project_entry
    from written w;
    select t.spent, t.reserved into sums
    from app_ledger.totals(target.id, target.budget_period, target.created_at) t;
    return query select 'project'::text, project_entry, target.budget_limit, sums.spent, sums.reserved;

    -- The scopes still held (reserved, not yet released by a move).
    open_scopes := array(select e.scope from public.budget_scope_entries e
                         where e.generation_id = end_scoped.generation and e.kind = 'reservation' and e.user_id = caller
                           and not exists (select from public.budget_scope_entries r
                                           where r.generation_id = e.generation_id and r.scope = e.scope
                                             and r.kind in ('release', 'charge')));
    select substr(s, 10) into reserved_provider from unnest(open_scopes) as s where s like 'provider:%' limit 1;
    if cost is not null and exists (select from public.budget_scope_entries e
                                    where e.generation_id = end_scoped.generation and e.kind = 'reservation' and e.user_id = caller) then
        charged_scopes := array['user'];
        if coalesce(charge_provider, reserved_provider) is not null then
            charged_scopes := charged_scopes || ('provider:' || coalesce(charge_provider, reserved_provider));
        end if;
    end if;
    select array_agg(distinct s order by s) into touched from unnest(charged_scopes || open_scopes) as s;
    if touched is null then
        return;
    end if;
    foreach scope_name in array touched loop
        totals := app_ledger.lock_scope(caller, scope_name);
        scope_entry := null;
        held_amount := 0;
        if scope_name = any(open_scopes) then
            select e.amount into held_amount from public.budget_scope_entries e
            where e.generation_id = end_scoped.generation and e.kind = 'reservation' and e.scope = scope_name and e.user_id = caller;
            insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
            values (caller, scope_name, 'release', held_amount, end_scoped.generation)
            returning id into scope_entry;
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

revoke create on schema app_ledger from app_ledger_writer;
