// The docs page: reads the JSON embedded by `runner docs generate` and draws the node list,
// node pages, the model lineage graph (dagre), column lineage and the charts (vega-lite).
// Everything it needs is inside index.html: it makes no request at all.
"use strict";

(() => {
  const DATA = JSON.parse(document.getElementById("site-data").textContent);
  const NODES = DATA.nodes;
  const UIDS = Object.keys(NODES).sort();
  const LINEAGE = DATA.lineage || {};
  const selection = Selection.create(NODES);
  const view = document.getElementById("view");

  // --- small DOM helpers -------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const svg = (tag, attrs) => {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    return el;
  };
  const label = (uid) => (NODES[uid] ? NODES[uid].display_name : uid);
  const nodeLink = (uid) =>
    h("a", { href: "#node=" + encodeURIComponent(uid), class: "ref", "data-uid": uid }, label(uid));
  const fmtSeconds = (s) => (s === null || s === undefined ? "" : s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);
  const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : "");
  const badge = (text, kind) => h("span", { class: "badge " + (kind || "") }, text);
  const section = (title, ...body) => h("section", { class: "card" }, h("h2", {}, title), ...body);

  // Where a project file is: next to the docs from file://, under /project/ from `docs serve`.
  function fileHref(path) {
    if (location.protocol === "file:") return DATA.metadata.project_root_from_docs + "/" + path;
    return "project/" + path;
  }

  // --- the node list and search ------------------------------------------------------------

  const list = document.getElementById("node-list");
  const search = document.getElementById("search");

  function folderOf(n) {
    if (n.resource_type === "source") return "sources / " + n.source_name;
    const folders = n.fqn.slice(1, -1);
    return (n.resource_type === "seed" ? "seeds" : "models") + (folders.length ? " / " + folders.join(" / ") : "");
  }

  function drawList(filter) {
    list.replaceChildren();
    const groups = new Map();
    for (const uid of UIDS) {
      const why = filter ? filter(NODES[uid]) : "";
      if (why === null) continue;
      const key = folderOf(NODES[uid]);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push([uid, why]);
    }
    for (const [folder, items] of [...groups].sort()) {
      list.append(h("div", { class: "folder" }, folder));
      for (const [uid, why] of items) {
        const n = NODES[uid];
        list.append(
          h(
            "a",
            { href: "#node=" + encodeURIComponent(uid), class: "node-link " + n.resource_type, "data-uid": uid },
            h("span", { class: "dot " + n.resource_type }),
            n.display_name,
            why ? h("span", { class: "why" }, why) : null
          )
        );
      }
    }
    if (!list.children.length) list.append(h("div", { class: "empty" }, "nothing matches"));
  }

  // Search over names, descriptions and column names (and column descriptions).
  function searchFilter(query) {
    const q = query.trim().toLowerCase();
    if (!q) return null;
    return (n) => {
      if (n.display_name.toLowerCase().includes(q)) return "";
      if ((n.description || "").toLowerCase().includes(q)) return "description";
      for (const c of Object.values(n.columns)) {
        if (c.name.toLowerCase().includes(q)) return "column " + c.name;
      }
      for (const c of Object.values(n.columns)) {
        if ((c.description || "").toLowerCase().includes(q)) return "column " + c.name + " (description)";
      }
      if ((n.tags || []).some((t) => t.toLowerCase().includes(q))) return "tag";
      return null;
    };
  }
  search.addEventListener("input", () => drawList(searchFilter(search.value)));

  // --- node page ---------------------------------------------------------------------------

  function columnRows(uid) {
    const n = NODES[uid];
    const lineage = (LINEAGE[uid] || {}).columns || {};
    const order = n.output_columns || Object.keys(n.columns);
    const names = [...order, ...Object.keys(n.columns).filter((c) => !order.includes(c))];
    return names.map((name) => {
      const c = n.columns[name] || { name, description: "" };
      const lin = lineage[name];
      const from = lin
        ? lin.upstream.map((u) =>
            h(
              "a",
              { class: "colref", href: u.node ? "#column=" + encodeURIComponent(u.node + "|" + u.column) : null },
              (u.node ? label(u.node) : u.table) + "." + u.column
            )
          )
        : [];
      return h(
        "tr",
        { "data-column": name },
        h("td", {}, lin ? h("a", { href: "#column=" + encodeURIComponent(uid + "|" + name), class: "colname" }, name) : name),
        h("td", { class: "type" }, c.type || c.data_type || ""),
        h("td", {}, c.description || h("span", { class: "muted" }, c.documented === false ? "undocumented" : "")),
        h("td", { class: "from" }, lin ? [badge(lin.transform, lin.transform), " ", ...joinNodes(from, ", ")] : "")
      );
    });
  }

  function joinNodes(items, sep) {
    const out = [];
    items.forEach((it, i) => {
      if (i) out.push(sep);
      out.push(it);
    });
    return out;
  }

  function expectationRows(n) {
    const results = new Map(n.expectation_results.map((r) => [r.name, r]));
    const declared = n.declared_expectations.length
      ? n.declared_expectations
      : n.expectation_results.map((r) => ({ name: r.name, column: r.column, severity: r.severity }));
    return declared.map((e) => {
      const r = results.get(e.name);
      const status = r ? r.status : e.error ? "invalid" : "not run";
      const sample = r && r.sample && r.sample.length && r.status !== "pass" ? JSON.stringify(r.sample) : "";
      return h(
        "tr",
        { "data-expectation": e.name, "data-status": status },
        h("td", {}, e.name),
        h("td", {}, e.column || ""),
        h("td", {}, e.severity || ""),
        h("td", {}, badge(status, status.replace(" ", "-"))),
        h("td", { class: "num" }, r && r.failing_count !== null && r.failing_count !== undefined ? String(r.failing_count) : ""),
        h("td", { class: "sample" }, sample),
        h("td", {}, (r && r.message) || e.error || "")
      );
    });
  }

  function kv(rows) {
    return h(
      "table",
      { class: "kv" },
      rows.filter((r) => r[1] !== null && r[1] !== undefined && r[1] !== "").map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))
    );
  }

  function showNode(uid) {
    const n = NODES[uid];
    if (!n) return showMessage(`No node ${uid} in this project.`);
    const run = n.last_run;
    const head = h(
      "div",
      { class: "node-head" },
      h("h1", {}, n.display_name),
      badge(n.resource_type, n.resource_type),
      badge(n.materialized, "mat"),
      (n.tags || []).map((t) => h("a", { href: "#lineage=" + encodeURIComponent("tag:" + t), class: "badge tag" }, "tag:" + t)),
      h("a", { href: "#lineage=" + encodeURIComponent("+" + selectorName(n) + "+"), class: "button", id: "show-lineage" }, "lineage graph")
    );
    const meta = kv([
      ["relation", n.relation.rendered],
      ["file", h("a", { href: fileHref(n.path), class: "file-link" }, n.path + (n.line > 1 ? ":" + n.line : ""))],
      ["documented in", n.yaml_path],
      ["last built", run ? `${fmtTime(run.started_at)} — ${run.status}` : "not in the last run"],
      ["took", run ? fmtSeconds(run.execution_time) : ""],
      ["rows", run && run.rows_affected !== null ? String(run.rows_affected) : ""],
      ["message", run ? run.message : ""],
    ]);
    const parts = [
      head,
      h("p", { class: "description" }, n.description || h("span", { class: "muted" }, "No description.")),
      meta,
    ];
    parts.push(
      section(
        "Columns",
        h(
          "table",
          { class: "grid", id: "columns" },
          h("thead", {}, h("tr", {}, h("th", {}, "column"), h("th", {}, "type"), h("th", {}, "description"), h("th", {}, "computed from"))),
          h("tbody", {}, columnRows(uid))
        ),
        (LINEAGE[uid] || {}).error ? h("p", { class: "muted" }, "Column lineage: " + LINEAGE[uid].error) : null
      )
    );
    if (n.declared_expectations.length || n.expectation_results.length) {
      parts.push(
        section(
          "Expectations",
          h("p", { class: "muted" }, DATA.metadata.run ? `Latest results: ${DATA.metadata.run.command} at ${fmtTime(DATA.metadata.run.generated_at)}` : "No run_results.json yet."),
          h(
            "table",
            { class: "grid", id: "expectations" },
            h("thead", {}, h("tr", {}, ["expectation", "column", "severity", "status", "failing", "sample", "message"].map((t) => h("th", {}, t)))),
            h("tbody", {}, expectationRows(n))
          )
        )
      );
    }
    if (n.resource_type === "source") {
      const f = n.freshness;
      parts.push(
        section(
          "Freshness",
          f
            ? kv(Object.entries(f).filter(([k]) => k !== "unique_id").map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]))
            : h("p", { class: "muted" }, n.freshness_rule ? "Not checked yet: run `runner source freshness`." : "No freshness rule declared."),
          n.freshness_rule ? h("pre", {}, JSON.stringify(n.freshness_rule, null, 2)) : null
        )
      );
    }
    parts.push(
      section(
        "Dependencies",
        kv([
          ["depends on", n.parents.length ? joinNodes(n.parents.map(nodeLink), ", ") : "nothing"],
          ["used by", n.children.length ? joinNodes(n.children.map(nodeLink), ", ") : "nothing"],
        ])
      )
    );
    parts.push(section("Config", h("pre", { class: "config" }, JSON.stringify(n.config, null, 2))));
    parts.push(
      section(
        "Code",
        h(
          "div",
          { class: "code" },
          h("div", {}, h("h3", {}, "source: ", h("a", { href: fileHref(n.path) }, n.path)), h("pre", { class: "sql", id: "source-code" }, n.source_text || "(not readable)")),
          n.compiled_sql !== null && n.compiled_sql !== undefined
            ? h("div", {}, h("h3", {}, "compiled", n.compiled_path ? [": ", h("a", { href: fileHref(n.compiled_path) }, n.compiled_path)] : ""), h("pre", { class: "sql", id: "compiled-code" }, n.compiled_sql))
            : null
        )
      )
    );
    view.replaceChildren(...parts);
    markCurrent(uid);
  }

  function selectorName(n) {
    return n.resource_type === "source" ? "source:" + n.source_name + "." + n.name : n.name;
  }

  function markCurrent(uid) {
    for (const a of list.querySelectorAll(".node-link")) a.classList.toggle("current", a.dataset.uid === uid);
  }

  function showMessage(text) {
    view.replaceChildren(h("p", { class: "message" }, text));
  }

  // --- graphs (dagre layout, drawn as SVG) -------------------------------------------------

  // nodes: [{id, label, kind, focus}], edges: [[from, to]]
  function drawGraph(container, nodes, edges, onClick, cls) {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 10, ranksep: 50, marginx: 10, marginy: 10 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of nodes) g.setNode(n.id, { width: 14 + n.label.length * 7, height: 24, ...n });
    for (const [a, b] of edges) if (g.hasNode(a) && g.hasNode(b)) g.setEdge(a, b);
    dagre.layout(g);
    const { width, height } = g.graph();
    const root = svg("svg", { class: "graph " + cls, width, height, viewBox: `0 0 ${width} ${height}` });
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow-" + cls, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" });
    marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }));
    defs.append(marker);
    root.append(defs);
    for (const e of g.edges()) {
      const pts = g.edge(e).points;
      const group = svg("g", { class: "edge", "data-from": e.v, "data-to": e.w });
      const d = "M" + pts.map((p) => `${p.x},${p.y}`).join(" L");
      group.append(svg("path", { d, "marker-end": `url(#arrow-${cls})` }));
      root.append(group);
    }
    for (const id of g.nodes()) {
      const n = g.node(id);
      const group = svg("g", { class: `gnode ${n.kind}${n.focus ? " focus" : ""}`, transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})`, "data-id": id });
      group.append(svg("rect", { width: n.width, height: n.height, rx: 5 }));
      const text = svg("text", { x: n.width / 2, y: 16, "text-anchor": "middle" });
      text.textContent = n.label;
      group.append(text);
      group.addEventListener("click", () => onClick(id));
      root.append(group);
    }
    container.replaceChildren(root);
    // Shrink a wide graph to the box when it stays legible; past that, scroll.
    const room = container.clientWidth - 4;
    if (width > room && room / width >= 0.55) {
      root.setAttribute("width", room);
      root.setAttribute("height", (height * room) / width);
    }
    return root;
  }

  function showLineage(query) {
    const input = h("input", { id: "selector", value: query, placeholder: "+fct_orders, tag:mart, path:models/marts, @stg_shop__orders" });
    const info = h("p", { class: "muted", id: "selector-info" });
    const canvas = h("div", { class: "graph-box", id: "lineage-graph" });
    const form = h(
      "form",
      { class: "selector-form", onsubmit: (ev) => { ev.preventDefault(); location.hash = "lineage=" + encodeURIComponent(input.value); } },
      h("label", { for: "selector" }, "select "),
      input,
      depthPicker("up", "upstream"),
      depthPicker("down", "downstream"),
      h("button", { type: "submit" }, "show")
    );
    view.replaceChildren(h("h1", {}, "Lineage"), form, info, canvas);
    showDepths(query);
    let chosen;
    try {
      chosen = selection.select(query || "resource_type:model");
    } catch (err) {
      info.textContent = err.message;
      info.className = "error";
      return;
    }
    const edges = [];
    for (const uid of chosen) for (const p of NODES[uid].parents) if (chosen.has(p)) edges.push([p, uid]);
    info.textContent = `${chosen.size} nodes, ${edges.length} edges` + (query ? ` for '${query}'` : " (all models)") + ". Click a node to open it.";
    // dagre lays out a few hundred nodes in well under a second; thousands take long
    if (chosen.size > (query ? 1500 : 300)) {
      info.textContent += " Too many to draw at once: type a selector, e.g. +" + NODES[[...chosen].pop()].name;
      return;
    }
    const focus = new Set();
    for (const term of (query || "").split(/\s+/)) {
      const bare = term.replace(/^@|^[0-9]*\+|\+[0-9]*$/g, "");
      for (const uid of chosen) if (NODES[uid].name === bare) focus.add(uid);
    }
    const nodes = [...chosen].map((uid) => ({ id: uid, label: NODES[uid].display_name, kind: NODES[uid].resource_type, focus: focus.has(uid) }));
    drawGraph(canvas, nodes, edges, (uid) => { location.hash = "node=" + encodeURIComponent(uid); }, "models");
  }

  // Upstream/downstream depth: rewrites the selector's leading/trailing operators.
  function depthPicker(which, title) {
    const options = [["", "none"], ["1", "1"], ["2", "2"], ["3", "3"], ["all", "all"]];
    const select = h("select", { id: "depth-" + which, title, onchange: () => applyDepth() }, options.map(([v, t]) => h("option", { value: v }, `${title}: ${t}`)));
    return select;
  }

  // The pickers show the depth the (first) selector asks for.
  function showDepths(query) {
    const first = (query || "").trim().split(/\s+/)[0] || "";
    const lead = /^([0-9]*)\+/.exec(first.replace(/^@/, ""));
    const trail = /\+([0-9]*)$/.exec(first);
    const pick = (m) => (m ? m[1] || "all" : "");
    const known = (v) => (["", "1", "2", "3", "all"].includes(v) ? v : "all");
    document.getElementById("depth-up").value = first.startsWith("@") ? "all" : known(pick(lead));
    document.getElementById("depth-down").value = known(pick(trail));
  }

  function applyDepth() {
    const input = document.getElementById("selector");
    const up = document.getElementById("depth-up").value;
    const down = document.getElementById("depth-down").value;
    const stem = input.value.trim().split(/\s+/)[0].replace(/^@/, "").replace(/^[0-9]*\+/, "").replace(/\+[0-9]*$/, "");
    if (!stem) return;
    const lead = up === "" ? "" : up === "all" ? "+" : up + "+";
    const trail = down === "" ? "" : down === "all" ? "+" : "+" + down;
    location.hash = "lineage=" + encodeURIComponent(lead + stem + trail);
  }

  // --- column lineage ----------------------------------------------------------------------

  // Who reads each column: the inverse of LINEAGE, built once.
  let readers = null;
  function columnReaders() {
    if (readers) return readers;
    readers = new Map();
    for (const [uid, entry] of Object.entries(LINEAGE))
      for (const [col, lin] of Object.entries(entry.columns || {}))
        for (const u of lin.upstream) {
          if (!u.node) continue;
          const key = u.node + "|" + u.column.toLowerCase();
          if (!readers.has(key)) readers.set(key, []);
          readers.get(key).push(uid + "|" + col);
        }
    return readers;
  }

  function upstreamOf(key) {
    const [uid, col] = splitKey(key);
    const cols = (LINEAGE[uid] || {}).columns || {};
    const lin = cols[col] || Object.entries(cols).find(([c]) => c.toLowerCase() === col.toLowerCase())?.[1];
    return lin ? lin.upstream.filter((u) => u.node).map((u) => u.node + "|" + u.column) : [];
  }

  function splitKey(key) {
    const i = key.lastIndexOf("|");
    return [key.slice(0, i), key.slice(i + 1)];
  }

  function showColumn(key) {
    const [uid, col] = splitKey(key);
    const n = NODES[uid];
    if (!n) return showMessage(`No node ${uid}.`);
    const lin = ((LINEAGE[uid] || {}).columns || {})[col];
    const keys = new Set([key]);
    const edges = [];
    const up = [key];
    while (up.length) {
      const k = up.pop();
      for (const parent of upstreamOf(k)) {
        edges.push([parent, k]);
        if (!keys.has(parent)) { keys.add(parent); up.push(parent); }
      }
    }
    const down = [key];
    const seenDown = new Set([key]);
    while (down.length) {
      const k = down.pop();
      const [u, c] = splitKey(k);
      for (const child of columnReaders().get(u + "|" + c.toLowerCase()) || []) {
        edges.push([k, child]);
        keys.add(child);
        if (!seenDown.has(child)) { seenDown.add(child); down.push(child); }
      }
    }
    const canvas = h("div", { class: "graph-box", id: "column-graph" });
    const direct = lin ? lin.upstream : [];
    view.replaceChildren(
      h("h1", {}, h("a", { href: "#node=" + encodeURIComponent(uid) }, n.display_name), "." + col),
      h("p", { class: "description" }, (n.columns[col] || {}).description || ""),
      lin
        ? h(
            "div",
            { class: "card" },
            h("h2", {}, "Computed from ", badge(lin.transform, lin.transform)),
            direct.length
              ? h("ul", { id: "column-upstream" }, direct.map((u) => h("li", {}, u.node ? h("a", { href: "#column=" + encodeURIComponent(u.node + "|" + u.column) }, label(u.node) + "." + u.column) : u.table + "." + u.column)))
              : h("p", { class: "muted", id: "column-upstream" }, "no column: a constant or a count of rows"),
            lin.through.length ? h("p", { class: "muted" }, "through the ephemeral model(s) ", joinNodes(lin.through.map(nodeLink), ", ")) : null
          )
        : h("p", { class: "muted" }, "No column lineage for this column" + ((LINEAGE[uid] || {}).error ? ": " + LINEAGE[uid].error : ".")),
      h("p", { class: "muted" }, "Every column it comes from (left) and every column computed from it (right). Click one to follow it."),
      canvas
    );
    const nodes = [...keys].map((k) => {
      const [u, c] = splitKey(k);
      return { id: k, label: label(u) + "." + c, kind: NODES[u] ? NODES[u].resource_type : "other", focus: k === key };
    });
    const unique = [...new Set(edges.map((e) => e.join("\u0000")))].map((e) => e.split("\u0000"));
    drawGraph(canvas, nodes, unique, (k) => { location.hash = "column=" + encodeURIComponent(k); }, "columns");
    markCurrent(uid);
  }

  // --- overview and charts -----------------------------------------------------------------

  function showOverview() {
    const counts = {};
    for (const uid of UIDS) counts[NODES[uid].resource_type] = (counts[NODES[uid].resource_type] || 0) + 1;
    const run = DATA.metadata.run;
    const charts = h("div", { class: "charts" });
    const parts = [
      h("h1", {}, DATA.metadata.project_name),
      h(
        "p",
        {},
        Object.entries(counts).map(([k, v]) => `${v} ${k}s`).join(", ") +
          `. Docs generated ${fmtTime(DATA.metadata.generated_at)}` +
          (run ? `; last run: runner ${run.command} at ${fmtTime(run.generated_at)}.` : "; no run yet.")
      ),
      DATA.metadata.notes.map((t) => h("p", { class: "error" }, t)),
      h("h2", {}, "The marts at a glance"),
      charts,
    ];
    view.replaceChildren(...parts);
    for (const chart of DATA.charts) {
      const box = h("div", { class: "chart-body", "data-chart": chart.id });
      charts.append(h("figure", { class: "card chart" }, h("h3", {}, chart.title), h("p", { class: "muted" }, chart.description), box));
      if (chart.missing) {
        box.append(h("p", { class: "muted missing" }, "Not drawn: " + chart.missing));
        continue;
      }
      vegaEmbed(box, chart.spec, { actions: false, renderer: "svg", mode: "vega-lite" }).catch((err) => {
        box.append(h("p", { class: "error" }, "Chart failed: " + err.message));
      });
    }
    markCurrent(null);
  }

  // --- routing -----------------------------------------------------------------------------

  function route() {
    const hash = decodeURIComponent(location.hash.replace(/^#/, ""));
    const eq = hash.indexOf("=");
    const [kind, arg] = eq < 0 ? [hash, ""] : [hash.slice(0, eq), hash.slice(eq + 1)];
    for (const tab of document.querySelectorAll("nav.tabs a")) tab.classList.toggle("current", tab.dataset.kind === (kind || "overview"));
    if (kind === "node") showNode(arg);
    else if (kind === "lineage") showLineage(arg);
    else if (kind === "column") showColumn(arg);
    else showOverview();
    window.scrollTo(0, 0);
  }

  window.addEventListener("hashchange", route);
  drawList(null);
  route();
  document.body.dataset.ready = "true";
})();
