"""Conversation and action ids from CRMs, whatever they hold, in the pages' links.

Every page that links a conversation is opened by every role that may see it, for ids
with `/`, `#`, `?`, `%`, spaces and non-ASCII; each link to a conversation is followed and
must open that conversation. And no NUL from a URL or a cookie, no date beyond what a date
can name, reaches the database: a 400 or 404, never a 500.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
from django.utils.html import escape
from django_tenants.utils import tenant_context

from feedback import queues
from feedback.tests.factories import DraftFactory, FeedbackFactory
from outcomes import rules
from outcomes.models import Conversation
from outcomes.tests.factories import OutcomeFactory, today_noon

IDS = [
    "crm/1/t",
    "a#b?c=d",
    "50% off",
    "with space",
    "ünïcødé/名前",
    "a/../b",  # a browser would resolve `/../` in a path: each `/` is sent as %2F
    "ends/",
    "..",  # no path segment can be `..`: linked as ?id=
]
ROLES = ("rep", "manager", "executive", "admin")
REVIEWERS = ("manager", "admin")  # the roles that are staff: the tenant admin is theirs
HREF = re.compile(r'href="([^"]*)"')
ANCHOR_ID = re.compile(r'id="([^"]*)"')


def seed(world, external_id: str) -> dict[str, str]:
    """alpha-rep's conversation `external_id`: an escalation (needs you), an action the
    signals could not decide (to label), a manager's rating and a rewritten draft of it.
    The actions' ids hold the same characters."""
    with tenant_context(world.tenant):
        critical = OutcomeFactory(
            action_id=f"{external_id} esc",
            conversation_id=external_id,
            rep="alpha-rep",
            action_type="escalate",
            outcome_type=rules.ESCALATION_RESULT,
        )
        unclear = OutcomeFactory(
            action_id=f"{external_id} #2",
            conversation_id=external_id,
            rep="alpha-rep",
            status=rules.AMBIGUOUS,
        )
        FeedbackFactory(
            reviewer=world.users["manager"],
            target_id=unclear.action_id,
            conversation_id=external_id,
            rating=4,
        )
        DraftFactory(
            action_id=unclear.action_id,
            conversation_id=external_id,
            original_draft="Dear Dana, please find enclosed our full pricing sheet.",
            sent_version="Hi Dana, it is $38,400.",
        )
        queue = queues.create_queue(
            owner=world.users["manager"],
            name="Odd ids",
            reviewers=["alpha-rep", "alpha-manager"],
        )
        pk = Conversation.objects.get(external_id=external_id).pk
    return {
        "critical": critical.action_id,
        "unclear": unclear.action_id,
        "queue": f"q{queue.pk}",
        "conversation_pk": str(pk),
    }


def conversation_links(world, html: str) -> list[str]:
    links = [unescape(href) for href in HREF.findall(html)]
    return [link for link in links if link.startswith(world.url("conversations/"))]


def assert_links_open(world, client, page: str, external_id: str) -> None:
    """`page` answers 200, links the conversation, and every such link opens it."""
    response = client.get(world.url(page))
    assert response.status_code == 200, (page, response.get("Location"))
    links = conversation_links(world, response.content.decode())
    assert links, f"{page} links no conversation"
    for link in set(links):
        # followed as a browser would: dot segments (`/../`) resolved first
        opened = client.get(urljoin("http://testserver/", link))
        assert opened.status_code == 200, (page, link)
        assert f"<h1>Conversation {escape(external_id)}</h1>" in opened.content.decode(), link


@pytest.mark.parametrize("external_id", IDS)
def test_every_page_that_links_a_conversation_opens_it(alpha, client, external_id) -> None:
    made = seed(alpha, external_id)
    day = f"{today_noon():%Y-%m-%d}"
    pages = [
        "feedback/review/recent/1/",
        "feedback/review/needs-you/1/",
        "feedback/review/to-label/1/",
        f"actions/{day}/",
        f"actions/{day}/?rep=alpha-rep",
    ]
    for role in ROLES:
        alpha.login(client, role)
        for page in pages:
            assert_links_open(alpha, client, page, external_id)
    for role in ("rep", "manager"):  # the reviewers of the manager's queue
        alpha.login(client, role)
        assert_links_open(alpha, client, f"feedback/review/{made['queue']}/1/", external_id)


