-- Indexes for reads that grew with everyone's rows instead of the page's.
--
-- generation_events had one index besides its key, (user_id, generation_id, id). It served none of
-- its three readers in the order they read: a user's event stream (every generation, in id order)
-- sorted all of that user's events for each page; one generation's stream, planned generically
-- (the API's statements are), could not bound its scan by the generation; and deleting a
-- generation (a project's or an account's delete cascades to its events) scanned the whole table,
-- every user's events, once per generation. Each reader now has an index in its order: the user's
-- stream (user_id, id), one generation's stream and the cascade (generation_id, id). The old index
-- goes, so an event insert maintains one secondary index more than before, not two.
create index if not exists generation_events_user_id_order_idx on public.generation_events (user_id, id);
create index if not exists generation_events_generation_id_order_idx on public.generation_events (generation_id, id);
drop index if exists public.generation_events_user_idx;

-- Whether a stored blob is still named after an asset's delete (or an account's) looks at
-- thumbnails as well as contents; only contents were indexed, so each look scanned every asset.
create index if not exists assets_thumbnail_key_idx on public.assets (thumbnail_key) where thumbnail_key is not null;

-- Deleting an account removes its refresh tokens by user: a scan of every user's tokens before.
create index if not exists refresh_tokens_user_id_idx on auth.refresh_tokens (user_id);
