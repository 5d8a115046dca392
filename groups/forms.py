from django import forms
from django.contrib.auth import get_user_model
from django.utils.text import slugify

from groups.models import RESERVED_SLUGS, Group, Membership, Role


class GroupForm(forms.ModelForm):
    owner = forms.CharField(
        required=False,
        max_length=150,
        help_text="Username of the group's first owner. Leave empty to add owners later.",
    )

    class Meta:
        model = Group
        fields = ["name", "slug", "description"]
        help_texts = {"slug": "Used in the group's web address. Leave empty to derive it from the name."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["description"].widget.attrs["rows"] = 3

    def clean_owner(self):
        username = self.cleaned_data["owner"].strip()
        if not username:
            return None
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError("There is no active user with this username.")
        return user

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("slug") and cleaned.get("name") and "slug" not in self.errors:
            cleaned["slug"] = slugify(cleaned["name"])
            if not cleaned["slug"]:
                self.add_error("slug", "Choose a web address made of letters, digits and hyphens.")
            elif cleaned["slug"] in RESERVED_SLUGS:
                self.add_error("slug", f"“{cleaned['slug']}” is reserved: choose another web address.")
            elif Group.objects.filter(slug=cleaned["slug"]).exists():
                self.add_error("slug", "A group with this web address already exists.")
        self.instance.slug = cleaned.get("slug", "")
        return cleaned

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(f"“{slug}” is reserved: choose another web address.")
        return slug


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args, group, **kwargs):
        super().__init__(*args, **kwargs)
        self.group = group

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError("There is no active user with this username.")
        if Membership.objects.filter(group=self.group, user=user).exists():
            raise forms.ValidationError(f"{username} is already a member of this group.")
        return user


def seen_version(request):
    """The version of the object the administrator saw: posted by its form in a hidden input, or
    in the URL of the link a dialog posts to. 0, which no object has, when it is missing or not a
    number, so that claiming it is a conflict."""
    value = request.POST.get("version") or request.GET.get("version")
    try:
        return forms.IntegerField(min_value=1).clean(value)
    except forms.ValidationError:
        return 0


class RoleForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["role"]

    def clean_role(self):
        role = self.cleaned_data["role"]
        if role != Role.OWNER and self.instance.is_last_owner():
            raise forms.ValidationError("A group needs at least one owner.")
        return role
