/* Admin page for GET /stats/active-sessions/dashboard: plain script, globals d3 and topojson. */
'use strict';
(() => {
  const API = '/stats/active-sessions/dashboard';
  const POLL_MS = 5000;
  const TOKEN_KEY = 'stats-dashboard-token';
  const MAX_IPS = 200; // a location may hold thousands of IPs: list only the first ones
  const MAX_VERSIONS = 25;
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  const regionNames = new Intl.DisplayNames(['en'], { type: 'region' });
  const number = new Intl.NumberFormat('en'); // one formatter: toLocaleString builds one per call
  const format = (n) => number.format(n);
  const projection = d3.geoNaturalEarth1().fitExtent([[8, 8], [952, 492]], { type: 'Sphere' });

  let timer;
  let generation = 0; // answers to a poll older than the last login or logout are dropped
  let locations = [];
  let selected; // key of the location whose IPs are listed, kept across polls

  const names = new Map(); // Intl lookups are slow enough to matter for thousands of circles
  const countryName = (code) => {
    if (!names.has(code)) {
      let name;
      try {
        name = code && regionNames.of(code);
      } catch {
        // not a region code Intl knows
      }
      names.set(code, name || code || 'Unknown');
    }
    return names.get(code);
  };
  const plural = (n, word) => `${format(n)} ${word}${n === 1 ? '' : 's'}`;
  const keyOf = (l) => `${l.countryCode}|${l.latitude}|${l.longitude}`;

  function svg(name, attributes) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    return element;
  }

  function showMessage(text, kind) {
    const message = $('message');
    message.textContent = text;
    message.className = kind;
    message.hidden = !text;
  }

  function showLogin(text) {
    clearTimeout(timer);
    generation++;
    $('dashboard').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    showMessage(text || '', 'error');
    $('token').focus();
  }

  async function drawCountries() {
    const g = $('countries');
    g.appendChild(svg('path', { class: 'sphere', d: d3.geoPath(projection)({ type: 'Sphere' }) }));
    try {
      const response = await fetch('/admin/countries-110m.json');
      const world = await response.json();
      const path = d3.geoPath(projection);
      const fragment = document.createDocumentFragment();
      for (const country of topojson.feature(world, world.objects.countries).features) {
        fragment.appendChild(svg('path', { class: 'country', d: path(country) || '' }));
      }
      g.appendChild(fragment);
    } catch {
      // The circles still mean something on the bare sphere.
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, POLL_MS);
  }

  async function poll() {
    clearTimeout(timer);
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return showLogin();
    const mine = ++generation;
    let response;
    let body;
    try {
      response = await fetch(API, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        cache: 'no-store',
      });
      body = await response.json().catch(() => ({}));
    } catch {
      if (mine !== generation) return;
      showMessage('Cannot reach the server. Retrying every 5 seconds…', 'warn');
      return schedule();
    }
    if (mine !== generation) return;
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      return showLogin('The token was refused: it is invalid or has expired. Log in again with a new token.');
    }
    if (response.status === 403) {
      sessionStorage.removeItem(TOKEN_KEY);
      return showLogin('This token is valid but lacks the role needed to read the statistics (stats:read).');
    }
    if (!response.ok) {
      const reason = body.message || response.statusText;
      showMessage(`The server answered ${response.status}: ${reason} Retrying every 5 seconds…`, 'warn');
      return schedule();
    }
    showMessage('');
    render(body);
    schedule();
  }

  function render(data) {
    const started = performance.now();
    $('login').hidden = true;
    $('dashboard').hidden = false;
    $('logout').hidden = false;
    $('updated').textContent = `Updated ${new Date().toLocaleTimeString('en-GB')}`;

    locations = [...data.geoIpData].sort((a, b) => b.sessionCount - a.sessionCount);
    const located = locations.reduce((sum, l) => sum + l.sessionCount, 0);
    $('total-count').textContent = format(data.totalCount);
    $('location-count').textContent = format(locations.length);
    const unlocated = data.totalCount - located;
    $('unlocated').textContent = unlocated > 0 ? `, ${plural(unlocated, 'session')} without a location` : '';
    $('empty').hidden = data.totalCount > 0;

    drawLocations();
    drawVersions(data.versions);
    listIps();
    // Shows in the browser's performance panel, and lets the browser test watch the cost of a poll.
    performance.measure('dashboard-render', { start: started });
  }

  const describe = (l) =>
    `${countryName(l.countryCode)} (${l.countryCode}): ${plural(l.sessionCount, 'session')}, ${plural(l.ips.length, 'IP')}`;

  function drawLocations() {
    // Largest first, so smaller circles stay on top and clickable. The hover text is built on
    // hover: thousands of <title> elements would double the work of every poll.
    const max = locations[0]?.sessionCount || 1;
    const fragment = document.createDocumentFragment();
    locations.forEach((l, index) => {
      const point = projection([l.longitude, l.latitude]);
      if (!point) return;
      const radius = 3 + 17 * Math.sqrt(l.sessionCount / max);
      const circle = svg('circle', { class: 'location', cx: point[0].toFixed(1), cy: point[1].toFixed(1), r: radius.toFixed(1) });
      circle.dataset.index = index;
      circle.dataset.country = l.countryCode;
      if (keyOf(l) === selected) circle.classList.add('selected');
      fragment.appendChild(circle);
    });
    $('locations').replaceChildren(fragment);
    $('tooltip').hidden = true;
  }

  function drawVersions(versions) {
    const rows = Object.entries(versions).sort((a, b) => b[1].sessionCount - a[1].sessionCount);
    const max = rows[0]?.[1].sessionCount || 1;
    const fragment = document.createDocumentFragment();
    for (const [version, { supportStatus, sessionCount }] of rows.slice(0, MAX_VERSIONS)) {
      const row = document.createElement('div');
      row.className = 'version';
      row.title = `${version}: ${plural(sessionCount, 'session')}, ${supportStatus} support`;
      const label = row.appendChild(document.createElement('span'));
      label.className = 'label';
      label.textContent = version;
      const track = row.appendChild(document.createElement('span'));
      track.className = 'track';
      const bar = track.appendChild(document.createElement('span'));
      bar.className = `bar ${supportStatus}`;
      bar.dataset.status = supportStatus;
      bar.style.width = `${Math.max(0.5, (100 * sessionCount) / max)}%`;
      const count = row.appendChild(document.createElement('span'));
      count.className = 'count';
      count.textContent = format(sessionCount);
      fragment.appendChild(row);
    }
    $('versions').replaceChildren(fragment);
    const hidden = rows.length - MAX_VERSIONS;
    $('versions-more').textContent = hidden > 0 ? `and ${plural(hidden, 'more version')} not shown` : '';
  }

  function listIps() {
    const l = locations.find((candidate) => keyOf(candidate) === selected);
    $('ips').hidden = !l;
    if (!l) return;
    $('ips-title').textContent = `${countryName(l.countryCode)}: ${plural(l.sessionCount, 'session')}, ${plural(l.ips.length, 'IP')}`;
    const fragment = document.createDocumentFragment();
    for (const ip of l.ips.slice(0, MAX_IPS)) fragment.appendChild(document.createElement('li')).textContent = ip;
    $('ips-list').replaceChildren(fragment);
    const more = l.ips.length - MAX_IPS;
    $('ips-more').textContent = more > 0 ? `and ${plural(more, 'more IP')}` : '';
  }

  $('locations').addEventListener('click', (event) => {
    const l = locations[event.target.dataset?.index];
    if (!l) return;
    selected = keyOf(l);
    for (const circle of $('locations').querySelectorAll('.selected')) circle.classList.remove('selected');
    event.target.classList.add('selected');
    listIps();
  });

  $('locations').addEventListener('mousemove', (event) => {
    const l = locations[event.target.dataset?.index];
    const tooltip = $('tooltip');
    if (!l) return (tooltip.hidden = true);
    const box = $('map').parentElement.getBoundingClientRect();
    tooltip.textContent = describe(l);
    tooltip.style.left = `${event.clientX - box.left + 12}px`;
    tooltip.style.top = `${event.clientY - box.top + 12}px`;
    tooltip.hidden = false;
  });
  $('locations').addEventListener('mouseleave', () => ($('tooltip').hidden = true));

  $('ips-close').addEventListener('click', () => {
    selected = undefined;
    for (const circle of $('locations').querySelectorAll('.selected')) circle.classList.remove('selected');
    listIps();
  });

  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim().replace(/^Bearer\s+/i, '');
    $('token').value = '';
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('login').hidden = true;
    showMessage('Loading…', 'info');
    poll();
  });

  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
  });

  drawCountries();
  poll();
})();
