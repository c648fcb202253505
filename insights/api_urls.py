from django.urls import path

from insights.api import ExecutiveAnalyticsApi, ManagerAnalyticsApi, RepAnalyticsApi

urlpatterns = [
    path("analytics/rep/", RepAnalyticsApi.as_view(), name="api-analytics-rep"),
    path("analytics/manager/", ManagerAnalyticsApi.as_view(), name="api-analytics-manager"),
    path("analytics/executive/", ExecutiveAnalyticsApi.as_view(), name="api-analytics-executive"),
]
