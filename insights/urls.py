from django.urls import path, re_path

from insights import views

urlpatterns = [
    path("rep/", views.rep_home, name="rep-home"),
    path("manager/", views.manager_home, name="manager-home"),
    path("executive/", views.executive_home, name="executive-home"),
    path("alerts/", views.alerts_page, name="alerts"),
    path("actions/<str:day>/", views.day_actions, name="day-actions"),
    path("conversations/<str:external_id>/", views.conversation_page, name="conversation"),
    # The admin pages of alerts and settings moved with their models from learning to
    # insights: old bookmarks keep working.
    re_path(r"^admin/learning/(?P<rest>(alert|alertsettings|analyticssettings)/.*)$", views.moved),
]
