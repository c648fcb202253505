from django.urls import path

from insights.api import (
    CalibrationExportApi,
    ExecutiveAnalyticsApi,
    FeedbackExportApi,
    LabelExportApi,
    ManagerAnalyticsApi,
    OutcomeExportApi,
    RepAnalyticsApi,
)

urlpatterns = [
    path("analytics/rep/", RepAnalyticsApi.as_view(), name="api-analytics-rep"),
    path("analytics/manager/", ManagerAnalyticsApi.as_view(), name="api-analytics-manager"),
    path("analytics/executive/", ExecutiveAnalyticsApi.as_view(), name="api-analytics-executive"),
    path("exports/outcomes.<str:fmt>", OutcomeExportApi.as_view(), name="api-export-outcomes"),
    path("exports/feedback.<str:fmt>", FeedbackExportApi.as_view(), name="api-export-feedback"),
    path("exports/labels.<str:fmt>", LabelExportApi.as_view(), name="api-export-labels"),
    path(
        "exports/calibration.<str:fmt>",
        CalibrationExportApi.as_view(),
        name="api-export-calibration",
    ),
]
