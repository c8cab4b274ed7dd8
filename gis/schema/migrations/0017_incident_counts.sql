-- 0017: incident counts kept ready for the leadership views (heat, hotspots,
-- scorecards).
--
-- A leader's heat map, a Gi* run over 10,000 squares and the scorecards of
-- 5,000 villages must not each count a million incidents.  The counts are kept
-- here by the incident table's own statement triggers (the pattern of
-- point_bin, migration 0013): one upsert per statement however many rows it
-- wrote.  Bulk writers (imports, assign, the county demo) set
-- pingan.bulk_assign, and gis.assign.rebuild_bins then calls
-- incident_counts_rebuild() once.
--
-- Two tables:
--   incident_cell     per metric square (sides 500, 1000, 2000 m in the
--                     district's CGCS2000 3-degree Gauss-Kruger zone), month,
--                     category, status, risk, station and township;
--   incident_village  per village, month, category, status, risk, the level
--                     it was resolved at and the whole days it took
--                     (-1: not resolved; -2: resolved at an unknown time, rows
--                     an import may bring: counted and named, never dropped).
-- Months are Beijing months of reported_at.  An id of 0 means "in none".

CREATE TABLE incident_count_setting (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    srid     integer NOT NULL  -- metric CRS of the squares
);
COMMENT ON TABLE incident_count_setting IS
    'The metric CRS the incident squares are counted in (set by the first '
    'count or by incident_counts_rebuild() from the district).';

CREATE TABLE incident_cell (
    size        smallint NOT NULL CHECK (size IN (500, 1000, 2000)),
    cx          integer  NOT NULL,  -- floor(x / size) in the metric CRS
    cy          integer  NOT NULL,
    month       date     NOT NULL,
    category    text     NOT NULL,
    status      text     NOT NULL,
    risk        text     NOT NULL,
    station_id  bigint   NOT NULL,
    township_id bigint   NOT NULL,
    n           bigint   NOT NULL,  -- 0 once its incidents left; swept by a rebuild
    PRIMARY KEY (size, month, cx, cy, category, status, risk, station_id,
                 township_id)
);
COMMENT ON TABLE incident_cell IS
    'Incidents per metric square, month, category, status, risk, station and '
    'township; kept by triggers, rebuilt by incident_counts_rebuild().';

CREATE TABLE incident_village (
    village_id     bigint   NOT NULL,
    month          date     NOT NULL,
    category       text     NOT NULL,
    status         text     NOT NULL,
    risk           text     NOT NULL,
    resolved_level text     NOT NULL,  -- '' while not resolved at a level
    days           smallint NOT NULL,  -- -1 not resolved, -2 resolved, time unknown
    station_id     bigint   NOT NULL,
    township_id    bigint   NOT NULL,
    n              bigint   NOT NULL,
    PRIMARY KEY (month, village_id, category, status, risk, resolved_level, days,
                 station_id, township_id)
);
COMMENT ON TABLE incident_village IS
    'Incidents per village, month, category, status, risk, resolution level and '
    'days to resolve (-1 open, -2 unknown time); kept by triggers.';

-- Population of each square, spread from the villages by area: the
-- denominator of "per 1,000 residents" on the heat map.  Rebuilt with the
-- counts (villages change rarely; `python -m gis counts rebuild` after an
-- import of villages).
CREATE TABLE cell_population (
    size        smallint NOT NULL,
    cx          integer  NOT NULL,
    cy          integer  NOT NULL,
    station_id  bigint   NOT NULL,
    township_id bigint   NOT NULL,
    population  float8   NOT NULL,
    PRIMARY KEY (size, cx, cy, station_id, township_id)
);

-- Leaders read every count (patterns, not people); others within the rule.
ALTER TABLE incident_cell ENABLE ROW LEVEL SECURITY;
ALTER TABLE incident_village ENABLE ROW LEVEL SECURITY;
ALTER TABLE cell_population ENABLE ROW LEVEL SECURITY;
CREATE POLICY incident_cell_scope ON incident_cell FOR SELECT USING (
    pingan_role() = 'leader' OR pingan_sees(station_id, NULL));
CREATE POLICY incident_village_scope ON incident_village FOR SELECT USING (
    pingan_role() = 'leader' OR pingan_sees(station_id, NULL));
CREATE POLICY cell_population_scope ON cell_population FOR SELECT USING (
    pingan_role() = 'leader' OR pingan_sees(station_id, NULL));
GRANT SELECT ON incident_cell, incident_village, cell_population,
    incident_count_setting TO pingan_web;

CREATE FUNCTION incident_cell_sizes() RETURNS integer[] LANGUAGE sql IMMUTABLE
    PARALLEL SAFE AS $$ SELECT ARRAY[500, 1000, 2000] $$;

-- The CGCS2000 3-degree Gauss-Kruger zone (EPSG 4534..4554, no zone prefix)
-- of a longitude: the same rule as gis.crs.gauss_kruger_epsg.
CREATE FUNCTION gauss_kruger_srid(p_lon float8) RETURNS integer LANGUAGE sql
    IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT 4534 + least(45, greatest(25, round(p_lon / 3)::integer)) - 25
$$;

-- The squares' CRS: kept once chosen (from the district, else the first
-- incident counted), so every count of a database is in the same squares.
CREATE FUNCTION incident_count_srid(p_lon float8 DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    s integer;
BEGIN
    SELECT srid INTO s FROM incident_count_setting;
    IF s IS NULL THEN
        SELECT gauss_kruger_srid(ST_X(ST_PointOnSurface(geom))) INTO s
          FROM area WHERE kind = 'district' AND valid_to IS NULL
         ORDER BY code LIMIT 1;
        s := coalesce(s, gauss_kruger_srid(p_lon));
        IF s IS NULL THEN
            RETURN NULL;
        END IF;
        INSERT INTO incident_count_setting (srid) VALUES (s)
            ON CONFLICT (only_row) DO NOTHING;
    END IF;
    RETURN s;
END $$;

CREATE FUNCTION incident_month(p_at timestamptz) RETURNS date LANGUAGE sql
    IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_trunc('month', p_at AT TIME ZONE 'Asia/Shanghai')::date
$$;

-- Whole days from report to resolution; -1 not resolved, -2 resolved at an
-- unknown time.
CREATE FUNCTION incident_days(p_status text, p_reported timestamptz,
                              p_resolved timestamptz) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_status NOT IN ('resolved', 'followed_up', 'archived') THEN -1
                WHEN p_resolved IS NULL THEN -2
                ELSE least(greatest(floor(extract(epoch FROM p_resolved - p_reported)
                                          / 86400), 0), 9999) END::smallint
$$;

-- Add incidents to the counts (p_sign +1) or take them away (-1): both
-- tables, one upsert each, nets of zero (an update that changed nothing
-- counted) left alone.  The arrays are the counted columns, row by row.
CREATE FUNCTION incident_counts_add(
    p_geom geometry[], p_reported timestamptz[], p_category text[],
    p_status text[], p_risk text[], p_level text[], p_resolved timestamptz[],
    p_village bigint[], p_station bigint[], p_township bigint[], p_sign integer[])
RETURNS void LANGUAGE sql SET search_path = public, pg_temp AS $$
    INSERT INTO incident_cell AS c
    SELECT s, floor(ST_X(t.g) / s)::int, floor(ST_Y(t.g) / s)::int,
           incident_month(r.reported), r.category, r.status, r.risk,
           coalesce(r.station, 0), coalesce(r.township, 0), sum(r.sign)
      FROM unnest(p_geom, p_reported, p_category, p_status, p_risk, p_station,
                  p_township, p_sign)
               r (geom, reported, category, status, risk, station, township, sign),
           (SELECT incident_count_srid(ST_X(p_geom[1])) AS srid) z,
           LATERAL (SELECT ST_Transform(r.geom, z.srid) AS g) t,
           unnest(incident_cell_sizes()) s
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 HAVING sum(r.sign) <> 0
    ON CONFLICT (size, month, cx, cy, category, status, risk, station_id,
                 township_id) DO UPDATE SET n = c.n + excluded.n;
    INSERT INTO incident_village AS v
    SELECT coalesce(r.village, 0), incident_month(r.reported), r.category,
           r.status, r.risk, coalesce(r.level, ''),
           incident_days(r.status, r.reported, r.resolved),
           coalesce(r.station, 0), coalesce(r.township, 0), sum(r.sign)
      FROM unnest(p_reported, p_category, p_status, p_risk, p_level, p_resolved,
                  p_village, p_station, p_township, p_sign)
               r (reported, category, status, risk, level, resolved, village,
                  station, township, sign)
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 HAVING sum(r.sign) <> 0
    ON CONFLICT (month, village_id, category, status, risk, resolved_level, days,
                 station_id, township_id) DO UPDATE SET n = v.n + excluded.n;
$$;

-- Start the counts over from the incident table (after a bulk load, which
-- writes with the triggers set aside), re-choosing the squares' CRS from the
-- district and spreading village populations over the squares again.
-- Returns the rows kept (squares + villages).
CREATE FUNCTION incident_counts_rebuild() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    kept bigint;
BEGIN
    TRUNCATE incident_cell, incident_village, cell_population;
    DELETE FROM incident_count_setting;
    PERFORM incident_counts_add(array_agg(geom), array_agg(reported_at),
            array_agg(category), array_agg(status), array_agg(risk),
            array_agg(resolved_level), array_agg(resolved_at),
            array_agg(village_id), array_agg(station_id), array_agg(township_id),
            array_agg(1))
       FROM incident HAVING count(*) > 0;
    PERFORM cell_population_rebuild();
    SELECT (SELECT count(*) FROM incident_cell)
         + (SELECT count(*) FROM incident_village) INTO kept;
    RETURN kept;
END $$;

-- Each current village's population spread over the squares by the share of
-- its area in each.
CREATE FUNCTION cell_population_rebuild() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    srid constant integer := incident_count_srid();
    kept bigint;
BEGIN
    DELETE FROM cell_population;
    IF srid IS NULL THEN
        RETURN 0;
    END IF;
    INSERT INTO cell_population
    SELECT s, sq.i, sq.j, coalesce(v.station_id, 0), coalesce(v.parent_id, 0),
           sum(v.population * ST_Area(ST_Intersection(sq.geom, v.g)) / v.area)
      FROM (SELECT a.station_id, a.parent_id, a.population, t.g, ST_Area(t.g) AS area
              FROM area a, LATERAL (SELECT ST_Transform(a.geom, srid) AS g) t
             WHERE a.kind = 'village' AND a.valid_to IS NULL
               AND a.population > 0) v,
           unnest(incident_cell_sizes()) s,
           LATERAL ST_SquareGrid(s, v.g) sq
     WHERE v.area > 0 AND ST_Intersects(sq.geom, v.g)
     GROUP BY 1, 2, 3, 4, 5;
    GET DIAGNOSTICS kept = ROW_COUNT;
    RETURN kept;
END $$;

-- The statement triggers: one pass per statement, from the transition tables
-- (no temporary table: an incident taken in by the web app costs one upsert
-- per table).  Runs as the owner: a station user filing an incident may not
-- write the counts.
CREATE FUNCTION incident_counts_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF current_setting('pingan.bulk_assign', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM incident_counts_add(array_agg(geom), array_agg(reported_at),
                array_agg(category), array_agg(status), array_agg(risk),
                array_agg(resolved_level), array_agg(resolved_at),
                array_agg(village_id), array_agg(station_id),
                array_agg(township_id), array_agg(1))
           FROM new_incidents HAVING count(*) > 0;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM incident_counts_add(array_agg(geom), array_agg(reported_at),
                array_agg(category), array_agg(status), array_agg(risk),
                array_agg(resolved_level), array_agg(resolved_at),
                array_agg(village_id), array_agg(station_id),
                array_agg(township_id), array_agg(-1))
           FROM old_incidents HAVING count(*) > 0;
    ELSE
        PERFORM incident_counts_add(array_agg(v.geom), array_agg(v.reported_at),
                array_agg(v.category), array_agg(v.status), array_agg(v.risk),
                array_agg(v.resolved_level), array_agg(v.resolved_at),
                array_agg(v.village_id), array_agg(v.station_id),
                array_agg(v.township_id), array_agg(v.sign))
           FROM (SELECT o.*, -1 AS sign FROM old_incidents o
                 UNION ALL SELECT n.*, 1 FROM new_incidents n) v
         HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER incident_counts_insert AFTER INSERT ON incident
    REFERENCING NEW TABLE AS new_incidents FOR EACH STATEMENT
    EXECUTE FUNCTION incident_counts_track();
CREATE TRIGGER incident_counts_update AFTER UPDATE ON incident
    REFERENCING OLD TABLE AS old_incidents NEW TABLE AS new_incidents
    FOR EACH STATEMENT EXECUTE FUNCTION incident_counts_track();
CREATE TRIGGER incident_counts_delete AFTER DELETE ON incident
    REFERENCING OLD TABLE AS old_incidents FOR EACH STATEMENT
    EXECUTE FUNCTION incident_counts_track();

SELECT incident_counts_rebuild();

REVOKE EXECUTE ON FUNCTION incident_counts_rebuild(), incident_counts_track(),
    cell_population_rebuild(), incident_count_srid(float8),
    incident_counts_add(geometry[], timestamptz[], text[], text[], text[], text[],
                        timestamptz[], bigint[], bigint[], bigint[], integer[])
    FROM PUBLIC;
