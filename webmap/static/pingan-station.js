/*
 * Pingan Grid: the station home (/station) and its print sheet.
 *
 * Runs on a page of pingan-map.js.  The panel itself comes rendered with the
 * page; this script:
 * - makes room for it beside the map;
 * - prints: the paper size (A4 or A3, landscape) chosen, the map fitted to
 *   the jurisdiction for the printed frame before the browser prints;
 * - reads the 一村一警 gap report (GET <gaps>, under the caller's scope) and
 *   lists the findings of this station's villages and grids.
 * Every text from the server is set as text, never as HTML.
 */
(function () {
  'use strict';

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  var KINDS = {uncovered: '无人负责', far_post: '距警务室过远', overloaded: '超负荷',
               foreign_post: '驻地在他所辖区', split: '网格跨辖区', patrol: '巡逻力量不足'};

  function Station(paMap, config) {
    this.map = paMap.map;
    this.paMap = paMap;
    this.config = config;
    this.map.getContainer().classList.add('pa-with-panel');
    this.map.invalidateSize({pan: false});
    var fit = paMap.config.fit;
    if (fit) { this.map.fitBounds(fit, {animate: false}); }
    var self = this;
    var paper = document.getElementById('station-paper');
    this.page = el('style');
    document.head.appendChild(this.page);
    paper.addEventListener('change', function () { self.paper(paper.value); });
    document.getElementById('station-print').addEventListener('click', function () {
      window.print();
    });
    var refit = function () {
      self.map.invalidateSize({pan: false});
      if (fit) { self.map.fitBounds(fit, {animate: false}); }
    };
    window.addEventListener('beforeprint', refit);
    window.addEventListener('afterprint', refit);
    if (window.matchMedia) {
      window.matchMedia('print').addEventListener('change', refit);
    }
    if (config.gaps) { this.gaps(); }
  }

  Station.prototype.paper = function (size) {
    this.page.textContent = '@page { size: ' + (size === 'A3' ? 'A3' : 'A4') +
      ' landscape; margin: 8mm; }';
  };

  Station.prototype.gaps = function () {
    var box = document.getElementById('station-gaps-list'), code = this.config.station;
    fetch(this.config.gaps, {credentials: 'same-origin'})
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); })
      .then(function (report) {
        var mine = report.ranked.filter(function (f) {
          return f.station && f.station.code === code;
        });
        box.textContent = mine.length ? '' : '本辖区没有一村一警缺口。';
        var list = el('ul');
        mine.slice(0, 30).forEach(function (f) {
          list.appendChild(el('li', '', (KINDS[f.kind] || f.kind) + '：' + f.name +
                              '（' + f.reason + '）'));
        });
        if (mine.length > 30) { list.appendChild(el('li', '', '……共 ' + mine.length + ' 处，见缺口图')); }
        box.appendChild(list);
        box.dataset.count = String(mine.length);
      })
      .catch(function (error) { box.textContent = '缺口分析读取失败（' + error.message + '）'; });
  };

  window.PinganStation = {
    start: function (paMap, config) {
      window.paStation = new Station(paMap, config);
      return window.paStation;
    }
  };
}());
