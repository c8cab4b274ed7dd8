-- 0007: the parent check reads the parent's kind and code only.
--
-- 0001's version read the whole parent row, geometry included: inserting the
-- 400 villages of a township de-toasted the township's 8,000-vertex outline 400
-- times.  Same rules, same messages.
CREATE OR REPLACE FUNCTION area_check_parent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent_kind text;
    parent_code text;
    expected text := CASE NEW.kind WHEN 'grid' THEN 'village'
                                   WHEN 'village' THEN 'township'
                                   WHEN 'township' THEN 'district'
                                   WHEN 'police_station' THEN 'district' END;
BEGIN
    IF NEW.parent_id IS NULL THEN
        IF NEW.kind <> 'district' THEN
            RAISE EXCEPTION '% % needs a parent %', NEW.kind, NEW.code, expected
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    SELECT kind, code INTO parent_kind, parent_code FROM area WHERE id = NEW.parent_id;
    IF NEW.kind = 'district' OR parent_kind IS DISTINCT FROM expected THEN
        RAISE EXCEPTION '% % cannot have a % as parent', NEW.kind, NEW.code, parent_kind
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.kind = 'grid' AND left(NEW.code, length(parent_code)) <> parent_code THEN
        RAISE EXCEPTION 'grid code % must extend its village code %', NEW.code, parent_code
            USING ERRCODE = 'check_violation';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
