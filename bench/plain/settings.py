"""The plain DRF app a user would write instead of the product's endpoint (the ingest
bench's baseline): startproject's settings and middleware, DRF's token authentication
(`Authorization: Bearer <key>`), a ModelSerializer and a CreateAPIView, served by the same
gunicorn as the product. Its database is PLAIN_DATABASE_URL; PLAIN_CONN_MAX_AGE is Django's
CONN_MAX_AGE (bench/plain/server.py sets it: 60, persistent connections as Django's
deployment checklist advises, or 0, a connection per request, Django's default)."""

import os

import dj_database_url

SECRET_KEY = "bench-only-plain-app-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "rest_framework.authtoken",
    "bench.plain",
]
MIDDLEWARE = [  # as `django-admin startproject` writes them
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "bench.plain.urls"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ["PLAIN_DATABASE_URL"], conn_max_age=int(os.environ["PLAIN_CONN_MAX_AGE"])
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["bench.plain.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
