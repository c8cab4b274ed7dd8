-- 0020: the incident counts of 0017, kept and rebuilt faster (issue 15's
-- speed targets).
--
-- 1. A single incident (what the web app and the hotline write, one row a
--    statement) is counted in the squares by a two-column upsert of its own
--    category x status x risk column: the 234-column upsert of 0017 cost
--    such an insert 1.2-1.6 ms for its three squares.  Statements of many
--    rows keep 0017's one wide upsert (incident_counts_add_wide).
-- 2. incident_counts_rebuild() reads the incident table directly (no arrays
--    of a million rows), counts the 500 m squares once and sums them into the
--    1 and 2 km squares by plain arithmetic (the squares nest: floor(x / 1000)
--    = floor(x / 500) >> 1), and counts the villages from a pass that works
--    each incident's days, level and flags out once, not once per column.

ALTER FUNCTION incident_counts_add(geometry[], timestamptz[], text[], text[],
    text[], text[], timestamptz[], bigint[], bigint[], bigint[], integer[])
    RENAME TO incident_counts_add_wide;

-- The villages' part of the counts: one upsert of the incidents given as
-- arrays (the same statement as in incident_counts_add_wide).
CREATE FUNCTION incident_village_add(
    p_reported timestamptz[], p_category text[], p_status text[], p_risk text[],
    p_level text[], p_resolved timestamptz[], p_village bigint[],
    p_station bigint[], p_township bigint[], p_sign integer[])
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
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

-- Add incidents to the counts (p_sign +1) or take them away (-1), as in
-- 0017; one incident's squares by a narrow upsert (its plan made anew at each
-- call, 0.1 ms, against 0.3 ms a square for the wide one).
CREATE FUNCTION incident_counts_add(
    p_geom geometry[], p_reported timestamptz[], p_category text[],
    p_status text[], p_risk text[], p_level text[], p_resolved timestamptz[],
    p_village bigint[], p_station bigint[], p_township bigint[], p_sign integer[])
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    g geometry;
BEGIN
    IF cardinality(p_sign) <> 1 THEN
        PERFORM incident_counts_add_wide(p_geom, p_reported, p_category,
                p_status, p_risk, p_level, p_resolved, p_village, p_station,
                p_township, p_sign);
        RETURN;
    END IF;
    g := ST_Transform(p_geom[1], incident_count_srid(ST_X(p_geom[1])));
    EXECUTE format(
        'INSERT INTO incident_cell AS c (size, month, cx, cy, station_id, '
        '    township_id, n, %1$I) '
        'SELECT s, $1, floor($2 / s)::int, floor($3 / s)::int, $4, $5, $6, $6 '
        '  FROM unnest(incident_cell_sizes()) s '
        'ON CONFLICT (size, month, cx, cy, station_id, township_id) '
        'DO UPDATE SET n = c.n + excluded.n, '
        '    %1$I = coalesce(c.%1$I + excluded.%1$I, c.%1$I, excluded.%1$I)',
        'c_' || p_category[1] || '_' || p_status[1] || '_' || p_risk[1])
    USING incident_month(p_reported[1]), ST_X(g), ST_Y(g),
          coalesce(p_station[1], 0), coalesce(p_township[1], 0), p_sign[1];
    PERFORM incident_village_add(p_reported, p_category, p_status, p_risk,
            p_level, p_resolved, p_village, p_station, p_township, p_sign);
END $$;

-- Start the counts over from the incident table, re-choosing the squares'
-- CRS from the district; returns the rows kept (squares + villages).
CREATE OR REPLACE FUNCTION incident_counts_rebuild() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp SET work_mem = '256MB' AS $$
DECLARE
    srid integer;
    kept bigint;
