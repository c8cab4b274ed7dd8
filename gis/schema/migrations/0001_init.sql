-- 0001: the Pingan Grid data model (DESIGN.md §3).
-- Every polygon users can be "in" is an `area`; point tables get their village,
-- grid, township and station assigned by the database (triggers below), never by
-- the client.  Storage SRID 4326 everywhere.

CREATE EXTENSION IF NOT EXISTS postgis;

-- Areas ---------------------------------------------------------------------
CREATE TABLE area (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN
                    ('district', 'township', 'village', 'grid', 'police_station')),
    -- Subtype in the domain: 街道/镇/乡 for townships, 村/社区 for villages.
    subkind     text CHECK (subkind IN ('street', 'town', 'township',
                                        'village', 'community')),
    code        text NOT NULL,
    name        text NOT NULL CHECK (length(btrim(name)) > 0),
    parent_id   bigint REFERENCES area(id) ON DELETE RESTRICT,
    population  integer CHECK (population >= 0),
    households  integer CHECK (households >= 0),
    -- Boundary generations (MapIt): a changed boundary gets a new row; the old
    -- one is closed with valid_to, never overwritten.
    valid_from  date NOT NULL DEFAULT DATE '1949-10-01',
    valid_to    date CHECK (valid_to IS NULL OR valid_to > valid_from),
    synthetic   boolean NOT NULL DEFAULT false,
    source      text,
    geom        geometry(MultiPolygon, 4326) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT area_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    -- 12-digit statistical division codes; grid codes extend their village's.
    CONSTRAINT area_code_format CHECK (CASE kind
        WHEN 'grid' THEN code ~ '^[0-9]{13,18}$'
        WHEN 'police_station' THEN code ~ '^[0-9A-Za-z]{6,20}$'
        ELSE code ~ '^[0-9]{12}$' END)
);
CREATE UNIQUE INDEX area_current_code ON area (kind, code) WHERE valid_to IS NULL;
CREATE INDEX area_geom_gist ON area USING gist (geom);
CREATE INDEX area_parent ON area (parent_id);

-- Subdivided copies of the polygons: point lookups hit small boxes in the GiST
-- index instead of testing every vertex of a large village (MapIt's approach).
CREATE TABLE area_part (
    area_id bigint NOT NULL REFERENCES area(id) ON DELETE CASCADE,
    kind    text NOT NULL,
    geom    geometry(Polygon, 4326) NOT NULL
);
CREATE INDEX area_part_geom_gist ON area_part USING gist (geom);
CREATE INDEX area_part_area ON area_part (area_id);

CREATE FUNCTION area_check_parent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p area%ROWTYPE;
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
    SELECT * INTO p FROM area WHERE id = NEW.parent_id;
    IF NEW.kind = 'district' OR p.kind IS DISTINCT FROM expected THEN
        RAISE EXCEPTION '% % cannot have a % as parent', NEW.kind, NEW.code, p.kind
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.kind = 'grid' AND left(NEW.code, length(p.code)) <> p.code THEN
        RAISE EXCEPTION 'grid code % must extend its village code %', NEW.code, p.code
            USING ERRCODE = 'check_violation';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER area_check_parent BEFORE INSERT OR UPDATE ON area
    FOR EACH ROW EXECUTE FUNCTION area_check_parent();

CREATE FUNCTION area_subdivide() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM area_part WHERE area_id = NEW.id;
    INSERT INTO area_part (area_id, kind, geom)
    SELECT NEW.id, NEW.kind, ST_Subdivide(NEW.geom, 128);
    RETURN NULL;
END $$;
CREATE TRIGGER area_subdivide AFTER INSERT OR UPDATE OF geom, kind ON area
    FOR EACH ROW EXECUTE FUNCTION area_subdivide();

-- The one rule for "which area of this kind contains the point on this date".
-- A point on a shared boundary belongs to every touching area; we pick the one
-- with the smallest code, so the answer is deterministic and documented.
CREATE FUNCTION area_at(p_kind text, p_geom geometry, p_at date)
RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT a.id
      FROM area_part ap JOIN area a ON a.id = ap.area_id
     WHERE ap.kind = p_kind
       AND ST_Intersects(ap.geom, p_geom)
       AND a.valid_from <= p_at AND (a.valid_to IS NULL OR a.valid_to > p_at)
     ORDER BY a.code, a.valid_from DESC
     LIMIT 1
$$;

-- Points --------------------------------------------------------------------
CREATE TABLE post (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    -- station_hq 派出所驻地, police_room 警务室, workstation 警务工作站
    kind        text NOT NULL CHECK (kind IN ('station_hq', 'police_room', 'workstation')),
    staff       integer CHECK (staff >= 0),
    address     text,
    phone       text,
    synthetic   boolean NOT NULL DEFAULT false,
    geom        geometry(Point, 4326) NOT NULL,
    village_id  bigint REFERENCES area(id) ON DELETE SET NULL,
    grid_id     bigint REFERENCES area(id) ON DELETE SET NULL,
    township_id bigint REFERENCES area(id) ON DELETE SET NULL,
    station_id  bigint REFERENCES area(id) ON DELETE SET NULL
);

CREATE TABLE officer (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,           -- 警号
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('police', 'auxiliary')),  -- 民警 / 辅警
    post_id     bigint REFERENCES post(id) ON DELETE SET NULL,
    phone       text,
    active      boolean NOT NULL DEFAULT true,
    synthetic   boolean NOT NULL DEFAULT false
);

