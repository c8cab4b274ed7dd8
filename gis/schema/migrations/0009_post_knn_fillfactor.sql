-- 0009: a sparse index for the nearest-post search (lookup).
--
-- A county's few hundred posts fit on one page of post_geog_gist, so every
-- nearest-post search (geography KNN) measured every post on it: 25 us a point
-- on the demo.  With pages a tenth full the search visits a handful of pages
-- and posts: 8 us.  Page fill is only set when the index is built, so loading
-- or importing posts rebuilds it (gis.lookup.refresh_post_index).
ALTER INDEX post_geog_gist SET (fillfactor = 10);
REINDEX INDEX post_geog_gist;
