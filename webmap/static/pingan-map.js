/*
 * Pingan Grid map pages: fetch each visible layer for the view, draw it, and
 * fetch a feature's popup when it is clicked.
 *
 * The page (a Folium shell, gis/maps.py) makes one empty feature group per
 * layer, so Leaflet's layer control switches them, and calls
 * PinganMap.start(map, config, groups).  Whenever the map stops moving, every
 * layer that is switched on is asked for the view (padded by a quarter of it on
 * each side) at GET <api>/<layer>?bbox=w,s,e,n&zoom=z and redrawn; an answer
 * that arrives after a newer request was made is dropped.  Answers are GeoJSON
 * in WGS84: polygons, points one by one (property "k": what they are coloured
 * by), clusters (property "count") or heat squares.  With a GCJ-02 base map
 * ("gcj": true) every coordinate is shifted onto it here, and the view's
 * bounds are shifted back before they are sent.
 *
 * Nothing from the server is ever parsed as HTML: names, popups and counts are
 * set as text.
 *
 * Another script may decorate what is drawn: paMap.hooks[<layer>] is called
 * with (feature, Leaflet layer, group) for each polygon or single point drawn
 * (a shape's own style to return to after a hover goes in shape.paStyle).
 * It may add query parameters to a layer's requests (paMap.query[<layer>],
 * e.g. "month=2025-05&measure=rate": the heat map's filters), and learn of each
 * answer drawn (paMap.answered[<layer>] is called with it).
 *
 * Heat and hot spot layers are squares (polygons) with counts or classes, never
 * single incidents: "heat" is coloured by five quantile classes of its
 * measure (paMap.breaks.heat holds them, for a legend), "hotspot" by its
 * class ("level": -3..3, or an emerging "category").
 *
 * Timing marks (performance.getEntriesByType('mark')): "pa-fetch-<n>" when
 * round n starts, "pa-drawn-<n>" when all its layers are drawn, and
 * "pa-first-draw" once.  window.paMap is the running instance (round, drawn).
 */
