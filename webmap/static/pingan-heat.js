/*
 * The heat map's panel (gis/maps.py HeatPanel): filters, a month slider with
 * play, counts or rates per 1,000 residents, hot spots, and the legend of
 * what is drawn.  It sets the heat and hot spot layers' query parameters
 * (paMap.query) and asks the map to fetch again; the layers themselves are
 * drawn by pingan-map.js.  Everything is set as text, never parsed as HTML.
 *
 * window.paHeat: the running panel (month index, playing, last answers), for
 * tests.
 */
(function () {
  'use strict';

  var PLAY_MS = 1200;  // one month per step while playing

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function select(name, label, options) {
    var wrap = el('label', 'pa-heat-field', label);
    var box = el('select');
    box.name = name;
    options.forEach(function (o) {
      var opt = el('option', '', o[1]);
      opt.value = o[0];
      box.appendChild(opt);
    });
    wrap.appendChild(box);
    return {wrap: wrap, box: box};
  }

  function entries(obj) {
    return Object.keys(obj).map(function (k) { return [k, obj[k]]; });
  }

  function Panel(map, config) {
    this.map = map;
    this.config = config;
    this.months = config.months;
    this.index = this.months.length - 1;
    this.whole = true;   // the whole period, not one month
    this.playing = null;
    this.build();
    var self = this;
    map.answered.heat = function (answer) { self.heatAnswer = answer; self.legend(); };
    map.answered.hotspots = function (answer) {
      self.hotspotAnswer = answer;
      self.legend();
    };
    this.apply();
  }

  Panel.prototype.build = function () {
    var c = this.config, self = this;
    var box = el('div', 'pa-heat-panel');
    box.appendChild(el('div', 'pa-heat-title', '矛盾纠纷热力图'));
    this.category = select('category', '类别', [['', '全部事件'], ['dispute', '全部矛盾纠纷']]
      .concat(entries(c.categories)));
    this.status = select('status', '状态', [['', '全部'], ['open', '未办结'], ['done', '已办结']]);
    this.risk = select('risk', '风险', [['', '全部']].concat(entries(c.risks)));
    this.township = select('township', '乡镇（街道）', [['', '全区']].concat(
      c.townships.map(function (t) { return [t.code, t.name]; })));
    this.measure = select('measure', '显示', [['count', '事件数'], ['rate', '每千名常住人口事件数']]);
    this.hot = select('hot', '热点', [['', '不显示'], ['gi', '热点/冷点（Gi*）'],
                                       ['emerging', '新兴热点（按月趋势）']]);
    [this.category, this.status, this.risk, this.township, this.measure, this.hot]
      .forEach(function (s) {
        box.appendChild(s.wrap);
        s.box.addEventListener('change', function () { self.apply(); });
      });
    box.appendChild(this.buildTime());
    this.legendBox = el('div', 'pa-heat-legend');
    box.appendChild(this.legendBox);
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    var control = L.control({position: 'topright'});
    control.onAdd = function () { return box; };
    control.addTo(this.map.map);
    this.box = box;
  };

  Panel.prototype.buildTime = function () {
    var self = this, wrap = el('div', 'pa-heat-time');
    var whole = el('label', 'pa-heat-whole');
    this.wholeBox = el('input');
    this.wholeBox.type = 'checkbox';
    this.wholeBox.checked = true;
    whole.appendChild(this.wholeBox);
    whole.appendChild(document.createTextNode(' 全部时段'));
    this.slider = el('input', 'pa-heat-slider');
    this.slider.type = 'range';
    this.slider.min = 0;
    this.slider.max = Math.max(0, this.months.length - 1);
    this.slider.value = this.index;
    this.slider.setAttribute('aria-label', '月份');
    this.monthLabel = el('span', 'pa-heat-month', '');
    this.play = el('button', 'pa-heat-play', '▶ 播放');
    this.play.type = 'button';
    this.wholeBox.addEventListener('change', function () {
      self.whole = self.wholeBox.checked;
      self.apply();
    });
    this.slider.addEventListener('input', function () {
      self.index = Number(self.slider.value);
      self.whole = false;
      self.wholeBox.checked = false;
      self.apply();
    });
    this.play.addEventListener('click', function () { self.toggle(); });
    wrap.appendChild(whole);
    wrap.appendChild(this.slider);
    var row = el('div', 'pa-heat-row');
    row.appendChild(this.monthLabel);
    row.appendChild(this.play);
    wrap.appendChild(row);
    return wrap;
  };

  Panel.prototype.toggle = function () {
    var self = this;
    if (this.playing) {
      clearInterval(this.playing);
      this.playing = null;
      this.play.textContent = '▶ 播放';
      return;
    }
    if (!this.months.length) { return; }
    this.whole = false;
    this.wholeBox.checked = false;
    if (this.index >= this.months.length - 1) { this.index = -1; }
    this.play.textContent = '❚❚ 暂停';
    var step = function () {
      if (self.index >= self.months.length - 1) { self.toggle(); return; }
      self.index += 1;
      self.slider.value = self.index;
      self.apply();
    };
    step();
    this.playing = setInterval(step, PLAY_MS);
  };

  Panel.prototype.query = function () {
    var parts = [];
    var add = function (k, v) { if (v) { parts.push(k + '=' + encodeURIComponent(v)); } };
    add('category', this.category.box.value);
    add('status', this.status.box.value);
    add('risk', this.risk.box.value);
    add('township', this.township.box.value);
    if (!this.whole && this.months.length) { add('month', this.months[this.index]); }
    return parts;
  };

  Panel.prototype.apply = function () {
    var base = this.query(), hot = this.hot.box.value;
    this.monthLabel.textContent = this.whole || !this.months.length ? '全部时段' :
      this.months[this.index];
    this.map.query.heat = base.concat(['measure=' + this.measure.box.value]).join('&');
    var hotspots = this.map.groups.hotspots;
    if (hotspots) {
      var q = base.filter(function (p) { return p.indexOf('month=') !== 0; });
      if (hot === 'emerging') { q.push('emerging=1'); }
      this.map.query.hotspots = q.join('&');
      var on = this.map.map.hasLayer(hotspots);
      if (hot && !on) { this.map.map.addLayer(hotspots); }
      if (!hot && on) { this.map.map.removeLayer(hotspots); }
    }
    this.map.refresh();
  };

  Panel.prototype.legend = function () {
    var box = this.legendBox, breaks = this.map.breaks.heat;
    box.textContent = '';
    if (breaks) {
      var rate = breaks.measure === 'rate';
      box.appendChild(el('div', 'pa-heat-legend-title', rate ?
        '每千名常住人口的事件数（' + breaks.size + ' 米方格，人口按村社面积分摊）' :
        '事件数（' + breaks.size + ' 米方格）'));
      // Class k holds the values from lows[k] up to (not including) breaks[k];
      // counts are whole, so a class of counts reads "3 – 4", and one that
      // holds nothing (the smallest shown value at its upper bound) is left out.
      var lows = breaks.breaks.length ? [breaks.least].concat(breaks.breaks) : [];
      if (!lows.length) {
        box.appendChild(el('div', 'pa-heat-note', rate ?
          '本时段没有可算比率的方格（事件少于 ' + breaks.small + ' 件或常住人口不足 50 人）' :
          '本时段没有事件'));
      }
      lows.forEach(function (low, k) {
        var high = breaks.breaks[k];
        if (high !== undefined && high <= low) { return; }
        var text = high === undefined ? '≥ ' + low :
          !rate ? (high - 1 > low ? low + ' – ' + (high - 1) : String(low)) :
          low + ' – ' + high;
        var row = el('div', 'pa-heat-key');
        var sw = el('span', 'pa-heat-swatch');
        sw.style.background = breaks.colors[Math.min(k, breaks.colors.length - 1)];
        row.appendChild(sw);
        row.appendChild(document.createTextNode(text));
        box.appendChild(row);
      });
      var small = el('div', 'pa-heat-key');
      var sw = el('span', 'pa-heat-swatch');
      sw.style.background = window.PinganMap.smallColor;
      small.appendChild(sw);
      small.appendChild(document.createTextNode('少于 ' + breaks.small + ' 件（不显示具体数）'));
      box.appendChild(small);
    }
    var hot = this.hotspotAnswer;
    if (hot && this.map.map.hasLayer(this.map.groups.hotspots)) {
      this.hotspotLegend(box, hot);
    }
  };

  Panel.prototype.hotspotLegend = function (box, hot) {
    var colors = hot.method === 'emerging' ? window.PinganMap.emergingColors :
      window.PinganMap.hotspotColors;
    box.appendChild(el('div', 'pa-heat-legend-title', hot.method === 'emerging' ?
      '新兴热点（' + (hot.months || []).length + ' 个月，ArcGIS 定义，Mann-Kendall 趋势）' :
      '热点分析（' + hot.size + ' 米方格）'));
    var labels = hot.method === 'emerging' ? Object.keys(hot.categories || {}).map(
      function (c) { return [c, hot.categories[c].label]; }) :
      [['3', '热点 99% 置信'], ['2', '热点 95% 置信'], ['1', '热点 90% 置信'],
       ['-1', '冷点 90% 置信'], ['-2', '冷点 95% 置信'], ['-3', '冷点 99% 置信']];
    labels.forEach(function (pair) {
      var row = el('div', 'pa-heat-key');
      var sw = el('span', 'pa-heat-swatch');
      sw.style.background = colors[pair[0]];
      row.appendChild(sw);
      var n = hot.summary ? hot.summary[pair[0]] : undefined;
      row.appendChild(document.createTextNode(pair[1] + (n !== undefined ? '：' + n + ' 格' : '')));
      box.appendChild(row);
    });
    if (hot.legend) { box.appendChild(el('div', 'pa-heat-note', hot.legend)); }
  };

  window.PinganHeat = {
    start: function (map, config) {
      var panel = new Panel(map, config);
      window.paHeat = panel;
      return panel;
    }
  };
})();
