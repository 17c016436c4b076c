-- What a provider's answer says of the rate limit, written only when it changes the bucket.
-- Without a configured rate (`requests_per_minute` null, the default) app_engine.observe_rate_limit
-- (migration 135) keeps the bucket's tokens and time and only a later block changes it, yet its
-- upsert wrote a new version of the user's bucket row for every answer that carried rate headers
-- (every chat completion from OpenAI does), and locked that row against every other report of the
-- user. Now such an observation writes only a block later than the stored one; the row is still
-- created by the first observation, and with a rate every observation refills and spends as before.
-- The same change migration 174 made to the takes.

grant create on schema app_engine to app_engine_writer;

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
        blocked_until = greatest(r.blocked_until, observe_rate_limit.blocked_until)
    -- Without a rate only a later block is a change (greatest ignores a null on either side).
    where rpm is not null
       or observe_rate_limit.blocked_until > coalesce(r.blocked_until, '-infinity'::timestamptz);
end
$$;

revoke create on schema app_engine from app_engine_writer;
