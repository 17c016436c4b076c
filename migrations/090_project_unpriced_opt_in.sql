-- A project may opt into spend the price list cannot price (models OpenRouter and FAL serve that
-- the list does not know). Off by default: without it such a candidate is never admitted. The
-- owner sets it on create and with PATCH, like the budget.
alter table public.projects add column if not exists allow_unpriced boolean not null default false;
grant insert (allow_unpriced) on public.projects to authenticated;
grant update (allow_unpriced) on public.projects to authenticated;
