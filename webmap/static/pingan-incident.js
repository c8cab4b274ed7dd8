/*
 * Pingan Grid: the small map of an incident's page (/station/incidents/<code>).
 * The point, and the villages and grids around it from the layer endpoint
 * (GET <layers>/<name>?bbox=&zoom=), drawn without a base map.
 */
(function () {
  'use strict';
  var box = document.getElementById('incident-map');
  if (!box || !window.L) { return; }
  var at = [Number(box.dataset.lat), Number(box.dataset.lon)];
  var map = L.map(box, {zoomControl: true, attributionControl: false}).setView(at, 14);
  var b = map.getBounds().pad(0.5);
  var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].join(',');
  [['villages', '#1d3c6e', 2], ['grids', '#7a9cc6', 1]].forEach(function (layer) {
    fetch(box.dataset.layers + '/' + layer[0] + '?bbox=' + bbox + '&zoom=14',
          {credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (!answer || answer.mode !== 'features') { return; }
        L.geoJSON(answer, {style: {color: layer[1], weight: layer[2], fill: false},
                           interactive: false}).addTo(map).bringToBack();
      });
  });
  L.circleMarker(at, {radius: 9, color: '#c00', weight: 3, fillOpacity: 0.5}).addTo(map);
  box.dataset.ready = '1';
}());
