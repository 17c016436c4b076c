-- hold_provider and end_provider find a generation's provider hold without app_ledger.scope_holds,
-- as the ends do since migration 184: its open scope entry if it has one (a fallback's new provider,
-- a batch item's, an older reservation), else the hold its reservation row implies (migration 183).
-- The helper, whose call measured about 0.8 ms of PostgreSQL's time in a lone end, has no caller
-- left and is dropped.

grant create on schema app_ledger to app_ledger_writer;

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

    -- The provider scope held now: a reservation without a release, by a scope entry or implied by
    -- the project's reservation (migration 183). Moving away from it writes a release entry either way.
    select e.scope, e.amount into held_scope, held_amount
    from public.budget_scope_entries e
    where e.generation_id = hold_provider.generation and e.user_id = caller and e.kind = 'reservation'
      and e.scope like 'provider:%'
      and not exists (select from public.budget_scope_entries r
                      where r.generation_id = e.generation_id and r.scope = e.scope and r.kind in ('release', 'charge'));
    if held_scope is null then
        -- The provider hold its reservation row implies, unless a scope entry or the reservation's
        -- end has ended it.
        select 'provider:' || l.scope_provider, l.amount into held_scope, held_amount
        from public.budget_ledger l
        where l.generation_id = hold_provider.generation and l.kind = 'reservation' and l.user_id = caller
          and l.scopes_implied and l.scope_provider is not null
          and not exists (select from public.budget_scope_entries r
                          where r.generation_id = l.generation_id and r.scope = 'provider:' || l.scope_provider
                            and r.kind in ('release', 'charge'))
          and not exists (select from public.budget_ledger x
                          where x.generation_id = l.generation_id and x.kind in ('release', 'charge'));
    end if;

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
    if not app_ledger.scope_admits(target_limit, target_spent, target_totals.reserved, amount, provider) then
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
        -- The provider hold its reservation row implies, unless a scope entry or the reservation's
        -- end has ended it.
        select 'provider:' || l.scope_provider, l.amount into held_scope, held_amount
        from public.budget_ledger l
        where l.generation_id = end_provider.generation and l.kind = 'reservation' and l.user_id = caller
          and l.scopes_implied and l.scope_provider is not null
          and not exists (select from public.budget_scope_entries r
                          where r.generation_id = l.generation_id and r.scope = 'provider:' || l.scope_provider
                            and r.kind in ('release', 'charge'))
          and not exists (select from public.budget_ledger x
                          where x.generation_id = l.generation_id and x.kind in ('release', 'charge'));
    end if;
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

drop function app_ledger.scope_holds(uuid[], uuid);

revoke create on schema app_ledger from app_ledger_writer;
