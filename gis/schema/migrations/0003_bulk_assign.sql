-- 0003: let set-based bulk assignment (python -m gis assign) bypass the per-row
-- assignment triggers.  The bulk statement computes the same answer for all rows
-- at once; it sets `pingan.bulk_assign = on` for its own transaction only.

CREATE OR REPLACE FUNCTION assign_incident_areas() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('pingan.bulk_assign', true) = 'on' THEN
        RETURN NEW;
    END IF;
    SELECT * INTO NEW.village_id, NEW.grid_id, NEW.township_id, NEW.station_id
      FROM assign_areas_at(NEW.geom,
                           (NEW.reported_at AT TIME ZONE 'Asia/Shanghai')::date);
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION assign_point_areas() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('pingan.bulk_assign', true) = 'on' THEN
        RETURN NEW;
    END IF;
    SELECT * INTO NEW.village_id, NEW.grid_id, NEW.township_id, NEW.station_id
      FROM assign_areas_at(NEW.geom, current_date);
    RETURN NEW;
END $$;
