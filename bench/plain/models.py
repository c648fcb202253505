from django.db import models


class Conversation(models.Model):
    external_id = models.CharField(max_length=200, unique=True)
    last_interaction_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return self.external_id


class Outcome(models.Model):
    action_id = models.CharField(max_length=200, unique=True)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE)
    action_type = models.CharField(max_length=64)
    predicted_confidence = models.FloatField()
    outcome_type = models.CharField(max_length=32)
    attributes = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    window_expires_at = models.DateTimeField()
    status = models.CharField(max_length=16, default="pending")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.action_id
