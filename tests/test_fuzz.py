"""API fuzzing: Schemathesis generates requests from the tenant's own OpenAPI schema for
every operation, as the agent and as each role, both valid ones and ones the schema says
are invalid, and runs every check it has (`--checks all`): no server error, every response
as documented (status codes, content types, bodies, headers), every request the schema
forbids refused, undocumented methods refused with a right `Allow` header, and so on."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

ROLES = ("agent", "rep", "manager", "executive", "admin")
EXAMPLES = 12
# Every check but one. positive_data_acceptance expects any schema-valid request to
# succeed, but a schema cannot say which conversations, outcomes or reviewers exist, nor
# which role may act on them: those get a 400 naming the field, a 403 or a 404.
EXCLUDED = [positive_data_acceptance]
load_all_checks()
CHECKS_ALL = [check for check in CHECKS.get_all() if check not in EXCLUDED]


@pytest.fixture
def api_schema(alpha, settings):
    # ignored_auth sends wrong credentials hundreds of times from one address: past
    # BAD_TOKEN_RATE they rightly get 429 (tested in learning/tests/test_lockout.py).
    settings.BAD_TOKEN_RATE = "100000/m"
    # As Django's test client does: the test's transaction must outlive each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(alpha.url("api/v1/schema/"), get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _fuzz(operation: Any, headers: dict[str, str], mode: GenerationMode) -> str | None:
    """Run one operation's examples; the failure and a request that shows it, or None."""
    example: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        case.headers = {**(case.headers or {}), **headers}  # the role's own credential
        response = case.call()
        try:
            case.validate_response(response, checks=CHECKS_ALL, headers=case.headers)
        except BaseException:
            example[:] = [
                f"{case.as_curl_command()}\n  -> {response.status_code} {response.text[:300]}"
            ]
            raise

    try:
        fuzz()
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        details = getattr(error, "exceptions", [error])
        found = " | ".join(str(e)[:1500] for e in details)
        return f"{operation.label} ({mode}): {found}\n  e.g. {example[0] if example else ''}"
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("role", ROLES)
def test_every_operation(role, mode, alpha, api_schema) -> None:
    headers = {"Authorization": alpha.bearer(role)["HTTP_AUTHORIZATION"]}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    failures = [f for f in (_fuzz(op, headers, mode) for op in operations) if f]
    assert not failures, "\n\n".join(failures)


# What the fuzzer found, pinned down.


def test_filter_times_with_offsets_postgresql_refuses_are_answered(alpha, client) -> None:
    # +17:54 is a valid ISO offset that PostgreSQL refuses: turned to UTC first.
    for url in (
        "api/v1/outcomes/?occurred_before=1113-12-14T21:10:55.2%2B17:54",
        "api/v1/feedback/?rated_after=0001-01-01T00:00%2B05:00",
    ):
        response = client.get(alpha.url(url), **alpha.bearer("admin"))
        assert response.status_code == 200, response.content


def test_every_error_body_is_an_object_and_only_json_is_parsed(alpha, client) -> None:
    bad = client.get(alpha.url("api/v1/calibration/no%20spaces/"), **alpha.bearer("agent"))
    assert bad.status_code == 400 and list(bad.json()) == ["action_type"]
    form = client.post(
        alpha.url("api/v1/signals/"),
        "conversation_id=c-1&kind=replied",
        content_type="application/x-www-form-urlencoded",
        **alpha.bearer("agent"),
    )
    assert form.status_code == 415


def test_unmatched_api_urls_answer_json(alpha, client) -> None:
    response = client.post(
        alpha.url("api/v1/outcomes/-3/label/"),
        {"status": "positive"},
        content_type="application/json",
        **alpha.bearer("manager"),
    )
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    assert client.get(alpha.url("no-such-page/"))["Content-Type"].startswith("text/html")


def _schema(alpha, client) -> dict:
    return client.get(alpha.url("api/v1/schema/?format=json")).json()


