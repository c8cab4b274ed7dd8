-- Points counted per square, at every zoom a map clusters at.
--
-- A map asks for one layer in one view at one zoom.  Below the zoom where single
-- points fit (a view of a county holds a million incidents), it draws clusters:
-- a count and a centre per square of the view.  Counting a million points per
-- request costs a second; summing the squares kept here costs milliseconds, so
-- they are kept by the tables' own triggers, as the rows change.
--
-- Squares: at level L (= the map's zoom) a square's side is 90 / 2^L degrees
-- (64 screen pixels at that zoom), square (cx, cy) spans
-- [cx * side, (cx + 1) * side) x [cy * side, (cy + 1) * side).  Squares nest:
-- square (cx, cy) of level L lies in square (cx >> 1, cy >> 1) of level L - 1.
-- Rows are kept per station and grid (0: none), so the row policy of the points
-- applies to their counts: a station user's clusters count their own points.
CREATE TABLE point_bin (
    layer      text     NOT NULL CHECK (layer IN ('post', 'camera', 'site', 'incident')),
    level      smallint NOT NULL CHECK (level BETWEEN 0 AND 24),
    cx         integer  NOT NULL,
    cy         integer  NOT NULL,
    station_id bigint   NOT NULL,  -- 0: the point lies in no station
    grid_id    bigint   NOT NULL,  -- 0: in no grid
    n          bigint   NOT NULL,  -- 0 once its points moved away; swept by a rebuild
    sx         float8   NOT NULL,  -- sums of longitude and latitude: the centre
    sy         float8   NOT NULL,
    PRIMARY KEY (layer, level, cx, cy, station_id, grid_id)
);
COMMENT ON TABLE point_bin IS
    'Points per square per zoom level (side 90/2^level degrees), kept by triggers; '
    'clusters of the map layers.  Rebuilt by point_bins_rebuild(layer).';

-- The zoom levels kept: the coarsest a map opens at (gis.maps.MIN_ZOOM) to
-- the finest that may still cluster (from zoom 16 on, a county's view holds
-- under two thousand incidents: they are drawn one by one).
CREATE FUNCTION point_bin_levels() RETURNS int4range LANGUAGE sql IMMUTABLE
    PARALLEL SAFE AS $$ SELECT int4range(7, 16) $$;

CREATE FUNCTION point_bin_side(p_level integer) RETURNS float8 LANGUAGE sql
    IMMUTABLE PARALLEL SAFE AS $$ SELECT 90.0 / (2.0 ^ p_level) $$;

-- Rows are seen as their points are, by the one rule; leaders, who see no single
-- point, see the counts of squares of 500 m and more (zoom 14 and coarser: side
-- 0.0055 degrees), the same grain as incident_bins.
ALTER TABLE point_bin ENABLE ROW LEVEL SECURITY;
CREATE POLICY point_bin_scope ON point_bin FOR SELECT USING (
    pingan_sees(station_id, grid_id)
    OR (pingan_role() = 'leader' AND level <= 14));
GRANT SELECT ON point_bin TO pingan_web;

-- Add the points staged in pg_temp.point_bin_points (lon, lat, station_id,
-- grid_id, sign: +1 added, -1 taken away) to the squares of every level: the
-- finest level from the points, every coarser level from the one below it.
CREATE FUNCTION point_bins_stage() RETURNS void LANGUAGE plpgsql SET client_min_messages = warning
SET search_path = public, pg_temp AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS point_bin_points (
        lon float8, lat float8, station_id bigint, grid_id bigint, sign integer
    ) ON COMMIT DROP;
    TRUNCATE pg_temp.point_bin_points;
END $$;

CREATE FUNCTION point_bins_flush(p_layer text, p_fresh boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql SET client_min_messages = warning
SET search_path = public, pg_temp AS $$
DECLARE
    lo constant integer := lower(point_bin_levels());
    hi constant integer := upper(point_bin_levels()) - 1;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS point_bin_delta (LIKE public.point_bin)
        ON COMMIT DROP;
    TRUNCATE pg_temp.point_bin_delta;
    INSERT INTO pg_temp.point_bin_delta
    SELECT p_layer, hi, floor(lon / point_bin_side(hi))::int,
           floor(lat / point_bin_side(hi))::int, station_id, grid_id,
           sum(sign), sum(sign * lon), sum(sign * lat)
      FROM pg_temp.point_bin_points
     GROUP BY 3, 4, 5, 6;
    FOR l IN REVERSE hi - 1 .. lo LOOP
        INSERT INTO pg_temp.point_bin_delta
        SELECT layer, l, cx >> 1, cy >> 1, station_id, grid_id,
               sum(n), sum(sx), sum(sy)
          FROM pg_temp.point_bin_delta WHERE level = l + 1
         GROUP BY layer, cx >> 1, cy >> 1, station_id, grid_id;
    END LOOP;
    IF p_fresh THEN  -- the layer has no square yet: no key can meet another
        INSERT INTO point_bin SELECT * FROM pg_temp.point_bin_delta;
    ELSE
        INSERT INTO point_bin AS b
        SELECT * FROM pg_temp.point_bin_delta
        ON CONFLICT (layer, level, cx, cy, station_id, grid_id) DO UPDATE
            SET n = b.n + excluded.n, sx = b.sx + excluded.sx, sy = b.sy + excluded.sy;
    END IF;
    TRUNCATE pg_temp.point_bin_delta, pg_temp.point_bin_points;
END $$;

-- Start a layer's squares over from its table (after a bulk load or assign,
-- which write with the row triggers set aside).  Returns the squares kept.
CREATE FUNCTION point_bins_rebuild(p_layer text) RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    kept bigint;
BEGIN
    IF p_layer NOT IN ('post', 'camera', 'site', 'incident') THEN
        RAISE EXCEPTION 'point_bins_rebuild: no point layer %', p_layer;
    END IF;
    DELETE FROM point_bin WHERE layer = p_layer;
    PERFORM point_bins_stage();
    EXECUTE format('INSERT INTO pg_temp.point_bin_points SELECT ST_X(geom), '
        'ST_Y(geom), coalesce(station_id, 0), coalesce(grid_id, 0), 1 FROM %I',
        p_layer);
    PERFORM point_bins_flush(p_layer, true);
    SELECT count(*) INTO kept FROM point_bin WHERE layer = p_layer;
    RETURN kept;
END $$;

-- Add points to the squares of every level (sign +1) or take them away (-1).
CREATE FUNCTION point_bins_add(p_layer text, p_x float8[], p_y float8[],
                               p_station bigint[], p_grid bigint[], p_sign integer[])
RETURNS void LANGUAGE sql SET search_path = public, pg_temp AS $$
    INSERT INTO point_bin AS b
    SELECT p_layer, l, floor(x / point_bin_side(l))::int,
           floor(y / point_bin_side(l))::int, st, gr,
           sum(sg), sum(sg * x), sum(sg * y)
      FROM unnest(p_x, p_y, p_station, p_grid, p_sign) p (x, y, st, gr, sg),
           generate_series(lower(point_bin_levels()),
                           upper(point_bin_levels()) - 1) l
     GROUP BY 2, 3, 4, 5, 6
    ON CONFLICT (layer, level, cx, cy, station_id, grid_id) DO UPDATE
        SET n = b.n + excluded.n, sx = b.sx + excluded.sx, sy = b.sy + excluded.sy
$$;

-- The statement triggers: the points a statement added, moved or removed, in
-- one pass per statement however many rows it wrote, from the transition
-- tables (no temporary table: an incident taken in by the web app costs one
-- upsert of nine squares).  An update counts only rows that moved or changed
-- station or grid: a status change leaves every square as it was.  Bulk
-- writers (imports, assign, the county demo) set pingan.bulk_assign and
-- rebuild afterwards.  Runs as the owner: a station user filing an incident
-- may not write point_bin.
CREATE FUNCTION point_bins_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF current_setting('pingan.bulk_assign', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM point_bins_add(TG_TABLE_NAME, array_agg(ST_X(geom)),
                array_agg(ST_Y(geom)), array_agg(coalesce(station_id, 0)),
                array_agg(coalesce(grid_id, 0)), array_agg(1))
           FROM new_points HAVING count(*) > 0;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM point_bins_add(TG_TABLE_NAME, array_agg(ST_X(geom)),
                array_agg(ST_Y(geom)), array_agg(coalesce(station_id, 0)),
                array_agg(coalesce(grid_id, 0)), array_agg(-1))
           FROM old_points HAVING count(*) > 0;
    ELSE
        PERFORM point_bins_add(TG_TABLE_NAME, array_agg(ST_X(v.geom)),
                array_agg(ST_Y(v.geom)), array_agg(coalesce(v.station_id, 0)),
                array_agg(coalesce(v.grid_id, 0)), array_agg(v.sign))
           FROM old_points o JOIN new_points n USING (id)
          CROSS JOIN LATERAL (VALUES (o.geom, o.station_id, o.grid_id, -1),
                                     (n.geom, n.station_id, n.grid_id, 1))
                v (geom, station_id, grid_id, sign)
          WHERE o.geom IS DISTINCT FROM n.geom
             OR o.station_id IS DISTINCT FROM n.station_id
             OR o.grid_id IS DISTINCT FROM n.grid_id
         HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['post', 'camera', 'site', 'incident'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_bins_insert AFTER INSERT ON %1$I '
            'REFERENCING NEW TABLE AS new_points FOR EACH STATEMENT '
            'EXECUTE FUNCTION point_bins_track()', t);
        EXECUTE format('CREATE TRIGGER %1$s_bins_update AFTER UPDATE ON %1$I '
            'REFERENCING OLD TABLE AS old_points NEW TABLE AS new_points '
            'FOR EACH STATEMENT EXECUTE FUNCTION point_bins_track()', t);
        EXECUTE format('CREATE TRIGGER %1$s_bins_delete AFTER DELETE ON %1$I '
            'REFERENCING OLD TABLE AS old_points FOR EACH STATEMENT '
            'EXECUTE FUNCTION point_bins_track()', t);
        PERFORM point_bins_rebuild(t);
    END LOOP;
END $$;

REVOKE EXECUTE ON FUNCTION point_bins_rebuild(text), point_bins_flush(text, boolean),
    point_bins_stage(), point_bins_track(),
    point_bins_add(text, float8[], float8[], bigint[], bigint[], integer[]) FROM PUBLIC;

-- Searching a view's rows by their spatial index, under the row policies ------
--
-- A row policy's condition is checked before any condition of the query that
-- is not LEAKPROOF, and PostGIS's && is not: under the policies, "geom && box"
-- cannot use the GiST index and a view of a million incidents is a sequential
-- scan (0.5 s).  These functions search the index as the owner and then apply
-- the very rule of the policies (pingan_sees, pingan_sees_area), returning ids
-- only; the map layers read those rows by id, through the policies again.

-- The area policy's rule, as a function it and areas_in_box share.
CREATE FUNCTION pingan_sees_area(p_kind text, p_id bigint, p_station bigint)
RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT pingan_role() IN ('admin', 'planner', 'leader')
        OR (pingan_role() <> '' AND p_kind IN ('district', 'township'))
        OR (p_kind = 'police_station' AND p_id = pingan_station())
        OR pingan_sees(p_station, CASE WHEN p_kind = 'grid' THEN p_id END)
$$;
ALTER POLICY area_scope ON area USING (pingan_sees_area(kind, id, station_id));

-- Whether the session's own role is bound by the row policies at all: the web
-- app's role is; the owner (the CLI, imports, tests of the layers) is not, and
-- is answered as the policies would answer it, with every row.
CREATE FUNCTION pingan_bound() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT NOT (r.rolsuper OR r.rolbypassrls OR r.oid = c.relowner)
      FROM pg_roles r, pg_class c
     WHERE r.rolname = session_user AND c.oid = 'public.area'::regclass
$$;

-- Current areas of one kind whose box meets p_box, that the user may see (at
-- most p_limit).  p_station: only that station's own (a station map's focus).
CREATE FUNCTION areas_in_box(p_kind text, p_box geometry, p_station bigint,
                             p_limit integer)
RETURNS SETOF bigint LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    bound constant boolean := pingan_bound();
BEGIN
    RETURN QUERY
    SELECT id FROM area
     WHERE kind = p_kind AND valid_to IS NULL AND geom && p_box
       AND (NOT bound OR pingan_sees_area(kind, id, station_id))
       AND (p_station IS NULL OR p_kind IN ('district', 'township')
            OR CASE WHEN p_kind = 'police_station' THEN id ELSE station_id END
               = p_station)
     LIMIT p_limit;
END $$;

-- Points of one table in p_box that the user may see (at most p_limit).
CREATE FUNCTION points_in_box(p_table text, p_box geometry, p_station bigint,
                              p_limit integer)
RETURNS SETOF bigint LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF p_table NOT IN ('post', 'camera', 'site', 'incident') THEN
        RAISE EXCEPTION 'points_in_box: no point layer %', p_table;
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT id FROM %I WHERE geom && $1 AND (NOT $4 OR pingan_sees(station_id, '
        'grid_id)) AND ($2 IS NULL OR station_id = $2) LIMIT $3', p_table)
        USING p_box, p_station, p_limit, pingan_bound();
END $$;

-- The same points counted per square of side p_side (degrees): clusters closer
-- in than point_bin keeps.
CREATE FUNCTION point_squares_in_box(p_table text, p_box geometry,
                                     p_station bigint, p_side float8)
RETURNS TABLE (n bigint, sx float8, sy float8) LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_table NOT IN ('post', 'camera', 'site', 'incident') THEN
        RAISE EXCEPTION 'point_squares_in_box: no point layer %', p_table;
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT count(*), sum(ST_X(geom)), sum(ST_Y(geom)) FROM %I '
        'WHERE geom && $1 AND (NOT $4 OR pingan_sees(station_id, grid_id)) '
        'AND ($2 IS NULL OR station_id = $2) '
        'GROUP BY floor(ST_X(geom) / $3), floor(ST_Y(geom) / $3)', p_table)
        USING p_box, p_station, p_side, pingan_bound();
END $$;

REVOKE EXECUTE ON FUNCTION areas_in_box(text, geometry, bigint, integer),
    points_in_box(text, geometry, bigint, integer),
    point_squares_in_box(text, geometry, bigint, float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION areas_in_box(text, geometry, bigint, integer),
    points_in_box(text, geometry, bigint, integer),
    point_squares_in_box(text, geometry, bigint, float8) TO pingan_web;
