-- What the router learns from an attempt, written with the attempt's own write; and the
-- provider's finish reason on the generation.
--
-- 1. `finish_reason`: why the provider stopped producing text (OpenAI `stop`, `length`,
--    `content_filter`, ...; Anthropic `end_turn`, `max_tokens`, `stop_sequence`, `refusal`), as the
--    provider said it. Null: no text result, or the provider gave none.
-- 2. app_engine.record_health / app_engine.observe_rate_limit: the one SQL copy of the health
--    transition (Domain's ProviderHealthState) and of the bucket's lesson from the provider's
--    rate-limit word (Domain's TokenBucket), each one upsert under the row lock. They run as the
--    caller (SECURITY INVOKER): the caller may write its own rows, and nobody else's, anyway.
-- 3. app_engine.report_attempt: both for one attempt, with the configuration's requests per
--    minute read here (no round trip of its own).
-- 4. app_engine.finish_generation and app_engine.record_attempt take the attempt's report, so an
--    attempt's end and what it taught the router are one call (one round trip).
-- 5. finish_generation also charges a generation canceled while its provider task ran, or one
--    that expired past the poll deadline, when the cancel at the provider may not have stopped
--    the billing.

alter table public.generations
    add column finish_reason text check (char_length(finish_reason) <= 64);

grant create on schema app_engine to app_engine_writer;

-- One attempt as the router records it. `succeeded` with `latency_ms`, or a failure with
-- `error_code` and `retryable`; the health policy's numbers; and, with `rate_observed`, what the
-- answer said of the rate limit (`remaining_requests`, `blocked_until`; both may be null when it
-- only named a reset time).
create type app_engine.attempt_report as (
    provider text,
    observed_at timestamptz,
    succeeded boolean,
    latency_ms double precision,
    error_code text,
    retryable boolean,
    failure_threshold integer,
    cooldown_seconds double precision,
    latency_weight double precision,
    rate_observed boolean,
    remaining_requests double precision,
    blocked_until timestamptz
);

-- The health transition of ProviderHealthState.recording(_:at:policy:): a success closes the
-- circuit, clears the streak and moves the latency average; a retryable failure extends the
-- streak and opens the circuit at the threshold or when a half-open trial fails, keeping the
-- reopen time of a circuit still open; a non-retryable one only records the last error.
create or replace function app_engine.record_health(provider text, observed_at timestamptz, succeeded boolean,
                                                    latency_ms double precision, error_code text, retryable boolean,
                                                    failure_threshold integer, cooldown_seconds double precision,
                                                    latency_weight double precision)
returns setof public.provider_health
language plpgsql security invoker set search_path = '' as $$
#variable_conflict use_column
declare
    result public.provider_health;
    reopen timestamptz := record_health.observed_at + make_interval(secs => greatest(record_health.cooldown_seconds, 0));
    threshold integer := greatest(record_health.failure_threshold, 1);
    weight double precision := least(1, greatest(0.01, record_health.latency_weight));
    failed_retryably boolean := not record_health.succeeded and coalesce(record_health.retryable, false);
begin
    if record_health.succeeded then
        insert into public.provider_health as h (provider, consecutive_failures, last_success_at, latency_ms, reopen_at, updated_at)
        values (record_health.provider, 0, record_health.observed_at, greatest(coalesce(record_health.latency_ms, 0), 0), null,
                record_health.observed_at)
        on conflict (user_id, provider) do update
        set consecutive_failures = 0, last_success_at = excluded.last_success_at, reopen_at = null, updated_at = excluded.updated_at,
            latency_ms = case when h.latency_ms is null then excluded.latency_ms
                              else h.latency_ms * (1 - weight) + excluded.latency_ms * weight end
        returning h.* into result;
    else
        insert into public.provider_health as h (provider, consecutive_failures, last_error_code, last_error_at, reopen_at, updated_at)
        values (record_health.provider, case when failed_retryably then 1 else 0 end, left(record_health.error_code, 64),
                record_health.observed_at, case when failed_retryably and 1 >= threshold then reopen end, record_health.observed_at)
        on conflict (user_id, provider) do update
        set last_error_code = excluded.last_error_code, last_error_at = excluded.last_error_at, updated_at = excluded.updated_at,
            consecutive_failures = case when failed_retryably then least(h.consecutive_failures, 2147483646) + 1
                                        else h.consecutive_failures end,
            reopen_at = case when not failed_retryably then h.reopen_at
                             when h.reopen_at is not null and record_health.observed_at < h.reopen_at then h.reopen_at
                             when h.reopen_at is not null then reopen
                             when least(h.consecutive_failures, 2147483646) + 1 >= threshold then reopen
                             end
        returning h.* into result;
    end if;
    return next result;
end
$$;

-- What a provider's answer said of the rate limit, on the credential's bucket (as TokenBucket):
-- the refilled tokens no more than the provider's remaining requests, and blocked until the later
-- of the stored and the new block. Without a configured rate (`requests_per_minute` null) only
-- the block is kept.
create or replace function app_engine.observe_rate_limit(provider text, requests_per_minute integer,
                                                         remaining_requests double precision, blocked_until timestamptz,
                                                         observed_at timestamptz)
returns void
language plpgsql security invoker set search_path = '' as $$
#variable_conflict use_column
declare
    rpm double precision := observe_rate_limit.requests_per_minute::double precision;
begin
    insert into public.provider_rate_limits as r (provider, tokens, blocked_until, updated_at)
    values (observe_rate_limit.provider,
            case when rpm is null then 0 else least(rpm, observe_rate_limit.remaining_requests) end,
            observe_rate_limit.blocked_until, observe_rate_limit.observed_at)
    on conflict (user_id, provider) do update
    set tokens = case when rpm is null then r.tokens
                      else least(least(rpm, r.tokens + greatest(0, extract(epoch from (observe_rate_limit.observed_at - r.updated_at))::double precision)
                                                         * rpm / 60),
                                 coalesce(observe_rate_limit.remaining_requests, 'Infinity'::double precision)) end,
        updated_at = case when rpm is null then r.updated_at else greatest(r.updated_at, observe_rate_limit.observed_at) end,
        blocked_until = greatest(r.blocked_until, observe_rate_limit.blocked_until);
end
$$;

-- One attempt's report: its health, and (when the answer spoke of it) the rate limit, with the
-- configuration's requests per minute (none configured: null, as ProviderConfig's default).
-- Bookkeeping never costs an attempt its result (a paid output, a failure to fall through
-- from): a report that fails is dropped (its own subtransaction), and the next attempt reports again.
create or replace function app_engine.report_attempt(report app_engine.attempt_report)
returns void
language plpgsql security invoker set search_path = '' as $$
begin
    if report is null or report.provider is null then
        return;
    end if;
    begin
        perform from app_engine.record_health(report.provider, report.observed_at, report.succeeded, report.latency_ms,
                                              report.error_code, report.retryable, report.failure_threshold,
                                              report.cooldown_seconds, report.latency_weight);
        if report.rate_observed then
            perform app_engine.observe_rate_limit(
                report.provider,
                (select c.requests_per_minute from public.provider_configs c
                 where c.user_id = (select auth.uid()) and c.provider = report.provider),
                report.remaining_requests, report.blocked_until, report.observed_at);
        end if;
    exception when others then
        null;
    end;
end
$$;

drop function app_engine.finish_generation(uuid, text, text, text, numeric, text, numeric, jsonb, jsonb, text, text, text, jsonb, boolean,
                                           text, jsonb, boolean);

-- As in 110, and: `report` (the attempt's health and rate-limit word, written first, whatever
-- becomes of the generation: the provider answered either way), `finish_reason`, and a generation
-- canceled while its provider task ran is charged here too when the provider may have billed it
-- (see GenerationRunner's CanceledTaskCharge), and `to_status` may be `expired`: a provider task
-- past its deadline that could not be stopped at the provider is charged as it ends.
create function app_engine.finish_generation(
    generation uuid, to_status text, provider text, model text, cost numeric, cost_status text,
    provider_reported_cost numeric, cost_lines jsonb, usage jsonb, output_text text, error_code text, error_message text,
    assets jsonb, provider_scope_only boolean, provider_request_id text, event jsonb,
    with_attempt boolean, report app_engine.attempt_report, finish_reason text)
returns setof public.generations
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    current public.generations;
    updated public.generations;
    canceled_meanwhile boolean;
    next_number integer;
    asset jsonb;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if to_status not in ('succeeded', 'failed', 'expired')
       or finish_generation.cost_status not in ('priced', 'unpriced', 'estimated')
       or jsonb_typeof(coalesce(finish_generation.assets, '[]')) <> 'array' then
        raise exception 'a final status, a cost status and an array of assets are required' using errcode = '22023';
    end if;
    select * into current from public.generations g where g.id = finish_generation.generation and g.user_id = caller for update;
    if not found then
        perform app_engine.report_attempt(finish_generation.report);
        return;
    end if;
    -- Canceled while the provider held work that may be billed (a submission in flight, or a
    -- provider task whose cancel did not stop it): the reservation waits for this charge. A
    -- task's reservation may have been released already (its cancel stopped the billing).
    canceled_meanwhile := current.status = 'canceled' and current.cost_status is null
                          and (current.submitting is not null
                               or current.provider_task is not null
                                  and exists (select from public.budget_ledger l
                                              where l.generation_id = current.id and l.kind = 'reservation')
                                  and not exists (select from public.budget_ledger l
                                                  where l.generation_id = current.id and l.kind in ('release', 'charge')));
    if current.status not in ('queued', 'running') and not canceled_meanwhile then
        perform app_engine.report_attempt(finish_generation.report);
        return;
    end if;
    if finish_generation.provider_scope_only then
        perform app_ledger.end_provider(current.id, finish_generation.cost);
    elsif finish_generation.cost is not null then
        perform app_ledger.settle(current.id, finish_generation.cost, finish_generation.provider);
    else
        perform app_ledger.release_scoped(current.id);
    end if;
    -- After the budget scopes, never before: admission locks the scopes and then the same health
    -- and rate-limit rows (clear_first_attempt), so reporting first deadlocked against it.
    perform app_engine.report_attempt(finish_generation.report);
    if finish_generation.with_attempt then
        select coalesce(max(a.number), 0) + 1 into next_number from public.generation_attempts a where a.generation_id = current.id;
        insert into public.generation_attempts (user_id, generation_id, number, provider, model, status, provider_request_id)
        values (caller, current.id, next_number, finish_generation.provider, finish_generation.model, 'succeeded',
                finish_generation.provider_request_id);
    end if;
    for asset in select value from jsonb_array_elements(coalesce(finish_generation.assets, '[]')) loop
        insert into public.assets (user_id, project_id, generation_id, kind, content_type, bytes, sha256, storage_key)
        values (caller, current.project_id, current.id, asset->>'kind', asset->>'content_type', (asset->>'bytes')::bigint,
                asset->>'sha256', asset->>'storage_key');
    end loop;
    update public.generations g set
        status = case when canceled_meanwhile then g.status else to_status end,
        provider = finish_generation.provider,
        model = finish_generation.model,
        error_code = case when canceled_meanwhile then g.error_code else finish_generation.error_code end,
        error_message = case when canceled_meanwhile then g.error_message else finish_generation.error_message end,
        output_text = finish_generation.output_text,
        finish_reason = left(finish_generation.finish_reason, 64),
        actual_cost = finish_generation.cost,
        cost_status = finish_generation.cost_status,
        provider_reported_cost = finish_generation.provider_reported_cost,
        cost_lines = finish_generation.cost_lines,
        usage = finish_generation.usage,
        submitting = null,
        finished_at = case when canceled_meanwhile then g.finished_at else now() end,
        updated_at = now()
    where g.id = current.id
    returning * into updated;
    -- A canceled generation's stream ended with `canceled`: nothing follows a terminal event.
    if not canceled_meanwhile then
        insert into public.generation_events (user_id, generation_id, type, payload)
        values (caller, current.id, to_status, coalesce(finish_generation.event, '{}'));
    end if;
    return next updated;
end
$$;

drop function app_engine.record_attempt(uuid, text, text, text, text, text, integer, boolean, text);

-- As in 110, and: `report` is written first, and a generation that is not the caller's or has
-- ended gives null rather than an error, so the report (the provider did answer) is kept.
create function app_engine.record_attempt(generation uuid, provider text, model text, status text, error_code text,
                                          error_message text, http_status integer, retryable boolean,
                                          provider_request_id text, report app_engine.attempt_report)
returns integer
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    next_number integer;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    perform app_engine.report_attempt(record_attempt.report);
    perform from public.generations g
    where g.id = record_attempt.generation and g.user_id = caller
      and (g.status in ('queued', 'running') or (g.status = 'canceled' and g.submitting is not null)) for update;
    if not found then
        return null;
    end if;
    update public.generations g set submitting = null where g.id = record_attempt.generation;
    select coalesce(max(a.number), 0) + 1 into next_number from public.generation_attempts a where a.generation_id = record_attempt.generation;
    insert into public.generation_attempts (user_id, generation_id, number, provider, model, status, error_code, error_message,
                                            http_status, retryable, provider_request_id)
    values (caller, generation, next_number, provider, model, status, error_code, error_message, http_status, retryable,
            provider_request_id);
    if status = 'failed' then
        insert into public.generation_events (user_id, generation_id, type, payload)
        values (caller, generation, 'attempt_failed', jsonb_build_object('attempt', next_number, 'provider', provider,
                'model', model, 'code', error_code, 'retryable', retryable));
    end if;
    return next_number;
end
$$;

do $$
declare
    f text;
begin
    foreach f in array array[
        'app_engine.record_health(text, timestamptz, boolean, double precision, text, boolean, integer, double precision, double precision)',
        'app_engine.observe_rate_limit(text, integer, double precision, timestamptz, timestamptz)',
        'app_engine.report_attempt(app_engine.attempt_report)',
        'app_engine.finish_generation(uuid, text, text, text, numeric, text, numeric, jsonb, jsonb, text, text, text, jsonb, boolean, text, jsonb, boolean, app_engine.attempt_report, text)',
        'app_engine.record_attempt(uuid, text, text, text, text, text, integer, boolean, text, app_engine.attempt_report)'] loop
        execute format('revoke all on function %s from public', f);
        execute format('alter function %s owner to app_engine_writer', f);
        execute format('grant execute on function %s to authenticated', f);
    end loop;
end
$$;
alter type app_engine.attempt_report owner to app_engine_writer;
revoke create on schema app_engine from app_engine_writer;