def test_the_schema_says_what_the_api_enforces(alpha, client) -> None:
    schema = _schema(alpha, client)
    (path_param,) = schema["paths"]["/api/v1/calibration/{action_type}/"]["get"]["parameters"]
    assert path_param["schema"]["pattern"] == "^[a-z][a-z0-9_.-]{0,63}$"
    components = schema["components"]["schemas"]
    assert components["SignalInRequest"]["properties"]["data"]["type"] == "object"
    assert components["OutcomeInRequest"]["properties"]["attributes"]["type"] == "object"
    for name, field in (("DraftInRequest", "sent_at"), ("SignalInRequest", "occurred_at")):
        assert components[name]["properties"][field]["pattern"] == "^([2-9][0-9]{3})-"
    listing = schema["paths"]["/api/v1/outcomes/"]["get"]["parameters"]
    bounds = {p["name"]: (p["schema"].get("minimum"), p["schema"].get("maximum")) for p in listing}
    assert bounds["limit"] == (1, 1000) and bounds["offset"] == (0, 1_000_000_000)


def test_what_the_schema_forbids_is_refused(alpha, client) -> None:
    signal = {"conversation_id": "c-1", "kind": "opened"}
    assert alpha.api_post(client, "signals/", {**signal, "data": None}).status_code == 400
    draft = {"action_id": "a-1", "conversation_id": "c-1", "original_draft": "", "sent_version": ""}
    early = alpha.api_post(client, "drafts/", {**draft, "sent_at": "1999-12-31T23:00:00-05:00"})
    assert early.status_code == 400 and list(early.json()) == ["sent_at"]
    on_time = alpha.api_post(client, "drafts/", {**draft, "sent_at": "2000-01-01T00:00:00+05:00"})
    assert on_time.status_code == 201
    calibrate = alpha.api_post(
        client, "calibrate/", {"action_type": "send_email", "confidence": "0.5"}
    )
    assert calibrate.status_code == 400 and list(calibrate.json()) == ["confidence"]
    for url, field in (
        ("api/v1/coaching/patterns/?kind=", "kind"),
        ("api/v1/outcomes/?offset=null", "offset"),
        ("api/v1/outcomes/?limit=0", "limit"),
        ("api/v1/outcomes/?limit=%C2%B2", "limit"),  # a superscript two: not a whole number
        ("api/v1/outcomes/?status=", "status"),
        ("api/v1/feedback/?rated_after=", "rated_after"),
    ):
        role = "manager" if "feedback" in url else "agent"
        response = client.get(alpha.url(url), **alpha.bearer(role))
        assert response.status_code == 400 and field in response.json(), url
    assert client.get(alpha.url("rep/?days=%C2%B2"), **alpha.bearer("rep")).status_code != 500


def test_a_body_field_takes_only_its_own_json_type(alpha, client) -> None:
    """DRF alone stores 0 as "0" in a text field and takes "1" for true: found by
    negative_data_rejection on the served app. Refused with the field named, nothing stored."""
    from django_tenants.utils import tenant_context

    from feedback.models import DraftFeedback

    draft = {"action_id": "a-typed", "conversation_id": "c-1", "original_draft": "Hi"}
    for wrong, field in (
        ({"sent_version": "Hi", "intent": 0}, "intent"),
        ({"sent_version": 0}, "sent_version"),
        ({"sent_version": "Hi", "sent_at": 946684800}, "sent_at"),
    ):
        response = alpha.api_post(client, "drafts/", {**draft, **wrong})
        assert response.status_code == 400 and list(response.json()) == [field], wrong
        assert response.json()[field] == ["Must be a string."]
    calibrate = alpha.api_post(
        client, "calibrate/", {"action_type": "send_email", "confidence": True}
    )
    assert calibrate.status_code == 400 and calibrate.json() == {
        "confidence": ["Must be a number."]
    }
    with tenant_context(alpha.tenant):
        assert not DraftFeedback.objects.filter(action_id="a-typed").exists()
    assert alpha.api_post(client, "drafts/", {**draft, "sent_version": "Hi"}).status_code == 201


