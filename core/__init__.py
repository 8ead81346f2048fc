"""The shared core: what both apps build on (errors, roles, API plumbing, page helpers, admin helpers).

It imports neither app; the layer order is written in the README and enforced by import-linter."""
