-- 0006: boundary imports subdivide their polygons in bulk.
--
-- The row trigger runs ST_Subdivide once per inserted area: about a millisecond
-- for a 385-vertex village, ten seconds for a county's 10,000 villages.  A
-- boundary import sets pingan.bulk_subdivide for its transaction and writes
-- area_part itself (gis/subdivide.py: the same <= 128-vertex pieces, cut by
-- rectangle clipping, about 0.1 ms a village).  Everything else keeps the
-- trigger.
DROP TRIGGER area_subdivide ON area;
CREATE TRIGGER area_subdivide AFTER INSERT OR UPDATE OF geom, kind ON area
    FOR EACH ROW
    WHEN (current_setting('pingan.bulk_subdivide', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION area_subdivide();
