"""Composition: the pages and API answers that show both apps at once — the dashboard, the
workflow page and the workflow API answer (versions and pointers with records, pins and
drift), and the demo workspace. It imports both apps; neither app imports it.

Layers, top to bottom (import-linter holds them, `make lint`): floniks → composition →
runs_app → templates_app → core."""