(function () {
  'use strict';

  var PAD = 0.25;          // fetch this share of the view beyond each edge
  var WAIT_MS = 80;        // let a burst of move events settle first

  // --- GCJ-02: the same published formula as gis/crs.py --------------------
  var GCJ_A = 6378245.0, GCJ_EE = 0.00669342162296594323;
  var CHINA = [72.004, 0.8293, 137.8347, 55.8271];

  function gcjOffset(lon, lat) {
    var x = lon - 105.0, y = lat - 35.0, pi = Math.PI;
    var wobble = (20 * Math.sin(6 * x * pi) + 20 * Math.sin(2 * x * pi)) * 2 / 3;
    var north = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y +
      0.2 * Math.sqrt(Math.abs(x)) + wobble +
      (20 * Math.sin(y * pi) + 40 * Math.sin(y / 3 * pi)) * 2 / 3 +
      (160 * Math.sin(y / 12 * pi) + 320 * Math.sin(y / 30 * pi)) * 2 / 3;
    var east = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y +
      0.1 * Math.sqrt(Math.abs(x)) + wobble +
      (20 * Math.sin(x * pi) + 40 * Math.sin(x / 3 * pi)) * 2 / 3 +
      (150 * Math.sin(x / 12 * pi) + 300 * Math.sin(x / 30 * pi)) * 2 / 3;
    return [east, north];
  }

  function toGcj(lon, lat) {
    if (lon < CHINA[0] || lon > CHINA[2] || lat < CHINA[1] || lat > CHINA[3]) {
      return [lon, lat];
    }
    var d = gcjOffset(lon, lat), rad = lat * Math.PI / 180;
    var magic = 1 - GCJ_EE * Math.sin(rad) * Math.sin(rad), sq = Math.sqrt(magic);
    var mLat = (GCJ_A * (1 - GCJ_EE)) / (magic * sq) * Math.PI / 180;
    var mLon = GCJ_A / sq * Math.cos(rad) * Math.PI / 180;
    return [lon + d[0] / mLon, lat + d[1] / mLat];
  }

  function fromGcj(lon, lat) {  // a few fixed-point steps: far below a pixel
    var x = lon, y = lat;
    for (var i = 0; i < 3; i++) {
      var g = toGcj(x, y);
      x += lon - g[0];
      y += lat - g[1];
    }
    return [x, y];
  }

  function shift(coords) {
    if (typeof coords[0] === 'number') { return toGcj(coords[0], coords[1]); }
    return coords.map(shift);
  }

  // --- small DOM helpers: text only ----------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function popupContent(detail) {
    var box = el('div', 'pa-popup-box');
    box.appendChild(el('div', 'pa-popup-title', detail.title));
    var table = el('table', 'pa-popup');
    detail.rows.forEach(function (row) {
      var tr = el('tr');
      tr.appendChild(el('th', '', row[0]));
      tr.appendChild(el('td', '', row[1]));
      table.appendChild(tr);
    });
    box.appendChild(table);
    return box;
  }

  function PinganMap(map, config, groups) {
    this.map = map;
    this.config = config;
    this.groups = groups;
    this.round = 0;
    this.drawn = 0;
    this.pending = {};     // layer name -> AbortController
    this.hooks = {};       // layer name -> function (feature, shape, group)
    this.query = {};       // layer name -> extra query string
    this.answered = {};    // layer name -> function (answer)
    this.breaks = {};      // layer name -> class breaks drawn
    this.notes = {};       // layer name -> status text
    this.timer = null;
    this.status = L.control({position: 'bottomleft'});
    var self = this;
    this.status.onAdd = function () {
      self.statusBox = el('div', 'pa-status');
      return self.statusBox;
    };
    this.status.addTo(map);
    map.on('moveend', function () { self.schedule(); });
    map.on('overlayadd', function () { self.schedule(); });
    map.on('overlayremove', function (e) {
      self.config.layers.forEach(function (layer) {
        if (self.groups[layer.name] === e.layer) { delete self.notes[layer.name]; }
      });
      self.showNotes();
    });
  }

  PinganMap.prototype.schedule = function () {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.refresh(); }, WAIT_MS);
  };

  PinganMap.prototype.bbox = function () {
    var b = this.map.getBounds().pad(PAD);
    var sw = [b.getWest(), b.getSouth()], ne = [b.getEast(), b.getNorth()];
    if (this.config.gcj) { sw = fromGcj(sw[0], sw[1]); ne = fromGcj(ne[0], ne[1]); }
    var clamp = function (v, lo, hi) { return Math.min(hi, Math.max(lo, v)); };
    return [clamp(sw[0], -180, 179.9999), clamp(sw[1], -90, 89.9999),
            clamp(ne[0], -179.9999, 180), clamp(ne[1], -89.9999, 90)]
      .map(function (v) { return v.toFixed(6); }).join(',');
  };

  PinganMap.prototype.refresh = function () {
    var self = this, round = ++this.round;
    var zoom = Math.floor(this.map.getZoom()), bbox = this.bbox();
    performance.mark('pa-fetch-' + round);
    var jobs = this.config.layers.filter(function (layer) {
      return self.map.hasLayer(self.groups[layer.name]);
    }).map(function (layer) { return self.load(layer, bbox, zoom, round); });
    this.showNotes(true);
    Promise.all(jobs).then(function () {
      if (round !== self.round) { return; }  // a newer round owns the map
      self.drawn = round;
      performance.mark('pa-drawn-' + round);
      if (!performance.getEntriesByName('pa-first-draw').length) {
        performance.mark('pa-first-draw');
      }
      self.showNotes(false);
    });
  };

  PinganMap.prototype.load = function (layer, bbox, zoom, round) {
    var self = this;
    if (this.pending[layer.name]) { this.pending[layer.name].abort(); }
    var control = new AbortController();
    this.pending[layer.name] = control;
    var url = this.config.api + '/' + encodeURIComponent(layer.name) +
      '?bbox=' + bbox + '&zoom=' + zoom +
      (this.config.station ? '&station=' + encodeURIComponent(this.config.station) : '') +
      (this.query[layer.name] ? '&' + this.query[layer.name] : '');
    return fetch(url, {credentials: 'same-origin', signal: control.signal,
                       headers: {'Accept': 'application/json'}})
      .then(function (response) {
        if (response.status === 401) {
          self.notes._session = '登录已过期，请刷新页面重新登录';
          throw new Error('401');
        }
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.json();
      })
      .then(function (answer) {
        if (round !== self.round) { return; }
        self.draw(layer, answer);
      })
      .catch(function (error) {
        if (error.name === 'AbortError') { return; }
        if (round === self.round) {
          self.notes[layer.name] = layer.title + '：加载失败（' + error.message + '）';
        }
      });
  };

  PinganMap.prototype.draw = function (layer, answer) {
    var group = this.groups[layer.name];
    group.clearLayers();
    delete this.notes[layer.name];
    if (answer.mode === 'zoom_in') {
      this.notes[layer.name] = layer.title + '：本视图内要素过多（' +
        (answer.more ? '超过 ' : '') + answer.total + ' 个），请放大查看';
      return;
    }
    if (this.config.gcj) {
      answer.features.forEach(function (f) {
        f.geometry.coordinates = shift(f.geometry.coordinates);
      });
    }
    if (answer.truncated) {
      this.notes[layer.name] = layer.title + '：只显示了部分，请放大查看';
    }
    var draw = {area: this.drawAreas, point: this.drawPoints, heat: this.drawHeat,
                hotspot: this.drawHotspots};
    draw[layer.kind].call(this, layer, answer, group);
    if (this.answered[layer.name]) { this.answered[layer.name](answer); }
  };

  PinganMap.prototype.drawAreas = function (layer, answer, group) {
    var self = this;
    var style = {color: layer.color, weight: layer.weight, fillColor: layer.color,
                 fillOpacity: layer.fillOpacity};
    L.geoJSON(answer, {
      style: function () { return style; },
      onEachFeature: function (feature, shape) {
        shape.bindTooltip(el('span', '', feature.properties.name), {sticky: true});
        var hook = self.hooks[layer.name];
        shape.on('click', function (e) { self.popup(layer, feature.id, e.latlng); });
        shape.on('mouseover', function () {
          shape.setStyle({weight: layer.weight + 2, fillOpacity: 0.25});
        });
        shape.on('mouseout', function () { shape.setStyle(shape.paStyle || style); });
        if (hook) { hook(feature, shape, group); }
      }
    }).addTo(group);
  };

  PinganMap.prototype.drawPoints = function (layer, answer, group) {
    var self = this, map = this.map;
    answer.features.forEach(function (f) {
      var c = f.geometry.coordinates, at = L.latLng(c[1], c[0]);
      if (answer.mode === 'clusters') {
        var n = Number(f.properties.count), size = 26 + 6 * Math.log10(Math.max(n, 1));
        var label = n >= 10000 ? (n / 10000).toFixed(1) + '万' : String(n);
        var icon = L.divIcon({className: 'pa-cluster pa-shape-' + layer.cluster.shape,
                              html: el('span', '', label), iconSize: [size, size]});
        var marker = L.marker(at, {icon: icon, keyboard: false,
                                   title: layer.title + ' ' + n});
        marker.on('add', function () {
          marker.getElement().style.background = layer.cluster.color;
        });
        marker.on('click', function () { map.setView(at, Math.floor(map.getZoom()) + 2); });
        marker.addTo(group);
        return;
      }
      var point = L.circleMarker(at, {
        radius: layer.radius, color: '#333', weight: 1, fillOpacity: 0.9,
        fillColor: layer.colors[f.properties.k] || layer.color
      });
      point.on('click', function () { self.popup(layer, f.id, at); });
      point.addTo(group);
      if (self.hooks[layer.name]) { self.hooks[layer.name](f, point, group); }
    });
  };

  // Five classes, light to dark; squares under the small-count threshold grey.
  var HEAT_COLORS = ['#fef0d9', '#fdcc8a', '#fc8d59', '#e34a33', '#b30000'];
  var SMALL_COLOR = '#bdbdbd';

  function quantileBreaks(values) {
    var sorted = values.slice().sort(function (a, b) { return a - b; });
    var out = [];
    if (!sorted.length) { return out; }
    for (var k = 1; k < HEAT_COLORS.length; k++) {
      var v = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * k / 5))];
      if (!out.length || v > out[out.length - 1]) { out.push(v); }
    }
    return out;
  }

  PinganMap.prototype.drawHeat = function (layer, answer, group) {
    var rate = answer.measure === 'rate';
    var values = [];
    answer.features.forEach(function (f) {
      var v = rate ? f.properties.rate : f.properties.n;
      if (v !== null && v !== undefined) { values.push(v); }
    });
    var breaks = quantileBreaks(values);
    this.breaks[layer.name] = {breaks: breaks, colors: HEAT_COLORS, measure: answer.measure,
                               small: answer.small, size: answer.size,
                               least: values.length ? Math.min.apply(null, values) : 0};
    L.geoJSON(answer, {
      style: function (f) {
        var v = rate ? f.properties.rate : f.properties.n, color = SMALL_COLOR;
        if (v !== null && v !== undefined) {
          var k = 0;
          while (k < breaks.length && v >= breaks[k]) { k++; }
          color = HEAT_COLORS[Math.min(k, HEAT_COLORS.length - 1)];
        } else if (!f.properties.small) {
          return {stroke: false, fillOpacity: 0};  // counted, but no rate here
        }
        return {stroke: false, fillColor: color, fillOpacity: 0.7};
      },
      onEachFeature: function (f, shape) {
        var p = f.properties;
        var text = p.small ? '少于 ' + answer.small + ' 件' :
          p.n + ' 件' + (p.rate !== null ? '，每千人 ' + p.rate : '');
        shape.bindTooltip(el('span', '', text), {sticky: true});
      }
    }).addTo(group);
  };

  var HOTSPOT_COLORS = {'3': '#b2182b', '2': '#ef8a62', '1': '#fddbc7',
                        '-1': '#d1e5f0', '-2': '#67a9cf', '-3': '#2166ac'};
  var EMERGING_COLORS = {new: '#fb9a99', consecutive: '#fdbf6f', intensifying: '#e31a1c',
                         persistent: '#b15928', diminishing: '#ff7f00', sporadic: '#cab2d6',
                         oscillating: '#6a3d9a', historical: '#999999'};

  PinganMap.prototype.drawHotspots = function (layer, answer, group) {
    L.geoJSON(answer, {
      style: function (f) {
        var p = f.properties, color;
        if (p.category !== undefined) {
          color = EMERGING_COLORS[p.category.replace('_cold', '')] || '#999';
          return {color: p.category.indexOf('_cold') >= 0 ? '#2166ac' : '#600',
                  weight: 1, fillColor: color, fillOpacity: 0.75};
        }
        color = HOTSPOT_COLORS[String(p.level)];
        return {color: '#555', weight: 0.5, fillColor: color, fillOpacity: 0.75};
      },
      onEachFeature: function (f, shape) {
        var p = f.properties;
        var text = p.label + (p.z !== undefined ? '（z = ' + p.z + '，q = ' + p.q + '）' :
                                                  '（趋势 z = ' + p.trend_z + '）');
        shape.bindTooltip(el('span', '', text), {sticky: true});
      }
    }).addTo(group);
  };

  PinganMap.prototype.popup = function (layer, code, at) {
    var popup = L.popup().setLatLng(at).setContent(el('div', '', '正在加载…'))
      .openOn(this.map);
    var url = this.config.api + '/' + encodeURIComponent(layer.name) +
      '/features/' + encodeURIComponent(code);
    fetch(url, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
      .then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.json();
      })
      .then(function (detail) { popup.setContent(popupContent(detail)); })
      .catch(function (error) {
        popup.setContent(el('div', '', '详情加载失败（' + error.message + '）'));
      });
  };

  PinganMap.prototype.showNotes = function (loading) {
    if (!this.statusBox) { return; }
    var box = this.statusBox, notes = this.notes;
    box.textContent = '';
    if (loading) { box.appendChild(el('div', 'pa-loading', '正在加载图层…')); }
    Object.keys(notes).forEach(function (name) {
      box.appendChild(el('div', '', notes[name]));
    });
    box.style.display = box.childNodes.length ? '' : 'none';
  };

  window.PinganMap = {
    start: function (map, config, groups) {
      if (config.fit) { map.fitBounds(config.fit, {animate: false}); }
      var instance = new PinganMap(map, config, groups);
      window.paMap = instance;
      instance.refresh();
      return instance;
    },
    toGcj: toGcj,
    fromGcj: fromGcj,
    heatColors: HEAT_COLORS,
    smallColor: SMALL_COLOR,
    hotspotColors: HOTSPOT_COLORS,
    emergingColors: EMERGING_COLORS
  };
})();
