-- Storage quotas (STORAGE_QUOTA_BYTES) sum a user's asset sizes: before every upload and, at most
-- every few seconds, before a user's generations. The user's index (user_id, created_at, id) now
-- carries each asset's size, so that sum is an index-only scan of the user's entries instead of a
-- heap read per asset; it replaces the index it extends, so asset writes keep one index for both.
create index if not exists assets_user_created_bytes_idx on public.assets (user_id, created_at desc, id desc) include (bytes);
drop index if exists public.assets_user_created_idx;
