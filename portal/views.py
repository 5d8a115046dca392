from django.http import HttpResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request):
    """Liveness for load balancers: the process answers. Touches no database or cache on purpose."""
    return HttpResponse("ok", content_type="text/plain")
