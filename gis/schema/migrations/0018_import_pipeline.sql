-- 0018: what a county's own files need to load on the first try (issue 16).
--
-- Historic ledgers (台账) mark many disputes 已化解 with no resolution time: a
-- third of a real ledger.  They are accepted as resolved at an unknown time
-- (resolved_at NULL with a done status); an open incident still has no
-- resolution, and a known time is still not before the report.  Statistics of
-- time to resolve leave such rows out and say how many
-- (gis.incidents.resolution_times).
ALTER TABLE incident DROP CONSTRAINT incident_resolution;
ALTER TABLE incident ADD CONSTRAINT incident_resolution CHECK (
    CASE WHEN status IN ('received', 'dispatched', 'handling')
         THEN resolved_at IS NULL AND resolved_level IS NULL
         ELSE resolved_at IS NULL OR resolved_at >= reported_at END);

-- Townships and districts dissolved from their villages when a county has
-- village outlines only: marked derived, replaced by a real outline as a new
-- generation when one is imported (gis/ingest/areas.py).
ALTER TABLE area ADD COLUMN derived boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN area.derived IS
    'Dissolved from the child areas by the import, not a surveyed outline';

-- The code as the file wrote it, when the import normalised it: a 6-digit
-- GB/T 2260 district code (130403 -> 130403000000) or a 9-digit township code.
ALTER TABLE area ADD COLUMN code_given text;
COMMENT ON COLUMN area.code_given IS
    'The code as imported when it was normalised to the 12-digit form';
