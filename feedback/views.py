"""Feedback pages: the review form, one-click links, Slack buttons, the manager's view."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from feedback import links, prompting, queues, rubrics, selectors, services
from feedback import review as review_flow
from feedback.forms import QueueForm, ReviewForm
from feedback.models import Source, UsedLink, Via
from learning import api_http
from learning.access import PAGE_ROLES, public, role_required
from learning.errors import DomainError, InvalidInput
from learning.models import Role, User
from learning.selectors import visible_users
from outcomes import selectors as outcome_selectors
from outcomes.schemas import USERNAME
from prompts import slack

USERNAME_RE = re.compile(USERNAME)


@role_required(*PAGE_ROLES[Role.REP])
def review(request: HttpRequest) -> HttpResponse:
    """Where a person reviews: the first queue with something to judge, at the first item
    they have not judged."""
    found = review_flow.queues(user=request.user)
    first = next((q for q in found if q.next_open() is not None), found[-1])
    return redirect("feedback-review-item", queue=first.key, position=first.start)


@role_required(*PAGE_ROLES[Role.REP])
def review_action(request: HttpRequest) -> HttpResponse:
    """Where a prompt's "Review" link leads: the action in the person's queues (needs your
    verdict, to label, recent), else its conversation."""
    action_id = request.GET.get("action", "")
    found = review_flow.queues(user=request.user)
    for queue in found:
        for position, item in enumerate(queue.items, start=1):
            if item.outcome.action_id == action_id:
                return redirect("feedback-review-item", queue=queue.key, position=position)
    outcome = outcome_selectors.visible_outcomes(principal=request.user).filter(action_id=action_id)
    conversation = outcome.values_list("conversation__external_id", flat=True).first()
    if conversation is None:
        raise Http404("No such action in what you can see.")
    return redirect(reverse("conversations") + "?" + urlencode({"id": conversation}))


@role_required(*PAGE_ROLES[Role.REP])
@require_http_methods(["GET", "POST"])
def review_item(request: HttpRequest, queue: str, position: int) -> HttpResponse:
    """One action of a queue, with what the agent said and its context, and the verdict
    form; saving goes on to the next item."""
    user: Any = request.user
    found = review_flow.queues(user=user)
    current = next((q for q in found if q.key == queue), None)
    if current is None:
        raise Http404("No such queue.")
    here = reverse("feedback-review-item", args=[queue, position])
    if request.method == "POST":
        return _record_review(request, user, current, position)
    if not current.items:
        return render(request, "feedback/review_item.html", {"queues": found, "queue": current})
    if not 1 <= position <= len(current.items):
        return redirect("feedback-review-item", queue=queue, position=len(current.items))
    item = current.items[position - 1]
    judged = current.is_judged(item.outcome.action_id)
    context = {
        "queues": found,
        "queue": current,
        "item": item,
        "position": position,
        "total": len(current.items),
        "previous": position - 1 if position > 1 else None,
        "next": position + 1 if position < len(current.items) else None,
        "mine": current.mine.get(item.outcome.action_id),
        "judged": judged,
        "next_open": current.next_open(after=position) if judged else None,
        "my_label": queues.label_of(item=item.queue_item, reviewer=user)
        if item.queue_item is not None
        else "",
        "rubric": rubrics.form_fields(
            target_type=selectors.target_type_of(item.outcome),
            earlier=getattr(current.mine.get(item.outcome.action_id), "scores", None),
        ),
        "context": review_flow.context_of(item.outcome, blind=item.blind),
        "here": here,
    }
    return render(request, "feedback/review_item.html", context)


def _record_review(
    request: HttpRequest, user: Any, current: review_flow.Queue, position: int
) -> HttpResponse:
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.first_error())
        return redirect("feedback-review-item", queue=current.key, position=position)
    data = form.cleaned_data
    item = next((i for i in current.items if i.outcome.action_id == data["action_id"]), None)
    if item is None:  # labelled by someone else meanwhile, or not in this queue
        messages.error(request, "That action is no longer in this queue; here is the next one.")
        return redirect("feedback-review-item", queue=current.key, position=position)
    if current.is_judged(item.outcome.action_id) and not request.POST.get("change"):
        # A second tap, or a page left open: changing a verdict is deliberate.
        messages.info(
            request,
            f"You had judged {item.outcome.action_id} already: nothing changed. "
            "To change your verdict, open it and choose “Change my verdict”.",
        )
        return _go_on(request, current, position, item, removed=False)
    label = data.get("label") or None
    if label and not item.needs_label:
        label = None  # only items waiting for a label take one
    if item.queue_item is not None and not label:
        messages.error(request, "In this queue, say whether it worked (y or n) too.")
        return redirect("feedback-review-item", queue=current.key, position=position)
    source, rating = form.source_and_rating
    try:
        review_flow.record_review(
            reviewer=user,
            outcome=item.outcome,
            source=source,
            rating=rating,
            label=label,
            comment=data["comment"].strip(),
            correction=data["correction"],
            scores=rubrics.from_form(
                target_type=selectors.target_type_of(item.outcome), data=request.POST
            ),
            queue_item=item.queue_item,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("feedback-review-item", queue=current.key, position=position)
    messages.success(request, f"Saved your verdict on {item.outcome.action_id}.")
    return _go_on(request, current, position, item, removed=bool(label and current.shrinks))


def _go_on(
    request: HttpRequest,
    current: review_flow.Queue,
    position: int,
    item: review_flow.Item,
    *,
    removed: bool,
) -> HttpResponse:
    """On to the next item the person has not judged (after this one, then from the
    start); once none is left, to the next queue with work, if any. `removed`: the item
    just judged has left the queue (a label), so those after it moved up one."""
    following = current.next_open(after=position, skip=item.outcome.action_id)
    if following is not None:
        if removed and following > position:
            following -= 1
        return redirect("feedback-review-item", queue=current.key, position=following)
    user: Any = request.user
    elsewhere = next(
        (q for q in review_flow.queues(user=user) if q.key != current.key and q.next_open()),
        None,
    )
    if elsewhere is not None:
        messages.info(
            request,
            f"You have judged every item of “{current.name}”. Next: “{elsewhere.name}”, "
            f"{elsewhere.left} to judge.",
        )
        return redirect("feedback-review-item", queue=elsewhere.key, position=elsewhere.start)
    messages.info(request, f"You have judged every item of “{current.name}”: nothing is left.")
    total = len(current.items) - (1 if removed else 0)
    position = max(1, min(position, total))
    return redirect("feedback-review-item", queue=current.key, position=position)


@role_required(*PAGE_ROLES[Role.MANAGER])
def team(request: HttpRequest) -> HttpResponse:
    """The manager's feedback view: the summary of their scope, fatigue flags, and whether
    people answer the prompts."""
    user: Any = request.user
    now = timezone.now()  # one moment for every figure on the page: they add up
    summary = selectors.summary(principal=user, now=now)
    reviewers = visible_users(user=user)
    fatigue = selectors.fatigue(users=reviewers, now=now)
    against = selectors.reviewers_against_summary(principal=user, reviewers=reviewers, now=now)
    prompts = selectors.prompt_answers(principal=user, days=summary["days"], now=now)
    return render(
        request,
        "feedback/team.html",
        {
            "summary": summary,
            "fatigue": fatigue,
            "against": against,
            "trend_json": summary["people_trend"],
            "prompts": prompts,
            "any_prompt": any(row["sent"] or row["failed"] or row["not_sent"] for row in prompts),
        },
    )


@public  # the signed token is the credential (links.read_token), for its reviewer only
@require_http_methods(["GET", "POST"])
def one_click(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what the link will record; POST records it (once per link), or adds a
    comment to what it recorded."""
    try:
        claim = links.read_token(token)
        reviewer = User.objects.filter(pk=claim.reviewer_id, is_active=True).first()
        if reviewer is None:
            raise InvalidInput("This link is not valid.", code="invalid")
    except InvalidInput as exc:
        return render(request, "feedback/link.html", {"error": exc.message}, status=400)
    signed_in = request.user
    if signed_in.is_authenticated and signed_in.pk != reviewer.pk:
        # A link rates as its reviewer: nobody signed in as someone else may use it.
        message = (
            f"This link is for {reviewer.get_full_name() or reviewer.username}; you are "
            f"signed in as {signed_in.get_username()}. Nothing was recorded."
        )
        hint = "A link rates in the name of the person it was made for. To give your own "
        hint += "verdict, use the review page."
        refusal = {"error": message, "hint": hint, "review": reverse("feedback-review")}
        return render(request, "feedback/link.html", refusal, status=403)
    used = UsedLink.objects.select_related("entry").filter(nonce=claim.nonce).first()
    context: dict[str, Any] = {"claim": claim, "reviewer": reviewer, "token": token}
    if request.method == "GET":
        return render(request, "feedback/link.html", {**context, "used": used})
    if used is not None:
        if "comment" in request.POST:
            return _add_comment(request, context, used, claim, reviewer)
        return render(request, "feedback/link.html", {**context, "used": used})
    try:
        used = _record_link(claim, reviewer, via=Via.LINK)
    except DomainError as exc:
        return render(request, "feedback/link.html", {**context, "error": exc.message}, status=400)
    return render(
        request, "feedback/link.html", {**context, "used": used, "just_recorded": used.entry}
    )


