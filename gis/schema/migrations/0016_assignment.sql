-- 0016: assignment as data, not just a log line (issue 14, the workbench).
--
-- Until now "dispatch" was an audit entry: nobody could say who holds an
-- incident today, and an incident outside every jurisdiction could not be
-- routed by a person at all (the assignment trigger recomputes station_id from
-- the point).  The incident row now carries:
--
-- * its current assignee, one person: an officer (民警/辅警) or a grid member
--   (网格员), set by dispatch and changeable by hand with a reason;
-- * its handling unit: a grid, a post (警务室/工作站) or a station;
-- * routed_station_id: the station a planner or the 综治中心 routed it to by
--   hand (out of every jurisdiction, or misrouted).  The assignment trigger
--   keeps station_id on it, so the row policies, the maps' bins and the
--   counts all follow the routing with no rule of their own;
-- * handling_level: where it is handled (上报 escalates village → township →
--   district), which is what the scorecards' 小事不出村/大事不出镇 read once it
--   is resolved (resolved_level may not be below it: gis/incidents.py);
-- * the supervision flag (督办) of an overdue incident, with who set it, when
--   and why;
-- * the reporter's satisfaction recorded at follow-up (回访).
--
-- Every change of these is also a row of audit_log in the same transaction:
-- the columns say what holds now, the trail says how it came to be.
-- All columns are nullable or defaulted, so existing rows and writers stand.

ALTER TABLE incident
    ADD COLUMN assignee_officer_id bigint REFERENCES officer(id) ON DELETE SET NULL,
    ADD COLUMN assignee_member_id bigint REFERENCES grid_member(id) ON DELETE SET NULL,
    ADD COLUMN unit_kind text CHECK (unit_kind IN ('grid', 'post', 'station')),
    ADD COLUMN unit_area_id bigint REFERENCES area(id) ON DELETE SET NULL,
    ADD COLUMN unit_post_id bigint REFERENCES post(id) ON DELETE SET NULL,
    ADD COLUMN routed_station_id bigint REFERENCES area(id) ON DELETE SET NULL,
    ADD COLUMN handling_level text NOT NULL DEFAULT 'village'
        CHECK (handling_level IN ('village', 'township', 'district')),
    ADD COLUMN supervised_at timestamptz,
    ADD COLUMN supervised_by text,
    ADD COLUMN supervision_note text,
    ADD COLUMN satisfaction text
        CHECK (satisfaction IN ('satisfied', 'basically', 'unsatisfied')),
    ADD CONSTRAINT incident_one_assignee
        CHECK (num_nonnulls(assignee_officer_id, assignee_member_id) <= 1),
    -- A unit is an area (grid, station) or a post, never both.
    ADD CONSTRAINT incident_unit CHECK (
        unit_kind IS NULL AND unit_area_id IS NULL AND unit_post_id IS NULL
        OR unit_kind = 'post' AND unit_area_id IS NULL
        OR unit_kind IN ('grid', 'station') AND unit_post_id IS NULL);

-- The station queue reads one station's open incidents by tier and age; the
-- board its flagged ones.
CREATE INDEX incident_station_open ON incident (station_id, risk, reported_at)
    WHERE status IN ('received', 'dispatched', 'handling');
-- The station home's counts (by state, overdue by tier, this month and last,
-- resolution levels) in one index-only pass over the station's entries: the
-- row policy reads station_id and grid_id, the counts the included columns.
-- 100,000 incidents of one station: one pass of the index instead of 100,000
-- heap rows (scripts/bench_station.py).
CREATE INDEX incident_station_stats ON incident (station_id, reported_at)
    INCLUDE (status, risk, grid_id, resolved_level, resolved_at);
CREATE INDEX incident_supervised ON incident (station_id)
    WHERE supervised_at IS NOT NULL;
CREATE INDEX incident_assignee_officer ON incident (assignee_officer_id)
    WHERE assignee_officer_id IS NOT NULL;
CREATE INDEX incident_assignee_member ON incident (assignee_member_id)
    WHERE assignee_member_id IS NOT NULL;

-- The point decides the areas; a station routed by hand overrides the station.
CREATE OR REPLACE FUNCTION assign_incident_areas() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    IF current_setting('pingan.bulk_assign', true) = 'on' THEN
        RETURN NEW;
    END IF;
    SELECT * INTO NEW.village_id, NEW.grid_id, NEW.township_id, NEW.station_id
      FROM assign_areas_at(NEW.geom,
                           (NEW.reported_at AT TIME ZONE 'Asia/Shanghai')::date);
    IF NEW.routed_station_id IS NOT NULL THEN
        NEW.station_id := NEW.routed_station_id;
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER incident_assign ON incident;
CREATE TRIGGER incident_assign BEFORE INSERT OR UPDATE OF geom, reported_at,
    village_id, grid_id, township_id, station_id, routed_station_id ON incident
    FOR EACH ROW WHEN (current_setting('pingan.bulk_assign', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION assign_incident_areas();

-- The station home's counts of one station's incidents, by state, with the
-- month and resolution figures (gis/station.py).  The row policy would be
-- checked on each of a busy station's 100,000 rows (130 ms of the home's
-- 300); the same rule, pingan_sees, is applied here once for the station
-- when the caller sees all of it (its station user, planners), else row by
-- row (a grid member: their grids).  Counts only, never a row.
CREATE FUNCTION station_incident_counts(p_station bigint,
    p_this_month timestamptz, p_last_month timestamptz, p_now timestamptz,
    p_since timestamptz)
RETURNS TABLE (status text, n bigint, this_month bigint, last_month bigint,
               resolved bigint, village_level bigint, township_level bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE
    whole boolean := pingan_sees(p_station, NULL);
BEGIN
    RETURN QUERY
    SELECT i.status, count(*),
           count(*) FILTER (WHERE i.reported_at >= p_this_month
                              AND i.reported_at < p_now),
           count(*) FILTER (WHERE i.reported_at >= p_last_month
                              AND i.reported_at < p_this_month),
           count(*) FILTER (WHERE i.resolved_at >= p_since),
           count(*) FILTER (WHERE i.resolved_at >= p_since
                              AND i.resolved_level = 'village'),
           count(*) FILTER (WHERE i.resolved_at >= p_since
                              AND i.resolved_level = 'township')
      FROM incident i
     WHERE i.station_id = p_station
       AND (whole OR pingan_sees(i.station_id, i.grid_id))
     GROUP BY i.status;
END $$;
REVOKE EXECUTE ON FUNCTION station_incident_counts(bigint, timestamptz,
    timestamptz, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION station_incident_counts(bigint, timestamptz,
    timestamptz, timestamptz, timestamptz) TO pingan_web;
