-- A group's first-attempt clearances in one call. The server creates a project's admitted
-- generations as a group (migration 172), but cleared each started one's first attempt with its own
-- app_engine.clear_first_attempt statement: the generation, the provider's circuit, its configured
-- rate, the rate bucket and the user's keys read again for every generation, and the chosen key's
-- row written once per generation (a new version of one hot row each time). At 64 connections these
-- were about a tenth of PostgreSQL's time per chat completion (pg_stat_statements, BENCHMARKS.md run O).
--
-- app_engine.clear_first_attempts clears a group in its order and answers what consecutive
-- clear_first_attempt calls answer, each row numbered by its item's position (from 1); an item
-- whose generation is not started here gets no row, as alone. A provider whose circuit is closed,
-- with no configured rate and a bucket row (every provider of a user past their first generation,
-- in the default configuration) is read once for the group: its block is judged at each item's
-- clock, its key (the same one every call would choose) is answered with the last-use time the
-- item before left, and the key's row is written once, with the last item's time. Any other
-- provider's items (a circuit not closed, a rate to take from, no bucket yet) still go one by one
-- through clear_first_attempt, in order. A lone admission keeps clear_first_attempt.

grant create on schema app_engine to app_engine_writer;

create function app_engine.clear_first_attempts(generations uuid[], providers text[], clocks timestamptz[],
                                                cooldowns double precision[], needs_keys boolean[])
returns table (ordinal integer, skip_reason text, key_id uuid, key_user_id uuid, key_ciphertext bytea,
               previous_last_used_at timestamptz)
language plpgsql security invoker set search_path = '' as $$
declare
    n integer := coalesce(cardinality(clear_first_attempts.generations), 0);
    i integer;
    j integer;
    p text;
    started uuid[];
    decided text[] := '{}';
    -- The providers read once for the group, and for each (at the same position) its stored block,
    -- its key and the key's last use as the items so far have left it.
    quick text[] := '{}';
    blocks timestamptz[] := '{}';
    key_ids uuid[] := '{}';
    key_users uuid[] := '{}';
    key_texts bytea[] := '{}';
    last_uses timestamptz[] := '{}';
    used boolean[] := '{}';
    reopen timestamptz;
    rpm integer;
    bucket record;
    chosen record;
begin
    if n not between 1 and 64 or cardinality(providers) is distinct from n or cardinality(clocks) is distinct from n
       or cardinality(cooldowns) is distinct from n or cardinality(needs_keys) is distinct from n
       or array_position(generations, null) is not null or array_position(providers, null) is not null
       or array_position(clocks, null) is not null or array_position(cooldowns, null) is not null
       or array_position(needs_keys, null) is not null then
        raise exception '1 to 64 first attempts, each with a generation, a provider, a clock, a cooldown and whether it needs a key, are required'
            using errcode = '22023';
    end if;
    started := array(select g.id from public.generations g
                     where g.id = any(clear_first_attempts.generations) and g.status = 'running' and g.submitting is not null);
    for i in 1 .. n loop
        if not (generations[i] = any(started)) then
            continue;
        end if;
        p := providers[i];
        if not (p = any(decided)) then
            decided := decided || p;
            select h.reopen_at into reopen from public.provider_health h where h.provider = p;
            select c.requests_per_minute into rpm from public.provider_configs c where c.provider = p;
            select r.blocked_until into bucket from public.provider_rate_limits r where r.provider = p;
            if reopen is null and rpm is null and found then
                select k.id, k.user_id, k.ciphertext, k.last_used_at into chosen from public.user_api_keys k
                where k.provider = p and k.status <> 'invalid'
                order by (k.status = 'valid') desc, k.created_at desc, k.id
                limit 1;
                quick := quick || p;
                blocks := blocks || bucket.blocked_until;
                key_ids := key_ids || chosen.id;
                key_users := key_users || chosen.user_id;
                key_texts := key_texts || chosen.ciphertext;
                last_uses := last_uses || chosen.last_used_at;
                used := used || false;
            end if;
        end if;
        j := array_position(quick, p);
        if j is null then
            return query select i, c.skip_reason, c.key_id, c.key_user_id, c.key_ciphertext, c.previous_last_used_at
                         from app_engine.clear_first_attempt(generations[i], p, clocks[i], cooldowns[i], needs_keys[i]) c;
        elsif blocks[j] > clocks[i] then
            -- take_rate_token without a rate: a block still in force at the clock refuses.
            return query select i, 'rate_limited'::text, null::uuid, null::uuid, null::bytea, null::timestamptz;
        elsif needs_keys[i] and key_ids[j] is not null then
            return query select i, null::text, key_ids[j], key_users[j], key_texts[j], last_uses[j];
            last_uses[j] := clocks[i];
            used[j] := true;
        else
            return query select i, null::text, null::uuid, null::uuid, null::bytea, null::timestamptz;
        end if;
    end loop;
    for j in 1 .. cardinality(quick) loop
        if used[j] then
            update public.user_api_keys k set last_used_at = last_uses[j] where k.id = key_ids[j];
        end if;
    end loop;
end
$$;

revoke all on function app_engine.clear_first_attempts(uuid[], text[], timestamptz[], double precision[], boolean[]) from public;
alter function app_engine.clear_first_attempts(uuid[], text[], timestamptz[], double precision[], boolean[]) owner to app_engine_writer;
grant execute on function app_engine.clear_first_attempts(uuid[], text[], timestamptz[], double precision[], boolean[]) to authenticated;

revoke create on schema app_engine from app_engine_writer;
