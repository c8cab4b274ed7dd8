-- 0030: officers and the links of officers and grid members to their areas
-- carry the scope keys their policies ask about, on their own rows.
--
-- Until now each of these policies probed other tables for every row a query
-- read: officer asked whether its post was visible (under post's policy);
-- officer_area whether its officer and its area were (two probes, each under
-- its table's policy, the officer's probing the post in turn);
-- grid_member_area whether its grid was.  A single lookup reads a handful of
-- these rows, and the probes, their sub-plans and the plans they forced cost
-- a planner's lookup 0.04-0.05 ms of the database's time and a station's
-- 0.02-0.04 ms, more than all its other policies together.
--
-- Now each row holds the keys:
--   officer.post_station_id, post_grid_id             its post's station, grid;
--   officer_area.officer_station_id, officer_grid_id  its officer's keys;
--   officer_area.area_kind, area_station_id           its area's kind, station;
--   grid_member_area.area_station_id                  its grid's station;
-- and the policies ask the same questions of them, with no probe.  Who sees
-- what does not change (tests/test_people_scope.py compares every role's rows
-- with the old rules, after every kind of change that moves a person).
-- grid_member keeps its rule (a visible link), now a cheap probe: keys on its
-- row would be every station and grid a member answers for, which a station
-- seeing the member has no business reading.
--
-- The keys are derived, never written by hand: a BEFORE trigger on each table
-- computes its row's keys from the rows they come from, whatever the statement
-- set, and a change to a source (a post's station or grid, an officer's keys,
-- an area's station or kind) touches the rows that copy it, so that their
-- BEFORE trigger computes them again.  Every writer goes through these row
-- triggers: COPY fires them, a post deleted sets its officers' post to NULL
-- (an update, which fires them), and the bulk writers set aside only the
-- triggers they name (gis.assign.bulk_triggers).  The functions run as the
-- owner, so a scope can never shape the keys.

ALTER TABLE officer ADD COLUMN post_station_id bigint, ADD COLUMN post_grid_id bigint;
ALTER TABLE officer_area
    ADD COLUMN officer_station_id bigint, ADD COLUMN officer_grid_id bigint,
    ADD COLUMN area_kind text, ADD COLUMN area_station_id bigint;
ALTER TABLE grid_member_area ADD COLUMN area_station_id bigint;
CREATE INDEX officer_post ON officer (post_id);  -- a post's officers, when it moves

-- Each row's own keys, from their sources.
CREATE FUNCTION pingan_officer_keys() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    SELECT p.station_id, p.grid_id INTO NEW.post_station_id, NEW.post_grid_id
      FROM post p WHERE p.id = NEW.post_id;
    IF NOT FOUND THEN
        NEW.post_station_id := NULL;
        NEW.post_grid_id := NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION pingan_officer_area_keys() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    SELECT o.post_station_id, o.post_grid_id
      INTO NEW.officer_station_id, NEW.officer_grid_id
      FROM officer o WHERE o.id = NEW.officer_id;
    IF NOT FOUND THEN
        NEW.officer_station_id := NULL;
        NEW.officer_grid_id := NULL;
    END IF;
    SELECT a.kind, a.station_id INTO NEW.area_kind, NEW.area_station_id
      FROM area a WHERE a.id = NEW.area_id;
    IF NOT FOUND THEN
        NEW.area_kind := NULL;
        NEW.area_station_id := NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION pingan_grid_member_area_keys() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    NEW.area_station_id := (SELECT a.station_id FROM area a WHERE a.id = NEW.area_id);
    RETURN NEW;
END $$;

CREATE TRIGGER officer_keys BEFORE INSERT OR UPDATE ON officer
    FOR EACH ROW EXECUTE FUNCTION pingan_officer_keys();
CREATE TRIGGER officer_area_keys BEFORE INSERT OR UPDATE ON officer_area
    FOR EACH ROW EXECUTE FUNCTION pingan_officer_area_keys();
CREATE TRIGGER grid_member_area_keys BEFORE INSERT OR UPDATE ON grid_member_area
    FOR EACH ROW EXECUTE FUNCTION pingan_grid_member_area_keys();

-- A changed source touches the rows that copy it (their BEFORE trigger does
-- the rest); only rows whose keys would change are touched.
CREATE FUNCTION pingan_post_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    UPDATE officer o SET post_id = o.post_id
     WHERE o.post_id = NEW.id
       AND (o.post_station_id, o.post_grid_id)
           IS DISTINCT FROM (NEW.station_id, NEW.grid_id);
    RETURN NULL;
END $$;

CREATE FUNCTION pingan_officer_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    UPDATE officer_area oa SET officer_id = oa.officer_id
     WHERE oa.officer_id = NEW.id
       AND (oa.officer_station_id, oa.officer_grid_id)
           IS DISTINCT FROM (NEW.post_station_id, NEW.post_grid_id);
    RETURN NULL;
END $$;

CREATE FUNCTION pingan_area_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    UPDATE officer_area oa SET area_id = oa.area_id
     WHERE oa.area_id = NEW.id
       AND (oa.area_kind, oa.area_station_id) IS DISTINCT FROM (NEW.kind, NEW.station_id);
    UPDATE grid_member_area ma SET area_id = ma.area_id
     WHERE ma.area_id = NEW.id
       AND ma.area_station_id IS DISTINCT FROM NEW.station_id;
    RETURN NULL;
END $$;

CREATE TRIGGER post_moved AFTER INSERT OR UPDATE ON post
    FOR EACH ROW EXECUTE FUNCTION pingan_post_moved();
CREATE TRIGGER officer_moved AFTER UPDATE ON officer
    FOR EACH ROW WHEN ((OLD.post_station_id, OLD.post_grid_id)
                       IS DISTINCT FROM (NEW.post_station_id, NEW.post_grid_id))
    EXECUTE FUNCTION pingan_officer_moved();
CREATE TRIGGER area_moved AFTER UPDATE ON area
    FOR EACH ROW WHEN ((OLD.kind, OLD.station_id) IS DISTINCT FROM (NEW.kind, NEW.station_id))
    EXECUTE FUNCTION pingan_area_moved();

-- The keys of the rows already there.
UPDATE officer SET post_id = post_id;
UPDATE officer_area SET area_id = area_id;
UPDATE grid_member_area SET area_id = area_id;

-- The same rules as before (0011, 0015, 0025), asked of the row itself.
ALTER POLICY officer_scope ON officer USING (pingan_sees(post_station_id, post_grid_id));
ALTER POLICY officer_area_scope ON officer_area USING (
    pingan_role() IN ('admin', 'planner')
    OR (pingan_sees(officer_station_id, officer_grid_id)
        AND pingan_sees_area(area_kind, area_id, area_station_id)));
ALTER POLICY grid_member_area_scope ON grid_member_area USING (
    pingan_sees(area_station_id, area_id));
