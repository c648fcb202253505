from django.urls import path

from prompts import views

urlpatterns = [
    path("settings/prompts/", views.prompt_settings, name="prompt-settings"),
]