def _record_link(claim: links.LinkClaim, reviewer: User, *, via: str) -> UsedLink:
    """Record the link's rating and mark the link used, together; a link clicked twice
    (or twice at once) records once. Returns the link's use, with its entry."""
    try:
        with transaction.atomic():
            recorded = services.record_feedback(
                reviewer=reviewer,
                target_type=claim.target_type,
                target_id=claim.target_id,
                conversation_id=claim.conversation_id,
                source=Source.INLINE,
                rating=claim.rating,
                outcome_id=claim.outcome_id,
                via=via,
                minted_by=claim.minted_by,
            )
            UsedLink.objects.create(nonce=claim.nonce, entry=recorded.entry)
    except IntegrityError:
        pass  # the other click won; the entry is as it recorded
    return UsedLink.objects.select_related("entry").get(nonce=claim.nonce)


def _add_comment(
    request: HttpRequest,
    context: dict[str, Any],
    used: UsedLink,
    claim: links.LinkClaim,
    reviewer: User,
) -> HttpResponse:
    entry = used.entry
    comment = request.POST.get("comment", "").strip()[:4000]
    if "\x00" in comment:  # PostgreSQL's text cannot hold it
        error = "A comment cannot hold a NUL character."
        return render(request, "feedback/link.html", {**context, "error": error}, status=400)
    try:
        services.record_feedback(
            reviewer=reviewer,
            target_type=entry.target_type,
            target_id=entry.target_id,
            conversation_id=entry.conversation.external_id,
            source=entry.source,
            rating=int(entry.rating),
            comment=comment,
            outcome_id=entry.outcome_id,
            via=entry.via,
            minted_by=entry.minted_by,
        )
    except DomainError as exc:
        return render(request, "feedback/link.html", {**context, "error": exc.message}, status=400)
    used.refresh_from_db()
    return render(request, "feedback/link.html", {**context, "used": used, "comment_saved": True})


