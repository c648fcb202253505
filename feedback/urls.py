from django.urls import path

from feedback import views

urlpatterns = [
    path("feedback/review/", views.review, name="feedback-review"),
    path(
        "feedback/review/<slug:queue>/<int:position>/",
        views.review_item,
        name="feedback-review-item",
    ),
    path("feedback/review/action/", views.review_action, name="feedback-review-action"),
    path("feedback/team/", views.team, name="feedback-team"),
    path("feedback/queues/", views.queue_list, name="feedback-queues"),
    path("feedback/queues/new/", views.queue_new, name="feedback-queue-new"),
    path("feedback/queues/<int:pk>/", views.queue_detail, name="feedback-queue"),
    path("f/<str:token>/", views.one_click, name="feedback-link"),
    path("integrations/slack/", views.slack_interactivity, name="slack-interactivity"),
]
