-- A rate token for a provider without a configured rate (`requests_per_minute` null, the default)
-- read instead of written. app_engine.take_rate_token (migration 141) upserts the credential's bucket
-- on every take; without a rate that upsert changes nothing (tokens and time are kept, only a block
-- refuses), yet it wrote a new version of the same row and locked it for every generation of the
-- user, one more hot row for every concurrent admission to queue on. Now such a take reads the row:
-- a block refuses it as before, no row yet is created as before, and the answer is the row as it is.
-- With a rate, a take still refills and spends under the row lock.

grant create on schema app_engine to app_engine_writer;

create or replace function app_engine.take_rate_token(provider text, rpm integer, clock timestamptz)
returns table (tokens double precision, updated_at timestamptz, blocked_until timestamptz)
language plpgsql security invoker set search_path = '' as $$
#variable_conflict use_column
declare
    bucket record;
begin
    if take_rate_token.rpm is null then
        select r.tokens, r.updated_at, r.blocked_until into bucket
        from public.provider_rate_limits r
        where r.user_id = (select auth.uid()) and r.provider = take_rate_token.provider;
        if found then
            if bucket.blocked_until is null or bucket.blocked_until <= take_rate_token.clock then
                return query select bucket.tokens, bucket.updated_at, bucket.blocked_until;
            end if;
            return;
        end if;
    end if;
    return query
    insert into public.provider_rate_limits as r (provider, tokens, blocked_until, updated_at)
    values (take_rate_token.provider, greatest(coalesce(take_rate_token.rpm::float8, 0) - 1, 0), null, take_rate_token.clock)
    on conflict (user_id, provider) do update
    set tokens = case when take_rate_token.rpm is null then r.tokens
                      else least(take_rate_token.rpm::float8, r.tokens + greatest(0, extract(epoch from (take_rate_token.clock - r.updated_at))::float8)
                                 * take_rate_token.rpm::float8 / 60) - 1 end,
        updated_at = case when take_rate_token.rpm is null then r.updated_at else greatest(r.updated_at, take_rate_token.clock) end
    where (r.blocked_until is null or r.blocked_until <= take_rate_token.clock)
      and (take_rate_token.rpm is null
           or least(take_rate_token.rpm::float8, r.tokens + greatest(0, extract(epoch from (take_rate_token.clock - r.updated_at))::float8)
                    * take_rate_token.rpm::float8 / 60) >= 1)
    returning r.tokens, r.updated_at, r.blocked_until;
end
$$;

revoke create on schema app_engine from app_engine_writer;
