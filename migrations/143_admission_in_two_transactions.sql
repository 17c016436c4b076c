-- Admission in two transactions, still in one round trip: the reservation commits on its own
-- (app_ledger.reserve, which locks the project row and the budget scopes), then this function creates
-- the admitted generation and the first attempt is cleared (rate token, key) in a second transaction.
-- Every generation of a project waits for that project row; with one transaction the lock was held
-- through the generation's row, its events, the rate-limit row and the key row too.
--
-- If the second transaction never commits (the connection broke, the process died), the reservation
-- has no generation: the sweep releases such a reservation after five minutes, and the server releases
-- it at once when it sees the failure.
--
-- app_engine.admit_generation (migration 110), the one-transaction form whose second half this is,
-- has no caller left and is dropped, so the insert is written once.

grant create on schema app_engine to app_engine_writer;

-- admit_generation's second half (migration 110): the generation, admitted (its reservation exists),
-- queued or started, with its first events. Nothing when the reservation was refused. Errors:
-- 42501 no user; 23505 the generation exists already.
create function app_engine.admit_reserved(
    generation uuid, project uuid, kind text, prompt text, parameters jsonb, requested_provider text,
    requested_model text, provider text, model text, candidates jsonb, estimate numeric, max_cost numeric,
    pricing_version text, lease_owner text, lease_seconds integer, start boolean)
returns void
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if not exists (select from public.budget_ledger l
                   where l.generation_id = admit_reserved.generation and l.kind = 'reservation' and l.user_id = caller
                     and l.project_id = admit_reserved.project) then
        return;
    end if;
    insert into public.generations (id, user_id, project_id, kind, prompt, parameters, requested_provider, requested_model,
                                    provider, model, candidates, status, estimate, max_cost, pricing_version, lease_owner,
                                    lease_expires_at, started_at, submitting)
    values (admit_reserved.generation, caller, admit_reserved.project, admit_reserved.kind, admit_reserved.prompt,
            coalesce(admit_reserved.parameters, '{}'), admit_reserved.requested_provider, admit_reserved.requested_model,
            admit_reserved.provider, admit_reserved.model, coalesce(admit_reserved.candidates, '[]'),
            case when admit_reserved.start then 'running' else 'queued' end, admit_reserved.estimate,
            admit_reserved.max_cost, admit_reserved.pricing_version, admit_reserved.lease_owner,
            now() + make_interval(secs => greatest(admit_reserved.lease_seconds, 1)),
            case when admit_reserved.start then now() end,
            case when admit_reserved.start
                 then jsonb_build_object('provider', admit_reserved.provider, 'model', admit_reserved.model) end);
    insert into public.generation_events (user_id, generation_id, type, payload)
    values (caller, admit_reserved.generation, 'queued',
            jsonb_build_object('status', 'queued', 'estimate', admit_reserved.estimate::text));
    if admit_reserved.start then
        insert into public.generation_events (user_id, generation_id, type, payload)
        values (caller, admit_reserved.generation, 'started', '{}');
    end if;
end
$$;

drop function app_engine.admit_generation(uuid, uuid, text, text, jsonb, text, text, text, text, jsonb, numeric, numeric,
                                          text, text, integer, boolean);

revoke all on function app_engine.admit_reserved(uuid, uuid, text, text, jsonb, text, text, text, text, jsonb, numeric, numeric,
                                                  text, text, integer, boolean) from public;
alter function app_engine.admit_reserved(uuid, uuid, text, text, jsonb, text, text, text, text, jsonb, numeric, numeric,
                                         text, text, integer, boolean) owner to app_engine_writer;
grant execute on function app_engine.admit_reserved(uuid, uuid, text, text, jsonb, text, text, text, text, jsonb, numeric, numeric,
                                                    text, text, integer, boolean) to authenticated;
revoke create on schema app_engine from app_engine_writer;
