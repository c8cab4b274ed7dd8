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
-- Two tables, each row a square or village in one Beijing month (of
-- reported_at); an id of 0 means "in none":
--   incident_cell     per metric square (sides 500, 1000, 2000 m in the
--                     district's CGCS2000 3-degree Gauss-Kruger zone),
--                     station and township: the count, and the count of each
--                     category x status x risk tier (234 columns, NULL where
--                     none: a NULL costs one bit), so that any filter is a
--                     sum of columns, not more rows.  A county's 2 km squares
--                     over two years are 20,000 rows; with category, status
--                     and risk as keys they were 450,000, and a heat map of
--                     the whole county took 300 ms to sum them;
--   incident_village  per village, disputes or not, station and township:
--                     found, resolved, resolved at each level, resolved at an
--                     unknown time (rows an import may bring: counted and
--                     named, never dropped), major accidents (red-tier
--                     accidents), each category, and the resolved ones by
--                     whole days taken (0..14 one by one, then 15-21, 22-30,
--                     31-60, 61 and more): what the scorecards read.

CREATE TABLE incident_count_setting (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    srid     integer NOT NULL  -- metric CRS of the squares
);
COMMENT ON TABLE incident_count_setting IS
    'The metric CRS the incident squares are counted in (set by the first '
    'count or by incident_counts_rebuild() from the district).';

CREATE TABLE incident_cell (
    size        smallint NOT NULL CHECK (size IN (500, 1000, 2000)),
    month       date     NOT NULL,
    cx          integer  NOT NULL,  -- floor(x / size) in the metric CRS
    cy          integer  NOT NULL,
    station_id  bigint   NOT NULL,
    township_id bigint   NOT NULL,
    n           integer  NOT NULL,  -- 0 once its incidents left; swept by a rebuild
    -- c_<category>_<status>_<risk>: NULL for none
    c_dispute_family_received_red integer,
    c_dispute_family_received_orange integer,
    c_dispute_family_received_yellow integer,
    c_dispute_family_dispatched_red integer,
    c_dispute_family_dispatched_orange integer,
    c_dispute_family_dispatched_yellow integer,
    c_dispute_family_handling_red integer,
    c_dispute_family_handling_orange integer,
    c_dispute_family_handling_yellow integer,
    c_dispute_family_resolved_red integer,
    c_dispute_family_resolved_orange integer,
    c_dispute_family_resolved_yellow integer,
    c_dispute_family_followed_up_red integer,
    c_dispute_family_followed_up_orange integer,
    c_dispute_family_followed_up_yellow integer,
    c_dispute_family_archived_red integer,
    c_dispute_family_archived_orange integer,
    c_dispute_family_archived_yellow integer,
    c_dispute_neighbour_received_red integer,
    c_dispute_neighbour_received_orange integer,
    c_dispute_neighbour_received_yellow integer,
    c_dispute_neighbour_dispatched_red integer,
    c_dispute_neighbour_dispatched_orange integer,
    c_dispute_neighbour_dispatched_yellow integer,
    c_dispute_neighbour_handling_red integer,
    c_dispute_neighbour_handling_orange integer,
    c_dispute_neighbour_handling_yellow integer,
    c_dispute_neighbour_resolved_red integer,
    c_dispute_neighbour_resolved_orange integer,
    c_dispute_neighbour_resolved_yellow integer,
    c_dispute_neighbour_followed_up_red integer,
    c_dispute_neighbour_followed_up_orange integer,
    c_dispute_neighbour_followed_up_yellow integer,
    c_dispute_neighbour_archived_red integer,
    c_dispute_neighbour_archived_orange integer,
    c_dispute_neighbour_archived_yellow integer,
    c_dispute_debt_received_red integer,
    c_dispute_debt_received_orange integer,
    c_dispute_debt_received_yellow integer,
    c_dispute_debt_dispatched_red integer,
    c_dispute_debt_dispatched_orange integer,
    c_dispute_debt_dispatched_yellow integer,
    c_dispute_debt_handling_red integer,
    c_dispute_debt_handling_orange integer,
    c_dispute_debt_handling_yellow integer,
    c_dispute_debt_resolved_red integer,
    c_dispute_debt_resolved_orange integer,
    c_dispute_debt_resolved_yellow integer,
    c_dispute_debt_followed_up_red integer,
    c_dispute_debt_followed_up_orange integer,
    c_dispute_debt_followed_up_yellow integer,
    c_dispute_debt_archived_red integer,
    c_dispute_debt_archived_orange integer,
    c_dispute_debt_archived_yellow integer,
    c_dispute_land_received_red integer,
    c_dispute_land_received_orange integer,
    c_dispute_land_received_yellow integer,
    c_dispute_land_dispatched_red integer,
    c_dispute_land_dispatched_orange integer,
    c_dispute_land_dispatched_yellow integer,
    c_dispute_land_handling_red integer,
    c_dispute_land_handling_orange integer,
    c_dispute_land_handling_yellow integer,
    c_dispute_land_resolved_red integer,
    c_dispute_land_resolved_orange integer,
    c_dispute_land_resolved_yellow integer,
    c_dispute_land_followed_up_red integer,
    c_dispute_land_followed_up_orange integer,
    c_dispute_land_followed_up_yellow integer,
    c_dispute_land_archived_red integer,
    c_dispute_land_archived_orange integer,
    c_dispute_land_archived_yellow integer,
    c_dispute_labour_received_red integer,
    c_dispute_labour_received_orange integer,
    c_dispute_labour_received_yellow integer,
    c_dispute_labour_dispatched_red integer,
    c_dispute_labour_dispatched_orange integer,
    c_dispute_labour_dispatched_yellow integer,
    c_dispute_labour_handling_red integer,
    c_dispute_labour_handling_orange integer,
    c_dispute_labour_handling_yellow integer,
    c_dispute_labour_resolved_red integer,
    c_dispute_labour_resolved_orange integer,
    c_dispute_labour_resolved_yellow integer,
    c_dispute_labour_followed_up_red integer,
    c_dispute_labour_followed_up_orange integer,
    c_dispute_labour_followed_up_yellow integer,
    c_dispute_labour_archived_red integer,
    c_dispute_labour_archived_orange integer,
    c_dispute_labour_archived_yellow integer,
    c_dispute_demolition_received_red integer,
    c_dispute_demolition_received_orange integer,
    c_dispute_demolition_received_yellow integer,
    c_dispute_demolition_dispatched_red integer,
    c_dispute_demolition_dispatched_orange integer,
    c_dispute_demolition_dispatched_yellow integer,
    c_dispute_demolition_handling_red integer,
    c_dispute_demolition_handling_orange integer,
    c_dispute_demolition_handling_yellow integer,
    c_dispute_demolition_resolved_red integer,
    c_dispute_demolition_resolved_orange integer,
    c_dispute_demolition_resolved_yellow integer,
    c_dispute_demolition_followed_up_red integer,
    c_dispute_demolition_followed_up_orange integer,
    c_dispute_demolition_followed_up_yellow integer,
    c_dispute_demolition_archived_red integer,
    c_dispute_demolition_archived_orange integer,
    c_dispute_demolition_archived_yellow integer,
    c_dispute_property_received_red integer,
    c_dispute_property_received_orange integer,
    c_dispute_property_received_yellow integer,
    c_dispute_property_dispatched_red integer,
    c_dispute_property_dispatched_orange integer,
    c_dispute_property_dispatched_yellow integer,
    c_dispute_property_handling_red integer,
    c_dispute_property_handling_orange integer,
    c_dispute_property_handling_yellow integer,
    c_dispute_property_resolved_red integer,
    c_dispute_property_resolved_orange integer,
    c_dispute_property_resolved_yellow integer,
    c_dispute_property_followed_up_red integer,
    c_dispute_property_followed_up_orange integer,
    c_dispute_property_followed_up_yellow integer,
    c_dispute_property_archived_red integer,
    c_dispute_property_archived_orange integer,
    c_dispute_property_archived_yellow integer,
    c_dispute_medical_received_red integer,
    c_dispute_medical_received_orange integer,
    c_dispute_medical_received_yellow integer,
    c_dispute_medical_dispatched_red integer,
    c_dispute_medical_dispatched_orange integer,
    c_dispute_medical_dispatched_yellow integer,
    c_dispute_medical_handling_red integer,
    c_dispute_medical_handling_orange integer,
    c_dispute_medical_handling_yellow integer,
    c_dispute_medical_resolved_red integer,
    c_dispute_medical_resolved_orange integer,
    c_dispute_medical_resolved_yellow integer,
    c_dispute_medical_followed_up_red integer,
    c_dispute_medical_followed_up_orange integer,
    c_dispute_medical_followed_up_yellow integer,
    c_dispute_medical_archived_red integer,
    c_dispute_medical_archived_orange integer,
    c_dispute_medical_archived_yellow integer,
    c_dispute_other_received_red integer,
    c_dispute_other_received_orange integer,
    c_dispute_other_received_yellow integer,
    c_dispute_other_dispatched_red integer,
    c_dispute_other_dispatched_orange integer,
    c_dispute_other_dispatched_yellow integer,
    c_dispute_other_handling_red integer,
    c_dispute_other_handling_orange integer,
    c_dispute_other_handling_yellow integer,
    c_dispute_other_resolved_red integer,
    c_dispute_other_resolved_orange integer,
    c_dispute_other_resolved_yellow integer,
    c_dispute_other_followed_up_red integer,
    c_dispute_other_followed_up_orange integer,
    c_dispute_other_followed_up_yellow integer,
    c_dispute_other_archived_red integer,
    c_dispute_other_archived_orange integer,
    c_dispute_other_archived_yellow integer,
    c_case_received_red integer,
    c_case_received_orange integer,
    c_case_received_yellow integer,
    c_case_dispatched_red integer,
    c_case_dispatched_orange integer,
    c_case_dispatched_yellow integer,
    c_case_handling_red integer,
    c_case_handling_orange integer,
    c_case_handling_yellow integer,
    c_case_resolved_red integer,
    c_case_resolved_orange integer,
    c_case_resolved_yellow integer,
    c_case_followed_up_red integer,
    c_case_followed_up_orange integer,
    c_case_followed_up_yellow integer,
    c_case_archived_red integer,
    c_case_archived_orange integer,
    c_case_archived_yellow integer,
    c_petition_received_red integer,
    c_petition_received_orange integer,
    c_petition_received_yellow integer,
    c_petition_dispatched_red integer,
    c_petition_dispatched_orange integer,
    c_petition_dispatched_yellow integer,
    c_petition_handling_red integer,
    c_petition_handling_orange integer,
    c_petition_handling_yellow integer,
    c_petition_resolved_red integer,
    c_petition_resolved_orange integer,
    c_petition_resolved_yellow integer,
    c_petition_followed_up_red integer,
    c_petition_followed_up_orange integer,
    c_petition_followed_up_yellow integer,
    c_petition_archived_red integer,
    c_petition_archived_orange integer,
    c_petition_archived_yellow integer,
    c_accident_received_red integer,
    c_accident_received_orange integer,
    c_accident_received_yellow integer,
    c_accident_dispatched_red integer,
    c_accident_dispatched_orange integer,
    c_accident_dispatched_yellow integer,
    c_accident_handling_red integer,
    c_accident_handling_orange integer,
    c_accident_handling_yellow integer,
    c_accident_resolved_red integer,
    c_accident_resolved_orange integer,
    c_accident_resolved_yellow integer,
    c_accident_followed_up_red integer,
    c_accident_followed_up_orange integer,
    c_accident_followed_up_yellow integer,
    c_accident_archived_red integer,
    c_accident_archived_orange integer,
    c_accident_archived_yellow integer,
    c_hazard_received_red integer,
    c_hazard_received_orange integer,
    c_hazard_received_yellow integer,
    c_hazard_dispatched_red integer,
    c_hazard_dispatched_orange integer,
    c_hazard_dispatched_yellow integer,
    c_hazard_handling_red integer,
    c_hazard_handling_orange integer,
    c_hazard_handling_yellow integer,
    c_hazard_resolved_red integer,
    c_hazard_resolved_orange integer,
    c_hazard_resolved_yellow integer,
    c_hazard_followed_up_red integer,
    c_hazard_followed_up_orange integer,
    c_hazard_followed_up_yellow integer,
    c_hazard_archived_red integer,
    c_hazard_archived_orange integer,
    c_hazard_archived_yellow integer,
    PRIMARY KEY (size, month, cx, cy, station_id, township_id)
);
COMMENT ON TABLE incident_cell IS
    'Incidents per metric square, month, station and township, by category x '
    'status x risk; kept by triggers, rebuilt by incident_counts_rebuild().';

CREATE TABLE incident_village (
    month       date     NOT NULL,
    village_id  bigint   NOT NULL,
    dispute     boolean  NOT NULL,  -- a dispute_* category
    station_id  bigint   NOT NULL,
    township_id bigint   NOT NULL,
    n           integer  NOT NULL,
    done                   integer  NOT NULL,
    unknown_time           integer  NOT NULL,
    lvl_village            integer  NOT NULL,
    lvl_township           integer  NOT NULL,
    lvl_district           integer  NOT NULL,
    major_accident         integer  NOT NULL,
    cat_dispute_family     integer  NOT NULL,
    cat_dispute_neighbour  integer  NOT NULL,
    cat_dispute_debt       integer  NOT NULL,
    cat_dispute_land       integer  NOT NULL,
    cat_dispute_labour     integer  NOT NULL,
    cat_dispute_demolition integer  NOT NULL,
    cat_dispute_property   integer  NOT NULL,
    cat_dispute_medical    integer  NOT NULL,
    cat_dispute_other      integer  NOT NULL,
    cat_case               integer  NOT NULL,
    cat_petition           integer  NOT NULL,
    cat_accident           integer  NOT NULL,
    cat_hazard             integer  NOT NULL,
    d00                    integer  NOT NULL,
    d01                    integer  NOT NULL,
    d02                    integer  NOT NULL,
    d03                    integer  NOT NULL,
    d04                    integer  NOT NULL,
    d05                    integer  NOT NULL,
    d06                    integer  NOT NULL,
    d07                    integer  NOT NULL,
    d08                    integer  NOT NULL,
    d09                    integer  NOT NULL,
    d10                    integer  NOT NULL,
    d11                    integer  NOT NULL,
    d12                    integer  NOT NULL,
    d13                    integer  NOT NULL,
    d14                    integer  NOT NULL,
    d15                    integer  NOT NULL,
    d22                    integer  NOT NULL,
    d31                    integer  NOT NULL,
    d61                    integer  NOT NULL,
    PRIMARY KEY (month, village_id, dispute, station_id, township_id)
);
COMMENT ON TABLE incident_village IS
    'Incidents per village and month (disputes or not): found, resolved, by '
    'level, unknown resolution time, category, days taken; kept by triggers.';

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
-- plpgsql, not sql: its two statements' plans are kept for the session (a
-- SQL function's are made again at every call, and planning the 234-column
-- upsert cost an insert 18 ms).
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    -- Counted per column name first, then pivoted through jsonb: a square's
    -- row gets only the columns it counts (a CASE per column and row made
    -- the rebuild of a million incidents take minutes).
    INSERT INTO incident_cell AS c
    SELECT rec.*
      FROM (SELECT jsonb_build_object('size', g.size, 'month', g.month,
                       'cx', g.cx, 'cy', g.cy, 'station_id', g.station,
                       'township_id', g.township, 'n', sum(g.k))
                   || coalesce(jsonb_object_agg(g.col, g.k) FILTER (WHERE g.k <> 0),
                               '{}') AS j
              FROM (SELECT s AS size, incident_month(r.reported) AS month,
                           floor(ST_X(t.g) / s)::int AS cx,
                           floor(ST_Y(t.g) / s)::int AS cy,
                           coalesce(r.station, 0) AS station,
                           coalesce(r.township, 0) AS township,
                           'c_' || r.category || '_' || r.status || '_' || r.risk
                               AS col,
                           sum(r.sign) AS k
                      FROM unnest(p_geom, p_reported, p_category, p_status, p_risk,
                                  p_station, p_township, p_sign)
                               r (geom, reported, category, status, risk, station,
                                  township, sign),
                           (SELECT incident_count_srid(ST_X(p_geom[1])) AS srid) z,
                           LATERAL (SELECT ST_Transform(r.geom, z.srid) AS g) t,
                           unnest(incident_cell_sizes()) s
                     GROUP BY 1, 2, 3, 4, 5, 6, 7) g
             GROUP BY g.size, g.month, g.cx, g.cy, g.station, g.township) a,
           LATERAL jsonb_populate_record(NULL::incident_cell, a.j) rec
    ON CONFLICT (size, month, cx, cy, station_id, township_id)
    DO UPDATE SET n = c.n + excluded.n,
        c_dispute_family_received_red = coalesce(c.c_dispute_family_received_red + excluded.c_dispute_family_received_red, c.c_dispute_family_received_red, excluded.c_dispute_family_received_red),
        c_dispute_family_received_orange = coalesce(c.c_dispute_family_received_orange + excluded.c_dispute_family_received_orange, c.c_dispute_family_received_orange, excluded.c_dispute_family_received_orange),
        c_dispute_family_received_yellow = coalesce(c.c_dispute_family_received_yellow + excluded.c_dispute_family_received_yellow, c.c_dispute_family_received_yellow, excluded.c_dispute_family_received_yellow),
        c_dispute_family_dispatched_red = coalesce(c.c_dispute_family_dispatched_red + excluded.c_dispute_family_dispatched_red, c.c_dispute_family_dispatched_red, excluded.c_dispute_family_dispatched_red),
        c_dispute_family_dispatched_orange = coalesce(c.c_dispute_family_dispatched_orange + excluded.c_dispute_family_dispatched_orange, c.c_dispute_family_dispatched_orange, excluded.c_dispute_family_dispatched_orange),
        c_dispute_family_dispatched_yellow = coalesce(c.c_dispute_family_dispatched_yellow + excluded.c_dispute_family_dispatched_yellow, c.c_dispute_family_dispatched_yellow, excluded.c_dispute_family_dispatched_yellow),
        c_dispute_family_handling_red = coalesce(c.c_dispute_family_handling_red + excluded.c_dispute_family_handling_red, c.c_dispute_family_handling_red, excluded.c_dispute_family_handling_red),
        c_dispute_family_handling_orange = coalesce(c.c_dispute_family_handling_orange + excluded.c_dispute_family_handling_orange, c.c_dispute_family_handling_orange, excluded.c_dispute_family_handling_orange),
        c_dispute_family_handling_yellow = coalesce(c.c_dispute_family_handling_yellow + excluded.c_dispute_family_handling_yellow, c.c_dispute_family_handling_yellow, excluded.c_dispute_family_handling_yellow),
        c_dispute_family_resolved_red = coalesce(c.c_dispute_family_resolved_red + excluded.c_dispute_family_resolved_red, c.c_dispute_family_resolved_red, excluded.c_dispute_family_resolved_red),
        c_dispute_family_resolved_orange = coalesce(c.c_dispute_family_resolved_orange + excluded.c_dispute_family_resolved_orange, c.c_dispute_family_resolved_orange, excluded.c_dispute_family_resolved_orange),
        c_dispute_family_resolved_yellow = coalesce(c.c_dispute_family_resolved_yellow + excluded.c_dispute_family_resolved_yellow, c.c_dispute_family_resolved_yellow, excluded.c_dispute_family_resolved_yellow),
        c_dispute_family_followed_up_red = coalesce(c.c_dispute_family_followed_up_red + excluded.c_dispute_family_followed_up_red, c.c_dispute_family_followed_up_red, excluded.c_dispute_family_followed_up_red),
        c_dispute_family_followed_up_orange = coalesce(c.c_dispute_family_followed_up_orange + excluded.c_dispute_family_followed_up_orange, c.c_dispute_family_followed_up_orange, excluded.c_dispute_family_followed_up_orange),
        c_dispute_family_followed_up_yellow = coalesce(c.c_dispute_family_followed_up_yellow + excluded.c_dispute_family_followed_up_yellow, c.c_dispute_family_followed_up_yellow, excluded.c_dispute_family_followed_up_yellow),
        c_dispute_family_archived_red = coalesce(c.c_dispute_family_archived_red + excluded.c_dispute_family_archived_red, c.c_dispute_family_archived_red, excluded.c_dispute_family_archived_red),
        c_dispute_family_archived_orange = coalesce(c.c_dispute_family_archived_orange + excluded.c_dispute_family_archived_orange, c.c_dispute_family_archived_orange, excluded.c_dispute_family_archived_orange),
        c_dispute_family_archived_yellow = coalesce(c.c_dispute_family_archived_yellow + excluded.c_dispute_family_archived_yellow, c.c_dispute_family_archived_yellow, excluded.c_dispute_family_archived_yellow),
        c_dispute_neighbour_received_red = coalesce(c.c_dispute_neighbour_received_red + excluded.c_dispute_neighbour_received_red, c.c_dispute_neighbour_received_red, excluded.c_dispute_neighbour_received_red),
        c_dispute_neighbour_received_orange = coalesce(c.c_dispute_neighbour_received_orange + excluded.c_dispute_neighbour_received_orange, c.c_dispute_neighbour_received_orange, excluded.c_dispute_neighbour_received_orange),
        c_dispute_neighbour_received_yellow = coalesce(c.c_dispute_neighbour_received_yellow + excluded.c_dispute_neighbour_received_yellow, c.c_dispute_neighbour_received_yellow, excluded.c_dispute_neighbour_received_yellow),
        c_dispute_neighbour_dispatched_red = coalesce(c.c_dispute_neighbour_dispatched_red + excluded.c_dispute_neighbour_dispatched_red, c.c_dispute_neighbour_dispatched_red, excluded.c_dispute_neighbour_dispatched_red),
        c_dispute_neighbour_dispatched_orange = coalesce(c.c_dispute_neighbour_dispatched_orange + excluded.c_dispute_neighbour_dispatched_orange, c.c_dispute_neighbour_dispatched_orange, excluded.c_dispute_neighbour_dispatched_orange),
        c_dispute_neighbour_dispatched_yellow = coalesce(c.c_dispute_neighbour_dispatched_yellow + excluded.c_dispute_neighbour_dispatched_yellow, c.c_dispute_neighbour_dispatched_yellow, excluded.c_dispute_neighbour_dispatched_yellow),
        c_dispute_neighbour_handling_red = coalesce(c.c_dispute_neighbour_handling_red + excluded.c_dispute_neighbour_handling_red, c.c_dispute_neighbour_handling_red, excluded.c_dispute_neighbour_handling_red),
        c_dispute_neighbour_handling_orange = coalesce(c.c_dispute_neighbour_handling_orange + excluded.c_dispute_neighbour_handling_orange, c.c_dispute_neighbour_handling_orange, excluded.c_dispute_neighbour_handling_orange),
        c_dispute_neighbour_handling_yellow = coalesce(c.c_dispute_neighbour_handling_yellow + excluded.c_dispute_neighbour_handling_yellow, c.c_dispute_neighbour_handling_yellow, excluded.c_dispute_neighbour_handling_yellow),
        c_dispute_neighbour_resolved_red = coalesce(c.c_dispute_neighbour_resolved_red + excluded.c_dispute_neighbour_resolved_red, c.c_dispute_neighbour_resolved_red, excluded.c_dispute_neighbour_resolved_red),
        c_dispute_neighbour_resolved_orange = coalesce(c.c_dispute_neighbour_resolved_orange + excluded.c_dispute_neighbour_resolved_orange, c.c_dispute_neighbour_resolved_orange, excluded.c_dispute_neighbour_resolved_orange),
        c_dispute_neighbour_resolved_yellow = coalesce(c.c_dispute_neighbour_resolved_yellow + excluded.c_dispute_neighbour_resolved_yellow, c.c_dispute_neighbour_resolved_yellow, excluded.c_dispute_neighbour_resolved_yellow),
        c_dispute_neighbour_followed_up_red = coalesce(c.c_dispute_neighbour_followed_up_red + excluded.c_dispute_neighbour_followed_up_red, c.c_dispute_neighbour_followed_up_red, excluded.c_dispute_neighbour_followed_up_red),
        c_dispute_neighbour_followed_up_orange = coalesce(c.c_dispute_neighbour_followed_up_orange + excluded.c_dispute_neighbour_followed_up_orange, c.c_dispute_neighbour_followed_up_orange, excluded.c_dispute_neighbour_followed_up_orange),
        c_dispute_neighbour_followed_up_yellow = coalesce(c.c_dispute_neighbour_followed_up_yellow + excluded.c_dispute_neighbour_followed_up_yellow, c.c_dispute_neighbour_followed_up_yellow, excluded.c_dispute_neighbour_followed_up_yellow),
        c_dispute_neighbour_archived_red = coalesce(c.c_dispute_neighbour_archived_red + excluded.c_dispute_neighbour_archived_red, c.c_dispute_neighbour_archived_red, excluded.c_dispute_neighbour_archived_red),
        c_dispute_neighbour_archived_orange = coalesce(c.c_dispute_neighbour_archived_orange + excluded.c_dispute_neighbour_archived_orange, c.c_dispute_neighbour_archived_orange, excluded.c_dispute_neighbour_archived_orange),
        c_dispute_neighbour_archived_yellow = coalesce(c.c_dispute_neighbour_archived_yellow + excluded.c_dispute_neighbour_archived_yellow, c.c_dispute_neighbour_archived_yellow, excluded.c_dispute_neighbour_archived_yellow),
        c_dispute_debt_received_red = coalesce(c.c_dispute_debt_received_red + excluded.c_dispute_debt_received_red, c.c_dispute_debt_received_red, excluded.c_dispute_debt_received_red),
        c_dispute_debt_received_orange = coalesce(c.c_dispute_debt_received_orange + excluded.c_dispute_debt_received_orange, c.c_dispute_debt_received_orange, excluded.c_dispute_debt_received_orange),
        c_dispute_debt_received_yellow = coalesce(c.c_dispute_debt_received_yellow + excluded.c_dispute_debt_received_yellow, c.c_dispute_debt_received_yellow, excluded.c_dispute_debt_received_yellow),
        c_dispute_debt_dispatched_red = coalesce(c.c_dispute_debt_dispatched_red + excluded.c_dispute_debt_dispatched_red, c.c_dispute_debt_dispatched_red, excluded.c_dispute_debt_dispatched_red),
        c_dispute_debt_dispatched_orange = coalesce(c.c_dispute_debt_dispatched_orange + excluded.c_dispute_debt_dispatched_orange, c.c_dispute_debt_dispatched_orange, excluded.c_dispute_debt_dispatched_orange),
        c_dispute_debt_dispatched_yellow = coalesce(c.c_dispute_debt_dispatched_yellow + excluded.c_dispute_debt_dispatched_yellow, c.c_dispute_debt_dispatched_yellow, excluded.c_dispute_debt_dispatched_yellow),
        c_dispute_debt_handling_red = coalesce(c.c_dispute_debt_handling_red + excluded.c_dispute_debt_handling_red, c.c_dispute_debt_handling_red, excluded.c_dispute_debt_handling_red),
        c_dispute_debt_handling_orange = coalesce(c.c_dispute_debt_handling_orange + excluded.c_dispute_debt_handling_orange, c.c_dispute_debt_handling_orange, excluded.c_dispute_debt_handling_orange),
        c_dispute_debt_handling_yellow = coalesce(c.c_dispute_debt_handling_yellow + excluded.c_dispute_debt_handling_yellow, c.c_dispute_debt_handling_yellow, excluded.c_dispute_debt_handling_yellow),
        c_dispute_debt_resolved_red = coalesce(c.c_dispute_debt_resolved_red + excluded.c_dispute_debt_resolved_red, c.c_dispute_debt_resolved_red, excluded.c_dispute_debt_resolved_red),
        c_dispute_debt_resolved_orange = coalesce(c.c_dispute_debt_resolved_orange + excluded.c_dispute_debt_resolved_orange, c.c_dispute_debt_resolved_orange, excluded.c_dispute_debt_resolved_orange),
        c_dispute_debt_resolved_yellow = coalesce(c.c_dispute_debt_resolved_yellow + excluded.c_dispute_debt_resolved_yellow, c.c_dispute_debt_resolved_yellow, excluded.c_dispute_debt_resolved_yellow),
        c_dispute_debt_followed_up_red = coalesce(c.c_dispute_debt_followed_up_red + excluded.c_dispute_debt_followed_up_red, c.c_dispute_debt_followed_up_red, excluded.c_dispute_debt_followed_up_red),
        c_dispute_debt_followed_up_orange = coalesce(c.c_dispute_debt_followed_up_orange + excluded.c_dispute_debt_followed_up_orange, c.c_dispute_debt_followed_up_orange, excluded.c_dispute_debt_followed_up_orange),
        c_dispute_debt_followed_up_yellow = coalesce(c.c_dispute_debt_followed_up_yellow + excluded.c_dispute_debt_followed_up_yellow, c.c_dispute_debt_followed_up_yellow, excluded.c_dispute_debt_followed_up_yellow),
        c_dispute_debt_archived_red = coalesce(c.c_dispute_debt_archived_red + excluded.c_dispute_debt_archived_red, c.c_dispute_debt_archived_red, excluded.c_dispute_debt_archived_red),
        c_dispute_debt_archived_orange = coalesce(c.c_dispute_debt_archived_orange + excluded.c_dispute_debt_archived_orange, c.c_dispute_debt_archived_orange, excluded.c_dispute_debt_archived_orange),
        c_dispute_debt_archived_yellow = coalesce(c.c_dispute_debt_archived_yellow + excluded.c_dispute_debt_archived_yellow, c.c_dispute_debt_archived_yellow, excluded.c_dispute_debt_archived_yellow),
        c_dispute_land_received_red = coalesce(c.c_dispute_land_received_red + excluded.c_dispute_land_received_red, c.c_dispute_land_received_red, excluded.c_dispute_land_received_red),
        c_dispute_land_received_orange = coalesce(c.c_dispute_land_received_orange + excluded.c_dispute_land_received_orange, c.c_dispute_land_received_orange, excluded.c_dispute_land_received_orange),
        c_dispute_land_received_yellow = coalesce(c.c_dispute_land_received_yellow + excluded.c_dispute_land_received_yellow, c.c_dispute_land_received_yellow, excluded.c_dispute_land_received_yellow),
        c_dispute_land_dispatched_red = coalesce(c.c_dispute_land_dispatched_red + excluded.c_dispute_land_dispatched_red, c.c_dispute_land_dispatched_red, excluded.c_dispute_land_dispatched_red),
        c_dispute_land_dispatched_orange = coalesce(c.c_dispute_land_dispatched_orange + excluded.c_dispute_land_dispatched_orange, c.c_dispute_land_dispatched_orange, excluded.c_dispute_land_dispatched_orange),
        c_dispute_land_dispatched_yellow = coalesce(c.c_dispute_land_dispatched_yellow + excluded.c_dispute_land_dispatched_yellow, c.c_dispute_land_dispatched_yellow, excluded.c_dispute_land_dispatched_yellow),
        c_dispute_land_handling_red = coalesce(c.c_dispute_land_handling_red + excluded.c_dispute_land_handling_red, c.c_dispute_land_handling_red, excluded.c_dispute_land_handling_red),
        c_dispute_land_handling_orange = coalesce(c.c_dispute_land_handling_orange + excluded.c_dispute_land_handling_orange, c.c_dispute_land_handling_orange, excluded.c_dispute_land_handling_orange),
        c_dispute_land_handling_yellow = coalesce(c.c_dispute_land_handling_yellow + excluded.c_dispute_land_handling_yellow, c.c_dispute_land_handling_yellow, excluded.c_dispute_land_handling_yellow),
        c_dispute_land_resolved_red = coalesce(c.c_dispute_land_resolved_red + excluded.c_dispute_land_resolved_red, c.c_dispute_land_resolved_red, excluded.c_dispute_land_resolved_red),
        c_dispute_land_resolved_orange = coalesce(c.c_dispute_land_resolved_orange + excluded.c_dispute_land_resolved_orange, c.c_dispute_land_resolved_orange, excluded.c_dispute_land_resolved_orange),
        c_dispute_land_resolved_yellow = coalesce(c.c_dispute_land_resolved_yellow + excluded.c_dispute_land_resolved_yellow, c.c_dispute_land_resolved_yellow, excluded.c_dispute_land_resolved_yellow),
        c_dispute_land_followed_up_red = coalesce(c.c_dispute_land_followed_up_red + excluded.c_dispute_land_followed_up_red, c.c_dispute_land_followed_up_red, excluded.c_dispute_land_followed_up_red),
        c_dispute_land_followed_up_orange = coalesce(c.c_dispute_land_followed_up_orange + excluded.c_dispute_land_followed_up_orange, c.c_dispute_land_followed_up_orange, excluded.c_dispute_land_followed_up_orange),
        c_dispute_land_followed_up_yellow = coalesce(c.c_dispute_land_followed_up_yellow + excluded.c_dispute_land_followed_up_yellow, c.c_dispute_land_followed_up_yellow, excluded.c_dispute_land_followed_up_yellow),
        c_dispute_land_archived_red = coalesce(c.c_dispute_land_archived_red + excluded.c_dispute_land_archived_red, c.c_dispute_land_archived_red, excluded.c_dispute_land_archived_red),
        c_dispute_land_archived_orange = coalesce(c.c_dispute_land_archived_orange + excluded.c_dispute_land_archived_orange, c.c_dispute_land_archived_orange, excluded.c_dispute_land_archived_orange),
        c_dispute_land_archived_yellow = coalesce(c.c_dispute_land_archived_yellow + excluded.c_dispute_land_archived_yellow, c.c_dispute_land_archived_yellow, excluded.c_dispute_land_archived_yellow),
        c_dispute_labour_received_red = coalesce(c.c_dispute_labour_received_red + excluded.c_dispute_labour_received_red, c.c_dispute_labour_received_red, excluded.c_dispute_labour_received_red),
        c_dispute_labour_received_orange = coalesce(c.c_dispute_labour_received_orange + excluded.c_dispute_labour_received_orange, c.c_dispute_labour_received_orange, excluded.c_dispute_labour_received_orange),
        c_dispute_labour_received_yellow = coalesce(c.c_dispute_labour_received_yellow + excluded.c_dispute_labour_received_yellow, c.c_dispute_labour_received_yellow, excluded.c_dispute_labour_received_yellow),
        c_dispute_labour_dispatched_red = coalesce(c.c_dispute_labour_dispatched_red + excluded.c_dispute_labour_dispatched_red, c.c_dispute_labour_dispatched_red, excluded.c_dispute_labour_dispatched_red),
        c_dispute_labour_dispatched_orange = coalesce(c.c_dispute_labour_dispatched_orange + excluded.c_dispute_labour_dispatched_orange, c.c_dispute_labour_dispatched_orange, excluded.c_dispute_labour_dispatched_orange),
        c_dispute_labour_dispatched_yellow = coalesce(c.c_dispute_labour_dispatched_yellow + excluded.c_dispute_labour_dispatched_yellow, c.c_dispute_labour_dispatched_yellow, excluded.c_dispute_labour_dispatched_yellow),
        c_dispute_labour_handling_red = coalesce(c.c_dispute_labour_handling_red + excluded.c_dispute_labour_handling_red, c.c_dispute_labour_handling_red, excluded.c_dispute_labour_handling_red),
        c_dispute_labour_handling_orange = coalesce(c.c_dispute_labour_handling_orange + excluded.c_dispute_labour_handling_orange, c.c_dispute_labour_handling_orange, excluded.c_dispute_labour_handling_orange),
        c_dispute_labour_handling_yellow = coalesce(c.c_dispute_labour_handling_yellow + excluded.c_dispute_labour_handling_yellow, c.c_dispute_labour_handling_yellow, excluded.c_dispute_labour_handling_yellow),
        c_dispute_labour_resolved_red = coalesce(c.c_dispute_labour_resolved_red + excluded.c_dispute_labour_resolved_red, c.c_dispute_labour_resolved_red, excluded.c_dispute_labour_resolved_red),
        c_dispute_labour_resolved_orange = coalesce(c.c_dispute_labour_resolved_orange + excluded.c_dispute_labour_resolved_orange, c.c_dispute_labour_resolved_orange, excluded.c_dispute_labour_resolved_orange),
        c_dispute_labour_resolved_yellow = coalesce(c.c_dispute_labour_resolved_yellow + excluded.c_dispute_labour_resolved_yellow, c.c_dispute_labour_resolved_yellow, excluded.c_dispute_labour_resolved_yellow),
        c_dispute_labour_followed_up_red = coalesce(c.c_dispute_labour_followed_up_red + excluded.c_dispute_labour_followed_up_red, c.c_dispute_labour_followed_up_red, excluded.c_dispute_labour_followed_up_red),
        c_dispute_labour_followed_up_orange = coalesce(c.c_dispute_labour_followed_up_orange + excluded.c_dispute_labour_followed_up_orange, c.c_dispute_labour_followed_up_orange, excluded.c_dispute_labour_followed_up_orange),
        c_dispute_labour_followed_up_yellow = coalesce(c.c_dispute_labour_followed_up_yellow + excluded.c_dispute_labour_followed_up_yellow, c.c_dispute_labour_followed_up_yellow, excluded.c_dispute_labour_followed_up_yellow),
        c_dispute_labour_archived_red = coalesce(c.c_dispute_labour_archived_red + excluded.c_dispute_labour_archived_red, c.c_dispute_labour_archived_red, excluded.c_dispute_labour_archived_red),
        c_dispute_labour_archived_orange = coalesce(c.c_dispute_labour_archived_orange + excluded.c_dispute_labour_archived_orange, c.c_dispute_labour_archived_orange, excluded.c_dispute_labour_archived_orange),
        c_dispute_labour_archived_yellow = coalesce(c.c_dispute_labour_archived_yellow + excluded.c_dispute_labour_archived_yellow, c.c_dispute_labour_archived_yellow, excluded.c_dispute_labour_archived_yellow),
        c_dispute_demolition_received_red = coalesce(c.c_dispute_demolition_received_red + excluded.c_dispute_demolition_received_red, c.c_dispute_demolition_received_red, excluded.c_dispute_demolition_received_red),
        c_dispute_demolition_received_orange = coalesce(c.c_dispute_demolition_received_orange + excluded.c_dispute_demolition_received_orange, c.c_dispute_demolition_received_orange, excluded.c_dispute_demolition_received_orange),
        c_dispute_demolition_received_yellow = coalesce(c.c_dispute_demolition_received_yellow + excluded.c_dispute_demolition_received_yellow, c.c_dispute_demolition_received_yellow, excluded.c_dispute_demolition_received_yellow),
        c_dispute_demolition_dispatched_red = coalesce(c.c_dispute_demolition_dispatched_red + excluded.c_dispute_demolition_dispatched_red, c.c_dispute_demolition_dispatched_red, excluded.c_dispute_demolition_dispatched_red),
        c_dispute_demolition_dispatched_orange = coalesce(c.c_dispute_demolition_dispatched_orange + excluded.c_dispute_demolition_dispatched_orange, c.c_dispute_demolition_dispatched_orange, excluded.c_dispute_demolition_dispatched_orange),
        c_dispute_demolition_dispatched_yellow = coalesce(c.c_dispute_demolition_dispatched_yellow + excluded.c_dispute_demolition_dispatched_yellow, c.c_dispute_demolition_dispatched_yellow, excluded.c_dispute_demolition_dispatched_yellow),
        c_dispute_demolition_handling_red = coalesce(c.c_dispute_demolition_handling_red + excluded.c_dispute_demolition_handling_red, c.c_dispute_demolition_handling_red, excluded.c_dispute_demolition_handling_red),
        c_dispute_demolition_handling_orange = coalesce(c.c_dispute_demolition_handling_orange + excluded.c_dispute_demolition_handling_orange, c.c_dispute_demolition_handling_orange, excluded.c_dispute_demolition_handling_orange),
        c_dispute_demolition_handling_yellow = coalesce(c.c_dispute_demolition_handling_yellow + excluded.c_dispute_demolition_handling_yellow, c.c_dispute_demolition_handling_yellow, excluded.c_dispute_demolition_handling_yellow),
        c_dispute_demolition_resolved_red = coalesce(c.c_dispute_demolition_resolved_red + excluded.c_dispute_demolition_resolved_red, c.c_dispute_demolition_resolved_red, excluded.c_dispute_demolition_resolved_red),
        c_dispute_demolition_resolved_orange = coalesce(c.c_dispute_demolition_resolved_orange + excluded.c_dispute_demolition_resolved_orange, c.c_dispute_demolition_resolved_orange, excluded.c_dispute_demolition_resolved_orange),
        c_dispute_demolition_resolved_yellow = coalesce(c.c_dispute_demolition_resolved_yellow + excluded.c_dispute_demolition_resolved_yellow, c.c_dispute_demolition_resolved_yellow, excluded.c_dispute_demolition_resolved_yellow),
        c_dispute_demolition_followed_up_red = coalesce(c.c_dispute_demolition_followed_up_red + excluded.c_dispute_demolition_followed_up_red, c.c_dispute_demolition_followed_up_red, excluded.c_dispute_demolition_followed_up_red),
        c_dispute_demolition_followed_up_orange = coalesce(c.c_dispute_demolition_followed_up_orange + excluded.c_dispute_demolition_followed_up_orange, c.c_dispute_demolition_followed_up_orange, excluded.c_dispute_demolition_followed_up_orange),
        c_dispute_demolition_followed_up_yellow = coalesce(c.c_dispute_demolition_followed_up_yellow + excluded.c_dispute_demolition_followed_up_yellow, c.c_dispute_demolition_followed_up_yellow, excluded.c_dispute_demolition_followed_up_yellow),
        c_dispute_demolition_archived_red = coalesce(c.c_dispute_demolition_archived_red + excluded.c_dispute_demolition_archived_red, c.c_dispute_demolition_archived_red, excluded.c_dispute_demolition_archived_red),
        c_dispute_demolition_archived_orange = coalesce(c.c_dispute_demolition_archived_orange + excluded.c_dispute_demolition_archived_orange, c.c_dispute_demolition_archived_orange, excluded.c_dispute_demolition_archived_orange),
        c_dispute_demolition_archived_yellow = coalesce(c.c_dispute_demolition_archived_yellow + excluded.c_dispute_demolition_archived_yellow, c.c_dispute_demolition_archived_yellow, excluded.c_dispute_demolition_archived_yellow),
        c_dispute_property_received_red = coalesce(c.c_dispute_property_received_red + excluded.c_dispute_property_received_red, c.c_dispute_property_received_red, excluded.c_dispute_property_received_red),
        c_dispute_property_received_orange = coalesce(c.c_dispute_property_received_orange + excluded.c_dispute_property_received_orange, c.c_dispute_property_received_orange, excluded.c_dispute_property_received_orange),
        c_dispute_property_received_yellow = coalesce(c.c_dispute_property_received_yellow + excluded.c_dispute_property_received_yellow, c.c_dispute_property_received_yellow, excluded.c_dispute_property_received_yellow),
        c_dispute_property_dispatched_red = coalesce(c.c_dispute_property_dispatched_red + excluded.c_dispute_property_dispatched_red, c.c_dispute_property_dispatched_red, excluded.c_dispute_property_dispatched_red),
        c_dispute_property_dispatched_orange = coalesce(c.c_dispute_property_dispatched_orange + excluded.c_dispute_property_dispatched_orange, c.c_dispute_property_dispatched_orange, excluded.c_dispute_property_dispatched_orange),
        c_dispute_property_dispatched_yellow = coalesce(c.c_dispute_property_dispatched_yellow + excluded.c_dispute_property_dispatched_yellow, c.c_dispute_property_dispatched_yellow, excluded.c_dispute_property_dispatched_yellow),
        c_dispute_property_handling_red = coalesce(c.c_dispute_property_handling_red + excluded.c_dispute_property_handling_red, c.c_dispute_property_handling_red, excluded.c_dispute_property_handling_red),
        c_dispute_property_handling_orange = coalesce(c.c_dispute_property_handling_orange + excluded.c_dispute_property_handling_orange, c.c_dispute_property_handling_orange, excluded.c_dispute_property_handling_orange),
        c_dispute_property_handling_yellow = coalesce(c.c_dispute_property_handling_yellow + excluded.c_dispute_property_handling_yellow, c.c_dispute_property_handling_yellow, excluded.c_dispute_property_handling_yellow),
        c_dispute_property_resolved_red = coalesce(c.c_dispute_property_resolved_red + excluded.c_dispute_property_resolved_red, c.c_dispute_property_resolved_red, excluded.c_dispute_property_resolved_red),
        c_dispute_property_resolved_orange = coalesce(c.c_dispute_property_resolved_orange + excluded.c_dispute_property_resolved_orange, c.c_dispute_property_resolved_orange, excluded.c_dispute_property_resolved_orange),
        c_dispute_property_resolved_yellow = coalesce(c.c_dispute_property_resolved_yellow + excluded.c_dispute_property_resolved_yellow, c.c_dispute_property_resolved_yellow, excluded.c_dispute_property_resolved_yellow),
        c_dispute_property_followed_up_red = coalesce(c.c_dispute_property_followed_up_red + excluded.c_dispute_property_followed_up_red, c.c_dispute_property_followed_up_red, excluded.c_dispute_property_followed_up_red),
        c_dispute_property_followed_up_orange = coalesce(c.c_dispute_property_followed_up_orange + excluded.c_dispute_property_followed_up_orange, c.c_dispute_property_followed_up_orange, excluded.c_dispute_property_followed_up_orange),
        c_dispute_property_followed_up_yellow = coalesce(c.c_dispute_property_followed_up_yellow + excluded.c_dispute_property_followed_up_yellow, c.c_dispute_property_followed_up_yellow, excluded.c_dispute_property_followed_up_yellow),
        c_dispute_property_archived_red = coalesce(c.c_dispute_property_archived_red + excluded.c_dispute_property_archived_red, c.c_dispute_property_archived_red, excluded.c_dispute_property_archived_red),
        c_dispute_property_archived_orange = coalesce(c.c_dispute_property_archived_orange + excluded.c_dispute_property_archived_orange, c.c_dispute_property_archived_orange, excluded.c_dispute_property_archived_orange),
        c_dispute_property_archived_yellow = coalesce(c.c_dispute_property_archived_yellow + excluded.c_dispute_property_archived_yellow, c.c_dispute_property_archived_yellow, excluded.c_dispute_property_archived_yellow),
        c_dispute_medical_received_red = coalesce(c.c_dispute_medical_received_red + excluded.c_dispute_medical_received_red, c.c_dispute_medical_received_red, excluded.c_dispute_medical_received_red),
        c_dispute_medical_received_orange = coalesce(c.c_dispute_medical_received_orange + excluded.c_dispute_medical_received_orange, c.c_dispute_medical_received_orange, excluded.c_dispute_medical_received_orange),
        c_dispute_medical_received_yellow = coalesce(c.c_dispute_medical_received_yellow + excluded.c_dispute_medical_received_yellow, c.c_dispute_medical_received_yellow, excluded.c_dispute_medical_received_yellow),
        c_dispute_medical_dispatched_red = coalesce(c.c_dispute_medical_dispatched_red + excluded.c_dispute_medical_dispatched_red, c.c_dispute_medical_dispatched_red, excluded.c_dispute_medical_dispatched_red),
        c_dispute_medical_dispatched_orange = coalesce(c.c_dispute_medical_dispatched_orange + excluded.c_dispute_medical_dispatched_orange, c.c_dispute_medical_dispatched_orange, excluded.c_dispute_medical_dispatched_orange),
        c_dispute_medical_dispatched_yellow = coalesce(c.c_dispute_medical_dispatched_yellow + excluded.c_dispute_medical_dispatched_yellow, c.c_dispute_medical_dispatched_yellow, excluded.c_dispute_medical_dispatched_yellow),
        c_dispute_medical_handling_red = coalesce(c.c_dispute_medical_handling_red + excluded.c_dispute_medical_handling_red, c.c_dispute_medical_handling_red, excluded.c_dispute_medical_handling_red),
        c_dispute_medical_handling_orange = coalesce(c.c_dispute_medical_handling_orange + excluded.c_dispute_medical_handling_orange, c.c_dispute_medical_handling_orange, excluded.c_dispute_medical_handling_orange),
        c_dispute_medical_handling_yellow = coalesce(c.c_dispute_medical_handling_yellow + excluded.c_dispute_medical_handling_yellow, c.c_dispute_medical_handling_yellow, excluded.c_dispute_medical_handling_yellow),
        c_dispute_medical_resolved_red = coalesce(c.c_dispute_medical_resolved_red + excluded.c_dispute_medical_resolved_red, c.c_dispute_medical_resolved_red, excluded.c_dispute_medical_resolved_red),
        c_dispute_medical_resolved_orange = coalesce(c.c_dispute_medical_resolved_orange + excluded.c_dispute_medical_resolved_orange, c.c_dispute_medical_resolved_orange, excluded.c_dispute_medical_resolved_orange),
        c_dispute_medical_resolved_yellow = coalesce(c.c_dispute_medical_resolved_yellow + excluded.c_dispute_medical_resolved_yellow, c.c_dispute_medical_resolved_yellow, excluded.c_dispute_medical_resolved_yellow),
        c_dispute_medical_followed_up_red = coalesce(c.c_dispute_medical_followed_up_red + excluded.c_dispute_medical_followed_up_red, c.c_dispute_medical_followed_up_red, excluded.c_dispute_medical_followed_up_red),
        c_dispute_medical_followed_up_orange = coalesce(c.c_dispute_medical_followed_up_orange + excluded.c_dispute_medical_followed_up_orange, c.c_dispute_medical_followed_up_orange, excluded.c_dispute_medical_followed_up_orange),
        c_dispute_medical_followed_up_yellow = coalesce(c.c_dispute_medical_followed_up_yellow + excluded.c_dispute_medical_followed_up_yellow, c.c_dispute_medical_followed_up_yellow, excluded.c_dispute_medical_followed_up_yellow),
        c_dispute_medical_archived_red = coalesce(c.c_dispute_medical_archived_red + excluded.c_dispute_medical_archived_red, c.c_dispute_medical_archived_red, excluded.c_dispute_medical_archived_red),
        c_dispute_medical_archived_orange = coalesce(c.c_dispute_medical_archived_orange + excluded.c_dispute_medical_archived_orange, c.c_dispute_medical_archived_orange, excluded.c_dispute_medical_archived_orange),
        c_dispute_medical_archived_yellow = coalesce(c.c_dispute_medical_archived_yellow + excluded.c_dispute_medical_archived_yellow, c.c_dispute_medical_archived_yellow, excluded.c_dispute_medical_archived_yellow),
        c_dispute_other_received_red = coalesce(c.c_dispute_other_received_red + excluded.c_dispute_other_received_red, c.c_dispute_other_received_red, excluded.c_dispute_other_received_red),
        c_dispute_other_received_orange = coalesce(c.c_dispute_other_received_orange + excluded.c_dispute_other_received_orange, c.c_dispute_other_received_orange, excluded.c_dispute_other_received_orange),
        c_dispute_other_received_yellow = coalesce(c.c_dispute_other_received_yellow + excluded.c_dispute_other_received_yellow, c.c_dispute_other_received_yellow, excluded.c_dispute_other_received_yellow),
        c_dispute_other_dispatched_red = coalesce(c.c_dispute_other_dispatched_red + excluded.c_dispute_other_dispatched_red, c.c_dispute_other_dispatched_red, excluded.c_dispute_other_dispatched_red),
        c_dispute_other_dispatched_orange = coalesce(c.c_dispute_other_dispatched_orange + excluded.c_dispute_other_dispatched_orange, c.c_dispute_other_dispatched_orange, excluded.c_dispute_other_dispatched_orange),
        c_dispute_other_dispatched_yellow = coalesce(c.c_dispute_other_dispatched_yellow + excluded.c_dispute_other_dispatched_yellow, c.c_dispute_other_dispatched_yellow, excluded.c_dispute_other_dispatched_yellow),
        c_dispute_other_handling_red = coalesce(c.c_dispute_other_handling_red + excluded.c_dispute_other_handling_red, c.c_dispute_other_handling_red, excluded.c_dispute_other_handling_red),
        c_dispute_other_handling_orange = coalesce(c.c_dispute_other_handling_orange + excluded.c_dispute_other_handling_orange, c.c_dispute_other_handling_orange, excluded.c_dispute_other_handling_orange),
        c_dispute_other_handling_yellow = coalesce(c.c_dispute_other_handling_yellow + excluded.c_dispute_other_handling_yellow, c.c_dispute_other_handling_yellow, excluded.c_dispute_other_handling_yellow),
        c_dispute_other_resolved_red = coalesce(c.c_dispute_other_resolved_red + excluded.c_dispute_other_resolved_red, c.c_dispute_other_resolved_red, excluded.c_dispute_other_resolved_red),
        c_dispute_other_resolved_orange = coalesce(c.c_dispute_other_resolved_orange + excluded.c_dispute_other_resolved_orange, c.c_dispute_other_resolved_orange, excluded.c_dispute_other_resolved_orange),
        c_dispute_other_resolved_yellow = coalesce(c.c_dispute_other_resolved_yellow + excluded.c_dispute_other_resolved_yellow, c.c_dispute_other_resolved_yellow, excluded.c_dispute_other_resolved_yellow),
        c_dispute_other_followed_up_red = coalesce(c.c_dispute_other_followed_up_red + excluded.c_dispute_other_followed_up_red, c.c_dispute_other_followed_up_red, excluded.c_dispute_other_followed_up_red),
        c_dispute_other_followed_up_orange = coalesce(c.c_dispute_other_followed_up_orange + excluded.c_dispute_other_followed_up_orange, c.c_dispute_other_followed_up_orange, excluded.c_dispute_other_followed_up_orange),
        c_dispute_other_followed_up_yellow = coalesce(c.c_dispute_other_followed_up_yellow + excluded.c_dispute_other_followed_up_yellow, c.c_dispute_other_followed_up_yellow, excluded.c_dispute_other_followed_up_yellow),
        c_dispute_other_archived_red = coalesce(c.c_dispute_other_archived_red + excluded.c_dispute_other_archived_red, c.c_dispute_other_archived_red, excluded.c_dispute_other_archived_red),
        c_dispute_other_archived_orange = coalesce(c.c_dispute_other_archived_orange + excluded.c_dispute_other_archived_orange, c.c_dispute_other_archived_orange, excluded.c_dispute_other_archived_orange),
        c_dispute_other_archived_yellow = coalesce(c.c_dispute_other_archived_yellow + excluded.c_dispute_other_archived_yellow, c.c_dispute_other_archived_yellow, excluded.c_dispute_other_archived_yellow),
        c_case_received_red = coalesce(c.c_case_received_red + excluded.c_case_received_red, c.c_case_received_red, excluded.c_case_received_red),
        c_case_received_orange = coalesce(c.c_case_received_orange + excluded.c_case_received_orange, c.c_case_received_orange, excluded.c_case_received_orange),
        c_case_received_yellow = coalesce(c.c_case_received_yellow + excluded.c_case_received_yellow, c.c_case_received_yellow, excluded.c_case_received_yellow),
        c_case_dispatched_red = coalesce(c.c_case_dispatched_red + excluded.c_case_dispatched_red, c.c_case_dispatched_red, excluded.c_case_dispatched_red),
        c_case_dispatched_orange = coalesce(c.c_case_dispatched_orange + excluded.c_case_dispatched_orange, c.c_case_dispatched_orange, excluded.c_case_dispatched_orange),
        c_case_dispatched_yellow = coalesce(c.c_case_dispatched_yellow + excluded.c_case_dispatched_yellow, c.c_case_dispatched_yellow, excluded.c_case_dispatched_yellow),
        c_case_handling_red = coalesce(c.c_case_handling_red + excluded.c_case_handling_red, c.c_case_handling_red, excluded.c_case_handling_red),
        c_case_handling_orange = coalesce(c.c_case_handling_orange + excluded.c_case_handling_orange, c.c_case_handling_orange, excluded.c_case_handling_orange),
        c_case_handling_yellow = coalesce(c.c_case_handling_yellow + excluded.c_case_handling_yellow, c.c_case_handling_yellow, excluded.c_case_handling_yellow),
        c_case_resolved_red = coalesce(c.c_case_resolved_red + excluded.c_case_resolved_red, c.c_case_resolved_red, excluded.c_case_resolved_red),
        c_case_resolved_orange = coalesce(c.c_case_resolved_orange + excluded.c_case_resolved_orange, c.c_case_resolved_orange, excluded.c_case_resolved_orange),
        c_case_resolved_yellow = coalesce(c.c_case_resolved_yellow + excluded.c_case_resolved_yellow, c.c_case_resolved_yellow, excluded.c_case_resolved_yellow),
        c_case_followed_up_red = coalesce(c.c_case_followed_up_red + excluded.c_case_followed_up_red, c.c_case_followed_up_red, excluded.c_case_followed_up_red),
        c_case_followed_up_orange = coalesce(c.c_case_followed_up_orange + excluded.c_case_followed_up_orange, c.c_case_followed_up_orange, excluded.c_case_followed_up_orange),
        c_case_followed_up_yellow = coalesce(c.c_case_followed_up_yellow + excluded.c_case_followed_up_yellow, c.c_case_followed_up_yellow, excluded.c_case_followed_up_yellow),
        c_case_archived_red = coalesce(c.c_case_archived_red + excluded.c_case_archived_red, c.c_case_archived_red, excluded.c_case_archived_red),
        c_case_archived_orange = coalesce(c.c_case_archived_orange + excluded.c_case_archived_orange, c.c_case_archived_orange, excluded.c_case_archived_orange),
        c_case_archived_yellow = coalesce(c.c_case_archived_yellow + excluded.c_case_archived_yellow, c.c_case_archived_yellow, excluded.c_case_archived_yellow),
        c_petition_received_red = coalesce(c.c_petition_received_red + excluded.c_petition_received_red, c.c_petition_received_red, excluded.c_petition_received_red),
        c_petition_received_orange = coalesce(c.c_petition_received_orange + excluded.c_petition_received_orange, c.c_petition_received_orange, excluded.c_petition_received_orange),
        c_petition_received_yellow = coalesce(c.c_petition_received_yellow + excluded.c_petition_received_yellow, c.c_petition_received_yellow, excluded.c_petition_received_yellow),
        c_petition_dispatched_red = coalesce(c.c_petition_dispatched_red + excluded.c_petition_dispatched_red, c.c_petition_dispatched_red, excluded.c_petition_dispatched_red),
        c_petition_dispatched_orange = coalesce(c.c_petition_dispatched_orange + excluded.c_petition_dispatched_orange, c.c_petition_dispatched_orange, excluded.c_petition_dispatched_orange),
        c_petition_dispatched_yellow = coalesce(c.c_petition_dispatched_yellow + excluded.c_petition_dispatched_yellow, c.c_petition_dispatched_yellow, excluded.c_petition_dispatched_yellow),
        c_petition_handling_red = coalesce(c.c_petition_handling_red + excluded.c_petition_handling_red, c.c_petition_handling_red, excluded.c_petition_handling_red),
        c_petition_handling_orange = coalesce(c.c_petition_handling_orange + excluded.c_petition_handling_orange, c.c_petition_handling_orange, excluded.c_petition_handling_orange),
        c_petition_handling_yellow = coalesce(c.c_petition_handling_yellow + excluded.c_petition_handling_yellow, c.c_petition_handling_yellow, excluded.c_petition_handling_yellow),
        c_petition_resolved_red = coalesce(c.c_petition_resolved_red + excluded.c_petition_resolved_red, c.c_petition_resolved_red, excluded.c_petition_resolved_red),
        c_petition_resolved_orange = coalesce(c.c_petition_resolved_orange + excluded.c_petition_resolved_orange, c.c_petition_resolved_orange, excluded.c_petition_resolved_orange),
        c_petition_resolved_yellow = coalesce(c.c_petition_resolved_yellow + excluded.c_petition_resolved_yellow, c.c_petition_resolved_yellow, excluded.c_petition_resolved_yellow),
        c_petition_followed_up_red = coalesce(c.c_petition_followed_up_red + excluded.c_petition_followed_up_red, c.c_petition_followed_up_red, excluded.c_petition_followed_up_red),
        c_petition_followed_up_orange = coalesce(c.c_petition_followed_up_orange + excluded.c_petition_followed_up_orange, c.c_petition_followed_up_orange, excluded.c_petition_followed_up_orange),
        c_petition_followed_up_yellow = coalesce(c.c_petition_followed_up_yellow + excluded.c_petition_followed_up_yellow, c.c_petition_followed_up_yellow, excluded.c_petition_followed_up_yellow),
        c_petition_archived_red = coalesce(c.c_petition_archived_red + excluded.c_petition_archived_red, c.c_petition_archived_red, excluded.c_petition_archived_red),
        c_petition_archived_orange = coalesce(c.c_petition_archived_orange + excluded.c_petition_archived_orange, c.c_petition_archived_orange, excluded.c_petition_archived_orange),
        c_petition_archived_yellow = coalesce(c.c_petition_archived_yellow + excluded.c_petition_archived_yellow, c.c_petition_archived_yellow, excluded.c_petition_archived_yellow),
        c_accident_received_red = coalesce(c.c_accident_received_red + excluded.c_accident_received_red, c.c_accident_received_red, excluded.c_accident_received_red),
        c_accident_received_orange = coalesce(c.c_accident_received_orange + excluded.c_accident_received_orange, c.c_accident_received_orange, excluded.c_accident_received_orange),
        c_accident_received_yellow = coalesce(c.c_accident_received_yellow + excluded.c_accident_received_yellow, c.c_accident_received_yellow, excluded.c_accident_received_yellow),
        c_accident_dispatched_red = coalesce(c.c_accident_dispatched_red + excluded.c_accident_dispatched_red, c.c_accident_dispatched_red, excluded.c_accident_dispatched_red),
        c_accident_dispatched_orange = coalesce(c.c_accident_dispatched_orange + excluded.c_accident_dispatched_orange, c.c_accident_dispatched_orange, excluded.c_accident_dispatched_orange),
        c_accident_dispatched_yellow = coalesce(c.c_accident_dispatched_yellow + excluded.c_accident_dispatched_yellow, c.c_accident_dispatched_yellow, excluded.c_accident_dispatched_yellow),
        c_accident_handling_red = coalesce(c.c_accident_handling_red + excluded.c_accident_handling_red, c.c_accident_handling_red, excluded.c_accident_handling_red),
        c_accident_handling_orange = coalesce(c.c_accident_handling_orange + excluded.c_accident_handling_orange, c.c_accident_handling_orange, excluded.c_accident_handling_orange),
        c_accident_handling_yellow = coalesce(c.c_accident_handling_yellow + excluded.c_accident_handling_yellow, c.c_accident_handling_yellow, excluded.c_accident_handling_yellow),
        c_accident_resolved_red = coalesce(c.c_accident_resolved_red + excluded.c_accident_resolved_red, c.c_accident_resolved_red, excluded.c_accident_resolved_red),
        c_accident_resolved_orange = coalesce(c.c_accident_resolved_orange + excluded.c_accident_resolved_orange, c.c_accident_resolved_orange, excluded.c_accident_resolved_orange),
        c_accident_resolved_yellow = coalesce(c.c_accident_resolved_yellow + excluded.c_accident_resolved_yellow, c.c_accident_resolved_yellow, excluded.c_accident_resolved_yellow),
        c_accident_followed_up_red = coalesce(c.c_accident_followed_up_red + excluded.c_accident_followed_up_red, c.c_accident_followed_up_red, excluded.c_accident_followed_up_red),
        c_accident_followed_up_orange = coalesce(c.c_accident_followed_up_orange + excluded.c_accident_followed_up_orange, c.c_accident_followed_up_orange, excluded.c_accident_followed_up_orange),
        c_accident_followed_up_yellow = coalesce(c.c_accident_followed_up_yellow + excluded.c_accident_followed_up_yellow, c.c_accident_followed_up_yellow, excluded.c_accident_followed_up_yellow),
        c_accident_archived_red = coalesce(c.c_accident_archived_red + excluded.c_accident_archived_red, c.c_accident_archived_red, excluded.c_accident_archived_red),
        c_accident_archived_orange = coalesce(c.c_accident_archived_orange + excluded.c_accident_archived_orange, c.c_accident_archived_orange, excluded.c_accident_archived_orange),
        c_accident_archived_yellow = coalesce(c.c_accident_archived_yellow + excluded.c_accident_archived_yellow, c.c_accident_archived_yellow, excluded.c_accident_archived_yellow),
        c_hazard_received_red = coalesce(c.c_hazard_received_red + excluded.c_hazard_received_red, c.c_hazard_received_red, excluded.c_hazard_received_red),
        c_hazard_received_orange = coalesce(c.c_hazard_received_orange + excluded.c_hazard_received_orange, c.c_hazard_received_orange, excluded.c_hazard_received_orange),
        c_hazard_received_yellow = coalesce(c.c_hazard_received_yellow + excluded.c_hazard_received_yellow, c.c_hazard_received_yellow, excluded.c_hazard_received_yellow),
        c_hazard_dispatched_red = coalesce(c.c_hazard_dispatched_red + excluded.c_hazard_dispatched_red, c.c_hazard_dispatched_red, excluded.c_hazard_dispatched_red),
        c_hazard_dispatched_orange = coalesce(c.c_hazard_dispatched_orange + excluded.c_hazard_dispatched_orange, c.c_hazard_dispatched_orange, excluded.c_hazard_dispatched_orange),
        c_hazard_dispatched_yellow = coalesce(c.c_hazard_dispatched_yellow + excluded.c_hazard_dispatched_yellow, c.c_hazard_dispatched_yellow, excluded.c_hazard_dispatched_yellow),
        c_hazard_handling_red = coalesce(c.c_hazard_handling_red + excluded.c_hazard_handling_red, c.c_hazard_handling_red, excluded.c_hazard_handling_red),
        c_hazard_handling_orange = coalesce(c.c_hazard_handling_orange + excluded.c_hazard_handling_orange, c.c_hazard_handling_orange, excluded.c_hazard_handling_orange),
        c_hazard_handling_yellow = coalesce(c.c_hazard_handling_yellow + excluded.c_hazard_handling_yellow, c.c_hazard_handling_yellow, excluded.c_hazard_handling_yellow),
        c_hazard_resolved_red = coalesce(c.c_hazard_resolved_red + excluded.c_hazard_resolved_red, c.c_hazard_resolved_red, excluded.c_hazard_resolved_red),
        c_hazard_resolved_orange = coalesce(c.c_hazard_resolved_orange + excluded.c_hazard_resolved_orange, c.c_hazard_resolved_orange, excluded.c_hazard_resolved_orange),
        c_hazard_resolved_yellow = coalesce(c.c_hazard_resolved_yellow + excluded.c_hazard_resolved_yellow, c.c_hazard_resolved_yellow, excluded.c_hazard_resolved_yellow),
        c_hazard_followed_up_red = coalesce(c.c_hazard_followed_up_red + excluded.c_hazard_followed_up_red, c.c_hazard_followed_up_red, excluded.c_hazard_followed_up_red),
        c_hazard_followed_up_orange = coalesce(c.c_hazard_followed_up_orange + excluded.c_hazard_followed_up_orange, c.c_hazard_followed_up_orange, excluded.c_hazard_followed_up_orange),
        c_hazard_followed_up_yellow = coalesce(c.c_hazard_followed_up_yellow + excluded.c_hazard_followed_up_yellow, c.c_hazard_followed_up_yellow, excluded.c_hazard_followed_up_yellow),
        c_hazard_archived_red = coalesce(c.c_hazard_archived_red + excluded.c_hazard_archived_red, c.c_hazard_archived_red, excluded.c_hazard_archived_red),
        c_hazard_archived_orange = coalesce(c.c_hazard_archived_orange + excluded.c_hazard_archived_orange, c.c_hazard_archived_orange, excluded.c_hazard_archived_orange),
        c_hazard_archived_yellow = coalesce(c.c_hazard_archived_yellow + excluded.c_hazard_archived_yellow, c.c_hazard_archived_yellow, excluded.c_hazard_archived_yellow);
    INSERT INTO incident_village AS v
    SELECT incident_month(r.reported), coalesce(r.village, 0),
           r.category LIKE 'dispute%', coalesce(r.station, 0),
           coalesce(r.township, 0), sum(r.sign),
           sum(CASE WHEN r.status IN ('resolved', 'followed_up', 'archived') THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = -2 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.level = 'village' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.level = 'township' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.level = 'district' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'accident' AND r.risk = 'red' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'dispute_family' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'dispute_neighbour' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'dispute_debt' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'dispute_land' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'dispute_labour' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'dispute_demolition' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'dispute_property' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'dispute_medical' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'dispute_other' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'case' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'petition' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'accident' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.category = 'hazard' THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 0 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 1 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 2 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 3 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 4 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 5 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 6 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 7 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 8 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 9 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 10 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 11 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 12 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 13 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days = 14 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days BETWEEN 15 AND 21 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days BETWEEN 22 AND 30 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days BETWEEN 31 AND 60 THEN r.sign ELSE 0 END),
           sum(CASE WHEN r.days >= 61 THEN r.sign ELSE 0 END)
      FROM (SELECT u.*, incident_days(u.status, u.reported, u.resolved) AS days
              FROM unnest(p_reported, p_category, p_status, p_risk, p_level,
                          p_resolved, p_village, p_station, p_township, p_sign)
                   u (reported, category, status, risk, level, resolved, village,
                      station, township, sign)) r
     GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (month, village_id, dispute, station_id, township_id)
    DO UPDATE SET n = v.n + excluded.n,
        done = v.done + excluded.done,
        unknown_time = v.unknown_time + excluded.unknown_time,
        lvl_village = v.lvl_village + excluded.lvl_village,
        lvl_township = v.lvl_township + excluded.lvl_township,
        lvl_district = v.lvl_district + excluded.lvl_district,
        major_accident = v.major_accident + excluded.major_accident,
        cat_dispute_family = v.cat_dispute_family + excluded.cat_dispute_family,
        cat_dispute_neighbour = v.cat_dispute_neighbour + excluded.cat_dispute_neighbour,
        cat_dispute_debt = v.cat_dispute_debt + excluded.cat_dispute_debt,
        cat_dispute_land = v.cat_dispute_land + excluded.cat_dispute_land,
        cat_dispute_labour = v.cat_dispute_labour + excluded.cat_dispute_labour,
        cat_dispute_demolition = v.cat_dispute_demolition + excluded.cat_dispute_demolition,
        cat_dispute_property = v.cat_dispute_property + excluded.cat_dispute_property,
        cat_dispute_medical = v.cat_dispute_medical + excluded.cat_dispute_medical,
        cat_dispute_other = v.cat_dispute_other + excluded.cat_dispute_other,
        cat_case = v.cat_case + excluded.cat_case,
        cat_petition = v.cat_petition + excluded.cat_petition,
        cat_accident = v.cat_accident + excluded.cat_accident,
        cat_hazard = v.cat_hazard + excluded.cat_hazard,
        d00 = v.d00 + excluded.d00,
        d01 = v.d01 + excluded.d01,
        d02 = v.d02 + excluded.d02,
        d03 = v.d03 + excluded.d03,
        d04 = v.d04 + excluded.d04,
        d05 = v.d05 + excluded.d05,
        d06 = v.d06 + excluded.d06,
        d07 = v.d07 + excluded.d07,
        d08 = v.d08 + excluded.d08,
        d09 = v.d09 + excluded.d09,
        d10 = v.d10 + excluded.d10,
        d11 = v.d11 + excluded.d11,
        d12 = v.d12 + excluded.d12,
        d13 = v.d13 + excluded.d13,
        d14 = v.d14 + excluded.d14,
        d15 = v.d15 + excluded.d15,
        d22 = v.d22 + excluded.d22,
        d31 = v.d31 + excluded.d31,
        d61 = v.d61 + excluded.d61;