@public  # Slack signs its requests instead (prompts.slack.signature_ok)
@csrf_exempt  # for the same reason
@require_POST
def slack_interactivity(request: HttpRequest) -> HttpResponse:
    """Button clicks in Slack messages: a prompt's verdict buttons (feedback.prompting), or
    a one-click link token as a button's value (messages the agent delivers itself)."""
    if not slack.signature_ok(body=request.body, headers=request.headers):
        return JsonResponse({"error": "invalid or stale signature"}, status=401)
    try:
        payload = api_http.loads(request.POST.get("payload", ""))
        action = payload["actions"][0]
        if "value" not in action:  # a link button (e.g. "Review in Learning Loop")
            return HttpResponse(status=200)
        if str(action["value"]).startswith("prompt:"):
            answered = prompting.answer_slack_click(payload)
            return JsonResponse({"response_type": "ephemeral", "text": answered.text})
        claim = links.read_token(str(action["value"]))
        reviewer = User.objects.get(pk=claim.reviewer_id, is_active=True)
        entry = _record_link(claim, reviewer, via=Via.SLACK).entry
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, User.DoesNotExist):
        return JsonResponse({"error": "not a feedback button"}, status=400)
    except DomainError as exc:
        return JsonResponse({"response_type": "ephemeral", "text": exc.message}, status=200)
    labels = {1: "good", 0: "neutral", -1: "bad"}
    return JsonResponse(
        {
            "response_type": "ephemeral",
            "replace_original": False,
            "text": f"Thanks, recorded: {labels.get(int(entry.rating), entry.rating)} "
            f"for {entry.target_type} {entry.target_id}.",
            "entry": {"id": entry.pk, "rating": entry.rating},
        }
    )


# --- managers' review queues -----------------------------------------------------------------


def _queue_form(user: Any, data: Any = None) -> QueueForm:
    people = [u.username for u in queues.candidates(user=user)]
    reps = [u.username for u in queues.candidates(user=user) if u.role == Role.REP]
    return QueueForm(
        data,
        reviewers=people,
        reps=reps,
        action_types=outcome_selectors.action_types(),
    )


@role_required(*PAGE_ROLES[Role.MANAGER])
def queue_list(request: HttpRequest) -> HttpResponse:
    """The manager's queues: how far each is, and how far its reviewers agree."""
    found = queues.summaries_of(list(queues.visible_queues(user=request.user)))
    return render(request, "feedback/queues.html", {"summaries": found})


@role_required(*PAGE_ROLES[Role.MANAGER])
@require_http_methods(["GET", "POST"])
def queue_new(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    form = _queue_form(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        share = data.get("spot_check_percent")
        try:
            queue = queues.create_queue(
                owner=user,
                name=data["name"],
                reviewers=data["reviewers"],
                reviewers_per_item=data["reviewers_per_item"],
                action_types=data["action_types"],
                statuses=data["statuses"],
                reps=data["reps"],
                occurred_after=_day_start(data.get("occurred_after")),
                occurred_before=_day_start(data.get("occurred_before")),
                rated_below=data.get("rated_below"),
                spot_check_share=share / 100 if share else None,
            )
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Queue “{queue.name}” made: {queue.items.count()} items.")
            return redirect("feedback-queue", pk=queue.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "feedback/queue_new.html", {"form": form}, status=status)


@role_required(*PAGE_ROLES[Role.MANAGER])
@require_http_methods(["GET", "POST"])
def queue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    queue = queues.visible_queues(user=request.user).filter(pk=pk).first()
    if queue is None:
        raise Http404("No such queue.")
    if request.method == "POST" and "close" in request.POST:
        queues.close_queue(queue_id=pk, user=request.user)
        messages.success(request, f"Queue “{queue.name}” closed: reviewers no longer see it.")
        return redirect("feedback-queue", pk=pk)
    return render(request, "feedback/queue.html", {"s": queues.summary(queue=queue)})


def _day_start(day: Any) -> Any:
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=UTC)
