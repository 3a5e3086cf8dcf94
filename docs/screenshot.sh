#!/usr/bin/env bash
# Regenerates docs/dashboard.png: crawls the demo into a temporary store, serves it, and has
# headless Chromium photograph the page of the scores table. Needs `make venv browser`.
set -euo pipefail
cd "$(dirname "$0")/.."
store_dir=$(mktemp -d)
store="sqlite:///$store_dir/lineage.db"
.venv/bin/lineage crawl --config fixtures/demo/crawl.toml --store "$store" >/dev/null
.venv/bin/lineage serve --store "$store" --port 8059 >/dev/null 2>&1 &
server=$!
trap 'kill $server; rm -rf "$store_dir"' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:8059/ >/dev/null && break; sleep 0.2; done
page="http://127.0.0.1:8059/node/dataset%3Apostgres%3A%2F%2Fwarehouse.bank.internal%3A5432%2Fcredit.ml.credit_scores"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$store_dir/chromium" --hide-scrollbars \
  --virtual-time-budget=8000 --window-size=1400,900 --screenshot=docs/dashboard.png "$page" 2>/dev/null
echo "wrote docs/dashboard.png"
