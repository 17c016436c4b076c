-- NOT A MIGRATION. Never apply this to a database that matters: it breaks the engine's accounting.
--
-- scripts/bench-lean-ledger-bound.sh applies it after the real migrations on a throwaway cluster to
-- measure, before building it, what the lean write set (docs/accounting-throughput.md) could save on
-- the lone path (every admission and end at one connection): app_ledger.reserve, admit_reserved and
-- end_scoped restated without budget_ledger or budget_scope_entries rows, the project's and the
-- scopes' summary rows written directly, and the held amount taken from the generation's estimate.
-- What it leaves out on purpose (no entry to find, so sweeps, cancels, fallbacks, batches and the
-- reservation checks no longer work) is exactly what the real change must rebuild. Its figures are
-- an upper bound on the saving, not a design.

grant create on schema app_ledger to app_ledger_writer;
grant create on schema app_engine to app_engine_writer;

create or replace function app_ledger.reserve(project uuid, generation uuid, amount numeric, provider text)
returns table (scope text, entry_id uuid, admitted boolean, fits boolean, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    this_month timestamptz := date_trunc('month', now(), 'UTC');
    target record;
    sums record;
    totals public.budget_scope_totals;
    scope_names text[];
    limits numeric[] := '{}';
    spents numeric[] := '{}';
    reserveds numeric[] := '{}';
    project_fits boolean;
    all_fit boolean;
    i integer;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
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
    project_fits := target.budget_limit is null or sums.spent + sums.reserved + amount <= target.budget_limit;
    all_fit := project_fits;
    for i in 1 .. array_length(scope_names, 1) loop
        totals := app_ledger.lock_scope(caller, scope_names[i]);
        spents := spents || case when totals.period_start >= this_month then totals.spent else 0 end;
        reserveds := reserveds || totals.reserved;
        if limits[i] is not null and spents[i] + reserveds[i] + amount > limits[i] then
            all_fit := false;
        end if;
    end loop;
    if all_fit then
        insert into public.project_budget_totals as t (project_id, user_id, spent_total, month_start, spent_month, reserved)
        values (target.id, caller, 0, this_month, 0, reserve.amount)
        on conflict (project_id) do update set reserved = t.reserved + reserve.amount, updated_at = now();
        update public.budget_scope_totals t
        set reserved = t.reserved + reserve.amount, updated_at = now()
        where t.user_id = caller and t.scope = any(scope_names);
    end if;
    return query select 'project'::text, case when all_fit then generation end, all_fit, project_fits, target.budget_limit, sums.spent,
                        sums.reserved + case when all_fit then reserve.amount else 0 end;
    return query select scope_names[k], case when all_fit then generation end, all_fit,
                        limits[k] is null or spents[k] + reserveds[k] + amount <= limits[k],
                        limits[k], spents[k], reserveds[k] + case when all_fit then reserve.amount else 0 end
                 from generate_subscripts(scope_names, 1) k;
end
$$;

create or replace function app_engine.admit_reserved(
    generation uuid, project uuid, kind text, prompt text, parameters jsonb, requested_provider text,
    requested_model text, provider text, model text, candidates jsonb, estimate numeric, max_cost numeric,
    pricing_version text, lease_owner text, lease_seconds integer, start boolean)
returns void
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
begin
    insert into public.generations (id, user_id, project_id, kind, prompt, parameters, requested_provider, requested_model,
                                    provider, model, candidates, status, estimate, max_cost, pricing_version, lease_owner,
                                    lease_expires_at, started_at, submitting)
    values (admit_reserved.generation, caller, admit_reserved.project, admit_reserved.kind, admit_reserved.prompt,
            coalesce(admit_reserved.parameters, '{}'), admit_reserved.requested_provider, admit_reserved.requested_model,
            admit_reserved.provider, admit_reserved.model, coalesce(admit_reserved.candidates, '[]'),
            case when admit_reserved.start then 'running' else 'queued' end, admit_reserved.estimate,
            admit_reserved.max_cost, admit_reserved.pricing_version, admit_reserved.lease_owner,
            now() + make_interval(secs => greatest(admit_reserved.lease_seconds, 1)),
            case when admit_reserved.start then now() end,
            case when admit_reserved.start
                 then jsonb_build_object('provider', admit_reserved.provider, 'model', admit_reserved.model) end);
    insert into public.generation_events (user_id, generation_id, type, payload)
    values (caller, admit_reserved.generation, 'queued',
            jsonb_build_object('status', 'queued', 'estimate', admit_reserved.estimate::text));
    if admit_reserved.start then
        insert into public.generation_events (user_id, generation_id, type, payload)
        values (caller, admit_reserved.generation, 'started', '{}');
    end if;
end
$$;

create or replace function app_ledger.end_scoped(generation uuid, cost numeric, charge_provider text)
returns table (scope text, entry_id uuid, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql set search_path = '' as $$
declare
    caller uuid := auth.uid();
    this_month timestamptz := date_trunc('month', now(), 'UTC');
    held record;
    target record;
    pt public.project_budget_totals;
    scopes text[];
begin
    select g.project_id, g.estimate as amount, coalesce(charge_provider, g.provider) as provider into held
    from public.generations g where g.id = end_scoped.generation and g.user_id = caller;
    select p.id, p.budget_limit, p.budget_period into target
    from public.projects p where p.id = held.project_id and p.user_id = caller
    for no key update;
    update public.project_budget_totals t
    set reserved = t.reserved - held.amount,
        spent_total = t.spent_total + coalesce(cost, 0),
        spent_month = case when t.month_start >= this_month then t.spent_month else 0 end + coalesce(cost, 0),
        month_start = greatest(t.month_start, this_month), updated_at = now()
    where t.project_id = target.id
    returning * into pt;
    return query select 'project'::text, generation, target.budget_limit,
                        case when target.budget_period = 'monthly' then pt.spent_month else pt.spent_total end, pt.reserved;
    scopes := array['provider:' || held.provider, 'user'];
    return query
    with moved as (
        update public.budget_scope_totals t
        set reserved = t.reserved - held.amount,
            spent = (case when t.period_start >= this_month then t.spent else 0 end) + coalesce(cost, 0),
            period_start = this_month, updated_at = now()
        where t.user_id = caller and t.scope = any(scopes)
        returning t.scope, t.spent, t.reserved
    )
    select m.scope, generation,
           case when m.scope = 'user' then (select b.monthly_limit from public.user_budgets b where b.user_id = caller)
                else (select c.monthly_budget from public.provider_configs c where c.user_id = caller and c.provider = held.provider) end,
           m.spent, m.reserved
    from moved m;
end
$$;

revoke create on schema app_ledger from app_ledger_writer;
revoke create on schema app_engine from app_engine_writer;
