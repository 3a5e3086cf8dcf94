#!/usr/bin/env bash
# Regenerates docs/dashboard*.png (home, node page of the scores table, impact, model, crawls) at
# 1280x800: the browser test walks the demo in headless Chromium and keeps its photographs.
# Needs `make venv browser`.
set -euo pipefail
cd "$(dirname "$0")/.."
LINEAGE_UPDATE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/dashboard/test_browser.py -q -p no:cacheprovider \
  -k "test_search_node_depth_fold_impact_csv_model_and_crawls and sqlite"
echo "wrote docs/dashboard*.png"
