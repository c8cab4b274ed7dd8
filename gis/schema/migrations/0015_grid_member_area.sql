-- 0015: grid members answer for grids the way officers answer for villages.
--
-- Until now a grid member's grid was a column of their row (grid_member.grid_id,
-- with the validity of that one assignment beside it): moving a member to
-- another grid overwrote where they had served, so a historic lookup (`--at`)
-- and the trends named the new grid for the old days, or nobody.  Their
-- assignments now have their own table, like officer_area and person_area:
-- an assignment that ends is closed (valid_to), never overwritten, and a member
-- may answer for more than one grid (the role's capacity says how many should).
-- The grid_members import layer (gis/ingest/people.py) writes both tables.

CREATE TABLE grid_member_area (
    member_id   bigint NOT NULL REFERENCES grid_member(id) ON DELETE CASCADE,
    area_id     bigint NOT NULL REFERENCES area(id) ON DELETE CASCADE,
    valid_from  date NOT NULL DEFAULT DATE '1949-10-01',
    valid_to    date CHECK (valid_to IS NULL OR valid_to > valid_from),
    PRIMARY KEY (member_id, area_id, valid_from)
);
CREATE INDEX grid_member_area_area ON grid_member_area (area_id);
COMMENT ON TABLE grid_member_area IS
    'Which grid a grid member (网格员) answered for, and when; an ended '
    'assignment keeps its row with valid_to set.';

INSERT INTO grid_member_area (member_id, area_id, valid_from, valid_to)
SELECT id, grid_id, valid_from, valid_to FROM grid_member;

-- Who reads the old columns, rewritten to read the assignments --------------------
DROP VIEW duty_assignment;
DROP POLICY grid_member_scope ON grid_member;
ALTER TABLE grid_member
    DROP COLUMN grid_id,
    DROP COLUMN valid_from,
    DROP COLUMN valid_to;

-- security_invoker: read with the caller's rights (see 0014).
CREATE VIEW duty_assignment WITH (security_invoker = true) AS
SELECT 'officer'::text AS person_kind, o.id AS person_id, o.code, o.name,
       o.kind AS role, o.post_id, NULL::text AS office, r.capacity,
       r.residents_norm, oa.area_id, oa.valid_from, oa.valid_to
  FROM officer o
  JOIN duty_role r ON r.code = o.kind
  JOIN officer_area oa ON oa.officer_id = o.id
 WHERE o.active
UNION ALL
SELECT 'grid_member', m.id, m.code, m.name, 'grid_member', NULL, NULL,
       r.capacity, r.residents_norm, ma.area_id, ma.valid_from, ma.valid_to
  FROM grid_member m
  JOIN duty_role r ON r.code = 'grid_member'
  JOIN grid_member_area ma ON ma.member_id = m.id
UNION ALL
SELECT 'person', s.id, s.code, s.name, s.role, s.post_id, s.office,
       coalesce(s.capacity, r.capacity), r.residents_norm,
       pa.area_id, pa.valid_from, pa.valid_to
  FROM person s
  JOIN duty_role r ON r.code = s.role
  JOIN person_area pa ON pa.person_id = s.id
 WHERE s.active;

-- The one rule, as before: an assignment is seen when its grid is; a member
-- when one of their assignments is (planners and admins see every member,
-- also one with no grid yet).
ALTER TABLE grid_member_area ENABLE ROW LEVEL SECURITY;
CREATE POLICY grid_member_area_scope ON grid_member_area FOR SELECT USING (
    EXISTS (SELECT 1 FROM area g WHERE g.id = grid_member_area.area_id
               AND pingan_sees(g.station_id, g.id)));
CREATE POLICY grid_member_scope ON grid_member FOR SELECT USING (
    pingan_role() IN ('admin', 'planner')
    OR EXISTS (SELECT 1 FROM grid_member_area ma WHERE ma.member_id = grid_member.id));

GRANT SELECT ON grid_member_area, duty_assignment TO pingan_web;
