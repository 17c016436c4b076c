-- A fallback reserves on the provider scope it is about to use before it is tried, so the
-- provider that finally serves a generation never goes past its monthly budget (021 reserved
-- only on the first candidate's scope and charged the serving one without a reservation there).
--
-- app_ledger.hold_provider moves a generation's provider-scope reservation: it reserves `amount`
-- on the new provider's scope and releases the one held on the previous provider, in one
-- transaction under both scope locks, or writes nothing when the new scope cannot admit it.
-- Batch items (which hold no project reservation of their own: the batch does) use it to hold
-- their provider scope, and app_ledger.end_provider to end it. end_scoped is replaced so that a
-- scope whose reservation was already released by a move is not released twice.

grant create on schema app_ledger to app_ledger_writer;

-- Holds `amount` for `generation` on `provider`'s monthly budget scope, releasing the provider
-- scope it held before (if any). Already held there: nothing changes (admitted). Rows: the new
-- scope (`admitted`, `fits`, its limit and figures after the call, or before it when refused),
-- then the scope released, if any. Locks only scope rows, in ascending name order, and never the
-- project row, so it cannot deadlock with reserve/end_scoped (project row first, then scopes by
-- name). Errors: 22023 bad arguments or unknown provider, 55000 the generation's ledger
-- reservation has already ended, 23505 the generation held that provider scope before and left it.
create or replace function app_ledger.hold_provider(generation uuid, amount numeric, provider text)
returns table (scope text, entry_id uuid, admitted boolean, fits boolean, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    month_start timestamptz := date_trunc('month', now(), 'UTC');
    target_scope text;
    held_scope text;
    held_amount numeric;
    target_totals public.budget_scope_totals;
    held_totals public.budget_scope_totals;
    target_limit numeric;
    target_spent numeric;
    new_entry uuid;
    released_entry uuid;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if generation is null or amount is null or amount < 0 or scale(amount) > 10 then
        raise exception 'a generation id and an amount >= 0 with at most 10 decimals are required' using errcode = '22023';
    end if;
    if provider is null or provider not in ('openai', 'anthropic', 'openrouter', 'elevenlabs', 'runway', 'veo', 'fal', 'local') then
        raise exception 'unknown provider' using errcode = '22023';
    end if;
    if exists (select from public.budget_ledger l
               where l.generation_id = hold_provider.generation and l.user_id = caller and l.kind in ('release', 'charge')) then
        raise exception 'reservation already ended' using errcode = '55000';
    end if;
    target_scope := 'provider:' || provider;

    -- The provider scope held now: a reservation without a release.
    select e.scope, e.amount into held_scope, held_amount
    from public.budget_scope_entries e
    where e.generation_id = hold_provider.generation and e.user_id = caller and e.kind = 'reservation'
      and e.scope like 'provider:%'
      and not exists (select from public.budget_scope_entries r
                      where r.generation_id = e.generation_id and r.scope = e.scope and r.kind in ('release', 'charge'));

    -- Both scope rows locked in name order before anything is read from them.
    if held_scope is not null and held_scope < target_scope then
        held_totals := app_ledger.lock_scope(caller, held_scope);
    end if;
    target_totals := app_ledger.lock_scope(caller, target_scope);
    if held_scope is not null and held_scope > target_scope then
        held_totals := app_ledger.lock_scope(caller, held_scope);
    end if;

    target_limit := (select c.monthly_budget from public.provider_configs c
                     where c.user_id = caller and c.provider = hold_provider.provider);
    target_spent := case when target_totals.period_start >= month_start then target_totals.spent else 0 end;

    if held_scope = target_scope then
        return query select target_scope, null::uuid, true, true, target_limit, target_spent, target_totals.reserved;
        return;
    end if;
    if exists (select from public.budget_scope_entries e
               where e.generation_id = hold_provider.generation and e.user_id = caller and e.scope = target_scope) then
        raise exception 'the generation already left this provider scope' using errcode = '23505';
    end if;
    if target_limit is not null and target_spent + target_totals.reserved + amount > target_limit then
        return query select target_scope, null::uuid, false, false, target_limit, target_spent, target_totals.reserved;
        return;
    end if;

    insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
    values (caller, target_scope, 'reservation', hold_provider.amount, hold_provider.generation)
    returning id into new_entry;
    update public.budget_scope_totals t
    set reserved = t.reserved + hold_provider.amount, updated_at = now()
    where t.user_id = caller and t.scope = target_scope
    returning * into target_totals;
    return query select target_scope, new_entry, true, true, target_limit, target_spent, target_totals.reserved;

    if held_scope is not null then
        insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
        values (caller, held_scope, 'release', held_amount, hold_provider.generation)
        returning id into released_entry;
        update public.budget_scope_totals t
        set reserved = t.reserved - held_amount, updated_at = now()
        where t.user_id = caller and t.scope = held_scope
        returning * into held_totals;
        return query select held_scope, released_entry, true, true,
                            (select c.monthly_budget from public.provider_configs c
                             where c.user_id = caller and c.provider = substr(held_scope, 10)),
                            case when held_totals.period_start >= month_start then held_totals.spent else 0 end, held_totals.reserved;
    end if;
end
$$;

-- Ends the provider-scope reservation `hold_provider` made for a generation that holds no project
-- reservation of its own (a batch item: its batch holds the project and user scopes). With a
-- cost: charged on that provider's scope. Nothing held: no rows. 22023 for a bad cost.
create or replace function app_ledger.end_provider(generation uuid, cost numeric)
returns table (scope text, entry_id uuid, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    month_start timestamptz := date_trunc('month', now(), 'UTC');
    held_scope text;
    held_amount numeric;
    totals public.budget_scope_totals;
    last_entry uuid;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if generation is null or (cost is not null and (cost < 0 or scale(cost) > 10)) then
        raise exception 'a generation id and a cost >= 0 with at most 10 decimals are required' using errcode = '22023';
    end if;
    select e.scope, e.amount into held_scope, held_amount
    from public.budget_scope_entries e
    where e.generation_id = end_provider.generation and e.user_id = caller and e.kind = 'reservation'
      and e.scope like 'provider:%'
      and not exists (select from public.budget_scope_entries r
                      where r.generation_id = e.generation_id and r.scope = e.scope and r.kind in ('release', 'charge'));
    if held_scope is null then
        return;
    end if;
    totals := app_ledger.lock_scope(caller, held_scope);
    insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
    values (caller, held_scope, 'release', held_amount, end_provider.generation)
    returning id into last_entry;
    if cost is not null then
        insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
        values (caller, held_scope, 'charge', cost, end_provider.generation)
        returning id into last_entry;
    end if;
    update public.budget_scope_totals t
    set reserved = t.reserved - held_amount,
        spent = case when cost is not null
                     then (case when t.period_start >= month_start then t.spent else 0 end) + cost else t.spent end,
        period_start = case when cost is not null then month_start else t.period_start end,
        updated_at = now()
    where t.user_id = caller and t.scope = held_scope
    returning * into totals;
    return query select held_scope, last_entry,
                        (select c.monthly_budget from public.provider_configs c
                         where c.user_id = caller and c.provider = substr(held_scope, 10)),
                        case when totals.period_start >= month_start then totals.spent else 0 end, totals.reserved;
end
$$;

-- As in 021, except that a scope whose reservation a move already released is neither released
-- again nor, when it is not the charged provider, touched; the charged provider defaults to the
-- provider scope held now (not the first one reserved).
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

revoke all on function app_ledger.hold_provider(uuid, numeric, text) from public;
revoke all on function app_ledger.end_provider(uuid, numeric) from public;
alter function app_ledger.hold_provider(uuid, numeric, text) owner to app_ledger_writer;
alter function app_ledger.end_provider(uuid, numeric) owner to app_ledger_writer;
revoke create on schema app_ledger from app_ledger_writer;
grant execute on function app_ledger.hold_provider(uuid, numeric, text), app_ledger.end_provider(uuid, numeric) to authenticated;
