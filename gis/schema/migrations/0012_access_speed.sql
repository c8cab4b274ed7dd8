-- 0012: the access rule of 0011 at the price of the unscoped lookup.
--
-- Measured against the release before sign-in (bench_access.py): a signed-in
-- single lookup kept 0.62 of its throughput.  Two of the causes are here.

-- The nearest post the caller may see ---------------------------------------------
-- Under post's row policy the nearest-post search lost its index: `&&` and `<->`
-- are not leakproof, so PostgreSQL applies the policy to every post before it
-- may test a box or a distance (0.09 ms a point on the demo, against 0.02 ms).
-- This function runs as the owner, whom the policy does not bind, searches the
-- index first and then keeps only the posts `pingan_sees` lets the caller see:
-- the same rule, written once, applied after the index instead of before it.
-- Its body is fixed, so nothing of a post the caller may not see can reach a
-- condition of the caller's own.  Whom the policy would not bind sees every
-- post here too: the session's role when it is (a member of) the owner, a
-- superuser or BYPASSRLS (the CLI, imports).  The web role is none of these.
--
-- The nearest post is searched among those within 0.02 degrees (the box: one
-- index probe).  It is the nearest of all when it is closer than anything
-- outside the box can be, at least R asin(cos(lat) sin(0.02 deg)) away, R being
-- PostGIS's sphere less a thousandth; otherwise (or by the antimeridian, where
-- the box does not wrap) the geography index's KNN search decides, at three
-- times the cost.  No post: NULLs.
CREATE FUNCTION pingan_nearest_post(p_geom geometry,
                                    OUT id bigint, OUT distance_m float8)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE
    -- current_user is the owner here; session_user, the role that signed in.
    unbound constant boolean := pg_has_role(session_user, current_user, 'USAGE')
        OR (SELECT rolbypassrls FROM pg_roles WHERE rolname = session_user);
BEGIN
    SELECT po.id, po.geom::geography <-> p_geom::geography
      INTO id, distance_m
      FROM post po
     WHERE po.geom && ST_Expand(p_geom, 0.02)
       AND (unbound OR pingan_sees(po.station_id, po.grid_id))
     ORDER BY 2, 1
     LIMIT 1;
    IF distance_m IS NULL
       OR distance_m > 6371008.8 * 0.999
                       * asin(cos(radians(ST_Y(p_geom))) * sin(radians(0.02)))
       OR abs(ST_X(p_geom)) > 179.9 THEN
        SELECT po.id, po.geom::geography <-> p_geom::geography
          INTO id, distance_m
          FROM post po
         WHERE unbound OR pingan_sees(po.station_id, po.grid_id)
         ORDER BY po.geom::geography <-> p_geom::geography
         LIMIT 1;
    END IF;
END $$;
REVOKE EXECUTE ON FUNCTION pingan_nearest_post(geometry) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pingan_nearest_post(geometry) TO pingan_web;

-- The session, checked in the lookup's own round trip -------------------------------
-- `pingan_begin` was a round trip of its own before every request's first
-- statement (0.25 ms a lookup under load).  A worker that has seen a token
-- lately knows whom it belongs to (gis.access), and sends `pingan_resume` in
-- the same round trip as the request's first statement, ahead of it: the
-- session must still be live and still the same user in the same role, or the
-- check fails and the statement after it never runs.  So logging out, a
-- password change, a disabled user or a revoked token still end the session on
-- every worker at once, and the scope the statement runs under is set from the
-- database, never from what the worker remembered.

-- What a live session is, once, for both functions (owner-only: not granted).
-- A grid member's station is their grid's: its outline frames their map.
CREATE VIEW live_session AS
    SELECT s.token_hash, s.id AS session_id, s.kind AS session_kind, s.expires_at,
           u.id AS user_id, u.username, u.role,
           coalesce(u.station_id, g.station_id) AS station_id,
           CASE WHEN u.grid_id IS NULL THEN NULL ELSE ARRAY[u.grid_id] END
               AS grid_ids
      FROM auth_session s
      JOIN app_user u ON u.id = s.user_id AND NOT u.disabled
      LEFT JOIN area g ON g.id = u.grid_id
     WHERE s.revoked_at IS NULL AND s.expires_at > now();

-- The settings the policies read (and the audit rows' address), session-wide.
CREATE FUNCTION pingan_set_scope(p_addr text, p_user text, p_role text,
                                 p_station bigint, p_grids bigint[])
-- plpgsql, whose plans are kept: a SQL function called from plpgsql is planned
-- at every call (15 us more for each check).
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('pingan.client_addr', coalesce(p_addr, ''), false),
            set_config('pingan.user', coalesce(p_user, ''), false),
            set_config('pingan.role', coalesce(p_role, ''), false),
            set_config('pingan.station', coalesce(p_station::text, ''), false),
            set_config('pingan.grids', coalesce(array_to_string(p_grids, ','), ''),
                       false);
END $$;

-- As in 0011, on the view.
CREATE OR REPLACE FUNCTION pingan_begin(p_hash bytea, p_addr text)
RETURNS TABLE (id bigint, username text, role text, station_id bigint,
               station_code text, grid_ids bigint[], session_id bigint,
               session_kind text, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    r record;
BEGIN
    SELECT l.*, st.code AS station_code INTO r
      FROM live_session l LEFT JOIN area st ON st.id = l.station_id
     WHERE p_hash IS NOT NULL AND l.token_hash = p_hash;
    PERFORM pingan_set_scope(p_addr, r.username, r.role, r.station_id, r.grid_ids);
    IF r.user_id IS NOT NULL THEN
        RETURN QUERY SELECT r.user_id, r.username, r.role, r.station_id,
                            r.station_code, r.grid_ids, r.session_id,
                            r.session_kind, r.expires_at;
    END IF;
END $$;

-- One plpgsql call of its own rather than pingan_begin's: 15 us, not 26.
CREATE FUNCTION pingan_resume(p_hash bytea, p_addr text, p_user bigint,
                              p_role text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM live_session l WHERE l.token_hash = p_hash;
    IF r.user_id IS DISTINCT FROM p_user OR r.role IS DISTINCT FROM p_role THEN
        -- The failed transaction takes any setting made in it back; the
        -- caller clears what the connection had before (gis.access).
        RAISE EXCEPTION 'session ended' USING ERRCODE = 'PA401';
    END IF;
    PERFORM pingan_set_scope(p_addr, r.username, r.role, r.station_id, r.grid_ids);
END $$;
REVOKE EXECUTE ON FUNCTION pingan_resume(bytea, text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pingan_resume(bytea, text, bigint, text) TO pingan_web;
REVOKE EXECUTE ON FUNCTION pingan_set_scope(text, text, text, bigint, bigint[])
    FROM PUBLIC;
