-- The default project (issue #15): `POST /v1/chat/completions` charges the project named by
-- `X-Project-Id`, else the caller's default project, which the first such request creates.
-- At most one per user (the partial unique index), so two first requests racing make one.
-- The owner creates it through the ordinary insert (RLS: their own row); it is an ordinary
-- project otherwise (renamed, budgeted, archived or deleted like any other; a deleted one is
-- made again on the next request without X-Project-Id).

alter table public.projects add column is_default boolean not null default false;
create unique index projects_one_default_idx on public.projects (user_id) where is_default;
grant insert (is_default) on public.projects to authenticated;
