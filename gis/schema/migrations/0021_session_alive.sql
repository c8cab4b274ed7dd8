-- 0021: the session check of a lookup, inside the lookup's own statement.
--
-- Since 0012 a worker that knows a token sends pingan_resume ahead of the
-- lookup, in the same round trip: the session is checked and the scope set
-- again on every request.  As a statement of its own in that message it cost
-- a lookup about 0.06 ms of the server's time under load (parse, plan and
-- portal of the call, five set_config), 18 us of which is the check itself.
--
-- A pooled connection mostly serves the same session request after request
-- (a sync worker holds one connection), and then its settings are already
-- that session's.  For that case the web lookup's statement (gis.lookup, the
-- "_audited" forms) calls pingan_alive(session's token hash) as its top-level
-- filter, a one-time filter PostgreSQL evaluates before it reads a row; the
-- audit row, written by the statement's own CTE, is not written when it fails.
-- pingan_alive checks in the database that the session is live and that the
-- connection's settings are exactly its scope: the worker's belief that they
-- are is only a hint.  Otherwise it raises, and no row is returned:
--   PA401  the session ended (logout, revoked, expired, disabled user):
--          the request is refused, as by pingan_resume;
--   PA409  the session lives but the settings are not its scope (the user's
--          role, station or grid changed, or the connection last served
--          someone else): the worker runs the statement again behind
--          pingan_resume, which sets the scope from the database or refuses.
-- NULL (a statement the resume prefix already checked, the CLI) passes.
CREATE FUNCTION pingan_alive(p_hash bytea) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE
    r record;
BEGIN
    IF p_hash IS NULL THEN
        RETURN true;
    END IF;
    SELECT * INTO r FROM live_session l WHERE l.token_hash = p_hash;
    IF r.user_id IS NULL THEN
        RAISE EXCEPTION 'session ended' USING ERRCODE = 'PA401';
    END IF;
    IF r.username IS DISTINCT FROM current_setting('pingan.user', true)
       OR r.role IS DISTINCT FROM current_setting('pingan.role', true)
       OR coalesce(r.station_id::text, '')
          IS DISTINCT FROM current_setting('pingan.station', true)
       OR coalesce(array_to_string(r.grid_ids, ','), '')
          IS DISTINCT FROM current_setting('pingan.grids', true) THEN
        RAISE EXCEPTION 'scope not set' USING ERRCODE = 'PA409';
    END IF;
    RETURN true;
END $$;
REVOKE EXECUTE ON FUNCTION pingan_alive(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pingan_alive(bytea) TO pingan_web;
