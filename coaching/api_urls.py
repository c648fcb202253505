from django.urls import path

from coaching import api

urlpatterns = [
    path("coaching/patterns/", api.CoachingPatternsApi.as_view(), name="api-coaching-patterns"),
    path(
        "experiments/assign/",
        api.ExperimentAssignApi.as_view(),
        name="api-experiments-assign",
    ),
]
