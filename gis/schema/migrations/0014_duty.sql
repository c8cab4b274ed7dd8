-- 0014: people who answer for places, of every role (一村一警, 一村一法律顾问,
-- 人民调解员, 网格员 ...), with validity periods, and what the gap analysis
-- (gis/gaps.py) reads.
--
-- Officers (officer/officer_area) and grid members (grid_member) keep their
-- tables: the lookup, the incident dispatch, the import, the export and the row
-- policies already read them.  Every other role (legal advisers, mediators,
-- any role a county adds) goes into one generic table, person/person_area.
-- The gap engine reads all of them through ONE view, duty_assignment.

-- Roles ---------------------------------------------------------------------------
-- A role answers for villages or for grids; its capacity (places per person)
-- and its residents-per-person norm are defaults a person may override.  A
-- county adds a role with one INSERT; the gap engine picks it up.
CREATE TABLE duty_role (
    code           text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
    label          text NOT NULL CHECK (length(btrim(label)) > 0),
    answers_for    text NOT NULL CHECK (answers_for IN ('village', 'grid')),
    capacity       integer NOT NULL CHECK (capacity > 0),
    residents_norm integer CHECK (residents_norm > 0),
    sort_order     integer NOT NULL DEFAULT 100
);
COMMENT ON TABLE duty_role IS
    'Roles of people who answer for villages or grids; capacity = places per '
    'person, residents_norm = residents per person (defaults, per person '
    'overridable in person.capacity).';
-- Defaults: one officer for one or two villages and up to 12,000 residents
-- (一村一警 as built: 145 officers for 145 villages; a city community of 10,000
-- has its own 社区民警), a grid member per grid and up to 3,000 residents (a grid
-- is 300-500 households), a legal adviser for up to three villages and 20,000
-- residents (一村一法律顾问 is often met by one lawyer for a few villages), a
-- mediator per village.  People sharing a place share its residents.
INSERT INTO duty_role (code, label, answers_for, capacity, residents_norm, sort_order)
VALUES ('police', '民警', 'village', 2, 12000, 10),
       ('auxiliary', '辅警', 'village', 2, 12000, 20),
       ('grid_member', '网格员', 'grid', 1, 3000, 30),
       ('legal_adviser', '村(居)法律顾问', 'village', 3, 20000, 40),
       ('mediator', '人民调解员', 'village', 1, 15000, 50);

-- Validity periods, like boundaries: who answered for a place on a given day.
-- Rows written before this release have served since we know not when: the
-- same open start as area.valid_from.
ALTER TABLE officer_area
    ADD COLUMN valid_from date NOT NULL DEFAULT DATE '1949-10-01',
    ADD COLUMN valid_to date,
    ADD CONSTRAINT officer_area_period CHECK (valid_to IS NULL OR valid_to > valid_from),
    DROP CONSTRAINT officer_area_pkey,
    ADD PRIMARY KEY (officer_id, area_id, valid_from);
ALTER TABLE grid_member
    ADD COLUMN valid_from date NOT NULL DEFAULT DATE '1949-10-01',
    ADD COLUMN valid_to date,
    ADD CONSTRAINT grid_member_period CHECK (valid_to IS NULL OR valid_to > valid_from);

-- Everyone else ------------------------------------------------------------------
CREATE TABLE person (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL CHECK (length(btrim(name)) > 0),
    role        text NOT NULL REFERENCES duty_role(code) ON UPDATE CASCADE,
    -- Home: a post (警务室/工作站) or an office (司法所, 律师事务所, 村委会).
    post_id     bigint REFERENCES post(id) ON DELETE SET NULL,
    office      text,
    phone       text,
    capacity    integer CHECK (capacity > 0),   -- NULL: the role's
    active      boolean NOT NULL DEFAULT true,
    synthetic   boolean NOT NULL DEFAULT false
);
CREATE INDEX person_post ON person (post_id);

CREATE TABLE person_area (
    person_id   bigint NOT NULL REFERENCES person(id) ON DELETE CASCADE,
    area_id     bigint NOT NULL REFERENCES area(id) ON DELETE CASCADE,
    valid_from  date NOT NULL DEFAULT DATE '1949-10-01',
    valid_to    date CHECK (valid_to IS NULL OR valid_to > valid_from),
    PRIMARY KEY (person_id, area_id, valid_from)
);
CREATE INDEX person_area_area ON person_area (area_id);

-- Every generation of a village or grid by code: a historic lookup finds the
-- assignments made on any of them (gis/lookup.py).
CREATE INDEX area_kind_code ON area (kind, code);

-- Per-township patrol-team size (巡逻队员/专职巡防力量), for the Handan rule: at
-- least 1 % of the resident population.  NULL: not known (no finding).
ALTER TABLE area ADD COLUMN patrol_strength integer
    CHECK (patrol_strength >= 0 AND (patrol_strength IS NULL OR kind = 'township'));

