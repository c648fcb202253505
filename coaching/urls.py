from django.urls import path

from coaching import views

urlpatterns = [
    path("learning/", views.learning_page, name="learning-dashboard"),
    path("learning/proposals/<int:pk>/", views.proposal_page, name="learning-proposal"),
]
