-- A group's attempt reports folded per provider when all of them are successes. Since migration 176
-- a group's reports are one app_engine.report_attempts call, but that call still ran
-- app_engine.report_attempt once per report: a subtransaction, the provider's configured rate read,
-- and one upsert of the user's health row per report (a new version of that hot row each time, and
-- another of the rate bucket's when the answer spoke of the rate). At 64 connections they were about
-- a tenth of PostgreSQL's time per chat completion (pg_stat_statements, BENCHMARKS.md run O).
--
-- Now a provider whose reports in the group are all successes, with no configured rate and no block
-- in any of them, and whose health row exists, is written once: the streak cleared, the circuit
-- closed, the last report's time, and the latency average moved by each report in the group's order
-- with the same float8 operations app_engine.record_health applies one by one (so the same bits); a
-- bucket is created, as the first observation would create it, when a report spoke of the rate and
-- none exists. That write is one subtransaction for the provider: if it fails, the provider's reports
-- go one by one as before. Any other provider's reports (a failure among them, a configured rate, a
-- block, no health row yet) still go one by one through app_engine.report_attempt, in the group's
-- order. Providers are written in name order; no provider's rows depend on another's.

grant create on schema app_engine to app_engine_writer;

create or replace function app_engine.report_attempts(reports app_engine.attempt_report[])
returns void
language plpgsql security invoker set search_path = '' as $$
declare
    report app_engine.attempt_report;
    p text;
    rpm integer;
    held record;
    latency double precision;
    weight double precision;
    latest timestamptz;
    rate_seen timestamptz;
    folded boolean;
begin
    if cardinality(reports) > 64 then
        raise exception 'at most 64 reports' using errcode = '22023';
    end if;
    for p in select distinct r.provider from unnest(coalesce(reports, '{}')) r where r.provider is not null order by 1 loop
        folded := false;
        select c.requests_per_minute into rpm from public.provider_configs c
        where c.user_id = (select auth.uid()) and c.provider = p;
        if rpm is null and not exists (select from unnest(reports) r
                                       where r.provider = p and (r.succeeded is not true or r.rate_observed and r.blocked_until is not null)) then
            begin
                select h.latency_ms into held from public.provider_health h where h.provider = p for update;
                if found then
                    latency := held.latency_ms;
                    latest := null;
                    rate_seen := null;
                    foreach report in array reports loop
                        continue when report.provider is distinct from p;
                        -- record_health's success: the first latency, or the average moved by its weight.
                        weight := least(1, greatest(0.01, report.latency_weight));
                        if latency is null then
                            latency := greatest(coalesce(report.latency_ms, 0), 0);
                        else
                            latency := latency * (1 - weight) + greatest(coalesce(report.latency_ms, 0), 0) * weight;
                        end if;
                        latest := report.observed_at;
                        if report.rate_observed and rate_seen is null then
                            rate_seen := report.observed_at;
                        end if;
                    end loop;
                    update public.provider_health h
                    set consecutive_failures = 0, last_success_at = latest, reopen_at = null, updated_at = latest, latency_ms = latency
                    where h.provider = p;
                    if rate_seen is not null then
                        insert into public.provider_rate_limits as r (provider, tokens, blocked_until, updated_at)
                        values (p, 0, null, rate_seen)
                        on conflict (user_id, provider) do nothing;
                    end if;
                    folded := true;
                end if;
            exception when others then
                folded := false;
            end;
        end if;
        if not folded then
            foreach report in array reports loop
                continue when report.provider is distinct from p;
                perform app_engine.report_attempt(report);
            end loop;
        end if;
    end loop;
end
$$;

revoke create on schema app_engine from app_engine_writer;
