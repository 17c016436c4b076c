-- Unpriced overshoot through app_ledger.hold_provider (fallback candidates, batch items): migration
-- 136 gave app_ledger.reserve the rule that an unpriced admission (a reservation of nothing for
-- real provider work) needs headroom on every limited scope, but hold_provider still admitted one
-- on a provider scope that was already full (spent + reserved = limit, and 0 more fits), so
-- unpriced fallbacks and items could together take a provider budget past its limit.
--
-- The rule's text now lives in one helper, app_ledger.scope_admits, which hold_provider calls;
-- app_ledger.reserve (restated by the lead's migrations) can call it for its project and scope
-- checks so the two never drift. Otherwise hold_provider is exactly as in 080.

grant create on schema app_ledger to app_ledger_writer;

-- Whether a scope with `budget_limit` (null: unlimited), `spent` and `reserved` admits a
-- reservation of `amount` for work at `provider`: spent + reserved + amount <= limit, and, for a
-- reservation of nothing for real provider work (an unpriced admission: amount 0 at a provider
-- other than the free local one), headroom: spent + reserved < limit. Its charge is recorded in
-- full afterwards (the provider billed it), and a scope it took past its limit refuses every
-- reservation after it until the limit is raised or the period ends. A reservation with no
-- provider (a batch's, holding its priced items' sum) is not held to the headroom part.
create function app_ledger.scope_admits(budget_limit numeric, spent numeric, reserved numeric, amount numeric, provider text)
returns boolean
language sql immutable set search_path = '' as $$
    select budget_limit is null
        or (spent + reserved + amount <= budget_limit
            and not (amount = 0 and provider is not null and provider <> 'local' and spent + reserved >= budget_limit))
$$;

revoke all on function app_ledger.scope_admits(numeric, numeric, numeric, numeric, text) from public;
alter function app_ledger.scope_admits(numeric, numeric, numeric, numeric, text) owner to app_ledger_writer;

-- As in 080, with the admission check of the target scope written by app_ledger.scope_admits.
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

revoke create on schema app_ledger from app_ledger_writer;