-- 一村一警: which villages or grids an officer answers for.
CREATE TABLE officer_area (
    officer_id  bigint NOT NULL REFERENCES officer(id) ON DELETE CASCADE,
    area_id     bigint NOT NULL REFERENCES area(id) ON DELETE CASCADE,
    PRIMARY KEY (officer_id, area_id)
);
CREATE INDEX officer_area_area ON officer_area (area_id);

CREATE TABLE grid_member (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    grid_id     bigint NOT NULL REFERENCES area(id) ON DELETE CASCADE,
    kind        text NOT NULL DEFAULT 'full_time' CHECK (kind IN ('full_time', 'part_time')),
    phone       text,
    synthetic   boolean NOT NULL DEFAULT false
);
CREATE INDEX grid_member_grid ON grid_member (grid_id);

CREATE TABLE camera (
    id           bigserial PRIMARY KEY,
    code         text NOT NULL UNIQUE,
    name         text,
    kind         text NOT NULL CHECK (kind IN ('fixed', 'ptz', 'dome')),
    azimuth      double precision CHECK (azimuth >= 0 AND azimuth <= 360),
    fov          double precision NOT NULL CHECK (fov >= 1 AND fov <= 360),
    range_m      double precision NOT NULL CHECK (range_m > 0 AND range_m <= 5000),
    status       text NOT NULL DEFAULT 'online'
                     CHECK (status IN ('online', 'offline', 'fault')),
    last_seen_at timestamptz,
    owner        text,
    synthetic    boolean NOT NULL DEFAULT false,
    geom         geometry(Point, 4326) NOT NULL,
    village_id   bigint REFERENCES area(id) ON DELETE SET NULL,
    grid_id      bigint REFERENCES area(id) ON DELETE SET NULL,
    township_id  bigint REFERENCES area(id) ON DELETE SET NULL,
    station_id   bigint REFERENCES area(id) ON DELETE SET NULL,
    -- A fixed camera looks one way; PTZ and dome cameras see all round.
    CONSTRAINT camera_direction CHECK (
        (kind = 'fixed' AND azimuth IS NOT NULL) OR (kind <> 'fixed' AND fov = 360))
);

CREATE TABLE site (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('intersection', 'school', 'hospital',
                    'market', 'hazchem', 'transport', 'government', 'other')),
    synthetic   boolean NOT NULL DEFAULT false,
    geom        geometry(Point, 4326) NOT NULL,
    village_id  bigint REFERENCES area(id) ON DELETE SET NULL,
    grid_id     bigint REFERENCES area(id) ON DELETE SET NULL,
    township_id bigint REFERENCES area(id) ON DELETE SET NULL,
    station_id  bigint REFERENCES area(id) ON DELETE SET NULL
);

