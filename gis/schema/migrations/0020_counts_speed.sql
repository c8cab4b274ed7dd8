-- 0020: the incident counts of 0017, kept and read faster (issue 15's speed
-- targets).  The same counts in the same tables, and one more
-- (incident_village_span).
--
-- 1. A single incident (what the web app and the hotline write, one row a
--    statement) is counted in its three squares by a narrow upsert of n and
--    its own category x status x risk column: 0017's 234-column upsert cost
--    such an insert 1.2-1.6 ms.  Statements of many rows keep the wide upsert
--    (incident_cell_add: 0017's statement unchanged).
-- 2. incident_counts_rebuild() reads the incident table directly (no arrays
--    of a million rows), counts the 500 m squares once and sums them into the
--    1 and 2 km squares by plain arithmetic (the squares nest: floor(x / 1000)
--    = floor(x / 500) >> 1, in floating point too: halving is exact), and
--    counts the villages in a pass that works each incident's days, level and
--    flags out once, not once per column (11 s -> 3 s for a million).
-- 3. The village counts are also summed per quarter, per year and over all
--    months (incident_village_span): a scorecard period reads its whole years
--    and quarters there and only its odd months from incident_village, and
--    "every month" reads the 'all' rows (two years of 10,000 villages: about
--    18,000 rows instead of 295,000).  Written by the statement that writes
--    incident_village, from the same grouped change.

CREATE TABLE incident_village_span (
    span        text     NOT NULL CHECK (span IN ('quarter', 'year', 'all')),
    start       date     NOT NULL,  -- its first month; -infinity for 'all'
    village_id  bigint   NOT NULL,
    dispute     boolean  NOT NULL,
    station_id  bigint   NOT NULL,
    township_id bigint   NOT NULL,
    n                      integer  NOT NULL,
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
    PRIMARY KEY (span, start, village_id, dispute, station_id, township_id)
);
COMMENT ON TABLE incident_village_span IS
    'incident_village summed per quarter, per year (span, its first month) '
    'and over all months (all, -infinity); '
    'written with incident_village, rebuilt with it.';
ALTER TABLE incident_village_span ENABLE ROW LEVEL SECURITY;
CREATE POLICY incident_village_span_scope ON incident_village_span FOR SELECT
    USING (pingan_role() = 'leader' OR pingan_sees(station_id, NULL));
GRANT SELECT ON incident_village_span TO pingan_web;

-- 0017's incident_counts_add did squares and villages in one function; the
-- two parts are now their own functions.
DROP FUNCTION incident_counts_add(geometry[], timestamptz[], text[], text[],
    text[], text[], timestamptz[], bigint[], bigint[], bigint[], integer[]);

-- The squares of many incidents: 0017's wide upsert.
CREATE FUNCTION incident_cell_add(
    p_geom geometry[], p_reported timestamptz[], p_category text[],
    p_status text[], p_risk text[], p_station bigint[], p_township bigint[],
    p_sign integer[])
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
END $$;

-- The villages' counts of the incidents given (0017's grouping), added to
-- their months and to those months' quarters, years and all months.
CREATE FUNCTION incident_village_add(
    p_reported timestamptz[], p_category text[], p_status text[], p_risk text[],
    p_level text[], p_resolved timestamptz[], p_village bigint[],
    p_station bigint[], p_township bigint[], p_sign integer[])
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    WITH r (
         month, village_id, dispute, station_id, township_id, n, done,
         unknown_time, lvl_village, lvl_township, lvl_district, major_accident,
         cat_dispute_family, cat_dispute_neighbour, cat_dispute_debt,
         cat_dispute_land, cat_dispute_labour, cat_dispute_demolition,
         cat_dispute_property, cat_dispute_medical, cat_dispute_other,
         cat_case, cat_petition, cat_accident, cat_hazard, d00, d01, d02, d03,
         d04, d05, d06, d07, d08, d09, d10, d11, d12, d13, d14, d15, d22, d31,
         d61) AS MATERIALIZED (
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
     GROUP BY 1, 2, 3, 4, 5),
    months AS (
        INSERT INTO incident_village AS v SELECT * FROM r
        ON CONFLICT (month, village_id, dispute, station_id, township_id)
        DO UPDATE SET
        n = v.n + excluded.n,
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
        d61 = v.d61 + excluded.d61)
    INSERT INTO incident_village_span AS s
    SELECT p.span, p.start, r.village_id, r.dispute, r.station_id, r.township_id,
           sum(r.n), sum(r.done), sum(r.unknown_time), sum(r.lvl_village),
           sum(r.lvl_township), sum(r.lvl_district), sum(r.major_accident),
           sum(r.cat_dispute_family), sum(r.cat_dispute_neighbour),
           sum(r.cat_dispute_debt), sum(r.cat_dispute_land),
           sum(r.cat_dispute_labour), sum(r.cat_dispute_demolition),
           sum(r.cat_dispute_property), sum(r.cat_dispute_medical),
           sum(r.cat_dispute_other), sum(r.cat_case), sum(r.cat_petition),
           sum(r.cat_accident), sum(r.cat_hazard), sum(r.d00), sum(r.d01),
           sum(r.d02), sum(r.d03), sum(r.d04), sum(r.d05), sum(r.d06),
           sum(r.d07), sum(r.d08), sum(r.d09), sum(r.d10), sum(r.d11),
           sum(r.d12), sum(r.d13), sum(r.d14), sum(r.d15), sum(r.d22),
           sum(r.d31), sum(r.d61)
      FROM r, LATERAL (VALUES ('quarter', date_trunc('quarter', r.month)::date),
                              ('year', date_trunc('year', r.month)::date),
                              ('all', '-infinity'::date))
              p (span, start)
     GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (span, start, village_id, dispute, station_id, township_id)
    DO UPDATE SET
        n = s.n + excluded.n,
        done = s.done + excluded.done,
        unknown_time = s.unknown_time + excluded.unknown_time,
        lvl_village = s.lvl_village + excluded.lvl_village,
        lvl_township = s.lvl_township + excluded.lvl_township,
        lvl_district = s.lvl_district + excluded.lvl_district,
        major_accident = s.major_accident + excluded.major_accident,
        cat_dispute_family = s.cat_dispute_family + excluded.cat_dispute_family,
        cat_dispute_neighbour = s.cat_dispute_neighbour + excluded.cat_dispute_neighbour,
        cat_dispute_debt = s.cat_dispute_debt + excluded.cat_dispute_debt,
        cat_dispute_land = s.cat_dispute_land + excluded.cat_dispute_land,
        cat_dispute_labour = s.cat_dispute_labour + excluded.cat_dispute_labour,
        cat_dispute_demolition = s.cat_dispute_demolition + excluded.cat_dispute_demolition,
        cat_dispute_property = s.cat_dispute_property + excluded.cat_dispute_property,
        cat_dispute_medical = s.cat_dispute_medical + excluded.cat_dispute_medical,
        cat_dispute_other = s.cat_dispute_other + excluded.cat_dispute_other,
        cat_case = s.cat_case + excluded.cat_case,
        cat_petition = s.cat_petition + excluded.cat_petition,
        cat_accident = s.cat_accident + excluded.cat_accident,
        cat_hazard = s.cat_hazard + excluded.cat_hazard,
        d00 = s.d00 + excluded.d00,
        d01 = s.d01 + excluded.d01,
        d02 = s.d02 + excluded.d02,
        d03 = s.d03 + excluded.d03,
        d04 = s.d04 + excluded.d04,
        d05 = s.d05 + excluded.d05,
        d06 = s.d06 + excluded.d06,
        d07 = s.d07 + excluded.d07,
        d08 = s.d08 + excluded.d08,
        d09 = s.d09 + excluded.d09,
        d10 = s.d10 + excluded.d10,
        d11 = s.d11 + excluded.d11,
        d12 = s.d12 + excluded.d12,
        d13 = s.d13 + excluded.d13,
        d14 = s.d14 + excluded.d14,
        d15 = s.d15 + excluded.d15,
        d22 = s.d22 + excluded.d22,
        d31 = s.d31 + excluded.d31,
        d61 = s.d61 + excluded.d61;