@pytest.mark.parametrize("external_id", IDS)
def test_admin_lists_link_the_conversation(alpha, client, external_id) -> None:
    made = seed(alpha, external_id)
    pages = [
        "admin/outcomes/conversation/",
        "admin/outcomes/outcomerecord/",
        "admin/outcomes/ambiguousoutcome/",
        "admin/feedback/feedbackentry/",
        "admin/feedback/draftfeedback/",
        f"admin/outcomes/conversation/{made['conversation_pk']}/change/",  # view on site
        f"admin/outcomes/conversation/?q={external_id.replace('%', '%25')}",
    ]
    for role in REVIEWERS:
        alpha.login(client, role)
        for page in pages:
            assert_links_open(alpha, client, page, external_id)


@pytest.mark.parametrize("external_id", IDS)
def test_the_conversation_page_links_its_own_actions(alpha, client, external_id) -> None:
    seed(alpha, external_id)
    for role in ROLES:
        alpha.login(client, role)
        review = client.get(alpha.url("feedback/review/recent/1/")).content.decode()
        html = client.get(conversation_links(alpha, review)[0]).content.decode()
        anchors = set(ANCHOR_ID.findall(html))
        fragments = [
            unescape(href)[1:] for href in HREF.findall(html) if href.startswith("#action-")
        ]
        assert fragments, "the rating and the draft link the action they are about"
        for fragment in fragments:
            assert fragment in anchors, fragment
            assert " " not in fragment  # a valid HTML id


@pytest.mark.parametrize("external_id", ["crm/1/t", "ünïcødé/名前", "50% off"])
def test_the_path_may_spell_slashes_either_way(alpha, client, external_id) -> None:
    """The web server decodes %2F to `/` before Django routes: both spellings open it."""
    seed(alpha, external_id)
    alpha.login(client, "rep")
    encoded = "".join("%25" if c == "%" else "%20" if c == " " else c for c in external_id)
    for path in (encoded, encoded.replace("/", "%2F")):
        response = client.get(alpha.url(f"conversations/{path}/"))
        assert response.status_code == 200, path
    assert client.get(alpha.url("conversations/crm%2F1/")).status_code == 404
    assert client.get(alpha.url("conversations/")).status_code == 404  # no id at all


def test_an_id_the_api_accepts_is_linked_and_opened(alpha, client) -> None:
    body = {
        "action_id": "crm/1/t:action",
        "conversation_id": "crm/1/t",
        "rep": "alpha-rep",
        "action_type": "send_email",
        "predicted_confidence": 0.7,
        "outcome_type": "email_engagement",
        "occurred_at": f"{today_noon() - timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}",
    }
    created = client.post(
        alpha.url("api/v1/outcomes/"),
        data=json.dumps(body),
        content_type="application/json",
        **alpha.bearer("agent"),
    )
    assert created.status_code == 201, created.content
    for role in ROLES:
        alpha.login(client, role)
        assert_links_open(alpha, client, "feedback/review/recent/1/", "crm/1/t")
        assert_links_open(alpha, client, f"actions/{today_noon():%Y-%m-%d}/", "crm/1/t")


def test_someone_elses_conversation_stays_out_of_reach(alpha, beta, client) -> None:
    seed(alpha, "crm/1/t")
    beta.login(client, "admin")
    assert client.get(beta.url("conversations/crm%2F1%2Ft/")).status_code == 404
    assert client.get(beta.url("conversations/?id=crm/1/t")).status_code == 404