CREATE TABLE incident (
    id             bigserial PRIMARY KEY,
    code           text NOT NULL UNIQUE,
    category       text NOT NULL CHECK (category IN (
                       'dispute_family', 'dispute_neighbour', 'dispute_debt',
                       'dispute_land', 'dispute_labour', 'dispute_demolition',
                       'dispute_property', 'dispute_medical', 'dispute_other',
                       'case', 'petition', 'accident', 'hazard')),
    status         text NOT NULL DEFAULT 'received' CHECK (status IN (
                       'received', 'dispatched', 'handling', 'resolved',
                       'followed_up', 'archived')),
    resolved_level text CHECK (resolved_level IN ('village', 'township', 'district')),
    reported_at    timestamptz NOT NULL,
    resolved_at    timestamptz,
    source         text,
    description    text,
    synthetic      boolean NOT NULL DEFAULT false,
    geom           geometry(Point, 4326) NOT NULL,
    village_id     bigint REFERENCES area(id) ON DELETE SET NULL,
    grid_id        bigint REFERENCES area(id) ON DELETE SET NULL,
    township_id    bigint REFERENCES area(id) ON DELETE SET NULL,
    station_id     bigint REFERENCES area(id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT incident_resolution CHECK (
        CASE WHEN status IN ('received', 'dispatched', 'handling')
             THEN resolved_at IS NULL AND resolved_level IS NULL
             ELSE resolved_at IS NOT NULL AND resolved_at >= reported_at END)
);
CREATE INDEX incident_reported_at ON incident (reported_at);
CREATE INDEX incident_category ON incident (category);

-- GiST and assignment indexes for every point table.
CREATE INDEX post_geom_gist ON post USING gist (geom);
CREATE INDEX camera_geom_gist ON camera USING gist (geom);
CREATE INDEX site_geom_gist ON site USING gist (geom);
CREATE INDEX incident_geom_gist ON incident USING gist (geom);
CREATE INDEX post_station ON post (station_id);
CREATE INDEX camera_station ON camera (station_id);
CREATE INDEX camera_village ON camera (village_id);
CREATE INDEX site_station ON site (station_id);
CREATE INDEX incident_station ON incident (station_id);
CREATE INDEX incident_village ON incident (village_id);
CREATE INDEX incident_township ON incident (township_id);

-- Assignment: the database, not the client, says where a point belongs.
-- Incidents use the boundaries in force on the day they were reported; other
-- points use today's.
CREATE FUNCTION assign_areas_at(p_geom geometry, p_at date,
    OUT village_id bigint, OUT grid_id bigint, OUT township_id bigint,
    OUT station_id bigint) LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT area_at('village', p_geom, p_at), area_at('grid', p_geom, p_at),
           area_at('township', p_geom, p_at), area_at('police_station', p_geom, p_at)
$$;

CREATE FUNCTION assign_incident_areas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT * INTO NEW.village_id, NEW.grid_id, NEW.township_id, NEW.station_id
      FROM assign_areas_at(NEW.geom,
                           (NEW.reported_at AT TIME ZONE 'Asia/Shanghai')::date);
    RETURN NEW;
END $$;

CREATE FUNCTION assign_point_areas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT * INTO NEW.village_id, NEW.grid_id, NEW.township_id, NEW.station_id
      FROM assign_areas_at(NEW.geom, current_date);
    RETURN NEW;
END $$;

CREATE TRIGGER incident_assign BEFORE INSERT OR UPDATE OF geom, reported_at,
    village_id, grid_id, township_id, station_id ON incident
    FOR EACH ROW EXECUTE FUNCTION assign_incident_areas();
CREATE TRIGGER camera_assign BEFORE INSERT OR UPDATE OF geom,
    village_id, grid_id, township_id, station_id ON camera
    FOR EACH ROW EXECUTE FUNCTION assign_point_areas();
CREATE TRIGGER post_assign BEFORE INSERT OR UPDATE OF geom,
    village_id, grid_id, township_id, station_id ON post
    FOR EACH ROW EXECUTE FUNCTION assign_point_areas();
CREATE TRIGGER site_assign BEFORE INSERT OR UPDATE OF geom,
    village_id, grid_id, township_id, station_id ON site
    FOR EACH ROW EXECUTE FUNCTION assign_point_areas();

CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER incident_touch BEFORE UPDATE ON incident
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Provenance and users --------------------------------------------------------
CREATE TABLE import_batch (
    id             bigserial PRIMARY KEY,
    layer          text NOT NULL,
    filename       text NOT NULL,
    sha256         text,
    username       text,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    read_count     integer NOT NULL DEFAULT 0 CHECK (read_count >= 0),
    loaded_count   integer NOT NULL DEFAULT 0 CHECK (loaded_count >= 0),
    rejected_count integer NOT NULL DEFAULT 0 CHECK (rejected_count >= 0),
    status         text NOT NULL DEFAULT 'running'
                       CHECK (status IN ('running', 'loaded', 'rejected', 'failed')),
    report         jsonb
);

CREATE TABLE app_user (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.-]{2,64}$'),
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'planner', 'leader', 'station')),
    station_id    bigint REFERENCES area(id) ON DELETE RESTRICT,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- A station user is bound to exactly one police station; nobody else is.
    CONSTRAINT app_user_station CHECK ((role = 'station') = (station_id IS NOT NULL))
);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    username    text,
    action      text NOT NULL,
    object_kind text,
    object_code text,
    detail      jsonb
);
CREATE INDEX audit_log_at ON audit_log (at);
