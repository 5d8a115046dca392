from django.urls import path, register_converter

from groups import views
from groups.converters import UsernameConverter

register_converter(UsernameConverter, "username")

app_name = "groups"

urlpatterns = [
    path("", views.group_list, name="list"),
    path("new/", views.group_new, name="new"),
    # Where an invitation's link leads (groups.models.RESERVED_SLUGS keeps "invitation" free).
    path("invitation/", views.invitation, name="invitation"),
    path("invitation/join/", views.invitation_join, name="invitation-join"),
    path("invitation/account/", views.invitation_account, name="invitation-account"),
    # An invitation to the signed-in account's username, joined or declined from the Group List.
    path("invitation/<uuid:invitation_id>/accept/", views.invitation_accept, name="invitation-accept"),
    path("invitation/<uuid:invitation_id>/decline/", views.invitation_decline, name="invitation-decline"),
    path("<slug:slug>/members/", views.members, name="members"),
    path("<slug:slug>/members/add/", views.member_add, name="member-add"),
    path(
        "<slug:slug>/members/invitations/<uuid:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path("<slug:slug>/members/<username:username>/role/", views.member_role, name="member-role"),
    path("<slug:slug>/members/<username:username>/remove/", views.member_remove, name="member-remove"),
    path("<slug:slug>/services/", views.services, name="services"),
    path("<slug:slug>/services/add/", views.service_add, name="service-add"),
    path("<slug:slug>/services/<str:service>/remove/", views.service_remove, name="service-remove"),
    path("<slug:slug>/policy/", views.policy, name="policy"),
    path("<slug:slug>/activity/", views.activity, name="activity"),
    path("<slug:slug>/activity/export/", views.activity_export, name="activity-export"),
]
