-- 0010: coarser pieces in area_part (at most 512 vertices instead of 128).
--
-- Every piece is one probe of a points index in the polygon-driven joins of
-- assignment and import, and one more entry to descend past in a lookup's
-- probe.  Measured on the synthetic county (10,000 villages, 50,000 grids of
-- 334 vertices, a million incidents): 254,000 pieces of <= 128 vertices joined
-- in 16.0 s, 61,000 of <= 512 in 9.6 s (256: 11.4 s, 1024: 10.7 s); 10,000
-- single-point probes took 0.6-0.9 s instead of 1.1-1.6 s.  Small polygons (the
-- demo's) are not cut at all either way.  Pieces are re-cut here for existing
-- boundaries; imports cut theirs in Python (gis/subdivide.py, the same limit).
CREATE OR REPLACE FUNCTION area_subdivide() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM area_part WHERE area_id = NEW.id;
    INSERT INTO area_part (area_id, kind, geom)
    SELECT NEW.id, NEW.kind, ST_Subdivide(NEW.geom, 512);
    RETURN NULL;
END $$;

DROP INDEX area_part_geom_gist, area_part_area;
TRUNCATE area_part;
INSERT INTO area_part (area_id, kind, geom)
SELECT id, kind, ST_Subdivide(geom, 512) FROM area;
CREATE INDEX area_part_geom_gist ON area_part USING gist (geom);
CREATE INDEX area_part_area ON area_part (area_id);
ANALYZE area_part;
