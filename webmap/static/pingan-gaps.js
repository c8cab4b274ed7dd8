/*
 * Pingan Grid: the 一村一警 coverage-gaps map (/map/gaps).
 *
 * Runs on a page of pingan-map.js (PinganMap: layers fetched by view) and adds:
 * - a side panel: role, thresholds and filters; the summary; downloads
 *   (XLSX, CSV, GeoJSON of the same run); a siting run (POST /api/site);
 *   the ranked list of findings, most residents first (a click zooms there);
 * - decorations of what the map draws (paMap.hooks): villages coloured by the
 *   worst gap of the chosen role, grids split between two police jurisdictions
 *   hatched, 警务室/工作站 ringed with the distance rule's radius;
 * - proposed sites and the villages they newly cover, once a siting run is made.
 *
 * The report is GET <gaps>?role=&max_post_m=&patrol_share= (gis/gaps.py), read
 * under the user's row policies like everything else: a station sees its own.
 * Every text from the server is set as text, never as HTML.
 */
(function () {
  'use strict';

  // Village colours, worst first: a village with several gaps shows the first.
  var STATUS = [
    {kind: 'uncovered', label: '无人负责', color: '#d7301f'},
    {kind: 'far_post', label: '距警务室/工作站过远', color: '#fc8d59'},
    {kind: 'overloaded', label: '负责人超负荷', color: '#fdd49e'},
    {kind: 'foreign_post', label: '负责人驻地在他所辖区', color: '#bcbddc'},
    {kind: 'patrol', label: '所在乡镇巡逻力量不足', color: '#fff7bc'}
  ];
  var OK = {label: '符合要求', color: '#41ab5d'};
  var SPLIT = {label: '跨派出所辖区（斜线）', color: '#6a3d9a'};
  var NEWLY = {label: '新选址新覆盖的村（蓝框）', color: '#08519c'};
  var FOCUS = {label: '清单中所点人员的负责范围（黑框）', color: '#000'};
  var RANKED_PAGE = 100;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function percent(x) { return (100 * x).toFixed(1) + '%'; }

  function number(x) { return Number(x).toLocaleString('zh-CN'); }

  // Diagonal lines as a canvas fill: the map draws on a canvas, where an SVG
  // pattern would not reach.
  function hatch(color) {
    var tile = document.createElement('canvas');
    tile.width = tile.height = 8;
    var ctx = tile.getContext('2d');
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(0, 8); ctx.lineTo(8, 0);
    ctx.moveTo(-2, 2); ctx.lineTo(2, -2);
    ctx.moveTo(6, 10); ctx.lineTo(10, 6);
    ctx.stroke();
    return document.createElement('canvas').getContext('2d').createPattern(tile, 'repeat');
  }

  function Gaps(paMap, config) {
    this.paMap = paMap;
    this.map = paMap.map;
    this.config = config;
    this.report = null;
    this.villages = {};   // village code -> Set of gap kinds
    this.split = {};      // grid or village code -> finding
    this.newly = {};      // village code -> proposed site code
    this.focus = {};      // codes outlined: the places of the finding clicked
    this.shapes = {};     // layer -> code -> Leaflet layer (as drawn now)
    this.siteLayer = L.layerGroup().addTo(this.map);
    this.pattern = hatch(SPLIT.color);
    this.shown = RANKED_PAGE;
    this.build();
    this.hook();
    // Grids on: the split ones are hatched (a county draws them from zoom 16).
    if (!this.map.hasLayer(paMap.groups.grids)) { this.map.addLayer(paMap.groups.grids); }
    this.load();
  }

  // -- the panel ---------------------------------------------------------------
  Gaps.prototype.build = function () {
    var self = this, cfg = this.config;
    var panel = el('aside', 'pa-gaps');
    panel.appendChild(el('h2', '', cfg.title));
    L.DomEvent.disableClickPropagation(panel);
    L.DomEvent.disableScrollPropagation(panel);

    var form = el('form', 'pa-gaps-form');
    form.addEventListener('submit', function (e) { e.preventDefault(); self.load(); });
    this.role = this.select(form, '角色', [['', '全部角色']].concat(
      cfg.roles.map(function (r) { return [r.code, r.label]; })), 'role');
    this.maxPost = this.input(form, '距警务室/工作站上限（米）', 'max_post_m',
                              cfg.thresholds.max_post_m, 100);
    this.patrol = this.input(form, '巡逻力量下限（占常住人口 %）', 'patrol_share',
                             cfg.thresholds.patrol_share * 100, 0.1);
    this.minSplit = this.input(form, '跨辖区面积下限（平方米）', 'min_split_m2',
                               cfg.thresholds.min_split_m2, 10);
    this.township = this.select(form, '乡镇/街道', [['', '全部']], 'township');
    this.station = this.select(form, '派出所', [['', '全部']], 'station');
    [this.township, this.station].forEach(function (s) {
      s.addEventListener('change', function () { self.showRanked(); });
    });
    var run = el('button', 'pa-button', '重新分析');
    run.type = 'submit';
    form.appendChild(run);
    panel.appendChild(form);

    panel.appendChild(el('h3', '', '图例'));
    var legend = el('div', 'pa-gaps-legend');
    STATUS.concat([OK]).forEach(function (s) {
      var row = el('div');
      var key = el('span', 'pa-swatch');
      key.style.background = s.color;
      row.appendChild(key);
      row.appendChild(document.createTextNode(s.label));
      legend.appendChild(row);
    });
    [[SPLIT, 'pa-swatch pa-swatch-hatch'], [NEWLY, 'pa-swatch pa-swatch-ring'],
     [FOCUS, 'pa-swatch pa-swatch-ring']]
      .forEach(function (pair) {
        var row = el('div'), key = el('span', pair[1]);
        key.style.borderColor = pair[0].color;
        row.appendChild(key);
        row.appendChild(document.createTextNode(pair[0].label));
        legend.appendChild(row);
      });
    legend.appendChild(el('div', 'pa-muted', '警务室/工作站外圈：距离上限'));
    panel.appendChild(legend);

    panel.appendChild(el('h3', '', '汇总'));
    this.summaryBox = el('div', 'pa-gaps-summary', '正在分析…');
    panel.appendChild(this.summaryBox);

    this.downloads = el('div', 'pa-gaps-downloads');
    panel.appendChild(this.downloads);

    if (cfg.can_site) { this.buildSiting(panel); }

    panel.appendChild(el('h3', '', '缺口清单（受影响居民多者在前）'));
    this.rankedBox = el('ol', 'pa-gaps-ranked');
    panel.appendChild(this.rankedBox);
    this.moreButton = el('button', 'pa-button pa-more', '显示更多');
    this.moreButton.type = 'button';
    this.moreButton.addEventListener('click', function () {
      self.shown += RANKED_PAGE;
      self.showRanked();
    });
    panel.appendChild(this.moreButton);
    document.body.appendChild(panel);
    this.map.getContainer().classList.add('pa-with-panel');
    this.map.invalidateSize();
  };

  Gaps.prototype.select = function (form, label, options, name) {
    var wrap = el('label', 'pa-field');
    wrap.appendChild(el('span', '', label));
    var select = el('select');
    select.name = name;
    options.forEach(function (o) {
      var option = el('option', '', o[1]);
      option.value = o[0];
      select.appendChild(option);
    });
    wrap.appendChild(select);
    form.appendChild(wrap);
    return select;
  };

  Gaps.prototype.input = function (form, label, name, value, step) {
    var wrap = el('label', 'pa-field');
    wrap.appendChild(el('span', '', label));
    var input = el('input');
    input.type = 'number';
    input.name = name;
    input.min = '0';
    input.step = 'any';
    input.dataset.step = String(step);
    input.value = String(value);
    wrap.appendChild(input);
    form.appendChild(wrap);
    return input;
  };

  Gaps.prototype.query = function () {
    var q = [];
    if (this.role.value) { q.push('role=' + encodeURIComponent(this.role.value)); }
    q.push('max_post_m=' + encodeURIComponent(this.maxPost.value));
    q.push('patrol_share=' + encodeURIComponent(Number(this.patrol.value) / 100));
    q.push('min_split_m2=' + encodeURIComponent(this.minSplit.value));
    return q.join('&');
  };

  // -- the report --------------------------------------------------------------
  Gaps.prototype.load = function () {
    var self = this, query = this.query();
    this.summaryBox.textContent = '正在分析…';
    var started = performance.now();
    fetch(this.config.urls.gaps + '?' + query,
          {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error(body.message || ('HTTP ' + r.status)); }
          return body;
        });
      })
      .then(function (report) {
        self.report = report;
        self.took = performance.now() - started;
        self.index(report);
        self.showSummary();
        self.showDownloads(query);
        self.showFilters();
        self.shown = RANKED_PAGE;
        self.showRanked();
        self.restyle();
        performance.mark('pa-gaps-drawn');
      })
      .catch(function (error) {
        self.summaryBox.textContent = '分析失败：' + error.message;
      });
  };

  Gaps.prototype.index = function (report) {
    var villages = {}, split = {};
    var add = function (code, kind) {
      (villages[code] = villages[code] || {})[kind] = true;
    };
    Object.keys(report.findings).forEach(function (kind) {
      report.findings[kind].forEach(function (f) {
        if (kind === 'split') { split[f.code] = f; return; }
        if (f.area_kind === 'village') { add(f.code, kind); }
        (f.places || []).forEach(function (code) { add(code, kind); });
      });
    });
    // A township short of patrols: each of its villages.
    this.patrolTownships = {};
    (report.findings.patrol || []).forEach(function (f) {
      this.patrolTownships[f.code] = true;
    }, this);
    this.villages = villages;
    this.split = split;
  };

  Gaps.prototype.statusOf = function (code, township) {
    var kinds = this.villages[code] || {};
    if (township && this.patrolTownships[township]) { kinds.patrol = true; }
    for (var i = 0; i < STATUS.length; i++) {
      if (kinds[STATUS[i].kind]) { return STATUS[i]; }
    }
    return OK;
  };

  Gaps.prototype.showSummary = function () {
    var box = this.summaryBox, district = this.report.summary.district;
    box.textContent = '';
    box.appendChild(el('div', '', '村（社区）' + number(district.villages) + ' 个，常住人口 ' +
                       number(district.residents) + ' 人；数据日期 ' +
                       this.report.data_date + '（' + (this.took / 1000).toFixed(1) +
                       ' 秒）'));
    var table = el('table', 'pa-gaps-rules');
    var head = el('tr');
    ['规则', '达标村社', '达标居民', '缺口'].forEach(function (h) {
      head.appendChild(el('th', '', h));
    });
    table.appendChild(head);
    var kinds = this.report.findings;
    Object.keys(district.rules).forEach(function (kind) {
      var rule = district.rules[kind], row = el('tr');
      var label = (STATUS.filter(function (s) { return s.kind === kind; })[0] ||
                   {label: kind === 'split' ? '网格+警格一致' : kind}).label;
      row.appendChild(el('td', '', label));
      row.appendChild(el('td', '', percent(rule.village_share)));
      row.appendChild(el('td', '', percent(rule.resident_share)));
      row.appendChild(el('td', '', String((kinds[kind] || []).length)));
      table.appendChild(row);
    });
    box.appendChild(table);
    box.appendChild(el('div', 'pa-muted', '距离：' + this.report.distance_method));
  };

  Gaps.prototype.showDownloads = function (query) {
    var box = this.downloads, urls = this.config.urls;
    box.textContent = '';
    [['xlsx', '下载 Excel（上报用）'], ['csv', 'CSV'], ['geojson', 'GeoJSON']]
      .forEach(function (pair) {
        var a = el('a', 'pa-button', pair[1]);
        a.href = urls[pair[0]] + '?' + query;
        a.setAttribute('download', '');
        box.appendChild(a);
      });
  };

  Gaps.prototype.showFilters = function () {
    var summary = this.report.summary;
    var fill = function (select, items) {
      var keep = select.value;
      while (select.options.length > 1) { select.remove(1); }
      items.forEach(function (item) {
        var option = el('option', '', item.name);
        option.value = item.code;
        select.appendChild(option);
      });
      select.value = keep;
    };
    fill(this.township, summary.townships || []);
    fill(this.station, summary.stations || []);
  };

  Gaps.prototype.showRanked = function () {
    var self = this, box = this.rankedBox;
    var township = this.township.value, station = this.station.value;
    var rows = this.report.ranked.filter(function (f) {
      return (!township || (f.township && f.township.code === township)) &&
             (!station || (f.station && f.station.code === station));
    });
    box.textContent = '';
    rows.slice(0, this.shown).forEach(function (f) {
      var li = el('li', 'pa-finding pa-finding-' + f.kind);
      var head = el('div', 'pa-finding-head');
      head.appendChild(el('span', 'pa-badge', self.kindLabel(f.kind)));
      head.appendChild(el('strong', '', f.name));
      head.appendChild(el('span', 'pa-residents', number(f.residents) + ' 人'));
      li.appendChild(head);
      var where = [f.township && f.township.name, f.station && f.station.name]
        .filter(Boolean).join(' · ');
      if (where) { li.appendChild(el('div', 'pa-muted', where)); }
      li.appendChild(el('div', '', f.reason));
      li.addEventListener('click', function () { self.zoomTo(f); });
      box.appendChild(li);
    });
    if (!rows.length) { box.appendChild(el('li', 'pa-muted', '没有缺口')); }
    this.moreButton.style.display = rows.length > this.shown ? '' : 'none';
  };

  Gaps.prototype.kindLabel = function (kind) {
    var labels = {uncovered: '无人负责', overloaded: '超负荷', foreign_post: '驻地他所',
                  far_post: '距离过远', split: '跨辖区', patrol: '巡逻不足'};
    return labels[kind] || kind;
  };

  // Zoom to a finding's place: a village, grid or township by its outline's
  // box (the popup endpoint gives it, under the row policies); a person to
  // every place they answer for, outlined (their area, on a click).
  Gaps.prototype.zoomTo = function (f) {
    var layer = {village: 'villages', grid: 'grids', township: 'townships'}[f.area_kind];
    var codes = [f.code];
    if (!layer && f.places && f.places.length) { layer = 'villages'; codes = f.places; }
    if (!layer) { return; }
    var self = this, map = this.map, api = this.config.urls.layers;
    this.focus = {};
    codes.forEach(function (code) { self.focus[code] = true; });
    Promise.all(codes.map(function (code) {
      return fetch(api + '/' + layer + '/features/' + encodeURIComponent(code),
                   {credentials: 'same-origin'})
        .then(function (r) { return r.ok ? r.json() : {}; });
    })).then(function (details) {
      var box = null;
      details.forEach(function (d) {
        if (!d.bbox) { return; }
        var b = L.latLngBounds([d.bbox[1], d.bbox[0]], [d.bbox[3], d.bbox[2]]);
        box = box ? box.extend(b) : b;
      });
      if (box) { map.fitBounds(box, {maxZoom: 16, animate: false}); }
      self.restyle();
    });
  };

  // -- decorations of what the map draws ---------------------------------------
  Gaps.prototype.hook = function () {
    var self = this;
    this.paMap.hooks.villages = function (feature, shape) {
      (self.shapes.villages = self.shapes.villages || {})[feature.id] = shape;
      self.styleVillage(feature.id, shape);
    };
    this.paMap.hooks.grids = function (feature, shape) {
      (self.shapes.grids = self.shapes.grids || {})[feature.id] = shape;
      self.styleGrid(feature.id, shape);
    };
    this.paMap.hooks.posts = function (feature, point, group) {
      if (feature.properties.k !== 'police_room' &&
          feature.properties.k !== 'workstation') { return; }
      var radius = Number(self.maxPost.value) || self.config.thresholds.max_post_m;
      L.circle(point.getLatLng(), {radius: radius, color: '#fc4e2a', weight: 0.8,
                                   opacity: 0.45, dashArray: '3 5', fill: false,
                                   interactive: false})
        .addTo(group);
    };
  };

  Gaps.prototype.styleVillage = function (code, shape) {
    if (!this.report) { return; }
    var status = this.statusOf(code, null);
    var style = {fillColor: status.color, fillOpacity: 0.55, color: '#555', weight: 1,
                 dashArray: null};
    if (this.split[code]) { style.color = SPLIT.color; style.weight = 2; style.dashArray = '5 3'; }
    if (this.newly[code]) { style.color = NEWLY.color; style.weight = 3; style.dashArray = null; }
    if (this.focus[code]) { style.color = FOCUS.color; style.weight = 3.5; style.dashArray = null; }
    shape.setStyle(style);
    shape.paStyle = style;
  };

  Gaps.prototype.styleGrid = function (code, shape) {
    if (!this.report) { return; }
    var style;
    if (this.split[code]) {
      style = {fillColor: this.pattern, fillOpacity: 1, color: SPLIT.color, weight: 1.5};
    } else {  // as the layer draws it (a rerun may have cleared a split)
      var grids = this.paMap.config.layers.filter(function (l) {
        return l.name === 'grids';
      })[0];
      style = {fillColor: grids.color, fillOpacity: grids.fillOpacity,
               color: grids.color, weight: grids.weight};
    }
    shape.setStyle(style);
    shape.paStyle = style;
  };

  Gaps.prototype.restyle = function () {
    var self = this;
    Object.keys(this.shapes.villages || {}).forEach(function (code) {
      self.styleVillage(code, self.shapes.villages[code]);
    });
    Object.keys(this.shapes.grids || {}).forEach(function (code) {
      self.styleGrid(code, self.shapes.grids[code]);
    });
    // Drawn shapes are replaced whenever the map moves: forget the old ones.
    this.paMap.map.once('movestart', function () { self.shapes = {}; });
    this.paMap.schedule();  // the posts' rings take the new radius
  };

  // -- siting ------------------------------------------------------------------
  Gaps.prototype.buildSiting = function (panel) {
    var self = this;
    panel.appendChild(el('h3', '', '新建警务工作站选址'));
    var form = el('form', 'pa-gaps-form');
    this.siteNew = this.input(form, '新建数量', 'new', 10, 1);
    this.siteRadius = this.input(form, '服务半径（米）', 'radius_m',
                                 this.config.thresholds.max_post_m, 100);
    this.siteModel = this.select(form, '模型', [['mclp', '最大覆盖（给定数量）'],
                                              ['lscp', '最少站点（覆盖全部村）']], 'model');
    this.siteCandidates = this.select(form, '候选点', [['sites', '重点场所'],
                                                    ['grids', '网格中心'],
                                                    ['lattice', '规则格网']], 'candidates');
    var run = el('button', 'pa-button', '计算选址');
    run.type = 'submit';
    form.appendChild(run);
    form.addEventListener('submit', function (e) { e.preventDefault(); self.site(); });
    panel.appendChild(form);
    this.siteBox = el('div', 'pa-gaps-site');
    panel.appendChild(this.siteBox);
  };

  Gaps.prototype.site = function () {
    var self = this, box = this.siteBox;
    box.textContent = '正在求解…';
    var body = {
      model: this.siteModel.value,
      candidates: this.siteCandidates.value,
      radius_m: Number(this.siteRadius.value)
    };
    if (this.siteModel.value === 'mclp') { body['new'] = Number(this.siteNew.value); }
    fetch(this.config.urls.site, {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json',
                'X-CSRF-Token': this.config.csrf},
      body: JSON.stringify(body)
    })
      .then(function (r) {
        return r.json().then(function (answer) {
          if (!r.ok) { throw new Error(answer.message || ('HTTP ' + r.status)); }
          return answer;
        });
      })
      .then(function (answer) { self.showSites(answer); })
      .catch(function (error) { box.textContent = '选址失败：' + error.message; });
  };

  Gaps.prototype.showSites = function (answer) {
    var self = this, box = this.siteBox, group = this.siteLayer;
    box.textContent = '';
    group.clearLayers();
    this.newly = {};
    var b = answer.before, a = answer.after;
    box.appendChild(el('div', '', answer.model_label + '：新建 ' + answer.sites.length +
                       ' 处，覆盖居民 ' + percent(b.resident_share) + ' → ' +
                       percent(a.resident_share) + '（+' + number(a.residents - b.residents) +
                       ' 人），村社 ' + number(b.villages) + ' → ' + number(a.villages)));
    var solver = answer.solver || {};
    box.appendChild(el('div', solver.optimal ? 'pa-muted' : 'pa-warning',
                       '求解器 ' + solver.name + '：' + solver.status +
                       (solver.optimal ? '（已证明最优）' : '（未证明最优，间隙 ' +
                        percent(solver.mip_gap || 0) + '）') + '；建模 ' +
                       Number(answer.build_seconds).toFixed(2) + ' 秒，求解 ' +
                       Number(answer.solve_seconds).toFixed(2) + ' 秒'));
    (answer.notes || []).forEach(function (note) {
      box.appendChild(el('div', 'pa-muted', note));
    });
    var list = el('ol', 'pa-gaps-sites');
    answer.sites.forEach(function (s) {
      var li = el('li', '', (s.name || s.code) + '：新覆盖 ' + s.newly_covered.length +
                  ' 个村，' + number(s.residents_newly_covered) + ' 人');
      li.addEventListener('click', function () {
        self.map.setView([s.lat, s.lon], 14, {animate: false});
      });
      list.appendChild(li);
      s.newly_covered.forEach(function (v) { self.newly[v.code] = s.code; });
      L.circle([s.lat, s.lon], {radius: answer.radius_m, color: NEWLY.color, weight: 2,
                                fillOpacity: 0.05, interactive: false}).addTo(group);
      var marker = L.circleMarker([s.lat, s.lon], {radius: 8, color: '#fff', weight: 2,
                                                   fillColor: NEWLY.color, fillOpacity: 1});
      marker.bindTooltip(el('span', '', '拟建：' + (s.name || s.code)));
      marker.addTo(group);
    });
    box.appendChild(list);
    this.restyle();
    performance.mark('pa-site-drawn');
  };

  window.PinganGaps = {
    start: function (paMap, config) {
      var gaps = new Gaps(paMap, config);
      window.paGaps = gaps;
      return gaps;
    }
  };
})();
