-- Admission in two round trips (issue 14): one read of everything routing needs, and one call
-- that admits and clears the first attempt.
--
-- 1. app_engine.session_state: the state of the caller's own session (the claims' `session_id`
--    and `sub`), so the live-session check of the endpoints that spend rides in the same round trip
--    as admission's read. Swift judges it (`SessionState.refusal`), exactly as
--    `AuthService.requireLiveSession`. It runs as `app_session_reader`, a role that may read three
--    columns of auth.sessions and auth.users and, through RLS, only the caller's rows.
-- 2. app_engine.take_rate_token: `PostgresRateLimitStore.acquire`'s take, as a function, so the
--    gate and admission take tokens with one statement. Security invoker: RLS on the bucket applies.
-- 3. app_engine.clear_first_attempt: what the attempt gate and the key lookup did before the first
--    attempt of a generation admitted to run here, in admission's own transaction (called in the
--    same pipeline, right after admit_generation): the circuit (open: skipped), the rate token
--    (refused: skipped), a half-open circuit's one trial, then the key to use, marked used and
--    returned sealed (it is opened in Swift; the vault's keys never enter SQL). Security invoker.

do $$
begin
    if not exists (select from pg_roles where rolname = 'app_session_reader') then
        create role app_session_reader nologin noinherit;
    end if;
    if not (select rolsuper from pg_roles where rolname = current_user)
       and not pg_has_role(current_user, 'app_session_reader', 'member') then
        execute format('grant app_session_reader to %I', current_user);
    end if;
end
$$;
grant usage on schema auth to app_session_reader;
grant select (id, user_id, not_after) on auth.sessions to app_session_reader;
grant select (id, banned_until, deleted_at) on auth.users to app_session_reader;
create policy sessions_own_state on auth.sessions for select to app_session_reader using ((select auth.uid()) = user_id);
create policy users_own_state on auth.users for select to app_session_reader using ((select auth.uid()) = id);

grant create on schema app_engine to app_session_reader;

-- The caller's session as `AuthService.requireLiveSession` reads it: no row when the session is
-- gone (signed out, revoked) or is not the caller's; `session` must be the claims' own.
create or replace function app_engine.session_state(session uuid)
returns table (not_after timestamptz, banned_until timestamptz, user_deleted boolean)
language sql stable security definer set search_path = '' as $$
    select s.not_after, u.banned_until, u.deleted_at is not null
    from auth.sessions s join auth.users u on u.id = s.user_id
    where s.id = session_state.session and s.user_id = (select auth.uid())
      and session_state.session::text = (select auth.jwt()) ->> 'session_id'
$$;
revoke all on function app_engine.session_state(uuid) from public;
alter function app_engine.session_state(uuid) owner to app_session_reader;
grant execute on function app_engine.session_state(uuid) to authenticated;
revoke create on schema app_engine from app_session_reader;

-- One rate token from the caller's bucket for `provider` at `clock` (TokenBucket's arithmetic:
-- refill at rpm/60 per second up to rpm, never for time going backwards; no rpm: only a block
-- the provider asked for refuses). The bucket after the take; no row: refused, nothing written.
create or replace function app_engine.take_rate_token(provider text, rpm integer, clock timestamptz)
returns table (tokens double precision, updated_at timestamptz, blocked_until timestamptz)
language sql security invoker set search_path = '' as $$
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
    returning r.tokens, r.updated_at, r.blocked_until
$$;

-- The first attempt of `generation` (admitted to run here, its submission to `provider` marked in
-- flight) cleared as `RouterAttemptGate.clear` and `KeyVault.decryptedKey` would clear it at
-- `clock`: `skip_reason` `circuit_open` or `rate_limited` (the runner records the skip and moves
-- on), or null and, when `needs_key`, the best usable key (as `usableKeys` orders them), its
-- `last_used_at` set to `clock` (the previous value is returned, so a key that does not open can
-- be given it back). No row: the generation was not admitted (the reservation refused it).
create or replace function app_engine.clear_first_attempt(generation uuid, provider text, clock timestamptz,
                                                         cooldown_seconds double precision, needs_key boolean)
returns table (skip_reason text, key_id uuid, key_user_id uuid, key_ciphertext bytea, previous_last_used_at timestamptz)
language plpgsql security invoker set search_path = '' as $$
declare
    reopen timestamptz;
    rpm integer;
    chosen record;
begin
    perform from public.generations g
    where g.id = clear_first_attempt.generation and g.status = 'running' and g.submitting is not null;
    if not found then
        return;
    end if;
    select h.reopen_at into reopen from public.provider_health h where h.provider = clear_first_attempt.provider;
    if reopen is not null then
        -- A circuit that is not closed: its row is locked before the bucket's, the order in which
        -- an attempt's report writes them, so the two never wait on each other in a cycle.
        select h.reopen_at into reopen from public.provider_health h where h.provider = clear_first_attempt.provider for update;
    end if;
    if reopen is not null and clock < reopen then
        return query select 'circuit_open'::text, null::uuid, null::uuid, null::bytea, null::timestamptz;
        return;
    end if;
    -- The token before the trial: a refused token must not leave a claimed trial unused.
    select c.requests_per_minute into rpm from public.provider_configs c where c.provider = clear_first_attempt.provider;
    perform from app_engine.take_rate_token(clear_first_attempt.provider, rpm, clock);
    if not found then
        return query select 'rate_limited'::text, null::uuid, null::uuid, null::bytea, null::timestamptz;
        return;
    end if;
    if reopen is not null then
        update public.provider_health h
        set reopen_at = clock + make_interval(secs => cooldown_seconds), updated_at = clock
        where h.provider = clear_first_attempt.provider and h.reopen_at is not null and h.reopen_at <= clock;
        if not found then
            return query select 'circuit_open'::text, null::uuid, null::uuid, null::bytea, null::timestamptz;
            return;
        end if;
    end if;
    if needs_key then
        select k.id, k.user_id, k.ciphertext, k.last_used_at into chosen from public.user_api_keys k
        where k.provider = clear_first_attempt.provider and k.status <> 'invalid'
        order by (k.status = 'valid') desc, k.created_at desc, k.id
        limit 1;
        if found then
            update public.user_api_keys k set last_used_at = clock where k.id = chosen.id;
            return query select null::text, chosen.id, chosen.user_id, chosen.ciphertext, chosen.last_used_at;
            return;
        end if;
    end if;
    return query select null::text, null::uuid, null::uuid, null::bytea, null::timestamptz;
end
$$;

do $$
declare
    f text;
begin
    foreach f in array array[
        'app_engine.take_rate_token(text, integer, timestamptz)',
        'app_engine.clear_first_attempt(uuid, text, timestamptz, double precision, boolean)'] loop
        execute format('revoke all on function %s from public', f);
        execute format('grant execute on function %s to authenticated', f);
    end loop;
end
$$;
