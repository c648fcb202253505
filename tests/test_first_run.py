"""What a new user does first: the demo tenant, signing in, the agent's first call."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command


def seed(tmp_path, settings) -> dict:
    settings.DATA_DIR = tmp_path
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_demo_manager_signs_in_and_lands_on_the_manager_page(db, client, tmp_path, settings):
    demo = seed(tmp_path, settings)
    assert demo["web_url"] == "http://127.0.0.1:8000/t/demo/"
    assert {u["role"] for u in demo["users"]} == {"rep", "manager", "executive", "admin"}

    login_page = client.get("/t/demo/login/")
    assert login_page.status_code == 200
    response = client.post(
        "/t/demo/login/",
        {
            "username": "maria",
            "password": demo["password"],
            "csrfmiddlewaretoken": client.cookies["csrftoken_demo"].value,
        },
        follow=True,
    )
    assert response.redirect_chain == [("/t/demo/", 302), ("/t/demo/manager/", 302)]
    assert response.status_code == 200
    assert b"My team" in response.content


def test_demo_seed_is_idempotent_and_its_agent_key_works(db, client, tmp_path, settings):
    first = seed(tmp_path, settings)
    second = seed(tmp_path, settings)
    assert first == second
    assert first["has_history"] is False
    response = client.get("/t/demo/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {first['agent_key']}")
    assert response.json()["agent_key"] == "demo-agent"
