/*
 * Pingan Grid: the intake form (/station/incidents/new), 一门受理.
 *
 * Runs on a page of pingan-map.js (villages, grids and posts fetched by view)
 * and adds a side panel: coordinates typed in any supported CRS or set by a
 * click on the map, category, risk, description and source.  "查看落点"
 * asks the server where the point lands and whom the report would go to
 * (GET <preview>?lon=&lat=&crs=&risk=; nothing is saved), and marks it on
 * the map; "保存受理" posts it (POST <create>, JSON, the session's CSRF
 * token) and opens the new incident's page.  A click on the map fills in
 * WGS84 longitude and latitude and previews at once.
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

  function field(label, input, hint) {
    var box = el('label', '', label);
    box.appendChild(input);
    if (hint) { box.appendChild(el('span', 'pa-hint', hint)); }
    return box;
  }

  function select(name, choices, first) {
    var node = el('select');
    node.name = name;
    if (first) { var blank = el('option', '', first); blank.value = ''; node.appendChild(blank); }
    Object.keys(choices).forEach(function (code) {
      var option = el('option', '', choices[code]);
      option.value = code;
      node.appendChild(option);
    });
    return node;
  }

  function input(name, type) {
    var node = el('input');
    node.name = name;
    node.type = type || 'text';
    return node;
  }

  function areaName(area) { return area ? area.name + '（' + area.code + '）' : '—'; }

  function Intake(paMap, config) {
    this.map = paMap.map;
    this.config = config;
    this.marker = null;
    this.build();
    var self = this;
    this.map.on('click', function (e) {
      self.form.crs.value = 'wgs84';
      self.form.lon.value = e.latlng.lng.toFixed(6);
      self.form.lat.value = e.latlng.lat.toFixed(6);
      self.preview();
    });
  }

  Intake.prototype.build = function () {
    var c = this.config, self = this;
    var panel = el('div', 'pa-intake');
    panel.id = 'intake-panel';
    var back = el('a', 'pa-back', '← 事件队列');
    back.href = c.queue;
    panel.appendChild(back);
    panel.appendChild(el('h2', '', '受理事件（一门受理）'));
    panel.appendChild(el('div', 'pa-hint', '在地图上点击事发地点，或输入坐标后点“查看落点”。'));
    var form = el('form');
    form.id = 'intake-form';
    form.noValidate = true;
    form.appendChild(field('坐标系', select('crs', c.crs)));
    var pair = el('div', 'pa-pair');
    pair.appendChild(field('经度 / X', input('lon')));
    pair.appendChild(field('纬度 / Y', input('lat')));
    form.appendChild(pair);
    form.appendChild(field('类别', select('category', c.categories, '请选择类别')));
    form.appendChild(field('风险等级', select('risk', c.risks)));
    form.risk.value = 'yellow';
    var text = el('textarea');
    text.name = 'description';
    text.rows = 4;
    text.maxLength = 2000;
    form.appendChild(field('事件描述', text));
    var source = input('source');
    source.placeholder = '如：电话报警、12345 热线、群众来访';
    form.appendChild(field('来源', source));
    var look = el('button', 'pa-secondary', '查看落点');
    look.type = 'button';
    look.id = 'intake-preview';
    look.addEventListener('click', function () { self.preview(); });
    var save = el('button', '', '保存受理');
    save.type = 'submit';
    save.id = 'intake-save';
    form.appendChild(look);
    form.appendChild(save);
    form.addEventListener('submit', function (e) { e.preventDefault(); self.save(); });
    panel.appendChild(form);
    this.message = el('p', 'pa-error');
    this.message.id = 'intake-error';
    panel.appendChild(this.message);
    this.result = el('div');
    this.result.id = 'intake-result';
    panel.appendChild(this.result);
    document.body.appendChild(panel);
    this.map.getContainer().classList.add('pa-with-panel');
    this.map.invalidateSize({pan: false});
    this.form = form;
    form.risk.addEventListener('change', function () {
      if (form.lon.value && form.lat.value) { self.preview(); }
    });
  };

  Intake.prototype.values = function () {
    var f = this.form, body = {};
    ['crs', 'lon', 'lat', 'category', 'risk', 'description', 'source'].forEach(function (k) {
      var v = f[k].value.trim();
      if (v) { body[k] = (k === 'lon' || k === 'lat') ? Number(v) : v; }
    });
    return body;
  };

  Intake.prototype.fail = function (error) {
    this.message.textContent = error;
  };

  function problem(response) {
    return response.json().then(function (body) {
      var where = body.details && body.details.field ? '（' + body.details.field + '）' : '';
      throw new Error((body.message || response.status) + where);
    }, function () { throw new Error('HTTP ' + response.status); });
  }

  Intake.prototype.preview = function () {
    var v = this.values(), self = this;
    this.message.textContent = '';
    if (v.lon === undefined || v.lat === undefined) {
      this.fail('请先在地图上点击或输入坐标');
      return;
    }
    var query = new URLSearchParams({lon: v.lon, lat: v.lat, crs: v.crs || 'wgs84',
                                     risk: v.risk || 'yellow'});
    fetch(this.config.preview + '?' + query, {credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : problem(r); })
      .then(function (answer) { self.show(answer); })
      .catch(function (error) { self.fail(error.message); });
  };

  Intake.prototype.show = function (a) {
    var box = this.result, c = this.config;
    box.textContent = '';
    box.appendChild(el('h3', '', '落点与派发'));
    var table = el('table');
    [['乡镇/街道', areaName(a.township)], ['村/社区', areaName(a.village)],
     ['网格', areaName(a.grid)], ['派出所', areaName(a.police_station)],
     ['民警', a.officers.map(function (o) { return o.name + '（' + o.code + '）'; }).join('、') || '—'],
     ['网格员', a.grid_members.map(function (m) { return m.name; }).join('、') || '—'],
     ['WGS84', a.wgs84[0] + ', ' + a.wgs84[1]]].forEach(function (row) {
      var tr = el('tr');
      tr.appendChild(el('th', '', row[0]));
      tr.appendChild(el('td', '', row[1]));
      table.appendChild(tr);
    });
    box.appendChild(table);
    var g = a.goes_to, who = '';
    if (g.officer || g.member) {
      var people = g.officer ? a.officers : a.grid_members;
      var code = g.officer || g.member;
      var person = people.filter(function (p) { return p.code === code; })[0];
      who = (g.officer ? '民警 ' : '网格员 ') + (person ? person.name : code);
    }
    var unit = g.unit_kind ? c.units[g.unit_kind] + ' ' + g.unit_code : '';
    var goes = el('div', 'pa-goes', a.status === 'received'
      ? '不在任何辖区内：保存后为“已受理”，由综治中心人工转派。'
      : '保存后派发给：' + (who || '派出所') + (unit ? '（' + unit + '）' : ''));
    goes.id = 'intake-goes';
    box.appendChild(goes);
    var at = [a.wgs84[1], a.wgs84[0]];
    if (this.marker) { this.marker.setLatLng(at); } else {
      this.marker = L.circleMarker(at, {radius: 9, color: '#c00', weight: 3,
                                        fillOpacity: 0.4}).addTo(this.map);
    }
    this.map.closePopup();  // a village's popup from the same click would cover it
    if (!this.map.getBounds().contains(at)) { this.map.setView(at, 15); }
  };

  Intake.prototype.save = function () {
    var v = this.values(), self = this;
    this.message.textContent = '';
    if (!v.category) { this.fail('请选择类别'); return; }
    fetch(this.config.create, {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': this.config.csrf},
      body: JSON.stringify(v)
    }).then(function (r) { return r.ok ? r.json() : problem(r); })
      .then(function (made) {
        var code = made.routed ? null : made.properties.code;
        if (!code) {
          self.result.textContent = '';
          self.result.appendChild(el('div', 'pa-goes', '已受理 ' + made.code +
            '，不在本辖区，已转至所属派出所。'));
          return;
        }
        window.location.href = self.config.incident.replace('CODE', encodeURIComponent(code));
      })
      .catch(function (error) { self.fail(error.message); });
  };

  window.PinganIntake = {
    start: function (paMap, config) {
      var intake = new Intake(paMap, config);
      window.paIntake = intake;
      return intake;
    }
  };
}());
