-- 0011: one door, one rule.  Who may see which rows is decided here, once, by
-- PostgreSQL row-level security; the web app connects as `pingan_web`, a role
-- that owns no table and is not a superuser, so the policies bind.  The owner
-- (the role that runs `init`, imports and `assign`) is not bound by them.
--
-- Each web request starts with `pingan_begin(token_hash)` (below), which finds
-- the signed-in user of a browser session or API token and sets the four
-- settings the policies read: pingan.user, pingan.role, pingan.station,
-- pingan.grids.  A connection whose settings are empty sees no scoped row.

-- The web role ------------------------------------------------------------------
-- Roles belong to the cluster, not the database: made once, by an owner who may
-- create roles (the embedded cluster's superuser can; with DATABASE_URL a DBA
-- makes it first, see README "Two database roles").
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pingan_web') THEN
        CREATE ROLE pingan_web LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
            NOBYPASSRLS;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'role pingan_web does not exist and % may not create it: '
        'CREATE ROLE pingan_web LOGIN PASSWORD ''…'' as a superuser first, '
        'then run python -m gis init again', current_user
        USING ERRCODE = 'insufficient_privilege';
END $$;

-- Users: a fifth role, grid members bound to their grid; service accounts ----------
ALTER TABLE app_user DROP CONSTRAINT app_user_role_check;
ALTER TABLE app_user DROP CONSTRAINT app_user_station;
ALTER TABLE app_user
    ADD COLUMN grid_id bigint REFERENCES area(id) ON DELETE RESTRICT,
    -- A service account (the 12345 hotline, another system) signs in with
    -- tokens only: `python -m gis token issue`.
    ADD COLUMN service boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT app_user_role_check CHECK (role IN
        ('admin', 'planner', 'leader', 'station', 'grid_member')),
    ADD CONSTRAINT app_user_station CHECK ((role = 'station') = (station_id IS NOT NULL)),
    ADD CONSTRAINT app_user_grid CHECK ((role = 'grid_member') = (grid_id IS NOT NULL));

-- Sessions and tokens live here, so signing out, a password change or a revoked
-- token ends them at once on every worker.  Only a hash of the secret is kept.
CREATE TABLE auth_session (
    id          bigserial PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,
    user_id     bigint NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('browser', 'token', 'service')),
    name        text,
    client_addr text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX auth_session_user ON auth_session (user_id) WHERE revoked_at IS NULL;

-- Failed sign-ins, per account name and per client address (lock-out).
CREATE TABLE login_failure (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    username    text,
    client_addr text
);
CREATE INDEX login_failure_user ON login_failure (username, at);
CREATE INDEX login_failure_addr ON login_failure (client_addr, at);

ALTER TABLE audit_log ADD COLUMN client_addr text;
CREATE INDEX audit_log_user ON audit_log (username, at);

-- The station a village or grid belongs to (the one holding a point on its
-- surface), and a station's own id: the key its users' scope is read by.
ALTER TABLE area ADD COLUMN station_id bigint REFERENCES area(id) ON DELETE SET NULL;
CREATE INDEX area_station ON area (station_id);

CREATE FUNCTION assign_area_stations() RETURNS integer
LANGUAGE sql AS $$
    WITH pick AS (
        SELECT a.id, CASE WHEN a.kind = 'police_station' THEN a.id ELSE (
                   SELECT s.id FROM area s
                    WHERE s.kind = 'police_station' AND s.valid_to IS NULL
                      AND ST_Intersects(s.geom, ST_PointOnSurface(a.geom))
                    ORDER BY s.code LIMIT 1) END AS station_id
          FROM area a
         WHERE a.kind IN ('village', 'grid', 'police_station')
    ), changed AS (
        UPDATE area a SET station_id = p.station_id
          FROM pick p
         WHERE p.id = a.id AND a.station_id IS DISTINCT FROM p.station_id
        RETURNING 1
    )
    SELECT count(*)::integer FROM changed
$$;
SELECT assign_area_stations();

-- Kept current by the database itself, whoever writes areas: a village or grid
-- learns its station when written; new or changed stations re-key them all.
CREATE FUNCTION area_station_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'police_station' THEN
        NEW.station_id := NEW.id;
    ELSIF NEW.kind IN ('village', 'grid') THEN
        NEW.station_id := (
            SELECT s.id FROM area s
             WHERE s.kind = 'police_station' AND s.valid_to IS NULL
               AND ST_Intersects(s.geom, ST_PointOnSurface(NEW.geom))
             ORDER BY s.code LIMIT 1);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER area_station BEFORE INSERT OR UPDATE OF geom, kind ON area
    FOR EACH ROW EXECUTE FUNCTION area_station_row();

