from django.urls import path

from feedback import views

urlpatterns = [
    path("feedback/review/", views.review, name="feedback-review"),
    path(
        "feedback/review/<slug:queue>/<int:position>/",
        views.review_item,
        name="feedback-review-item",
    ),
    path("feedback/team/", views.team, name="feedback-team"),
    path("f/<str:token>/", views.one_click, name="feedback-link"),
    path("integrations/slack/", views.slack_interactivity, name="slack-interactivity"),
]