# --- what never reaches the database ---------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_days_a_date_cannot_step_past_are_not_found(alpha, client, day) -> None:
    alpha.login(client, "manager")
    assert client.get(alpha.url(f"actions/{day}/")).status_code == 404


@pytest.mark.parametrize("day", ["9999-12-30", "0001-01-02"])
def test_the_days_next_to_them_open(alpha, client, day) -> None:
    alpha.login(client, "manager")
    assert client.get(alpha.url(f"actions/{day}/")).status_code == 200


@pytest.mark.parametrize(
    "page",
    [
        "rep/?rep=%00",
        "rep/?rep=alpha-rep%00",
        "actions/2026-01-05/?rep=%00",
        "actions/2026-01-05/?action_type=%00",
        "conversations/x%00/",
        "conversations/?id=x%00",
        "feedback/review/recent/1/?x%00=1",
        "manager/?action_type=%00",
    ],
)
def test_a_nul_in_a_page_address_is_a_400(alpha, client, page) -> None:
    alpha.login(client, "manager")
    response = client.get(alpha.url(page))
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "api/v1/outcomes/?conversation_id=%00",
        "api/v1/outcomes/x%00/",
        "api/v1/analytics/rep/?rep=%00",
    ],
)
def test_a_nul_in_an_api_address_is_a_json_400(alpha, client, path) -> None:
    response = client.get(alpha.url(path), **alpha.bearer("manager"))
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert "no-store" in response["Cache-Control"]


def test_a_nul_in_a_cookie_is_a_400(alpha, client) -> None:
    client.cookies["sessionid_alpha"] = "\x00abcdefgh"  # sent quoted, as "\\000abcdefgh"
    assert "\\000" in client.cookies.output()
    assert client.get(alpha.url("rep/")).status_code == 400


def test_a_nul_in_a_link_comment_is_a_400(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        OutcomeFactory(action_id="crm/1/t:a", conversation_id="crm/1/t", rep="alpha-rep")
    made = client.post(
        alpha.url("api/v1/feedback/links/"),
        data=json.dumps(
            {
                "target_type": "message",
                "target_id": "crm/1/t:a",
                "conversation_id": "crm/1/t",
                "reviewer": "alpha-rep",
            }
        ),
        content_type="application/json",
        **alpha.bearer("agent"),
    )
    assert made.status_code == 200, made.content
    good = urlsplit(made.json()["links"]["1"]).path
    assert client.post(good).status_code == 200
    refused = client.post(good, {"comment": "a\x00b"})
    assert refused.status_code == 400 and "NUL" in refused.content.decode()
    assert client.post(good, {"comment": "ok"}).status_code == 200


def test_a_nul_in_a_label_comment_labels_nothing(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        unclear = OutcomeFactory(conversation_id="crm/1/t", rep="alpha-rep", status=rules.AMBIGUOUS)
    alpha.login(client, "manager")
    page = f"admin/outcomes/ambiguousoutcome/{unclear.pk}/label/positive/"
    response = client.post(alpha.url(page), {f"comment-{unclear.pk}": "a\x00b"}, follow=True)
    assert response.status_code == 200 and "NUL" in response.content.decode()
    with tenant_context(alpha.tenant):
        unclear.refresh_from_db()
        assert unclear.status == rules.AMBIGUOUS


def test_a_refused_id_says_which_characters_are_allowed(alpha, client) -> None:
    api = alpha.url("api/v1/")
    for path, body, field in (
        (
            "outcomes/",
            {
                "action_id": "a b",
                "conversation_id": "c",
                "action_type": "send_email",
                "predicted_confidence": 0.5,
                "outcome_type": "email_engagement",
            },
            "action_id",
        ),
        ("signals/", {"conversation_id": "c#1", "kind": "replied"}, "conversation_id"),
    ):
        r = client.post(api + path, body, content_type="application/json", **alpha.bearer("agent"))
        assert r.status_code == 400, r.content
        assert "letters A-Z and a-z, digits, and _ . : @ / + -" in str(r.json()[field]), r.json()
