"""How the dashboard looks: the cytoscape stylesheet and the page's inline styles."""

from __future__ import annotations

from typing import Any

UPSTREAM = "#2b6cb0"
DOWNSTREAM = "#dd6b20"
ROOT = "#1a202c"
JOB = "#718096"

GRAPH_STYLESHEET: list[dict[str, Any]] = [
    {"selector": "node", "style": {
        "label": "data(label)", "font-size": "11px", "text-valign": "bottom", "text-margin-y": "4px",
        "text-wrap": "ellipsis", "text-max-width": "180px", "color": "#1a202c",
    }},
    {"selector": ".dataset", "style": {"shape": "round-rectangle", "width": 34, "height": 22}},
    {"selector": ".view", "style": {"shape": "round-diamond"}},
    {"selector": ".job", "style": {"shape": "ellipse", "width": 12, "height": 12, "background-color": JOB,
                                   "font-size": "8px", "color": "#718096"}},
    {"selector": ".upstream.dataset", "style": {"background-color": UPSTREAM}},
    {"selector": ".downstream.dataset", "style": {"background-color": DOWNSTREAM}},
    {"selector": ".root", "style": {"background-color": ROOT, "width": 44, "height": 28, "font-weight": "bold"}},
    {"selector": "edge", "style": {
        "curve-style": "bezier", "target-arrow-shape": "triangle", "width": 1.5,
        "line-color": "#a0aec0", "target-arrow-color": "#a0aec0",
    }},
    {"selector": "edge.upstream", "style": {"line-color": UPSTREAM, "target-arrow-color": UPSTREAM}},
    {"selector": "edge.downstream", "style": {"line-color": DOWNSTREAM, "target-arrow-color": DOWNSTREAM}},
    {"selector": ":selected", "style": {"border-width": 3, "border-color": "#38a169", "line-color": "#38a169"}},
]

# Layered, left to right: sources on the left, the root in the middle, consumers on the right.
GRAPH_LAYOUT = {"name": "dagre", "rankDir": "LR", "nodeSep": 28, "rankSep": 60, "padding": 20, "animate": False}

PAGE_STYLE = {"fontFamily": "system-ui, sans-serif", "margin": "0 auto", "maxWidth": "1400px", "padding": "0 16px"}
HEADER = {"display": "flex", "alignItems": "center", "gap": "24px", "borderBottom": "1px solid #e2e8f0",
          "padding": "10px 0"}
SEARCH_BOX = {"width": "420px", "padding": "6px 10px", "fontSize": "15px"}
GRAPH_BOX = {"width": "100%", "height": "560px", "border": "1px solid #e2e8f0", "borderRadius": "6px"}
COLUMNS = {"display": "grid", "gridTemplateColumns": "minmax(0, 3fr) minmax(300px, 1fr)", "gap": "16px"}
TH = {"textAlign": "left", "paddingRight": "10px", "whiteSpace": "nowrap", "verticalAlign": "top"}
DETAILS = {"overflowWrap": "anywhere", "minWidth": 0}
SQL = {"whiteSpace": "pre-wrap", "background": "#f7fafc", "padding": "8px", "fontSize": "12px",
       "border": "1px solid #edf2f7", "borderRadius": "4px", "margin": "4px 0 12px 0"}
MUTED = {"color": "#718096", "fontSize": "13px"}
LEGEND_SWATCH = {"display": "inline-block", "width": "12px", "height": "12px", "borderRadius": "3px",
                 "marginRight": "4px", "verticalAlign": "middle"}
