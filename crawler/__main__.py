"""``python -m crawler`` is the ``lineage`` program."""

from crawler.cli import main

main(prog_name="lineage")
