// Live dashboard: draws the figures embedded in the page, then follows the server-sent event
// stream (/api/dashboard/stream); if the stream fails it polls /api/dashboard instead.
"use strict";
(function () {
  var script = document.currentScript;
  var refreshSeconds = parseFloat(script && script.getAttribute("data-refresh-seconds")) || 5;
  var SVG = "http://www.w3.org/2000/svg";
  var liveState = document.getElementById("live-state");

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function svgElement(tag, attributes, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) { node.textContent = String(text); }
    return node;
  }

  function replaceChildren(parent, children) {
    while (parent.firstChild) { parent.removeChild(parent.firstChild); }
    children.forEach(function (child) { parent.appendChild(child); });
  }

  function ticketLink(number) {
    var link = element("a", "number", number);
    link.href = "/tickets/" + encodeURIComponent(number);
    return link;
  }

  function tile(label, value, className) {
    var node = element("div", "tile" + (className ? " " + className : ""));
    node.appendChild(element("div", "tile-label", label));
    var number = element("div", "tile-value", value);
    number.setAttribute("data-tile", label);
    node.appendChild(number);
    return node;
  }

  function drawTiles(figures) {
    var tiles = [tile("열린 민원", figures.open_total),
                 tile("기한 경과", figures.overdue.total, figures.overdue.total ? "alert" : ""),
                 tile("오늘 긴급", figures.emergencies_today.length, figures.emergencies_today.length ? "alert" : "")];
    figures.by_status.forEach(function (item) { tiles.push(tile(item.label, item.count)); });
    replaceChildren(document.getElementById("status-tiles"), tiles);
  }

  function drawTrend(trend) {
    var width = 1000, height = 240, left = 34, right = 10, top = 12, bottom = 28;
    var plotWidth = width - left - right, plotHeight = height - top - bottom;
    var highest = Math.max(1, Math.max.apply(null, trend.map(function (d) { return Math.max(d.created, d.closed); })));
    var svg = svgElement("svg", {viewBox: "0 0 " + width + " " + height, preserveAspectRatio: "xMidYMid meet"});
    [0, 0.5, 1].forEach(function (fraction) {
      var y = top + plotHeight - fraction * plotHeight;
      svg.appendChild(svgElement("line", {x1: left, x2: width - right, y1: y, y2: y, "class": fraction ? "grid" : "axis"}));
      svg.appendChild(svgElement("text", {x: left - 6, y: y + 4, "text-anchor": "end"}, Math.round(fraction * highest)));
    });
    var slot = plotWidth / trend.length, barWidth = Math.max(3, slot * 0.32);
    trend.forEach(function (day, index) {
      var x = left + index * slot + slot / 2;
      [["created", -barWidth - 1, "접수"], ["closed", 1, "종결"]].forEach(function (bar) {
        var value = day[bar[0]], barHeight = value / highest * plotHeight;
        var rect = svgElement("rect", {x: x + bar[1], y: top + plotHeight - barHeight, width: barWidth,
                                       height: Math.max(barHeight, value ? 1 : 0), "class": "bar-" + bar[0]});
        rect.appendChild(svgElement("title", {}, day.date + " " + bar[2] + " " + value + "건"));
        svg.appendChild(rect);
      });
      svg.appendChild(svgElement("text", {x: x, y: height - 8, "text-anchor": "middle"}, day.label));
    });
    replaceChildren(document.getElementById("trend-chart"), [svg]);
  }

  function drawList(id, tickets, describe, empty) {
    var items = tickets.map(function (ticket) {
      var item = element("li");
      item.appendChild(ticketLink(ticket.number));
      item.appendChild(element("span", "", ticket.label));
      item.appendChild(element("span", "meta", describe(ticket)));
      return item;
    });
    if (!items.length) { items = [element("li", "muted", empty)]; }
    replaceChildren(document.getElementById(id), items);
  }

  // Open emergency incidents: reports, and per alerted agency acknowledged (✓), waiting (…) or
  // unacknowledged past the configured time (⚠, highlighted; escalated by e-mail).
  function drawIncidents(incidents) {
    document.getElementById("incident-count").textContent = incidents.length + "건";
    var items = incidents.map(function (incident) {
      var item = element("li", incident.unacknowledged_overdue ? "incident overdue" : "incident");
      item.appendChild(ticketLink(incident.number));
      item.appendChild(element("span", "", incident.label + " · 신고 " + incident.reports + "건"));
      item.appendChild(element("span", "meta", incident.location || "위치 미상"));
      var agencies = element("span", "meta agencies");
      incident.agencies.forEach(function (agency) {
        var mark = agency.acknowledged ? "✓" : (agency.overdue ? "⚠" : "…");
        var node = element("span", "agency" + (agency.overdue ? " unacknowledged" : ""), mark + " " + agency.agency);
        node.setAttribute("data-agency", agency.agency_id);
        if (agency.overdue) { node.style.color = "var(--red)"; node.style.fontWeight = "bold"; }
        node.title = agency.acknowledged ? "확인함" : (agency.overdue ? "확인 지연 (메일로 알림)" : "확인 대기");
        agencies.appendChild(node);
        agencies.appendChild(document.createTextNode(" "));
      });
      item.appendChild(agencies);
      return item;
    });
    if (!items.length) { items = [element("li", "muted", "진행 중인 긴급 사건이 없어요.")]; }
    replaceChildren(document.getElementById("incidents"), items);
  }

  function drawBars(id, rows) {
    var highest = Math.max.apply(null, [1].concat(rows.map(function (row) { return row.count; })));
    var lines = rows.map(function (row) {
      var line = element("tr");
      line.appendChild(element("td", "", row.label));
      var cell = element("td", "bar-cell"), bar = element("div", "bar");
      bar.style.width = (row.count / highest * 100).toFixed(1) + "%";
      cell.appendChild(bar);
      line.appendChild(cell);
      line.appendChild(element("td", "num", row.count));
      return line;
    });
    if (!lines.length) {
      var none = element("tr");
      none.appendChild(element("td", "muted", "열린 민원이 없어요."));
      lines = [none];
    }
    replaceChildren(document.getElementById(id), lines);
  }

  function draw(figures) {
    document.getElementById("scope").textContent = figures.scope;
    drawTiles(figures);
    drawTrend(figures.trend);
    drawIncidents(figures.incidents || []);
    document.getElementById("emergency-count").textContent = figures.emergencies_today.length + "건";
    drawList("emergencies", figures.emergencies_today, function (t) {
      return t.created_at + " · " + (t.location || "위치 미상") + " · " + t.status;
    }, "오늘 들어온 긴급 신고가 없어요.");
    document.getElementById("overdue-count").textContent = figures.overdue.total + "건";
    drawList("overdue", figures.overdue.tickets, function (t) {
      return t.department + " · 기한 " + t.due_date + " (" + t.days_overdue + "일 경과)";
    }, "처리 기한이 지난 민원이 없어요.");
    drawBars("by-department", figures.by_department);
    drawBars("by-category", figures.by_category);
  }

  function showState(on, text) {
    liveState.className = "live " + (on ? "on" : "off");
    liveState.textContent = text;
  }

  function updated(figures, how) {
    draw(figures);
    showState(true, how + " · 마지막 갱신 " + figures.generated_at);
  }

  var pollTimer = null;
  function poll() {
    fetch("/api/dashboard", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (answer) {
        if (answer.status === 401) { window.location.href = "/login?next=%2Fdashboard"; return null; }
        return answer.ok ? answer.json() : Promise.reject(answer.status);
      })
      .then(function (figures) { if (figures) { updated(figures, "주기적으로 갱신 중"); } })
      .catch(function () { showState(false, "서버에 연결할 수 없어요. 다시 시도하는 중…"); });
  }
  function startPolling() {
    if (pollTimer === null) { pollTimer = window.setInterval(poll, refreshSeconds * 1000); poll(); }
  }

  draw(JSON.parse(document.getElementById("dashboard-data").textContent));
  if (!window.EventSource) { startPolling(); return; }
  var failures = 0;
  var source = new EventSource("/api/dashboard/stream");
  source.addEventListener("figures", function (event) {
    failures = 0;
    updated(JSON.parse(event.data), "실시간 연결됨");
  });
  source.onerror = function () {
    failures += 1;
    showState(false, "연결이 끊겼어요. 다시 연결하는 중…");
    if (failures >= 3) { source.close(); startPolling(); }
  };
})();
