-- A lone reservation keeps its own function. Since migration 170 app_ledger.reserve has been
-- reserve_group's group of one, and a lone admission (every admission at one connection) sent
-- reserve_group itself: measured at one connection, that group of one spends about 2.9 ms of
-- PostgreSQL's time per reservation (its checks over arrays, its per-group bookkeeping) where this
-- body, migration 142's, does the same in less. The group keeps reserve_group; the tests hold each
-- generation of a group to what consecutive calls of this function give.

grant create on schema app_ledger to app_ledger_writer;

create or replace function app_ledger.reserve(project uuid, generation uuid, amount numeric, provider text)
returns table (scope text, entry_id uuid, admitted boolean, fits boolean, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    month_start timestamptz := date_trunc('month', now(), 'UTC');
    target record;
    sums record;
    totals public.budget_scope_totals;
    scope_names text[];
    limits numeric[] := '{}';
    spents numeric[] := '{}';
    reserveds numeric[] := '{}';
    project_fits boolean;
    all_fit boolean;
    project_entry uuid;
    scope_entry uuid;
    i integer;
    -- Nothing to reserve for real provider work: an unpriced model (admitted with the project's
    -- opt-in). The local provider costs nothing and needs no room; a batch's reservation (no
    -- provider) holds its priced items' sum and is not held to this rule.
    needs_headroom boolean := reserve.amount = 0 and reserve.provider is not null and reserve.provider <> 'local';
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if generation is null or amount is null or amount < 0 or scale(amount) > 10 then
        raise exception 'a generation id and an amount >= 0 with at most 10 decimals are required' using errcode = '22023';
    end if;
    if provider is not null and provider not in ('openai', 'anthropic', 'openrouter', 'elevenlabs', 'runway', 'veo', 'fal', 'local') then
        raise exception 'unknown provider' using errcode = '22023';
    end if;
    -- What needs no lock is read before the project row is locked: every generation of the project
    -- waits for that lock, so it is held for the reservation itself only. A reservation for the same
    -- generation racing this one past the check fails on the ledger's unique index (23505 too).
    if exists (select from public.budget_ledger l where l.generation_id = reserve.generation and l.kind = 'reservation')
       or exists (select from public.budget_scope_entries e where e.generation_id = reserve.generation and e.kind = 'reservation') then
        raise exception 'generation already has a reservation' using errcode = '23505';
    end if;
    -- 'provider:…' sorts before 'user': the fixed lock order.
    scope_names := case when provider is null then array['user'] else array['provider:' || provider, 'user'] end;
    for i in 1 .. array_length(scope_names, 1) loop
        if scope_names[i] = 'user' then
            limits := limits || (select b.monthly_limit from public.user_budgets b where b.user_id = caller);
        else
            limits := limits || (select c.monthly_budget from public.provider_configs c
                                 where c.user_id = caller and c.provider = reserve.provider);
        end if;
    end loop;
    select p.id, p.budget_limit, p.budget_period, p.created_at into target
    from public.projects p where p.id = reserve.project and p.user_id = caller
    for no key update;
    if not found then
        raise exception 'project not found' using errcode = 'P0002';
    end if;
    select t.spent, t.reserved into sums
    from app_ledger.totals(target.id, target.budget_period, target.created_at) t;
    project_fits := target.budget_limit is null or sums.spent + sums.reserved + amount <= target.budget_limit
                    and (not needs_headroom or sums.spent + sums.reserved < target.budget_limit);
    all_fit := project_fits;

    for i in 1 .. array_length(scope_names, 1) loop
        totals := app_ledger.lock_scope(caller, scope_names[i]);
        spents := spents || case when totals.period_start >= month_start then totals.spent else 0 end;
        reserveds := reserveds || totals.reserved;
        if limits[i] is not null and (spents[i] + reserveds[i] + amount > limits[i]
                                      or needs_headroom and spents[i] + reserveds[i] >= limits[i]) then
            all_fit := false;
        end if;
    end loop;

    if all_fit then
        insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id)
        values (caller, target.id, 'reservation', reserve.amount, reserve.generation)
        returning id into project_entry;
    end if;
    return query select 'project'::text, project_entry, all_fit, project_fits, target.budget_limit, sums.spent,
                        sums.reserved + case when all_fit then reserve.amount else 0 end;
    for i in 1 .. array_length(scope_names, 1) loop
        scope_entry := null;
        if all_fit then
            insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
            values (caller, scope_names[i], 'reservation', reserve.amount, reserve.generation)
            returning id into scope_entry;
            update public.budget_scope_totals t
            set reserved = t.reserved + reserve.amount, updated_at = now()
            where t.user_id = caller and t.scope = scope_names[i];
        end if;
        return query select scope_names[i], scope_entry, all_fit,
                            limits[i] is null or spents[i] + reserveds[i] + amount <= limits[i]
                                and (not needs_headroom or spents[i] + reserveds[i] < limits[i]),
                            limits[i], spents[i], reserveds[i] + case when all_fit then reserve.amount else 0 end;
    end loop;
end
$$;

revoke create on schema app_ledger from app_ledger_writer;
