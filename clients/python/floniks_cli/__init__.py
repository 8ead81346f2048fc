"""`floniks`: script Floniks from the shell, on the generated client (floniks_client)."""
