def language_switcher(request):
    """Whether base.html shows the language switcher: everywhere but the sign-in lockout page, which
    reads the same, byte for byte, for every username (a form's CSRF token differs on each page)."""
    return {"language_switcher": not getattr(request, "axes_locked_out", False)}
