-- The project's summary row (migration 140) folded once per statement instead of once per entry.
--
-- The row-level trigger upserted project_budget_totals for every ledger entry: three times per
-- generation (its reservation, release and charge), each a new version of the same hot row. Since
-- 170 and 171 a project's group writes its entries with one statement per table, so a statement-level
-- trigger over the inserted rows folds a whole group into one upsert per project: fewer row
-- versions for every later reader of that row to step over, and one trigger call instead of one
-- per entry. The figures are the same: a project's entries of one month fold as their sums, and
-- its months in order, as the entries one by one would. (The ledger functions' entries take the
-- column's default, now(), which they may not set, so theirs are all of one month; only an
-- administrator writes others.) Projects are folded in id order, the order the ledger functions
-- lock them in.

grant create on schema app_ledger to app_ledger_writer;

create function app_ledger.fold_ledger_entries() returns trigger
language plpgsql security invoker set search_path = '' as $$
declare
    folded record;
begin
    for folded in
        select i.project_id, i.user_id, date_trunc('month', i.created_at, 'UTC') as entry_month,
               coalesce(sum(i.amount) filter (where i.kind = 'charge'), 0) as charged,
               coalesce(sum(case i.kind when 'reservation' then i.amount when 'release' then -i.amount else 0 end), 0) as held
        from inserted i
        group by i.project_id, i.user_id, date_trunc('month', i.created_at, 'UTC')
        order by i.project_id, entry_month
    loop
        insert into public.project_budget_totals as t (project_id, user_id, spent_total, month_start, spent_month, reserved)
        values (folded.project_id, folded.user_id, folded.charged, folded.entry_month, folded.charged, folded.held)
        on conflict (project_id) do update
        set spent_total = t.spent_total + folded.charged,
            spent_month = case when folded.entry_month > t.month_start then folded.charged
                               when folded.entry_month = t.month_start then t.spent_month + folded.charged
                               else t.spent_month end,
            month_start = greatest(t.month_start, folded.entry_month),
            reserved = t.reserved + folded.held,
            updated_at = now();
    end loop;
    return null;
end
$$;

drop trigger budget_ledger_fold on public.budget_ledger;
create trigger budget_ledger_fold after insert on public.budget_ledger
    referencing new table as inserted
    for each statement execute function app_ledger.fold_ledger_entries();
drop function app_ledger.fold_ledger_entry();

revoke all on function app_ledger.fold_ledger_entries() from public;
revoke create on schema app_ledger from app_ledger_writer;