def test_the_schema_says_what_else_is_enforced(alpha, client) -> None:
    """What the served-app run found the schema silent about: a feedback entry's reviewer
    may be null (a draft edit's automatic score), signal kinds are a closed list, the
    analytics' action_type has the rule of an action type, an erasure takes an e-mail."""
    schema = _schema(alpha, client)
    components = schema["components"]["schemas"]
    assert components["Feedback"]["properties"]["reviewer"]["nullable"] is True
    kind = components["SignalInRequest"]["properties"]["kind"]
    kinds = components[kind["$ref"].rsplit("/", 1)[1]]["enum"] if "$ref" in kind else kind["enum"]
    assert "replied" in kinds and "bounced" in kinds
    for view in ("rep", "manager", "executive"):
        parameters = schema["paths"][f"/api/v1/analytics/{view}/"]["get"]["parameters"]
        (action_type,) = [p for p in parameters if p["name"] == "action_type"]
        assert action_type["schema"]["pattern"] == "^[a-z][a-z0-9_.-]{0,63}$"
    assert components["ContactEraseInRequest"]["properties"]["email"]["format"] == "email"
    signal = schema["paths"]["/api/v1/signals/"]["post"]["responses"]
    assert "200" in signal and "201" in signal  # a retry answers 200
    reviewer = schema["paths"]["/api/v1/exports/labels.{fmt}"]["get"]["parameters"]
    (username,) = [p for p in reviewer if p["name"] == "reviewer"]
    assert username["schema"]["pattern"] == r"^[\p{L}\p{N}_.@+-]{1,150}$"  # Python's \w
    empty = client.get(alpha.url("api/v1/analytics/rep/?action_type="), **alpha.bearer("rep"))
    assert empty.status_code == 400 and list(empty.json()) == ["action_type"]
    unknown = alpha.api_post(client, "signals/", {"conversation_id": "c-1", "kind": "waved"})
    assert unknown.status_code == 400 and "Unknown signal kind 'waved'" in unknown.json()["kind"][0]


def test_an_unknown_key_with_a_line_break_is_a_400(alpha, client) -> None:
    """Found on the served app: msgspec quotes the unknown key, and a line break in it
    made the message unreadable to the field parser (500 on outcomes/ and outcomes/bulk/)."""
    outcome = {
        "action_id": "a-nl",
        "conversation_id": "c-nl",
        "action_type": "send_email",
        "predicted_confidence": 0.5,
        "outcome_type": "email_engagement",
        "content": {"channel": "email", "body": "Hi", "a\nb`c": 1},
    }
    one = alpha.api_post(client, "outcomes/", outcome)
    assert one.status_code == 400 and list(one.json()) == ["content"], one.content
    bulk = alpha.api_post(client, "outcomes/bulk/", [outcome])
    assert bulk.status_code == 400, bulk.content
    assert alpha.api_post(client, "outcomes/", {**outcome, "content": None}).status_code == 201


@pytest.mark.parametrize("confidence", [2.2250738585072014e-308, 2.225073858507e-311, 9e-10])
def test_a_vanishing_confidence_is_stored_as_zero(alpha, client, confidence) -> None:
    """Found on the served app: 2.2e-308 (the smallest double) was stored as sent, and
    PostgreSQL refused to square it ("value out of range: underflow") in the calibration
    bins, so labelling it answered 400 and would have failed the sweep and the rollups
    that met it. Below one in a billion a confidence is 0, by any path."""
    from django_tenants.utils import tenant_context

    from insights import rollups
    from outcomes.models import OutcomeRecord

    outcome = {
        "conversation_id": "c-tiny",
        "rep": "alpha-rep",
        "action_type": "send_email",
        "predicted_confidence": confidence,
        "outcome_type": "email_engagement",
    }
    one = alpha.api_post(client, "outcomes/", {**outcome, "action_id": "tiny-1"})
    assert one.status_code == 201 and one.json()["predicted_confidence"] == 0.0
    bulk = [{**outcome, "action_id": f"tiny-b{i}"} for i in range(250)]  # COPY from 200
    assert alpha.api_post(client, "outcomes/bulk/", bulk).status_code in (200, 201)
    with tenant_context(alpha.tenant):
        stored = set(
            OutcomeRecord.objects.filter(conversation__external_id="c-tiny").values_list(
                "predicted_confidence", flat=True
            )
        )
        assert stored == {0.0}
        pk = OutcomeRecord.objects.get(action_id="tiny-1").pk
    labelled = client.post(
        alpha.url(f"api/v1/outcomes/{pk}/label/"),
        json.dumps({"status": "positive"}),
        content_type="application/json",
        **alpha.bearer("manager"),
    )
    assert labelled.status_code == 200, labelled.content
    with tenant_context(alpha.tenant):
        rollups.refresh(full=True)  # the day holding them sums p * p
