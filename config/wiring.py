"""Who listens to whom: every subscription between apps, in this one place.

Imported by config.apps.WiringConfig.ready(), once every app is loaded. Each emitting
app declares its events in its `events.py`. Subscribers run synchronously
in the emitter's transaction (learning.events), in the order listed here:

    outcome resolved      outcomes.events.RESOLVED        (outcomes.services.transition_outcomes)
      -> calibration.services.count_resolved_outcomes     each outcome counted once in its bin
      -> learning.analytics_cache.on_outcomes_resolved    dashboards recomputed after the commit

    content erased        outcomes.events.CONTENT_ERASED  (outcomes.erasure)
      -> feedback.erasure.on_content_erased               drafts, comments, corrections blanked
      -> coaching.erasure.on_content_erased               proposals' quotes of them blanked

    contact erasing       outcomes.events.CONTACT_ERASING (outcomes.erasure.erase_contact)
      -> feedback.erasure.on_contact_erasing              conversations its texts name

    draft recorded        feedback.events.DRAFT_RECORDED  (feedback.services.record_draft)
      -> coaching.experiments.on_draft_recorded           a use of its intent, judged while
                                                          the intent is an experiment

Browsers hear, after the commit, over websockets (learning.live): outcomes.resolved
(outcomes), feedback.recorded (feedback), alert.opened (insights); each person only of
what they may see.
"""

from __future__ import annotations

from calibration import services as calibration_services
from coaching import erasure as coaching_erasure
from coaching import experiments
from feedback import erasure as feedback_erasure
from feedback import events as feedback_events
from learning import analytics_cache
from outcomes import events as outcome_events


def connect() -> None:
    outcome_events.RESOLVED.subscribe(calibration_services.count_resolved_outcomes)
    outcome_events.RESOLVED.subscribe(analytics_cache.on_outcomes_resolved)
    outcome_events.CONTENT_ERASED.subscribe(feedback_erasure.on_content_erased)
    outcome_events.CONTENT_ERASED.subscribe(coaching_erasure.on_content_erased)
    outcome_events.CONTACT_ERASING.subscribe(feedback_erasure.on_contact_erasing)
    feedback_events.DRAFT_RECORDED.subscribe(experiments.on_draft_recorded)
