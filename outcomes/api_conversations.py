"""The agent's API for a conversation's thread (the messages it received) and for erasing
what a conversation or a contact said."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from learning.api_fields import JsonBody
from learning.models import Role
from learning.permissions import HasRole, IsAgent
from outcomes import erasure, schemas, services
from outcomes.api import ID_ERRORS, AwareDateTimeField
from outcomes.schemas import IDENTIFIER


class MessageInSerializer(JsonBody):
    message_id = serializers.RegexField(
        IDENTIFIER,
        error_messages=ID_ERRORS,
        max_length=200,
        help_text="Your id of the message: a retry is stored once.",
    )
    conversation_id = serializers.RegexField(IDENTIFIER, error_messages=ID_ERRORS, max_length=200)
    channel = serializers.RegexField(schemas.CHANNEL.removesuffix("\\Z") + "$", max_length=32)
    subject = serializers.CharField(
        max_length=schemas.MAX_SUBJECT_CHARS, required=False, allow_blank=True, default=""
    )
    body = serializers.CharField(max_length=schemas.MAX_BODY_CHARS, trim_whitespace=False)
    from_role = serializers.ChoiceField(
        choices=schemas.THREAD_ROLES, required=False, default="prospect"
    )
    sent_at = AwareDateTimeField(required=False, default=None, help_text="ISO 8601; default now.")
    in_reply_to = serializers.RegexField(
        IDENTIFIER,
        error_messages=ID_ERRORS,
        max_length=200,
        required=False,
        default="",
        help_text="The action_id this message answers (of the same conversation).",
    )


MESSAGE_RESULT = inline_serializer(
    "MessageResult",
    {
        "id": serializers.IntegerField(),
        "message_id": serializers.CharField(),
        "conversation_id": serializers.CharField(),
        "created": serializers.BooleanField(),
    },
)


class MessageApi(APIView):
    permission_classes = [IsAgent]

    @extend_schema(
        request=MessageInSerializer,
        responses={201: MESSAGE_RESULT, 200: MESSAGE_RESULT},
        description="A message the conversation received that the agent answers (a "
        "prospect's email, a chat line, a rep's note), so that the conversation reads as a "
        "thread next to what the agent said (each action's `content`). Idempotent on "
        "message_id (the same message_id in another conversation is a 409); in_reply_to "
        "names a recorded action of the same conversation.",
    )
    def post(self, request: Request) -> Response:
        body = MessageInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["sent_at"] = data["sent_at"] or timezone.now()
        recorded = services.record_message(**data)
        message = recorded.message
        return Response(
            {
                "id": message.pk,
                "message_id": message.message_id,
                "conversation_id": data["conversation_id"],
                "created": recorded.created,
            },
            status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
        )


# --- erasure --------------------------------------------------------------------------------

ERASURE_RESULT = inline_serializer(
    "ErasureResult",
    {
        "erased": serializers.BooleanField(help_text="False: nothing was left to remove."),
        "conversation_ids": serializers.ListField(child=serializers.CharField()),
        "removed": serializers.DictField(child=serializers.IntegerField()),
        "detail": serializers.CharField(),
    },
)


def _erasure_answer(result: erasure.Erasure) -> Response:
    return Response(
        {
            "erased": result.changed,
            "conversation_ids": result.conversation_ids,
            "removed": result.removed,
            "detail": "Erased." if result.changed else "Already erased: nothing left to remove.",
        }
    )


class ConversationEraseApi(APIView):
    permission_classes = [IsAgent | HasRole(Role.ADMIN)]

    @extend_schema(
        request=None,
        responses={200: ERASURE_RESULT},
        description="Erase what a conversation said, on the prospect's request: the "
        "subjects and bodies of its messages, its draft texts, people's comments and "
        "corrections on it, labellers' comments, its flag note and the free keys of its "
        "signals' data. Outcomes, scores, ratings and counts stay. The agent or an admin; "
        "idempotent (a second call removes nothing and says so, `erased` false).",
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        return _erasure_answer(
            erasure.erase_conversation(external_id=conversation_id, actor=request.user)
        )


class ContactEraseInSerializer(JsonBody):
    email = serializers.EmailField(max_length=320, help_text="One e-mail address.")


class ContactEraseApi(APIView):
    permission_classes = [IsAgent | HasRole(Role.ADMIN)]

    @extend_schema(
        request=ContactEraseInSerializer,
        responses={200: ERASURE_RESULT},
        description="Erase every conversation whose messages, comments, flag notes or "
        "signal data name this e-mail address (as conversations/{id}/erase/ does each). "
        "The address is neither stored nor logged.",
    )
    def post(self, request: Request) -> Response:
        body = ContactEraseInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _erasure_answer(
            erasure.erase_contact(email=body.validated_data["email"], actor=request.user)
        )
