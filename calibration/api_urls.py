from django.urls import path

from calibration import api

urlpatterns = [
    path("calibration/", api.CalibrationListApi.as_view(), name="api-calibration"),
    path(
        "calibration/<str:action_type>/",
        api.CalibrationCurveApi.as_view(),
        name="api-calibration-curve",
    ),
    path("policy/", api.PolicyApi.as_view(), name="api-policy"),
    path("calibrate/", api.CalibrateApi.as_view(), name="api-calibrate"),
]
