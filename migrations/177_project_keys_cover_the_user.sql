-- Rows that belong to a project no longer check their user separately. A generation, a ledger entry,
-- an asset and a project's summary row each carry (user_id, project_id) with a foreign key to the
-- project's (user_id, id), whose user_id references auth.users with ON DELETE CASCADE; project_id is
-- never null on any of them, so that key already proves the user exists and already removes the rows
-- with their user (through the project). Their own key to auth.users added a second check on the
-- user's row for every such insert, five per chat completion, each taking a share lock on that one
-- hot row. The other user tables keep theirs: they have no project to carry it.

alter table public.generations drop constraint generations_user_id_fkey;
alter table public.budget_ledger drop constraint budget_ledger_user_id_fkey;
alter table public.assets drop constraint assets_user_id_fkey;
alter table public.project_budget_totals drop constraint project_budget_totals_user_id_fkey;
