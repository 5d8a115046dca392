"""Answers shared by the group and credential pages."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect


def conflict(request, error, url):
    """An EditConflict's answer: back to `url` with its message for a browser, 409 for a script."""
    if request.accepts("text/html"):
        messages.error(request, error.message)
        return redirect(url)
    return JsonResponse({"error": "conflict", "error_description": error.message}, status=409)
