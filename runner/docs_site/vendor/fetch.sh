#!/usr/bin/env bash
# How the JavaScript in this folder was fetched: from the npm registry with `npm pack`, at
# pinned versions. The docs site inlines these files into target/docs/index.html, so the page
# works from file:// and makes no request to any other host. To upgrade, change a version
# below, run this script from anywhere, check the page (tests/test_docs_site.py), and commit.
#
# The trailing `//# sourceMappingURL=...` comment is removed: the maps are not shipped, and a
# browser's developer tools would otherwise try to load them.
set -euo pipefail

DAGRE=0.8.5        # graph layout for the lineage view (bundles graphlib and lodash)
VEGA=6.4.0         # chart runtime
VEGA_LITE=6.5.0    # chart grammar, compiled to Vega in the page
VEGA_EMBED=7.3.0   # glue: vegaEmbed(element, spec)

here="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"

take() {  # take PACKAGE VERSION FILE-IN-PACKAGE NAME-HERE
  local tarball
  tarball="$(npm pack --silent "$1@$2")"
  mkdir -p "$1" && tar xzf "$tarball" -C "$1"
  sed '/^\/\/# sourceMappingURL=/d; s#//\# sourceMappingURL=[^ ]*$##' "$1/package/$3" > "$here/$4"
  cp "$1/package/LICENSE" "$here/$4.LICENSE"
  echo "$1@$2 -> $4 ($(wc -c < "$here/$4") bytes)"
}

take dagre "$DAGRE" dist/dagre.min.js dagre.min.js
take vega "$VEGA" build/vega.min.js vega.min.js
take vega-lite "$VEGA_LITE" build/vega-lite.min.js vega-lite.min.js
take vega-embed "$VEGA_EMBED" build/vega-embed.min.js vega-embed.min.js