END $$;

-- Start the counts over from the incident table (after a bulk load, which
-- writes with the triggers set aside), re-choosing the squares' CRS from the
-- district.  Returns the rows kept (squares + villages).  A million incidents
-- group in memory with 256 MB (with the default 4 MB they spill to disk, and
-- took three times as long).
CREATE FUNCTION incident_counts_rebuild() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp SET work_mem = '256MB' AS $$
DECLARE
    kept bigint;
BEGIN
    TRUNCATE incident_cell, incident_village;
    DELETE FROM incident_count_setting;
    PERFORM incident_counts_add(array_agg(geom), array_agg(reported_at),
            array_agg(category), array_agg(status), array_agg(risk),
            array_agg(resolved_level), array_agg(resolved_at),
            array_agg(village_id), array_agg(station_id), array_agg(township_id),
            array_agg(1))
       FROM incident HAVING count(*) > 0;
    SELECT (SELECT count(*) FROM incident_cell)
         + (SELECT count(*) FROM incident_village) INTO kept;
    RETURN kept;
END $$;

-- Each current village's residents spread evenly over the 500 m squares
-- whose centre lies in it (the square of a point on its surface if none
-- does), then summed into the 1 and 2 km squares that hold them (the squares
-- nest: 1 km square (i >> 1, j >> 1)).  Exact to a 500 m square; exact
-- intersections of a county's surveyed villages (20 million vertices) took
-- one to five minutes.  Not part of incident_counts_rebuild: residents do
-- not move with incidents; `python -m gis counts rebuild` runs both, after
-- villages are imported.
CREATE FUNCTION cell_population_rebuild() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp SET work_mem = '256MB' AS $$
DECLARE
    srid constant integer := incident_count_srid();
    kept bigint;