CREATE FUNCTION area_stations_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_areas WHERE kind = 'police_station') THEN
        PERFORM assign_area_stations();
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER area_stations_insert AFTER INSERT ON area
    REFERENCING NEW TABLE AS changed_areas
    FOR EACH STATEMENT EXECUTE FUNCTION area_stations_changed();
CREATE TRIGGER area_stations_update AFTER UPDATE ON area
    REFERENCING NEW TABLE AS changed_areas
    FOR EACH STATEMENT EXECUTE FUNCTION area_stations_changed();

-- What the policies read -------------------------------------------------------
CREATE FUNCTION pingan_user() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT coalesce(current_setting('pingan.user', true), '') $$;
CREATE FUNCTION pingan_role() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT coalesce(current_setting('pingan.role', true), '') $$;
CREATE FUNCTION pingan_station() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT nullif(current_setting('pingan.station', true), '')::bigint $$;
CREATE FUNCTION pingan_grids() RETURNS bigint[] LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT string_to_array(nullif(current_setting('pingan.grids', true), ''), ',')::bigint[] $$;

-- THE rule: may the current user see a row that lies in station `p_station`
-- and grid `p_grid`?  Admins and planners see every area; a station user its
-- own jurisdiction; a grid member their own grid; leaders and nobody else no
-- single row (they get aggregates, see incident_bins).  Inlined by the planner.
CREATE FUNCTION pingan_sees(p_station bigint, p_grid bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT pingan_role() IN ('admin', 'planner')
        OR (pingan_role() = 'station' AND p_station = pingan_station())
        OR (pingan_role() = 'grid_member' AND p_grid = ANY (pingan_grids()))
$$;

-- Every table that holds scoped rows ---------------------------------------------
ALTER TABLE area ENABLE ROW LEVEL SECURITY;
-- The district and townships frame every map; leaders see every boundary (no
-- boundary names a person); villages, grids and stations follow the rule.
-- A grid member also sees the outline of their grid's station.
CREATE POLICY area_scope ON area FOR SELECT USING (
    pingan_role() IN ('admin', 'planner', 'leader')
    OR (pingan_role() <> '' AND kind IN ('district', 'township'))
    OR (kind = 'police_station' AND id = pingan_station())
    OR pingan_sees(station_id, CASE WHEN kind = 'grid' THEN id END));

ALTER TABLE post ENABLE ROW LEVEL SECURITY;
CREATE POLICY post_scope ON post FOR SELECT USING (pingan_sees(station_id, grid_id));
ALTER TABLE camera ENABLE ROW LEVEL SECURITY;
CREATE POLICY camera_scope ON camera FOR SELECT USING (pingan_sees(station_id, grid_id));
ALTER TABLE site ENABLE ROW LEVEL SECURITY;
CREATE POLICY site_scope ON site FOR SELECT USING (pingan_sees(station_id, grid_id));

-- An officer belongs to the station of their post.
ALTER TABLE officer ENABLE ROW LEVEL SECURITY;
CREATE POLICY officer_scope ON officer FOR SELECT USING (
    pingan_role() IN ('admin', 'planner')
    OR EXISTS (SELECT 1 FROM post p WHERE p.id = officer.post_id));
-- Who answers for which area: seen when both the officer and the area are.
ALTER TABLE officer_area ENABLE ROW LEVEL SECURITY;
CREATE POLICY officer_area_scope ON officer_area FOR SELECT USING (
    EXISTS (SELECT 1 FROM officer o WHERE o.id = officer_area.officer_id)
    AND EXISTS (SELECT 1 FROM area a WHERE a.id = officer_area.area_id));
ALTER TABLE grid_member ENABLE ROW LEVEL SECURITY;
CREATE POLICY grid_member_scope ON grid_member FOR SELECT USING (
    EXISTS (SELECT 1 FROM area g WHERE g.id = grid_member.grid_id
               AND pingan_sees(g.station_id, g.id)));

-- Incidents: read and moved along within the rule; taken in by anyone who may
-- take in (a point outside the filer's jurisdiction is routed to its station,
-- and the filer then cannot read it).
ALTER TABLE incident ENABLE ROW LEVEL SECURITY;
CREATE POLICY incident_read ON incident FOR SELECT USING (pingan_sees(station_id, grid_id));
CREATE POLICY incident_update ON incident FOR UPDATE
    USING (pingan_sees(station_id, grid_id) AND pingan_role() <> 'leader');
CREATE POLICY incident_insert ON incident FOR INSERT WITH CHECK (
    pingan_role() IN ('admin', 'planner', 'station', 'grid_member'));

-- The trail: admins read all of it; others the trail of incidents they may see
-- (not of one they filed and that went to another station: it tells where) and
-- their own other entries.  Anyone may append; nobody may edit.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_read ON audit_log FOR SELECT USING (
    pingan_role() = 'admin'
    OR (object_kind = 'incident' AND pingan_role() <> ''
        AND EXISTS (SELECT 1 FROM incident i WHERE i.code = audit_log.object_code))
    OR (object_kind IS DISTINCT FROM 'incident' AND pingan_user() <> ''
        AND username = pingan_user()));
CREATE POLICY audit_append ON audit_log FOR INSERT WITH CHECK (true);

ALTER TABLE import_batch ENABLE ROW LEVEL SECURITY;
CREATE POLICY import_batch_scope ON import_batch FOR SELECT
    USING (pingan_role() IN ('admin', 'planner'));

ALTER TABLE app_user ENABLE ROW LEVEL SECURITY;
CREATE POLICY app_user_self ON app_user FOR SELECT
    USING (pingan_role() = 'admin' OR username = pingan_user());

ALTER TABLE auth_session ENABLE ROW LEVEL SECURITY;  -- functions below only
ALTER TABLE login_failure ENABLE ROW LEVEL SECURITY;

-- Routing names every area for everyone with a token (a 12345 clerk must learn
-- which station a point belongs to): codes, names and the pieces a point is
-- tested against, nothing else.  Views run as their owner, so they are the
-- one deliberate window past area's policy; no person is in them.
CREATE VIEW area_directory AS
    SELECT id, kind, code, name, parent_id, valid_from, valid_to FROM area;
CREATE VIEW area_part_directory AS SELECT area_id, kind, geom FROM area_part;

-- Assignment is the database's own business: whoever files a point, it is
-- assigned against every boundary, not only those the filer may see.
ALTER FUNCTION assign_incident_areas() SECURITY DEFINER SET search_path = public;
ALTER FUNCTION assign_point_areas() SECURITY DEFINER SET search_path = public;

-- Leaders see patterns, not people: incident counts per ~1 km square (0.01°)
-- and category, from every incident for leaders, within the rule for others.
CREATE FUNCTION incident_bins(p_size float8 DEFAULT 0.01)
RETURNS TABLE (lon float8, lat float8, category text, n bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT (floor(ST_X(geom) / p_size) + 0.5) * p_size,
           (floor(ST_Y(geom) / p_size) + 0.5) * p_size, category, count(*)
      FROM incident
     WHERE pingan_role() = 'leader' OR pingan_sees(station_id, grid_id)
     GROUP BY 1, 2, 3
$$;

-- Sign-in -------------------------------------------------------------------------
-- The start of every web request: the user whose live session or token hashes to
-- p_hash (none: nobody), and the scope settings for the rest of the request,
-- with the client's address for the audit rows it writes.
-- Settings are session-wide, so the caller runs this outside a transaction.
CREATE FUNCTION pingan_begin(p_hash bytea, p_addr text)
RETURNS TABLE (id bigint, username text, role text, station_id bigint,
               station_code text, grid_ids bigint[], session_id bigint,
               session_kind text, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    r record;
BEGIN
    -- A grid member's station is their grid's: its outline frames their map.
    SELECT u.id, u.username, u.role, st.id AS station_id, st.code AS station_code,
           CASE WHEN u.grid_id IS NULL THEN NULL ELSE ARRAY[u.grid_id] END AS grids,
           s.id AS sid, s.kind, s.expires_at AS exp
      INTO r
      FROM auth_session s
      JOIN app_user u ON u.id = s.user_id AND NOT u.disabled
      LEFT JOIN area g ON g.id = u.grid_id
      LEFT JOIN area st ON st.id = coalesce(u.station_id, g.station_id)
     WHERE p_hash IS NOT NULL AND s.token_hash = p_hash
       AND s.revoked_at IS NULL AND s.expires_at > now();
    PERFORM set_config('pingan.client_addr', coalesce(p_addr, ''), false),
            set_config('pingan.user', coalesce(r.username, ''), false),
            set_config('pingan.role', coalesce(r.role, ''), false),
            set_config('pingan.station', coalesce(r.station_id::text, ''), false),
            set_config('pingan.grids', coalesce(array_to_string(r.grids, ','), ''),
                       false);
    IF r.id IS NOT NULL THEN
        RETURN QUERY SELECT r.id, r.username, r.role, r.station_id, r.station_code,
                            r.grids, r.sid, r.kind, r.exp;
    END IF;
END $$;

-- The stored hash of an active account, to check a password against.
CREATE FUNCTION pingan_password_hash(p_username text) RETURNS TABLE
    (id bigint, password_hash text, service boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT id, password_hash, service FROM app_user
     WHERE username = p_username AND NOT disabled
$$;

-- Until when the account or the address is locked out (NULL: not locked): the
-- time the oldest of the last `p_max` failures within `p_window` leaves it.
CREATE FUNCTION pingan_locked_until(p_username text, p_addr text, p_window interval,
                                    p_max_user integer, p_max_addr integer)
RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT max(t) FROM (
        SELECT (SELECT at FROM login_failure
                 WHERE username = p_username AND at > now() - p_window
                 ORDER BY at DESC OFFSET p_max_user - 1 LIMIT 1) + p_window AS t
        UNION ALL
        SELECT (SELECT at FROM login_failure
                 WHERE client_addr = p_addr AND at > now() - p_window
                 ORDER BY at DESC OFFSET p_max_addr - 1 LIMIT 1) + p_window) x
$$;

CREATE FUNCTION pingan_login_failed(p_username text, p_addr text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    INSERT INTO login_failure (username, client_addr) VALUES (p_username, p_addr);
    DELETE FROM login_failure WHERE at < now() - interval '1 day';
$$;

-- A successful sign-in: the account's failures are forgotten, an old scrypt
-- hash may be replaced by the new form, and a session opens.
CREATE FUNCTION pingan_login_ok(p_user bigint, p_old_hash text, p_new_hash text,
                                p_token_hash bytea, p_kind text, p_ttl interval,
                                p_addr text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    sid bigint;
BEGIN
    DELETE FROM login_failure
     WHERE username = (SELECT username FROM app_user WHERE id = p_user);
    IF p_new_hash IS NOT NULL THEN
        UPDATE app_user SET password_hash = p_new_hash
         WHERE id = p_user AND password_hash = p_old_hash;
    END IF;
    INSERT INTO auth_session (token_hash, user_id, kind, client_addr, expires_at)
    VALUES (p_token_hash, p_user, p_kind, p_addr, now() + p_ttl)
    RETURNING auth_session.id INTO sid;
    RETURN sid;
END $$;

-- Signing out ends the session itself, server-side.
CREATE FUNCTION pingan_session_end(p_hash bytea) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    UPDATE auth_session SET revoked_at = now()
     WHERE token_hash = p_hash AND revoked_at IS NULL
$$;

-- What the web role may touch ------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM pingan_web;
GRANT SELECT ON area, post, camera, site, officer, officer_area, grid_member,
    incident, audit_log, import_batch, app_user, schema_migration,
    area_directory, area_part_directory TO pingan_web;
GRANT INSERT, UPDATE ON incident TO pingan_web;
GRANT INSERT ON audit_log TO pingan_web;
GRANT USAGE ON SEQUENCE incident_id_seq, incident_intake_seq, audit_log_id_seq
    TO pingan_web;
REVOKE EXECUTE ON FUNCTION pingan_begin(bytea, text), pingan_password_hash(text),
    pingan_locked_until(text, text, interval, integer, integer),
    pingan_login_failed(text, text),
    pingan_login_ok(bigint, text, text, bytea, text, interval, text),
    pingan_session_end(bytea), incident_bins(float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pingan_begin(bytea, text), pingan_password_hash(text),
    pingan_locked_until(text, text, interval, integer, integer),
    pingan_login_failed(text, text),
    pingan_login_ok(bigint, text, text, bytea, text, interval, text),
    pingan_session_end(bytea), incident_bins(float8) TO pingan_web;
