"""The README's copy-paste examples work: each body is posted as the README posts it."""

from __future__ import annotations

import json
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def agent_calls() -> list[tuple[str, dict]]:
    text = README.read_text()
    block = text.split("<!-- agent-calls -->", 1)[1].split("<!-- /agent-calls -->", 1)[0]
    calls = re.findall(r'"\$API/([a-z/_]+)".*?-d \'(\{.*?\})\'', block, flags=re.S)
    return [(path, json.loads(body)) for path, body in calls]


def test_the_agents_first_calls_in_the_readme(alpha, client) -> None:
    calls = agent_calls()
    assert [path for path, _ in calls] == ["calibrate/", "outcomes/", "signals/"]
    answers = []
    for path, body in calls:
        response = client.post(
            alpha.url(f"api/v1/{path}"),
            body,
            content_type="application/json",
            **alpha.bearer("agent"),
        )
        assert response.status_code in (200, 201), (path, response.content)
        answers.append(response.json())
    assert "calibrated_confidence" in answers[0] and "escalate" in answers[0]
    assert answers[1]["status"] == "pending"
    assert '"positive"' in json.dumps(answers[2])  # the reply resolved the email
