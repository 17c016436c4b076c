-- Blobs are stored once per user, not once for everyone (issue #17). Before this migration a
-- blob's key was `sha256/ab/cd/<hex>` of its bytes alone, shared by every user: anyone who could
-- call a function that names a blob (`app_engine.create_upload`, `add_asset`, `set_thumbnail`) and
-- knew a hash could point a row at another user's bytes. Keys are now
-- `users/<user id>/sha256/ab/cd/<hex>`, and the table itself checks that a row's keys are its own
-- user's: every writer function, present or future, inserts rows with `user_id = auth.uid()`, so
-- the check is "the blob key belongs to the calling user" for all of them at once.
--
-- Existing rows move to their user's key here; the files (local or S3) are moved once by the
-- server at startup and by `apiserver storage gc` before it sweeps (LegacyBlobMove).

update public.assets
set storage_key = 'users/' || user_id::text || '/' || storage_key
where storage_key ~ '^sha256/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}$';

update public.assets
set thumbnail_key = 'users/' || user_id::text || '/' || thumbnail_key
where thumbnail_key ~ '^sha256/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}$';

-- The content key is exactly the owner's key for the row's hash; a thumbnail (derived bytes, its
-- own hash) any key of the owner's shape.
alter table public.assets
    add constraint assets_storage_key_is_owners check (
        sha256 ~ '^[0-9a-f]{64}$'
        and storage_key = 'users/' || user_id::text || '/sha256/' || substr(sha256, 1, 2) || '/' || substr(sha256, 3, 2) || '/' || sha256),
    add constraint assets_thumbnail_key_is_owners check (
        thumbnail_key is null
        or thumbnail_key ~ ('^users/' || user_id::text || '/sha256/([0-9a-f]{2})/([0-9a-f]{2})/\1\2[0-9a-f]{60}$'));
