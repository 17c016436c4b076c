-- What the router reads per user and provider: the user's configuration (enabled, priority, rate
-- and monthly budget, default models), the provider's health as this user's attempts saw it (with
-- its circuit), and the rate-limit bucket of the user's credential. Health and buckets live here,
-- not in a process's memory, so every `serve` and `worker` process sees the same circuit and the
-- same remaining rate. Rules as in DESIGN.md: user_id owned by auth.users, RLS enabled and forced,
-- owner policies written with (select auth.uid()), keys leading with user_id, per-column grants.

-- 1. Configuration (`GET/PUT /v1/provider-configs/{provider}`). No row means the defaults.
create table public.provider_configs (
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    provider text not null check (provider in ('openai', 'anthropic', 'openrouter', 'elevenlabs', 'runway', 'veo', 'fal', 'local')),
    enabled boolean not null default true,
    -- Lower comes first; ties are broken by the catalog's order.
    priority integer not null default 100 check (priority between 0 and 1000),
    -- Null: no limit of our own (the provider's learned limits still apply).
    requests_per_minute integer check (requests_per_minute between 1 and 100000),
    -- USD per UTC calendar month; null means no limit. At most 10 decimals, as Money.
    monthly_budget numeric check (monthly_budget >= 0 and scale(monthly_budget) <= 10),
    -- media kind → model id, validated against the catalog by the API.
    default_models jsonb not null default '{}' check (jsonb_typeof(default_models) = 'object'),
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (user_id, provider)
);

alter table public.provider_configs enable row level security;
alter table public.provider_configs force row level security;
create policy provider_configs_select on public.provider_configs for select to authenticated using ((select auth.uid()) = user_id);
create policy provider_configs_insert on public.provider_configs for insert to authenticated with check ((select auth.uid()) = user_id);
create policy provider_configs_update on public.provider_configs for update to authenticated
    using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);

revoke all on public.provider_configs from public, anon, authenticated, service_role;
grant select on public.provider_configs to authenticated;
grant insert (provider, enabled, priority, requests_per_minute, monthly_budget, default_models) on public.provider_configs to authenticated;
grant update (enabled, priority, requests_per_minute, monthly_budget, default_models) on public.provider_configs to authenticated;
grant select, insert, update, delete on public.provider_configs to service_role;

create or replace function app_private.provider_configs_touch() returns trigger
language plpgsql set search_path = '' as $$
begin
    -- Every update is a new version (the ETag) at a new time, whoever writes and whatever they set.
    new.version := old.version + 1;
    new.updated_at := now();
    return new;
end
$$;
revoke all on function app_private.provider_configs_touch() from public;
create trigger provider_configs_touch before update on public.provider_configs
    for each row execute function app_private.provider_configs_touch();

-- 2. Health, one row per user and provider, written by one upsert per attempt (the transition is
-- Domain's ProviderHealth, mirrored by PostgresProviderHealthStore's statement).
create table public.provider_health (
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    provider text not null check (provider in ('openai', 'anthropic', 'openrouter', 'elevenlabs', 'runway', 'veo', 'fal', 'local')),
    consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
    last_error_code text check (char_length(last_error_code) <= 64),
    last_error_at timestamptz,
    last_success_at timestamptz,
    -- Exponential moving average of successful attempts' latency; a measurement, not money.
    latency_ms double precision check (latency_ms >= 0),
    -- Null: the circuit is closed. Otherwise it is open until then and half-open after.
    reopen_at timestamptz,
    updated_at timestamptz not null default now(),
    primary key (user_id, provider)
);

alter table public.provider_health enable row level security;
alter table public.provider_health force row level security;
create policy provider_health_select on public.provider_health for select to authenticated using ((select auth.uid()) = user_id);
create policy provider_health_insert on public.provider_health for insert to authenticated with check ((select auth.uid()) = user_id);
create policy provider_health_update on public.provider_health for update to authenticated
    using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);

revoke all on public.provider_health from public, anon, authenticated, service_role;
grant select on public.provider_health to authenticated;
grant insert (provider, consecutive_failures, last_error_code, last_error_at, last_success_at, latency_ms, reopen_at, updated_at)
    on public.provider_health to authenticated;
grant update (consecutive_failures, last_error_code, last_error_at, last_success_at, latency_ms, reopen_at, updated_at)
    on public.provider_health to authenticated;
grant select, insert, update, delete on public.provider_health to service_role;

-- 3. The token bucket of the user's credential for a provider: the configured requests per minute,
-- tightened by what the provider's answers said (remaining requests, reset, retry-after).
create table public.provider_rate_limits (
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    provider text not null check (provider in ('openai', 'anthropic', 'openrouter', 'elevenlabs', 'runway', 'veo', 'fal', 'local')),
    tokens double precision not null default 0,
    -- The provider asked us to wait until then (retry-after, or nothing remaining until the reset).
    blocked_until timestamptz,
    updated_at timestamptz not null default now(),
    primary key (user_id, provider)
);

alter table public.provider_rate_limits enable row level security;
alter table public.provider_rate_limits force row level security;
create policy provider_rate_limits_select on public.provider_rate_limits for select to authenticated using ((select auth.uid()) = user_id);
create policy provider_rate_limits_insert on public.provider_rate_limits for insert to authenticated with check ((select auth.uid()) = user_id);
create policy provider_rate_limits_update on public.provider_rate_limits for update to authenticated
    using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);

revoke all on public.provider_rate_limits from public, anon, authenticated, service_role;
grant select on public.provider_rate_limits to authenticated;
grant insert (provider, tokens, blocked_until, updated_at) on public.provider_rate_limits to authenticated;
grant update (tokens, blocked_until, updated_at) on public.provider_rate_limits to authenticated;
grant select, insert, update, delete on public.provider_rate_limits to service_role;
