-- 0027: the monthly totals (0023) summed again in one place, for the
-- rebuild and for an import's own tally (gis.ingest.tally), which replaces
-- incident_village by COPY without passing through incident_counts_rebuild().
CREATE FUNCTION incident_month_total_rebuild() RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    TRUNCATE incident_month_total;
    INSERT INTO incident_month_total
    SELECT month, dispute, station_id, township_id, sum(n), sum(done)
      FROM incident_village GROUP BY 1, 2, 3, 4;
END $$;
REVOKE EXECUTE ON FUNCTION incident_month_total_rebuild() FROM PUBLIC;

CREATE OR REPLACE FUNCTION incident_counts_rebuild() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    kept bigint;
BEGIN
    kept := incident_counts_rebuild_0020();
    PERFORM incident_month_total_rebuild();
    RETURN kept;
END $$;
