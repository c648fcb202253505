"""Similar messages across conversations at scale: N inbound messages (1,000,000; QUICK
100,000) in N/5 conversations of 20 reps, written with COPY, the trigram index
(message_inbound_trgm) built after the load and timed. Then, on random conversations:

- the conversation page's query (outcomes.selectors.similar_conversations: top 5 by the
  last 3 inbound messages' trigram similarity), as an executive (the whole tenant) and as
  a rep (their own conversations only);
- the same query in one raw SQL statement (the baseline);
- a proposal's check (coaching.crosscheck.check, 5 replies: what they answered, then the
  similar messages elsewhere);
- one call of the baseline with the index switched off (a sequential scan), for scale
  (not at 1,000,000: minutes);
- EXPLAIN of the product's per-message query (the index must appear).

Texts: an opener, one or two asks (10 forms x 12 things, with names, numbers, products and
days), a sentence of specifics (4-8 words of a 5,000-word vocabulary, as real emails name
their own people, projects and figures) and a closer: like messages exist (the same ask)
but most pairs differ.
Prints JSON.
"""

import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connection  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from bench.fill import fill_conversations  # noqa: E402
from coaching import crosscheck  # noqa: E402
from learning import services  # noqa: E402
from learning.models import Role, User  # noqa: E402
from learning.tenancy.models import Tenant  # noqa: E402
from outcomes import selectors  # noqa: E402
from outcomes.models import Conversation  # noqa: E402

MESSAGES = int(sys.argv[1])
CALLS = int(os.environ.get("SIMILAR_CALLS", "40"))
NAMES = ["Maya", "Tom", "Ines", "Dana", "Lee", "Sam", "Priya", "Jo", "Ana", "Ben", "Kofi", "Yuki"]
PRODUCTS = ["Salesforce", "HubSpot", "Slack", "Okta", "Zendesk", "SAP", "Teams", "Jira"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "next week", "the 14th"]
VERBS = ["send", "share", "forward", "email", "resend", "attach"]
THINGS = [
    "a quote for {n} seats",
    "the security overview",
    "the pricing sheet",
    "your SOC 2 report",
    "the contract draft",
    "a case study from {company}",
    "the onboarding plan",
    "the invoice for {month}",
    "the integration guide for {product}",
    "the data processing agreement",
    "a trial for {n} users",
    "the renewal terms",
]
ASK_FORMS = [
    "Can you {verb} me {thing}?",
    "Could you {verb} {thing} by {day}?",
    "Please {verb} {thing} to {name} as well.",
    "We still need {thing} before {day}.",
    "Is {thing} ready? {name} is asking.",
    "Before we sign we need {thing}.",
    "Does the plan include {product} and {thing}?",
    "{name} referred us; could you {verb} {thing}?",
    "Can we move our call to {day} and go over {thing}?",
    "I could not open {thing}, can you {verb} it again?",
]
COMPANIES = ["Kestrel Foods", "Northwind", "Acme", "Globex", "Initech", "Umbrella", "Hooli"]
MONTHS = ["March", "April", "May", "June", "July"]
OPENERS = [
    "Hi {rep},",
    "Hello,",
    "Thanks for the call today.",
    "Good morning {rep}.",
    "Following up on our chat.",
    "Sorry for the slow reply.",
    "Quick one.",
    "Thanks {rep}, that's helpful.",
]
CLOSERS = [
    "Thanks, {name}",
    "Best, {name}",
    "Cheers",
    "Talk soon.",
    "Let me know.",
    "Appreciate it!",
    "{name} from {company}",
    "",
]


SYLLABLES = [a + b for a in "bcdfghklmnprstvwz" for b in ("a", "e", "i", "o", "u", "ar", "en")]
VOCABULARY = sorted(
    {
        "".join(random.Random(n).choices(SYLLABLES, k=random.Random(-n).randint(2, 4)))
        for n in range(5200)
    }
)[:5000]


def text(rng: random.Random) -> str:
    def fill(form: str) -> str:
        return form.format(
            verb=rng.choice(VERBS),
            thing=rng.choice(THINGS).format(
                n=rng.choice([5, 10, 25, 40, 45, 100, 250]),
                company=rng.choice(COMPANIES),
                month=rng.choice(MONTHS),
                product=rng.choice(PRODUCTS),
            ),
            day=rng.choice(DAYS),
            name=rng.choice(NAMES),
            product=rng.choice(PRODUCTS),
            rep=rng.choice(NAMES),
            company=rng.choice(COMPANIES),
        )

    parts = [fill(rng.choice(OPENERS)), fill(rng.choice(ASK_FORMS))]
    if rng.random() < 0.4:
        parts.append(fill(rng.choice(ASK_FORMS)))
    parts.append(" ".join(rng.choices(VOCABULARY, k=rng.randint(4, 8))).capitalize() + ".")
    parts.append(fill(rng.choice(CLOSERS)))
    return " ".join(p for p in parts if p)


def log(message: str) -> None:
    print(f"  similar: {message}", file=sys.stderr, flush=True)