-- One view over every role -------------------------------------------------------
-- security_invoker: read with the caller's rights, so the row policies of the
-- tables below apply to the web role (a plain view would run as its owner).
-- The station of a person's home post is the post's (read from post, under
-- its own policy): joining post here made the planner loop over every post for
-- every assignment once the policies were in the plan (2.4 s for a county).
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
       r.capacity, r.residents_norm, m.grid_id, m.valid_from, m.valid_to
  FROM grid_member m
  JOIN duty_role r ON r.code = 'grid_member'
UNION ALL
SELECT 'person', s.id, s.code, s.name, s.role, s.post_id, s.office,
       coalesce(s.capacity, r.capacity), r.residents_norm,
       pa.area_id, pa.valid_from, pa.valid_to
  FROM person s
  JOIN duty_role r ON r.code = s.role
  JOIN person_area pa ON pa.person_id = s.id
 WHERE s.active;

-- Row policies: the one rule --------------------------------------------------------
-- Roles name nobody: every signed-in user reads them.
ALTER TABLE duty_role ENABLE ROW LEVEL SECURITY;
CREATE POLICY duty_role_read ON duty_role FOR SELECT USING (pingan_role() <> '');
-- Who answers for which area: seen when the area is, by the rule itself (not
-- by area's policy, which shows every boundary to leaders: they see no person).
ALTER TABLE person_area ENABLE ROW LEVEL SECURITY;
CREATE POLICY person_area_scope ON person_area FOR SELECT USING (
    EXISTS (SELECT 1 FROM area a WHERE a.id = person_area.area_id
               AND pingan_sees(a.station_id, CASE WHEN a.kind = 'grid' THEN a.id END)));
-- A person is seen when their post is (like an officer), or when one of the
-- places they answer for is (an adviser based in a town office).
ALTER TABLE person ENABLE ROW LEVEL SECURITY;
CREATE POLICY person_scope ON person FOR SELECT USING (
    pingan_role() IN ('admin', 'planner')
    OR EXISTS (SELECT 1 FROM post p WHERE p.id = person.post_id)
    OR EXISTS (SELECT 1 FROM person_area pa WHERE pa.person_id = person.id));

-- The gap analysis under the policies -------------------------------------------
-- The nearest 警务室/工作站 of every village current on p_at (the owner's view:
-- every village, every post; duty_nearest_posts below applies the rule).
CREATE FUNCTION duty_nearest_compute(p_at date)
RETURNS TABLE (village_id bigint, post_id bigint, distance_m float8)
LANGUAGE sql STABLE SET search_path = public AS $$
    SELECT v.id, n.id, n.d
      FROM area v
      CROSS JOIN LATERAL (SELECT ST_PointOnSurface(v.geom) AS at) c
      LEFT JOIN LATERAL (
          SELECT p.id, p.geom::geography <-> c.at::geography AS d
            FROM post p
           WHERE p.kind IN ('police_room', 'workstation')
           ORDER BY p.geom::geography <-> c.at::geography
           LIMIT 1) n ON true
     WHERE v.kind = 'village'
       AND v.valid_from <= p_at AND (v.valid_to IS NULL OR v.valid_to > p_at)
$$;

-- Villages and grids whose surface lies in two or more police jurisdictions,
-- with the area (m², on the sphere) outside the station that holds their point
-- on surface (area.station_id).  Searched through the subdivided station
-- pieces (area_part) and their index.  Only areas whose interior meets a
-- second station's interior are intersected at all: a shared border is no
-- split.
CREATE FUNCTION duty_splits_compute(p_at date)
RETURNS TABLE (area_id bigint, station_id bigint, split_m2 float8)
LANGUAGE sql STABLE SET search_path = public AS $$
    WITH cand AS (
        SELECT DISTINCT a.id, ap.area_id AS other
          FROM area a
          JOIN area_part ap ON ap.kind = 'police_station' AND ap.geom && a.geom
          JOIN area s ON s.id = ap.area_id AND s.valid_to IS NULL
         WHERE a.kind IN ('village', 'grid')
           AND a.valid_from <= p_at AND (a.valid_to IS NULL OR a.valid_to > p_at)
           AND ap.area_id IS DISTINCT FROM a.station_id
           AND ST_Relate(ap.geom, a.geom, '2********')
    )
    SELECT c.id, c.other,
           ST_Area(ST_Intersection(a.geom, s.geom)::geography)
      FROM cand c
      JOIN area a ON a.id = c.id
      JOIN area s ON s.id = c.other
$$;

-- Both depend on boundaries and posts only, and cost a second or two for a
-- county: today's answers are kept, and computed again only when a boundary
-- or a post changed since.  duty_inputs.version counts the statements that
-- changed area or post; it is a row, so a writer's change is seen (and the
-- kept answers dropped) when it commits, never before.
CREATE TABLE duty_inputs (one boolean PRIMARY KEY DEFAULT true CHECK (one),
                          version bigint NOT NULL);
