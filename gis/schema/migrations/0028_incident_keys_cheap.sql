-- 0028: an import into an empty incident table puts its keys back cheaply.
--
-- An import into an empty table sets the table's foreign keys aside and adds
-- them back at the end (gis.bulk.SetAside); adding one checks every row, a
-- scan of the whole table.  Three keys of 0016 are on columns an import never
-- fills (unit_area_id, unit_post_id, routed_station_id: set when a case is
-- assigned or routed by hand), yet each check read the million rows: 0.22 s
-- each on the county world, 0.66 s of a million-row import (issue 16's
-- no-regression target).  PostgreSQL's check asks only for the rows whose key
-- IS NOT NULL: with a partial index on exactly those it reads the index,
-- empty after an import, and takes no time (as the assignee keys, which have
-- such indexes, already did).  SetAside leaves these indexes in place (no
-- written row enters them).  They also serve ON DELETE SET NULL when an area
-- or post is deleted, instead of a scan of the incidents.
CREATE INDEX incident_unit_area ON incident (unit_area_id)
    WHERE unit_area_id IS NOT NULL;
CREATE INDEX incident_unit_post ON incident (unit_post_id)
    WHERE unit_post_id IS NOT NULL;
CREATE INDEX incident_routed_station ON incident (routed_station_id)
    WHERE routed_station_id IS NOT NULL;

-- incident_station (0001: station_id) is the leading column of
-- incident_station_stats (0016: station_id, reported_at INCLUDE ...), which
-- serves every query by station as well (a station's incidents, the station
-- key's checks); building it again cost an import 0.33 s, and every insert
-- kept one more index.
DROP INDEX IF EXISTS incident_station;