COLUMNS = (
    "conversation_id, direction, message_id, in_reply_to, channel, subject, body, to_role, "
    "from_role, sent_at, created_at"
)
INDEX = (
    "CREATE INDEX message_inbound_trgm ON outcomes_message USING gin (body gin_trgm_ops) "
    "WHERE direction = 'inbound'"
)


def populate(tenant: Tenant) -> dict[str, float]:
    rng = random.Random(11)
    now = datetime.now(UTC)
    with tenant_context(tenant):
        services.create_user(username="bench-exec", role=Role.EXECUTIVE)
        reps = [
            services.create_user(username=f"bench-rep-{i:02d}", role=Role.REP)[0].pk
            for i in range(20)
        ]
        with connection.cursor() as django_cursor:
            cur = django_cursor.connection.cursor()
            cur.execute(
                "TRUNCATE feedback_feedbackrevision, feedback_feedbackentry, "
                "feedback_draftfeedback, outcomes_signal, outcomes_message, "
                "outcomes_outcomerecord, outcomes_conversation CASCADE"
            )
            conversations = fill_conversations(
                cur, prefix="sim", reps=reps, count=max(MESSAGES // 5, 1)
            )
            cur.execute("DROP INDEX IF EXISTS message_inbound_trgm")
            log(f"copying {MESSAGES:,} inbound messages")
            with cur.copy(f"COPY outcomes_message ({COLUMNS}) FROM STDIN") as copy:
                for i in range(MESSAGES):
                    conv, _ = conversations[i % len(conversations)]
                    at = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
                    body = text(rng)
                    copy.write_row(
                        (conv, "inbound", f"sim-{i}", "", "email", "", body, "", "prospect", at, at)
                    )
            log("building the trigram index")
            start = time.perf_counter()
            cur.execute(INDEX)
            built = time.perf_counter() - start
            cur.execute("VACUUM (ANALYZE) outcomes_message")
            cur.execute("ANALYZE outcomes_conversation")
            cur.execute("SELECT pg_relation_size('message_inbound_trgm')")
            size = cur.fetchone()[0]
    log(f"index built in {built:.1f} s, {size / 2**20:.0f} MB")
    return {"index_build_s": round(built, 1), "index_mb": round(size / 2**20)}


BASELINE = """
SELECT m.conversation_id, max(similarity(m.body, q.body)) AS best, count(DISTINCT m.id)
  FROM (SELECT body FROM outcomes_message
         WHERE conversation_id = %(pk)s AND direction = 'inbound' AND erased_at IS NULL
           AND body <> ''
         ORDER BY sent_at DESC, id DESC LIMIT 3) q
  JOIN outcomes_message m ON m.body %% q.body
 WHERE m.direction = 'inbound' AND m.erased_at IS NULL AND m.conversation_id <> %(pk)s
   AND similarity(m.body, q.body) >= 0.4
 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5
"""


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def timed(fn, args) -> dict[str, float]:
    samples = []
    for arg in args:
        start = time.perf_counter()
        fn(arg)
        samples.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 95), 1),
    }


tenant = Tenant.objects.get(slug="bench")
results: dict = {"messages": MESSAGES, **populate(tenant)}
rng = random.Random(3)
with tenant_context(tenant):
    ids = list(Conversation.objects.values_list("pk", flat=True))
    picks = [Conversation.objects.get(pk=pk) for pk in rng.sample(ids, CALLS)]
    executive = User.objects.get(username="bench-exec")
    rep = User.objects.get(username="bench-rep-00")
    found = []

    def product(conversation, who=executive):
        found.append(len(selectors.similar_conversations(principal=who, conversation=conversation)))

    product(picks[0])  # warm up
    found.clear()
    results["executive"] = timed(product, picks)
    results["found_mean"] = round(statistics.mean(found), 2)
    results["rep"] = timed(lambda c: product(c, rep), picks)
    with connection.cursor() as django_cursor:
        cur = django_cursor.connection.cursor()

        def baseline(conversation):
            cur.execute(BASELINE, {"pk": conversation.pk})
            cur.fetchall()

        cur.execute("SELECT set_config('pg_trgm.similarity_threshold', '0.4', false)")
        results["baseline"] = timed(baseline, picks)
        results["seqscan_one_ms"] = 0
        if MESSAGES <= 200_000:  # (minutes at a million)
            cur.execute("SET enable_bitmapscan = off")
            start = time.perf_counter()
            baseline(picks[0])
            results["seqscan_one_ms"] = round((time.perf_counter() - start) * 1000)
            cur.execute("RESET enable_bitmapscan")
    asked = selectors.inbound_messages(conversation=picks[0])[0].body
    plan = selectors._inbound_like(asked).explain()
    results["explain"] = plan
    results["index_used"] = "message_inbound_trgm" in plan
    later = datetime.now(UTC) + timedelta(days=1)

    def check(group):
        crosscheck.check([SimpleNamespace(conversation_id=c.pk, at=later) for c in group])

    groups = [picks[i : i + 5] for i in range(0, CALLS, 5)] * 2 or [picks]
    results["proposal_check"] = timed(check, groups)
log(json.dumps({k: v for k, v in results.items() if k != "explain"}))
print(json.dumps(results))
