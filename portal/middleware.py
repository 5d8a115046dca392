"""A 405 page for the portal pool: Django's method checks (require_POST, View) answer with an
empty body, which a browser shows as a blank page."""

from portal.views import method_not_allowed


class MethodNotAllowedPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.streaming or response.content or "Allow" not in response:
            return response  # the API's endpoints explain their own 405s
        allowed = [method.strip() for method in response["Allow"].split(",")]
        return method_not_allowed(request, allowed)
