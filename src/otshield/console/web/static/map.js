/* otshield network map: draws the server's map (assets placed by Purdue level and zone) with
   the vendored Cytoscape.js, and shows the clicked asset or conduit in the side panel.
   Every value from the map goes into the page with textContent, never as HTML: asset names
   come from the network. */
(function () {
  "use strict";

  var ROLE_COLOURS = {
    field_device: "#8c564b", controller: "#d62728", hmi: "#ff7f0e",
    engineering_workstation: "#e377c2", historian: "#9467bd", ot_server: "#a3a31c",
    network_device: "#7f7f7f", it_server: "#1f77b4", it_host: "#17becf",
    external: "#393b79", "": "#9aa5b1"
  };
  var CLASS_COLOURS = {
    program: "#d62728", control: "#ff7f0e", config: "#e377c2", write: "#b5b51a",
    read: "#1f77b4", "": "#98a2ad"
  };
  var LEVEL_NAMES = {
    0: "L0 process", 1: "L1 control", 2: "L2 supervisory", 3: "L3 operations",
    4: "L4 enterprise", 5: "L5 external"
  };

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  function row(dl, key, value) {
    if (value === undefined || value === null || value === "") { return; }
    dl.appendChild(el("dt", key));
    dl.appendChild(el("dd", value));
  }

  function assetHref(id) { return "/assets/" + encodeURIComponent(id).replace(/%3A/gi, ":"); }

  function elements(data) {
    var out = [];
    var zoneIds = {};
    var bands = {};
    (data.zones || []).forEach(function (z, i) {
      var id = "zone:" + i;
      zoneIds[(z.level === null ? "?" : z.level) + "|" + z.name] = id;
      out.push({ group: "nodes", data: { id: id, label: z.name, kind: "zone" }, classes: "zone" });
      var key = z.level === null ? "?" : String(z.level);
      var top = z.band_top, mid = z.y + z.h / 2;
      if (!(key in bands) || top < bands[key].top) { bands[key] = { top: top, y: mid }; }
    });
    Object.keys(bands).forEach(function (key) {
      var label = key === "?" ? "Level unknown" : (LEVEL_NAMES[key] || ("L" + key));
      out.push({ group: "nodes", data: { id: "band:" + key, label: label, kind: "band" },
                 position: { x: 60, y: bands[key].y }, classes: "band", selectable: false,
                 grabbable: false });
    });
    (data.nodes || []).forEach(function (n) {
      var parent = zoneIds[(n.level === null ? "?" : n.level) + "|" + (n.zone || "no zone")];
      out.push({ group: "nodes", position: { x: n.x, y: n.y }, classes: "asset" + (n.alerts ? " alerting" : ""),
                 data: { id: n.id, label: n.label, parent: parent, kind: "asset", asset: n,
                         colour: ROLE_COLOURS[n.role] || ROLE_COLOURS[""] } });
    });
    (data.edges || []).forEach(function (e, i) {
      out.push({ group: "edges", classes: "conduit",
                 data: { id: "edge:" + i, source: e.source, target: e.target, kind: "edge",
                         conduit: e, colour: CLASS_COLOURS[e.main_class] || CLASS_COLOURS[""],
                         width: Math.min(6, 1 + Math.log10(1 + (e.packets || 0))) } });
    });
    return out;
  }

  function showAsset(panel, a) {
    panel.textContent = "";
    panel.appendChild(el("h2", a.label || a.id));
    var dl = el("dl", null, "dl");
    row(dl, "Asset", a.id);
    row(dl, "Addresses", (a.ips || []).join(", "));
    row(dl, "Level", a.level === null ? "unknown" : "L" + a.level);
    row(dl, "Zone", a.zone || "no zone");
    row(dl, "Roles", (a.roles || []).join(", ").replace(/_/g, " "));
    row(dl, "Vendor", [a.vendor, a.product].filter(Boolean).join(" "));
    row(dl, "Open alerts", a.alerts || 0);
    panel.appendChild(dl);
    var link = el("a", "Open asset \u2192", "btn primary");
    link.href = assetHref(a.id);
    link.id = "map-open-asset";
    link.style.marginTop = "12px";
    panel.appendChild(link);
  }

  function showConduit(panel, e, names) {
    panel.textContent = "";
    panel.appendChild(el("h2", "Conduit"));
    var dl = el("dl", null, "dl");
    row(dl, "Client", names[e.source] || e.source);
    row(dl, "Server", names[e.target] || e.target);
    row(dl, "Protocols", (e.protocols || []).join(", "));
    var classes = Object.keys(e.function_classes || {}).map(function (k) {
      return k + " " + e.function_classes[k];
    }).join(", ");
    row(dl, "Functions", classes || "none classified");
    row(dl, "Flows", e.flows);
    row(dl, "Packets", e.packets);
    row(dl, "Bytes", e.bytes);
    panel.appendChild(dl);
    var links = el("div", null, "actions");
    links.style.marginTop = "12px";
    [[e.source, "Client asset"], [e.target, "Server asset"]].forEach(function (pair) {
      var a = el("a", pair[1] + " \u2192", "btn small");
      a.href = assetHref(pair[0]);
      links.appendChild(a);
    });
    panel.appendChild(links);
  }

  function start() {
    var box = document.getElementById("map");
    var source = document.getElementById("map-data");
    if (!box || !source || typeof cytoscape !== "function") { return; }
    var data = JSON.parse(source.textContent || "{}");
    var panel = document.getElementById("map-detail");
    var names = {};
    (data.nodes || []).forEach(function (n) { names[n.id] = n.label || n.id; });
    var cy = cytoscape({
      container: box,
      elements: elements(data),
      layout: { name: "preset", fit: true, padding: 24 },
      wheelSensitivity: 0.25,
      minZoom: 0.15,
      maxZoom: 3,
      boxSelectionEnabled: false,
      style: [
        { selector: "node.asset", style: {
          "background-color": "data(colour)", "label": "data(label)", "width": 22, "height": 22,
          "font-size": 10, "color": "#1b2430", "text-valign": "bottom", "text-margin-y": 4,
          "text-max-width": 130, "text-wrap": "ellipsis", "border-width": 2, "border-color": "#ffffff" } },
        { selector: "node.asset.alerting", style: { "border-color": "#c53030", "border-width": 3 } },
        { selector: "node.zone", style: {
          "background-color": "#eef3fb", "background-opacity": 0.7, "border-color": "#a9bcd9",
          "border-width": 1, "border-style": "dashed", "shape": "round-rectangle", "label": "data(label)",
          "text-valign": "top", "text-halign": "center", "font-size": 11, "font-weight": 600,
          "color": "#3a4f6e", "padding": 14, "text-margin-y": -3 } },
        { selector: "node.band", style: {
          "label": "data(label)", "background-opacity": 0, "border-width": 0, "width": 1,
          "height": 1, "font-size": 12, "font-weight": 700, "color": "#5d6b7c", "text-valign": "center",
          "text-halign": "center", "events": "no" } },
        { selector: "edge.conduit", style: {
          "width": "data(width)", "line-color": "data(colour)", "target-arrow-color": "data(colour)",
          "target-arrow-shape": "triangle", "curve-style": "bezier", "opacity": 0.75, "arrow-scale": 0.8 } },
        { selector: ":selected", style: { "border-color": "#2f6fdf", "border-width": 4,
          "line-color": "#2f6fdf", "target-arrow-color": "#2f6fdf", "opacity": 1 } },
        { selector: "node.zone:selected", style: { "border-width": 1, "border-color": "#a9bcd9" } }
      ]
    });
    // A second tap on the same device within 400 ms opens it (Cytoscape's own dbltap also
    // fires for two taps on different elements).
    var lastTap = { id: "", at: 0 };
    cy.on("tap", "node.asset", function (evt) {
      var id = evt.target.id(), now = Date.now();
      if (lastTap.id === id && now - lastTap.at < 400) {
        window.location.href = assetHref(id);
        return;
      }
      lastTap = { id: id, at: now };
      showAsset(panel, evt.target.data("asset"));
    });
    cy.on("tap", "edge", function (evt) {
      lastTap = { id: "", at: 0 };
      showConduit(panel, evt.target.data("conduit"), names);
    });
    cy.on("mouseover", "node.asset, edge", function () { box.style.cursor = "pointer"; });
    cy.on("mouseout", "node.asset, edge", function () { box.style.cursor = ""; });
    var fit = document.getElementById("map-fit");
    if (fit) { fit.addEventListener("click", function () { cy.fit(undefined, 24); }); }
    var find = document.getElementById("map-find");
    if (find) {
      find.addEventListener("change", function () {
        var q = find.value.trim().toLowerCase();
        if (!q) { return; }
        var hit = cy.nodes("node.asset").filter(function (n) {
          var a = n.data("asset");
          return (a.label || "").toLowerCase().indexOf(q) >= 0 ||
            (a.ips || []).some(function (ip) { return ip.indexOf(q) >= 0; }) ||
            a.id.toLowerCase().indexOf(q) >= 0;
        });
        if (hit.length) {
          cy.elements().unselect();
          hit.select();
          cy.animate({ fit: { eles: hit, padding: 120 } }, { duration: 300 });
          showAsset(panel, hit[0].data("asset"));
        }
      });
    }
    var focus = box.getAttribute("data-focus");
    if (focus) {
      var target = cy.getElementById(focus);
      if (target && target.length) {
        target.select();
        cy.fit(target, 160);
        showAsset(panel, target.data("asset"));
      }
    }
    window.otshieldMap = cy;
    box.setAttribute("data-ready", "true");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
