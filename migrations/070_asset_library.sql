-- The asset library (issue #17): uploads next to generation outputs, with names, tags, favourites,
-- archive, preview metadata, a version for If-Match, and lineage (parent assets).
--
-- As in migration 010, users read their own rows and write none directly: every write goes
-- through a SECURITY DEFINER function in `app_engine` that allows exactly what the API allows
-- (the columns PATCH may change; an upload's metadata is the server's, never the client's). The
-- storage key is never client input: the store derives it from the bytes.

alter table public.assets
    add column name text check (char_length(name) between 1 and 255),
    add column description text check (char_length(description) <= 2000),
    add column tags text[] not null default '{}' check (cardinality(tags) <= 32),
    add column favourite boolean not null default false,
    add column archived boolean not null default false,
    add column source text not null default 'generated' check (source in ('generated', 'uploaded')),
    add column width integer check (width > 0),
    add column height integer check (height > 0),
    add column duration_ms bigint check (duration_ms >= 0),
    add column preview_text text check (char_length(preview_text) <= 280),
    add column thumbnail_key text,
    add column thumbnail_state text not null default 'unavailable' check (thumbnail_state in ('pending', 'ready', 'unavailable')),
    add column original_filename text check (char_length(original_filename) between 1 and 255),
    add column version integer not null default 1,
    add column updated_at timestamptz not null default now();
create index assets_user_created_idx on public.assets (user_id, created_at desc, id desc);
create index assets_user_tags_idx on public.assets using gin (tags);
create index assets_storage_key_idx on public.assets (storage_key);

-- Which assets an asset was made from (an edit, an image-to-video input); queryable both ways.
create table public.asset_parents (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    asset_id uuid not null references public.assets (id) on delete cascade,
    parent_id uuid not null references public.assets (id) on delete cascade,
    created_at timestamptz not null default now(),
    unique (asset_id, parent_id),
    check (asset_id <> parent_id)
);
create index asset_parents_user_idx on public.asset_parents (user_id, asset_id);
create index asset_parents_parent_idx on public.asset_parents (parent_id);

alter table public.asset_parents enable row level security;
alter table public.asset_parents force row level security;
revoke all on public.asset_parents from public, anon, authenticated, service_role;
grant select on public.asset_parents to authenticated;
grant select, insert, update, delete on public.asset_parents to service_role;
create policy asset_parents_select on public.asset_parents for select to authenticated
    using ((select auth.uid()) = user_id);

grant insert on public.asset_parents to app_engine_writer;
create policy asset_parents_engine_insert on public.asset_parents for insert to app_engine_writer
    with check ((select auth.uid()) = user_id);
grant update, delete on public.assets to app_engine_writer;
create policy assets_engine_update on public.assets for update to app_engine_writer
    using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy assets_engine_delete on public.assets for delete to app_engine_writer
    using ((select auth.uid()) = user_id);

grant create on schema app_engine to app_engine_writer;

-- An uploaded file, stored already (the blob is durable before this runs). `parents` must be the
-- caller's assets. Errors: 42501 no user; P0002 a parent that is not the caller's.
create or replace function app_engine.create_upload(
    asset uuid, project uuid, kind text, content_type text, bytes bigint, sha256 text, storage_key text,
    name text, original_filename text, width integer, height integer, duration_ms bigint, preview_text text,
    thumbnail_state text, parents uuid[])
returns setof public.assets
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    created public.assets;
    parent uuid;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    insert into public.assets (id, user_id, project_id, generation_id, kind, content_type, bytes, sha256, storage_key, name,
                               original_filename, source, width, height, duration_ms, preview_text, thumbnail_state)
    values (asset, caller, project, null, kind, content_type, bytes, sha256, storage_key, name, original_filename, 'uploaded',
            width, height, duration_ms, preview_text, coalesce(thumbnail_state, 'unavailable'))
    returning * into created;
    foreach parent in array coalesce(parents, '{}') loop
        perform from public.assets a where a.id = parent and a.user_id = caller;
        if not found then
            raise exception 'parent asset not found' using errcode = 'P0002';
        end if;
        insert into public.asset_parents (user_id, asset_id, parent_id) values (caller, asset, parent) on conflict do nothing;
    end loop;
    return next created;
end
$$;

-- Changes what PATCH and bulk operations may change, and only that: name, description, tags (set,
-- add or remove), favourite, archived, project. Every change is a new version. Returns nothing for
-- an asset the caller does not have; raises AS412 when `expected_version` is given and stale.
create or replace function app_engine.update_asset(asset uuid, expected_version integer, changes jsonb)
returns setof public.assets
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    current public.assets;
    updated public.assets;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    select * into current from public.assets a where a.id = update_asset.asset and a.user_id = caller for update;
    if not found then
        return;
    end if;
    if expected_version is not null and expected_version <> current.version then
        raise exception 'asset changed' using errcode = 'AS412';
    end if;
    update public.assets a set
        name = case when changes ? 'name' then changes->>'name' else a.name end,
        description = case when changes ? 'description' then changes->>'description' else a.description end,
        tags = case
            when changes ? 'tags' then array(select distinct t from jsonb_array_elements_text(changes->'tags') t order by 1)
            when changes ? 'add_tags' then array(select distinct t from unnest(a.tags || array(select jsonb_array_elements_text(changes->'add_tags'))) t order by 1)
            when changes ? 'remove_tags' then array(select t from unnest(a.tags) t
                                                     where t <> all (array(select jsonb_array_elements_text(changes->'remove_tags'))) order by 1)
            else a.tags end,
        favourite = case when changes ? 'favourite' then (changes->>'favourite')::boolean else a.favourite end,
        archived = case when changes ? 'archived' then (changes->>'archived')::boolean else a.archived end,
        project_id = case when changes ? 'project_id' then (changes->>'project_id')::uuid else a.project_id end,
        version = a.version + 1,
        updated_at = now()
    where a.id = current.id
    returning * into updated;
    return next updated;
end
$$;

-- Deletes the caller's assets among `ids` and says which blobs they named; the server deletes a
-- blob once no row (of anyone) names it.
create or replace function app_engine.delete_assets(ids uuid[])
returns table (id uuid, storage_key text, thumbnail_key text)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    return query delete from public.assets a where a.id = any(delete_assets.ids) and a.user_id = caller
        returning a.id, a.storage_key, a.thumbnail_key;
end
$$;

-- Records a derived thumbnail (or poster frame) once it is made off the request, or that none will be.
create or replace function app_engine.set_thumbnail(asset uuid, state text, key text)
returns void
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    update public.assets a set thumbnail_state = set_thumbnail.state, thumbnail_key = set_thumbnail.key
    where a.id = set_thumbnail.asset and a.user_id = caller;
end
$$;

do $$
declare
    f text;
begin
    foreach f in array array[
        'app_engine.create_upload(uuid, uuid, text, text, bigint, text, text, text, text, integer, integer, bigint, text, text, uuid[])',
        'app_engine.update_asset(uuid, integer, jsonb)',
        'app_engine.delete_assets(uuid[])',
        'app_engine.set_thumbnail(uuid, text, text)'] loop
        execute format('revoke all on function %s from public', f);
        execute format('alter function %s owner to app_engine_writer', f);
        execute format('grant execute on function %s to authenticated', f);
    end loop;
end
$$;
revoke create on schema app_engine from app_engine_writer;
