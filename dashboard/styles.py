"""How the dashboard looks: the cytoscape stylesheet and the page's inline styles."""

from __future__ import annotations

from typing import Any

from dashboard.layout import LABEL_WIDTH

UPSTREAM = "#2b6cb0"
DOWNSTREAM = "#dd6b20"
ROOT = "#1a202c"
JOB = "#718096"
MODEL = "#805ad5"

# Labels are at least 12 px at 100% zoom (the page opens at 100%, centred on its node), on a white
# background so that an edge passing under one does not cross its text.
_LABEL = {"font-size": "13px", "color": "#1a202c", "text-background-color": "#ffffff",
          "text-background-opacity": 0.9, "text-background-padding": "2px", "text-background-shape": "roundrectangle"}

GRAPH_STYLESHEET: list[dict[str, Any]] = [
    {"selector": "node", "style": {
        "label": "data(label)", "text-valign": "bottom", "text-margin-y": "4px", **_LABEL,
        "text-wrap": "ellipsis", "text-max-width": f"{LABEL_WIDTH - 10}px", "min-zoomed-font-size": 0,
    }},
    {"selector": ".dataset", "style": {"shape": "round-rectangle", "width": 34, "height": 22}},
    {"selector": ".view", "style": {"shape": "round-diamond"}},
    {"selector": ".model_version, .model", "style": {"shape": "hexagon", "width": 30, "height": 26,
                                                     "background-color": MODEL}},
    {"selector": ".column", "style": {"shape": "round-rectangle", "width": 26, "height": 14}},
    {"selector": ".job", "style": {"shape": "ellipse", "width": 14, "height": 14, "background-color": JOB,
                                   "font-size": "12px", "color": "#4a5568"}},
    {"selector": ".upstream.dataset, .upstream.column", "style": {"background-color": UPSTREAM}},
    {"selector": ".downstream.dataset, .downstream.column", "style": {"background-color": DOWNSTREAM}},
    {"selector": ".root", "style": {"background-color": ROOT, "width": 44, "height": 28, "font-weight": "bold"}},
    {"selector": "node.more", "style": {"shape": "round-rectangle", "width": 20, "height": 14,
                                        "background-color": "#e2e8f0", "border-width": 1, "border-color": "#a0aec0",
                                        "font-style": "italic", "color": "#4a5568"}},
    # Edges run through the gaps the server's layout keeps free of labels (dashboard/layout.py).
    {"selector": "edge", "style": {
        "curve-style": "segments", "edge-distances": "node-position", "segment-weights": "data(weights)",
        "segment-distances": "data(distances)", "target-arrow-shape": "triangle", "width": 1.5,
        "line-color": "#a0aec0", "target-arrow-color": "#a0aec0",
    }},
    {"selector": "edge.straight", "style": {"curve-style": "straight"}},
    # The column view: a box per table, a row per column with its name inside (as DataHub draws it).
    {"selector": "node.table-box", "style": {"shape": "round-rectangle", "background-color": "#f7fafc",
                                             "background-opacity": 1, "border-width": 1, "border-color": "#a0aec0",
                                             "padding": "6px", "text-valign": "bottom", "font-weight": "bold"}},
    {"selector": "node.table-box.root", "style": {"border-color": ROOT, "border-width": 2,
                                                  "background-color": "#f7fafc"}},
    {"selector": "node.column", "style": {"width": 150, "height": 22, "text-valign": "center", "text-margin-y": 0,
                                          "color": "#ffffff", "text-background-opacity": 0,
                                          "text-max-width": "140px"}},
    {"selector": "edge.indirect", "style": {"line-style": "dashed"}},
    {"selector": "edge.upstream", "style": {"line-color": UPSTREAM, "target-arrow-color": UPSTREAM}},
    {"selector": "edge.downstream", "style": {"line-color": DOWNSTREAM, "target-arrow-color": DOWNSTREAM}},
    # A folded edge names its jobs when selected (clicked): drawn always, the names would lie on
    # the other edges that share its channel.
    {"selector": "edge.folded:selected", "style": {"label": "data(label)", **_LABEL, "font-size": "12px",
                                                   "color": "#4a5568", "text-wrap": "ellipsis",
                                                   "text-max-width": "160px"}},
    {"selector": "edge.more", "style": {"line-style": "dashed", "line-color": "#a0aec0",
                                        "target-arrow-color": "#a0aec0"}},
    {"selector": ":selected", "style": {"border-width": 3, "border-color": "#38a169", "line-color": "#38a169",
                                        "target-arrow-color": "#38a169"}},
]

# Layered, left to right, placed on the server (dashboard/layout.py): sources on the left, the
# root in the middle, consumers on the right. Not fitted: the page opens at 100% (readable labels)
# centred on the root (a clientside callback).
GRAPH_LAYOUT = {"name": "preset", "padding": 30, "animate": False, "fit": False}

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
CONTROLS = {"display": "flex", "alignItems": "center", "gap": "18px", "margin": "8px 0", "fontSize": "14px",
            "flexWrap": "wrap"}
DEPTH_BOX = {"width": "52px", "marginLeft": "6px", "padding": "2px 4px", "fontSize": "14px"}
AS_OF_BOX = {**DEPTH_BOX, "width": "150px"}
SUGGESTIONS = {"position": "absolute", "zIndex": 10, "background": "#ffffff", "border": "1px solid #e2e8f0",
               "borderRadius": "4px", "boxShadow": "0 4px 12px rgba(0,0,0,0.08)", "width": "520px",
               "maxHeight": "420px", "overflowY": "auto", "padding": "0 8px"}
GRID = {"height": "520px", "width": "100%"}
SUMMARY = {"fontSize": "15px", "margin": "6px 0 10px 0"}
TABLE = {"borderCollapse": "collapse", "margin": "4px 0 12px 0", "fontSize": "14px"}
TD = {"padding": "2px 12px 2px 0", "verticalAlign": "top"}
