-- 0004: intake and dispatch (一门受理、一体派发).
--
-- `risk` is the tier that sets how fast an incident must be taken up (red:
-- immediately, orange: the same day, yellow: on the spot by the grid member;
-- the deadlines are in gis/incidents.py).  Existing rows become yellow, the
-- lowest tier, which is what an untiered report is treated as.
ALTER TABLE incident
    ADD COLUMN risk text NOT NULL DEFAULT 'yellow'
        CHECK (risk IN ('red', 'orange', 'yellow')),
    ADD COLUMN created_by text;

-- Codes of incidents taken in through the API: SJ<yyyymmdd>-<n>.
CREATE SEQUENCE incident_intake_seq;

-- The overdue list reads only incidents not yet resolved, by tier and age.
CREATE INDEX incident_open ON incident (risk, reported_at)
    WHERE status IN ('received', 'dispatched', 'handling');

-- An object's trail (audit.history) without scanning the whole log.
CREATE INDEX audit_log_object ON audit_log (object_kind, object_code, at);
