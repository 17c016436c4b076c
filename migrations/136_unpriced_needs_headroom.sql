-- An unpriced generation cannot be reserved for (its price is unknown; it is charged what the
-- provider reports, afterwards), so nothing stopped one from being admitted on a scope that is
-- already full and taking it past its limit. The rule (README, "Unpriced models"): a reservation
-- of nothing for real provider work, which is what an unpriced admission is, needs headroom on
-- every limited scope (spent + reserved < limit, not <=); its charge is then recorded in full
-- (the provider billed it), and a scope it took past its limit refuses every admission after it
-- (spent + reserved + amount > limit for any amount) until the limit is raised or the period
-- ends. The local provider costs nothing and is exempt. Otherwise app_ledger.reserve is as in 021.

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
    select p.id, p.budget_limit, p.budget_period, p.created_at into target
    from public.projects p where p.id = reserve.project and p.user_id = caller
    for update;
    if not found then
        raise exception 'project not found' using errcode = 'P0002';
    end if;
    if exists (select from public.budget_ledger l where l.generation_id = reserve.generation and l.kind = 'reservation')
       or exists (select from public.budget_scope_entries e where e.generation_id = reserve.generation and e.kind = 'reservation') then
        raise exception 'generation already has a reservation' using errcode = '23505';
    end if;
    select t.spent, t.reserved into sums
    from app_ledger.totals(target.id, target.budget_period, target.created_at) t;
    project_fits := target.budget_limit is null or sums.spent + sums.reserved + amount <= target.budget_limit
                    and (not needs_headroom or sums.spent + sums.reserved < target.budget_limit);
    all_fit := project_fits;

    -- 'provider:…' sorts before 'user': the fixed lock order.
    scope_names := case when provider is null then array['user'] else array['provider:' || provider, 'user'] end;
    for i in 1 .. array_length(scope_names, 1) loop
        totals := app_ledger.lock_scope(caller, scope_names[i]);
        if scope_names[i] = 'user' then
            limits := limits || (select b.monthly_limit from public.user_budgets b where b.user_id = caller);
        else
            limits := limits || (select c.monthly_budget from public.provider_configs c
                                 where c.user_id = caller and c.provider = reserve.provider);
        end if;
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
