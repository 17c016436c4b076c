-- The two SQL-language functions every generation calls, restated in PL/pgSQL with the same
-- signatures and results. A SQL function that carries its own search_path cannot be inlined and
-- is parsed and planned again on every call; a PL/pgSQL function keeps its plans for the session.
-- Measured with pg_stat_statements and track_functions over 600 chat completions: session_state
-- 0.40 ms and take_rate_token 0.45 ms of database time per generation, most of it planning.

create or replace function app_engine.session_state(session uuid)
returns table (not_after timestamptz, banned_until timestamptz, user_deleted boolean)
language plpgsql stable security definer set search_path = '' as $$
begin
    return query
    select s.not_after, u.banned_until, u.deleted_at is not null
    from auth.sessions s join auth.users u on u.id = s.user_id
    where s.id = session_state.session and s.user_id = (select auth.uid())
      and session_state.session::text = (select auth.jwt()) ->> 'session_id';
end
$$;

create or replace function app_engine.take_rate_token(provider text, rpm integer, clock timestamptz)
returns table (tokens double precision, updated_at timestamptz, blocked_until timestamptz)
language plpgsql security invoker set search_path = '' as $$
#variable_conflict use_column
begin
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
