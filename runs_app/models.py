"""Runs, steps, artifacts and version records (issue: Runs on Celery)."""
