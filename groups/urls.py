from django.urls import path

from groups import views

app_name = "groups"

urlpatterns = [
    path("", views.group_list, name="list"),
    path("new/", views.group_new, name="new"),
    path("<slug:slug>/members/", views.members, name="members"),
    path("<slug:slug>/members/add/", views.member_add, name="member-add"),
    path("<slug:slug>/members/<str:username>/role/", views.member_role, name="member-role"),
    path("<slug:slug>/members/<str:username>/remove/", views.member_remove, name="member-remove"),
    path("<slug:slug>/activity/", views.activity, name="activity"),
]