BEGIN
    TRUNCATE incident_cell, incident_village;
    DELETE FROM incident_count_setting;
    srid := incident_count_srid((SELECT ST_X(geom) FROM incident LIMIT 1));
    IF srid IS NULL THEN
        RETURN 0;
    END IF;
    -- Each 500 m square's count per column, then the 1 and 2 km squares
    -- summed from them, pivoted through jsonb as in 0017.
    WITH fine AS MATERIALIZED (
        SELECT incident_month(i.reported_at) AS month,
               floor(ST_X(t.g) / 500)::int AS cx, floor(ST_Y(t.g) / 500)::int AS cy,
               coalesce(i.station_id, 0) AS station,
               coalesce(i.township_id, 0) AS township,
               'c_' || i.category || '_' || i.status || '_' || i.risk AS col,
               count(*)::int AS k
          FROM incident i, LATERAL (SELECT ST_Transform(i.geom, srid) AS g) t
         GROUP BY 1, 2, 3, 4, 5, 6),
    sized AS (
        SELECT 500 AS size, month, cx, cy, station, township, col, k FROM fine
        UNION ALL
        SELECT z.s, month, cx >> z.shift, cy >> z.shift, station, township, col,
               sum(k)::int
          FROM fine, (VALUES (1000, 1), (2000, 2)) z (s, shift)
         GROUP BY 1, 2, 3, 4, 5, 6, 7)
    INSERT INTO incident_cell
    SELECT rec.*
      FROM (SELECT jsonb_build_object('size', size, 'month', month, 'cx', cx,
                       'cy', cy, 'station_id', station, 'township_id', township,
                       'n', sum(k)) || jsonb_object_agg(col, k) AS j
              FROM sized GROUP BY size, month, cx, cy, station, township) a,
           LATERAL jsonb_populate_record(NULL::incident_cell, a.j) rec;
    -- The villages: each incident's facts worked out once (OFFSET 0 keeps
    -- them from being inlined into every count), then counted.
    INSERT INTO incident_village
    SELECT month, village, dispute, station, township, count(*),
           count(*) FILTER (WHERE done),
           count(*) FILTER (WHERE days = -2),
           count(*) FILTER (WHERE level = 'village'),
           count(*) FILTER (WHERE level = 'township'),
           count(*) FILTER (WHERE level = 'district'),
           count(*) FILTER (WHERE major),
           count(*) FILTER (WHERE category = 'dispute_family'),
           count(*) FILTER (WHERE category = 'dispute_neighbour'),
           count(*) FILTER (WHERE category = 'dispute_debt'),
           count(*) FILTER (WHERE category = 'dispute_land'),
           count(*) FILTER (WHERE category = 'dispute_labour'),
           count(*) FILTER (WHERE category = 'dispute_demolition'),
           count(*) FILTER (WHERE category = 'dispute_property'),
           count(*) FILTER (WHERE category = 'dispute_medical'),
           count(*) FILTER (WHERE category = 'dispute_other'),
           count(*) FILTER (WHERE category = 'case'),
           count(*) FILTER (WHERE category = 'petition'),
           count(*) FILTER (WHERE category = 'accident'),
           count(*) FILTER (WHERE category = 'hazard'),
           count(*) FILTER (WHERE days = 0), count(*) FILTER (WHERE days = 1),
           count(*) FILTER (WHERE days = 2), count(*) FILTER (WHERE days = 3),
           count(*) FILTER (WHERE days = 4), count(*) FILTER (WHERE days = 5),
           count(*) FILTER (WHERE days = 6), count(*) FILTER (WHERE days = 7),
           count(*) FILTER (WHERE days = 8), count(*) FILTER (WHERE days = 9),
           count(*) FILTER (WHERE days = 10), count(*) FILTER (WHERE days = 11),
           count(*) FILTER (WHERE days = 12), count(*) FILTER (WHERE days = 13),
           count(*) FILTER (WHERE days = 14),
           count(*) FILTER (WHERE days BETWEEN 15 AND 21),
           count(*) FILTER (WHERE days BETWEEN 22 AND 30),
           count(*) FILTER (WHERE days BETWEEN 31 AND 60),
           count(*) FILTER (WHERE days >= 61)
      FROM (SELECT incident_month(reported_at) AS month,
                   coalesce(village_id, 0) AS village,
                   category LIKE 'dispute%' AS dispute,
                   coalesce(station_id, 0) AS station,
                   coalesce(township_id, 0) AS township, category,
                   status IN ('resolved', 'followed_up', 'archived') AS done,
                   resolved_level AS level,
                   category = 'accident' AND risk = 'red' AS major,
                   incident_days(status, reported_at, resolved_at) AS days
              FROM incident OFFSET 0) i
     GROUP BY 1, 2, 3, 4, 5;
    SELECT (SELECT count(*) FROM incident_cell)
         + (SELECT count(*) FROM incident_village) INTO kept;
    RETURN kept;
END $$;

REVOKE EXECUTE ON FUNCTION
    incident_counts_add(geometry[], timestamptz[], text[], text[], text[], text[],
                        timestamptz[], bigint[], bigint[], bigint[], integer[]),
    incident_village_add(timestamptz[], text[], text[], text[], text[],
                         timestamptz[], bigint[], bigint[], bigint[], integer[])
    FROM PUBLIC;
