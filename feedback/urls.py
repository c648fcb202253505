from django.urls import path

from feedback import views

urlpatterns = [
    path("feedback/review/", views.review, name="feedback-review"),
    path("feedback/team/", views.team, name="feedback-team"),
    path("f/<str:token>/", views.one_click, name="feedback-link"),
    path("integrations/slack/", views.slack_interactivity, name="slack-interactivity"),
]
