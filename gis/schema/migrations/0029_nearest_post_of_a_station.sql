-- 0029: a station's nearest post from an index of its own posts, nearest first.
--
-- Since 0024 a station user's nearest post read every post of the station
-- (post_station) and sorted them all by distance: 53-58 us a call on the
-- demo (19 posts a station), against 29 us for a planner's box search, and
-- every lookup of a station user makes one call.  A GiST index on
-- (station_id, geography) (btree_gist gives GiST the equality) hands the
-- station's posts over nearest first: the search reads two of them, 19 us.
-- Only when those two tie does it read them all, so the answer is still the
-- nearest post with the smallest id, as before.  btree_gist ships with PostgreSQL and
-- is a trusted extension: the database's owner may create it (init does).
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE INDEX post_station_geog ON post USING gist (station_id, (geom::geography));

CREATE OR REPLACE FUNCTION pingan_nearest_post(p_geom geometry,
                                               OUT id bigint, OUT distance_m float8)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE
    role constant text := pingan_role();
    every boolean := role IN ('admin', 'planner');
    near record;
BEGIN
    IF NOT every THEN
        -- current_user is the owner here; session_user, the role that signed in.
        every := pg_has_role(session_user, current_user, 'USAGE')
            OR (SELECT rolbypassrls FROM pg_roles WHERE rolname = session_user);
    END IF;
    IF NOT every AND role = 'station' THEN
        -- The two nearest from post_station_geog.  A tie at the nearest
        -- distance (rare: posts as far from the point to the millimetre)
        -- is settled as 0024 did, the smallest id of all of them winning.
        FOR near IN
            SELECT po.id, po.geom::geography <-> p_geom::geography AS metres
              FROM post po
             WHERE po.station_id = pingan_station()
             ORDER BY po.geom::geography <-> p_geom::geography
             LIMIT 2
        LOOP
            IF id IS NULL THEN
                id := near.id;
                distance_m := near.metres;
            ELSIF near.metres > distance_m THEN
                RETURN;
            ELSE
                SELECT po.id, po.geom::geography <-> p_geom::geography
                  INTO id, distance_m
                  FROM post po
                 WHERE po.station_id = pingan_station()
                 ORDER BY 2, 1
                 LIMIT 1;
            END IF;
        END LOOP;
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