BEGIN
    DELETE FROM cell_population;
    IF srid IS NULL THEN
        RETURN 0;
    END IF;
    WITH v AS (
        SELECT a.id, coalesce(a.station_id, 0) AS station,
               coalesce(a.parent_id, 0) AS township, a.population,
               ST_Transform(a.geom, srid) AS g
          FROM area a
         WHERE a.kind = 'village' AND a.valid_to IS NULL AND a.population > 0),
    inside AS (
        SELECT v.id, q.i, q.j
          FROM v, LATERAL ST_SquareGrid(500, v.g) q
         WHERE ST_Intersects(ST_Centroid(q.geom), v.g)
        UNION ALL
        SELECT v.id, floor(ST_X(p) / 500)::int, floor(ST_Y(p) / 500)::int
          FROM v, LATERAL ST_PointOnSurface(v.g) p
         WHERE NOT EXISTS (SELECT 1 FROM ST_SquareGrid(500, v.g) q
                            WHERE ST_Intersects(ST_Centroid(q.geom), v.g))),
    share AS (
        SELECT v.station, v.township, i.i, i.j,
               v.population::float8 / count(*) OVER (PARTITION BY v.id) AS people
          FROM inside i JOIN v USING (id))
    INSERT INTO cell_population
    SELECT s, i >> k, j >> k, station, township, sum(people)
      FROM share, unnest(incident_cell_sizes()) s,
           LATERAL (SELECT CASE s WHEN 500 THEN 0 WHEN 1000 THEN 1 ELSE 2 END AS k) z
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
    ELSE  -- only rows whose counted columns changed: out as they were, in anew
        PERFORM incident_counts_add(array_agg(v.geom), array_agg(v.reported_at),
                array_agg(v.category), array_agg(v.status), array_agg(v.risk),
                array_agg(v.resolved_level), array_agg(v.resolved_at),
                array_agg(v.village_id), array_agg(v.station_id),
                array_agg(v.township_id), array_agg(v.sign))
           FROM old_incidents o JOIN new_incidents n USING (id)
          CROSS JOIN LATERAL (VALUES
                (o.geom, o.reported_at, o.category, o.status, o.risk,
                 o.resolved_level, o.resolved_at, o.village_id, o.station_id,
                 o.township_id, -1),
                (n.geom, n.reported_at, n.category, n.status, n.risk,
                 n.resolved_level, n.resolved_at, n.village_id, n.station_id,
                 n.township_id, 1))
                v (geom, reported_at, category, status, risk, resolved_level,
                   resolved_at, village_id, station_id, township_id, sign)
          WHERE (o.geom, o.reported_at, o.category, o.status, o.risk,
                 o.resolved_level, o.resolved_at, o.village_id, o.station_id,
                 o.township_id)
                IS DISTINCT FROM
                (n.geom, n.reported_at, n.category, n.status, n.risk,
                 n.resolved_level, n.resolved_at, n.village_id, n.station_id,
                 n.township_id)
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

