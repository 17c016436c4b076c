-- A group's attempt reports in one call. The end writer (one per project) sends the reports of the
-- ends it wrote together in a transaction of their own after the ends; each was one call of
-- app_engine.report_attempt, a statement per report. app_engine.report_attempts takes them as one
-- array and reports each in order through report_attempt, so each is still dropped alone if it
-- fails, and what a report writes is still written in one place.

grant create on schema app_engine to app_engine_writer;

create function app_engine.report_attempts(reports app_engine.attempt_report[])
returns void
language plpgsql security invoker set search_path = '' as $$
declare
    report app_engine.attempt_report;
begin
    if cardinality(reports) > 64 then
        raise exception 'at most 64 reports' using errcode = '22023';
    end if;
    foreach report in array coalesce(reports, '{}') loop
        perform app_engine.report_attempt(report);
    end loop;
end
$$;

revoke all on function app_engine.report_attempts(app_engine.attempt_report[]) from public;
alter function app_engine.report_attempts(app_engine.attempt_report[]) owner to app_engine_writer;
grant execute on function app_engine.report_attempts(app_engine.attempt_report[]) to authenticated;
revoke create on schema app_engine from app_engine_writer;
