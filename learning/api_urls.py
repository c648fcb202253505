from django.urls import path

from learning.api import ExecutiveAnalyticsApi, ManagerAnalyticsApi, MeApi, RepAnalyticsApi

urlpatterns = [
    path("me/", MeApi.as_view(), name="api-me"),
    path("analytics/rep/", RepAnalyticsApi.as_view(), name="api-analytics-rep"),
    path("analytics/manager/", ManagerAnalyticsApi.as_view(), name="api-analytics-manager"),
    path("analytics/executive/", ExecutiveAnalyticsApi.as_view(), name="api-analytics-executive"),
]
