"""Every component id of the dashboard, in one place."""

from __future__ import annotations

URL = "url"
PAGE = "page"
SEARCH_INPUT = "search-input"
SEARCH_RESULTS = "search-results"
SEARCH_GO = "search-go"  # a Location that Enter in the search box moves

# the node page
NODE_ROOT = "node-root"
GRAPH = "lineage-graph"
UPSTREAM_DEPTH = "upstream-depth"
DOWNSTREAM_DEPTH = "downstream-depth"
DATASETS_ONLY = "datasets-only"
AS_OF = "as-of"
GRAPH_NOTE = "graph-note"
CENTRED = "graph-centred"
DOUBLE_TAP = "graph-double-tap"  # set once a double tap opens node pages
NODE_DETAILS = "node-details"
EDGE_DETAILS = "edge-details"

# the impact page
IMPACT_GRID = "impact-grid"
IMPACT_CSV_BUTTON = "impact-csv-button"
IMPACT_CSV = "impact-csv"
IMPACT_ROOT = "impact-root"
IMPACT_SUMMARY = "impact-summary"
IMPACT_REFRESHED = "impact-refreshed"  # set once the grid is asked again, the whole impact in