INSERT INTO duty_inputs VALUES (true, 0);
CREATE FUNCTION duty_inputs_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    UPDATE duty_inputs SET version = version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER area_duty_inputs AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON area FOR EACH STATEMENT EXECUTE FUNCTION duty_inputs_changed();
CREATE TRIGGER post_duty_inputs AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON post FOR EACH STATEMENT EXECUTE FUNCTION duty_inputs_changed();

CREATE TABLE duty_kept (name text PRIMARY KEY, version bigint NOT NULL,
                        day date NOT NULL);
CREATE TABLE duty_nearest_kept (village_id bigint PRIMARY KEY, post_id bigint,
                                distance_m float8);
CREATE TABLE duty_split_kept (area_id bigint NOT NULL, station_id bigint NOT NULL,
                              split_m2 float8 NOT NULL);

-- Make the kept answer p_name ('nearest' or 'splits') today's, if it is not.
CREATE FUNCTION duty_keep(p_name text) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    current bigint := (SELECT version FROM duty_inputs);
BEGIN
    IF EXISTS (SELECT FROM duty_kept WHERE name = p_name AND version = current
                  AND day = current_date) THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('duty_keep:' || p_name));
    IF EXISTS (SELECT FROM duty_kept WHERE name = p_name AND version = current
                  AND day = current_date) THEN
        RETURN;  -- another session kept it meanwhile
    END IF;
    IF p_name = 'nearest' THEN
        DELETE FROM duty_nearest_kept;
        INSERT INTO duty_nearest_kept SELECT * FROM duty_nearest_compute(current_date);
    ELSE
        DELETE FROM duty_split_kept;
        INSERT INTO duty_split_kept SELECT * FROM duty_splits_compute(current_date);
    END IF;
    INSERT INTO duty_kept VALUES (p_name, current, current_date)
    ON CONFLICT (name) DO UPDATE SET version = excluded.version, day = excluded.day;
END $$;

-- The nearest 警务室/工作站 of each village the caller may see, searched as the
-- owner so the spatial index serves it (under row policies PostGIS's KNN and
-- && are not leakproof and the index is not used), then the rule applied: the
-- distance is the same whoever asks, the post is named only to those who may
-- see it (the owner, bound by no policy: every village, every post; see
-- pingan_bound, migration 0013).  From the village's point on surface
-- (ST_PointOnSurface, always inside; the centroid of a crescent is not), on
-- the sphere, in metres.  Today's answer is kept (duty_keep).
CREATE FUNCTION duty_nearest_posts(p_at date)
RETURNS TABLE (village_id bigint, post_id bigint, distance_m float8)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    bound constant boolean := pingan_bound();
BEGIN
    IF p_at = current_date THEN
        PERFORM duty_keep('nearest');
    END IF;
    -- Today's from what is kept, another day's computed (a one-time filter
    -- skips the branch not taken).
    RETURN QUERY
    SELECT k.village_id,
           CASE WHEN NOT bound OR pingan_sees(p.station_id, p.grid_id)
                THEN k.post_id END, k.distance_m
      FROM (SELECT * FROM duty_nearest_kept WHERE p_at = current_date
            UNION ALL
            SELECT * FROM duty_nearest_compute(p_at) WHERE p_at <> current_date) k
      JOIN area v ON v.id = k.village_id
      LEFT JOIN post p ON p.id = k.post_id
     WHERE NOT bound OR pingan_sees(v.station_id, NULL);
END $$;

-- Splits of the villages and grids the caller may see (the rule decides which
-- rows return).  Today's answer is kept (duty_keep).
CREATE FUNCTION duty_splits(p_at date)
RETURNS TABLE (area_id bigint, station_id bigint, split_m2 float8)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    bound constant boolean := pingan_bound();
BEGIN
    IF p_at = current_date THEN
        PERFORM duty_keep('splits');
    END IF;
    RETURN QUERY
    SELECT k.area_id, k.station_id, k.split_m2
      FROM (SELECT * FROM duty_split_kept WHERE p_at = current_date
            UNION ALL
            SELECT * FROM duty_splits_compute(p_at) WHERE p_at <> current_date) k
      JOIN area a ON a.id = k.area_id
     WHERE NOT bound
        OR pingan_sees(a.station_id, CASE WHEN a.kind = 'grid' THEN a.id END);
END $$;

REVOKE EXECUTE ON FUNCTION duty_nearest_compute(date), duty_splits_compute(date),
    duty_keep(text), duty_inputs_changed() FROM PUBLIC;
GRANT SELECT ON duty_role, person, person_area, duty_assignment TO pingan_web;
REVOKE EXECUTE ON FUNCTION duty_nearest_posts(date), duty_splits(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION duty_nearest_posts(date), duty_splits(date) TO pingan_web;
