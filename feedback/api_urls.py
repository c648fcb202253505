from django.urls import path

from feedback import api

urlpatterns = [
    path("feedback/", api.FeedbackListCreateApi.as_view(), name="api-feedback"),
    path("feedback/summary/", api.FeedbackSummaryApi.as_view(), name="api-feedback-summary"),
    path("feedback/rubric/", api.RubricApi.as_view(), name="api-feedback-rubric"),
    path("feedback/fatigue/", api.FatigueApi.as_view(), name="api-feedback-fatigue"),
    path("feedback/prompts/", api.PromptAnswersApi.as_view(), name="api-feedback-prompts"),
    path("feedback/links/", api.LinkApi.as_view(), name="api-feedback-links"),
    path("drafts/", api.DraftApi.as_view(), name="api-drafts"),
]
