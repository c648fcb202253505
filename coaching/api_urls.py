from django.urls import path

from coaching import api

urlpatterns = [
    path("coaching/patterns/", api.CoachingPatternsApi.as_view(), name="api-coaching-patterns"),
]
