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
