"""Ops commands reach the embedded servers `make run` started (config/embedded.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from config import embedded


def test_running_urls_come_from_a_live_wrapper_only(tmp_path) -> None:
    path = tmp_path / "embedded-urls.json"
    assert embedded.running_urls(path) == {}  # no file
    urls = {"DATABASE_URL": "postgresql://x@127.0.0.1:5999/db", "REDIS_URL": "redis://h:1/0"}
    path.write_text(json.dumps({"pid": os.getpid(), **urls}))
    assert embedded.running_urls(path) == urls
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path.write_text(json.dumps({"pid": dead.pid, **urls}))
    assert embedded.running_urls(path) == {}  # its wrapper is gone: stale
    path.write_text("{not json")
    assert embedded.running_urls(path) == {}


def test_settings_prefer_the_running_embedded_servers_in_debug(tmp_path) -> None:
    urls = {"DATABASE_URL": "postgresql://x@127.0.0.1:5999/db", "REDIS_URL": "redis://h:1/0"}
    (tmp_path / "embedded-urls.json").write_text(json.dumps({"pid": os.getpid(), **urls}))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")} | {
        "DEBUG": "true",
        "LL_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    code = (
        "from django.conf import settings; import json; "
        "print(json.dumps([settings.DATABASES['default']['PORT'], settings.REDIS_URL]))"
    )
    out = subprocess.run(  # noqa: S603 - this interpreter, a constant script
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [5999, "redis://h:1/0"]
