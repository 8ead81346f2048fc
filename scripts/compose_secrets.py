"""Write the secrets docker-compose.yml mounts (./secrets/*), once: `python3 scripts/compose_secrets.py`.

Each file holds one value. The services read them through *_FILE variables, so no secret is in
the compose file, the environment of `docker inspect`, or the image. Files that already exist are
kept (re-running is safe); delete ./secrets to start over (the database volume keeps its old password).
Only the standard library: run it before anything is installed."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def values(existing: dict[str, str]) -> dict[str, str]:
    """Every secret, keeping those already written so the URLs stay consistent with the passwords."""

    def keep(name: str, make: str) -> str:
        return existing.get(name, make)

    postgres = keep("postgres_password", secrets.token_urlsafe(24))
    redis = keep("redis_password", secrets.token_urlsafe(24))
    return {
        "secret_key": keep("secret_key", secrets.token_urlsafe(50)),
        "postgres_password": postgres,
        "database_url": keep("database_url", f"postgresql://floniks:{postgres}@postgres:5432/floniks"),
        "redis_password": redis,
        "broker_url": keep("broker_url", f"redis://:{redis}@redis:6379/0"),
        "cache_url": keep("cache_url", f"redis://:{redis}@redis:6379/1"),
        "s3_access_key_id": keep("s3_access_key_id", "floniks-" + secrets.token_hex(6)),
        "s3_secret_access_key": keep("s3_secret_access_key", secrets.token_urlsafe(30)),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Write ./secrets/* for docker-compose.yml.")
    parser.add_argument("--dir", type=Path, default=ROOT / "secrets")
    args = parser.parse_args(argv)
    args.dir.mkdir(mode=0o700, exist_ok=True)
    existing = {path.name: path.read_text().strip() for path in args.dir.iterdir() if path.is_file()}
    for name, value in values(existing).items():
        path = args.dir / name
        if name in existing:
            continue
        # Readable by the containers' users (they run as other uids); the directory keeps others out.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
