from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, with the `Authorization: Bearer <key>` the agent sends."""

    keyword = "Bearer"
