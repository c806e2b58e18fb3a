// dbt selector syntax in the page: a port of runner/selection.py's grammar and methods
// (the same results on the same graph: tests/test_docs_site.py compares the two).
// state: and result: need a previous run's artifacts and are refused here.
"use strict";

const Selection = (() => {
  const METHODS = ["fqn", "path", "tag", "resource_type", "source", "config"];
  const RESOURCE_TYPES = ["model", "seed", "source"];
  const FILE_SUFFIXES = [".sql", ".csv", ".yml", ".yaml"];
  const OPERATORS_HINT =
    "graph operators are +x, x+, N+x, x+N, +x+ and @x; join parts with ',' to intersect, " +
    "separate selectors with spaces to unite";

  class SelectorError extends Error {}

  // Python's fnmatch.fnmatchcase: * ? [seq] [!seq], whole string, case-sensitive.
  const patterns = new Map();
  function fnmatch(name, pattern) {
    let re = patterns.get(pattern);
    if (!re) {
      let out = "";
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === "*") out += ".*";
        else if (c === "?") out += ".";
        else if (c === "[") {
          const end = pattern.indexOf("]", i + 2);
          if (end < 0) out += "\\[";
          else {
            let body = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
            if (body[0] === "!") body = "^" + body.slice(1);
            out += "[" + body + "]";
            i = end;
          }
        } else out += c.replace(/[.*+?^${}()|[\]\\\/]/g, "\\$&");
      }
      re = new RegExp("^" + out + "$", "s");
      patterns.set(pattern, re);
    }
    return re.test(name);
  }

  function prefixMatches(fqn, parts) {
    return parts.length <= fqn.length && parts.every((p, i) => fnmatch(fqn[i], p));
  }

  // PurePosixPath(value): no '.' parts, no empty parts, a leading '/' kept.
  function normalPath(value) {
    const parts = value.split("/").filter((p) => p !== "" && p !== ".");
    const text = parts.join("/");
    if (value.startsWith("/")) return "/" + text;
    return text || ".";
  }

  function pathAndParents(path) {
    const parts = path.split("/");
    const out = [path];
    for (let i = parts.length - 1; i > 0; i--) out.push(parts.slice(0, i).join("/"));
    out.push(".");
    return out;
  }

  // json.dumps(value, sort_keys=True) as Python writes it (", " and ": " separators).
  function pyJson(value) {
    if (value === null || value === undefined) return "null";
    if (Array.isArray(value)) return "[" + value.map(pyJson).join(", ") + "]";
    if (typeof value === "object")
      return (
        "{" +
        Object.keys(value)
          .sort()
          .map((k) => JSON.stringify(k) + ": " + pyJson(value[k]))
          .join(", ") +
        "}"
      );
    return JSON.stringify(value);
  }

  function asText(value) {
    if (typeof value === "boolean") return value ? "true" : "false";
    if (value !== null && typeof value === "object") return pyJson(value);
    return String(value);
  }

  function takeLeadingDepth(text) {
    const digits = text.length - text.replace(/^[0-9]+/, "").length;
    if (text[digits] !== "+") return [0, text];
    return [digits ? parseInt(text.slice(0, digits), 10) : null, text.slice(digits + 1)];
  }

  function takeTrailingDepth(text) {
    const stem = text.replace(/[0-9]+$/, "");
    if (!stem.endsWith("+")) return [0, text];
    const digits = text.slice(stem.length);
    return [digits ? parseInt(digits, 10) : null, stem.slice(0, -1)];
  }

  function parse(raw) {
    let text = raw;
    const at = text.startsWith("@");
    if (at) text = text.slice(1);
    const [children, afterTrailing] = takeTrailingDepth(text);
    const [parents, rest] = takeLeadingDepth(afterTrailing);
    if (at && rest !== afterTrailing)
      throw new SelectorError(`malformed selector '${raw}': '@' cannot take a leading '+'`);
    text = rest;
    if (!text) throw new SelectorError(`malformed selector '${raw}': nothing to select`);
    if (text.startsWith("@") || text.includes("+"))
      throw new SelectorError(`malformed selector '${raw}': ${OPERATORS_HINT}`);
    const colon = text.indexOf(":");
    let method = "";
    let value = text;
    if (colon >= 0) {
      method = text.slice(0, colon);
      value = text.slice(colon + 1);
      if (!method) throw new SelectorError(`malformed selector '${raw}': a method is missing`);
      if (!value) throw new SelectorError(`'${method}:' needs a value (in '${raw}')`);
    }
    if (method === "state" || method === "result")
      throw new SelectorError(
        `'${raw}': ${method}: selectors need a previous run's artifacts; use them with ` +
          "runner ls --state DIR"
      );
    const base = method.split(".")[0];
    if (method && (!METHODS.includes(base) || method === "config" || method === "config."))
      throw new SelectorError(
        `unknown selector method '${method}' in '${raw}' (valid: fqn, path, tag, ` +
          "config.<key>, resource_type, source)"
      );
    return { raw, method, value, parents, children, at };
  }

  function create(nodes) {
    const uids = Object.keys(nodes);
    const walk = (start, key, depth) => {
      const seen = new Set();
      let frontier = [start];
      let level = 0;
      while (frontier.length && (depth === null || level < depth)) {
        const next = [];
        for (const uid of frontier)
          for (const other of nodes[uid][key])
            if (!seen.has(other)) {
              seen.add(other);
              next.push(other);
            }
        frontier = next;
        level += 1;
      }
      return seen;
    };
    const ancestors = (uid, depth = null) => walk(uid, "parents", depth);
    const descendants = (uid, depth = null) => walk(uid, "children", depth);

    const matchers = {
      "": (n, v) =>
        fnmatch(n.name, v) ||
        prefixMatches(n.fqn, v.split(".")) ||
        prefixMatches(n.fqn.slice(1), v.split(".")),
      path: (n, v) => pathAndParents(n.path).some((p) => fnmatch(p, normalPath(v))),
      tag: (n, v) => n.tags.some((t) => fnmatch(t, v)),
      source: (n, v) => {
        if (n.resource_type !== "source") return false;
        const parts = v.split(".");
        if (parts.length === 3) return prefixMatches(n.fqn, parts);
        return prefixMatches([n.source_name, n.name], parts);
      },
    };
    matchers.fqn = matchers[""];

    function configMatches(n, key, value) {
      let found = n.config;
      for (const part of key.split(".")) {
        if (found === null || typeof found !== "object" || Array.isArray(found) || !(part in found)) {
          found = null;
          break;
        }
        found = found[part];
      }
      if ((found === null || found === undefined) && key === "materialized" && n.resource_type === "model")
        found = n.materialized;
      if (found === null || found === undefined) return false;
      const items = Array.isArray(found) ? found : [found];
      return items.some((item) => asText(item) === value);
    }

    function match(sel) {
      let { method } = sel;
      const { value } = sel;
      if (method === "" && (value.includes("/") || FILE_SUFFIXES.some((s) => value.endsWith(s))))
        method = "path";
      let test;
      if (method.startsWith("config.")) {
        const key = method.slice("config.".length);
        test = (n) => configMatches(n, key, value);
      } else if (method === "resource_type") {
        if (!RESOURCE_TYPES.includes(value))
          throw new SelectorError(`unknown resource type '${value}' in '${sel.raw}'`);
        test = (n) => n.resource_type === value;
      } else test = (n) => matchers[method](n, value);
      const found = new Set(uids.filter((uid) => test(nodes[uid])));
      const strict = ["", "fqn", "path", "tag", "source"].includes(method);
      if (strict && !found.size) {
        const what = { tag: "tag", source: "source" }[method] || "node";
        throw new SelectorError(`selector '${sel.raw}' matches no ${what}`);
      }
      return found;
    }

    function expand(sel) {
      const base = match(sel);
      const result = new Set(base);
      for (const uid of base) {
        if (sel.at) {
          const down = descendants(uid);
          down.add(uid);
          for (const d of down) {
            result.add(d);
            for (const a of ancestors(d)) result.add(a);
          }
          continue;
        }
        if (sel.parents !== 0) for (const a of ancestors(uid, sel.parents)) result.add(a);
        if (sel.children !== 0) for (const d of descendants(uid, sel.children)) result.add(d);
      }
      return result;
    }

    function intersection(term) {
      const parts = term.split(",");
      if (parts.some((p) => !p))
        throw new SelectorError(`malformed selector '${term}': empty part next to a ','`);
      const selectors = parts.map(parse);
      let result = expand(selectors[0]);
      for (const sel of selectors.slice(1)) {
        const other = expand(sel);
        result = new Set([...result].filter((uid) => other.has(uid)));
      }
      return result;
    }

    // The unique ids chosen by ``text`` (space-separated selectors, united).
    function select(text) {
      const terms = text.split(/\s+/).filter(Boolean);
      if (!terms.length) return new Set(uids);
      const chosen = new Set();
      for (const term of terms) for (const uid of intersection(term)) chosen.add(uid);
      return chosen;
    }

    return { select, ancestors, descendants };
  }

  return { create, SelectorError, fnmatch, parse };
})();
