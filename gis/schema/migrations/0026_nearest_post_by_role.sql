-- 0026: the nearest post asks who may see every post by role first.
--
-- pingan_nearest_post (0012, 0024) worked out on every call whether the row
-- policies bind the session at all (a member of the owner role, a superuser
-- or BYPASSRLS): for the web role that is a query on pg_roles each time,
-- and then pingan_sees on each post in the box.  Admins and planners see
-- every post by the rule itself, so for them neither is needed: the search
-- is the unbound one.  Everyone else is asked as in 0024.
CREATE OR REPLACE FUNCTION pingan_nearest_post(p_geom geometry,
                                               OUT id bigint, OUT distance_m float8)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE
    role constant text := pingan_role();
    every boolean := role IN ('admin', 'planner');
BEGIN
    IF NOT every THEN
        -- current_user is the owner here; session_user, the role that signed in.
        every := pg_has_role(session_user, current_user, 'USAGE')
            OR (SELECT rolbypassrls FROM pg_roles WHERE rolname = session_user);
    END IF;
    IF NOT every AND role = 'station' THEN
        SELECT po.id, po.geom::geography <-> p_geom::geography
          INTO id, distance_m
          FROM post po
         WHERE po.station_id = pingan_station()
         ORDER BY 2, 1
         LIMIT 1;
        RETURN;
    END IF;
    IF NOT every AND role = 'grid_member' THEN
        SELECT po.id, po.geom::geography <-> p_geom::geography
          INTO id, distance_m
          FROM post po
         WHERE po.grid_id = ANY (pingan_grids())
         ORDER BY 2, 1
         LIMIT 1;
        RETURN;
    END IF;
    SELECT po.id, po.geom::geography <-> p_geom::geography
      INTO id, distance_m
      FROM post po
     WHERE po.geom && ST_Expand(p_geom, 0.02)
       AND (every OR pingan_sees(po.station_id, po.grid_id))
     ORDER BY 2, 1
     LIMIT 1;
    IF distance_m IS NULL
       OR distance_m > 6371008.8 * 0.999
                       * asin(cos(radians(ST_Y(p_geom))) * sin(radians(0.02)))
       OR abs(ST_X(p_geom)) > 179.9 THEN
        SELECT po.id, po.geom::geography <-> p_geom::geography
          INTO id, distance_m
          FROM post po
         WHERE every OR pingan_sees(po.station_id, po.grid_id)
         ORDER BY po.geom::geography <-> p_geom::geography
         LIMIT 1;
    END IF;
END $$;
