-- Why the last key check came out as it did (the provider's reason, never the key).
alter table public.user_api_keys add column if not exists last_check_reason text;
