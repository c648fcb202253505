"""Who listens to whom: every effect one app has on another, in this one place.

Imported by config.apps.WiringConfig.ready(), once every app is loaded. Each emitting app
declares its events (payload, when emitted) in its `events.py`; learning.events runs a
subscriber in the emitter's transaction, or once after it commits ("after commit").
Read it as the map of the product's flow:

    an action recorded         outcomes.events.ACTIONS_RECORDED (outcomes.ingest.record_outcomes)
      -> feedback.prompting.on_actions_recorded after commit   critical ones: their people
                                                             prompted (a task; Slack, mail)

    a prompt sent              feedback.events.VERDICT_NEEDED (feedback.prompting)
      -> insights.live_feed.verdict_needed    after commit   a toast on the person's page

    an email prompt written    prompts.events.EMAIL_CHOICES (prompts.emails)
      -> feedback.prompting.email_choices                    one-click verdict links

    an outcome resolved        outcomes.events.RESOLVED      (outcomes.services.transition_outcomes)
      -> calibration.services.count_resolved_outcomes        each result counted once in its bin
      -> insights.cache.on_changed            after commit   dashboards recomputed
      -> insights.live_feed.outcomes_resolved after commit   pushed to who may see it

    feedback recorded          feedback.events.FEEDBACK_RECORDED (feedback.services)
      -> prompts.services.on_feedback_recorded               the person's prompts answered
      -> insights.cache.on_changed            after commit
      -> insights.live_feed.feedback_recorded after commit

    a draft recorded           feedback.events.DRAFT_RECORDED (feedback.services.record_draft)
      -> coaching.experiments.on_draft_recorded              a use of its intent, judged while
                                                             the intent is an experiment

    coaching patterns found    coaching.events.PATTERNS_FOUND (coaching.services)
      -> insights.cache.on_changed            after commit   the manager's view lists them

    a policy version           calibration.events.POLICY_CHANGED (calibration.services)
      -> insights.cache.on_changed            after commit   calibration health, escalations

    content erased             outcomes.events.CONTENT_ERASED (outcomes.erasure)
      -> feedback.erasure.on_content_erased                  drafts, comments, corrections
      -> coaching.erasure.on_content_erased                  proposals' quotes of them
      -> insights.cache.on_changed            after commit   no cached page keeps the words

    a contact being erased     outcomes.events.CONTACT_ERASING (outcomes.erasure.erase_contact)
      -> feedback.erasure.on_contact_erasing                 conversations its texts name

(Within an app a module calls its neighbour directly: insights' rollups bump its own
cache, its alerts push their own live news.)
"""

from __future__ import annotations

from calibration import events as calibration_events
from calibration import services as calibration_services
from coaching import erasure as coaching_erasure
from coaching import events as coaching_events
from coaching import experiments
from feedback import erasure as feedback_erasure
from feedback import events as feedback_events
from feedback import prompting
from insights import cache, live_feed
from outcomes import events as outcome_events
from prompts import events as prompt_events
from prompts import services as prompt_services


def connect() -> None:
    outcome_events.ACTIONS_RECORDED.subscribe(prompting.on_actions_recorded, after_commit=True)
    feedback_events.VERDICT_NEEDED.subscribe(live_feed.verdict_needed, after_commit=True)
    prompt_events.EMAIL_CHOICES.subscribe(prompting.email_choices)

    resolved = outcome_events.RESOLVED
    resolved.subscribe(calibration_services.count_resolved_outcomes)
    resolved.subscribe(cache.on_changed, after_commit=True)
    resolved.subscribe(live_feed.outcomes_resolved, after_commit=True)

    feedback = feedback_events.FEEDBACK_RECORDED
    feedback.subscribe(prompt_services.on_feedback_recorded)
    feedback.subscribe(cache.on_changed, after_commit=True)
    feedback.subscribe(live_feed.feedback_recorded, after_commit=True)

    feedback_events.DRAFT_RECORDED.subscribe(experiments.on_draft_recorded)
    coaching_events.PATTERNS_FOUND.subscribe(cache.on_changed, after_commit=True)
    calibration_events.POLICY_CHANGED.subscribe(cache.on_changed, after_commit=True)

    erased = outcome_events.CONTENT_ERASED
    erased.subscribe(feedback_erasure.on_content_erased)
    erased.subscribe(coaching_erasure.on_content_erased)
    erased.subscribe(cache.on_changed, after_commit=True)
    outcome_events.CONTACT_ERASING.subscribe(feedback_erasure.on_contact_erasing)