SELECT incident_counts_rebuild(), cell_population_rebuild();

-- Open incidents for the scorecards' "overdue by risk tier": only the columns
-- the deadline rule (gis.incidents) reads, no place, person or text; leaders
-- get every one (aggregated by the caller's SQL), others those the rule lets
-- them see.  Served by the partial index incident_open.
CREATE FUNCTION open_incidents()
RETURNS TABLE (village_id bigint, station_id bigint, township_id bigint,
               risk text, status text, reported_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT coalesce(i.village_id, 0), coalesce(i.station_id, 0),
           coalesce(i.township_id, 0), i.risk, i.status, i.reported_at
      FROM (SELECT NOT pingan_bound() OR pingan_role() = 'leader' AS everything
              OFFSET 0) b,  -- once, not per row
           incident i
     WHERE i.status IN ('received', 'dispatched', 'handling')
       AND (b.everything OR pingan_sees(i.station_id, i.grid_id))
$$;
REVOKE EXECUTE ON FUNCTION open_incidents() FROM PUBLIC;
-- Read from the index alone (a county's 60,000 open incidents are spread
-- over 39,000 pages of the table: 1.5 s to fetch them).
CREATE INDEX incident_open_counts ON incident (risk, reported_at)
    INCLUDE (status, village_id, township_id, station_id, grid_id)
    WHERE status IN ('received', 'dispatched', 'handling');
GRANT EXECUTE ON FUNCTION open_incidents() TO pingan_web;

REVOKE EXECUTE ON FUNCTION incident_counts_rebuild(), incident_counts_track(),
    cell_population_rebuild(), incident_count_srid(float8),
    incident_counts_add(geometry[], timestamptz[], text[], text[], text[], text[],
                        timestamptz[], bigint[], bigint[], bigint[], integer[])
    FROM PUBLIC;
