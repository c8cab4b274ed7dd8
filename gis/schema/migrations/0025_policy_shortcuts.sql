-- 0025: admins and planners see every officer and grid member assignment,
-- and the two link tables' policies now say so first.
--
-- officer_area's policy (0011) asked, for every row a query read, whether its
-- officer and its area were visible (two probes, each under its own table's
-- policy), and grid_member_area's (0015) whether its grid was; grid_member's
-- and officer's own policies already begin with the role.  For an admin or a
-- planner every one of those probes answers yes (officer: by role; area:
-- pingan_sees_area lets both see every area; pingan_sees lets both see every
-- station and grid), so the answer is the same and the probes are skipped:
-- a planner's single lookup read its officers' and members' links at about
-- 0.05 ms more than the owner's, most of it these probes.  Leaders, stations
-- and grid members are asked exactly as before.
ALTER POLICY officer_area_scope ON officer_area USING (
    pingan_role() IN ('admin', 'planner')
    OR (EXISTS (SELECT 1 FROM officer o WHERE o.id = officer_area.officer_id)
        AND EXISTS (SELECT 1 FROM area a WHERE a.id = officer_area.area_id)));
ALTER POLICY grid_member_area_scope ON grid_member_area USING (
    pingan_role() IN ('admin', 'planner')
    OR EXISTS (SELECT 1 FROM area g WHERE g.id = grid_member_area.area_id
                  AND pingan_sees(g.station_id, g.id)));
