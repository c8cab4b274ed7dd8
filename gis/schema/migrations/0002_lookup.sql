-- 0002: index-assisted nearest-post search in metres (geography KNN, exact on
-- the sphere) for jurisdiction lookups; officers looked up by area.
CREATE INDEX post_geog_gist ON post USING gist ((geom::geography));
CREATE INDEX officer_area_officer ON officer_area (officer_id);
