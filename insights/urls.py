from django.urls import path, re_path, register_converter

from insights import views


class AnyText:
    """Any text but NUL, `/` and line breaks included: a conversation's id from a CRM. Links
    carry it percent-encoded (learning.templatetags.id_links); the web server decodes it."""

    regex = r"[^\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyText, "anytext")

urlpatterns = [
    path("rep/", views.rep_home, name="rep-home"),
    path("manager/", views.manager_home, name="manager-home"),
    path("executive/", views.executive_home, name="executive-home"),
    path("alerts/", views.alerts_page, name="alerts"),
    path("connect/", views.connect_agent, name="connect-agent"),
    path("actions/<str:day>/", views.day_actions, name="day-actions"),
    # `?id=` for the ids no path can hold (`.` and `..`); any other id is its own segment.
    path("conversations/", views.conversation_page, name="conversations"),
    path("conversations/<anytext:external_id>/", views.conversation_page, name="conversation"),
    # The admin pages of alerts and settings moved with their models from learning to
    # insights: old bookmarks keep working.
    re_path(r"^admin/learning/(?P<rest>(alert|alertsettings|analyticssettings)/.*)$", views.moved),
]