END $$;

-- Add incidents to the counts (p_sign +1) or take them away (-1).  One
-- incident's squares by a narrow upsert (its plan made anew at each call,
-- about 0.1 ms, where the wide one cost 0.4 ms a square).
CREATE FUNCTION incident_counts_add(
    p_geom geometry[], p_reported timestamptz[], p_category text[],
    p_status text[], p_risk text[], p_level text[], p_resolved timestamptz[],
    p_village bigint[], p_station bigint[], p_township bigint[], p_sign integer[])
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    g geometry;
BEGIN
    IF cardinality(p_sign) = 1 THEN
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
    ELSE
        PERFORM incident_cell_add(p_geom, p_reported, p_category, p_status,
                p_risk, p_station, p_township, p_sign);
    END IF;
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
    TRUNCATE incident_cell, incident_village, incident_village_span;
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
    INSERT INTO incident_village_span
    SELECT p.span, p.start, v.village_id, v.dispute, v.station_id, v.township_id,
           sum(v.n), sum(v.done), sum(v.unknown_time), sum(v.lvl_village),
           sum(v.lvl_township), sum(v.lvl_district), sum(v.major_accident),
           sum(v.cat_dispute_family), sum(v.cat_dispute_neighbour),
           sum(v.cat_dispute_debt), sum(v.cat_dispute_land),
           sum(v.cat_dispute_labour), sum(v.cat_dispute_demolition),
           sum(v.cat_dispute_property), sum(v.cat_dispute_medical),
           sum(v.cat_dispute_other), sum(v.cat_case), sum(v.cat_petition),
           sum(v.cat_accident), sum(v.cat_hazard), sum(v.d00), sum(v.d01),
           sum(v.d02), sum(v.d03), sum(v.d04), sum(v.d05), sum(v.d06),
           sum(v.d07), sum(v.d08), sum(v.d09), sum(v.d10), sum(v.d11),
           sum(v.d12), sum(v.d13), sum(v.d14), sum(v.d15), sum(v.d22),
           sum(v.d31), sum(v.d61)
      FROM incident_village v,
           LATERAL (VALUES ('quarter', date_trunc('quarter', v.month)::date),
                           ('year', date_trunc('year', v.month)::date),
                           ('all', '-infinity'::date)) p (span, start)
     GROUP BY 1, 2, 3, 4, 5, 6;
    SELECT (SELECT count(*) FROM incident_cell)
         + (SELECT count(*) FROM incident_village) INTO kept;
    RETURN kept;
END $$;

SELECT incident_counts_rebuild();

REVOKE EXECUTE ON FUNCTION
    incident_counts_add(geometry[], timestamptz[], text[], text[], text[], text[],
                        timestamptz[], bigint[], bigint[], bigint[], integer[]),
    incident_cell_add(geometry[], timestamptz[], text[], text[], text[],
                      bigint[], bigint[], integer[]),
    incident_village_add(timestamptz[], text[], text[], text[], text[],
                         timestamptz[], bigint[], bigint[], bigint[], integer[])
    FROM PUBLIC;
