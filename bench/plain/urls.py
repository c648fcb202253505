from django.urls import path

from bench.plain.views import OutcomeCreate

urlpatterns = [path("outcomes/", OutcomeCreate.as_view())]
