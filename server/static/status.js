// The status page: /v1/status every two seconds, and a chart fed by /v1/stream.
"use strict";
const token = new URLSearchParams(location.search).get("token");
const auth = token ? { Authorization: "Bearer " + token } : {};
const $ = (id) => document.getElementById(id);

function rows(table, header, list) {
  table.innerHTML = header;
  for (const cells of list) {
    const tr = document.createElement("tr");
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
    table.appendChild(tr);
  }
}

async function refresh() {
  try {
    const r = await fetch("/v1/status", { headers: auth });
    const s = await r.json();
    $("health").textContent = s.status; $("health").className = s.status === "ok" ? "ok" : "bad";
    $("uptime").textContent = s.uptime_s; $("clients").textContent = s.clients;
    $("requests").textContent = s.upstream.requests; $("rate-limited").textContent = s.upstream.rate_limited;
    const head = [];
    for (const [venue, groups] of Object.entries(s.headroom))
      for (const [group, free] of Object.entries(groups)) head.push([venue, group, (free * 100).toFixed(0) + "%"]);
    rows($("headroom"), "<tr><th>venue</th><th>group</th><th>free</th></tr>", head);
    rows($("topics"), "<tr><th>topic</th><th>consumers</th><th>received</th></tr>",
         s.topics.map((t) => [t.topic, t.consumers, t.received]));
    $("hub").textContent = Object.entries(s.hub).map(([k, v]) => k + " " + v).join(" · ");
    $("proxies").textContent = s.proxies ? JSON.stringify(s.proxies) : "none (direct)";
    rows($("callbacks"), "<tr><th>id</th><th>url</th><th>state</th><th>deliveries</th><th>failures</th></tr>",
         s.callbacks.map((c) => [c.id, c.url, c.state, c.deliveries, c.failures]));
  } catch (e) {
    $("health").textContent = "unreachable"; $("health").className = "bad";
  }
}

let socket = null;
let points = [];

function draw() {
  const canvas = $("chart"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (points.length < 2) return;
  const ys = points.map((p) => p.y), lo = Math.min(...ys), hi = Math.max(...ys), span = hi - lo || 1;
  const x0 = points[0].x, xs = points[points.length - 1].x - x0 || 1;
  ctx.strokeStyle = "#1f6feb"; ctx.beginPath();
  points.forEach((p, i) => {
    const x = ((p.x - x0) / xs) * (canvas.width - 20) + 10;
    const y = canvas.height - 10 - ((p.y - lo) / span) * (canvas.height - 20);
    i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
  });
  ctx.stroke();
}

function follow(event) {
  if (event) event.preventDefault();
  if (socket) socket.close();
  points = []; $("points").textContent = "0";
  const model = $("model").value;
  const sub = { op: "subscribe", id: "chart", model, exchange: $("exchange").value, symbol: $("symbol").value };
  if (model === "candle") { sub.interval = $("interval").value; sub.partial = true; }
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(scheme + "//" + location.host + "/v1/stream" + (token ? "?token=" + encodeURIComponent(token) : ""));
  socket.onopen = () => socket.send(JSON.stringify(sub));
  socket.onmessage = (m) => {
    const f = JSON.parse(m.data);
    if (f.op === "subscribed") $("chart-state").textContent = "live";
    else if (f.op === "error") $("chart-state").textContent = "error: " + f.message;
    else if (f.data) {
      const d = f.data;
      const y = parseFloat(d.price !== undefined ? d.price : d.close);
      const x = d.timestamp !== undefined ? d.timestamp : d.open_time;
      points.push({ x, y }); if (points.length > 500) points.shift();
      $("points").textContent = String(points.length); $("last").textContent = String(y);
      draw();
    }
  };
  socket.onclose = () => { $("chart-state").textContent = "closed"; };
}

$("chart-form").addEventListener("submit", follow);
refresh(); setInterval(refresh, 2000);
follow();
