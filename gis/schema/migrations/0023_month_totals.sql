-- 0023: the scorecards' monthly trend from kept monthly totals (issue 15's
-- "scorecards for all villages <= 500 ms").
--
-- The trend (found and resolved by month) summed every village month of the
-- period (two years of 10,000 villages: 295,000 rows of incident_village,
-- 50 ms).  incident_month_total keeps the same two counts per month, disputes
-- or not, station and township (the keys the filters and the row policies
-- read): a few thousand rows.  Written by incident_counts_add (the incident
-- table's statement triggers) beside the squares and villages, and rebuilt
-- from incident_village by incident_counts_rebuild().

CREATE TABLE incident_month_total (
    month       date    NOT NULL,
    dispute     boolean NOT NULL,  -- a dispute_* category
    station_id  bigint  NOT NULL,
    township_id bigint  NOT NULL,
    n           integer NOT NULL,
    done        integer NOT NULL,  -- resolved, followed up or archived
    PRIMARY KEY (month, dispute, station_id, township_id)
);
COMMENT ON TABLE incident_month_total IS
    'incident_village''s found and resolved summed over the villages per '
    'month, disputes or not, station and township; kept with it.';
ALTER TABLE incident_month_total ENABLE ROW LEVEL SECURITY;
CREATE POLICY incident_month_total_scope ON incident_month_total FOR SELECT
    USING (pingan_role() = 'leader' OR pingan_sees(station_id, NULL));
GRANT SELECT ON incident_month_total TO pingan_web;

-- The monthly totals of the incidents given (p_sign +1: added, -1: taken
-- away), keyed and counted as incident_village_add keys and counts them.
-- PL/pgSQL, so that a session plans its upsert once (a SQL function's
-- statement was planned at every call: +0.2 ms on a single insert).
CREATE FUNCTION incident_month_total_add(
    p_reported timestamptz[], p_category text[], p_status text[],
    p_station bigint[], p_township bigint[], p_sign integer[])
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO incident_month_total AS t
    SELECT incident_month(u.reported), u.category LIKE 'dispute%',
           coalesce(u.station, 0), coalesce(u.township, 0), sum(u.sign),
           sum(CASE WHEN u.status IN ('resolved', 'followed_up', 'archived')
                    THEN u.sign ELSE 0 END)
      FROM unnest(p_reported, p_category, p_status, p_station, p_township, p_sign)
           u (reported, category, status, station, township, sign)
     GROUP BY 1, 2, 3, 4
    ON CONFLICT (month, dispute, station_id, township_id)
    DO UPDATE SET n = t.n + excluded.n, done = t.done + excluded.done;
END $$;

-- 0020's incident_counts_add keeps its body under another name; the
-- triggers' incident_counts_add calls it and adds the monthly totals.
ALTER FUNCTION incident_counts_add(geometry[], timestamptz[], text[], text[],
    text[], text[], timestamptz[], bigint[], bigint[], bigint[], integer[])
    RENAME TO incident_counts_add_0020;
CREATE FUNCTION incident_counts_add(
    p_geom geometry[], p_reported timestamptz[], p_category text[],
    p_status text[], p_risk text[], p_level text[], p_resolved timestamptz[],
    p_village bigint[], p_station bigint[], p_township bigint[], p_sign integer[])
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM incident_counts_add_0020(p_geom, p_reported, p_category, p_status,
            p_risk, p_level, p_resolved, p_village, p_station, p_township,
            p_sign);
    PERFORM incident_month_total_add(p_reported, p_category, p_status,
            p_station, p_township, p_sign);
END $$;

-- 0020's rebuild keeps its body under another name; the rebuild calls it
-- and sums the monthly totals from the villages' months it wrote.
ALTER FUNCTION incident_counts_rebuild() RENAME TO incident_counts_rebuild_0020;
CREATE FUNCTION incident_counts_rebuild() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    kept bigint;
BEGIN
    kept := incident_counts_rebuild_0020();
    TRUNCATE incident_month_total;
    INSERT INTO incident_month_total
    SELECT month, dispute, station_id, township_id, sum(n), sum(done)
      FROM incident_village GROUP BY 1, 2, 3, 4;
    RETURN kept;
END $$;

INSERT INTO incident_month_total
SELECT month, dispute, station_id, township_id, sum(n), sum(done)
  FROM incident_village GROUP BY 1, 2, 3, 4;

REVOKE EXECUTE ON FUNCTION
    incident_counts_rebuild(),
    incident_counts_add(geometry[], timestamptz[], text[], text[], text[], text[],
                        timestamptz[], bigint[], bigint[], bigint[], integer[]),
    incident_month_total_add(timestamptz[], text[], text[], bigint[], bigint[],
                             integer[])
    FROM PUBLIC;
