from django.urls import path

from outcomes import api, api_conversations

urlpatterns = [
    path("outcomes/", api.OutcomeListCreateApi.as_view(), name="api-outcomes"),
    path("outcomes/bulk/", api.OutcomeBulkApi.as_view(), name="api-outcomes-bulk"),
    path("outcomes/<int:pk>/", api.OutcomeDetailApi.as_view(), name="api-outcome"),
    path("outcomes/<int:pk>/label/", api.OutcomeLabelApi.as_view(), name="api-outcome-label"),
    path("signals/", api.SignalApi.as_view(), name="api-signals"),
    path("messages/", api_conversations.MessageApi.as_view(), name="api-messages"),
    path(
        "conversations/<path:conversation_id>/erase/",
        api_conversations.ConversationEraseApi.as_view(),
        name="api-conversation-erase",
    ),
    path("contacts/erase/", api_conversations.ContactEraseApi.as_view(), name="api-contact-erase"),
]
