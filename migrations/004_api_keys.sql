-- The provider-key vault. Keys are stored only as AES-256-GCM envelopes (see README, "Provider
-- keys"); the salt from which the key-encryption key is derived lives outside `public`, where only
-- service_role reaches it.

create schema if not exists app_private;
revoke all on schema app_private from public;
grant usage on schema app_private to service_role;

-- One row. The server inserts the salt on first start (`on conflict do nothing`, then reads back),
-- so every process derives the same key from the same secret; the scrypt parameters are recorded
-- beside it so a later change of defaults cannot make old ciphertexts unreadable.
create table if not exists app_private.vault_settings (
    id boolean primary key default true check (id),
    kek_salt bytea not null check (length(kek_salt) >= 16),
    scrypt_parameters text not null,
    created_at timestamptz not null default now()
);
alter table app_private.vault_settings enable row level security;
revoke all on app_private.vault_settings from public, anon, authenticated;
grant select, insert on app_private.vault_settings to service_role;

create table if not exists public.user_api_keys (
    id uuid primary key,
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    provider text not null check (provider in ('openai', 'anthropic', 'openrouter', 'elevenlabs', 'runway', 'veo', 'fal')),
    label text not null check (length(label) between 1 and 100),
    -- The crypto envelope: format, key version, nonce, ciphertext, tag. Never the plaintext.
    ciphertext bytea not null,
    -- The envelope's key version, repeated so rotation can find stale rows with an index.
    key_version bigint not null,
    -- The mask (`sk-…abcd`) is kept in clear so a list needs no decryption.
    mask_prefix text not null check (length(mask_prefix) <= 3),
    last4 text not null check (length(last4) <= 4),
    -- HMAC-SHA256 of the key under a sub-key of the key-encryption key: duplicates without decrypting.
    fingerprint bytea not null,
    status text not null default 'unchecked' check (status in ('unchecked', 'valid', 'invalid')),
    last_checked_at timestamptz,
    last_used_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists user_api_keys_user_provider_idx on public.user_api_keys (user_id, provider, created_at desc);
create unique index if not exists user_api_keys_fingerprint_key on public.user_api_keys (user_id, provider, fingerprint);
-- Rotation walks the rows not yet on the current version.
create index if not exists user_api_keys_key_version_idx on public.user_api_keys (key_version);

alter table public.user_api_keys enable row level security;
alter table public.user_api_keys force row level security;
drop policy if exists user_api_keys_select on public.user_api_keys;
drop policy if exists user_api_keys_insert on public.user_api_keys;
drop policy if exists user_api_keys_update on public.user_api_keys;
drop policy if exists user_api_keys_delete on public.user_api_keys;
create policy user_api_keys_select on public.user_api_keys for select to authenticated using ((select auth.uid()) = user_id);
create policy user_api_keys_insert on public.user_api_keys for insert to authenticated with check ((select auth.uid()) = user_id);
create policy user_api_keys_update on public.user_api_keys for update to authenticated
    using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy user_api_keys_delete on public.user_api_keys for delete to authenticated using ((select auth.uid()) = user_id);

revoke all on public.user_api_keys from anon;
grant select, insert, update, delete on public.user_api_keys to authenticated, service_role;
